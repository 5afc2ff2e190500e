"""The X archive read as a stream: a tweets file is never held whole, so a 300 MiB tweets.js
costs a few MiB, an item past the cap is one line, a file cut into chunks anywhere reads the
same, and what is kept stays within the per-author caps (the newest, with a note)."""

import io
import json
from pathlib import Path

import pytest
from archive_fixtures import (
    archive_members,
    cut_short,
    edit_first,
    edit_later,
    every_post_members,
    grailbird_csv,
    js_text,
    long_text,
    make_tweets,
    note_item,
    note_time,
    read_in_a_child,
    tweet_at,
    write_members,
    write_stretched_zip,
    x_tweet,
)

from huggingtweets.errors import HuggingTweetsError
from huggingtweets.sources import FetchOptions, limits
from huggingtweets.sources import archive as archive_module
from huggingtweets.sources.archive import ArchiveSource


def fetch(path, progress=None):
    return ArchiveSource(path, FetchOptions()).fetch(progress)


def error_of(path) -> str:
    with pytest.raises(HuggingTweetsError) as info:
        fetch(path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def item(t: dict) -> str:
    return json.dumps({"tweet": x_tweet(t)}, indent=2)


def others() -> dict:
    """account.js, profile.js and the rest of a 2022 archive, without its tweets files."""
    return {k: v for k, v in archive_members("2022", []).items() if not k.startswith("data/tweets")}


# --- memory: a huge tweets.js costs a few MiB --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="ru_maxrss in KiB is Linux's")
def test_a_300_mib_tweets_js_is_read_as_a_stream(tmp_path):
    """A zip of under 3 MB whose tweets.js inflates to 304 MiB: 64 MiB of tweet items (200 tweets
    over and over, as overlapping parts repeat them), 240 MiB of blank space, one last tweet.
    Read whole (the reader before this one), the process grew by 588 MiB; as a stream, by 0-7 MiB."""
    tweets = make_tweets(202)
    mib = 1 << 20
    repeated = ",\n" + ",\n".join(item(t) for t in tweets[1:201])
    runs = [("window.YTD.tweets.part0 = [\n" + item(tweets[0]), 1), (repeated, 64 * mib // len(repeated)),
            (" " * mib, 240), (",\n" + item(tweets[201]) + "\n]", 1)]
    path = write_stretched_zip(tmp_path / "big-archive.zip", "data/tweets.js", runs, others())
    assert path.stat().st_size < 4 * mib and sum(len(text) * n for text, n in runs) > 300 * mib
    got = read_in_a_child(path, ArchiveSource)
    assert got["posts"] == got["ids"] == 202 and got["notes"] == [], got  # each repeated tweet once
    assert got["growth_mib"] < 100, got


# --- an item too long to be a tweet -------------------------------------------------------------------


def test_an_item_over_the_4_mib_cap_is_one_line(tmp_path):
    tweets = make_tweets(3)
    tweets[1]["text"] = "x" * (limits.MAX_STREAMED_ITEM_CHARS + 1000)
    path = write_members(tmp_path, {"data/tweets.js": js_text("tweets.part0", [{"tweet": x_tweet(t)} for t in tweets])})
    assert path.stat().st_size < 100_000
    assert error_of(path) == (f"data/tweets.js in bird-archive.zip holds an item at line 19 longer than 4 MiB: "
                              f"{archive_module.TOO_BIG_ITEM}")


@pytest.mark.parametrize("member", ["data/note-tweet.js", "data/deleted-tweets.js", "data/tweets-part1.js"])
def test_every_streamed_file_has_the_item_cap(tmp_path, monkeypatch, member):
    monkeypatch.setattr(limits, "MAX_STREAMED_ITEM_CHARS", 64 << 10)
    members = {"data/tweets.js": js_text("tweets.part0", [{"tweet": x_tweet(t)} for t in make_tweets(2)]),
               member: f"window.YTD.x.part0 = [\"{'y' * (100 << 10)}\"]"}
    message = error_of(write_members(tmp_path, members, form="folder"))
    assert message == f"{member} in folder bird-archive holds an item at line 1 longer than 64 KiB: " \
                      f"{archive_module.TOO_BIG_ITEM}"


def test_a_grailbird_row_over_the_cap_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_STREAMED_ITEM_CHARS", 64 << 10)
    one_line = grailbird_csv(make_tweets(2)) + "1," + "z" * (100 << 10) + "\n"
    quoted = grailbird_csv(make_tweets(2)) + '1,"' + "z\n" * (50 << 10) + '"\n'  # one row over many lines
    for name, text in (("long-line", one_line), ("long-row", quoted)):
        message = error_of(write_members(tmp_path / name, {"tweets.csv": text}, form="folder", name=name))
        assert message.startswith(f"tweets.csv in folder {name} holds an item at line ")
        assert message.endswith(f"longer than 64 KiB: {archive_module.TOO_BIG_ITEM}")


# --- chunks cut anywhere read the same ----------------------------------------------------------------


def awkward_members() -> dict:
    """Every file the reader streams, with what a chunk boundary could cut: a BOM, the
    JavaScript prefix, multi-byte characters, \\u escapes (a surrogate pair too), numbers, a
    long post with its note, an edit, a deletion, Windows line ends."""
    tweets = make_tweets(3)
    tweets[0]["text"] = "caf\u00e9 \U0001F600 \u2014 = [ ] { } , \"quoted\" \\ back"
    text = long_text(0)
    tweets.append(tweet_at("2000", cut_short(text), "Thu Nov 03 10:00:00 +0000 2022"))
    tweets.append(tweet_at("3000", "First draft", "Fri Nov 04 09:00:00 +0000 2022",
                           edit_info=edit_first(["3000", "3001"])))
    tweets.append(tweet_at("3001", "Second draft", "Fri Nov 04 09:10:00 +0000 2022",
                           edit_info=edit_later("3000", ["3000", "3001"])))
    items = [{"tweet": x_tweet(t)} for t in tweets]
    items[1]["tweet"]["id"] = 1001  # a number, as some exports write it, and no id_str
    del items[1]["tweet"]["id_str"]
    escaped = json.dumps(items[:2], ensure_ascii=True)  # \u00e9 and \ud83d\ude00 escapes
    raw = json.dumps(items[2:], ensure_ascii=False, indent=1).replace("\n", "\r\n")
    return {
        **others(),
        "data/tweets.js": "\ufeffwindow.YTD.tweets.part0 = " + escaped[:-1] + ",\r\n" + raw[1:],
        "data/note-tweet.js": js_text("note_tweet.part0", [note_item(text, note_time(tweets[3]["created_at"]))]),
        "data/deleted-tweets.js": js_text("deleted_tweets.part0", [{"tweet": x_tweet(tweets[2])}]),
    }


@pytest.mark.slow
def test_files_cut_into_chunks_anywhere_read_the_same(tmp_path, monkeypatch):
    path = write_members(tmp_path, awkward_members(), form="folder")
    size = max(p.stat().st_size for p in path.rglob("*.js"))
    whole = fetch(path)
    assert [t.id for t in whole.tweets] == ["1000", "1001", "2000", "3001"]
    assert whole.tweets[0].text.startswith("caf\u00e9 \U0001F600") and whole.tweets[2].text == long_text(0)
    for chunk in range(1, size + 1):  # every size, so every byte is the end of some chunk
        monkeypatch.setattr(limits, "READ_CHUNK", chunk)
        assert fetch(path).tweets == whole.tweets, chunk


def test_a_grailbird_csv_cut_anywhere_reads_the_same(tmp_path, monkeypatch):
    tweets = make_tweets(4, retweets={1})
    tweets[2]["text"] = "two\r\nlines, a \"quote\" and caf\u00e9 \U0001F600"
    text = grailbird_csv(tweets)
    assert "\r\n" in text  # csv writes Windows line ends; one field holds one more
    path = write_members(tmp_path, {"tweets.csv": text}, form="folder")
    whole = fetch(path)
    assert [t.text for t in whole.tweets][2] == tweets[2]["text"]
    for chunk in range(1, len(text.encode()) + 1):
        monkeypatch.setattr(limits, "READ_CHUNK", chunk)
        assert fetch(path).tweets == whole.tweets, chunk


@pytest.mark.parametrize("text", ["a\nb\r\nc\rd", "\r\n\r\n", "\r", "x\r", "one line", "", "\n\n\r\r\n",
                                  "a,\"b\r\nc\"\r\nd"])
def test_text_lines_split_as_csv_wants(text):
    expected = list(io.StringIO(text, newline=""))
    for size in range(1, len(text) + 2):
        chunks = [text[i:i + size] for i in range(0, len(text), size)]
        assert list(limits.text_lines(chunks, 100)) == expected, size


def test_a_line_past_the_cap_is_refused_before_it_is_held():
    def endless():
        yield "short line\n"
        while True:
            yield "x" * 1000

    with pytest.raises(limits.ItemTooLong) as info:
        list(limits.text_lines(endless(), 10_000))
    assert (info.value.line, info.value.cap) == (2, 10_000)


def test_the_prefix_rule():
    def items(text: str, size: int = 3):
        json_stream = limits.JsonStream(iter([text[i:i + size] for i in range(0, len(text), size)]))
        if not json_stream.skip_assignment():
            return None
        got = list(json_stream.items(100))
        json_stream.end()
        return got

    assert items('window.YTD.tweets.part0 = [1, "a = b"]') == [1, "a = b"]
    assert items('  [1, 2]') == [1, 2]  # plain JSON: no prefix to skip
    assert items(" " * 50 + "x" * 50 + "=[3];") == [3]  # the '=' chunks away
    assert items("no equals sign at all") is None
    assert items("") is None


# --- what is kept: the newest within the caps -------------------------------------------------------


def dated(n: int) -> list[dict]:
    """``n`` tweets, each a day newer than the one before."""
    return [tweet_at(str(5000 + i), f"Invented post number {i} about the tide",
                     f"Wed Jan {1 + i % 28:02d} 10:00:00 +0000 {2000 + i // 28}") for i in range(n)]


def test_only_the_newest_posts_within_the_caps_are_kept(tmp_path, monkeypatch):
    """More posts than one author keeps: the newest are used (whatever their order or part),
    in the archive's order, with one note; a post repeated in another part counts once."""
    monkeypatch.setattr(limits, "MAX_POSTS_PER_AUTHOR", 50)
    tweets = dated(200)
    parts = [tweets[::-1][:120], tweets[::-1][120:] + tweets[190:]]  # newest first; ten repeated
    members = {"data/tweets.js": js_text("tweets.part0", [{"tweet": x_tweet(t)} for t in parts[0]]),
               "data/tweets-part1.js": js_text("tweets.part1", [{"tweet": x_tweet(t)} for t in parts[1]]),
               **others()}
    lines = []
    got = fetch(write_members(tmp_path, members), lambda *a: lines.append(a[2]))
    assert [t.id for t in got.tweets] == [t["id"] for t in tweets[150:][::-1]]
    (note,) = got.notes
    assert note == ("bird-archive.zip holds more than 50 posts, the most kept for one author: "
                    "the newest 50 are used and the older ones left out.")
    assert lines[-1] == note


def test_the_bytes_cap_keeps_the_newest_too(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_AUTHOR_BYTES", 20_000)
    tweets = dated(400)
    got = fetch(write_members(tmp_path, {"data/tweets.js": js_text("tweets.part0", [{"tweet": x_tweet(t)}
                                                                                   for t in tweets])}))
    assert 0 < len(got.tweets) < 400
    assert [t.id for t in got.tweets] == [t["id"] for t in tweets[-len(got.tweets):]]
    assert "holds more than 19.5 KiB of text" in got.notes[-1]


def test_a_post_holding_wide_characters_counts_what_it_holds(tmp_path, monkeypatch):
    """Memory, not only UTF-8: a post of plain letters and one emoji is held at 4 bytes a character."""
    assert limits.held_bytes("a" * 1000) < 1100 < 4000 < limits.held_bytes("a" * 999 + "\U0001F600")
    assert limits.held_bytes("\u00e9" * 1000) >= 2000  # UTF-8's two bytes, where Python holds one


def test_deletions_notes_and_edits_apply_within_the_caps(tmp_path, monkeypatch):
    """The archive with every complication gives the same posts under caps it fits in, and
    under a count cap the kept posts are the newest of what the file holds."""
    members, ids, long_texts = every_post_members()
    assert [t.id for t in fetch(write_members(tmp_path / "a", members)).tweets] == ids
    monkeypatch.setattr(limits, "MAX_POSTS_PER_AUTHOR", 9)  # 11 posts in the file: the 2 oldest left out
    got = fetch(write_members(tmp_path / "b", members))
    assert [t.id for t in got.tweets] == ["1002", "2000", "2001", "3002", "1003", "1004"]
    assert next(t.text for t in got.tweets if t.id == "2001") == long_texts["2001"]
    assert got.notes[-1].endswith("the newest 6 are used and the older ones left out.")


def test_a_note_growing_past_the_bytes_cap_lets_the_oldest_go(tmp_path, monkeypatch):
    T = "Thu Nov 03 10:0{}:00 +0000 2022"
    tweets = [tweet_at(str(2000 + i), cut_short(long_text(i, 3000)), T.format(i)) for i in range(5)]
    notes = [note_item(long_text(i, 3000), shape="tweet_id", tweet_id=str(2000 + i)) for i in range(5)]
    members = {"data/tweets.js": js_text("tweets.part0", [{"tweet": x_tweet(t)} for t in tweets]),
               "data/note-tweet.js": js_text("note_tweet.part0", notes)}
    monkeypatch.setattr(limits, "MAX_AUTHOR_BYTES", 12_000)  # room for all five cut, three whole
    got = fetch(write_members(tmp_path, members))
    assert [t.id for t in got.tweets] == ["2002", "2003", "2004"]
    assert [t.text for t in got.tweets] == [long_text(i, 3000) for i in (2, 3, 4)]
    assert "holds more than 11.7 KiB of text" in got.notes[-1]
