"""What every source returns: an author and their raw tweets.

Raw means as the source gave it (X text is HTML-escaped, retweets still in);
``huggingtweets.cleaning`` turns it into training text and counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Optional, Protocol


@dataclass(frozen=True)
class Tweet:
    id: str
    text: str  # raw, as served (HTML entities still escaped for X)
    created_at: str = ""  # ISO 8601 when known, "" otherwise
    is_reply: bool = False
    is_retweet: bool = False  # known from the source (a repost flag); "RT @" text is detected in cleaning

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Tweet":
        return cls(**{k: d[k] for k in ("id", "text", "created_at", "is_reply", "is_retweet") if k in d})


@dataclass
class Author:
    handle: str  # without "@"; used in file names and the model card
    name: str = ""  # display name (user-controlled text: escape when rendering)
    avatar_url: str = ""
    source: str = ""  # "x", "archive", "file", "sample", ...

    def __post_init__(self):
        if not self.name:
            self.name = self.handle


@dataclass
class AuthorTweets:
    author: Author
    tweets: list[Tweet] = field(default_factory=list)


# progress(done, total_or_None, message): called by sources as work advances.
Progress = Callable[[int, Optional[int], str], None]


@dataclass
class FetchOptions:
    """Choices shared by every source (each ignores what does not apply)."""

    exclude_retweets: bool = False
    exclude_replies: bool = False
    cache_dir: Optional[str] = None  # default: ~/.cache/huggingtweets
    refresh: bool = False  # X API: also ask for tweets newer than the cache holds
    bearer_token: Optional[str] = None  # X API; never logged or saved
    author: Optional[str] = None  # plain files: the author's handle (default: file stem)


class Source(Protocol):
    """Where tweets come from. ``describe()`` is a short label for progress messages."""

    def describe(self) -> str: ...

    def fetch(self, progress: Optional[Progress] = None) -> AuthorTweets: ...
