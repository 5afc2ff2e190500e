"""The X API source, against a fake X served through the real requests stack.

``responses`` intercepts requests below tweepy, so tweepy's own URL building,
parameter encoding and error mapping all run. ``FakeX`` answers like X's v2
endpoints (since_id / until_id / pagination_token / exclude) and counts every
tweet it serves, because X bills per post served.
"""

import json
import logging
import re
import sys
import types
from collections import Counter
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from responses import matchers

from huggingtweets.errors import HuggingTweetsError
from huggingtweets.sources import FetchOptions, detect
from huggingtweets.sources.x_api import XApiSource, _to_tweet, find_bearer_token

TOKEN = "AAAAAAAAAAAAAAAAAAAAAsecret-token-1234567890"
USER_ID = "2244994945"
# tweepy 4.17 still calls api.twitter.com; accept api.x.com too should it move.
HOST = r"https://api\.(?:twitter|x)\.com"
USER_URL = re.compile(HOST + r"/2/users/by/username/(\w+)")
TIMELINE_URL = re.compile(HOST + rf"/2/users/{USER_ID}/tweets")


def make_tweets(n, newest=1_800_000_000_000_000_000):
    """n tweets, newest first; every 5th a retweet, every 7th a reply."""
    out = []
    for k in range(n):
        tid = str(newest - k * 1000)
        t = {"id": tid, "edit_history_tweet_ids": [tid], "created_at": f"2024-05-{1 + k % 28:02d}T12:00:00.000Z",
             "text": f"tweet number {k} &amp; more"}
        if k % 5 == 4:
            t["text"] = f"RT @someone: retweeted {k}"
            t["referenced_tweets"] = [{"type": "retweeted", "id": "1"}]
        elif k % 7 == 6:
            t["in_reply_to_user_id"] = "12"
            t["referenced_tweets"] = [{"type": "replied_to", "id": "2"}]
        out.append(t)
    return out


class FakeX:
    def __init__(self, tweets, page_size=10, tweet_count=None, user=None):
        self.tweets = tweets
        self.page_size = page_size
        self.served = Counter()  # tweet id -> times served (billed)
        self.timeline_calls = []  # query dicts, in order
        self.user_calls = 0
        self.fail_timeline_from = None  # 1-based call number from which every timeline call is a 503
        self.timeline_script = {}  # 1-based call number -> (status, headers, body) or an exception, instead
        self.user_script = []  # (status, headers, body) answered to the next lookups, in order
        self.user = user or {
            "id": USER_ID, "name": "Jack <Test>", "username": "JackTest", "protected": False,
            "profile_image_url": "https://pbs.twimg.com/profile_images/1/abc_normal.jpg",
            "public_metrics": {"tweet_count": len(tweets) if tweet_count is None else tweet_count,
                               "followers_count": 5, "following_count": 3, "listed_count": 0},
        }
        self.user_body = None  # set to an error body to answer the lookup with it

    def install(self, rsps):
        rsps.add_callback(responses.GET, USER_URL, callback=self.user_lookup, content_type="application/json")
        rsps.add_callback(responses.GET, TIMELINE_URL, callback=self.timeline, content_type="application/json")

    def user_lookup(self, request):
        self.user_calls += 1
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        if self.user_script:
            return self._answer(*self.user_script.pop(0))
        if self.user_body is not None:
            return 200, {}, json.dumps(self.user_body)
        return 200, {}, json.dumps({"data": self.user})

    @staticmethod
    def _answer(status, headers, body):
        return status, headers or {}, json.dumps(body or {})

    def timeline(self, request):
        q = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        self.timeline_calls.append(q)
        scripted = self.timeline_script.get(len(self.timeline_calls))
        if isinstance(scripted, Exception):
            raise scripted  # as requests would: a timeout, a dropped connection
        if scripted:
            return self._answer(*scripted)
        if self.fail_timeline_from and len(self.timeline_calls) >= self.fail_timeline_from:
            return 503, {}, json.dumps(
                {"title": "Service Unavailable", "detail": "Service Unavailable", "status": 503})
        rows = list(self.tweets)
        excl = set(q.get("exclude", "").split(",")) - {""}
        if "retweets" in excl:
            rows = [t for t in rows if not t["text"].startswith("RT @")]
        if "replies" in excl:
            rows = [t for t in rows if "in_reply_to_user_id" not in t]
        if "since_id" in q:
            rows = [t for t in rows if int(t["id"]) > int(q["since_id"])]
        if "until_id" in q:
            rows = [t for t in rows if int(t["id"]) < int(q["until_id"])]
        if "pagination_token" in q:
            rows = [t for t in rows if int(t["id"]) <= int(q["pagination_token"][len("tok"):])]
        page, rest = rows[: self.page_size], rows[self.page_size:]
        fields = set(q.get("tweet.fields", "").split(","))
        data = [{k: v for k, v in t.items() if k in {"id", "text", "edit_history_tweet_ids"} | fields} for t in page]
        self.served.update(t["id"] for t in page)
        meta = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if rest:
            meta["next_token"] = "tok" + rest[0]["id"]
        body = {"data": data, "meta": meta} if data else {"meta": meta}
        return 200, {}, json.dumps(body)


class Clock:
    """A fake clock: sleeping moves time on, instantly."""

    def __init__(self, t=1_700_000_000.0):
        self.t = t
        self.sleeps = []

    def now(self):
        return self.t

    def sleep(self, s):
        self.sleeps.append(s)
        self.t += s


@pytest.fixture(autouse=True)
def no_env_token(monkeypatch, tmp_path):
    for name in ("X_BEARER_TOKEN", "TWITTER_BEARER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HUGGINGTWEETS_CACHE", str(tmp_path / "env-cache"))  # never the real ~/.cache


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        yield r


def source(tmp_path, clock=None, **opts):
    clock = clock or Clock()
    opts.setdefault("bearer_token", TOKEN)
    return XApiSource("jacktest", FetchOptions(cache_dir=str(tmp_path / "cache"), **opts),
                      sleep=clock.sleep, now=clock.now)


def cache_file(tmp_path, key="timeline"):
    return tmp_path / "cache" / "x" / "jacktest" / f"{key}.jsonl"


def all_cache_text(tmp_path):
    return "".join(p.read_text() for p in (tmp_path / "cache").rglob("*") if p.is_file())


# ------------------------------------------------------------------ happy path


def test_paginates_three_pages_and_builds_author(rsps, tmp_path):
    fake = FakeX(make_tweets(25), page_size=10)
    fake.install(rsps)
    seen = []
    got = source(tmp_path).fetch(lambda done, total, msg: seen.append((done, total, msg)))

    assert got.author.handle == "JackTest" and got.author.name == "Jack <Test>" and got.author.source == "x"
    assert got.author.avatar_url == "https://pbs.twimg.com/profile_images/1/abc_400x400.jpg"
    assert [t.id for t in got.tweets] == [t["id"] for t in fake.tweets]  # newest first, all 25
    first = got.tweets[0]
    assert first.text == "tweet number 0 &amp; more" and first.created_at == "2024-05-01T12:00:00.000Z"
    assert got.tweets[4].is_retweet and not got.tweets[4].is_reply
    assert got.tweets[6].is_reply and not got.tweets[6].is_retweet

    calls = fake.timeline_calls
    assert len(calls) == 3
    assert calls[0] == {"max_results": "100", "tweet.fields": "created_at,in_reply_to_user_id,referenced_tweets"}
    assert calls[1]["pagination_token"] == "tok" + fake.tweets[10]["id"]
    assert calls[2]["pagination_token"] == "tok" + fake.tweets[20]["id"]
    user_q = parse_qs(urlparse(rsps.calls[0].request.url).query)
    assert user_q["user.fields"] == ["profile_image_url,protected,public_metrics,name"]
    assert rsps.calls[0].request.url.split("?")[0].endswith("/2/users/by/username/jacktest")
    assert set(fake.served.values()) == {1}

    page_updates = [s for s in seen if s[2].startswith("Downloaded")]
    assert [(d, t) for d, t, _ in page_updates] == [(10, 25), (20, 25), (25, 25)]
    lines = cache_file(tmp_path).read_text().splitlines()
    assert len(lines) == 25


def test_total_is_capped_at_the_timeline_limit(rsps, tmp_path):
    fake = FakeX(make_tweets(3), tweet_count=50_000)
    fake.install(rsps)
    seen = []
    source(tmp_path).fetch(lambda d, t, m: seen.append(t))
    assert seen[0] == 3200


def test_exclude_flags_are_passed_through(rsps, tmp_path):
    fake = FakeX(make_tweets(30))
    fake.install(rsps)
    got = source(tmp_path, exclude_retweets=True, exclude_replies=True).fetch()
    assert {c["exclude"] for c in fake.timeline_calls} == {"retweets,replies"}
    assert got.tweets and not any(t.is_retweet or t.is_reply for t in got.tweets)
    assert cache_file(tmp_path, "timeline-no-retweets-no-replies").exists()
    assert not cache_file(tmp_path).exists()

    fake2 = FakeX(make_tweets(30))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r2:
        fake2.install(r2)
        source(tmp_path / "b", exclude_replies=True).fetch()
    assert {c["exclude"] for c in fake2.timeline_calls} == {"replies"}


def test_detect_and_repr_never_need_the_network_or_show_the_token(tmp_path):
    with responses.RequestsMock() as r:  # any request would fail this test
        src = detect("@jacktest", FetchOptions(bearer_token=TOKEN, cache_dir=str(tmp_path)))
        assert isinstance(src, XApiSource)
        assert TOKEN not in repr(src) and TOKEN not in str(src)
        assert len(r.calls) == 0


# ------------------------------------------------------------- the token


def test_no_token_is_a_clear_error(rsps, tmp_path):
    with pytest.raises(HuggingTweetsError, match="X_BEARER_TOKEN.*archive"):
        source(tmp_path, bearer_token=None).fetch()
    assert len(rsps.calls) == 0


@pytest.mark.parametrize("var", ["X_BEARER_TOKEN", "TWITTER_BEARER_TOKEN"])
def test_token_from_the_environment(rsps, tmp_path, monkeypatch, var):
    monkeypatch.setenv(var, TOKEN)
    FakeX(make_tweets(3)).install(rsps)  # the fake asserts the Authorization header
    assert len(source(tmp_path, bearer_token=None).fetch().tweets) == 3


def test_token_precedence_and_colab_secrets(monkeypatch):
    assert find_bearer_token(FetchOptions()) is None  # outside Colab, nothing set
    colab = types.ModuleType("google.colab")
    colab.userdata = types.SimpleNamespace(get=lambda name: {"X_BEARER_TOKEN": "from-colab"}[name])
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    assert find_bearer_token(FetchOptions()) == "from-colab"
    monkeypatch.setenv("TWITTER_BEARER_TOKEN", "old-name")
    assert find_bearer_token(FetchOptions()) == "old-name"
    monkeypatch.setenv("X_BEARER_TOKEN", "new-name")
    assert find_bearer_token(FetchOptions()) == "new-name"
    assert find_bearer_token(FetchOptions(bearer_token="passed")) == "passed"


def test_token_never_in_messages_logs_or_cache(rsps, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # tweepy logs request headers at DEBUG
    fake = FakeX(make_tweets(25))
    fake.fail_timeline_from = 2
    fake.install(rsps)
    messages = []
    with pytest.raises(HuggingTweetsError) as err:
        source(tmp_path).fetch(lambda d, t, m: messages.append(m))
    texts = [str(err.value), repr(err.value), *messages]
    for status in (401, 403, 400):  # X echoing the token back must not leak it either
        with responses.RequestsMock() as r:
            r.add(responses.GET, USER_URL, status=status, json={"title": "x", "detail": f"bad {TOKEN}"})
            with pytest.raises(HuggingTweetsError) as e:
                source(tmp_path / str(status)).fetch()
            texts.append(str(e.value))
    assert "Bearer ***" in caplog.text  # the debug lines were logged, redacted
    cache_text = all_cache_text(tmp_path)
    assert "tweet number 0" in cache_text  # the cache was written
    assert all(TOKEN not in t for t in [*texts, caplog.text, cache_text])


# ------------------------------------------------------------- user errors


def error_body(title, detail, kind):
    return {"errors": [{"value": "jacktest", "detail": detail, "title": title, "resource_type": "user",
                        "parameter": "username", "resource_id": "jacktest",
                        "type": f"https://api.twitter.com/2/problems/{kind}"}]}


@pytest.mark.parametrize("body, expected", [
    (error_body("Not Found Error", "Could not find user with username: [jacktest].", "resource-not-found"),
     "X user @jacktest not found: check the spelling"),
    (error_body("Forbidden", "User has been suspended: [jacktest].", "resource-not-found"),
     "@jacktest is suspended"),
    (error_body("Authorization Error", "Sorry, you are not authorized to see the user with username: [jacktest].",
                "not-authorized-for-resource"),
     "tweets are protected; use their X archive"),
])
def test_user_lookup_errors(rsps, tmp_path, body, expected):
    fake = FakeX([])
    fake.user_body = body
    fake.install(rsps)
    with pytest.raises(HuggingTweetsError, match=re.escape(expected)) as err:
        source(tmp_path).fetch()
    assert "\n" not in str(err.value)
    assert fake.timeline_calls == []


def test_protected_user_data_stops_before_the_timeline(rsps, tmp_path):
    fake = FakeX(make_tweets(5))
    fake.user["protected"] = True
    fake.install(rsps)
    with pytest.raises(HuggingTweetsError, match="tweets are protected; use their X archive"):
        source(tmp_path).fetch()
    assert fake.timeline_calls == []


@pytest.mark.parametrize("status, expected", [
    (401, "X rejected the bearer token .* check X_BEARER_TOKEN"),
    (403, "access tier does not include this endpoint .* X archive"),
])
def test_auth_errors(rsps, tmp_path, status, expected):
    rsps.add(responses.GET, USER_URL, status=status,
             json={"title": "Unauthorized" if status == 401 else "Client Forbidden",
                   "type": "https://api.twitter.com/2/problems/client-forbidden", "status": status},
             match=[matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"}),
                    matchers.query_param_matcher({"user.fields": "profile_image_url,protected,public_metrics,name"})])
    with pytest.raises(HuggingTweetsError, match=expected) as err:
        source(tmp_path).fetch()
    assert "\n" not in str(err.value)
    assert len(rsps.calls) == 1  # no retry on a bad token or tier


def test_403_on_the_timeline(rsps, tmp_path):
    fake = FakeX(make_tweets(5))
    fake.timeline_script = {1: (403, None, {"title": "Client Forbidden", "status": 403})}
    fake.install(rsps)
    with pytest.raises(HuggingTweetsError, match="access tier"):
        source(tmp_path).fetch()
    assert len(fake.timeline_calls) == 1


def test_protected_timeline_errors(rsps, tmp_path):
    fake = FakeX(make_tweets(5))
    fake.timeline_script = {1: (200, None, error_body(
        "Authorization Error", "Sorry, you are not authorized to see the user with id: [2244994945].",
        "not-authorized-for-resource"))}
    fake.install(rsps)
    with pytest.raises(HuggingTweetsError, match="protected"):
        source(tmp_path).fetch()


# ----------------------------------------------------- rate limits, outages


def test_rate_limit_waits_for_reset_then_retries_the_same_page(rsps, tmp_path):
    clock = Clock(1_700_000_000.0)
    fake = FakeX(make_tweets(25))
    fake.timeline_script = {2: (429, {"x-rate-limit-limit": "1500", "x-rate-limit-remaining": "0",
                                      "x-rate-limit-reset": str(int(clock.t) + 42)},
                                {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                                 "status": 429})}
    fake.install(rsps)
    messages = []
    got = source(tmp_path, clock).fetch(lambda d, t, m: messages.append(m))

    assert len(got.tweets) == 25
    assert sum(clock.sleeps) == 43  # until reset, plus 1 s
    assert max(clock.sleeps) <= 5
    assert "Rate limited by X: waiting 43 s" in messages
    assert "Rate limited by X: waiting 3 s" in messages  # it counts down
    calls = fake.timeline_calls
    assert len(calls) == 4 and calls[2] == calls[1]  # the same page asked again
    assert "pagination_token" in calls[1]
    assert set(fake.served.values()) == {1}


def test_endless_rate_limit_gives_up_with_a_clear_error(rsps, tmp_path):
    clock = Clock()
    fake = FakeX(make_tweets(5))
    fake.timeline_script = {n: (429, {"x-rate-limit-reset": str(int(clock.t) + 10)}, {"title": "Too Many Requests"})
                            for n in range(1, 100)}
    fake.install(rsps)
    with pytest.raises(HuggingTweetsError, match="rate limit"):
        source(tmp_path, clock).fetch()


def test_very_long_reset_is_not_waited_out(rsps, tmp_path):
    clock = Clock()
    rsps.add(responses.GET, USER_URL, status=429, headers={"x-rate-limit-reset": str(int(clock.t) + 86400)},
             json={"title": "UsageCapExceeded"})
    with pytest.raises(HuggingTweetsError, match="run again then"):
        source(tmp_path, clock).fetch()
    assert clock.sleeps == []


def test_connection_errors_retry_with_backoff_then_fail_clearly(rsps, tmp_path):
    clock = Clock()
    rsps.add(responses.GET, USER_URL, body=requests.ConnectionError("Name or service not known"))
    messages = []
    with pytest.raises(HuggingTweetsError, match="Could not reach X .*check your connection and run again") as err:
        source(tmp_path, clock).fetch(lambda d, t, m: messages.append(m))
    assert clock.sleeps == [1, 2, 4, 8, 16]
    assert len(rsps.calls) == 6
    assert "the 0 tweets downloaded so far are kept in the cache" in str(err.value)
    assert "retrying in 4 s" in " ".join(messages)


def test_a_server_error_then_success(rsps, tmp_path):
    clock = Clock()
    fake = FakeX(make_tweets(5))
    fake.timeline_script = {1: (503, None, {"title": "Service Unavailable"}), 2: (502, None, {"title": "Bad Gateway"})}
    fake.install(rsps)
    assert len(source(tmp_path, clock).fetch().tweets) == 5
    assert clock.sleeps == [1, 2]


# --------------------------------------------------- the cache and reruns


def test_interrupted_download_resumes_with_until_id_and_never_repeats(rsps, tmp_path):
    clock = Clock()
    fake = FakeX(make_tweets(45), page_size=10)
    fake.fail_timeline_from = 3  # page 3 never comes
    fake.install(rsps)
    with pytest.raises(HuggingTweetsError, match="the 20 tweets downloaded so far are kept in the cache"):
        source(tmp_path, clock).fetch()
    assert len(cache_file(tmp_path).read_text().splitlines()) == 20  # both pages on disk
    state = json.loads(cache_file(tmp_path).with_suffix(".json").read_text())
    assert state["oldest_id"] == fake.tweets[19]["id"] and not state["reached_oldest"]

    fake.fail_timeline_from = None
    fake.timeline_calls.clear()
    fake.user_calls = 0
    got = source(tmp_path, clock).fetch()

    assert fake.user_calls == 0  # the profile came from the cache
    assert fake.timeline_calls[0]["until_id"] == fake.tweets[19]["id"]
    assert "since_id" not in fake.timeline_calls[0] and "pagination_token" not in fake.timeline_calls[0]
    assert len(fake.timeline_calls) == 3  # 25 older tweets, 10 a page
    assert fake.served == Counter({t["id"]: 1 for t in fake.tweets})  # each tweet billed once
    assert [t.id for t in got.tweets] == [t["id"] for t in fake.tweets]
    assert len(cache_file(tmp_path).read_text().splitlines()) == 45  # no duplicate written


def test_a_page_written_but_not_recorded_in_state_is_not_asked_again(rsps, tmp_path):
    """A crash between appending a page and saving the state: the tweets file wins."""
    clock = Clock()
    fake = FakeX(make_tweets(30), page_size=10)
    fake.fail_timeline_from = 2
    fake.install(rsps)
    with pytest.raises(HuggingTweetsError):
        source(tmp_path, clock).fetch()
    with open(cache_file(tmp_path), "a") as f:  # page 2 reached the disk, its state update did not
        for t in fake.tweets[10:20]:
            f.write(json.dumps({"id": t["id"], "text": t["text"]}) + "\n")
    fake.fail_timeline_from = None
    fake.timeline_calls.clear()
    got = source(tmp_path, clock).fetch()
    assert fake.timeline_calls[0]["until_id"] == fake.tweets[19]["id"]
    assert len(got.tweets) == 30


def test_a_timeout_is_retried(rsps, tmp_path):
    clock = Clock()
    fake = FakeX(make_tweets(3))
    fake.timeline_script = {1: requests.ReadTimeout("read timed out")}
    fake.install(rsps)
    assert len(source(tmp_path, clock).fetch().tweets) == 3
    assert clock.sleeps == [1]


def test_rerun_after_complete_download_makes_no_request(tmp_path):
    fake = FakeX(make_tweets(15))
    with responses.RequestsMock() as r:
        fake.install(r)
        first = source(tmp_path).fetch()
    with responses.RequestsMock() as r:  # no routes: any request raises
        again = source(tmp_path, bearer_token=None).fetch()  # not even a token is needed
        assert len(r.calls) == 0
    assert again.tweets == first.tweets and again.author == first.author


def test_refresh_asks_only_for_newer_tweets(rsps, tmp_path):
    tweets = make_tweets(30)
    fake = FakeX(tweets[10:])  # the 10 newest are not posted yet
    fake.install(rsps)
    source(tmp_path).fetch()
    fake.tweets = tweets
    fake.timeline_calls.clear()
    fake.user_calls = 0
    got = source(tmp_path, refresh=True).fetch()
    assert fake.user_calls == 1  # refresh re-looks-up the profile
    assert fake.timeline_calls[0]["since_id"] == tweets[10]["id"]
    assert "until_id" not in fake.timeline_calls[0]
    assert fake.served == Counter({t["id"]: 1 for t in tweets})
    assert [t.id for t in got.tweets] == [t["id"] for t in tweets]


def test_interrupted_refresh_fills_its_gap_next_time(rsps, tmp_path):
    clock = Clock()
    tweets = make_tweets(40)
    fake = FakeX(tweets[30:], page_size=5)
    fake.install(rsps)
    source(tmp_path, clock).fetch()  # 10 old tweets, complete
    fake.tweets = tweets  # 30 new ones
    fake.timeline_calls.clear()
    fake.fail_timeline_from = 3  # the refresh stops after 10 of the 30
    with pytest.raises(HuggingTweetsError):
        source(tmp_path, clock, refresh=True).fetch()
    fake.fail_timeline_from = None
    fake.timeline_calls.clear()
    got = source(tmp_path, clock).fetch()  # no refresh: the gap is still filled
    first = fake.timeline_calls[0]
    assert first["since_id"] == tweets[30]["id"] and first["until_id"] == tweets[9]["id"]
    assert fake.served == Counter({t["id"]: 1 for t in tweets})
    assert [t.id for t in got.tweets] == [t["id"] for t in tweets]
    with responses.RequestsMock():
        source(tmp_path, clock).fetch()  # and now it is complete again


def test_interrupted_download_with_refresh_asks_older_then_newer(rsps, tmp_path):
    clock = Clock()
    tweets = make_tweets(30)
    fake = FakeX(tweets[5:], page_size=10)
    fake.fail_timeline_from = 2
    fake.install(rsps)
    with pytest.raises(HuggingTweetsError):
        source(tmp_path, clock).fetch()
    fake.tweets, fake.fail_timeline_from = tweets, None
    fake.timeline_calls.clear()
    got = source(tmp_path, clock, refresh=True).fetch()
    older = [c for c in fake.timeline_calls if "until_id" in c]
    newer = [c for c in fake.timeline_calls if "since_id" in c]
    assert older[0]["until_id"] == tweets[14]["id"] and newer[0]["since_id"] == tweets[5]["id"]
    assert fake.served == Counter({t["id"]: 1 for t in tweets})
    assert len(got.tweets) == 30


def test_complete_superset_serves_a_request_with_excludes(rsps, tmp_path):
    fake = FakeX(make_tweets(20))
    fake.install(rsps)
    source(tmp_path).fetch()
    calls = len(rsps.calls)
    got = source(tmp_path, exclude_retweets=True, exclude_replies=True).fetch()
    assert len(rsps.calls) == calls  # filtered from the cache, no request
    assert got.tweets and not any(t.is_retweet or t.is_reply for t in got.tweets)
    assert len(got.tweets) == len([t for t in fake.tweets if t["text"][:4] != "RT @" and
                                   "in_reply_to_user_id" not in t])


def test_a_download_with_excludes_does_not_serve_one_without(rsps, tmp_path):
    fake = FakeX(make_tweets(20))
    fake.install(rsps)
    source(tmp_path, exclude_retweets=True).fetch()
    fake.timeline_calls.clear()
    got = source(tmp_path).fetch()
    assert fake.timeline_calls and "exclude" not in fake.timeline_calls[0]
    assert len(got.tweets) == 20


def test_a_partial_superset_is_not_used(rsps, tmp_path):
    clock = Clock()
    fake = FakeX(make_tweets(20), page_size=5)
    fake.fail_timeline_from = 2
    fake.install(rsps)
    with pytest.raises(HuggingTweetsError):
        source(tmp_path, clock).fetch()
    fake.fail_timeline_from = None
    fake.timeline_calls.clear()
    source(tmp_path, clock, exclude_replies=True).fetch()
    assert fake.timeline_calls[0] == {"max_results": "100", "exclude": "replies",
                                      "tweet.fields": "created_at,in_reply_to_user_id,referenced_tweets"}


def test_the_state_file_records_the_download(rsps, tmp_path):
    fake = FakeX(make_tweets(12), page_size=5)
    fake.install(rsps)
    source(tmp_path, exclude_replies=True).fetch()
    state = json.loads((tmp_path / "cache" / "x" / "jacktest" / "timeline-no-replies.json").read_text())
    assert state["reached_oldest"] is True and state["gap"] is None
    assert state["exclude_replies"] is True and state["exclude_retweets"] is False
    assert state["newest_id"] == fake.tweets[0]["id"]
    assert state["profile"]["username"] == "JackTest" and state["profile"]["id"] == USER_ID


@pytest.mark.parametrize("raw, is_reply, is_retweet", [
    ({"id": "1", "text": "hello"}, False, False),
    ({"id": "1", "text": "RT @a: hi"}, False, True),  # old-style retweet, no reference
    ({"id": "1", "text": "hi", "referenced_tweets": [{"type": "retweeted", "id": "9"}]}, False, True),
    ({"id": "1", "text": "@a hi", "in_reply_to_user_id": "5"}, True, False),
    ({"id": "1", "text": "hi", "referenced_tweets": [{"type": "replied_to", "id": "9"}]}, True, False),
    ({"id": "1", "text": "look", "referenced_tweets": [{"type": "quoted", "id": "9"}]}, False, False),
])
def test_tweet_flags(raw, is_reply, is_retweet):
    t = _to_tweet(raw)
    assert (t.is_reply, t.is_retweet) == (is_reply, is_retweet)


def test_pagination_tokens_that_come_round_again_end_the_download(rsps, tmp_path):
    tweets = make_tweets(6)
    fake = FakeX(tweets, page_size=2)
    page = lambda rows, token: (200, None, {"data": rows, "meta": {"result_count": len(rows), "next_token": token}})  # noqa: E731
    fake.timeline_script = {1: page(tweets[0:2], "A"), 2: page(tweets[2:4], "B"), 3: page(tweets[0:2], "A")}
    fake.install(rsps)
    got = source(tmp_path).fetch()
    assert len(fake.timeline_calls) == 3 and len(got.tweets) == 4
