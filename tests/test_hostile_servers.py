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
