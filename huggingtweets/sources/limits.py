"""How much input a reader accepts, and what text it keeps.

Every cap lives here, so one place says how large a file may be and why.
Sizes are checked while a file is read, counting the bytes that actually
arrive (a zip header's size is a first check, never the only one), so a small
zip that inflates to gigabytes ends in one line, not in an exhausted machine.
"""

from __future__ import annotations

import codecs
import heapq
import html
import json
import os
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Optional

from ..errors import HuggingTweetsError, InputTooLarge
from ..posts import Tweet

MiB = 1 << 20
# One tweets file of an X archive (tweets.js, tweets-partN.js; also note-tweet.js,
# deleted-tweets.js and Grailbird's tweets.csv), and Mastodon's outbox.json. X splits tweets
# into parts of about 100 MB, so 512 MiB leaves room for older single-file exports. These
# files are read as a stream (``JsonStream``, ``text_lines``), an item at a time, so memory
# holds a chunk and the posts kept, never the file: the cap bounds the time spent reading.
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
# The same in bytes (one author's cache file, or the UTF-8 text of an archive's posts; ``Newest``
# counts what a post holds in memory when that is more): 50,000 ordinary posts are about 15 MB
# of cache, so only posts near the 25,000-character cap reach it.
MAX_AUTHOR_BYTES = 256 * MiB
# One line of a .jsonl file: a tweet plus whatever other fields an export writes beside it.
MAX_JSONL_LINE_CHARS = 1 * MiB
# One item of a file read as a stream (``JsonStream``: an activity of Mastodon's outbox.json,
# a tweet of tweets.js; ``text_lines``: a row of tweets.csv). A post at the 25,000-character
# cap, written twice (content and contentMap, or full_text and note_tweet) as \u escapes, is
# well under 1 MiB.
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


class Reads:
    """A binary stream whose read errors are already one line (``word(error)`` raises it)."""

    def __init__(self, stream: BinaryIO, errors: tuple, word: Callable[[Exception], None]):
        self._stream, self._errors, self._word = stream, errors, word

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except self._errors as e:
            self._word(e)
            raise  # word() always raises


@contextmanager
def open_file(path: Path, cap: int, hint: str, where: str) -> Iterator[Reads]:
    """A file as a binary stream whose read errors are already one line; ``InputTooLarge``
    (saying ``hint``) when its size is over ``cap`` (the reader counts what arrives too)."""
    def cannot(e: Exception):
        raise HuggingTweetsError(f"Cannot read {path}: {getattr(e, 'strerror', e)}.") from None

    try:
        f = open(path, "rb")
    except OSError as e:
        cannot(e)
    with f:
        size = os.fstat(f.fileno()).st_size  # 0 for devices and pipes: the count still holds
        if size > cap:
            raise too_large(where, cap, hint, size=size)
        yield Reads(f, (OSError,), cannot)


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
        ended, data = not data, None  # let go of the bytes before the reader asks for more
        if text:
            yield text
        text = None
        if ended:
            return


def text_lines(chunks: Iterable[str], cap: int) -> Iterator[str]:
    """Text arriving in chunks as lines, each with its end (\\n, \\r\\n or \\r, as ``csv`` wants
    them: ``io.StringIO(text, newline="")`` splits the same), never more than one line and a
    chunk in memory; ``ItemTooLong`` once a line runs past ``cap`` characters."""
    rest, line = "", 1
    for chunk in chunks:
        text, pos = rest + chunk, 0
        while True:
            end = _LINE_END.search(text, pos)
            if end is None or (end.group() == "\r" and end.end() == len(text)):  # maybe half of \r\n
                break
            yield text[pos:end.end()]
            pos, line = end.end(), line + 1
        rest = text[pos:]
        if len(rest) > cap:
            raise ItemTooLong(line, cap)
    if rest:
        yield rest


_LINE_END = re.compile(r"\r\n|\r|\n")


class ItemTooLong(BadJson):
    """One value of a streamed JSON text (or one line of a streamed text) runs past the cap
    given for it; ``line`` and ``cap`` let a reader say so in its own words."""

    def __init__(self, line: int, cap: int):
        super().__init__(f"a value at line {line} runs past {size_words(cap)}")
        self.line, self.cap = line, cap


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
        raise ItemTooLong(self.line(), cap)

    def skip_assignment(self) -> bool:
        """Step over JavaScript in front of the JSON, as in X's ``window.YTD.tweets.part0 = [``:
        when the text starts with neither '[' nor '{', everything up to its first '=' goes
        (a chunk at a time, however far that is). False when there is no '=' at all."""
        if self.peek() in ("[", "{"):
            return True
        while True:
            at = self._buf.find("=", self._pos)
            if at >= 0:
                self._pos = at + 1
                return True
            self._pos = len(self._buf)
            if not self._more():
                return False

    def items(self, cap: int) -> Iterator[Any]:
        """The values of the list that starts here, one at a time, each at most ``cap`` characters."""
        self.take("[")
        more = self.peek() != "]"
        while more:
            yield self.value(cap)
            more = self.peek() != "]"
            if more:
                self.take(",")
        self.take("]")

    def end(self) -> None:
        """Only whitespace (or a ';') may follow the value."""
        if self.peek() == ";":
            self._pos += 1
        if self.peek() != "":
            raise BadJson(f"not valid JSON at line {self.line()}: more data after the end")


# --- what one author's posts may hold -------------------------------------------------------------


def held_bytes(text: str) -> int:
    """What keeping a string costs: its UTF-8 size, or the memory Python holds it in when that is
    more (a post of plain letters and one emoji takes 4 bytes a character)."""
    return max(sys.getsizeof(text), len(text.encode("utf-8", "surrogatepass")))


class Newest:
    """One author's posts as a file gives them, at most the newest ``MAX_POSTS_PER_AUTHOR``
    within ``MAX_AUTHOR_BYTES`` (each post's id, text and time by ``held_bytes``, plus what the
    reader keeps beside it), each id once: a heap by date drops the oldest as newer ones
    come, so memory stays within the caps however many posts the file holds.

    Each post keeps its place in the file (``tweets`` gives them in that order) and an
    ``extra`` the reader wants back. ``left_out``: the caps dropped some (how many is not
    counted: that would mean remembering every id); ``over_bytes``: the bytes did, else the count.
    """

    def __init__(self):
        self._heap: list[tuple[str, int, str]] = []  # (created_at, place, id): the oldest on top
        self._posts: dict[str, list] = {}  # id -> [post, place, bytes, extra]
        self._bytes = 0
        self.left_out = False
        self.over_bytes = False

    def __len__(self) -> int:
        return len(self._posts)

    def __contains__(self, tweet_id: str) -> bool:
        return tweet_id in self._posts

    def get(self, tweet_id: str) -> Optional[Tweet]:
        entry = self._posts.get(tweet_id)
        return entry[0] if entry else None

    def add(self, tweet: Tweet, place: int, extra: Any = None, extra_bytes: int = 0) -> None:
        """Keep ``tweet`` (the first of an id stands) unless it is the oldest past the caps."""
        if tweet.id in self._posts:
            return
        size = held_bytes(tweet.id) + held_bytes(tweet.text) + held_bytes(tweet.created_at) + extra_bytes
        self._posts[tweet.id] = [tweet, place, size, extra]
        heapq.heappush(self._heap, (tweet.created_at, place, tweet.id))
        self._bytes += size
        self._trim()

    def replace_text(self, tweet_id: str, text: str) -> None:
        """A kept post's text grows (a long post's whole text): the oldest go if it no longer fits."""
        entry = self._posts[tweet_id]
        grown = held_bytes(text) - held_bytes(entry[0].text)
        entry[0], entry[2] = replace(entry[0], text=text), entry[2] + grown
        self._bytes += grown
        self._trim()

    def remove(self, tweet_id: str) -> None:
        """Let go of a kept post (one deleted since); its heap entry is skipped when it comes up."""
        entry = self._posts.pop(tweet_id, None)
        if entry is not None:
            self._bytes -= entry[2]
            if len(self._heap) > 2 * len(self._posts) + 1024:  # many skipped entries: rebuild
                self._heap = [e for e in self._heap if e[2] in self._posts and self._posts[e[2]][1] == e[1]]
                heapq.heapify(self._heap)

    def _trim(self) -> None:
        while self._heap and (len(self._posts) > MAX_POSTS_PER_AUTHOR or self._bytes > MAX_AUTHOR_BYTES):
            over_bytes = self._bytes > MAX_AUTHOR_BYTES
            _, place, oldest = heapq.heappop(self._heap)
            entry = self._posts.get(oldest)
            if entry is None or entry[1] != place:  # removed already, or its id added again since
                continue
            self.over_bytes, self.left_out = over_bytes, True
            self._bytes -= self._posts.pop(oldest)[2]

    def entries(self) -> list[tuple[Tweet, Any]]:
        """(post, extra) of every post kept, in the order the file gives them."""
        return [(e[0], e[3]) for e in sorted(self._posts.values(), key=lambda e: e[1])]

    def tweets(self) -> list[Tweet]:
        return [tweet for tweet, _ in self.entries()]

    def note(self, label: str, used: Optional[int] = None) -> str:
        """The line that says the caps left posts out; ``used``: how many are used in the end."""
        what = f"{size_words(MAX_AUTHOR_BYTES)} of text" if self.over_bytes else f"{MAX_POSTS_PER_AUTHOR:,} posts"
        used = len(self._posts) if used is None else used
        return (f"{label} holds more than {what}, the most kept for one author: the newest {used:,} "
                "are used and the older ones left out.")


def scrub(text: str) -> str:
    """Text fit to keep and train on: control characters and unpaired surrogates dropped."""
    return _UNSAFE.sub("", text)


def has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def post_too_long(text: str) -> bool:
    """Longer than any real post (HTML entities such as &amp; count as one character)."""
    return len(text) > MAX_POST_CHARS and len(html.unescape(text)) > MAX_POST_CHARS
