"""How authors and links are named wherever they are shown: one rule each.

- ``published_name``: the model's name on the Hub and in the card, the handles
  lower-cased, sorted and joined by "-" (``ladygaga-snoopdogg``), as the original
  huggingtweets published them (folder names add ``folder.slug`` on top);
- ``initials``: one or two capital letters standing in for a missing avatar;
- ``safe_url``: an http(s) link that cannot break out of an attribute, a CSS
  string or a Markdown link, or "";
- ``visible``: text without the invisible characters that reorder or hide what
  follows (bidi overrides and isolates, zero-width spaces), for training text
  and wherever text is shown.
"""

from __future__ import annotations

import re
from typing import Iterable
from urllib.parse import quote, urlsplit

# Bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069) reorder what follows on
# screen; zero-width space, word joiner and zero-width no-break space (U+200B, U+2060, U+FEFF)
# hide a break or glue words invisibly. The zero-width (non-)joiners U+200C/U+200D stay: emoji
# sequences and Persian or Indic words need them, and the marks U+200E/U+200F only nudge
# neutral characters in right-to-left text.
INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff]")


def visible(text: str) -> str:
    """``text`` without the characters ``INVISIBLE`` names."""
    return INVISIBLE.sub("", text)


def published_name(handles: Iterable[str]) -> str:
    return "-".join(sorted(h.strip().lstrip("@").lower() for h in handles))


def initials(name: str, handle: str = "") -> str:
    """Capitalised words first ("Wren & the Lamp" -> "WL"), else any words, else the handle."""
    words = [w for w in str(name).replace("_", " ").split() if w[:1].isalnum()]
    words = [w for w in words if w[0].isupper()] or words
    letters = "".join(w[0] for w in words[:2]) or next((c for c in handle if c.isalnum()), "") or "?"
    return letters.upper()


def safe_url(url) -> str:
    """``url`` if it is http(s) with a host, percent-encoded so it cannot close a CSS string,
    a Markdown link or an HTML attribute; "" otherwise."""
    url = str(url or "").strip()
    if not url.lower().startswith(("https://", "http://")) or any(ord(c) < 32 or ord(c) == 127 for c in url):
        return ""
    try:
        if not urlsplit(url).netloc:
            return ""
    except ValueError:
        return ""
    # quotes, parentheses, backslashes, spaces and angle brackets are not in ``safe``: they get %-encoded.
    return quote(url, safe=":/?#[]@!$&*+,;=%~-._")
