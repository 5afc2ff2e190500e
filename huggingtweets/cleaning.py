"""Raw tweets to training text, and the per-author counts the model card shows.

The rules are the original huggingtweets ones:
- HTML entities are unescaped (every source keeps ``&amp;`` ``&lt;`` ``&gt;`` as X serves them);
- a retweet (text starting ``RT @``, or flagged by its source) is counted and dropped;
- links are removed; runs of spaces are folded (newlines kept only if asked);
- a "short" tweet has fewer than 3 words that are not links, @mentions or
  #hashtags; it is counted and dropped.
Every downloaded tweet lands in exactly one of retweets / short / kept, so
``downloaded == retweets + short + kept`` always holds.
"""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass, field

from .errors import NotEnoughTweets
from .names import visible
from .sources.base import Author, AuthorTweets, is_retweet_text

# Below this many characters of kept text there is nothing to learn a voice from;
# below the warning level the model will mostly repeat itself (original thresholds).
MIN_CHARACTERS = 6_000
WARN_CHARACTERS = 40_000
MIN_WORDS = 3

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_NEWLINES = re.compile(r" *\n[ \n]*")


is_retweet = is_retweet_text  # the rule lives with the sources, which apply it too


def clean_text(text: str, keep_newlines: bool = False) -> str:
    """Unescape entities, drop invisible reordering characters (``names.visible``) and links, fold whitespace."""
    text = visible(html.unescape(text))
    text = _URL.sub(" ", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if keep_newlines:
        text = _SPACES.sub(" ", text)
        text = _NEWLINES.sub("\n", text)
    else:
        text = " ".join(text.split())
    return text.strip()


def content_words(text: str) -> int:
    """Words that carry the author's voice: not links, @mentions or #hashtags."""
    return sum(1 for w in text.split() if not (w.startswith(("@", "#")) or "http" in w.lower()))


def is_short(cleaned: str) -> bool:
    return content_words(cleaned) < MIN_WORDS


@dataclass
class AuthorStats:
    """One column of the model card's data table."""

    handle: str
    name: str
    downloaded: int = 0
    retweets: int = 0
    short: int = 0
    kept: int = 0
    characters: int = 0  # characters of kept text, for the "enough data" check

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CleanedAuthor:
    author: Author
    tweets: list[str] = field(default_factory=list)  # kept, cleaned, in source order
    stats: AuthorStats = None  # type: ignore[assignment]


def clean_author(raw: AuthorTweets, keep_newlines: bool = False) -> CleanedAuthor:
    """Sort every tweet into retweet / short / kept and return the kept texts with the counts."""
    stats = AuthorStats(handle=raw.author.handle, name=raw.author.name)
    kept: list[str] = []
    for tweet in raw.tweets:
        stats.downloaded += 1
        if tweet.is_retweet or is_retweet(tweet.text):
            stats.retweets += 1
            continue
        text = clean_text(tweet.text, keep_newlines)
        if is_short(text):
            stats.short += 1
            continue
        kept.append(text)
        stats.characters += len(text)
    stats.kept = len(kept)
    return CleanedAuthor(author=raw.author, tweets=kept, stats=stats)


def check_enough(stats: list[AuthorStats]) -> list[str]:
    """Raise when an author has too little text to train on; return warnings for thin data."""
    warnings = []
    for s in stats:
        chars = s.characters
        if chars < MIN_CHARACTERS:
            raise NotEnoughTweets(
                f"Not enough tweets to train for @{s.handle}: {s.kept} tweets kept "
                f"({chars} characters, at least {MIN_CHARACTERS} needed). "
                "Use an account with more original posts, or add its archive."
            )
        if chars < WARN_CHARACTERS:
            warnings.append(
                f"Only {chars} characters of tweets kept for @{s.handle} "
                f"(under {WARN_CHARACTERS}): the model may repeat them rather than sound like them."
            )
    return warnings


TABLE_ROWS = (("Tweets downloaded", "downloaded"), ("Retweets", "retweets"), ("Short tweets", "short"), ("Tweets kept", "kept"))


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def markdown_text(text) -> str:
    """User text (a display name, a handle) for Markdown prose, a heading or a table cell: folded
    to one line (a newline would end the row), HTML-escaped (the card is rendered as HTML) and
    Markdown punctuation backslashed, so ``[a](b)`` or ``![a](b)`` in a name stays text, never a
    link or an image, and ``|`` never splits a cell."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(" ".join(visible(str(text)).split()), quote=True))


def stats_table(stats: list[AuthorStats]) -> str:
    """The model card's "Training data" table in Markdown: one column per author.

    With one author the column is headed "Quantity", as in the published cards;
    names are user-controlled: each goes through ``markdown_text``.
    """
    if len(stats) == 1:
        header = ["Data", "Quantity"]
    else:
        header = ["Data"] + [markdown_text(s.name) for s in stats]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    for label, attr in TABLE_ROWS:
        lines.append("| " + " | ".join([label] + [str(getattr(s, attr)) for s in stats]) + " |")
    return "\n".join(lines)
