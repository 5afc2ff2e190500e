"""One post as every source returns it and the cache keeps it: below both, so neither imports
the other for it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


def is_retweet_text(text: str) -> bool:
    """X marks a retweet only by its text, ``RT @user: ...``: the one place that says so."""
    return text.lstrip().startswith("RT @")


@dataclass(frozen=True)
class Tweet:
    id: str
    # Raw text in one convention for every source: as X serves it, with &, < and > as HTML
    # entities; a source whose text is plain escapes those (``escape_plain``) so that
    # cleaning unescapes once, whatever the network.
    text: str
    created_at: str = ""  # ISO 8601 when known, "" otherwise
    is_reply: bool = False
    is_retweet: bool = False  # known from the source (a repost flag); is_retweet_text() catches the rest

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Tweet":
        return cls(**{k: d[k] for k in ("id", "text", "created_at", "is_reply", "is_retweet") if k in d})
