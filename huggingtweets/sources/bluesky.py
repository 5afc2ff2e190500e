"""A Bluesky account's public posts, through the public AppView: no login, no key.

Takes ``name.bsky.social``, ``@name.bsky.social``, any domain handle
(``@example.com``), a ``did:plc:`` / ``did:web:`` id, or a profile URL
``https://bsky.app/profile/...``. Reads ``app.bsky.actor.getProfile`` (name,
avatar, post count) and pages ``app.bsky.feed.getAuthorFeed`` (100 a page, by
cursor; ``posts_no_replies`` when replies are excluded). The AppView is
``https://public.api.bsky.app`` unless ``HUGGINGTWEETS_BLUESKY_API`` names
another (a self-hosted AppView, or a local server in tests).

Reposts count as retweets; the pinned post is left out of the feed (it is read
once, in its place); a reply to the account's own post is a thread, not a
reply. An account labelled ``!no-unauthenticated`` asked not to be shown to
logged-out people: it is refused. Paging, caching and resuming are ``feed.py``'s.
"""

from __future__ import annotations

import os
import re
from typing import Mapping, Optional
from urllib.parse import unquote

from . import limits
from .base import Author, SourceKind, Tweet
from .bluesky_text import post_text
from .feed import FeedSource
from .http import HttpStatus
from .networks import Words

API_ENV = "HUGGINGTWEETS_BLUESKY_API"
PUBLIC_APPVIEW = "https://public.api.bsky.app"
PAGE_SIZE = 100  # getAuthorFeed's maximum limit
NO_LOGGED_OUT = "!no-unauthenticated"
REPOST = "app.bsky.feed.defs#reasonRepost"
PIN = "app.bsky.feed.defs#reasonPin"

# A domain handle: labels of letters, digits and hyphens, the last starting with a letter.
_DOMAIN = re.compile(r"^(?=.{3,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
_DID = re.compile(r"^did:(?:plc:[a-z2-7]{24}|web:[a-z0-9.%:-]{3,253})$")
_PROFILE_URL = re.compile(r"^https?://(?:www\.)?bsky\.app/profile/([^/?#\s]+)/?(?:[?#].*)?$", re.IGNORECASE)


def actor_of(text: str) -> Optional[str]:
    """What a person typed -> the actor getProfile takes (a handle or a DID), or None."""
    text = text.strip()
    match = _PROFILE_URL.match(text)
    if match:
        text = unquote(match.group(1))
    text = text.lstrip("@")
    if _DID.match(text):
        return text
    text = text.lower()
    return text if _DOMAIN.match(text) else None


def profile_url(author: Author) -> str:
    actor = author.handle.lstrip("@")
    return f"https://bsky.app/profile/{actor}" if _DID.match(actor) or _DOMAIN.match(actor.lower()) else ""


AVATAR_HOSTS = ("cdn.bsky.app", "av-cdn.bsky.app")  # Bluesky's image CDN


def avatar_ok(author: Author, url: str) -> bool:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname in AVATAR_HOSTS


def _did_of(uri: str) -> str:
    """``at://did:plc:abc/app.bsky.feed.post/3k...`` -> ``did:plc:abc``."""
    return uri[len("at://"):].split("/", 1)[0] if isinstance(uri, str) and uri.startswith("at://") else ""


def is_reply_to_other(record: dict, did: str) -> bool:
    """A reply whose parent is someone else's post (a reply to oneself is a thread)."""
    reply = record.get("reply")
    if not isinstance(reply, dict):
        return False
    parent = reply.get("parent") if isinstance(reply.get("parent"), dict) else {}
    return _did_of(parent.get("uri", "")) != did


class BlueskySource(FeedSource):
    NETWORK = "bluesky"
    LABEL = "Bluesky"

    def __init__(self, actor: str, options=None, **kwargs):
        super().__init__(actor, options, **kwargs)
        self.api = os.environ.get(API_ENV, "").strip().rstrip("/") or PUBLIC_APPVIEW

    def _trusted(self) -> str:
        return os.environ.get(API_ENV, "").strip().rstrip("/")  # the operator's own AppView

    def _variant(self) -> str:
        return "feed-no-replies" if self.options.exclude_replies else "feed"

    def _xrpc(self, method: str, **params):
        body, _ = self.http.get(f"{self.api}/xrpc/{method}", params)
        if not isinstance(body, dict):
            self.http.fail(f"{self.LABEL} answered {method} with something that is not a {self.LABEL} answer: "
                           f"check {API_ENV} ({self.api})")
        return body

    def _profile(self) -> dict:
        p = self._xrpc("app.bsky.actor.getProfile", actor=self.handle)
        labels = {lab.get("val") for lab in p.get("labels") or [] if isinstance(lab, dict)}
        handle = limits.scrub(str(p.get("handle") or self.handle))
        if NO_LOGGED_OUT in labels:
            self.http.fail(f"@{handle} asked Bluesky not to show their posts to logged-out people: "
                           "their posts are not read here. Choose another account")
        if not isinstance(p.get("did"), str):
            self.http.fail(f"{self.LABEL} sent no account for {self.handle}: check the handle")
        return {
            "did": p["did"],
            "handle": handle if handle != "handle.invalid" else p["did"],
            "name": limits.scrub(str(p.get("displayName") or ""))[:200],
            "avatar_url": limits.scrub(str(p.get("avatar") or "")),
            "count": p.get("postsCount") if isinstance(p.get("postsCount"), int) else None,
        }

    def _page(self, profile: dict, cursor: Optional[str]) -> tuple[list[Tweet], Optional[str]]:
        params = {"actor": profile["did"], "limit": PAGE_SIZE, "includePins": "false",
                  "filter": "posts_no_replies" if self.options.exclude_replies else "posts_with_replies"}
        if cursor:
            params["cursor"] = cursor
        body = self._xrpc("app.bsky.feed.getAuthorFeed", **params)
        tweets = [t for t in (_to_tweet(item, profile["did"]) for item in body.get("feed") or []) if t]
        next_cursor = body.get("cursor")
        return tweets, next_cursor if isinstance(next_cursor, str) and next_cursor else None

    def _error(self, err: HttpStatus) -> str:
        code, message = str(err.body.get("error", "")), str(err.body.get("message", ""))
        who = "@" + self.handle
        if code in ("AccountTakedown",) or "takedown" in message.lower() or "suspended" in message.lower():
            return f"Bluesky account {who} was taken down: its posts cannot be read"
        if code in ("AccountDeactivated",) or "deactivated" in message.lower():
            return f"Bluesky account {who} is deactivated: its posts cannot be read"
        if err.status in (400, 404) and ("not found" in message.lower() or code in ("NotFound", "InvalidRequest")):
            return f"Bluesky account {who} not found: check the spelling (a handle looks like name.bsky.social)"
        detail = f": {limits.scrub(message)[:200]}" if message else ""
        return f"Bluesky refused the request for {who} ({err.status} {code}{detail}): check the handle and run again"

    @staticmethod
    def _reset_at(headers: Mapping[str, str]) -> Optional[float]:
        try:
            return float(headers.get("RateLimit-Reset", ""))
        except ValueError:
            return None


def _to_tweet(item: dict, did: str) -> Optional[Tweet]:
    """A feed item -> a Tweet; None for what is not the account's own post or repost."""
    if not isinstance(item, dict) or not isinstance(item.get("post"), dict):
        return None
    post, reason = item["post"], item.get("reason") if isinstance(item.get("reason"), dict) else {}
    uri = post.get("uri")
    if not isinstance(uri, str):
        return None
    if reason.get("$type") == PIN:
        return None  # the pinned post is read once, in its own place
    if reason.get("$type") == REPOST:
        when = str(reason.get("indexedAt") or "")
        return Tweet(id=f"repost:{uri}:{when}", text="", created_at=when, is_retweet=True)
    record = post.get("record") if isinstance(post.get("record"), dict) else {}
    if _did_of(uri) != did:
        return None  # someone else's post without a repost reason: not this account's words
    return Tweet(id=uri, text=post_text(record), created_at=str(record.get("createdAt") or ""),
                 is_reply=is_reply_to_other(record, did))


WORDS = Words("Bluesky", "post", "repost", "https://bsky.app/intent/compose?text={text}")

KIND = SourceKind(
    name="bluesky",
    label="Bluesky handle",
    takes="name.bsky.social, @example.com (any domain handle), did:plc:…, or a bsky.app profile URL",
    example="name.bsky.social",
    build=lambda spec, options: BlueskySource(spec, options),
    match_text=actor_of,
    profile_url=profile_url,
    avatar_ok=avatar_ok,
    limits="no login; public posts only; accounts that hide from logged-out people are refused",
    words=WORDS,
)
