"""The on-disk tweet cache: layout, append-as-you-go, de-duplication, state."""

import json

import pytest

from huggingtweets.cache import TweetCache, default_cache_dir
from huggingtweets.sources.base import Tweet


def tweet(i, **kw):
    return Tweet(id=str(i), text=f"tweet {i}", created_at="2024-01-01T00:00:00.000Z", **kw)


def test_layout_is_source_then_lowercased_handle(tmp_path):
    cache = TweetCache(tmp_path).for_author("x", "@JackDorsey", key="timeline")
    assert not cache.tweets_path.exists() and not cache.state_path.exists()
    assert not (tmp_path / "x").exists()  # opening creates nothing
    cache.append([tweet(1)])
    cache.state["newest_id"] = "1"
    cache.save_state()
    folder = tmp_path / "x" / "jackdorsey"
    assert sorted(p.name for p in folder.iterdir()) == ["timeline.json", "timeline.jsonl"]
    assert json.loads((folder / "timeline.json").read_text())["newest_id"] == "1"
    assert cache.tweets_path.exists() and cache.state_path.exists()


def test_append_is_on_disk_immediately_and_reading_dedups(tmp_path):
    cache = TweetCache(tmp_path).for_author("x", "jack")
    cache.append([tweet(3), tweet(2)])
    # A second reader (another process) sees the page before anything else happens.
    assert [t.id for t in TweetCache(tmp_path).for_author("x", "JACK").tweets()] == ["3", "2"]
    cache.append([tweet(2), tweet(1, is_reply=True)])
    lines = cache.tweets_path.read_text().splitlines()
    assert len(lines) == 4  # append-only: the duplicate is on disk...
    got = cache.tweets()
    assert [t.id for t in got] == ["3", "2", "1"]  # ...but read once
    assert got[2].is_reply and got[2] == tweet(1, is_reply=True)


def test_append_accepts_dicts_and_empty_pages(tmp_path):
    cache = TweetCache(tmp_path).for_author("bluesky", "alice.bsky.social")
    assert cache.append([]) == 0
    assert not cache.tweets_path.exists()
    assert cache.append([{"id": "a1", "text": "hi"}]) == 1
    assert cache.tweets() == [Tweet(id="a1", text="hi")]


def test_torn_last_line_costs_only_itself(tmp_path):
    cache = TweetCache(tmp_path).for_author("x", "jack")
    cache.append([tweet(1)])
    with open(cache.tweets_path, "a") as f:
        f.write('{"id": "2", "te')  # a crash mid-write
    reopened = TweetCache(tmp_path).for_author("x", "jack")
    reopened.append([tweet(3)])
    assert [t.id for t in reopened.tweets()] == ["1", "3"]


def test_state_round_trips_and_survives_damage(tmp_path):
    cache = TweetCache(tmp_path).for_author("x", "jack", key="timeline-no-replies")
    assert cache.state == {}
    cache.state.update(newest_id="9", reached_oldest=True, profile={"name": "Jack"})
    cache.save_state()
    assert TweetCache(tmp_path).for_author("x", "jack", key="timeline-no-replies").state == cache.state
    assert not list(cache.folder.glob("*.tmp"))  # written atomically, temp file gone
    cache.state_path.write_text("{not json")
    assert TweetCache(tmp_path).for_author("x", "jack", key="timeline-no-replies").state == {}


def test_keys_keep_downloads_apart(tmp_path):
    root = TweetCache(tmp_path)
    root.for_author("x", "jack", key="timeline").append([tweet(1)])
    root.for_author("x", "jack", key="timeline-no-retweets").append([tweet(2)])
    assert [t.id for t in root.for_author("x", "jack", key="timeline").tweets()] == ["1"]
    assert [t.id for t in root.for_author("x", "jack", key="timeline-no-retweets").tweets()] == ["2"]


@pytest.mark.parametrize("bad", ["", "..", "."])
def test_names_that_cannot_be_folders_are_refused(tmp_path, bad):
    with pytest.raises(ValueError):
        TweetCache(tmp_path).for_author("x", bad)


def test_odd_characters_cannot_escape_the_root(tmp_path):
    cache = TweetCache(tmp_path).for_author("x", "../../etc/passwd")
    assert tmp_path in cache.folder.parents


def test_default_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("HUGGINGTWEETS_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    assert TweetCache().root == tmp_path / "c"
    assert TweetCache(tmp_path / "explicit").root == tmp_path / "explicit"
    monkeypatch.delenv("HUGGINGTWEETS_CACHE")
    assert default_cache_dir().parts[-2:] == (".cache", "huggingtweets")


# --- bounded: the cache is read as a stream, within the per-author caps (issue 26) ----------------


def test_a_huge_cache_is_read_as_a_stream(tmp_path):
    """A 64 MiB line (no post is a thousandth of that) between two posts: skipped without ever
    being held, so reading peaks at a few MiB whatever the file holds."""
    import tracemalloc

    cache = TweetCache(tmp_path).for_author("bluesky", "wren.bsky.social")
    cache.append([tweet(1)])
    with open(cache.tweets_path, "ab") as f:
        f.write(b'{"id": "2", "text": "')
        for _ in range(64):
            f.write(b"a" * (1 << 20))
        f.write(b'"}\n')
    cache.append([tweet(3)])
    tracemalloc.start()
    try:
        got = TweetCache(tmp_path).for_author("bluesky", "wren.bsky.social").tweets()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [t.id for t in got] == ["1", "3"]
    assert peak < 8 << 20


def test_posts_over_the_character_cap_are_not_read_back(tmp_path):
    cache = TweetCache(tmp_path).for_author("mastodon", "wren@bread.example")
    cache.append([tweet(1), {"id": "2", "text": "word " * 6000}, tweet(3)])
    assert [t.id for t in cache.tweets()] == ["1", "3"]


def test_reading_stops_at_the_post_cap(tmp_path, monkeypatch):
    from huggingtweets.sources import limits

    cache = TweetCache(tmp_path).for_author("x", "jack")
    cache.append([tweet(i) for i in range(5)] + [tweet(0)])
    monkeypatch.setattr(limits, "MAX_POSTS_PER_AUTHOR", 3)
    assert [t.id for t in cache.tweets()] == ["0", "1", "2"] and cache.cut
    monkeypatch.setattr(limits, "MAX_POSTS_PER_AUTHOR", 5)
    assert len(cache.tweets()) == 5 and not cache.cut  # a repeated post is not one more


def test_the_byte_cap_holds_for_writing_and_reading(tmp_path, monkeypatch):
    """Whole lines only, up to the cap; a file already past it (an older version's) is read up to it."""
    from huggingtweets.sources import limits

    cache = TweetCache(tmp_path).for_author("x", "jack")
    line = len(json.dumps(tweet(10).to_dict(), ensure_ascii=False)) + 1
    monkeypatch.setattr(limits, "MAX_AUTHOR_BYTES", 3 * line + 5)
    assert cache.append([tweet(i) for i in range(10, 15)]) == 3
    assert cache.append([tweet(20)]) == 0 and cache.size() == 3 * line
    assert [t.id for t in cache.tweets()] == ["10", "11", "12"] and not cache.cut

    monkeypatch.setattr(limits, "MAX_AUTHOR_BYTES", 2 * line)
    assert [t.id for t in cache.tweets()] == ["10", "11"] and cache.cut
