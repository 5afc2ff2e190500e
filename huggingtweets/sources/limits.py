"""How much input a reader accepts, and what text it keeps.

Every cap lives here, so one place says how large a file may be and why.
Sizes are checked while a file is read, counting the bytes that actually
arrive (a zip header's size is a first check, never the only one), so a small
zip that inflates to gigabytes ends in one line, not in an exhausted machine.
"""

from __future__ import annotations

import codecs
import html
import json
import re
import time
from typing import Any, BinaryIO, Iterator, Optional

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
# One item of a JSON list read as a stream (``JsonStream``: an activity of Mastodon's
# outbox.json). A post at the 25,000-character cap, written twice (content and contentMap)
# as \u escapes, is well under 1 MiB.
MAX_STREAMED_ITEM_CHARS = 4 * MiB

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


# --- JSON read as a stream ------------------------------------------------------------------


def text_chunks(stream: BinaryIO, cap: int, where: str, hint: str) -> Iterator[str]:
    """A binary stream as UTF-8 text (a BOM dropped), a chunk at a time, failing as soon as more
    than ``cap`` bytes have arrived. Bytes that are not UTF-8 raise ``UnicodeDecodeError``
    whose ``start`` counts from the start of the stream."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    total = 0
    while True:
        data = stream.read(min(READ_CHUNK, cap + 1 - total))
        total += len(data)
        if total > cap:
            raise too_large(where, cap, hint)
        held = len(decoder.getstate()[0])  # bytes of a character cut by the last chunk
        try:
            text = decoder.decode(data, final=not data)
        except UnicodeDecodeError as e:
            at = total - len(data) - held + e.start
            raise UnicodeDecodeError("utf-8", b"", at, at + 1, e.reason) from None
        if text:
            yield text
        if not data:
            return


class ItemTooLong(BadJson):
    """One value of a streamed JSON text runs past the cap given for it."""


_DECODER = json.JSONDecoder()


class JsonStream:
    """A JSON text read a chunk at a time, a value at a time.

    The caller walks the structure (``peek``, ``take``) and asks for whole values
    (``value``), which json's own scanner parses as soon as the buffer holds them, so memory
    is a chunk plus the largest single value, never the whole text: a 500 MiB list is read
    item by item. Every failure is ``BadJson``, with the line it is on.
    """

    def __init__(self, chunks: Iterator[str]):
        self._chunks = chunks
        self._buf, self._pos, self._eof = "", 0, False
        self._lines = 0  # line breaks before the buffer's start

    def _more(self) -> bool:
        """Append the next chunk to what is left of the buffer; False at the end of the text."""
        for chunk in self._chunks:
            self._lines += self._buf.count("\n", 0, self._pos)
            self._buf, self._pos = self._buf[self._pos:] + chunk, 0
            return True
        self._eof = True
        return False

    def line(self, at: Optional[int] = None) -> int:
        return self._lines + self._buf.count("\n", 0, self._pos if at is None else at) + 1

    def bad(self, at: Optional[int] = None) -> BadJson:
        return BadJson(f"not valid JSON at line {self.line(at)}")

    def peek(self) -> str:
        """The next character that is not whitespace, "" at the end of the text."""
        while True:
            self._pos = WHITESPACE.match(self._buf, self._pos).end()
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more():
                return ""

    def take(self, char: str) -> None:
        """Step over ``char`` (after whitespace); anything else is ``BadJson``."""
        if self.peek() != char:
            raise self.bad()
        self._pos += 1

    def value(self, cap: int) -> Any:
        """The JSON value that starts here; ``ItemTooLong`` once it runs past ``cap`` characters."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as e:
                # Cut short by the chunk's end, the scanner stops at (or near) that end, or at
                # the start of an unfinished string; anywhere else the text itself is wrong.
                cut = e.pos >= len(self._buf) - 16 or e.msg.startswith("Unterminated string")
                if self._eof or not cut:
                    raise self.bad(e.pos) from None
            except RecursionError:
                raise BadJson("nested too deeply to be tweets") from None
            except ValueError:  # e.g. an integer of more than 4,300 digits
                raise BadJson("a number too long to read") from None
            else:
                if end - self._pos > cap:
                    break
                if end < len(self._buf) or self._eof:  # a number at the very end may go on
                    self._pos = end
                    return value
            if len(self._buf) - self._pos > cap:
                break
            self._more()
        raise ItemTooLong(f"a value at line {self.line()} runs past {size_words(cap)}")

    def end(self) -> None:
        """Only whitespace (or a ';') may follow the value."""
        if self.peek() == ";":
            self._pos += 1
        if self.peek() != "":
            raise BadJson(f"not valid JSON at line {self.line()}: more data after the end")


def scrub(text: str) -> str:
    """Text fit to keep and train on: control characters and unpaired surrogates dropped."""
    return _UNSAFE.sub("", text)


def has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def post_too_long(text: str) -> bool:
    """Longer than any real post (HTML entities such as &amp; count as one character)."""
    return len(text) > MAX_POST_CHARS and len(html.unescape(text)) > MAX_POST_CHARS
