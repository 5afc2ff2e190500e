"""Mastodon accounts read from their own server, against a local server (tests/fake_networks.py)."""

import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from fake_networks import Answer, FakeNetworks, mastodon_status, mastodon_statuses
from huggingtweets.cleaning import clean_author
from huggingtweets.errors import HuggingTweetsError
from huggingtweets.sources import FetchOptions, detect_kind
from huggingtweets.sources.mastodon import MastodonSource, account_of
from test_bluesky import Clock


@pytest.fixture
def net():
    with FakeNetworks() as n:
        yield n


def source(net, tmp_path, user="wren", clock=None, **options):
    clock = clock or Clock()
    return MastodonSource(f"{net.url}/@{user}", FetchOptions(cache_dir=str(tmp_path / "cache"), **options),
                          sleep=clock.sleep, now=clock.now)


@pytest.mark.parametrize("typed, spec", [
    ("@wren@mastodon.social", "https://mastodon.social/@wren"),
    ("wren@Mastodon.Social", "https://mastodon.social/@wren"),
    ("https://fosstodon.org/@wren", "https://fosstodon.org/@wren"),
    ("https://mastodon.social/@wren@fosstodon.org", "https://fosstodon.org/@wren"),
    ("http://127.0.0.1:8123/@wren", "http://127.0.0.1:8123/@wren"),
])
def test_what_a_person_types(typed, spec):
    kind, got = detect_kind(typed)
    assert kind.name == "mastodon" and got == spec


@pytest.mark.parametrize("typed", ["wren", "wren.bsky.social", "@wren@", "https://bsky.app/profile/wren.bsky.social"])
def test_not_mastodon(typed):
    assert account_of(typed) is None


def test_whole_timeline(net, tmp_path):
    net.mastodon_account("wren", mastodon_statuses(100))
    got = source(net, tmp_path).fetch()
    host = net.url.split("//")[1]
    assert got.author.handle == f"wren@{host}" and got.author.source == "mastodon"
    pages = [r for r in net.requests if r[0].endswith("/statuses")]
    assert len(pages) == 3 and pages[0][1] == {"limit": "40"} and "max_id" in pages[1][1]
    private = sum(1 for k in range(100) if k % 8 != 7 and k % 10 != 9 and (k % 12 == 11 or k % 14 == 13))
    assert len(got.tweets) == 100 - private
    texts = "\n".join(t.text for t in got.tweets)
    assert "followers only secret" not in texts and "direct whisper" not in texts
    assert "example.com" not in texts and "recipe" not in texts and ":loaf:" not in texts and "bread talk" not in texts
    assert "Baked again with @gull see #baking\n\nsecond paragraph here" in texts
    assert "the 100th night &amp; the bread" in texts  # the Tweet convention: cleaning unescapes once
    stats = clean_author(got).stats
    assert stats.retweets == sum(1 for k in range(100) if k % 8 == 7)
    assert stats.downloaded == stats.retweets + stats.short + stats.kept
    cache_text = "".join(p.read_text() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert "followers only secret" not in cache_text and "direct whisper" not in cache_text


def test_excludes_go_to_the_server(net, tmp_path):
    net.mastodon_account("wren", mastodon_statuses(60))
    got = source(net, tmp_path, exclude_replies=True, exclude_retweets=True).fetch()
    first = next(r[1] for r in net.requests if r[0].endswith("/statuses"))
    assert first == {"limit": "40", "exclude_replies": "true", "exclude_reblogs": "true"}
    assert not any(t.is_reply or t.is_retweet for t in got.tweets)


def test_reply_to_oneself_is_not_a_reply(net, tmp_path):
    net.mastodon_account("wren", [mastodon_status(2, in_reply_to_id="1", in_reply_to_account_id="1091"), mastodon_status(1)])
    assert [t.is_reply for t in source(net, tmp_path).fetch().tweets] == [False, False]


def test_second_run_asks_only_for_newer_posts(net, tmp_path):
    statuses = mastodon_statuses(90)
    net.mastodon_account("wren", statuses)
    source(net, tmp_path).fetch()
    net.requests.clear()
    net.mastodon_account("wren", [mastodon_status(500, content="<p>a fresh post about the morning harbour</p>")] + statuses)
    got = source(net, tmp_path).fetch()
    assert [r[0] for r in net.requests] == ["/api/v1/accounts/1091/statuses"]
    assert any("fresh post" in t.text for t in got.tweets)


def test_rate_limit_iso_reset(net, tmp_path):
    net.mastodon_account("wren", mastodon_statuses(10))
    clock = Clock()
    reset = datetime.fromtimestamp(clock.t + 30, tz=timezone.utc).isoformat().replace("+00:00", "Z")
    net.script = [Answer(429, {"error": "Too many requests"}, {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})]
    seen = []
    source(net, tmp_path, clock=clock).fetch(lambda d, t, m: seen.append(m))
    assert sum(clock.slept) == 31 and "Rate limited by Mastodon: waiting 31 s" in seen


@pytest.mark.parametrize("answer, words", [
    (Answer(401, {"error": "This method requires an authenticated user"}), "does not let anyone read its posts without logging in"),
    (Answer(404, {"error": "Record not found"}), "not found: check the spelling"),
    (Answer(410, {"error": "Gone"}), "is gone (deleted or suspended)"),
])
def test_errors_are_one_line(net, tmp_path, answer, words):
    net.script = [answer]
    with pytest.raises(HuggingTweetsError) as err:
        source(net, tmp_path).fetch()
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_next_link_to_another_host_is_not_followed(net, tmp_path):
    net.mastodon_account("wren", mastodon_statuses(10))
    original = net._answer

    def elsewhere(path, query):
        answer = original(path, query)
        if path.endswith("/statuses"):
            answer.headers["Link"] = '<http://198.51.100.7/api/v1/accounts/1091/statuses?max_id=1>; rel="next"'
        return answer

    net._answer = elsewhere
    assert len(source(net, tmp_path).fetch().tweets) > 0
    assert net.count("/statuses") == 1


@pytest.mark.subprocess
def test_cli_data_json_through_a_real_process(net, tmp_path):
    net.mastodon_account("wren", mastodon_statuses(120))
    env = {"PATH": "/usr/bin:/bin", "HUGGINGTWEETS_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path),
           "HUGGINGTWEETS_ALLOW_PRIVATE_HOSTS": "1"}  # a local server, on purpose
    run = subprocess.run([sys.executable, "-m", "huggingtweets", "data", f"{net.url}/@wren", "--json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    (row,) = json.loads(run.stdout)["authors"]
    assert row["downloaded"] == row["retweets"] + row["short"] + row["kept"] and row["retweets"] == 15


def test_statuses_of_other_accounts_in_the_feed_are_not_theirs(net, tmp_path):
    """A server that slips another account's statuses into this one's feed: they are not kept or counted."""
    statuses = [mastodon_status(3), mastodon_status(2, account_id="666", content="<p>words of someone else entirely</p>"),
                mastodon_status(1)]
    net.mastodon_account("wren", statuses)
    got = source(net, tmp_path).fetch()
    assert len(got.tweets) == 2 and not any("someone else" in t.text for t in got.tweets)
