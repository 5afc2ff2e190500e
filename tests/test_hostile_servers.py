"""Hostile servers are bounded (issue 26): time, not only bytes."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from huggingtweets.errors import HuggingTweetsError
from huggingtweets.sources.http import Http


def test_a_server_that_trickles_its_answer_meets_a_deadline(monkeypatch):
    """One byte at a time, each well inside the per-read timeout: the whole answer still has a deadline."""
    import time

    from huggingtweets.sources import http as http_module

    class Trickle(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(http_module, "RESPONSE_DEADLINE_S", 1.0)
    try:
        started = time.monotonic()
        with pytest.raises(HuggingTweetsError, match="came too slowly") as slow:
            Http("Mastodon", lambda headers: None).get(f"http://127.0.0.1:{server.server_port}/api/v1/x")
        assert time.monotonic() - started < 10 and "\n" not in str(slow.value)
    finally:
        server.shutdown()
        server.server_close()


def test_rate_limit_waits_are_capped_in_total_for_a_download(tmp_path, monkeypatch):
    """A 429 whose reset is 20 minutes away, again and again: waited out once, then one line."""
    from fake_networks import Answer, FakeNetworks, bluesky_feed
    from huggingtweets.sources import FetchOptions
    from huggingtweets.sources.bluesky import API_ENV, BlueskySource
    from test_bluesky import Clock

    clock = Clock()
    limited = lambda: Answer(429, {"error": "RateLimitExceeded"}, {"RateLimit-Remaining": "0",  # noqa: E731
                                                                   "RateLimit-Reset": str(int(clock.t) + 20 * 60)})
    with FakeNetworks(bluesky_page=5) as net:
        monkeypatch.setenv(API_ENV, net.url)
        net.bluesky_account("wren.bsky.social", bluesky_feed(20))
        net.script = [limited()]
        source = BlueskySource("wren.bsky.social", FetchOptions(cache_dir=str(tmp_path / "cache")), sleep=clock.sleep, now=clock.now)
        real_answer = net._answer

        def answer(path, query):  # every page after the first wait is limited again, 20 min ahead
            if "getAuthorFeed" in path and sum(clock.slept) > 0:
                return limited()
            return real_answer(path, query)

        net._answer = answer
        with pytest.raises(HuggingTweetsError, match="has rate limited this download for 21 min already") as err:
            source.fetch()
    assert sum(clock.slept) == 20 * 60 + 1 and "\n" not in str(err.value)
