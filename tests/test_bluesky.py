"""Bluesky accounts through the public AppView, against a local server (tests/fake_networks.py)."""

import json
import subprocess
import sys

import pytest

from fake_networks import DID, Answer, FakeNetworks, bluesky_feed, bsky_post
from huggingtweets.cleaning import clean_author
from huggingtweets.errors import HuggingTweetsError
from huggingtweets.sources import FetchOptions, detect, detect_kind
from huggingtweets.sources.bluesky import API_ENV, BlueskySource, actor_of

HANDLE = "wren.bsky.social"


@pytest.fixture
def net(monkeypatch):
    with FakeNetworks() as n:
        monkeypatch.setenv(API_ENV, n.url)
        yield n


class Clock:
    def __init__(self, t=1_700_000_000.0):
        self.t, self.slept = t, []

    def now(self):
        return self.t

    def sleep(self, s):
        self.slept.append(s)
        self.t += s


def source(tmp_path, actor=HANDLE, clock=None, **options):
    clock = clock or Clock()
    return BlueskySource(actor, FetchOptions(cache_dir=str(tmp_path / "cache"), **options), sleep=clock.sleep, now=clock.now)


@pytest.mark.parametrize("typed, actor", [
    ("wren.bsky.social", "wren.bsky.social"),
    ("@Wren.bsky.social", "wren.bsky.social"),
    ("@example.com", "example.com"),
    ("did:plc:w2rnw2rnw2rnw2rnw2rnw2rn", "did:plc:w2rnw2rnw2rnw2rnw2rnw2rn"),
    ("did:web:wren.example", "did:web:wren.example"),
    ("https://bsky.app/profile/wren.bsky.social", "wren.bsky.social"),
    ("https://bsky.app/profile/did:plc:w2rnw2rnw2rnw2rnw2rnw2rn/", "did:plc:w2rnw2rnw2rnw2rnw2rnw2rn"),
])
def test_what_a_person_types(typed, actor):
    kind, spec = detect_kind(typed)
    assert kind.name == "bluesky" and spec == actor


@pytest.mark.parametrize("typed", ["jack", "@jack", "@user@mastodon.social", "not a handle", "a..b", "did:plc:short"])
def test_not_bluesky(typed):
    assert actor_of(typed) is None


def test_whole_feed_counts_and_text(net, tmp_path):
    net.bluesky_account(HANDLE, bluesky_feed(250))
    got = source(tmp_path).fetch()
    assert got.author.handle == HANDLE and got.author.name == "Wren of the Harbour" and got.author.source == "bluesky"
    assert got.author.avatar_url.startswith("https://cdn.bsky.app/")
    feed = [r for r in net.requests if r[0].endswith("getAuthorFeed")]
    assert [r[1].get("cursor") for r in feed] == [None, "100", "200"]
    assert all(r[1]["limit"] == "100" and r[1]["filter"] == "posts_with_replies" for r in feed)
    assert len(got.tweets) == 250
    stats = clean_author(got).stats
    assert stats.retweets == sum(1 for k in range(250) if k % 9 == 8)
    assert stats.downloaded == stats.retweets + stats.short + stats.kept
    replies = [t for t in got.tweets if t.is_reply]
    assert len(replies) == sum(1 for k in range(250) if k % 11 == 10 and k % 9 != 8)  # self-thread replies are not
    texts = " ".join(t.text for t in got.tweets)
    assert "github.com" not in texts and "bluesky-soci" not in texts and "..." not in texts
    assert any("read them tonight 🍞" in t.text for t in got.tweets)
    assert "someone else's words" not in texts  # a repost is counted, never trained on


def test_exclude_replies_asks_the_server_and_keeps_own_threads(net, tmp_path):
    net.bluesky_account(HANDLE, bluesky_feed(120))
    got = source(tmp_path, exclude_replies=True).fetch()
    assert {r[1]["filter"] for r in net.requests if r[0].endswith("getAuthorFeed")} == {"posts_no_replies"}
    assert not any(t.is_reply for t in got.tweets)


def test_exclude_retweets_drops_reposts_before_counting(net, tmp_path):
    net.bluesky_account(HANDLE, bluesky_feed(60))
    got = source(tmp_path, exclude_retweets=True).fetch()
    assert not any(t.is_retweet for t in got.tweets)


def test_pinned_post_counted_once(net, tmp_path):
    feed = bluesky_feed(30)
    pinned = dict(feed[20], reason={"$type": "app.bsky.feed.defs#reasonPin"})
    net.bluesky_account(HANDLE, [pinned] + feed)
    got = source(tmp_path).fetch()
    assert len(got.tweets) == 30
    assert [r[1]["includePins"] for r in net.requests if r[0].endswith("getAuthorFeed")] == ["false"]


def test_second_run_asks_only_for_newer_posts(net, tmp_path):
    feed = bluesky_feed(150)
    net.bluesky_account(HANDLE, feed)
    assert len(source(tmp_path).fetch().tweets) == 150
    net.requests.clear()
    newer = [{"post": bsky_post(900 + i, text=f"a brand new post number {i} about the harbour")} for i in range(3)]
    net.bluesky_account(HANDLE, newer + feed)
    got = source(tmp_path).fetch()
    assert net.requests == [("/xrpc/app.bsky.feed.getAuthorFeed", {"actor": DID, "limit": "100", "includePins": "false", "filter": "posts_with_replies"})]
    assert len(got.tweets) == 153


def test_interrupted_download_carries_on_from_its_cursor(net, tmp_path):
    net.bluesky_account(HANDLE, bluesky_feed(250))
    net.fail_path = ("getAuthorFeed", Answer(503, {"error": "Unavailable"}))
    calls = {"n": 0}
    original = net._answer

    def first_page_then_down(path, query):
        if path.endswith("getAuthorFeed"):
            calls["n"] += 1
            if calls["n"] == 1:
                return Answer(200, {"feed": bluesky_feed(250)[:100], "cursor": "100"})
        return original(path, query)

    net._answer = first_page_then_down
    with pytest.raises(HuggingTweetsError) as err:
        source(tmp_path).fetch()
    message = str(err.value)
    assert "\n" not in message and "Could not reach Bluesky (503" in message and "100 posts downloaded so far are kept" in message
    net._answer, net.fail_path = original, None
    net.requests.clear()
    got = source(tmp_path).fetch()
    cursors = [r[1].get("cursor") for r in net.requests if r[0].endswith("getAuthorFeed")]
    assert cursors[:2] == ["100", "200"] and len(got.tweets) == 250
    assert net.count("getProfile") == 0  # the profile was kept


def test_rate_limit_waits_for_the_reset(net, tmp_path):
    net.bluesky_account(HANDLE, bluesky_feed(20))
    clock = Clock()
    net.script = [Answer(429, {"error": "RateLimitExceeded"}, {"RateLimit-Limit": "3000", "RateLimit-Remaining": "0",
                                                                "RateLimit-Reset": str(int(clock.t) + 12)})]
    seen = []
    got = source(tmp_path, clock=clock).fetch(lambda done, total, msg: seen.append(msg))
    assert len(got.tweets) == 20 and sum(clock.slept) == 13
    assert "Rate limited by Bluesky: waiting 13 s" in seen


def test_server_errors_are_retried(net, tmp_path):
    net.bluesky_account(HANDLE, bluesky_feed(20))
    net.script = [Answer(502, None), Answer(500, {"error": "InternalServerError"})]
    clock = Clock()
    assert len(source(tmp_path, clock=clock).fetch().tweets) == 20
    assert clock.slept == [1, 2]


@pytest.mark.parametrize("answer, words", [
    (Answer(400, {"error": "InvalidRequest", "message": "Profile not found"}), "not found: check the spelling"),
    (Answer(400, {"error": "AccountTakedown", "message": "Account has been suspended"}), "was taken down"),
    (Answer(400, {"error": "AccountDeactivated", "message": "Account is deactivated"}), "is deactivated"),
])
def test_account_errors_are_one_line(net, tmp_path, answer, words):
    net.script = [answer]
    with pytest.raises(HuggingTweetsError) as err:
        source(tmp_path, actor="nobody.bsky.social").fetch()
    assert words in str(err.value) and "\n" not in str(err.value)


def test_logged_out_label_is_respected(net, tmp_path):
    net.bluesky_account(HANDLE, bluesky_feed(20), labels=[{"src": DID, "uri": f"at://{DID}/app.bsky.actor.profile/self", "val": "!no-unauthenticated"}])
    with pytest.raises(HuggingTweetsError, match="not to show their posts to logged-out people"):
        source(tmp_path).fetch()
    assert net.count("getAuthorFeed") == 0 and not (tmp_path / "cache" / "bluesky" / HANDLE / "feed.jsonl").exists()


def test_empty_account(net, tmp_path):
    net.bluesky_account(HANDLE, [])
    with pytest.raises(HuggingTweetsError, match="No posts from @wren.bsky.social on Bluesky"):
        source(tmp_path).fetch()


def test_server_that_does_not_answer(tmp_path, monkeypatch):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    monkeypatch.setenv(API_ENV, f"http://127.0.0.1:{port}")
    clock = Clock()
    with pytest.raises(HuggingTweetsError, match=r"127\.0\.0\.1 refused the connection: no web server answers there"):
        source(tmp_path, clock=clock).fetch()
    assert clock.slept == []  # no retry can fix a refused connection


@pytest.mark.subprocess
def test_cli_data_json_through_a_real_process(net, tmp_path):
    net.bluesky_account(HANDLE, bluesky_feed(120))
    env = {"PATH": "/usr/bin:/bin", API_ENV: net.url, "HUGGINGTWEETS_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "huggingtweets", "data", HANDLE, "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    (row,) = json.loads(run.stdout)["authors"]
    assert row["handle"] == HANDLE and row["downloaded"] == 120
    assert row["downloaded"] == row["retweets"] + row["short"] + row["kept"]
    # the typed form decides nothing: a profile URL reads the same cache, asking only for newer posts
    net.requests.clear()
    run = subprocess.run([sys.executable, "-m", "huggingtweets", "data", f"https://bsky.app/profile/{HANDLE}", "--json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert net.count("getAuthorFeed") == 1 and net.count("getProfile") == 0


def test_detect_builds_a_bluesky_source():
    assert isinstance(detect("@wren.bsky.social"), BlueskySource)


def test_cursors_that_come_round_again_end_the_paging(net, tmp_path):
    """A hostile server that cycles A -> B -> A gets three requests, not 5,000."""
    feed = [{"post": bsky_post(i)} for i in range(6, 0, -1)]
    net.bluesky_account(HANDLE, feed)
    net.script = [Answer(200, net.bluesky[HANDLE]["profile"]),
                  Answer(200, {"feed": feed[0:2], "cursor": "A"}),
                  Answer(200, {"feed": feed[2:4], "cursor": "B"}),
                  Answer(200, {"feed": feed[0:2], "cursor": "A"})]
    got = source(tmp_path).fetch()
    assert net.count("getAuthorFeed") == 3 and len(got.tweets) == 4


def test_a_post_past_the_archives_cap_is_not_kept_from_the_api_either(net, tmp_path):
    from huggingtweets.sources.limits import MAX_POST_CHARS

    feed = [{"post": bsky_post(2)}, {"post": bsky_post(1, text="w" * (MAX_POST_CHARS + 1))}]
    net.bluesky_account(HANDLE, feed)
    got = source(tmp_path).fetch()
    assert [len(t.text) <= MAX_POST_CHARS for t in got.tweets] == [True]
    assert "w" * 1000 not in "".join(p.read_text() for p in (tmp_path / "cache").rglob("*") if p.is_file())  # never cached
