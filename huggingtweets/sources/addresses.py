"""Only public internet addresses: what a person names is never fetched from inside the network.

A served app reads whatever server a visitor types (an instance of a federated network, the
pages it links to). Without a check the server would fetch loopback, private and cloud-metadata addresses on a
stranger's behalf (SSRF) and show the answer. So every connection a source opens is checked
twice:

- before the request, the URL's host is resolved and every address it resolves to must be
  public (``ipaddress``'s ``is_global``, IPv4-mapped IPv6 unwrapped), which also catches the
  other spellings of an address (``0x7f000001``, ``2130706433``, ``127.1``: the resolver reads
  them as 127.0.0.1);
- when a connection opens (each redirect hop too), the peer it reached must be public, so a
  name that resolves to a public address for the check and a private one for the request
  (DNS rebinding) gets nothing either. Behind a proxy the peer is the proxy, which the
  operator set up: only the first check applies.

Every refusal is the same one line, whatever is (or is not) there, so the errors cannot map the
inside network. ``HUGGINGTWEETS_ALLOW_PRIVATE_HOSTS=1`` lets an operator (and the tests) reach a
local server on purpose; a source's own operator-set address (``trusted``) is not checked.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Iterable
from urllib.parse import urlsplit

import requests

from .watchdog import WatchedAdapter, mount, pools

ALLOW_PRIVATE_ENV = "HUGGINGTWEETS_ALLOW_PRIVATE_HOSTS"


class NotPublic(Exception):
    """A host that is not a public internet address. Not an ``OSError``, so neither urllib3 nor
    requests takes it for a network failure to retry or wrap: it reaches the caller as it is."""


def allowed_private() -> bool:
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes")


def refusal(host: str) -> str:
    return (f"{host[:100]} is not a public internet server: huggingtweets reads only public servers "
            f"(an operator can allow local ones with {ALLOW_PRIVATE_ENV}=1)")


def is_public(address: str) -> bool:
    """Whether an IP address (text) is on the public internet."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0") is link-local anyway
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None:
            ip = inner
    return ip.is_global and not ip.is_multicast


def _addresses(host: str, port: int) -> Iterable[str]:
    return {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}


def check_url(url: str) -> None:
    """Raise ``NotPublic`` unless every address ``url``'s host resolves to is public (a host that
    does not resolve is left to the request, which says so in its own words)."""
    if allowed_private():
        return
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    if not host or parts.scheme not in ("http", "https"):
        raise NotPublic(refusal(host or url))
    try:
        found = _addresses(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError, ValueError, OSError):
        return  # no such server: the request fails with "could not reach", as for a typo
    if not found or not all(is_public(a) for a in found):
        raise NotPublic(refusal(host))


def _check_peer(sock: socket.socket, host: str) -> None:
    if allowed_private():
        return
    try:
        peer = sock.getpeername()[0]
    except OSError:
        return
    if not is_public(peer):
        sock.close()
        raise NotPublic(refusal(host))


class _PeerChecked:
    """A urllib3 connection that refuses a peer that is not public as soon as it connects."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        if not self.proxy:  # behind the operator's proxy the peer is the proxy
            _check_peer(sock, self.host)
        return sock


class PublicOnlyAdapter(WatchedAdapter):
    """A requests adapter whose connections refuse a peer that is not a public address (and
    that a ``watchdog.watch`` can shut down, as every source's)."""

    POOLS = pools(_PeerChecked)


def public_session(session: requests.Session) -> requests.Session:
    """``session`` with every connection checked (``PublicOnlyAdapter`` on http and https)."""
    return mount(session, PublicOnlyAdapter())
