"""Places tweets come from, behind one small protocol (``Source``).

``detect(text)`` turns what a person typed (``@handle``, ``handle``, a path to
an X archive or a text/CSV/JSONL file) into a source by its shape.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from ..errors import HuggingTweetsError
from .base import Author, AuthorTweets, FetchOptions, Progress, Source, Tweet

__all__ = [
    "Author",
    "AuthorTweets",
    "FetchOptions",
    "Progress",
    "Source",
    "Tweet",
    "detect",
    "sample_archive_path",
    "X_HANDLE",
]

# X handles: 1 to 15 letters, digits or underscores.
X_HANDLE = re.compile(r"^@?([A-Za-z0-9_]{1,15})$")
FILE_SUFFIXES = {".txt", ".csv", ".jsonl"}
ARCHIVE_SUFFIXES = {".zip", ".js"}


def sample_archive_path() -> Path:
    """The bundled sample X archive (a fictional account written for this project)."""
    return Path(__file__).resolve().parent.parent / "data" / "sample" / "sample-archive.zip"


def _looks_like_path(text: str) -> bool:
    return any(sep in text for sep in ("/", "\\")) or Path(text).suffix.lower() in FILE_SUFFIXES | ARCHIVE_SUFFIXES


def detect(text: str, options: Optional[FetchOptions] = None) -> Source:
    """Turn a handle or a path into a source; raise a one-line error when it is neither."""
    options = options or FetchOptions()
    text = (text or "").strip()
    if not text:
        raise HuggingTweetsError("Empty source: give an X handle like @jack or a path to an archive or text file.")
    path = Path(text).expanduser()
    if path.exists():
        if path.is_dir() or path.suffix.lower() in ARCHIVE_SUFFIXES:
            from .archive import ArchiveSource

            return ArchiveSource(path, options)
        if path.suffix.lower() in FILE_SUFFIXES:
            from .files import TextFileSource

            return TextFileSource(path, options)
        raise HuggingTweetsError(
            f"Unsupported file type '{path.suffix or path.name}': use an X archive (.zip, tweets.js or its folder) "
            "or a .txt, .csv or .jsonl file."
        )
    if _looks_like_path(text):
        raise HuggingTweetsError(f"File not found: {text}. Check the path (or give an X handle like @jack).")
    match = X_HANDLE.match(text)
    if not match:
        raise HuggingTweetsError(
            f"Invalid X handle '{text}': handles are 1 to 15 letters, digits or underscores, like @jack."
        )
    from .x_api import XApiSource

    return XApiSource(match.group(1), options)
