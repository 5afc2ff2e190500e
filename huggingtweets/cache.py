"""The on-disk tweet cache: append pages as they arrive, read them back once.

Downloading posts from X is billed per post, so whatever a source downloads is
written to disk the moment it arrives (before anything else looks at it) and
never asked for again. The layout is plain files a person can inspect:

    <root>/                          ~/.cache/huggingtweets, $HUGGINGTWEETS_CACHE
      <source>/<handle>/             handle lowercased, e.g. x/jack/
        <key>.jsonl                  one tweet per line (Tweet.to_dict()), append-only
        <key>.json                   small state: profile, newest_id, oldest_id, ...

``key`` separates downloads that are not interchangeable for one author (the
X source keys by its exclude flags: "timeline", "timeline-no-replies", ...).
The cache is generic: what ``state`` holds is up to the source that writes it.

    cache = TweetCache(root).for_author("x", "jack", key="timeline")
    cache.append(page_of_tweets)       # written and flushed to disk now
    cache.state["newest_id"] = "123"
    cache.save_state()                 # atomic: a crash leaves the old state whole
    cache.tweets()                     # every tweet once, de-duplicated by id

Credentials never go here: sources keep tokens out of ``state`` and tweets.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Iterable, Union

from .diskio import atomic_write_text
from .posts import Tweet

__all__ = ["TweetCache", "AuthorCache", "default_cache_dir"]

CACHE_ENV = "HUGGINGTWEETS_CACHE"


def default_cache_dir() -> Path:
    """``$HUGGINGTWEETS_CACHE`` when set, else ``~/.cache/huggingtweets``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "huggingtweets"


def _safe_name(text: str) -> str:
    """A file-system-safe, lowercased folder or file name (handles are case-insensitive)."""
    name = re.sub(r"[^a-z0-9._@-]", "_", text.strip().lower()).strip(".")
    if not name:
        raise ValueError(f"Cannot use {text!r} as a cache name")
    return name


class TweetCache:
    """The cache folder; ``for_author`` opens one author's files in it."""

    def __init__(self, root: Union[str, Path, None] = None):
        self.root = Path(root).expanduser() if root else default_cache_dir()

    def for_author(self, source: str, handle: str, key: str = "tweets") -> "AuthorCache":
        folder = self.root / _safe_name(source) / _safe_name(handle.lstrip("@"))
        return AuthorCache(folder, _safe_name(key))


class AuthorCache:
    """One author's tweets (``<key>.jsonl``) and state (``<key>.json``).

    Opening reads only the small state; nothing is created on disk until the
    first ``append`` or ``save_state``.
    """

    def __init__(self, folder: Path, key: str):
        self.folder = Path(folder)
        self.key = key
        self.tweets_path = self.folder / f"{key}.jsonl"
        self.state_path = self.folder / f"{key}.json"
        self.state: dict = self._load_state()
        self._checked_tail = False

    def __repr__(self) -> str:
        return f"AuthorCache({str(self.tweets_path)!r})"

    def _load_state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            # A damaged state file only costs a re-derivation; the tweets file is the truth.
            return {}

    def append(self, tweets: Iterable[Union[Tweet, dict]]) -> int:
        """Append tweets as JSON lines, flushed and fsynced before returning; returns how many."""
        lines = [json.dumps(t.to_dict() if isinstance(t, Tweet) else t, ensure_ascii=False) + "\n" for t in tweets]
        if not lines:
            return 0
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.tweets_path, "a+b") as f:
            if not self._checked_tail:
                # A crash mid-write can leave a torn last line; start ours on a fresh
                # line so the torn fragment costs one tweet at most, never ours too.
                f.seek(0, os.SEEK_END)
                if f.tell() > 0:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":
                        f.write(b"\n")
                self._checked_tail = True
            f.write("".join(lines).encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        return len(lines)

    def tweet_dicts(self) -> list[dict]:
        """Every cached tweet as a dict, once per id, in the order first written."""
        seen: set[str] = set()
        out: list[dict] = []
        try:
            with open(self.tweets_path, encoding="utf-8") as f:
                for line in f:
                    try:
                        d = json.loads(line)
                    except ValueError:
                        continue  # a line torn by a crash mid-write
                    if not isinstance(d, dict) or "id" not in d:
                        continue
                    tid = str(d["id"])
                    if tid not in seen:
                        seen.add(tid)
                        out.append(d)
        except FileNotFoundError:
            pass
        return out

    def tweets(self) -> list[Tweet]:
        """Every cached tweet once (de-duplicated by id), in the order first written."""
        return [Tweet.from_dict({**d, "id": str(d["id"])}) for d in self.tweet_dicts()]

    def save_state(self) -> None:
        """Write ``state`` atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.state_path, json.dumps(self.state, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
