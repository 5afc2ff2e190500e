"""Hostile servers are bounded (issue 26): time, not only bytes."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from huggingtweets.errors import HuggingTweetsError
from huggingtweets.sources.http import Http


@pytest.mark.slow
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
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
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


def test_an_operators_lower_cap_on_waits_ends_a_long_rate_limit_at_once(tmp_path, monkeypatch):
    """HUGGINGTWEETS_MAX_WAIT_S (visitor mode sets 120): a reset 5 minutes away is not waited for."""
    from fake_networks import Answer, FakeNetworks, bluesky_feed
    from huggingtweets.sources import FetchOptions
    from huggingtweets.sources import http as http_module
    from huggingtweets.sources.bluesky import API_ENV, BlueskySource
    from test_bluesky import Clock

    monkeypatch.setenv(http_module.WAIT_ENV, "120")
    clock = Clock()
    with FakeNetworks(bluesky_page=5) as net:
        monkeypatch.setenv(API_ENV, net.url)
        net.bluesky_account("wren.bsky.social", bluesky_feed(20))
        net.script = [Answer(429, {"error": "RateLimitExceeded"}, {"RateLimit-Remaining": "0", "RateLimit-Reset": str(int(clock.t) + 5 * 60)})]
        source = BlueskySource("wren.bsky.social", FetchOptions(cache_dir=str(tmp_path / "cache")), sleep=clock.sleep, now=clock.now)
        with pytest.raises(HuggingTweetsError, match=r"rate limit resets at .* \(5\.0\d* min from now\): run again then") as err:
            source.fetch()
    assert sum(clock.slept) == 0 and "\n" not in str(err.value)
    for said, cap in (("", http_module.MAX_RATE_LIMIT_TOTAL_S), ("nan", http_module.MAX_RATE_LIMIT_TOTAL_S),
                      ("abc", http_module.MAX_RATE_LIMIT_TOTAL_S), ("99999", http_module.MAX_RATE_LIMIT_TOTAL_S), ("-5", 0)):
        monkeypatch.setenv(http_module.WAIT_ENV, said)
        assert http_module.wait_cap() == cap, said


# --- the wait before an answer's body: status line, headers, the TLS handshake -------------------


def _serve_raw(handle):
    """A TCP server on 127.0.0.1 that runs ``handle(connection)`` for each client; returns (port, stop)."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve():
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn, done), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()

    def stop():
        done.set()
        listener.close()

    return listener.getsockname()[1], stop


def _trickle(conn, done, first: bytes, step: bytes, every_s: float):
    """Read the request, send ``first``, then ``step`` every ``every_s`` seconds until told to stop."""
    import time

    with conn:
        try:
            conn.recv(65536)
            conn.sendall(first)
            while not done.is_set():
                time.sleep(every_s)
                conn.sendall(step)
        except OSError:
            pass


@pytest.mark.slow
@pytest.mark.parametrize("scheme,first", [
    # the status line never ends: one byte at a time, each well inside the 30 s read timeout
    ("http", b"H"),
    # TLS: a handshake record announced at 16 KiB whose bytes never finish arriving
    ("https", bytes([0x16, 0x03, 0x03, 0x40, 0x00])),
])
def test_a_server_that_trickles_its_headers_meets_the_same_deadline(monkeypatch, scheme, first):
    """The per-read timeout never trips when a byte comes every few seconds; the whole answer,
    headers included, still ends within the response deadline, in one line."""
    import time

    from huggingtweets.sources import http as http_module

    import tracemalloc

    port, stop = _serve_raw(lambda conn, done: _trickle(conn, done, first, b"T", 0.2))
    monkeypatch.setattr(http_module, "RESPONSE_DEADLINE_S", 1.5)
    tracemalloc.start()
    try:
        started = time.monotonic()
        with pytest.raises(HuggingTweetsError, match="came too slowly") as slow:
            Http("Mastodon", lambda headers: None, sleep=lambda s: None).get(f"{scheme}://127.0.0.1:{port}/api/v1/x")
        assert time.monotonic() - started < 15 and "\n" not in str(slow.value)
        assert tracemalloc.get_traced_memory()[1] < 8 << 20
    finally:
        tracemalloc.stop()
        stop()


# --- a whole download has a deadline -----------------------------------------------------------


@pytest.mark.slow
def test_a_download_ends_within_its_own_deadline_and_keeps_what_it_has(tmp_path, monkeypatch):
    """Every page answers in time, but the pages never end: the run stops at its deadline with one
    line that says what was kept, the posts stay on disk, and the next run carries on from there."""
    import time

    from fake_networks import FakeNetworks, bluesky_feed
    from huggingtweets.cache import TweetCache
    from huggingtweets.sources import FetchOptions
    from huggingtweets.sources import http as http_module
    from huggingtweets.sources.bluesky import API_ENV, BlueskySource

    cache_dir = str(tmp_path / "cache")
    with FakeNetworks(bluesky_page=5) as net:
        monkeypatch.setenv(API_ENV, net.url)
        net.bluesky_account("wren.bsky.social", bluesky_feed(300))
        real_answer = net._answer

        def slow(path, query):
            time.sleep(0.2)
            return real_answer(path, query)

        net._answer = slow
        monkeypatch.setattr(http_module, "MAX_DOWNLOAD_S", 1.5)
        started = time.monotonic()
        with pytest.raises(HuggingTweetsError, match=r"download has run for 1.5 s, the most one run may take: run "
                           r"the same command again to carry on; the \d+ posts downloaded so far are kept") as err:
            BlueskySource("wren.bsky.social", FetchOptions(cache_dir=cache_dir)).fetch()
        assert time.monotonic() - started < 10 and "\n" not in str(err.value)
        kept = TweetCache(cache_dir).for_author("bluesky", "wren.bsky.social", key="feed").tweets()
        assert 0 < len(kept) < 300 and f"the {len(kept)} posts" in str(err.value)

        net._answer = real_answer
        monkeypatch.setattr(http_module, "MAX_DOWNLOAD_S", 3600)
        before = len(net.requests)
        got = BlueskySource("wren.bsky.social", FetchOptions(cache_dir=cache_dir)).fetch()
        assert len(got.tweets) == 300
        assert net.count("getAuthorFeed") - sum("getAuthorFeed" in p for p, _ in net.requests[:before]) < 60


# --- a feed that never ends stops at the per-author caps ------------------------------------------


def _endless_bluesky(net, text):
    """Every page of wren's feed names a next one, with posts never seen before."""
    from fake_networks import Answer, bsky_post

    real_answer = net._answer

    def answer(path, query):
        if path != "/xrpc/app.bsky.feed.getAuthorFeed":
            return real_answer(path, query)
        start = int(query.get("cursor", ["0"])[-1])
        items = [{"post": bsky_post(1_000_000 - start - k, text=text(start + k))} for k in range(net.bluesky_page)]
        return Answer(200, {"feed": items, "cursor": str(start + net.bluesky_page)})

    net._answer = answer


@pytest.mark.parametrize("cap,text,stopped_at", [
    ("posts", lambda n: f"post number {n} of a feed that never ends", "stopped at 120 posts"),
    ("bytes", lambda n: f"long post {n} " + "bread " * 3000, "stopped at 1 MiB of posts"),
])
def test_a_feed_that_never_ends_stops_at_the_per_author_caps(tmp_path, monkeypatch, cap, text, stopped_at):
    """Endless paging once wrote 635 MB of cache in 90 s: it stops at the cap, says so in one line
    (a note: the download itself succeeds with what it has), the posts stay, and memory stays small."""
    import tracemalloc

    from fake_networks import FakeNetworks
    from huggingtweets.cache import TweetCache
    from huggingtweets.sources import FetchOptions, limits
    from huggingtweets.sources.bluesky import API_ENV, BlueskySource

    monkeypatch.setattr(limits, "MAX_POSTS_PER_AUTHOR", 120 if cap == "posts" else 50_000)
    monkeypatch.setattr(limits, "MAX_AUTHOR_BYTES", 1 << 20)
    cache_dir = str(tmp_path / "cache")
    with FakeNetworks(bluesky_page=25) as net:
        monkeypatch.setenv(API_ENV, net.url)
        net.bluesky_account("wren.bsky.social", [])
        _endless_bluesky(net, text)
        tracemalloc.start()
        try:
            got = BlueskySource("wren.bsky.social", FetchOptions(cache_dir=cache_dir)).fetch()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        pages = net.count("getAuthorFeed")
        (note,) = got.notes
        assert stopped_at in note and "the most kept for one author" in note and "delete" in note
        assert "\n" not in note and f"the {len(got.tweets):,} posts downloaded are used" in note
        cache = TweetCache(cache_dir).for_author("bluesky", "wren.bsky.social", key="feed")
        assert cache.size() <= 1 << 20 and len(cache.tweets()) == len(got.tweets)
        if cap == "posts":
            assert len(got.tweets) == 120 and pages == 5
        else:
            assert 40 < len(got.tweets) < 60 and pages <= 3
        assert peak < 16 << 20

        # the next run adds nothing: at the post cap it asks for nothing and says so again; at the
        # byte cap one page shows there is nothing newer
        again = BlueskySource("wren.bsky.social", FetchOptions(cache_dir=cache_dir)).fetch()
        assert len(again.tweets) == len(got.tweets)
        assert net.count("getAuthorFeed") - pages == (0 if cap == "posts" else 1)
        assert again.notes == (got.notes if cap == "posts" else [])
