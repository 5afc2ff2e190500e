"""The X archive ("Download an archive of your data") as a tweet source.

Accepts the zip itself (members are read straight out of it, never extracted),
the folder it unzips to, or a ``tweets.js`` / ``tweet.js`` file. Four layouts
exist in the wild (see FORMATS.md section 2):

    2022 on       data/tweets.js + data/tweets-part1.js ...   items {"tweet": {...}}
    2019-2022     data/tweet.js  + data/tweet-part1.js ...    items {"tweet": {...}}
    early 2019    tweet.js at the root                         bare tweet objects
    Grailbird     tweets.csv (2012-2018)                       columns text, tweet_id, ...

The ``.js`` files start with ``window.YTD.tweets.part0 = [``: everything up to
the first ``=`` is JavaScript, the rest is JSON.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
import zlib
from datetime import datetime
from pathlib import Path
from typing import Callable, Optional

from ..errors import HuggingTweetsError
from .base import Author, AuthorTweets, FetchOptions, Progress, Tweet

# tweets.js / tweet.js and their parts, anywhere in the archive; the shallowest wins.
# Anchored on "/" so data/deleted-tweets.js or tweet-headers.js never match.
TWEETS_JS = re.compile(r"^(?P<dir>(?:.*/)?)(?P<stem>tweets?)(?:-part(?P<part>\d+))?\.js$")
GRAILBIRD_CSV = re.compile(r"^(?P<dir>(?:.*/)?)tweets\.csv$")
MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}
# X names its downloads twitter-2022-10-19-<hash>.zip: no handle in there to derive.
X_DOWNLOAD_NAME = re.compile(r"^twitter-\d{4}-\d{2}-\d{2}-[0-9a-f]+$", re.IGNORECASE)
NOT_AN_ARCHIVE_HINT = "is this an X archive? Give the .zip from X's 'Download an archive of your data' or its folder."


class ArchiveSource:
    """Tweets from an X archive: a .zip, its extracted folder, or tweets.js itself."""

    def __init__(self, path, options: Optional[FetchOptions] = None):
        self.path = Path(path).expanduser()
        self.options = options or FetchOptions()

    def describe(self) -> str:
        return f"X archive {self.path.name}"

    def fetch(self, progress: Optional[Progress] = None) -> AuthorTweets:
        if not self.path.exists():
            raise HuggingTweetsError(f"File not found: {self.path}. Check the path to the X archive.")
        if self.path.is_dir():
            return self._read(_folder_store(self.path), progress)
        if self.path.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(self.path) as zf:
                    return self._read(_zip_store(self.path, zf), progress)
            except zipfile.BadZipFile:
                raise HuggingTweetsError(
                    f"{self.path.name} is not a valid zip file: download the archive again."
                ) from None
            except OSError as e:
                raise HuggingTweetsError(f"Cannot read {self.path}: {e.strerror}.") from None
        return self._read(_js_file_store(self.path), progress)

    def _read(self, store: "_Store", progress: Optional[Progress]) -> AuthorTweets:
        found = _locate(store)
        if found is None:
            raise HuggingTweetsError(
                f"No data/tweets.js (or tweet.js, tweets.csv) in {store.label}: {NOT_AN_ARCHIVE_HINT}"
            )
        kind, names, folder = found
        tweets: list[Tweet] = []
        seen: set[str] = set()
        for done, name in enumerate(names, start=1):
            where = store.where(name)
            part = _grailbird_tweets(store.read(name), where) if kind == "csv" else _js_tweets(store.read(name), where)
            for tweet in part:  # parts overlap in some exports: keep the first copy of each id
                if tweet.id not in seen:
                    seen.add(tweet.id)
                    tweets.append(tweet)
            if progress:
                progress(done, len(names), f"Read {name} ({len(tweets)} tweets so far)")
        if not tweets:
            what = "the file" if store.label == names[0] else f"its {names[0]}"
            raise HuggingTweetsError(
                f"No tweets in {store.label}: {what} is empty. Check it is the right account's archive."
            )
        author = _author(store, kind, folder) or Author(handle=_handle_from_path(self.path))
        author.source = "archive"
        return AuthorTweets(author=author, tweets=_apply_options(tweets, self.options))


# --- where the files are: a zip, a folder or a lone .js ------------------------------------


class _Store:
    """A flat list of posix member names plus a way to read one as bytes."""

    def __init__(self, label, names, read: Callable[[str], bytes], describe_member, lone: Optional[str] = None):
        self.label, self.names, self._read, self._describe = label, names, read, describe_member
        self.lone = lone  # a .js given by itself under another name: it is the tweets file

    def read(self, name: str) -> bytes:
        return self._read(name)

    def where(self, name: str) -> str:
        return self._describe(name)

    def read_optional(self, name: str) -> Optional[bytes]:
        if name not in self.names:
            return None
        try:
            return self._read(name)
        except HuggingTweetsError:
            return None


def _zip_store(path: Path, zf: zipfile.ZipFile) -> _Store:
    # macOS zips carry __MACOSX/._tweets.js resource forks: not JSON, skip them.
    names = [n for n in zf.namelist() if not n.endswith("/") and "__MACOSX/" not in n and "/._" not in f"/{n}"]

    def read(name: str) -> bytes:
        try:
            return zf.read(name)
        except (zipfile.BadZipFile, zlib.error, EOFError):
            raise HuggingTweetsError(f"{name} in {path.name} is damaged: download the archive again.") from None
        except NotImplementedError:  # e.g. deflate64 from some zip tools
            raise HuggingTweetsError(
                f"{path.name} uses a compression method Python cannot read: unzip it and give the folder instead."
            ) from None

    return _Store(path.name, names, read, lambda n: f"{n} in {path.name}")


def _folder_store(root: Path) -> _Store:
    # Only look a couple of levels down (root, data/, <one folder>/data/): someone may point
    # at their home folder, and archives hold thousands of media files we never need.
    names: list[str] = []
    dirs = [""]
    try:
        dirs += [e.name + "/" for e in os.scandir(root) if e.is_dir() and not e.name.startswith(".")]
    except OSError as e:
        raise HuggingTweetsError(f"Cannot read folder {root}: {e.strerror}.") from None
    for d in list(dirs):
        dirs.append(d + "data/")
        dirs.append(d + "data/js/")  # Grailbird's user_details.js
    for d in dict.fromkeys(dirs):
        try:
            names += [d + e.name for e in os.scandir(root / d) if e.is_file()]
        except OSError:
            continue
    return _Store(f"folder {root.name}", names, lambda n: _read_file(root / n), lambda n: f"{n} in folder {root.name}")


def _js_file_store(path: Path) -> _Store:
    # A tweets.js given by itself: its sibling parts and account.js/profile.js count too.
    match = TWEETS_JS.match(path.name)
    if not match:
        return _Store(path.name, [path.name], lambda n: _read_file(path.parent / n), lambda n: n, lone=path.name)
    stem = match.group("stem")
    siblings = [e.name for e in os.scandir(path.parent) if e.is_file()]
    siblings = [n for n in siblings if not TWEETS_JS.match(n) or TWEETS_JS.match(n).group("stem") == stem]
    return _Store(path.name, siblings, lambda n: _read_file(path.parent / n), lambda n: n)


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise HuggingTweetsError(f"Cannot read {path}: {e.strerror}.") from None


def _locate(store: _Store) -> Optional[tuple[str, list[str], str]]:
    """(kind, tweet files in part order, their folder) for the shallowest tweets file, or None."""
    if store.lone:
        return "js", [store.lone], ""
    groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for name in store.names:
        m = TWEETS_JS.match(name)
        if m:
            groups.setdefault((m.group("dir"), m.group("stem")), []).append((int(m.group("part") or 0), name))
    if groups:
        # Shallowest folder first; if one folder has both, "tweets" is the newer export.
        folder, stem = min(groups, key=lambda k: (k[0].count("/"), k[1] != "tweets", k[0]))
        return "js", [n for _, n in sorted(groups[(folder, stem)])], folder
    csvs = sorted((m.group("dir") for m in map(GRAILBIRD_CSV.match, store.names) if m), key=lambda d: d.count("/"))
    if csvs:
        return "csv", [csvs[0] + "tweets.csv"], csvs[0]
    return None


# --- parsing ---------------------------------------------------------------------------------


def _parse_js(data: bytes, where: str):
    """JSON after the ``window.YTD.x.part0 =`` prefix (or plain JSON if there is no prefix)."""
    try:
        text = data.decode("utf-8-sig")
        body = text.lstrip()
        if not body.startswith(("[", "{")):
            eq = text.find("=")
            if eq < 0:
                raise ValueError("no '=' before the data")
            body = text[eq + 1 :]
        return json.loads(body.strip().rstrip(";"))
    except json.JSONDecodeError as e:
        raise HuggingTweetsError(
            f"{where} is damaged (not valid JSON at line {e.lineno}): download the archive again."
        ) from None
    except (UnicodeDecodeError, ValueError) as e:
        raise HuggingTweetsError(f"{where} is damaged ({e}): download the archive again.") from None


def _js_tweets(data: bytes, where: str) -> list[Tweet]:
    items = _parse_js(data, where)
    if not isinstance(items, list):
        raise HuggingTweetsError(f"{where} is damaged (expected a list of tweets): download the archive again.")
    tweets = []
    for i, item in enumerate(items):
        # 2019+ wraps each tweet as {"tweet": {...}}; early-2019 tweet.js has the object itself.
        t = item.get("tweet", item) if isinstance(item, dict) else None
        if not isinstance(t, dict):
            raise HuggingTweetsError(f"{where} is damaged (item {i + 1} is not a tweet): download the archive again.")
        text = t.get("full_text") or t.get("text")
        if not isinstance(text, str) or not text:
            continue
        tweets.append(
            Tweet(
                id=str(t.get("id_str") or t.get("id") or f"{where}#{i}"),
                text=text,  # raw: still HTML-escaped, cleaning unescapes
                created_at=_iso_from_x(t.get("created_at")),
                is_reply=bool(t.get("in_reply_to_status_id_str") or t.get("in_reply_to_status_id")
                              or t.get("in_reply_to_screen_name")),
                # Archives say "retweeted": false even for retweets; only an embedded original is proof.
                is_retweet=bool(t.get("retweeted_status")),
            )
        )
    return tweets


def _grailbird_tweets(data: bytes, where: str) -> list[Tweet]:
    try:
        rows = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        if "text" not in (rows.fieldnames or []):
            raise HuggingTweetsError(f"{where} is damaged (no 'text' column): download the archive again.")
        tweets = []
        for i, row in enumerate(rows, start=1):
            if not row.get("text"):
                continue
            tweets.append(
                Tweet(
                    id=row.get("tweet_id") or str(i),
                    text=row["text"],
                    created_at=_iso_from_grailbird(row.get("timestamp")),
                    is_reply=bool(row.get("in_reply_to_status_id")),
                    is_retweet=bool(row.get("retweeted_status_id")),
                )
            )
        return tweets
    except (UnicodeDecodeError, csv.Error) as e:
        raise HuggingTweetsError(f"{where} is damaged ({e}): download the archive again.") from None


def _iso_from_x(value) -> str:
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


# --- the author --------------------------------------------------------------------------------


def _first(data, key: str) -> dict:
    """The ``{key: {...}}`` object of ``window.YTD.<key>.part0 = [{key: {...}}]``."""
    if isinstance(data, list) and data and isinstance(data[0], dict):
        inner = data[0].get(key)
        return inner if isinstance(inner, dict) else {}
    return {}


def _author(store: _Store, kind: str, folder: str) -> Optional[Author]:
    """From account.js / profile.js (or Grailbird's user_details.js); None when absent or unreadable."""

    def load(name: str):
        data = store.read_optional(name)
        if data is None:
            return None
        try:
            return _parse_js(data, name)
        except HuggingTweetsError:  # metadata is a nicety: a damaged one falls back to the file name
            return None

    if kind == "csv":
        details = load(folder + "data/js/user_details.js")
        if isinstance(details, dict) and details.get("screen_name"):
            return Author(handle=str(details["screen_name"]).lstrip("@"), name=str(details.get("full_name") or ""))
        return None
    account = _first(load(folder + "account.js"), "account")
    if not account.get("username"):
        return None
    profile = _first(load(folder + "profile.js"), "profile")
    return Author(
        handle=str(account["username"]).lstrip("@"),
        name=str(account.get("accountDisplayName") or ""),
        avatar_url=str(profile.get("avatarMediaUrl") or ""),
    )


def _handle_from_path(path: Path) -> str:
    """Best guess at a handle when the archive has no account.js: the zip or folder name."""
    if path.is_file() and TWEETS_JS.match(path.name):
        # .../jack-archive/data/tweets.js -> jack-archive
        parents = [p for p in path.resolve().parents if p.name and p.name.lower() != "data"]
        path = parents[0] if parents else path
    stem = path.stem if path.is_file() else path.name
    return "archive" if X_DOWNLOAD_NAME.match(stem) or not stem else stem


def _apply_options(tweets: list[Tweet], options: FetchOptions) -> list[Tweet]:
    # Dropped here, before counting, so excluded tweets are not reported as downloaded.
    if options.exclude_replies:
        tweets = [t for t in tweets if not t.is_reply]
    if options.exclude_retweets:
        tweets = [t for t in tweets if not (t.is_retweet or t.text.startswith("RT @"))]
    return tweets
