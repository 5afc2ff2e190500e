"""A public account's posts, newest first, paged by an opaque cursor, cached as they arrive.

Free networks' timelines share one shape: the newest posts first, each page
naming the next (older) one. ``FeedSource`` owns what they have in common, the
same rules as the paid source's:

- each page is appended to the cache (``cache.py``) the moment it arrives;
- a first download pages back to the oldest post; cut off, the next run carries
  on from the cursor it saved (``state["cursor"]``);
- a later run asks only for newer posts: it pages from the newest until a page
  holds a post the cache already has (one request when fewer than a page are
  new); cut off, it leaves a ``gap`` cursor that the next run fills first;
- the profile (name, avatar) is looked up once and kept, unless ``refresh``;
- one author's cache stops at ``limits.MAX_POSTS_PER_AUTHOR`` posts or
  ``limits.MAX_AUTHOR_BYTES``: the download ends there, says so in one line (a note
  on what it returns) and uses what it has; a run ends within ``http.MAX_DOWNLOAD_S``.

A network module subclasses it with ``NETWORK`` (its kind's name: the cache
folder and ``Author.source``), ``LABEL`` (for messages), ``_profile()``,
``_page(cursor)`` and ``_error(HttpStatus)``.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping, Optional

from ..cache import AuthorCache, TweetCache
from ..errors import HuggingTweetsError
from . import limits
from .base import Author, AuthorTweets, FetchOptions, Progress, Tweet, apply_options
from .http import Http, HttpStatus

# A runaway server (a cursor that never ends) costs at most this many pages per run.
MAX_PAGES_PER_RUN = 5_000


class FeedSource:
    NETWORK = ""  # the kind's name
    LABEL = ""  # the network's name in messages

    def __init__(self, handle: str, options: Optional[FetchOptions] = None, *,
                 sleep: Callable[[float], None] = time.sleep, now: Callable[[], float] = time.time):
        self.handle = handle
        self.options = options or FetchOptions()
        self._progress: Progress = lambda done, total, message: None
        self._cache: Optional[AuthorCache] = None
        self._ids: set[str] = set()
        self._total: Optional[int] = None
        self._notes: list[str] = []
        self.http = Http(self.LABEL, self._reset_at, say=self._say, kept=self._kept, sleep=sleep, now=now,
                         trusted=self._trusted)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.handle!r})"

    def _trusted(self) -> str:
        """The network's address as the operator set it (reached even where it is not public), or ""."""
        return ""

    # --- what a network supplies ---------------------------------------------------------
    def _variant(self) -> str:
        """The cache key: downloads made with different server-side filters are kept apart."""
        return "feed"

    def _profile(self) -> dict:
        """{"handle", "name", "avatar_url", "count"?, ...}: whatever ``_page`` needs besides."""
        raise NotImplementedError

    def _page(self, profile: dict, cursor: Optional[str]) -> tuple[list[Tweet], Optional[str]]:
        """One page of posts, newest first, and the cursor of the next (older) page or None."""
        raise NotImplementedError

    def _error(self, err: HttpStatus) -> str:
        """A 4xx answer as one line that says what to do."""
        raise NotImplementedError

    @staticmethod
    def _reset_at(headers: Mapping[str, str]) -> Optional[float]:
        """The epoch second a 429's limit resets, from the network's headers."""
        return None

    # --- fetch -----------------------------------------------------------------------------
    def fetch(self, progress: Optional[Progress] = None) -> AuthorTweets:
        if progress is not None:
            self._progress = progress
        self.http.begin()  # the whole run, every page and wait, ends within http.MAX_DOWNLOAD_S
        cache = TweetCache(self.options.cache_dir).for_author(self.NETWORK, self.handle, key=self._variant())
        self._cache = cache
        self._ids = {str(d["id"]) for d in cache.iter_dicts()}
        self._notes = []
        state = cache.state
        had_posts = bool(self._ids)

        profile = state.get("profile")
        if profile is None or self.options.refresh:
            profile = self._call(self._profile)
            state["profile"] = profile
            cache.save_state()
        count = profile.get("count")
        self._total = count if isinstance(count, int) and count >= 0 else None

        if state.get("gap") is not None:  # newer posts whose download was cut off: fill first
            self._pages(profile, state["gap"].get("cursor"), newer=True)
        if not state.get("reached_oldest"):
            self._pages(profile, state.get("cursor"), newer=False)
        if had_posts:
            state["gap"] = {"cursor": None}
            cache.save_state()
            self._pages(profile, None, newer=True)

        tweets = apply_options(cache.tweets(), self.options)
        if not tweets:
            raise HuggingTweetsError(f"No posts from {self._who(profile)} on {self.LABEL}: the account has none to read"
                                     f"{' with these exclusions' if self.options.exclude_replies or self.options.exclude_retweets else ''}"
                                     ". Try another account.")
        author = Author(handle=profile.get("handle") or self.handle, name=profile.get("name", ""),
                        avatar_url=profile.get("avatar_url", ""), source=self.NETWORK)
        self._progress(len(self._ids), self._progress_total(), f"{len(tweets)} posts from {self._who(profile)}")
        return AuthorTweets(author=author, tweets=tweets, notes=list(self._notes))

    def _pages(self, profile: dict, cursor: Optional[str], newer: bool) -> None:
        """Page from ``cursor``; a newer pass stops at the first page holding a cached post."""
        state = self._cache.state
        seen = {cursor}  # a server whose cursors come round again ends the paging, not 5,000 requests later
        for _ in range(MAX_PAGES_PER_RUN):
            if len(self._ids) >= limits.MAX_POSTS_PER_AUTHOR or self._cache.cut:
                return self._full(profile)
            page, next_cursor = self._call(lambda: self._page(profile, cursor))
            known = any(t.id in self._ids for t in page)
            fresh = [t for t in page if t.id not in self._ids]
            fresh = list({t.id: t for t in fresh}.values())  # a post repeated within a page, once
            # the archives' cap on one post holds for the APIs too: no server's post is kept past it
            fresh = [t for t in fresh if len(t.text) <= limits.MAX_POST_CHARS]
            room = limits.MAX_POSTS_PER_AUTHOR - len(self._ids)
            written = self._cache.append(fresh[:room])  # on disk before anything else looks at it
            self._ids.update(t.id for t in fresh[:written])
            if written < len(fresh):  # past a per-author cap: what came so far is all there is room for
                return self._full(profile)
            end = not next_cursor or next_cursor in seen
            seen.add(next_cursor)
            if newer:
                state["gap"] = None if (known or end) else {"cursor": next_cursor}
            else:
                state["cursor"] = next_cursor
                state["reached_oldest"] = end
            self._cache.save_state()
            self._say(f"Downloaded {len(self._ids)} posts from {self._who(profile)}")
            if (newer and known) or end:
                return
            cursor = next_cursor

    def _full(self, profile: dict) -> None:
        """One author's cache is as full as it may be: stop paging for good and say so once."""
        state = self._cache.state
        state["reached_oldest"], state["gap"] = True, None  # later runs ask for nothing more
        self._cache.save_state()
        what = (f"{limits.MAX_POSTS_PER_AUTHOR:,} posts" if len(self._ids) >= limits.MAX_POSTS_PER_AUTHOR
                else f"{limits.size_words(limits.MAX_AUTHOR_BYTES)} of posts")
        note = (f"{self._who(profile)}'s download stopped at {what}, the most kept for one author: the "
                f"{len(self._ids):,} posts downloaded are used, and no newer ones are added to the cache "
                f"({self._cache.folder}) while it is full: delete it to start again from the newest.")
        if note not in self._notes:
            self._notes.append(note)
            self._say(note)

    def _call(self, request):
        try:
            return request()
        except HttpStatus as err:
            self.http.fail(self._error(err))

    # --- messages ------------------------------------------------------------------------------
    def _who(self, profile: Optional[dict] = None) -> str:
        return "@" + ((profile or {}).get("handle") or self.handle)

    def _say(self, message: str) -> None:
        self._progress(len(self._ids), self._progress_total(), message)

    def _progress_total(self) -> Optional[int]:
        return None if self._total is None else max(self._total, len(self._ids))

    def _kept(self) -> str:
        if not self._ids:
            return ""
        return f"the {len(self._ids)} posts downloaded so far are kept in the cache ({self._cache.folder})."
