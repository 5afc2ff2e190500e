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

One author's file holds at most ``limits.MAX_AUTHOR_BYTES`` (``append`` writes whole lines
up to it) and is read back as a stream, a line at a time, never whole: a line longer than
any post makes is skipped unread, a post over ``limits.MAX_POST_CHARS`` is skipped, and
reading stops after ``limits.MAX_POSTS_PER_AUTHOR`` posts or ``MAX_AUTHOR_BYTES`` (``cut``
then says the file held more), so a cache grown by an older version or by hand cannot fill
the memory.

Credentials never go here: sources keep tokens out of ``state`` and tweets.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Union

import huggingtweets.sources.limits as limits  # the caps' one home, a layer below the cache (unlike "sources")

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
        self.cut = False  # the last read stopped at a cap: the file holds more posts than were read

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

    def size(self) -> int:
        """The tweets file's size in bytes (0 before the first append)."""
        try:
            return self.tweets_path.stat().st_size
        except FileNotFoundError:
            return 0

    def append(self, tweets: Iterable[Union[Tweet, dict]]) -> int:
        """Append tweets as JSON lines, flushed and fsynced before returning; returns how many.

        Only whole lines, and only while the file stays within ``limits.MAX_AUTHOR_BYTES``:
        from the first line that would pass it, none is written (fewer than given returns).
        """
        lines = [(json.dumps(t.to_dict() if isinstance(t, Tweet) else t, ensure_ascii=False) + "\n").encode("utf-8")
                 for t in tweets]
        if not lines:
            return 0
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.tweets_path, "a+b") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            if not self._checked_tail:
                # A crash mid-write can leave a torn last line; start ours on a fresh
                # line so the torn fragment costs one tweet at most, never ours too.
                if size > 0:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":
                        f.write(b"\n")
                        size += 1
                self._checked_tail = True
            room, fit = limits.MAX_AUTHOR_BYTES - size, 0
            for line in lines:
                if len(line) > room:
                    break
                room -= len(line)
                fit += 1
            if fit:
                f.write(b"".join(lines[:fit]))
                f.flush()
                os.fsync(f.fileno())
        return fit

    def iter_dicts(self) -> Iterator[dict]:
        """Every cached tweet as a dict, once per id, in the order first written, read as a
        stream within the caps (see the module's docstring; ``cut`` says whether one stopped it)."""
        self.cut = False
        seen: set[str] = set()
        try:
            f = open(self.tweets_path, "rb")
        except FileNotFoundError:
            return
        with f:
            for line in _lines(f, limits.MAX_JSONL_LINE_CHARS, limits.MAX_AUTHOR_BYTES):
                if line is None:  # the byte cap, with more of the file left
                    self.cut = True
                    return
                try:
                    d = json.loads(line)
                except ValueError:
                    continue  # a line torn by a crash mid-write
                if not isinstance(d, dict) or "id" not in d:
                    continue
                text = d.get("text")
                if isinstance(text, str) and limits.post_too_long(text):
                    continue
                tid = str(d["id"])
                if tid not in seen:
                    if len(seen) >= limits.MAX_POSTS_PER_AUTHOR:
                        self.cut = True
                        return
                    seen.add(tid)
                    yield d

    def tweet_dicts(self) -> list[dict]:
        """Every cached tweet as a dict, once per id, in the order first written (``iter_dicts``)."""
        return list(self.iter_dicts())

    def tweets(self) -> list[Tweet]:
        """Every cached tweet once (de-duplicated by id), in the order first written."""
        return [Tweet.from_dict({**d, "id": str(d["id"])}) for d in self.iter_dicts()]

    def save_state(self) -> None:
        """Write ``state`` atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.state_path, json.dumps(self.state, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def _lines(f: BinaryIO, longest: int, most: int) -> Iterator[Union[bytes, None]]:
    """The lines of ``f``, read a chunk at a time: a line over ``longest`` bytes is skipped without
    being held, and after ``most`` bytes reading stops with a last ``None`` if the file goes on."""
    tail, skipping, read = b"", False, 0
    while True:
        chunk = f.read(min(limits.READ_CHUNK, most - read)) if read < most else b""
        read += len(chunk)
        if not chunk:
            if tail and not skipping:
                yield tail  # a last line without its newline (the next read would find it torn)
            if read >= most and f.read(1):
                yield None
            return
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end == -1:
                if not skipping:
                    tail += chunk[start:]
                    if len(tail) > longest:
                        tail, skipping = b"", True
                break
            if not skipping:
                line = tail + chunk[start:end]
                if len(line) <= longest:
                    yield line
            tail, skipping, start = b"", False, end + 1
