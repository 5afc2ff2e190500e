"""Plain files of tweets someone already has: .txt, .csv or .jsonl.

    .txt    one tweet per line; blank lines skipped
    .csv    a header row with a column text, full_text or content (any case);
            quoted fields may hold commas and newlines
    .jsonl  one JSON object per line with "text" or "full_text"; blank lines skipped

Every file is read as UTF-8 (a leading byte-order mark, as Excel writes, is
dropped). Tweet ids are the line numbers (data row numbers for CSV), so a
person can find a tweet in their file again.

Limits (``limits``): a file over MAX_TEXT_FILE_BYTES is an error; so is a
tweet over MAX_POST_CHARS, a JSONL line over MAX_JSONL_LINE_CHARS or a JSONL
text holding an unpaired surrogate (a lone "\\ud800" escape), each naming its
line: these are the person's own files, so they hear where to fix them.
Control characters other than tab and newline are dropped from the text.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Optional

from ..errors import HuggingTweetsError
from . import limits
from .base import Author, AuthorTweets, FetchOptions, Progress, SourceKind, Tweet, is_retweet_text, named_by_file

# The CSV column that holds the tweet, in order of preference (compared case-insensitively).
TEXT_COLUMNS = ("text", "full_text", "content")
JSONL_FIELDS = ("text", "full_text")
HOW_TO = {
    ".txt": "Put one tweet per line.",
    ".csv": "Put one tweet per row under a 'text' column.",
    ".jsonl": 'Put one object like {"text": "..."} per line.',
}


KIND = SourceKind(
    name="file",
    label="text file",
    takes=".txt (one post per line), .csv (a 'text' column) or .jsonl (a 'text' field)",
    example="posts.txt",
    build=lambda spec, options: TextFileSource(spec, options),
    match_path=lambda path: path.is_file() and path.suffix.lower() in HOW_TO,
    limits="the author is the file name unless --author names it",
)


class TextFileSource:
    """Tweets from a .txt, .csv or .jsonl file; the author is options.author or the file's stem."""

    def __init__(self, path, options: Optional[FetchOptions] = None):
        self.path = Path(path).expanduser()
        self.options = options or FetchOptions()


    def fetch(self, progress: Optional[Progress] = None) -> AuthorTweets:
        readers = {".txt": _txt_tweets, ".csv": _csv_tweets, ".jsonl": _jsonl_tweets}
        suffix = self.path.suffix.lower()
        if suffix not in readers:
            raise HuggingTweetsError(f"Unsupported file type '{suffix or self.path.name}': use .txt, .csv or .jsonl.")
        tweets = readers[suffix](_read_text(self.path), self.path.name)
        if not tweets:
            raise HuggingTweetsError(f"No tweets in {self.path.name}: the file is empty. {HOW_TO[suffix]}")
        if progress:
            progress(len(tweets), len(tweets), f"Read {len(tweets)} tweets from {self.path.name}")
        if self.options.exclude_retweets:  # dropped before counting, as the archive does
            tweets = [t for t in tweets if not is_retweet_text(t.text)]
        author, notes = named_by_file(Author(handle=self.path.stem, source="file"), self.options,
                                      f"the file name {self.path.name!r}")
        return AuthorTweets(author=author, tweets=tweets, notes=notes)


TOO_BIG = "keep the tweets you want to train on in a smaller file (a million tweets is about 150 MB)."


def _read_text(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size  # 0 for devices and pipes: the count still holds
            cap = limits.MAX_TEXT_FILE_BYTES
            if size > cap:
                raise limits.too_large(path.name, cap, TOO_BIG, size=size)
            data = limits.read_capped(f, cap, path.name, TOO_BIG)
    except FileNotFoundError:
        raise HuggingTweetsError(f"File not found: {path}. Check the path.") from None
    except OSError as e:
        raise HuggingTweetsError(f"Cannot read {path}: {e.strerror}.") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise HuggingTweetsError(
            f"{path.name} is not UTF-8 text (bad byte on line {line}): save it as UTF-8 and try again."
        ) from None


def _tweet(name: str, where: str, number: int, text: str) -> Optional[Tweet]:
    """A tweet from ``where`` (e.g. "line 3") or None when blank; an error when longer than a post."""
    text = limits.scrub(text).strip()
    if not text:
        return None
    if limits.post_too_long(text):
        raise HuggingTweetsError(
            f"{name} {where} holds {len(text):,} characters, more than a post can be "
            f"({limits.MAX_POST_CHARS:,}): put one tweet per {where.split()[0]}."
        )
    return Tweet(id=str(number), text=text)


def _lines(text: str) -> list[str]:
    # Not str.splitlines(): it also breaks on U+2028 and form feeds, which can sit inside a tweet.
    return [line.rstrip("\r") for line in text.split("\n")]


def _txt_tweets(text: str, name: str) -> list[Tweet]:
    tweets = (_tweet(name, f"line {n}", n, line) for n, line in enumerate(_lines(text), start=1))
    return [t for t in tweets if t]


def _csv_tweets(text: str, name: str) -> list[Tweet]:
    # newline="" lets the csv module see the raw line ends, so quoted newlines stay in the field.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return []
        lowered = [h.strip().lower() for h in header]
        column = next((lowered.index(c) for c in TEXT_COLUMNS if c in lowered), None)
        if column is None:
            raise HuggingTweetsError(
                f"{name} has no tweet column: looked for {', '.join(TEXT_COLUMNS)} (any case) "
                f"but found {', '.join(h.strip() for h in header) or 'none'}. Rename the column that holds the tweets."
            )
        tweets = []
        for row_number, row in enumerate(reader, start=1):
            tweet = _tweet(name, f"row {row_number}", row_number, row[column]) if column < len(row) else None
            if tweet:
                tweets.append(tweet)
        return tweets
    except csv.Error as e:
        raise HuggingTweetsError(
            f"{name} is not a readable CSV (line {reader.line_num}: {e}): check for a stray quote mark near there."
        ) from None


def _jsonl_tweets(text: str, name: str) -> list[Tweet]:
    tweets = []
    for n, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        if len(line) > limits.MAX_JSONL_LINE_CHARS:
            raise HuggingTweetsError(
                f"{name} line {n} holds {len(line):,} characters, more than a line may hold "
                f'({limits.MAX_JSONL_LINE_CHARS:,}): put one object like {{"text": "..."}} per tweet on each line.'
            )
        try:
            obj = limits.loads(line)
        except limits.BadJson as e:
            reason = "" if str(e).startswith("not valid JSON") else f" ({e})"
            raise HuggingTweetsError(
                f'{name} line {n} is not JSON{reason}: each line must be one object like {{"text": "..."}}.'
            ) from None
        value = next((obj[f] for f in JSONL_FIELDS if isinstance(obj, dict) and isinstance(obj.get(f), str)), None)
        if value is None:
            raise HuggingTweetsError(
                f'{name} line {n} has no "text" or "full_text" string field: add one, like {{"text": "..."}}.'
            )
        if limits.has_surrogate(value):  # "\ud800" alone: not a character, cannot be saved as UTF-8
            raise HuggingTweetsError(
                f"{name} line {n} holds a broken character (an unpaired \\ud800-\\udfff escape): "
                "remove it or write the emoji it was part of whole."
            )
        tweet = _tweet(name, f"line {n}", n, value)
        if tweet:
            tweets.append(tweet)
    return tweets
