"""What an X archive's files hold: posts, long-post notes, edits and deletions.

``archive.py`` finds and reads the files; this module turns their JSON into
``Tweet``s and decides which posts count, so every post is counted once:

- Long posts. tweets.js holds a post over 280 characters cut short (ending
  "… https://t.co/..."); its full text is in note-tweet.js, which names no tweet.
  A note replaces a tweet's text when
    1. the note names the tweet (a ``tweetId``), or the tweet carries its note
       itself (``note_tweet.note_tweet_results.result.text``, API-shaped exports);
    2. else they were created in the same second (UTC) and the tweet's text,
       normalised, begins the note's (the longest such tweet); else the only
       cut-short tweet of that second;
    3. else the only cut-short tweet whose normalised text, at least
       ``MIN_PREFIX`` characters, begins the note's.
  Normalised: HTML entities unescaped, links and a final ellipsis dropped,
  spaces folded. Cut short: the text ends with "…", links after it aside. A
  tweet takes at most one note; a note that matches no tweet is ignored, never
  added as a post. A second, or an opening, shared by more than ``CROWDED`` posts
  is not X's: rules 2 and 3 leave those posts out (each note would otherwise be
  compared with all of them: hours for a crafted file), rule 1 still joins them.
- Edits. Every version of an edited post is in tweets.js, tied by ``edit_info``
  (``initial.editTweetIds`` on the first, ``edit.initialTweetId`` on the others).
  Only the latest is kept: the last id of ``editTweetIds`` present in the
  archive, else the highest id of the group (groups come from the ``edit_info``
  of the posts kept).
- Deletions. A tweet whose id is in deleted-tweets.js is dropped.
- Safety. Text loses control characters and unpaired surrogates
  (``limits.scrub``); a post over ``MAX_POST_CHARS`` is skipped and counted in
  ``skipped``; a note over it is ignored (its cut-short tweet stays).
- Memory. Every file arrives an item at a time (``add_items``, ``add_csv``,
  ``delete``, ``add_notes`` take iterables and hold none of them), and the posts
  are kept in a ``limits.Newest``: the newest ``MAX_POSTS_PER_AUTHOR`` within
  ``MAX_AUTHOR_BYTES``, the older ones left out (``left_out``, and a note). The caps
  apply as the tweets come, so deletions and edits then take from the newest; a note's
  whole text counts against the bytes when it joins its tweet, and may push the oldest out.

Order: deletions, then notes (each version of a post has its own), then edits. The
files are given in that order: every tweets file, then deleted-tweets.js, then
note-tweet.js, then ``finish``.
"""

from __future__ import annotations

import csv
import html
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Iterable, Iterator, Optional

from ..errors import HuggingTweetsError
from . import limits
from .base import Tweet
from .limits import post_too_long, scrub

MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}
MIN_PREFIX = 30  # characters a cut-short tweet must share with a note to match it on text alone
CROWDED = 64  # posts in one second (or cut-short ones of one opening) past which those rules skip them
_LINK = re.compile(r"https?://\S*")
_CUT = re.compile(r"…\s*(?:https?://\S*\s*)*\Z")


def _dig(obj, *keys):
    """obj[k1][k2]... or None wherever the shape differs."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _id(value) -> str:
    """A tweet id as X writes it (a string, sometimes a number); "" for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _id_rank(tweet_id: str):
    """Numeric order for snowflake ids; anything else ranks below them."""
    if tweet_id.isascii() and tweet_id.isdigit() and len(tweet_id) < 40:
        return (1, int(tweet_id), "")
    return (0, 0, tweet_id)


def _damaged(where: str, detail: str) -> HuggingTweetsError:
    return HuggingTweetsError(f"{where} is damaged ({detail}): download the archive again.")


class ArchivePosts:
    """The posts of one archive, gathered item by item; ``finish`` settles edits (module doc:
    the order the files come in)."""

    def __init__(self):
        self.kept = limits.Newest()  # post -> its (first version, editTweetIds) or None
        self.skipped = 0  # posts over MAX_POST_CHARS
        self.other: dict[str, int] = {}  # records of another kind ({"like": ...} in like.js), by kind: not posts
        self._place = 0
        self._notes: Optional[_NoteMatcher] = None

    @property
    def count(self) -> int:
        return len(self.kept)

    def add_items(self, items: Iterable, where: str) -> None:
        """The items of one tweets.js part: ``{"tweet": {...}}`` (2019 on) or bare tweet objects."""
        for i, item in enumerate(items):
            t = item.get("tweet", item) if isinstance(item, dict) else None
            if not isinstance(t, dict):
                raise _damaged(where, f"item {i + 1} is not a tweet")
            tweet_id = _id(t.get("id_str")) or _id(t.get("id")) or f"{where}#{i}"
            note = _dig(t, "note_tweet", "note_tweet_results", "result", "text")
            text = note if isinstance(note, str) and note.strip() and not post_too_long(note) else None
            text = text or t.get("full_text") or t.get("text")
            if not isinstance(text, str):
                if "tweet" not in item and len(item) == 1:  # {"like": {...}}: another file of the archive
                    kind = str(next(iter(item)))[:40]
                    self.other[kind] = self.other.get(kind, 0) + 1
                continue
            self._add(
                Tweet(
                    id=tweet_id,
                    text=text,  # raw: still HTML-escaped, cleaning unescapes
                    created_at=iso_from_x(t.get("created_at")),
                    is_reply=bool(t.get("in_reply_to_status_id_str") or t.get("in_reply_to_status_id")
                                  or t.get("in_reply_to_screen_name")),
                    # Archives say "retweeted": false even for retweets; only an embedded original is proof.
                    is_retweet=bool(t.get("retweeted_status")),
                ),
                _edit(t.get("edit_info")),
            )

    def add_csv(self, lines: Iterable[str], where: str) -> None:
        """Grailbird's tweets.csv (2012-2018), as lines with their ends: columns text, tweet_id,
        timestamp, ...; a record (one row, over as many lines as its quoted fields span) past
        ``MAX_STREAMED_ITEM_CHARS`` raises ``limits.ItemTooLong``."""
        record = _Record(lines, limits.MAX_STREAMED_ITEM_CHARS)
        try:
            rows = csv.DictReader(record)
            if "text" not in (rows.fieldnames or []):
                raise _damaged(where, "no 'text' column")
            record.size = 0
            for i, row in enumerate(rows, start=1):
                record.size = 0  # the next row starts here
                if row.get("text"):
                    self._add(
                        Tweet(
                            id=row.get("tweet_id") or str(i),
                            text=row["text"],
                            created_at=_iso_from_grailbird(row.get("timestamp")),
                            is_reply=bool(row.get("in_reply_to_status_id")),
                            is_retweet=bool(row.get("retweeted_status_id")),
                        )
                    )
        except csv.Error as e:
            raise _damaged(where, str(e)) from None

    def _add(self, tweet: Tweet, edit: Optional[tuple[str, tuple[str, ...]]] = None) -> None:
        if tweet.id in self.kept:  # parts overlap in some exports: keep the first copy of each id
            return
        text = scrub(tweet.text)
        if not text.strip():
            return
        if post_too_long(text):
            self.skipped += 1
            return
        self._place += 1
        edit_bytes = sum(map(limits.held_bytes, (edit[0], *edit[1]))) + 8 * len(edit[1]) if edit else 0
        self.kept.add(tweet if text == tweet.text else replace(tweet, text=text), self._place, edit, edit_bytes)

    def delete(self, items: Iterable) -> None:
        """deleted-tweets.js items (``{"tweet": {"id_str", "deleted_at", ...}}``): the posts they
        name go, as the items come. After every tweets file, before the notes."""
        for item in items:
            t = item.get("tweet", item) if isinstance(item, dict) else None
            if isinstance(t, dict):
                tweet_id = _id(t.get("id_str")) or _id(t.get("id"))
                if tweet_id:
                    self.kept.remove(tweet_id)

    def add_notes(self, items: Iterable) -> None:
        """note-tweet.js items: each note that matches a post replaces its cut-short text, as the
        notes come (every note-tweet.js part through one matcher: a post takes one note)."""
        if self._notes is None:
            self._notes = _NoteMatcher(self.kept)
        for note in notes_from_items(items):
            self._notes.offer(note)

    def finish(self) -> list[Tweet]:
        """Every post once: deleted ones dropped, long ones whole, edited ones at their latest."""
        entries = self.kept.entries()
        tweets = [t for t, _ in entries]
        group_of: dict[str, str] = {}  # tweet id -> its post's first version
        versions: dict[str, tuple[str, ...]] = {}  # first version -> editTweetIds
        for tweet, edit in entries:
            if edit:
                first, ids = edit
                for member in (first, tweet.id, *ids):
                    group_of.setdefault(member, first)
                if len(ids) > len(versions.get(first, ())):
                    versions[first] = ids
        if not group_of:
            return tweets
        present: dict[str, set[str]] = defaultdict(set)
        for t in tweets:
            if t.id in group_of:
                present[group_of[t.id]].add(t.id)
        latest = {}
        for first, ids in present.items():
            listed = [i for i in versions.get(first, ()) if i in ids]
            latest[first] = listed[-1] if listed else max(ids, key=_id_rank)
        return [t for t in tweets if t.id not in group_of or latest[group_of[t.id]] == t.id]


class _Record:
    """Lines for ``csv``, counting the characters of the record being read (``size``, which the
    reader sets back to 0 at each row): ``limits.ItemTooLong`` once one runs past ``cap``."""

    def __init__(self, lines: Iterable[str], cap: int):
        self._lines, self._cap, self.size, self.line = iter(lines), cap, 0, 0

    def __iter__(self) -> "_Record":
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.size, self.line = self.size + len(line), self.line + 1
        if self.size > self._cap:
            raise limits.ItemTooLong(self.line, self._cap)
        return line


def _edit(info) -> Optional[tuple[str, tuple[str, ...]]]:
    """(the post's first version, editTweetIds) from a tweet's ``edit_info``; None when it
    ties the tweet to no other version."""
    edit = _dig(info, "edit")
    if isinstance(edit, dict):  # a later version: points at the first
        first = _id(edit.get("initialTweetId"))
        ids = _ids(_dig(edit, "editControlInitial", "editTweetIds"))
    else:  # the first version, or a post never edited (a one-id list)
        ids = _ids(_dig(info, "initial", "editTweetIds"))
        first = ids[0] if len(ids) > 1 else ""
    return (first, tuple(ids)) if first else None


def _ids(value) -> list[str]:
    return [i for i in map(_id, value) if i] if isinstance(value, list) else []


# --- long posts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    text: str
    second: str = ""  # creation time, UTC, to the second ("" when unknown)
    tweet_id: str = ""  # only some exports name the tweet


def notes_from_items(items: Iterable) -> Iterator[Note]:
    """note-tweet.js items as notes, one at a time; shapes without a usable text are skipped."""
    for item in items:
        nt = item.get("noteTweet", item) if isinstance(item, dict) else None
        candidates = (_dig(nt, "core", "text"), _dig(nt, "text"), _dig(nt, "noteTweetResults", "text"),
                      _dig(nt, "noteTweetResults", "result", "text"))
        text = next((scrub(c) for c in candidates if isinstance(c, str)), "")
        if not text.strip() or post_too_long(text):
            continue
        tweet_id = _id(_dig(nt, "tweetId")) or _id(_dig(item, "tweetId"))
        yield Note(text=text, second=utc_second(_dig(nt, "createdAt")), tweet_id=tweet_id)


def normalised(text: str) -> str:
    """For comparing a cut-short tweet with a note: entities, links, final ellipsis, spacing."""
    text = _LINK.sub(" ", html.unescape(text)).rstrip().rstrip("….").rstrip()
    return " ".join(text.split())


class _NoteMatcher:
    """Joins notes to the posts kept (rule in the module doc), one note at a time: a matched
    note's text replaces its post's in ``kept`` (which may then let the oldest posts go, to stay
    within the bytes); a post let go of takes no note."""

    def __init__(self, kept: limits.Newest):
        self._kept = kept
        self._ids = [t.id for t in kept.tweets()]
        self._index_of = {tweet_id: i for i, tweet_id in enumerate(self._ids)}
        self._by_second: dict[str, list[int]] = defaultdict(list)
        self._by_start: dict[str, list[int]] = defaultdict(list)
        self._cut: set[int] = set()
        self._norms: dict[int, str] = {}
        self._taken: set[int] = set()
        for i, tweet_id in enumerate(self._ids):
            t = kept.get(tweet_id)
            second = utc_second(t.created_at)
            if second:
                self._by_second[second].append(i)
            if _CUT.search(t.text):
                self._cut.add(i)
                if len(self._norm(i)) >= MIN_PREFIX:
                    self._by_start[self._norm(i)[:MIN_PREFIX]].append(i)
        for index in (self._by_second, self._by_start):
            for key in [key for key, posts in index.items() if len(posts) > CROWDED]:
                del index[key]

    def _norm(self, i: int) -> str:
        """The post's own text, normalised (asked only of posts that took no note yet)."""
        if i not in self._norms:
            self._norms[i] = normalised(self._kept.get(self._ids[i]).text)
        return self._norms[i]

    def _free(self, i: int) -> bool:
        return i not in self._taken and self._ids[i] in self._kept

    def offer(self, note: Note) -> None:
        i = self._index_of.get(note.tweet_id) if note.tweet_id else None
        if i is None or not self._free(i):
            whole = normalised(note.text)
            same = [i for i in self._by_second.get(note.second, ()) if self._free(i)] if note.second else []
            begins = [i for i in same if self._norm(i) and whole.startswith(self._norm(i))]
            same_cut = [i for i in same if i in self._cut]
            by_text = [i for i in self._by_start.get(whole[:MIN_PREFIX], ())
                       if self._free(i) and whole.startswith(self._norm(i))]
            if begins:
                i = max(begins, key=lambda j: len(self._norm(j)))
            elif len(same_cut) == 1:
                i = same_cut[0]
            elif len(by_text) == 1:
                i = by_text[0]
            else:
                return
        self._taken.add(i)
        self._norms.pop(i, None)
        self._kept.replace_text(self._ids[i], note.text)


# --- dates --------------------------------------------------------------------------------------


def iso_from_x(value) -> str:
    """'Wed Oct 19 20:07:25 +0000 2022' -> '2022-10-19T20:07:25+00:00' ('' if unreadable).

    Parsed by hand: strptime's %a/%b follow the locale and are slow for 100k tweets.
    """
    try:
        _, mon, day, clock, tz, year = value.split()
        hh, mm, ss = clock.split(":")
        sign = -1 if tz[0] == "-" else 1
        offset = sign * (int(tz[1:3]) * 60 + int(tz[3:5]))
        stamp = datetime(int(year), MONTHS[mon], int(day), int(hh), int(mm), int(ss))
        return stamp.isoformat() + (f"{'+' if offset >= 0 else '-'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}")
    except (AttributeError, ValueError, KeyError, IndexError):
        return ""


def _iso_from_grailbird(value) -> str:
    """Grailbird's '2012-01-01 12:00:00 +0000' -> ISO 8601 ('' if unreadable)."""
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S %z").isoformat()
    except (AttributeError, ValueError):
        return ""


def utc_second(value) -> str:
    """An ISO 8601 time ('2022-10-19T20:07:25.000Z', '...+02:00') or X's own format, as
    'YYYY-MM-DDTHH:MM:SS' in UTC; '' when unreadable. Naive times are taken as UTC."""
    if not isinstance(value, str) or not value.strip():
        return ""
    text = value.strip()
    try:
        stamp = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    except ValueError:
        text = iso_from_x(text)
        if not text:
            return ""
        stamp = datetime.fromisoformat(text)
    try:
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        return stamp.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    except (OverflowError, ValueError):  # year 1 with a positive offset, and such
        return ""
