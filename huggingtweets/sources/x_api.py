"""Tweets from the X API v2 through tweepy, cached on disk page by page.

Reading posts is billed per post, so this source never asks X for a tweet the
cache already holds. Each page is appended to the cache the moment it arrives,
and the cache state records how far the download got:

- nothing cached: page from the newest tweet back to the oldest X serves
  (the timeline reaches back about 3,200 tweets);
- interrupted earlier: ask only for older tweets (``until_id=oldest``);
- complete: no timeline request at all, unless ``options.refresh`` asks for
  newer ones (``since_id=newest``). An interrupted refresh leaves a "gap"
  (``since_id``..``until_id``) that the next run fills first.

Like every network's download, a run ends within ``http.MAX_DOWNLOAD_S`` (cut off, the next
run carries on) and one author's cache stops at ``limits.MAX_POSTS_PER_AUTHOR`` posts or
``limits.MAX_AUTHOR_BYTES`` (a note says so; what was downloaded is used).

Downloads are keyed by the exclude flags. A complete download with fewer
excludes (a superset) serves a request with more by filtering locally; never
the other way round, since the narrower download lacks tweets.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import time
from typing import Callable, Optional

import requests
import tweepy

from ..cache import AuthorCache, TweetCache
from ..errors import HuggingTweetsError
from . import http, limits, watchdog
from .base import Author, AuthorTweets, FetchOptions, NoToken, Progress, SourceKind, TokenSpec, Tweet, is_retweet_text
from .x_names import x_avatar_ok, x_handle, x_profile_url
from .x_names import WORDS as X_WORDS

__all__ = ["XApiSource", "NoToken", "find_bearer_token", "KIND"]

TIMELINE_LIMIT = 3200  # X serves at most this many of an account's latest tweets
PAGE_SIZE = 100  # the endpoint's maximum max_results
BACKOFF_S = (1, 2, 4, 8, 16)  # waits between tries on 5xx and network errors
COUNTDOWN_STEP_S = 5  # the rate-limit countdown updates this often
MAX_RATE_LIMIT_WAIT_S = 30 * 60  # windows are 15 min; a longer reset is a cap, not a window
MAX_RATE_LIMITS_IN_A_ROW = 5
REQUEST_TIMEOUT_S = 30  # requests has no default: a stalled socket would hang forever
TOKEN_ENV_VARS = ("X_BEARER_TOKEN", "TWITTER_BEARER_TOKEN")
USER_FIELDS = ["profile_image_url", "protected", "public_metrics", "name"]
TWEET_FIELDS = ["created_at", "in_reply_to_user_id", "referenced_tweets"]


SECRET_NAME = "X_BEARER_TOKEN"  # the Colab secret
TOKEN = TokenSpec(
    label="X bearer token",
    env=TOKEN_ENV_VARS,
    help=f"paste your X API bearer token into the 'X bearer token' box, or add a Colab secret named {SECRET_NAME} "
         "(with notebook access); or use the account's X archive instead (X bills its API per post read).",
)


def find_bearer_token(options: Optional[FetchOptions] = None) -> Optional[str]:
    """The token from the options, the environment, or Colab's secrets; None if nowhere.

    A Colab secret that exists but that this notebook may not read is an error of its own:
    ignoring it would leave the person wondering why their secret is not used.
    """
    if options is not None and options.bearer_token:
        return options.bearer_token.strip()
    for name in TOKEN_ENV_VARS:
        if os.environ.get(name, "").strip():
            return os.environ[name].strip()
    try:  # Colab's "Secrets" panel; the module only exists inside Colab
        from google.colab import userdata  # type: ignore
    except Exception:
        return None
    try:
        token = userdata.get(SECRET_NAME)
    except getattr(userdata, "NotebookAccessError", ()):
        raise HuggingTweetsError(
            f"The Colab secret {SECRET_NAME} exists but this notebook has no access to it: open the Secrets panel "
            "(the key icon on the left), switch on 'Notebook access' for it, and run the step again."
        ) from None
    except Exception:  # no such secret, or the secrets service failing: no token
        return None
    return (token.strip() or None) if isinstance(token, str) else None


class _RedactTokens(logging.Filter):
    """tweepy logs request headers at DEBUG, Authorization included: blank any token."""

    tokens: set[str] = set()  # every token a client was built with, scrubbed wherever it shows

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = re.sub(r"Bearer [^\s'\",}]+", "Bearer ***", text)
        for token in self.tokens:
            clean = clean.replace(token, "***")
        if clean != text:
            record.msg, record.args = clean, None
        return True


logging.getLogger("tweepy.client").addFilter(_RedactTokens())


class _TimeoutSession(requests.Session):
    """tweepy's session: a timeout per read, and one whole answer within ``http.RESPONSE_DEADLINE_S``
    (its headers included: ``watchdog``); one that takes longer fails as a network error."""

    def __init__(self):
        super().__init__()
        watchdog.mount(self, watchdog.WatchedAdapter())

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", REQUEST_TIMEOUT_S)
        with watchdog.watch(time.monotonic() + http.RESPONSE_DEADLINE_S):
            return super().request(*args, **kwargs)


def _variant_key(exclude_retweets: bool, exclude_replies: bool) -> str:
    return "timeline" + ("-no-retweets" if exclude_retweets else "") + ("-no-replies" if exclude_replies else "")


def _to_tweet(data: dict) -> Tweet:
    refs = {r.get("type") for r in data.get("referenced_tweets") or []}
    text = limits.scrub(data.get("text") or "")  # as every source: no control characters, no lone surrogates
    return Tweet(
        id=str(data["id"]),
        text=text,
        created_at=data.get("created_at", ""),
        is_reply=bool(data.get("in_reply_to_user_id")) or "replied_to" in refs,
        is_retweet="retweeted" in refs or is_retweet_text(text),
    )


def _scrubbed(tweet: Tweet) -> Tweet:
    text = limits.scrub(tweet.text)
    return tweet if text == tweet.text else dataclasses.replace(tweet, text=text)


def _problem(errors: list) -> str:
    """Classify an X ``errors`` list: "suspended", "protected", "not_found" or "other"."""
    text = " ".join(f"{e.get('title', '')} {e.get('detail', '')} {e.get('type', '')}" for e in errors).lower()
    if "suspend" in text:
        return "suspended"
    if "not-authorized" in text or "protected" in text or "authorization error" in text:
        return "protected"
    if "not-found" in text or "not found" in text or "could not find" in text:
        return "not_found"
    return "other"


class XApiSource:
    """An X account's timeline, through the X API v2 with a bearer token.

    ``sleep`` and ``now`` are injectable so tests run on a fake clock.
    """

    def __init__(
        self,
        handle: str,
        options: Optional[FetchOptions] = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
    ):
        self.handle = handle.lstrip("@")
        self.options = options or FetchOptions()
        self._sleep = sleep
        self._now = now
        self._token: Optional[str] = None  # looked up when the first request needs it
        self._client: Optional[tweepy.Client] = None
        # Set by fetch() for the download under way; messages and progress read them.
        self._progress: Progress = lambda done, total, message: None
        self._cache: Optional[AuthorCache] = None
        self._ids: set[int] = set()  # ids in that cache: what must never be asked for again
        self._total: Optional[int] = None
        self._ends = math.inf  # when this run must end (``now()`` seconds)
        self._notes: list[str] = []

    def __repr__(self) -> str:
        return f"XApiSource({self.handle!r})"  # never the options: they may hold the token


    # ----------------------------------------------------------------- fetch

    def fetch(self, progress: Optional[Progress] = None) -> AuthorTweets:
        if progress is not None:
            self._progress = progress
        opts = self.options
        self._ends = self._now() + http.MAX_DOWNLOAD_S
        self._notes = []
        (exclude_retweets, exclude_replies), cache = self._choose_cache(TweetCache(opts.cache_dir))
        self._cache = cache
        self._ids = {int(d["id"]) for d in cache.iter_dicts()}
        state = cache.state
        state.setdefault("reached_oldest", False)
        state.setdefault("gap", None)
        # What this download asks X to leave out: its key, which may be fewer excludes than asked for.
        state.update(exclude_retweets=exclude_retweets, exclude_replies=exclude_replies)
        self._reconcile(state)

        profile = state.get("profile") or self._cached_profile()
        if profile is None or opts.refresh:
            profile = self._look_up()
        state["profile"] = profile
        self._total = min(TIMELINE_LIMIT, profile["tweet_count"]) if profile.get("tweet_count") is not None else None
        cache.save_state()

        started_empty = not self._ids and not state["reached_oldest"]
        if state["gap"]:  # a refresh that was cut off: fill it before anything else
            self._download(since_id=state["gap"]["since_id"], until_id=state["gap"]["until_id"], gap=True)
        if not state["reached_oldest"]:
            self._download(since_id=None, until_id=state.get("oldest_id"), gap=False)
        if opts.refresh and not started_empty and state.get("newest_id"):
            state["gap"] = {"since_id": state["newest_id"], "until_id": None}
            cache.save_state()
            self._download(since_id=state["newest_id"], until_id=None, gap=True)

        # Filter locally too: a superset download holds what this request excludes.
        tweets = [t for t in cache.tweets() if not (opts.exclude_retweets and t.is_retweet)]
        tweets = [t for t in tweets if not (opts.exclude_replies and t.is_reply)]
        tweets = [_scrubbed(t) for t in tweets]  # a cache written by an older version may hold raw text
        tweets.sort(key=lambda t: int(t.id), reverse=True)
        author = Author(handle=profile["username"], name=profile.get("name", ""),
                        avatar_url=profile.get("avatar_url", ""), source="x")
        self._progress(len(self._ids), self._progress_total(), f"{len(tweets)} tweets from @{author.handle}")
        return AuthorTweets(author=author, tweets=tweets, notes=list(self._notes))

    def _choose_cache(self, root: TweetCache) -> tuple[tuple[bool, bool], AuthorCache]:
        """This request's own download, or a complete one with fewer excludes (a superset).

        Returns the chosen download's exclude flags and its cache.
        """
        want = (self.options.exclude_retweets, self.options.exclude_replies)
        flags = sorted({(rt, rep) for rt in {False, want[0]} for rep in {False, want[1]}},
                       key=lambda f: (f != want, f))  # own download first
        self._candidates = [(f, root.for_author("x", self.handle, key=_variant_key(*f))) for f in flags]
        for f, cache in self._candidates:
            if cache.state.get("reached_oldest") and not cache.state.get("gap"):
                return f, cache
        return self._candidates[0]

    def _cached_profile(self) -> Optional[dict]:
        for _, cache in self._candidates:
            if cache.state.get("profile"):
                return cache.state["profile"]
        return None

    def _reconcile(self, state: dict) -> None:
        """Trust the tweets file over the state: a crash may land between append and save."""
        if not self._ids:
            return
        state["newest_id"], state["oldest_id"] = str(max(self._ids)), str(min(self._ids))
        gap = state.get("gap")
        if gap:
            top = int(gap["until_id"]) if gap.get("until_id") else math.inf
            inside = [i for i in self._ids if int(gap["since_id"]) < i < top]
            if inside:
                gap["until_id"] = str(min(inside))

    # ------------------------------------------------------------- requests

    def _api(self) -> tweepy.Client:
        if self._client is None:
            self._token = find_bearer_token(self.options)
            if not self._token:
                raise NoToken(
                    "No X API token: set X_BEARER_TOKEN (or pass a bearer token), "
                    "or use the account's X archive instead.", TOKEN
                )
            _RedactTokens.tokens.add(self._token)
            self._client = tweepy.Client(bearer_token=self._token, wait_on_rate_limit=False)
            self._client.session = _TimeoutSession()
        return self._client

    def _look_up(self) -> dict:
        response = self._call(lambda api: api.get_user(username=self.handle, user_fields=USER_FIELDS))
        if response.data is None:
            self._raise_for(response.errors)
        user = response.data.data
        if user.get("protected"):
            self._fail(f"@{user.get('username', self.handle)}'s tweets are protected; use their X archive instead.")
        metrics = user.get("public_metrics") or {}
        return {  # profile text is the account owner's: scrubbed like tweets
            "id": str(user["id"]),
            "username": limits.scrub(str(user.get("username") or self.handle)),
            "name": limits.scrub(str(user.get("name") or ""))[:200],
            "avatar_url": limits.scrub(str(user.get("profile_image_url") or "")).replace("_normal.", "_400x400."),
            "tweet_count": metrics.get("tweet_count"),
        }

    def _download(self, since_id: Optional[str], until_id: Optional[str], gap: bool) -> None:
        """Page through one range of the timeline, saving each page before the next request."""
        state = self._cache.state
        exclude = [name for flag, name in ((state["exclude_retweets"], "retweets"),
                                           (state["exclude_replies"], "replies")) if flag]
        token, seen = None, set()
        while True:
            if len(self._ids) >= limits.MAX_POSTS_PER_AUTHOR or self._cache.cut:
                return self._full()
            response = self._call(lambda api: api.get_users_tweets(
                state["profile"]["id"], max_results=PAGE_SIZE, pagination_token=token,
                exclude=exclude or None, since_id=since_id, until_id=until_id, tweet_fields=TWEET_FIELDS,
            ))
            if response.data is None and response.errors:
                self._raise_for(response.errors)
            page = [_to_tweet(t.data) for t in response.data or []]
            page = [t for t in page if int(t.id) not in self._ids]  # X may repeat one across pages
            page = [t for t in page if len(t.text) <= limits.MAX_POST_CHARS]  # the archives' cap, here too
            room = limits.MAX_POSTS_PER_AUTHOR - len(self._ids)
            written = self._cache.append(page[:room])  # on disk before anything else looks at it
            full, page = written < len(page), page[:written]
            self._ids.update(int(t.id) for t in page)
            token = (response.meta or {}).get("next_token")
            if token in seen:  # a token seen before: the pages go round, so this is the end
                token = None
            seen.add(token)
            if self._ids:
                state["newest_id"], state["oldest_id"] = str(max(self._ids)), str(min(self._ids))
            if gap:
                if page:
                    state["gap"]["until_id"] = min((t.id for t in page), key=int)
                if not token:
                    state["gap"] = None
            elif not token:
                state["reached_oldest"] = True
            self._cache.save_state()
            self._progress(len(self._ids), self._progress_total(),
                           f"Downloaded {len(self._ids)} tweets from @{self.handle}")
            if full:  # past a per-author cap: what came so far is all there is room for
                return self._full()
            if not token:
                return

    def _full(self) -> None:
        """This author's cache is as full as it may be: nothing more is asked for, and a note says so."""
        state = self._cache.state
        state["reached_oldest"], state["gap"] = True, None
        self._cache.save_state()
        what = (f"{limits.MAX_POSTS_PER_AUTHOR:,} tweets" if len(self._ids) >= limits.MAX_POSTS_PER_AUTHOR
                else f"{limits.size_words(limits.MAX_AUTHOR_BYTES)} of tweets")
        note = (f"@{self.handle}'s download stopped at {what}, the most kept for one author: the {len(self._ids):,} "
                f"tweets downloaded are used, and no newer ones are added to the cache ({self._cache.folder}) while "
                "it is full: delete it to start again from the newest.")
        if note not in self._notes:
            self._notes.append(note)
            self._progress(len(self._ids), self._progress_total(), note)

    def _call(self, request: Callable[[tweepy.Client], object]):
        """One request, waiting out rate limits and retrying server and network errors."""
        api = self._api()
        backoff = iter(BACKOFF_S)
        limited = 0
        while True:
            if self._now() >= self._ends:
                self._out_of_time()
            try:
                return request(api)
            except tweepy.TooManyRequests as err:
                limited += 1
                if limited > MAX_RATE_LIMITS_IN_A_ROW:
                    self._fail(f"X keeps rate limiting this token: wait a while and run again; {self._kept()}")
                self._wait_for_reset(err.reset_time)
            except (tweepy.TwitterServerError, requests.RequestException) as err:  # 5xx, network, torn body
                reason = (f"{err.response.status_code} {err.response.reason}"
                          if isinstance(err, tweepy.HTTPException) else type(err).__name__)
                delay = next(backoff, None)
                if delay is None:
                    self._fail(f"Could not reach X ({reason}): check your connection and run again; {self._kept()}")
                self._progress(len(self._ids), self._progress_total(),
                               f"X did not answer ({reason}): retrying in {delay} s")
                self._sleep(delay)
            except tweepy.Unauthorized:
                self._fail("X rejected the bearer token (401 Unauthorized): check X_BEARER_TOKEN or the token "
                           "you passed, or use the account's X archive instead.")
            except tweepy.Forbidden:
                self._fail("Your X API access tier does not include this endpoint (403 Forbidden): upgrade the "
                           "plan at developer.x.com, or use the account's X archive instead.")
            except tweepy.HTTPException as err:
                status = f"{err.response.status_code} {err.response.reason}"
                detail = "; ".join(str(m) for m in err.api_messages)[:200]
                self._fail(f"X refused the request for @{self.handle} ({status}{': ' + detail if detail else ''}): "
                           f"check the handle and run again, or use their X archive; {self._kept()}")

    def _wait_for_reset(self, reset_time: Optional[int]) -> None:
        """Count down to X's ``x-rate-limit-reset`` (+1 s), sleeping in short steps."""
        wait = math.ceil(reset_time + 1 - self._now()) if reset_time else 60
        wait = max(1, wait)
        if wait > min(MAX_RATE_LIMIT_WAIT_S, http.wait_cap()):
            at = time.strftime("%H:%M", time.localtime(reset_time)) if reset_time else "in a minute"
            self._fail(f"X's rate limit for this token resets at {at} ({math.ceil(wait / 60)} min): run again then; "
                       f"{self._kept()}")
        if self._now() + wait > self._ends:  # the wait would outlast this run's time: stop now
            self._out_of_time()
        left = wait
        while left > 0:
            self._progress(len(self._ids), self._progress_total(), f"Rate limited by X: waiting {left} s")
            step = min(COUNTDOWN_STEP_S, left)
            self._sleep(step)
            left -= step

    # --------------------------------------------------------------- errors

    def _raise_for(self, errors: list) -> None:
        kind = _problem(errors or [])
        if kind == "not_found":
            self._fail(f"X user @{self.handle} not found: check the spelling.")
        if kind == "suspended":
            self._fail(f"X account @{self.handle} is suspended: its tweets cannot be downloaded.")
        if kind == "protected":
            self._fail(f"@{self.handle}'s tweets are protected; use their X archive instead.")
        detail = "; ".join(str(e.get("detail") or e.get("title") or e) for e in errors or [])[:200]
        self._fail(f"X could not return @{self.handle} ({detail or 'no data'}): run again later, "
                   "or use their X archive.")

    def _out_of_time(self):
        self._fail(f"This X download has run for {http.MAX_DOWNLOAD_S / 60:g} min, the most one run may take: run the same "
                   f"command again to carry on; {self._kept()}")

    def _kept(self) -> str:
        where = f" ({self._cache.folder})" if self._cache else ""
        return f"the {len(self._ids)} tweets downloaded so far are kept in the cache{where}."

    def _progress_total(self) -> Optional[int]:
        return None if self._total is None else max(self._total, len(self._ids))

    def _fail(self, message: str):
        if self._token:  # belt and braces: no message ever carries the token
            message = message.replace(self._token, "***")
        raise HuggingTweetsError(message) from None


KIND = SourceKind(
    name="x",
    label="X handle",
    takes="@handle, handle or an x.com profile URL",
    example="@jack",
    build=lambda spec, options: XApiSource(spec, options),
    match_text=x_handle,
    profile_url=x_profile_url,
    avatar_ok=x_avatar_ok,
    token=TOKEN,
    limits="the X API bills per post read; the latest 3,200 posts at most",
    words=X_WORDS,
)
