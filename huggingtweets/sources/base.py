"""What every source returns: an author and their raw tweets.

Raw means as the source gave it (X text is HTML-escaped, retweets still in);
``huggingtweets.cleaning`` turns it into training text and counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Optional, Protocol

from .limits import scrub


def is_retweet_text(text: str) -> bool:
    """X marks a retweet only by its text, ``RT @user: ...``: the one place that says so."""
    return text.lstrip().startswith("RT @")


@dataclass(frozen=True)
class Tweet:
    id: str
    text: str  # raw, as served (HTML entities still escaped for X)
    created_at: str = ""  # ISO 8601 when known, "" otherwise
    is_reply: bool = False
    is_retweet: bool = False  # known from the source (a repost flag); is_retweet_text() catches the rest

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
        # Handles can come from file names (a non-UTF-8 name decodes to lone surrogates) and
        # names from profiles: scrubbed like tweet text, so every source agrees and both can
        # be saved as UTF-8, printed and put in a card.
        self.handle, self.name = (scrub(v) if isinstance(v, str) else v for v in (self.handle, self.name))
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
    """Where tweets come from: ``fetch`` reports progress and returns one author's tweets."""

    def fetch(self, progress: Optional[Progress] = None) -> AuthorTweets: ...
