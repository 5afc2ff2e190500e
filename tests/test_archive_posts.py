"""Every post in an X archive, once: long posts whole, edits at their latest, deletions out,
parts in any order, media never opened."""

import zipfile

import pytest
from archive_fixtures import (
    cut_short,
    edit_first,
    edit_later,
    every_post_members,
    js_text,
    long_text,
    make_tweets,
    note_item,
    note_time,
    tweet_at,
    write_members,
    x_tweet,
)

from huggingtweets.errors import HuggingTweetsError
from huggingtweets.sources import FetchOptions, limits
from huggingtweets.sources import archive as archive_module
from huggingtweets.sources.archive import ArchiveSource
from huggingtweets.sources.archive_posts import normalised, utc_second
from huggingtweets.sources.limits import MAX_POST_CHARS

T0 = "Thu Nov 03 10:00:00 +0000 2022"
T1 = "Thu Nov 03 10:05:00 +0000 2022"


def fetch(path, progress=None):
    return ArchiveSource(path, FetchOptions()).fetch(progress)


def archive(tmp_path, tweets, notes=None, deleted=None, form="zip", extra=None):
    """A 2022 archive of ``tweets`` (fixture dicts) plus note-tweet.js / deleted-tweets.js items."""
    members = {"data/tweets.js": js_text("tweets.part0", [{"tweet": x_tweet(t)} for t in tweets])}
    if notes is not None:
        members["data/note-tweet.js"] = js_text("note_tweet.part0", notes)
    if deleted is not None:
        members["data/deleted-tweets.js"] = js_text("deleted_tweets.part0", deleted)
    members.update(extra or {})
    return write_members(tmp_path, members, form=form)


def texts(path) -> dict:
    return {t.id: t.text for t in fetch(path).tweets}


# --- the whole picture -------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["zip", "folder", "js"])
def test_every_post_once(tmp_path, form):
    members, ids, long_texts = every_post_members()
    result = fetch(write_members(tmp_path, members, form=form))
    assert [t.id for t in result.tweets] == ids  # 8 downloaded: deleted and old versions out
    for tweet_id, text in long_texts.items():
        assert next(t.text for t in result.tweets if t.id == tweet_id) == text
    assert not any(t.text.endswith("https://t.co/InVeNtEd01") for t in result.tweets)


def test_only_the_needed_members_are_opened(tmp_path, monkeypatch):
    members, ids, _ = every_post_members()
    path = write_members(tmp_path, members)
    opened = []
    real_open = zipfile.ZipFile.open

    def recording_open(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)
    assert [t.id for t in fetch(path).tweets] == ids
    assert sorted(opened) == [
        "data/account.js", "data/deleted-tweets.js", "data/note-tweet.js", "data/profile.js",
        "data/tweets-part1.js", "data/tweets.js",
    ]


def test_a_folder_opens_only_the_needed_files(tmp_path, monkeypatch):
    members, ids, _ = every_post_members()
    path = write_members(tmp_path, members, form="folder")
    opened = []

    def recording_open(file, *args, **kwargs):
        opened.append(str(file.relative_to(path)))
        return open(file, *args, **kwargs)

    monkeypatch.setattr(limits, "open", recording_open, raising=False)  # where every file is opened
    assert [t.id for t in fetch(path).tweets] == ids
    assert not any("media" in name or "headers" in name for name in opened) and len(opened) == 6


# --- parts in any order ----------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["zip", "folder"])
def test_parts_listed_out_of_order_are_read_by_number(tmp_path, form):
    tweets = make_tweets(12)
    part = {0: tweets[:3], 1: tweets[3:6], 2: tweets[6:9], 10: tweets[9:]}
    names = {0: "data/tweets.js", 1: "data/tweets-part1.js", 2: "data/tweets-part2.js", 10: "data/tweets-part10.js"}
    members = {names[p]: js_text(f"tweets.part{p}", [{"tweet": x_tweet(t)} for t in part[p]]) for p in (10, 2, 0, 1)}
    path = write_members(tmp_path, members, form=form)
    if form == "zip":
        assert zipfile.ZipFile(path).namelist()[0] == "data/tweets-part10.js"  # the listing really is shuffled
    calls = []
    assert [t.id for t in fetch(path, lambda *a: calls.append(a[2])).tweets] == [t["id"] for t in tweets]
    assert [c.split()[1] for c in calls] == [names[p] for p in (0, 1, 2, 10)]


# --- long posts --------------------------------------------------------------------------------------


def long_post(tweet_id="2000", when=T0, i=0, **fields):
    text = long_text(i)
    return text, tweet_at(tweet_id, cut_short(text), when, **fields)


@pytest.mark.parametrize(
    "shape, with_time",
    [("core", True), ("core", False), ("text", True), ("text", False)],
)
def test_note_shapes_without_a_tweet_id(tmp_path, shape, with_time):
    text, tweet = long_post()
    note = note_item(text, note_time(T0) if with_time else "", shape=shape)
    assert texts(archive(tmp_path, [tweet, *make_tweets(2)], [note]))["2000"] == text


def test_note_naming_its_tweet(tmp_path):
    text, tweet = long_post()
    other_text, other = long_post("2001", T0, i=1)  # same second, same opening: only the id can tell
    other["text"] = tweet["text"]
    notes = [note_item(other_text, shape="tweet_id", tweet_id="2001"),
             note_item(text, shape="tweet_id", tweet_id="2000")]
    assert texts(archive(tmp_path, [tweet, other], notes)) == {"2000": text, "2001": other_text}


def test_tweet_level_note_field(tmp_path):
    # API-shaped exports carry the whole text on the tweet itself.
    text, tweet = long_post(note_tweet={"note_tweet_results": {"result": {"text": long_text(0)}}})
    assert texts(archive(tmp_path, [tweet]))["2000"] == text


@pytest.mark.parametrize(
    "tweets, note, expected",
    [
        # Same second and the tweet begins the note: the longest such tweet wins over a short one.
        ([tweet_at("1", "Long post 0:", T0), long_post("2", T0)[1]], (0, T0), {"2": 0}),
        # Same second, text differs (the cut tweet was edited by hand, say): the only cut tweet that second.
        ([tweet_at("1", "Different opening words entirely… https://t.co/x", T0)], (0, T0), {"1": 0}),
        # Same second, two cut tweets, neither begins the note: ambiguous, ignored.
        ([tweet_at("1", "Something else… https://t.co/x", T0), tweet_at("2", "Another thing… https://t.co/y", T0)],
         (0, T0), {}),
        # No time on the note: the only cut tweet whose text begins it.
        ([long_post("1", T0, 0)[1], long_post("2", T1, 1)[1]], (1, ""), {"2": 1}),
        # No time and two cut tweets begin it: ignored.
        ([long_post("1", T0, 0)[1], long_post("2", T1, 0)[1]], (0, ""), {}),
        # No time and too little text in common to be sure (under 30 characters): ignored.
        ([tweet_at("1", "Long post 0:… https://t.co/x", T0)], (0, ""), {}),
        # A time in another zone, same instant.
        ([long_post("1", T0, 0)[1]], (0, "2022-11-03T12:00:00+02:00"), {"1": 0}),
        # Different second, text does not match: not this tweet.
        ([tweet_at("1", "Unrelated words about bread… https://t.co/x", T1)], (0, T0), {}),
    ],
)
def test_note_matching_rule(tmp_path, tweets, note, expected):
    i, when = note
    note_text = long_text(i)
    got = texts(archive(tmp_path, tweets, [note_item(note_text, note_time(when) if "+0000" in when else when)]))
    assert {k: v for k, v in got.items() if v == note_text} == {k: long_text(v) for k, v in expected.items()}
    assert len(got) == len(tweets)  # a note never adds a post


def test_a_note_matching_nothing_is_not_a_post(tmp_path):
    tweets = make_tweets(3)
    result = texts(archive(tmp_path, tweets, [note_item(long_text(5), note_time(T0))]))
    assert list(result) == [t["id"] for t in tweets]


def test_a_tweet_takes_one_note(tmp_path):
    text, tweet = long_post()
    notes = [note_item(text, note_time(T0), note_id="1"), note_item(text + " again", note_time(T0), note_id="2")]
    assert texts(archive(tmp_path, [tweet], notes)) == {"2000": text}


def test_an_overlong_note_is_ignored_and_its_tweet_kept(tmp_path):
    text, tweet = long_post()
    huge = text + " more" * MAX_POST_CHARS
    assert texts(archive(tmp_path, [tweet], [note_item(huge, note_time(T0))])) == {"2000": tweet["text"]}


def test_a_crowded_second_joins_notes_by_id_only(tmp_path):
    """More posts in one second than X allows: each note would be compared with all of them,
    so the time rule leaves that second out, and only a note naming its post joins it."""
    from huggingtweets.sources.archive_posts import CROWDED

    crowd = [tweet_at(str(3000 + i), f"Plain post {i} about the tide", T0) for i in range(CROWDED)]
    cut = tweet_at("4000", "Different opening words entirely… https://t.co/x", T0)  # only the time can place it
    named = long_post("4001", T1, 1)[1]
    notes = [note_item(long_text(0), note_time(T0)), note_item(long_text(1), shape="tweet_id", tweet_id="4001")]
    got = texts(archive(tmp_path / "crowded", [*crowd, cut, named], notes))  # 65 posts in that second
    assert got["4000"] == cut["text"] and got["4001"] == long_text(1)
    got = texts(archive(tmp_path / "fine", [*crowd[1:], cut, named], notes))  # 64
    assert got["4000"] == long_text(0) and got["4001"] == long_text(1)


def test_normalised_and_utc_second():
    assert normalised("fish &amp; chips https://t.co/a  and\n more… https://t.co/b") == "fish & chips and more"
    assert utc_second("2022-11-03T10:00:00.000Z") == utc_second(T0) == "2022-11-03T10:00:00"
    assert utc_second("2022-11-03T12:00:00.999+02:00") == "2022-11-03T10:00:00"
    assert utc_second("2022-11-03T10:00:00+00:00") == utc_second("2022-11-03 10:00:00") == "2022-11-03T10:00:00"
    assert utc_second("yesterday") == utc_second(None) == utc_second("0001-01-01T00:00:00+05:00") == ""


# --- edits ---------------------------------------------------------------------------------------------


def versions(*ids, listed=None, first_info=True):
    """Tweets for one edited post; ``listed`` is the editTweetIds every version carries."""
    listed = list(listed if listed is not None else ids)
    out = []
    for n, i in enumerate(ids):
        info = edit_first(listed) if n == 0 and first_info else edit_later(ids[0], listed)
        out.append(tweet_at(i, f"Version {i} of the post about jam", T0, edit_info=info))
    return out


@pytest.mark.parametrize(
    "tweets, kept",
    [
        (versions("10", "11", "12"), ["12"]),
        # Versions in any order in the file: still the last of editTweetIds.
        (list(reversed(versions("10", "11", "12"))), ["12"]),
        # The latest is missing from the archive: the last one of the list that is here.
        (versions("10", "11", listed=["10", "11", "12"]), ["11"]),
        # editTweetIds not in listed order: the list's order decides, not the id.
        (versions("10", "12", "11", listed=["10", "12", "11"]), ["11"]),
        # No list at all on the later versions: the highest id of the group.
        ([dict(t, edit_info={"edit": {"initialTweetId": "10"}}) for t in versions("10", "9", "11")[1:]]
         + [tweet_at("10", "first", T0)], ["11"]),
        # A version with no edit_info of its own, tied in by the first one's list.
        (versions("10", listed=["10", "11"]) + [tweet_at("11", "bare later version", T0)], ["11"]),
        # Posts never edited carry a one-id list: left alone.
        ([dict(t, edit_info=edit_first([t["id"]])) for t in make_tweets(3)], ["1000", "1001", "1002"]),
    ],
)
def test_edited_posts_count_once(tmp_path, tweets, kept):
    assert list(texts(archive(tmp_path, tweets))) == kept


def test_edits_spread_over_parts(tmp_path):
    old, new = versions("10", "11")
    members = {
        "data/tweets.js": js_text("tweets.part0", [{"tweet": x_tweet(new)}]),
        "data/tweets-part1.js": js_text("tweets.part1", [{"tweet": x_tweet(t)} for t in [old, *make_tweets(2)]]),
    }
    assert [t.id for t in fetch(write_members(tmp_path, members)).tweets] == ["11", "1000", "1001"]


# --- deletions -----------------------------------------------------------------------------------------


def test_deleted_posts_are_dropped_and_never_read_as_posts(tmp_path):
    tweets = make_tweets(4)
    gone = [{"tweet": dict(x_tweet(t), deleted_at=T1)} for t in [tweets[1], *make_tweets(2, start_id=5000)]]
    assert list(texts(archive(tmp_path, tweets, deleted=gone))) == ["1000", "1002", "1003"]


def test_deleted_tweets_js_alone_is_not_an_archive(tmp_path):
    members = {"data/deleted-tweets.js": js_text("deleted_tweets.part0", [{"tweet": x_tweet(make_tweets(1)[0])}])}
    with pytest.raises(HuggingTweetsError, match="No data/tweets.js"):
        fetch(write_members(tmp_path, members, form="folder"))


@pytest.mark.parametrize("name", ["data/note-tweet.js", "data/deleted-tweets.js"])
def test_a_damaged_companion_file_is_an_error(tmp_path, name):
    path = archive(tmp_path, make_tweets(2), extra={name: "window.YTD.x.part0 = [{"})
    with pytest.raises(HuggingTweetsError, match=f"{name} in bird-archive.zip is damaged"):
        fetch(path)


# --- text fit to keep ------------------------------------------------------------------------------------


def test_control_characters_and_lone_surrogates_are_dropped(tmp_path):
    tweets = [tweet_at("1", "bell\x07 nul\x00 esc\x1b[31m tab\tnew\nline \ud800end \U0001F600", T0),
              tweet_at("2", "\x00\x01\x02", T0)]
    path = tmp_path / "tweets.js"
    path.write_text(js_text("tweets.part0", [{"tweet": x_tweet(t)} for t in tweets]), encoding="utf-8")
    result = fetch(path)
    assert [t.text for t in result.tweets] == ["bell nul esc[31m tab\tnew\nline end \U0001F600"]
    result.tweets[0].text.encode("utf-8")


def test_an_overlong_post_is_skipped_and_reported(tmp_path):
    tweets = make_tweets(3)
    tweets[1]["text"] = "word " * MAX_POST_CHARS
    tweets[2]["text"] = "&amp;" * MAX_POST_CHARS  # 25,000 characters once unescaped: kept
    messages = []
    result = fetch(archive(tmp_path, tweets), lambda *a: messages.append(a[2]))
    assert [t.id for t in result.tweets] == ["1000", "1002"]
    assert "1 over 25,000 characters skipped" in messages[-1]


def test_an_archive_of_only_overlong_posts(tmp_path):
    tweets = make_tweets(2)
    for t in tweets:
        t["text"] = "word " * MAX_POST_CHARS
    with pytest.raises(HuggingTweetsError) as info:
        fetch(archive(tmp_path, tweets))
    assert str(info.value) == (
        "No tweets in bird-archive.zip: all 2 of its posts are over 25,000 characters, more than X allows. "
        "Check it is the right account's archive."
    )
