"""Network errors that name their cause (issue 28): what a retry cannot fix (a server name that
does not resolve, a refused connection, a certificate for another name) is one line at once,
naming the host; a DNS that is down for now is retried, as before."""

import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from huggingtweets.cli import main
from huggingtweets.errors import HuggingTweetsError
from huggingtweets.sources.http import Http


@pytest.fixture
def dns(monkeypatch):
    """getaddrinfo answering ``errno`` for the names given, the real one for the rest."""
    real = socket.getaddrinfo
    answers = {}

    def getaddrinfo(host, *args, **kwargs):
        if host in answers:
            raise socket.gaierror(answers[host], "test DNS")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize("handle, host, api", [
    ("@wren@mastodon.socail", "mastodon.socail", None),  # the Mastodon server, as the user typed it
    ("wren.bsky.social", "public.api.bksy.app", "https://public.api.bksy.app"),  # an operator's Bluesky server
])
def test_a_misspelled_server_is_one_line_at_once_naming_it(dns, capsys, tmp_path, monkeypatch, handle, host, api):
    """Through the CLI, as a user types it."""
    if api:
        monkeypatch.setenv("HUGGINGTWEETS_BLUESKY_API", api)
    dns[host] = socket.EAI_NONAME  # what a name that does not exist gets
    started = time.monotonic()
    code = main(["data", handle, "--cache-dir", str(tmp_path)])
    took = time.monotonic() - started
    err = capsys.readouterr().err.strip()
    assert code != 0 and took < 5, took
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {host} does not resolve") and "check its spelling" in lines[0], err


def test_a_dns_that_is_down_for_now_is_retried(dns):
    dns["mastodon.social"] = socket.EAI_AGAIN  # what an offline machine answers
    waits = []
    with pytest.raises(HuggingTweetsError, match=r"Could not reach Mastodon .*check your connection"):
        Http("Mastodon", lambda headers: None, sleep=waits.append).get("https://mastodon.social/api/v1/instance")
    assert len(waits) == 5


def test_a_refused_connection_is_one_line_at_once():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    waits = []
    with pytest.raises(HuggingTweetsError) as caught:
        Http("Mastodon", lambda headers: None, sleep=waits.append).get(f"http://127.0.0.1:{port}/api/v1/instance")
    assert "127.0.0.1 refused the connection" in str(caught.value) and not waits


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_a_certificate_for_another_name_is_one_line_at_once(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=not-this-host.example"], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        try:
            conn, _ = listener.accept()
            with context.wrap_socket(conn, server_side=True):
                pass
        except (OSError, ssl.SSLError):
            pass

    threading.Thread(target=serve, daemon=True).start()
    waits = []
    try:
        with pytest.raises(HuggingTweetsError) as caught:
            Http("Mastodon", lambda headers: None, sleep=waits.append).get(f"https://127.0.0.1:{port}/api/v1/instance")
    finally:
        listener.close()
    assert "127.0.0.1's certificate is not valid for it" in str(caught.value) and not waits
    assert "\n" not in str(caught.value)
