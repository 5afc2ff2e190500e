"""The X API source within the bounds every download has (issue 26): the per-author caps on
posts and bytes, and a run's own deadline. X is served through ``responses`` as in
tests/test_x_api.py, whose fake and fixtures these tests borrow."""

import pytest

from huggingtweets.cache import TweetCache
from huggingtweets.errors import HuggingTweetsError
from huggingtweets.sources import http, limits
from test_x_api import Clock, FakeX, make_tweets, no_env_token, rsps, source  # noqa: F401 (fixtures)


def test_an_x_timeline_stops_at_the_post_cap_and_says_so(rsps, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_POSTS_PER_AUTHOR", 150)
    fake = FakeX(make_tweets(400), page_size=100)
    fake.install(rsps)
    got = source(tmp_path).fetch()
    assert len(got.tweets) == 150 and len(fake.timeline_calls) == 2
    (note,) = got.notes
    assert "stopped at 150 tweets, the most kept for one author" in note and "delete" in note
    cache = TweetCache(tmp_path / "cache").for_author("x", "jacktest", key="timeline")
    assert len(cache.tweets()) == 150 and cache.state["reached_oldest"]

    again = source(tmp_path, refresh=True).fetch()  # full: not one timeline request more
    assert len(again.tweets) == 150 and len(fake.timeline_calls) == 2 and again.notes == got.notes


def test_an_x_timeline_stops_at_the_byte_cap(rsps, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_AUTHOR_BYTES", 64 << 10)
    tweets = make_tweets(300)
    for t in tweets:
        t["text"] = "a long one " * 100
    fake = FakeX(tweets, page_size=100)
    fake.install(rsps)
    got = source(tmp_path).fetch()
    assert 0 < len(got.tweets) < 100 and len(fake.timeline_calls) == 1
    assert "stopped at 64 KiB of tweets" in got.notes[0]
    assert (tmp_path / "cache" / "x" / "jacktest" / "timeline.jsonl").stat().st_size <= 64 << 10


def test_an_x_download_ends_at_its_deadline_not_after_a_long_wait(rsps, tmp_path, monkeypatch):
    """A rate limit that resets past the run's deadline is not waited out: one line, the tweets kept."""
    monkeypatch.setattr(http, "MAX_DOWNLOAD_S", 10 * 60)
    clock = Clock()
    fake = FakeX(make_tweets(25))
    fake.timeline_script = {2: (429, {"x-rate-limit-reset": str(int(clock.t) + 20 * 60)}, {"title": "Too Many Requests"})}
    fake.install(rsps)
    with pytest.raises(HuggingTweetsError, match=r"This X download has run for 10 min, the most one run may take: "
                       r"run the same command again to carry on; the 10 tweets downloaded so far are kept") as err:
        source(tmp_path, clock).fetch()
    assert clock.sleeps == [] and "\n" not in str(err.value)
    assert len(TweetCache(tmp_path / "cache").for_author("x", "jacktest", key="timeline").tweets()) == 10

    got = source(tmp_path, Clock(clock.t + 3600)).fetch()  # the next run carries on
    assert len(got.tweets) == 25 and fake.served.most_common(1)[0][1] == 1


def test_an_x_download_past_its_deadline_stops_before_the_next_page(rsps, tmp_path, monkeypatch):
    monkeypatch.setattr(http, "MAX_DOWNLOAD_S", 60)
    clock = Clock()
    fake = FakeX(make_tweets(50))
    real = fake.timeline

    def slow(request):  # each page takes 25 s of the run's minute
        clock.t += 25
        return real(request)

    fake.timeline = slow
    fake.install(rsps)
    with pytest.raises(HuggingTweetsError, match="has run for 1 min.* the 30 tweets downloaded so far are kept"):
        source(tmp_path, clock).fetch()
    assert len(fake.timeline_calls) == 3

