"""Places posts come from, behind one small protocol (``Source``), listed in one registry.

``KINDS`` names one module per kind of source, in the order ``detect`` asks them;
each module declares a ``KIND`` (``base.SourceKind``): what it recognises (a
handle or URL, a file by its content), how to build the source, the profile URL
for the model card, and the token it needs, if any. Adding a network is one
module plus a line here; nothing else in the package names a network.

``detect(text)`` asks the file kinds when ``text`` is an existing path, else the
handle kinds, first match wins.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional

from ..errors import HuggingTweetsError
from .base import Author, AuthorTweets, FetchOptions, NoToken, Progress, Source, SourceKind, TokenSpec, Tweet
from .networks import Words, common

__all__ = [
    "Author",
    "AuthorTweets",
    "FetchOptions",
    "NoToken",
    "Progress",
    "Source",
    "SourceKind",
    "TokenSpec",
    "Tweet",
    "KINDS",
    "kinds",
    "kind_named",
    "detect",
    "detect_kind",
    "profile_url",
    "avatar_url",
    "sample_archive_path",
    "words_for",
    "Words",
]

# The registry, in the order detect() asks. Files first (recognised by content, so an X
# archive zip and a Mastodon archive zip never get confused), then handles: the most
# specific shapes first (user@server, domain handles), X's bare handles last.
KINDS = (
    "mastodon_archive",
    "bluesky_car",
    "archive",
    "files",
    "mastodon",
    "bluesky",
    "x_api",
)


@lru_cache(maxsize=None)
def kinds() -> tuple[SourceKind, ...]:
    """Every registered kind, importing each module once."""
    return tuple(importlib.import_module(f".{name}", __name__).KIND for name in KINDS)


def kind_named(name: str) -> Optional[SourceKind]:
    """The kind whose ``name`` is ``name`` (``Author.source``), or None."""
    return next((k for k in kinds() if k.name == name), None)


def words_for(sources: Iterable[str]) -> Words:
    """The words of the networks that ``sources`` (``Author.source`` names) come from: one
    network's own, or "posts"/"reposts" for several (``networks``). A source not named (a
    dataset saved before sources were recorded) counts as X's, the words its card had."""
    from .x_names import WORDS as X_WORDS

    return common((kind.words if kind else X_WORDS) for kind in map(kind_named, sources))


def sample_archive_path() -> Path:
    """The bundled sample X archive (a fictional account written for this project)."""
    return Path(__file__).resolve().parent.parent / "data" / "sample" / "sample-archive.zip"


def _looks_like_path(text: str) -> bool:
    if "://" in text:
        return False
    return any(sep in text for sep in ("/", "\\")) or Path(text).suffix.lower() in {
        ".zip", ".js", ".json", ".car", ".txt", ".csv", ".jsonl"}


def _what_works() -> str:
    handles = ", ".join(f"{k.label} like {k.example}" for k in kinds() if k.match_text and k.example)
    return f"give a {handles}, or the path to an archive, export or text file"


def detect_kind(text: str) -> tuple[SourceKind, str]:
    """The kind that takes ``text`` and the spec to build it from; a one-line error if none does."""
    text = (text or "").strip()
    if not text:
        raise HuggingTweetsError(f"Empty source: {_what_works()}.")
    path = Path(text).expanduser()
    if "://" not in text and path.exists():
        for kind in kinds():
            if kind.match_path and kind.match_path(path):
                return kind, str(path)
        files = "; ".join(f"{k.label}: {k.takes}" for k in kinds() if k.match_path)
        raise HuggingTweetsError(f"Unsupported file '{path.name}': give one of these. {files}.")
    if _looks_like_path(text):
        raise HuggingTweetsError(f"File not found: {text}. Check the path (or {_what_works()}).")
    for kind in kinds():
        spec = kind.match_text(text) if kind.match_text else None
        if spec is not None:
            return kind, spec
    raise HuggingTweetsError(f"'{text}' is not a handle or file this tool reads: {_what_works()}.")


def detect(text: str, options: Optional[FetchOptions] = None) -> Source:
    """Turn a handle, URL or path into a source; raise a one-line error when it is none of them."""
    kind, spec = detect_kind(text)
    return kind.build(spec, options or FetchOptions())


def token_for(text: str) -> Optional[TokenSpec]:
    """The token ``text``'s source would need (None when none, or when ``text`` is no source yet)."""
    try:
        return detect_kind(text)[0].token
    except HuggingTweetsError:
        return None


def avatar_url(author: Author) -> str:
    """The author's avatar URL when it is on their network's own hosts, else "": a page never
    fetches a picture from a host an archive or a profile named (a tracking pixel)."""
    from urllib.parse import urlsplit

    url = (author.avatar_url or "").strip()
    kind = kind_named(author.source)
    if not url.lower().startswith("https://") and not (url.lower().startswith("http://") and kind and kind.name == "mastodon"):
        return ""
    try:
        urlsplit(url)
    except ValueError:
        return ""
    return url if kind and kind.avatar_ok and kind.avatar_ok(author, url) else ""


def profile_url(author: Author) -> str:
    """The author's profile page on their network (for the card), or "" when unknown."""
    kind = kind_named(author.source)
    return (kind.profile_url(author) or "") if kind and kind.profile_url else ""
