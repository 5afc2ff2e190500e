"""A wall-clock bound on a whole request, the wait for its headers included.

requests' ``timeout`` bounds each socket read, not a request: a server that sends one
byte of its status line every 20 s never trips a 30 s read timeout, and http.client
reads up to 64 KiB per header line and 100 header lines, so one answer could hold a
download for weeks (a TLS handshake trickled the same way, likewise). The body is
read against a deadline (``limits.read_capped``), but nothing of ours runs while
http.client waits for the headers. So a request runs under ``watch(deadline)``: each
connection it opens or reuses registers with the watch, and a timer shuts their
sockets down when the deadline passes. ``shutdown`` (unlike ``close``) wakes a read
blocked in another thread; the request then fails at once (requests raises
``ConnectionError``) and ``Watch.fired`` says it was the deadline.

``WatchedAdapter`` (requests) gives a session such connections; ``addresses`` adds
its peer check on top of them.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_local = threading.local()  # the watch of the request this thread is making, if any


class Watch:
    """The connections of one request, shut down together if its deadline passes."""

    def __init__(self) -> None:
        self.fired = False
        self._open = True  # False once the request is over: a late timer touches nothing
        self._lock = threading.Lock()
        self._connections: list = []

    def add(self, connection) -> None:
        with self._lock:
            if not self._open:
                return
            if not any(c is connection for c in self._connections):
                self._connections.append(connection)
            if self.fired:
                _shut(connection)

    def fire(self) -> None:
        with self._lock:  # held while shutting, so the request cannot end (and reuse a socket) meanwhile
            if not self._open:
                return
            self.fired = True
            for connection in self._connections:
                _shut(connection)

    def close(self) -> None:
        with self._lock:
            self._open = False
            self._connections.clear()


@contextmanager
def watch(deadline: float) -> Iterator[Watch]:
    """Shut the sockets of the requests made inside this block if ``deadline`` (a
    ``time.monotonic()`` instant) passes before the block ends."""
    w = Watch()
    timer = threading.Timer(max(0.0, deadline - time.monotonic()), w.fire)
    timer.daemon = True
    outer = getattr(_local, "watch", None)
    _local.watch = w
    timer.start()
    try:
        yield w
    finally:
        _local.watch = outer
        timer.cancel()
        w.close()


def _register(connection) -> None:
    w = getattr(_local, "watch", None)
    if w is not None:
        w.add(connection)


def _shut(connection) -> None:
    """Shut the connection's socket down for reading and writing; never raises."""
    sock = getattr(connection, "sock", None)
    try:
        if sock is not None and sock.fileno() != -1:
            # socket's own shutdown, also on a TLS socket (ssl's would drop its state under a reader)
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
            return
        # During a TLS handshake the plain socket has been handed to the TLS socket being made,
        # which holds the same descriptor: reach it by number, only if it is still that peer.
        fd, peer = getattr(connection, "_watched_fd", (-1, None))
        if fd == -1:
            return
        same = socket.socket(fileno=fd)
        try:
            if same.getpeername() == peer:
                same.shutdown(socket.SHUT_RDWR)
        finally:
            same.detach()  # the descriptor stays the connection's
    except OSError:
        pass


class Watched:
    """A urllib3 connection that registers with the current request's watch."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        try:
            self._watched_fd = (sock.fileno(), sock.getpeername())
        except OSError:
            pass
        _register(self)  # from the first byte of the TLS handshake on
        return sock

    def getresponse(self, *args, **kwargs):
        _register(self)  # a connection reused from the pool opens no new socket
        return super().getresponse(*args, **kwargs)


def pools(*mixins: type) -> dict:
    """http and https connection pools whose connections take ``mixins`` (then ``Watched``): what
    an adapter's ``POOLS`` holds."""
    made = {}
    for scheme, connection, pool in (("http", HTTPConnection, HTTPConnectionPool), ("https", HTTPSConnection, HTTPSConnectionPool)):
        cls = type(f"Watched{connection.__name__}", (*mixins, Watched, connection), {})
        made[scheme] = type(f"Watched{pool.__name__}", (pool,), {"ConnectionCls": cls})
    return made


class WatchedAdapter(HTTPAdapter):
    """A requests adapter whose connections a ``watch`` can shut down."""

    POOLS = pools()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self.POOLS)


def mount(session, adapter: HTTPAdapter):
    """``session`` with ``adapter`` on http and https."""
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
