"""A Bluesky post record's text as training text, for the API and the export alike.

A post's ``text`` is plain (no HTML), at most 300 graphemes. Links are "facets":
``{"index": {"byteStart", "byteEnd"}, "features": [{"$type": "...#link", "uri"}]}``,
ranges in UTF-8 bytes of ``text``. The visible text of a link is often shortened
by the app (``github.com/bluesky-soci...``), which no URL pattern recognises, so
links are cut out by their facet ranges here; mentions and tags stay as text.
"""

from __future__ import annotations

from . import limits
from .base import escape_plain

LINK = "app.bsky.richtext.facet#link"


def _link_ranges(record: dict, size: int) -> list[tuple[int, int]]:
    ranges = []
    for facet in record.get("facets") or []:
        if not isinstance(facet, dict):
            continue
        features = facet.get("features") or []
        if not any(isinstance(f, dict) and f.get("$type") == LINK for f in features):
            continue
        index = facet.get("index") or {}
        start, end = index.get("byteStart"), index.get("byteEnd")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end:
            ranges.append((start, min(end, size)))
    return sorted(ranges)


def post_text(record: dict) -> str:
    """``record.text`` without its links, scrubbed and HTML-escaped as ``Tweet.text`` keeps text."""
    text = record.get("text")
    if not isinstance(text, str):
        return ""
    data = text.encode("utf-8", "surrogatepass")
    kept, at = [], 0
    for start, end in _link_ranges(record, len(data)):
        if start >= at:
            kept.append(data[at:start])
            kept.append(b" ")
        at = max(at, end)
    kept.append(data[at:])
    # A range that splits a character (a broken client) loses that character, not the post.
    plain = b"".join(kept).decode("utf-8", "ignore")
    return escape_plain(limits.scrub(plain))
