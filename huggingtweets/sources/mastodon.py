"""A Mastodon account's public posts, read from its own server: no login, no token.

Takes ``@user@server``, ``user@server`` or a profile URL ``https://server/@user``
(an ``http://`` URL is used as given; a server at a local or private address only
with ``HUGGINGTWEETS_ALLOW_PRIVATE_HOSTS=1``, as in tests: ``addresses.py``). Looks the account up (``/api/v1/accounts/lookup``), then pages
``/api/v1/accounts/:id/statuses`` (40 a page) by the ``Link: rel="next"``
header, with ``exclude_replies`` / ``exclude_reblogs`` as asked.

Boosts count as retweets; a content warning is not part of the post; only
public and unlisted posts are kept (an anonymous reader gets no others, and any
other that came would be dropped before the cache). HTML becomes text in
``mastodon_text``. Paging, caching and resuming are ``feed.py``'s.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Mapping, Optional
from urllib.parse import urlsplit

from . import limits
from .base import Author, SourceKind, Tweet
from .feed import FeedSource
from .http import HttpStatus
from .networks import Words
from .mastodon_text import status_text

PAGE_SIZE = 40  # the statuses endpoint's maximum limit
READABLE = ("public", "unlisted")  # followers-only ("private") and direct posts are never read

_USER = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}"
_SERVER = r"(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63}"
_ACCT = re.compile(rf"^@?({_USER})@({_SERVER})$")
# https://server/@user, or a remote account seen on another server: https://server/@user@home
_URL = re.compile(rf"^(https?)://([A-Za-z0-9.-]+(?::\d{{1,5}})?)/@({_USER})(?:@({_SERVER}))?/?(?:[?#].*)?$")


def account_of(text: str) -> Optional[str]:
    """What a person typed -> ``https://server/@user`` (the account's own server), or None."""
    text = text.strip()
    match = _ACCT.match(text)
    if match:
        return f"https://{match.group(2).lower()}/@{match.group(1)}"
    match = _URL.match(text)
    if match:
        scheme, server, user, home = match.groups()
        if home:  # viewed on another server: ask the account's own
            return f"https://{home.lower()}/@{user}"
        return f"{scheme.lower()}://{server.lower()}/@{user}"
    return None


def profile_url(author: Author) -> str:
    """``user@server`` -> ``https://server/@user`` (``http://`` for a server on this machine); "" otherwise."""
    user, _, server = author.handle.lstrip("@").rpartition("@")
    if not re.fullmatch(_USER, user) or not re.fullmatch(r"[A-Za-z0-9.-]+\.[A-Za-z0-9-]+(?::\d{1,5})?", server):
        return ""
    scheme = "http" if re.match(r"^(localhost|127\.)", server) else "https"
    return f"{scheme}://{server.lower()}/@{user}"


def avatar_ok(author: Author, url: str) -> bool:
    """The account's own server, or a media host of the same site (files.mastodon.social for
    mastodon.social), judged by the public suffix list: mastodon.co.uk's avatar is never
    taken from another site under co.uk, nor a.github.io's from b.github.io."""
    from urllib.parse import urlsplit

    server = author.handle.rpartition("@")[2].lower()
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if (parts.netloc or "").lower() == server:
        return True
    site = _site(server.split(":")[0])
    return parts.scheme == "https" and site is not None and _site(host) == site


def _site(host: str):
    """``host``'s registrable domain (the public suffix and one label more), None for an address or a bare suffix."""
    if not host or host.replace(".", "").isdigit() or ":" in host:
        return None
    return _suffixes().privatesuffix(host)


@functools.lru_cache(maxsize=1)
def _suffixes():
    from publicsuffixlist import PublicSuffixList  # the list ships in the wheel: nothing is fetched

    return PublicSuffixList()


class MastodonSource(FeedSource):
    NETWORK = "mastodon"
    LABEL = "Mastodon"

    def __init__(self, url: str, options=None, **kwargs):
        parts = urlsplit(url)
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.user = parts.path.strip("/").lstrip("@")
        super().__init__(f"{self.user}@{parts.netloc}", options, **kwargs)

    def _variant(self) -> str:
        return ("statuses" + ("-no-reblogs" if self.options.exclude_retweets else "")
                + ("-no-replies" if self.options.exclude_replies else ""))

    def _profile(self) -> dict:
        body, _ = self.http.get(f"{self.base}/api/v1/accounts/lookup", {"acct": self.user})
        if not isinstance(body, dict) or not body.get("id"):
            self.http.fail(f"{urlsplit(self.base).netloc} sent no account for @{self.handle}: is it a Mastodon server?")
        return {
            "id": str(body["id"]),
            "handle": self.handle,
            "name": limits.scrub(str(body.get("display_name") or ""))[:200],
            "avatar_url": limits.scrub(str(body.get("avatar") or "")),
            "count": body.get("statuses_count") if isinstance(body.get("statuses_count"), int) else None,
        }

    def _page(self, profile: dict, cursor: Optional[str]) -> tuple[list[Tweet], Optional[str]]:
        if cursor:
            body, response = self.http.get(cursor)
        else:
            params = {"limit": PAGE_SIZE}
            if self.options.exclude_replies:
                params["exclude_replies"] = "true"
            if self.options.exclude_retweets:
                params["exclude_reblogs"] = "true"
            body, response = self.http.get(f"{self.base}/api/v1/accounts/{profile['id']}/statuses", params)
        if not isinstance(body, list):
            self.http.fail(f"{urlsplit(self.base).netloc} answered with something that is not a list of posts")
        tweets = [t for t in (_to_tweet(s, profile["id"]) for s in body) if t]
        return tweets, self._next(response)

    def _next(self, response) -> Optional[str]:
        """The Link header's next page, only on this same server (never a request elsewhere)."""
        url = (response.links.get("next") or {}).get("url")
        if not url:
            return None
        parts = urlsplit(url)
        return url if f"{parts.scheme}://{parts.netloc}" == self.base else None

    def _error(self, err: HttpStatus) -> str:
        server, who = urlsplit(self.base).netloc, "@" + self.handle
        if err.status == 401:
            return (f"{server} does not let anyone read its posts without logging in (401): "
                    f"use {who}'s Mastodon archive instead")
        if err.status == 404:
            return f"Mastodon account {who} not found: check the spelling (a handle looks like @user@server)"
        if err.status == 410:
            return f"Mastodon account {who} is gone (deleted or suspended): its posts cannot be read"
        detail = str(err.body.get("error", ""))[:200]
        return (f"{server} refused the request for {who} ({err.status} {err.reason}{': ' + limits.scrub(detail) if detail else ''}): "
                "check the handle and run again")

    @staticmethod
    def _reset_at(headers: Mapping[str, str]) -> Optional[float]:
        text = headers.get("X-RateLimit-Reset", "").strip()
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None


def _to_tweet(status: dict, account_id: str) -> Optional[Tweet]:
    if not isinstance(status, dict) or status.get("id") is None:
        return None
    if status.get("visibility") not in READABLE:
        return None  # followers-only or direct: never kept, never counted
    owner = status.get("account")
    if not isinstance(owner, dict) or str(owner.get("id")) != str(account_id):
        return None  # another account's status in this account's feed (a server's error, or a hostile one): not theirs
    when = str(status.get("created_at") or "")
    if status.get("reblog"):
        return Tweet(id=str(status["id"]), text="", created_at=when, is_retweet=True)
    shortcodes = [e.get("shortcode") for e in status.get("emojis") or [] if isinstance(e, dict)]
    reply_to = status.get("in_reply_to_account_id")
    return Tweet(
        id=str(status["id"]),
        text=status_text(str(status.get("content") or ""), [s for s in shortcodes if isinstance(s, str)]),
        created_at=when,
        is_reply=status.get("in_reply_to_id") is not None and str(reply_to) != account_id,
    )


WORDS = Words("Mastodon", "post", "boost", "https://{server}/share?text={text}")  # the author's server's own share page

KIND = SourceKind(
    name="mastodon",
    label="Mastodon handle",
    takes="@user@server, user@server, or a profile URL https://server/@user",
    example="@user@mastodon.social",
    build=lambda spec, options: MastodonSource(spec, options),
    match_text=account_of,
    profile_url=profile_url,
    avatar_ok=avatar_ok,
    limits="no token; public and unlisted posts only; servers that require a login (401) need the archive",
    words=WORDS,
)
