"""How much input a reader accepts, and what text it keeps.

Every cap lives here, so one place says how large a file may be and why.
Sizes are checked while a file is read, counting the bytes that actually
arrive (a zip header's size is a first check, never the only one), so a small
zip that inflates to gigabytes ends in one line, not in an exhausted machine.
"""

from __future__ import annotations

import html
import json
import re
import time
from typing import BinaryIO, Optional

from ..errors import HuggingTweetsError, InputTooLarge

MiB = 1 << 20
# One tweets file of an X archive (tweets.js, tweets-partN.js; also note-tweet.js and
# deleted-tweets.js). X splits tweets into parts of about 100 MB, so 512 MiB leaves room
# for older single-file exports while a parsed part (several times its size in Python
# objects) still fits in an ordinary laptop's memory.
MAX_TWEETS_FILE_BYTES = 512 * MiB
# account.js / profile.js / Grailbird's user_details.js: X writes them in a few kilobytes.
MAX_METADATA_BYTES = 4 * MiB
# A .txt/.csv/.jsonl file of tweets: a million tweets is about 150 MB.
MAX_TEXT_FILE_BYTES = 256 * MiB
# A Bluesky repository export (.car, Settings → Export my data): every record the account
# holds (posts, likes, follows, reposts, its profile; never images, which are blobs kept
# outside it). A big account's file with years of likes is tens to a few hundred MB, so
# 1 GiB leaves room for the largest. The whole file is decoded at once, about six times its
# size in memory (measured: a 97 MiB export peaks at 555 MiB more), so even a file at the
# cap stays within a 12 GB machine such as Colab's.
MAX_REPO_FILE_BYTES = 1024 * MiB
# One post: X's long posts go up to 25,000 characters (measured with HTML entities unescaped).
MAX_POST_CHARS = 25_000
# One author's posts, from a network (the cache a download writes, and what is read back of
# it) or an archive. X's API serves an account's latest 3,200; 50,000 is more posts than a
# model needs and more than most people ever write, so a server that pages without end (one
# wrote 635 MB of cache in 90 s) stops here, and what it sent so far is kept and used.
MAX_POSTS_PER_AUTHOR = 50_000
# The same in bytes (one author's cache file, or the UTF-8 text of an archive's posts):
# 50,000 ordinary posts are about 15 MB of cache, so only posts near the 25,000-character
# cap reach it.
MAX_AUTHOR_BYTES = 256 * MiB
# One line of a .jsonl file: a tweet plus whatever other fields an export writes beside it.
MAX_JSONL_LINE_CHARS = 1 * MiB

READ_CHUNK = 1 * MiB

# C0 controls except tab, newline and carriage return (cleaning folds those), DEL, the C1
# controls, and surrogate code points (Python only holds them unpaired: from "\ud800"
# escapes in JSON; they cannot be written as UTF-8).
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def size_words(n: int) -> str:
    """1536 -> '1.5 KiB'; for error messages."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", MiB), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}".replace(".0 ", " ")
    return f"{n:,} bytes"


def too_large(where: str, cap: int, hint: str, size: Optional[int] = None) -> InputTooLarge:
    """``size`` when known up front (a zip header, a file's length); else it was counted past ``cap``."""
    known = f" is {size_words(size)}," if size is not None else ""
    return InputTooLarge(f"{where}{known} over the {size_words(cap)} limit: {hint}")


class TooSlow(HuggingTweetsError):
    """An answer still arriving after the time allowed for it."""


def read_capped(stream: BinaryIO, cap: int, where: str, hint: str, deadline: Optional[float] = None) -> bytes:
    """Read a stream to its end, failing as soon as more than ``cap`` bytes have arrived.

    Memory stays at most ``cap`` plus one chunk whatever the stream claims about itself.
    ``deadline`` (a ``time.monotonic()`` instant): the whole read must end by then. The
    stream is read as its bytes arrive (``read1``), so a server that trickles one byte
    every few seconds, never tripping a per-read timeout, meets the deadline too.
    """
    chunks, total = [], 0
    read = getattr(stream, "read1", None) if deadline is not None else None
    read = read or stream.read
    while True:
        if deadline is not None and time.monotonic() > deadline:
            raise TooSlow(f"{where} came too slowly (still arriving after the time allowed for it): "
                                     "the server is overloaded or not a real one; try again later.")
        chunk = read(min(READ_CHUNK, cap + 1 - total))
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > cap:
            raise too_large(where, cap, hint)
        chunks.append(chunk)


class BadJson(ValueError):
    """JSON that cannot be read, with a short reason fit for a one-line message."""


def loads(text: str, start: int = 0):
    """The JSON value at ``text[start:]`` (only whitespace or a ';' may follow it).

    Every failure is ``BadJson``: syntax errors, nesting too deep for Python's parser
    (200,000 brackets raise RecursionError inside ``json``) and numbers over int's
    digit limit. Parses in place, without copying a large text.
    """
    try:
        value, end = json.JSONDecoder().raw_decode(text, WHITESPACE.match(text, start).end())
    except json.JSONDecodeError as e:
        raise BadJson(f"not valid JSON at line {e.lineno}") from None
    except RecursionError:
        raise BadJson("nested too deeply to be tweets") from None
    except ValueError:  # e.g. an integer of more than 4,300 digits
        raise BadJson("a number too long to read") from None
    if not _TAIL.match(text, end):
        raise BadJson(f"not valid JSON at line {text.count(chr(10), 0, end) + 1}: more data after the end")
    return value


WHITESPACE = re.compile(r"\s*")
_TAIL = re.compile(r"\s*;?\s*\Z")


def scrub(text: str) -> str:
    """Text fit to keep and train on: control characters and unpaired surrogates dropped."""
    return _UNSAFE.sub("", text)


def has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def post_too_long(text: str) -> bool:
    """Longer than any real post (HTML entities such as &amp; count as one character)."""
    return len(text) > MAX_POST_CHARS and len(html.unescape(text)) > MAX_POST_CHARS
