"""ArchiveSource: every X archive generation, as a zip, a folder or a bare tweets file."""

import json
import time
import zipfile

import pytest
from archive_fixtures import AVATAR, DISPLAY_NAME, HANDLE, js_text, make_tweets, write_archive, x_tweet

from huggingtweets.errors import HuggingTweetsError
from huggingtweets.sources import FetchOptions, detect
from huggingtweets.sources.archive import ArchiveSource


def fetch(path, **options):
    return ArchiveSource(path, FetchOptions(**options)).fetch()


def error_of(path, **options) -> str:
    with pytest.raises(HuggingTweetsError) as info:
        fetch(path, **options)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# --- every generation, every form ------------------------------------------------------------


EVERY_LAYOUT = [(g, f) for g in ("2022", "2019", "early2019", "grailbird") for f in ("zip", "folder", "js")]


@pytest.mark.parametrize("generation, form", [(g, f) for g, f in EVERY_LAYOUT if (g, f) != ("grailbird", "js")])
def test_reads_every_generation(tmp_path, generation, form):
    tweets = make_tweets(7, replies={2})
    result = fetch(write_archive(tmp_path, generation, tweets, form=form))
    assert [t.id for t in result.tweets] == [t["id"] for t in tweets]
    assert result.tweets[0].text == "Invented tweet number 0 about bread &amp; jam"  # still escaped
    assert [t.is_reply for t in result.tweets] == [i == 2 for i in range(7)]
    assert result.author.handle == HANDLE and result.author.name == DISPLAY_NAME
    assert result.author.source == "archive"


@pytest.mark.parametrize("generation", ["2022", "2019", "early2019"])
@pytest.mark.parametrize("form", ["zip", "folder", "js"])
def test_multi_part_files_read_in_order(tmp_path, generation, form):
    tweets = make_tweets(25)
    result = fetch(write_archive(tmp_path, generation, tweets, parts=3, form=form))
    assert [t.id for t in result.tweets] == [t["id"] for t in tweets]


def test_parts_sort_numerically_and_duplicates_are_dropped(tmp_path):
    tweets = make_tweets(12)
    extra = {  # part10 must come after part2, and it repeats a tweet from part0
        "data/tweets-part10.js": js_text("tweets.part10", [{"tweet": x_tweet(t)} for t in tweets[10:] + tweets[:1]]),
        "data/tweets-part2.js": js_text("tweets.part2", [{"tweet": x_tweet(t)} for t in tweets[8:10]]),
    }
    path = write_archive(tmp_path, "2022", tweets[:8], parts=2, extra=extra)
    assert [t.id for t in fetch(path).tweets] == [t["id"] for t in tweets]


def test_created_at_becomes_iso_8601(tmp_path):
    tweet = dict(make_tweets(1)[0], created_at="Wed Oct 19 20:07:25 +0000 2022")
    assert fetch(write_archive(tmp_path, tweets=[tweet])).tweets[0].created_at == "2022-10-19T20:07:25+00:00"


def test_grailbird_timestamp_and_retweet_flag(tmp_path):
    result = fetch(write_archive(tmp_path, "grailbird", make_tweets(3, retweets={1})))
    assert result.tweets[0].created_at == "2012-03-04T05:06:07+00:00"
    assert [t.is_retweet for t in result.tweets] == [False, True, False]


def test_text_falls_back_from_full_text_to_text(tmp_path):
    items = [x_tweet(t, legacy_text=True) for t in make_tweets(2)]
    path = write_archive(tmp_path, "early2019", [], extra={"tweet.js": js_text("tweet.part0", items)})
    assert [t.text for t in fetch(path).tweets] == [item["text"] for item in items]


def test_zip_with_a_top_folder_and_macos_junk(tmp_path):
    # Re-zipping the extracted folder puts everything under one top folder.
    path = tmp_path / "rezipped.zip"
    tweets = make_tweets(3)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__MACOSX/my-archive/data/._tweets.js", b"\x00\x05\x16\x07 not json")
        zf.writestr("my-archive/data/tweets.js", js_text("tweets.part0", [{"tweet": x_tweet(t)} for t in tweets]))
    result = fetch(path)
    assert len(result.tweets) == 3 and result.author.handle == "rezipped"


def test_js_prefix_with_equals_in_tweets_and_a_bom(tmp_path):
    tweet = dict(make_tweets(1)[0], text="a = b, said nobody")
    path = tmp_path / "tweets.js"
    path.write_bytes(("\ufeff" + js_text("tweets.part0", [{"tweet": x_tweet(tweet)}])).encode())
    assert fetch(path).tweets[0].text == "a = b, said nobody"


def test_archive_is_the_sources_for_zip_folder_and_js(tmp_path):
    for form in ("zip", "folder", "js"):
        source = detect(str(write_archive(tmp_path / form, form=form)))
        assert isinstance(source, ArchiveSource) and source.describe().startswith("X archive")


# --- the author ------------------------------------------------------------------------------


def test_account_and_profile_metadata(tmp_path):
    author = fetch(write_archive(tmp_path)).author
    assert (author.handle, author.name, author.avatar_url) == (HANDLE, DISPLAY_NAME, AVATAR)


def test_account_without_profile_has_no_avatar(tmp_path):
    author = fetch(write_archive(tmp_path, profile=False)).author
    assert author.handle == HANDLE and author.avatar_url == ""


@pytest.mark.parametrize(
    "form, name, expected",
    [
        ("zip", "jam-fan", "jam-fan"),
        ("folder", "jam-fan", "jam-fan"),
        ("js", "jam-fan", "jam-fan"),  # jam-fan/data/tweets.js: the folder above data/
        ("zip", "twitter-2022-10-19-0a1b2c3d4e", "archive"),  # X's own download name says nothing
    ],
)
def test_missing_metadata_falls_back_to_the_file_name(tmp_path, form, name, expected):
    author = fetch(write_archive(tmp_path, account=False, profile=False, form=form, name=name)).author
    assert author.handle == expected and author.name == expected and author.source == "archive"


def test_damaged_account_js_falls_back_quietly(tmp_path):
    path = write_archive(tmp_path, name="fallback", extra={"data/account.js": "window.YTD.account.part0 = [{"})
    assert fetch(path).author.handle == "fallback"


# --- options -------------------------------------------------------------------------------


@pytest.mark.parametrize("generation", ["2022", "grailbird"])
@pytest.mark.parametrize(
    "options, kept",
    [
        ({}, [0, 1, 2, 3, 4, 5]),
        ({"exclude_replies": True}, [0, 2, 3, 5]),
        ({"exclude_retweets": True}, [0, 1, 3, 4]),
        ({"exclude_replies": True, "exclude_retweets": True}, [0, 3]),
    ],
)
def test_exclude_flags(tmp_path, generation, options, kept):
    tweets = make_tweets(6, replies={1, 4}, retweets={2, 5})
    result = fetch(write_archive(tmp_path, generation, tweets), **options)
    assert [t.id for t in result.tweets] == [tweets[i]["id"] for i in kept]


# --- errors: one line that says what to do --------------------------------------------------


def test_corrupt_zip(tmp_path):
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert "broken.zip is not a valid zip file: download the archive again" in error_of(path)


def test_truncated_zip(tmp_path):
    path = write_archive(tmp_path, tweets=make_tweets(200))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert "download the archive again" in error_of(path)


@pytest.mark.parametrize("form", ["zip", "folder"])
def test_archive_without_a_tweets_file(tmp_path, form):
    if form == "zip":
        path = tmp_path / "photos.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("holiday/readme.txt", "no tweets here")
    else:
        path = tmp_path / "photos"
        (path / "data").mkdir(parents=True)
        (path / "data" / "like.js").write_text("window.YTD.like.part0 = []")
    message = error_of(path)
    assert "No data/tweets.js" in message and "is this an X archive?" in message


@pytest.mark.parametrize(
    "content, detail",
    [
        ('window.YTD.tweets.part0 = [{"tweet": {"id_str": "1", ', "not valid JSON at line 1"),
        ("window.YTD.tweets.part0 = {\"tweet\": 1}", "expected a list of tweets"),
        ('window.YTD.tweets.part0 = ["just a string"]', "item 1 is not a tweet"),
        ("no prefix and no data", "no '=' before the data"),
    ],
)
def test_malformed_tweets_js_names_the_file(tmp_path, content, detail):
    message = error_of(write_archive(tmp_path, name="hurt", extra={"data/tweets.js": content}))
    assert "data/tweets.js in hurt.zip is damaged" in message and detail in message
    assert "download the archive again" in message


def test_malformed_later_part_names_that_part(tmp_path):
    path = write_archive(tmp_path, form="folder", name="hurt", extra={"data/tweets-part1.js": "window.YTD = [,]"})
    assert "data/tweets-part1.js in folder hurt is damaged" in error_of(path)


def test_non_utf8_tweets_js(tmp_path):
    path = tmp_path / "tweets.js"
    path.write_bytes(b'window.YTD.tweets.part0 = [{"tweet": {"full_text": "caf\xe9"}}]')
    assert "tweets.js is damaged" in error_of(path)


@pytest.mark.parametrize("generation", ["2022", "2019", "early2019", "grailbird"])
def test_empty_archive(tmp_path, generation):
    assert "No tweets in" in error_of(write_archive(tmp_path, generation, tweets=[]))


def test_missing_path(tmp_path):
    assert "File not found" in error_of(tmp_path / "gone.zip")


# --- progress and speed -----------------------------------------------------------------------


def test_progress_is_called_per_part(tmp_path):
    calls = []
    ArchiveSource(write_archive(tmp_path, tweets=make_tweets(9), parts=3), FetchOptions()).fetch(
        lambda done, total, message: calls.append((done, total, message))
    )
    assert [(d, t) for d, t, _ in calls] == [(1, 3), (2, 3), (3, 3)]
    assert "data/tweets-part2.js" in calls[-1][2]


def test_ten_thousand_tweets_parse_fast(tmp_path):
    path = write_archive(tmp_path, tweets=make_tweets(10_000), parts=2)
    start = time.perf_counter()
    result = fetch(path)
    elapsed = time.perf_counter() - start
    assert len(result.tweets) == 10_000
    assert elapsed < 1.0, f"10,000 tweets took {elapsed:.2f}s"


def test_fixture_tweets_are_invented():
    # Guard for the fixtures themselves: the archive must look like X's (strings everywhere).
    item = x_tweet(make_tweets(1, replies={0})[0])
    assert all(isinstance(item[k], str) for k in ("id_str", "created_at", "full_text", "in_reply_to_status_id_str"))
    assert json.loads(js_text("x.part0", [item]).split("=", 1)[1])[0] == item
