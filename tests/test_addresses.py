"""Only public servers are fetched (issue 26, SSRF): every spelling of an inside address, every
redirect hop and a name that changes its answer between the check and the request."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fake_networks import FakeNetworks, mastodon_statuses
from huggingtweets.errors import HuggingTweetsError
from huggingtweets.sources import FetchOptions
from huggingtweets.sources import addresses
from huggingtweets.sources.addresses import ALLOW_PRIVATE_ENV, NotPublic, check_url, is_public
from huggingtweets.sources.http import Http
from huggingtweets.sources.mastodon import MastodonSource
from test_bluesky import Clock


@pytest.fixture
def strangers(monkeypatch):
    """As a served app runs: no local server allowed (conftest allows them for the other tests)."""
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)


@pytest.mark.parametrize("address, public", [
    ("8.8.8.8", True), ("2001:4860:4860::8888", True), ("1.1.1.1", True),
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("::1", False), ("fe80::1%eth0", False), ("fd00::1", False), ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False),
    ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
    ("not an address", False),
])
def test_which_addresses_are_public(address, public):
    assert is_public(address) is public


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/@wren", "http://0x7f000001/@wren", "http://2130706433/@wren", "http://127.1/@wren",
    "http://0177.0.0.1/@wren", "http://[::1]:8080/@wren", "http://[::ffff:127.0.0.1]/@wren", "http://localhost/@wren",
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/@wren", "https://LOCALHOST./@wren",
    "ftp://example.org/x", "http:///nohost",
])
def test_every_spelling_of_an_inside_address_is_refused_in_the_same_words(strangers, url):
    with pytest.raises(NotPublic) as refused:
        check_url(url)
    assert "is not a public internet server" in str(refused.value) and "\n" not in str(refused.value)


def test_a_name_that_does_not_resolve_is_left_to_the_request(strangers):
    check_url("https://no-such-server.invalid/@wren")  # the request then says "could not reach", as for a typo


def test_the_operator_can_allow_local_servers(monkeypatch):
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    check_url("http://127.0.0.1:8080/@wren")


def test_a_mastodon_server_at_an_inside_address_is_one_line_and_nothing_is_fetched(strangers, tmp_path):
    clock = Clock()
    with FakeNetworks() as net:
        net.mastodon_account("wren", mastodon_statuses(5))
        source = MastodonSource(f"{net.url}/@wren", FetchOptions(cache_dir=str(tmp_path / "cache")), sleep=clock.sleep, now=clock.now)
        with pytest.raises(HuggingTweetsError, match="is not a public internet server") as refused:
            source.fetch()
        assert net.count("/api/") == 0 and clock.slept == []  # refused before any request, no retries
    assert "\n" not in str(refused.value)


class _Servers:
    """Two local servers: A (127.0.0.1) redirects every request to B (127.0.0.2), which answers JSON."""

    def __init__(self):
        self.hits = {"a": 0, "b": 0}
        self.b = ThreadingHTTPServer(("127.0.0.2", 0), self._handler("b", None))
        self.a = ThreadingHTTPServer(("127.0.0.1", 0), self._handler("a", f"http://127.0.0.2:{self.b.server_port}/secret"))
        for server in (self.a, self.b):
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()

    def _handler(self, name, redirect):
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                hits[name] += 1
                if redirect:
                    self.send_response(302)
                    self.send_header("Location", redirect)
                    self.end_headers()
                    return
                body = b'{"secret": "inside"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def close(self):
        for server in (self.a, self.b):
            server.shutdown()
            server.server_close()


@pytest.fixture
def servers():
    s = _Servers()
    yield s
    s.close()


def test_a_redirect_to_an_inside_address_is_refused_at_the_hop(strangers, servers, monkeypatch):
    """A stands in for a public server (its address counts as public here); its redirect to B, an
    inside address, is refused when the connection opens: B never sees the request."""
    monkeypatch.setattr(addresses, "is_public", lambda address: address == "127.0.0.1")
    clock = Clock()
    http = Http("Mastodon", lambda headers: None, sleep=clock.sleep, now=clock.now)
    with pytest.raises(HuggingTweetsError, match="127.0.0.2 is not a public internet server"):
        http.get(f"http://127.0.0.1:{servers.a.server_port}/api/v1/accounts/lookup")
    assert servers.hits == {"a": 1, "b": 0} and clock.slept == []


def test_a_name_that_answers_differently_for_the_request_gets_nothing(strangers, servers, monkeypatch):
    """DNS rebinding: the check saw a public address, the connection reached an inside one."""
    monkeypatch.setattr(addresses, "_addresses", lambda host, port: {"93.184.216.34"})  # what the check resolves
    clock = Clock()
    http = Http("Mastodon", lambda headers: None, sleep=clock.sleep, now=clock.now)
    with pytest.raises(HuggingTweetsError, match="is not a public internet server"):
        http.get(f"http://127.0.0.2:{servers.b.server_port}/secret")
    assert servers.hits["b"] == 0 and clock.slept == []


def test_the_operators_own_address_is_trusted(strangers, servers):
    http = Http("Bluesky", lambda headers: None, trusted=lambda: f"http://127.0.0.2:{servers.b.server_port}")
    body, _ = http.get(f"http://127.0.0.2:{servers.b.server_port}/secret")
    assert body == {"secret": "inside"}

