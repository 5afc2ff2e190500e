"""GET JSON from a public API the way every network source needs it.

- 5xx answers, network errors and torn or non-JSON bodies are retried after
  ``BACKOFF_S`` waits, then end in one line; what a retry cannot fix ends at once, in a
  line that names the host and the cause (``lasting``): a name that does not resolve (a
  typo), a refused connection, a certificate that does not match;
- 429 (rate limited) waits until the network's reset time, counting down
  through the progress callback, at most ``MAX_RATE_LIMIT_WAIT_S`` at a time and
  ``MAX_RATE_LIMIT_TOTAL_S`` in all; each network says how it writes the reset
  (``reset_at``);
- any other 4xx is ``HttpStatus`` for the source to word (an unknown account,
  a server that wants a login, a deleted account);
- a body is read up to ``MAX_RESPONSE_BYTES``, counted as it arrives; a whole answer,
  from the request to the last byte of the body (the TLS handshake, status line and
  headers included: ``watchdog``), takes at most ``RESPONSE_DEADLINE_S`` however slowly
  its bytes come;
- a download (``begin``) ends within ``MAX_DOWNLOAD_S``, waits and retries included:
  past it, one line says what was kept, and the next run carries on;
- only public servers are reached, redirects included (``addresses``), except the
  network's own operator-set address (``trusted``): a refusal is one line at once.

``sleep`` and ``now`` are injectable so tests run on a fake clock.
"""

from __future__ import annotations

import math
import os
import socket
import ssl
import time
from typing import Callable, Mapping, Optional
from urllib.parse import urlsplit

import requests
import urllib3

from ..errors import HuggingTweetsError
from . import limits
from . import watchdog
from .addresses import NotPublic, check_url, public_session

BACKOFF_S = (1, 2, 4, 8, 16)  # waits between tries on 5xx and network errors
COUNTDOWN_STEP_S = 5  # the rate-limit countdown updates this often
MAX_RATE_LIMIT_WAIT_S = 30 * 60  # networks' windows are 5 to 15 min; a longer reset is a cap, not a window
MAX_RATE_LIMITS_IN_A_ROW = 5
MAX_RATE_LIMIT_TOTAL_S = 30 * 60  # all the waits of one download together: a server cannot hold a run for hours
# An operator's lower cap, in seconds, on rate-limit waits (one and all of a download); a served
# app's visitor mode sets 120 unless the operator did: a stranger's page does not wait half an hour.
WAIT_ENV = "HUGGINGTWEETS_MAX_WAIT_S"
REQUEST_TIMEOUT_S = 30  # requests has no default: a stalled socket would hang forever
RESPONSE_DEADLINE_S = 120  # a whole answer, headers and body, however slowly its bytes come (a page is under 1 MB)
# One run of one author's download, every page, retry and rate-limit wait together. A full
# download is minutes: 50,000 posts (the per-author cap) are 500 to 1,250 pages of 100 to 40,
# about 25 min at 300 requests per 5 min; past an hour the next run carries on.
MAX_DOWNLOAD_S = 60 * 60
# One page of 100 posts with their embeds is well under 1 MB; anything past this is not a feed page.
MAX_RESPONSE_BYTES = 32 * limits.MiB
USER_AGENT = "huggingtweets (reads public posts to train a model that writes like them)"


def wait_cap() -> float:
    """The most all rate-limit waits of one download may take: ``MAX_RATE_LIMIT_TOTAL_S``, or
    the operator's lower ``HUGGINGTWEETS_MAX_WAIT_S``."""
    try:
        said = float(os.environ.get(WAIT_ENV, "").strip() or MAX_RATE_LIMIT_TOTAL_S)
    except ValueError:
        said = MAX_RATE_LIMIT_TOTAL_S
    return max(0.0, min(said, MAX_RATE_LIMIT_TOTAL_S)) if math.isfinite(said) else MAX_RATE_LIMIT_TOTAL_S


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _causes(err: BaseException):
    """``err`` and what it wraps: requests wraps urllib3, which wraps the socket's error."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        inner = getattr(err, "reason", None)  # urllib3's MaxRetryError
        err = inner if isinstance(inner, BaseException) else (err.__cause__ or err.__context__)


# getaddrinfo's answers for a name that does not exist (a typo), not a DNS that is down (EAI_AGAIN)
_NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def lasting(err: BaseException, url: str) -> Optional[str]:
    """The line for a failure no retry fixes, naming the host; None for one worth retrying."""
    host = (urlsplit(url).hostname or url)[:100]
    for cause in _causes(err):
        if isinstance(cause, socket.gaierror) and cause.errno in _NO_SUCH_NAME:
            return f"{host} does not resolve to any server: check its spelling, or this machine's DNS"
        if isinstance(cause, ConnectionRefusedError):
            return f"{host} refused the connection: no web server answers there; check the address"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (f"{host}'s certificate is not valid for it ({cause.verify_message or 'not trusted'}): "
                    "check the address, or the proxy in the way")
    return None


class HttpStatus(Exception):
    """A 4xx answer other than 429; ``body`` is the decoded JSON error when there was one."""

    def __init__(self, status: int, body: Optional[dict], reason: str = ""):
        super().__init__(f"{status} {reason}".strip())
        self.status = status
        self.body = body if isinstance(body, dict) else {}
        self.reason = reason


Say = Callable[[str], None]


class Http:
    """One network's requests: ``get(url, params)`` returns the decoded JSON and the response."""

    def __init__(
        self,
        network: str,
        reset_at: Callable[[Mapping[str, str]], Optional[float]],
        *,
        say: Say = lambda message: None,
        kept: Callable[[], str] = lambda: "",
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
        trusted: Callable[[], str] = lambda: "",
    ):
        self.network = network  # the network's name, for messages
        self.reset_at = reset_at  # headers -> the epoch second the limit resets, or None
        self.say = say  # a progress line ("Rate limited by NETWORK: waiting 40 s")
        self.kept = kept  # what was saved so far, for the last words of an error
        self._sleep = sleep
        self._now = now
        self._waited = 0.0  # seconds spent waiting out rate limits in this download
        self._ends: Optional[float] = None  # when this download must end (``now()`` seconds), once begun
        self.trusted = trusted  # the operator's own address for this network ("" if none): not checked
        self._session = watchdog.mount(requests.Session(), watchdog.WatchedAdapter())
        self._public = public_session(requests.Session())
        for session in (self._session, self._public):
            session.headers["User-Agent"] = USER_AGENT
            session.headers["Accept"] = "application/json"

    def _session_for(self, url: str) -> requests.Session:
        """The operator's own address is reached as configured; anything else only if public."""
        base = self.trusted()
        if base and (url == base or url.startswith(base.rstrip("/") + "/")):
            return self._session
        try:
            check_url(url)
        except NotPublic as err:
            self.fail(str(err))
        return self._public

    def begin(self) -> None:
        """Start a download's clock: from now on it ends within ``MAX_DOWNLOAD_S``."""
        self._ends = self._now() + MAX_DOWNLOAD_S
        self._waited = 0.0

    def _left(self) -> Optional[float]:
        """Seconds left to this download, or None when no download has begun."""
        return None if self._ends is None else self._ends - self._now()

    def _out_of_time(self):
        self.fail(f"This {self.network} download has run for {_duration(MAX_DOWNLOAD_S)}, the most one run may take: "
                  "run the same command again to carry on")

    def get(self, url: str, params: Optional[dict] = None):
        backoff = iter(BACKOFF_S)
        limited = 0
        while True:
            left = self._left()
            if left is not None and left <= 0:
                self._out_of_time()
            session = self._session_for(url)
            allowed = RESPONSE_DEADLINE_S if left is None else min(RESPONSE_DEADLINE_S, left)
            deadline = time.monotonic() + allowed
            with watchdog.watch(deadline) as watch:  # the headers' wait too, which no read timeout bounds
                try:
                    response = session.get(url, params=params, timeout=REQUEST_TIMEOUT_S, stream=True)
                    with response:
                        body = self._body(response, deadline)
                except NotPublic as err:  # a connection (a redirect's too) reached an inside address
                    self.fail(str(err))
                except limits.TooSlow:
                    self._too_slow(allowed)
                # urllib3's errors come from reading the body (``response.raw``): a torn one, a shut socket
                except (requests.RequestException, urllib3.exceptions.HTTPError, limits.BadJson,
                        UnicodeDecodeError) as err:
                    if watch.fired:  # the watchdog shut the socket: the deadline, not the network
                        self._too_slow(allowed)
                    cause = lasting(err, url)
                    if cause:
                        self.fail(cause)
                    self._retry(backoff, type(err).__name__)
                    continue
            status = response.status_code
            if status == 429:
                limited += 1
                if limited > MAX_RATE_LIMITS_IN_A_ROW:
                    self.fail(f"{self.network} keeps rate limiting these requests: wait a while and run again")
                self._wait_for_reset(self.reset_at(response.headers))
                continue
            if status >= 500:
                self._retry(backoff, f"{status} {response.reason}")
                continue
            if status >= 400:
                raise HttpStatus(status, body if isinstance(body, dict) else None, response.reason or "")
            if body is None:  # a 2xx with an empty or non-JSON body: a proxy's page, not the API
                self._retry(backoff, f"{status} without JSON")
                continue
            return body, response

    def _too_slow(self, allowed: float):
        if allowed < RESPONSE_DEADLINE_S:  # the download's own time ran out first
            self._out_of_time()
        self.fail(f"{self.network}'s answer came too slowly (still arriving after {_duration(RESPONSE_DEADLINE_S)}): "
                  "the server is overloaded or not a real one; try again later")

    def _body(self, response: requests.Response, deadline: float):
        data = limits.read_capped(response.raw, MAX_RESPONSE_BYTES, f"{self.network}'s answer",
                                  "this is not a page of posts: check the server address.", deadline=deadline)
        if not data.strip():
            return None
        if response.status_code < 300 or "json" in response.headers.get("Content-Type", ""):
            try:
                return limits.loads(data.decode("utf-8"))
            except (limits.BadJson, UnicodeDecodeError):
                if response.status_code < 300:
                    raise
        return None

    def _retry(self, backoff, reason: str) -> None:
        delay = next(backoff, None)
        if delay is None:
            self.fail(f"Could not reach {self.network} ({reason}): check your connection and run again")
        self.say(f"{self.network} did not answer ({reason}): retrying in {delay} s")
        self._sleep(delay)

    def _wait_for_reset(self, reset: Optional[float]) -> None:
        """Count down to the reset time (+1 s), sleeping in short steps."""
        wait = max(1, math.ceil(reset + 1 - self._now())) if reset else 60
        cap = wait_cap()
        if wait > min(MAX_RATE_LIMIT_WAIT_S, cap):
            at = time.strftime("%H:%M", time.localtime(reset)) if reset else "in a minute"
            self.fail(f"{self.network}'s rate limit resets at {at} ({_duration(wait)} from now): run again then")
        if self._waited + wait > cap:
            self.fail(f"{self.network} has rate limited this download for {math.ceil(self._waited / 60)} min already: "
                      "run the same command again later to continue")
        left = self._left()
        if left is not None and wait > left:  # the wait would outlast the download's time: stop now
            self._out_of_time()
        self._waited += wait
        left = wait
        while left > 0:
            self.say(f"Rate limited by {self.network}: waiting {left} s")
            step = min(COUNTDOWN_STEP_S, left)
            self._sleep(step)
            left -= step

    def fail(self, message: str):
        kept = self.kept()
        raise HuggingTweetsError(f"{message}; {kept}" if kept else f"{message}.") from None
