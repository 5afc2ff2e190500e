"""Plain files of tweets someone already has: .txt, .csv or .jsonl.

    .txt    one tweet per line; blank lines skipped
    .csv    a header row with a column text, full_text or content (any case);
            quoted fields may hold commas and newlines
    .jsonl  one JSON object per line with "text" or "full_text"; blank lines skipped

Every file is read as UTF-8 (a leading byte-order mark, as Excel writes, is
dropped). Tweet ids are the line numbers (data row numbers for CSV), so a
person can find a tweet in their file again.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Optional

from ..errors import HuggingTweetsError
from .base import Author, AuthorTweets, FetchOptions, Progress, Tweet

# The CSV column that holds the tweet, in order of preference (compared case-insensitively).
TEXT_COLUMNS = ("text", "full_text", "content")
JSONL_FIELDS = ("text", "full_text")
HOW_TO = {
    ".txt": "Put one tweet per line.",
    ".csv": "Put one tweet per row under a 'text' column.",
    ".jsonl": 'Put one object like {"text": "..."} per line.',
}


class TextFileSource:
    """Tweets from a .txt, .csv or .jsonl file; the author is options.author or the file's stem."""

    def __init__(self, path, options: Optional[FetchOptions] = None):
        self.path = Path(path).expanduser()
        self.options = options or FetchOptions()

    def describe(self) -> str:
        return f"file {self.path.name}"

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
            tweets = [t for t in tweets if not t.text.startswith("RT @")]
        handle = (self.options.author or "").strip().lstrip("@") or self.path.stem
        return AuthorTweets(author=Author(handle=handle, source="file"), tweets=tweets)


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise HuggingTweetsError(f"File not found: {path}. Check the path.") from None
    except UnicodeDecodeError as e:
        raise HuggingTweetsError(
            f"{path.name} is not UTF-8 text (bad byte at position {e.start}): save it as UTF-8 and try again."
        ) from None
    except OSError as e:
        raise HuggingTweetsError(f"Cannot read {path}: {e.strerror}.") from None


def _lines(text: str) -> list[str]:
    # Not str.splitlines(): it also breaks on U+2028 and form feeds, which can sit inside a tweet.
    return [line.rstrip("\r") for line in text.split("\n")]


def _txt_tweets(text: str, name: str) -> list[Tweet]:
    return [Tweet(id=str(n), text=line.strip()) for n, line in enumerate(_lines(text), start=1) if line.strip()]


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
            value = row[column].strip() if column < len(row) else ""
            if value:
                tweets.append(Tweet(id=str(row_number), text=value))
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
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            raise HuggingTweetsError(
                f'{name} line {n} is not JSON: each line must be one object like {{"text": "..."}}.'
            ) from None
        value = next((obj[f] for f in JSONL_FIELDS if isinstance(obj, dict) and isinstance(obj.get(f), str)), None)
        if value is None:
            raise HuggingTweetsError(
                f'{name} line {n} has no "text" or "full_text" string field: add one, like {{"text": "..."}}.'
            )
        if value.strip():
            tweets.append(Tweet(id=str(n), text=value.strip()))
    return tweets
