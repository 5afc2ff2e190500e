"""ArchiveSource: every X archive generation, as a zip, a folder or a bare tweets file."""

import json
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from archive_fixtures import (
    AVATAR,
    DISPLAY_NAME,
    HANDLE,
    archive_members,
    js_text,
    make_tweets,
    write_archive,
    write_deflate_bomb,
    x_tweet,
)

from huggingtweets.errors import HuggingTweetsError
from huggingtweets.sources import FetchOptions, detect, limits
from huggingtweets.sources import archive as archive_module
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
        assert isinstance(source, ArchiveSource)


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


# --- size caps and hostile input: one line, never a crash or an exhausted machine ------------

GiB = 1 << 30


def peak_memory_of(call):
    """(result or exception message, peak bytes Python allocated while ``call`` ran)."""
    tracemalloc.start()
    try:
        try:
            outcome = call()
        except HuggingTweetsError as e:
            outcome = str(e)
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_caps_are_the_documented_ones():
    assert limits.MAX_TWEETS_FILE_BYTES == 512 * limits.MiB
    assert limits.MAX_METADATA_BYTES == 4 * limits.MiB
    assert limits.MAX_TEXT_FILE_BYTES == 256 * limits.MiB
    assert limits.MAX_POST_CHARS == 25_000


@pytest.mark.parametrize("member, limit", [("data/tweets.js", "512 MiB"), ("data/account.js", "4 MiB")])
def test_a_zip_bomb_ends_in_one_line(tmp_path, member, limit):
    # 5 MB on disk, 5 GiB once inflated.
    others = {k: v for k, v in archive_members("2022", make_tweets(3)).items() if k != member}
    path = write_deflate_bomb(tmp_path / "bomb.zip", member, 5 * GiB, others=others)
    assert path.stat().st_size < 6_000_000
    message, peak = peak_memory_of(lambda: fetch(path))
    assert message == (
        f"{member} in bomb.zip is 5 GiB, over the {limit} limit: "
        + (archive_module.TOO_BIG_TWEETS if member.endswith("tweets.js") else archive_module.TOO_BIG_METADATA)
    )
    assert peak < 32 * limits.MiB


def test_a_zip_bomb_with_a_lying_header_is_damaged(tmp_path):
    # The header claims 1 KiB; zipfile stops there and the CRC does not match.
    path = write_deflate_bomb(tmp_path / "liar.zip", "data/tweets.js", 5 * GiB, declared_size=1024)
    message, peak = peak_memory_of(lambda: fetch(path))
    assert message == "data/tweets.js in liar.zip is damaged: download the archive again."
    assert peak < 32 * limits.MiB


def test_the_size_is_counted_while_reading(tmp_path, monkeypatch):
    # A file that says nothing of its size (a device, a pipe) is stopped by the count.
    if not Path("/dev/zero").exists():
        pytest.skip("needs /dev/zero")
    monkeypatch.setattr(limits, "MAX_TWEETS_FILE_BYTES", limits.MiB)
    (tmp_path / "endless.js").symlink_to("/dev/zero")
    message, peak = peak_memory_of(lambda: fetch(tmp_path / "endless.js"))
    assert message == f"endless.js over the 1 MiB limit: {archive_module.TOO_BIG_TWEETS}"
    assert peak < 4 * limits.MiB


def test_the_caps_in_use_are_the_module_constants(tmp_path, monkeypatch):
    calls = []  # every .js is read through limits.text_chunks, which counts its bytes against the cap
    real = limits.text_chunks
    monkeypatch.setattr(limits, "text_chunks", lambda f, cap, where, hint: calls.append((where, cap)) or real(
        f, cap, where, hint))
    fetch(write_archive(tmp_path, tweets=make_tweets(3)))
    assert calls == [
        ("data/tweets.js in bird-archive.zip", limits.MAX_TWEETS_FILE_BYTES),
        ("data/deleted-tweets.js in bird-archive.zip", limits.MAX_TWEETS_FILE_BYTES),
        ("data/account.js in bird-archive.zip", limits.MAX_METADATA_BYTES),
        ("data/profile.js in bird-archive.zip", limits.MAX_METADATA_BYTES),
    ]
    # And they are read when used, not frozen at import: a lower cap takes effect.
    monkeypatch.setattr(limits, "MAX_TWEETS_FILE_BYTES", 1000)
    assert "data/tweets.js in bird-archive.zip is 1.2 KiB, over the 1,000 bytes limit" in error_of(
        write_archive(tmp_path / "again", tweets=make_tweets(3)))


@pytest.mark.parametrize(
    "content, detail",
    [
        ("window.YTD.tweets.part0 = " + "[" * 200_000 + "]" * 200_000, "nested too deeply to be tweets"),
        ("window.YTD.tweets.part0 = [" + "9" * 5000 + "]", "a number too long to read"),
        ('window.YTD.tweets.part0 = [] extra', "not valid JSON at line 1: more data after the end"),
    ],
)
def test_hostile_json_is_one_line(tmp_path, content, detail):
    message = error_of(write_archive(tmp_path, name="hurt", extra={"data/tweets.js": content}))
    assert message == f"data/tweets.js in hurt.zip is damaged ({detail}): download the archive again."


def test_deeply_nested_account_js_falls_back_quietly(tmp_path):
    path = write_archive(tmp_path, name="deep", extra={"data/account.js": "x = " + "[" * 200_000})
    assert fetch(path).author.handle == "deep"


def test_an_encrypted_member_says_so(tmp_path):
    path = write_archive(tmp_path, name="locked")
    data = bytearray(path.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set "encrypted" everywhere
        at = data.find(signature)
        while at >= 0:
            data[at + flag_at] |= 1
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    assert "data/tweets.js in locked.zip is encrypted: unzip it with its password" in error_of(path)


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("username", ["not", "a", "name"], "fallback"),  # not text: the file name instead
        ("username", "bird\x00\ud800", "bird"),
        ("accountDisplayName", "x" * 10_000, HANDLE),  # the handle is kept; the name is cut to 200
    ],
)
def test_strange_account_fields(tmp_path, field, value, expected):
    account = {"username": HANDLE, "accountDisplayName": DISPLAY_NAME, field: value}
    extra = {"data/account.js": js_text("account.part0", [{"account": account}])}
    author = fetch(write_archive(tmp_path, name="fallback", extra=extra)).author
    assert author.handle == expected and len(author.name) <= 200
    author.name.encode("utf-8")


def test_zip_headers_pointing_nowhere(tmp_path):
    # The end record puts the central directory far past the end: zipfile then shifts every
    # member's offset below zero, and the seek fails with EINVAL (an OSError, not BadZipFile).
    path = write_archive(tmp_path, name="lost")
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    data[end + 18] = 0x69
    path.write_bytes(bytes(data))
    assert error_of(path) == "data/tweets.js in lost.zip is damaged: download the archive again."


def test_a_zip_version_python_does_not_know(tmp_path):
    path = write_archive(tmp_path, name="future")
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    data[at + 6] = 64  # "version needed to extract" 6.4
    path.write_bytes(bytes(data))
    assert "future.zip uses a zip feature Python cannot read: unzip it and give the folder" in error_of(path)
