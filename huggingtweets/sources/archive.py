"""The X archive ("Download an archive of your data") as a tweet source.

Accepts the zip itself (members are read straight out of it, never extracted),
the folder it unzips to, or a ``tweets.js`` / ``tweet.js`` file. Four layouts
exist in the wild:

    2022 on       data/tweets.js + data/tweets-part1.js ...   items {"tweet": {...}}
    2019-2022     data/tweet.js  + data/tweet-part1.js ...    items {"tweet": {...}}
    early 2019    tweet.js at the root                         bare tweet objects
    Grailbird     tweets.csv (2012-2018)                       columns text, tweet_id, ...

The ``.js`` files start with ``window.YTD.tweets.part0 = [``: everything up to
the first ``=`` is JavaScript, the rest is JSON.

Beside the tweets files, note-tweet.js (the whole text of long posts) and
deleted-tweets.js are read; ``archive_posts`` decides what counts as a post.
Only the files named here are ever opened, each through a size cap from
``limits``, counted as it is read; of the media, only the avatar that
profile.js names (``data/profile_media/<account id>-<file name>``), read while
the archive is open, so the app can show it offline (never the header picture
or a tweet's media).

The tweets files (and note-tweet.js, deleted-tweets.js, tweets.csv) are read as a
stream, one item at a time (``limits.JsonStream``; the csv a row at a time), never
whole: parsed at once, a 512 MiB tweets.js took about 3 GB. An item past
``limits.MAX_STREAMED_ITEM_CHARS`` is one line, and the posts kept stay within the
per-author caps (``limits.Newest``: the newest, with a note when older ones are left out).
"""

from __future__ import annotations

import errno
import lzma
import os
import re
import struct
import zipfile
import zlib
from contextlib import closing, contextmanager
from pathlib import Path
from typing import BinaryIO, Callable, ContextManager, Iterator, Optional
from urllib.parse import urlsplit

from ..errors import HuggingTweetsError, InputTooLarge
from . import limits
from .archive_posts import ArchivePosts
from .base import Author, AuthorTweets, FetchOptions, Progress, SourceKind, apply_options, named_by_file
from .x_names import x_avatar_ok, x_profile_url
from .x_names import WORDS as X_WORDS

# tweets.js / tweet.js and their parts, anywhere in the archive; the shallowest wins.
# Anchored on "/" so data/deleted-tweets.js or tweet-headers.js never match.
TWEETS_JS = re.compile(r"^(?P<dir>(?:.*/)?)(?P<stem>tweets?)(?:-part(?P<part>\d{1,6}))?\.js$")
# Beside the tweets, in the same folder: long posts' full text, and posts deleted since.
NOTES_JS = re.compile(r"note-tweets?(?:-part\d{1,6})?\.js")
DELETED_JS = re.compile(r"deleted-tweets?(?:-part\d{1,6})?\.js")
GRAILBIRD_CSV = re.compile(r"^(?P<dir>(?:.*/)?)tweets\.csv$")
# X names its downloads twitter-2022-10-19-<hash>.zip: no handle in there to derive.
X_DOWNLOAD_NAME = re.compile(r"^twitter-\d{4}-\d{2}-\d{2}-[0-9a-f]+$", re.IGNORECASE)
NOT_AN_ARCHIVE_HINT = "is this an X archive? Give the .zip from X's 'Download an archive of your data' or its folder."
TOO_BIG_TWEETS = "X writes tweets in parts of about 100 MB, so this is not a file from X: download the archive again."
TOO_BIG_ITEM = "X writes each tweet in a few kilobytes, so this is not a file from X: download the archive again."
MAX_AVATAR_BYTES = 4 * limits.MiB  # X serves avatars of a few hundred kilobytes at most
TOO_BIG_METADATA = "X writes this file in a few kilobytes, so it is not one from X: download the archive again."
# What zipfile (and the decompressors under it) raise on a damaged or hostile zip.
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, ValueError, struct.error, IndexError,
              OverflowError)


def _is_x_archive(path: Path) -> bool:
    """A folder (the unzipped archive), a .zip (asked after the other networks' zips) or tweets.js."""
    return path.is_dir() or path.suffix.lower() in (".zip", ".js")


KIND = SourceKind(
    name="archive",
    label="X archive",
    takes="the .zip from X's 'Download an archive of your data' (any size), its folder, or tweets.js",
    example="twitter-2024-01-01-abc.zip",
    build=lambda spec, options: ArchiveSource(spec, options),
    match_path=_is_x_archive,
    profile_url=x_profile_url,
    avatar_ok=x_avatar_ok,
    limits="posts only (never the media); the handle comes from account.js, else --author or the file name",
    words=X_WORDS,
)


class ArchiveSource:
    """Tweets from an X archive: a .zip, its extracted folder, or tweets.js itself."""

    def __init__(self, path, options: Optional[FetchOptions] = None):
        self.path = Path(path).expanduser()
        self.options = options or FetchOptions()


    def fetch(self, progress: Optional[Progress] = None) -> AuthorTweets:
        if not self.path.exists():
            raise HuggingTweetsError(f"File not found: {self.path}. Check the path to the X archive.")
        if self.path.is_dir():
            return self._read(_folder_store(self.path), progress)
        if self.path.suffix.lower() != ".zip":
            return self._read(_js_file_store(self.path), progress)
        not_a_zip = f"{self.path.name} is not a valid zip file: download the archive again."
        try:
            zf = zipfile.ZipFile(self.path)
        except OSError as e:
            raise HuggingTweetsError(not_a_zip if _damage(e) else f"Cannot read {self.path}: {e.strerror}.") from None
        except NotImplementedError:  # a zip format version newer than zipfile knows
            raise HuggingTweetsError(
                f"{self.path.name} uses a zip feature Python cannot read: unzip it and give the folder instead."
            ) from None
        except ZIP_ERRORS:
            raise HuggingTweetsError(not_a_zip) from None
        with zf:
            return self._read(_zip_store(self.path, zf), progress)

    def _read(self, store: "_Store", progress: Optional[Progress]) -> AuthorTweets:
        found = _locate(store)
        if found is None:
            raise HuggingTweetsError(
                f"No data/tweets.js (or tweet.js, tweets.csv) in {store.label}: {NOT_AN_ARCHIVE_HINT}"
            )
        kind, names, folder = found
        posts = ArchivePosts()
        for done, name in enumerate(names, start=1):
            if kind == "csv":
                with closing(_csv_lines(store, name)) as lines, _one_line(store.where(name)):
                    posts.add_csv(lines, store.where(name))
            else:
                with closing(_items(store, name)) as items:
                    posts.add_items(items, store.where(name))
            if progress:
                skipped = ""
                if posts.skipped:
                    skipped = f"; {posts.skipped} over {limits.MAX_POST_CHARS:,} characters skipped"
                progress(done, len(names), f"Read {name} ({posts.count} tweets so far{skipped})")
        if kind == "js":  # deletions first, then notes: a deleted post takes no note
            for name in _beside(store, folder, DELETED_JS):
                with closing(_items(store, name)) as items:
                    posts.delete(items)
            for name in _beside(store, folder, NOTES_JS):
                with closing(_items(store, name)) as items:
                    posts.add_notes(items)
        tweets = posts.finish()
        if not tweets:
            what = f"{'the file' if store.label == names[0] else f'its {names[0]}'} is empty"
            if posts.skipped:
                what = f"all {posts.skipped} of its posts are over {limits.MAX_POST_CHARS:,} characters"
                what += ", more than X allows"
            elif posts.other:  # like.js, follower.js, ...: another part of the archive, not its tweets
                kind, n = max(posts.other.items(), key=lambda kv: kv[1])
                raise HuggingTweetsError(f"No tweets in {store.label}: it holds {n:,} {kind!r} records, not tweets. "
                                         "Give the archive's data/tweets.js, or the whole archive (its zip or folder).")
            raise HuggingTweetsError(f"No tweets in {store.label}: {what}. Check it is the right account's archive.")
        found = _author(store, kind, folder)
        notes: list = []
        if found is None or self.options.author:  # no account.js, or the person named the author
            handle, where = _handle_from_path(self.path)
            found, notes = named_by_file(found or Author(handle=handle), self.options, f"{where} (the archive has no account.js)")
        if posts.kept.left_out:
            notes.append(posts.kept.note(store.label, len(tweets)))
            if progress:
                progress(len(names), len(names), notes[-1])
        found.source = "archive"
        picture = _avatar(store, folder, found.avatar_url)
        return AuthorTweets(author=found, tweets=apply_options(tweets, self.options), notes=notes, picture=picture)


# --- where the files are: a zip, a folder or a lone .js ------------------------------------


class _Store:
    """A flat list of posix member names plus a way to open one as a binary stream, under a size cap."""

    def __init__(self, label, names, opener: Callable[[str, int, str], ContextManager[BinaryIO]],
                 describe_member, lone: Optional[str] = None):
        self.label, self.names, self._open, self._describe = label, names, opener, describe_member
        self.lone = lone  # a .js given by itself under another name: it is the tweets file

    def open(self, name: str, cap: int, hint: str) -> ContextManager[BinaryIO]:
        """The member as a binary stream whose read errors are already one line; ``InputTooLarge``
        (saying ``hint``) when its size is known to be over ``cap`` (the reader counts the rest)."""
        return self._open(name, cap, hint)

    def read(self, name: str, cap: int, hint: str) -> bytes:
        """The member's bytes; ``InputTooLarge`` (saying ``hint``) once more than ``cap`` arrive."""
        with self.open(name, cap, hint) as stream:
            return limits.read_capped(stream, cap, self.where(name), hint)

    def where(self, name: str) -> str:
        return self._describe(name)


def _zip_store(path: Path, zf: zipfile.ZipFile) -> _Store:
    # macOS zips carry __MACOSX/._tweets.js resource forks: not JSON, skip them.
    names = [n for n in zf.namelist() if not n.endswith("/") and "__MACOSX/" not in n and "/._" not in f"/{n}"]

    @contextmanager
    def opener(name: str, cap: int, hint: str):
        where = f"{name} in {path.name}"

        def failed(e: Exception):
            if isinstance(e, NotImplementedError):  # e.g. deflate64 from some zip tools
                raise HuggingTweetsError(f"{path.name} uses a compression method Python cannot read: "
                                         "unzip it and give the folder instead.") from None
            if isinstance(e, RuntimeError):  # zipfile's word for "encrypted, password required"
                raise HuggingTweetsError(f"{where} is encrypted: unzip it with its password and give the "
                                         "folder instead.") from None
            if isinstance(e, OSError) and not _damage(e):
                raise HuggingTweetsError(f"Cannot read {path}: {e.strerror}.") from None
            raise HuggingTweetsError(f"{where} is damaged: download the archive again.") from None

        errors = (NotImplementedError, RuntimeError, OSError, *ZIP_ERRORS)
        try:
            info = zf.getinfo(name)
            if info.file_size > cap:  # the header's word first; the count while reading does not trust it
                raise limits.too_large(where, cap, hint, size=info.file_size)
            member = zf.open(info)
        except errors as e:
            failed(e)
        with member:
            yield limits.Reads(member, errors, failed)

    return _Store(path.name, names, opener, lambda n: f"{n} in {path.name}")


def _damage(e: OSError) -> bool:
    """An OSError that a damaged zip causes (a seek to a negative offset; bz2's "invalid data")."""
    return e.errno in (None, errno.EINVAL)


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
        dirs.append(d + "data/profile_media/")  # the avatar (and the header picture, never read)
    for d in dict.fromkeys(dirs):
        try:
            names += [d + e.name for e in os.scandir(root / d) if e.is_file()]
        except OSError:
            continue
    where = lambda n: f"{n} in folder {root.name}"  # noqa: E731
    opener = lambda n, cap, hint: limits.open_file(root / n, cap, hint, where(n))  # noqa: E731
    return _Store(f"folder {root.name}", names, opener, where)


def _js_file_store(path: Path) -> _Store:
    # A tweets.js given by itself: its sibling parts and account.js/profile.js count too.
    def opener(n: str, cap: int, hint: str):
        return limits.open_file(path.parent / n, cap, hint, n)

    match = TWEETS_JS.match(path.name)
    if not match:
        return _Store(path.name, [path.name], opener, lambda n: n, lone=path.name)
    stem = match.group("stem")
    try:
        siblings = [e.name for e in os.scandir(path.parent) if e.is_file()]
    except OSError as e:
        raise HuggingTweetsError(f"Cannot read folder {path.parent}: {e.strerror}.") from None
    siblings = [n for n in siblings if not TWEETS_JS.match(n) or TWEETS_JS.match(n).group("stem") == stem]
    try:
        siblings += [f"profile_media/{e.name}" for e in os.scandir(path.parent / "profile_media") if e.is_file()]
    except OSError:
        pass  # no avatar beside it: initials are shown
    return _Store(path.name, siblings, opener, lambda n: n)


def _locate(store: _Store) -> Optional[tuple[str, list[str], str]]:
    """(kind, tweet files in part order, their folder) for the shallowest tweets file, or None.

    Parts are sorted by their number, whatever order the zip or the folder lists them in.
    """
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


def _beside(store: _Store, folder: str, pattern: re.Pattern) -> list[str]:
    """Files in the tweets' folder whose name fits ``pattern``, in order."""
    return sorted(n for n in store.names if n.startswith(folder) and pattern.fullmatch(n[len(folder):]))


# --- parsing, a stream at a time -------------------------------------------------------------------


def _damaged(where: str, detail: str) -> HuggingTweetsError:
    return HuggingTweetsError(f"{where} is damaged ({detail}): download the archive again.")


@contextmanager
def _one_line(where: str):
    """A stream's failures while reading ``where`` (not UTF-8, an item too long, bad JSON) as one line."""
    try:
        yield
    except UnicodeDecodeError as e:
        raise _damaged(where, f"not UTF-8 at byte {e.start}") from None
    except limits.ItemTooLong as e:
        raise HuggingTweetsError(f"{where} holds an item at line {e.line} longer than "
                                 f"{limits.size_words(e.cap)}: {TOO_BIG_ITEM}") from None
    except limits.BadJson as e:
        raise _damaged(where, str(e)) from None


def _json(stream: BinaryIO, where: str, cap: int, hint: str) -> limits.JsonStream:
    """The member's JSON as a stream, at the value after the ``window.YTD.x.part0 =`` prefix
    (or at its start when there is no prefix)."""
    json = limits.JsonStream(limits.text_chunks(stream, cap, where, hint))
    if not json.skip_assignment():
        raise _damaged(where, "no '=' before the data")
    return json


def _items(store: _Store, name: str) -> Iterator:
    """The items of a tweets file's list (tweets.js, note-tweet.js, deleted-tweets.js), one at a
    time: memory holds a chunk and one item, never the file."""
    cap, where = limits.MAX_TWEETS_FILE_BYTES, store.where(name)
    with store.open(name, cap, TOO_BIG_TWEETS) as stream, _one_line(where):
        json = _json(stream, where, cap, TOO_BIG_TWEETS)
        if json.peek() != "[":  # JSON but not a list, or not JSON: read it to say which
            json.value(limits.MAX_STREAMED_ITEM_CHARS)
            json.end()
            raise _damaged(where, "expected a list of tweets")
        yield from json.items(limits.MAX_STREAMED_ITEM_CHARS)
        json.end()


def _csv_lines(store: _Store, name: str) -> Iterator[str]:
    """Grailbird's tweets.csv as lines (the reader words their failures with ``_one_line``)."""
    cap = limits.MAX_TWEETS_FILE_BYTES
    with store.open(name, cap, TOO_BIG_TWEETS) as stream:
        chunks = limits.text_chunks(stream, cap, store.where(name), TOO_BIG_TWEETS)
        yield from limits.text_lines(chunks, limits.MAX_STREAMED_ITEM_CHARS)


def _load_js(store: _Store, name: str, cap: int, hint: str):
    """A small .js file's JSON (account.js, profile.js, user_details.js), through the same
    stream as the tweets but as one value (``cap`` bounds it)."""
    where = store.where(name)
    with store.open(name, cap, hint) as stream, _one_line(where):
        json = _json(stream, where, cap, hint)
        value = json.value(cap)
        json.end()
        return value


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
        if name not in store.names:
            return None
        try:
            return _load_js(store, name, limits.MAX_METADATA_BYTES, TOO_BIG_METADATA)
        except InputTooLarge:  # not a file X wrote: say so rather than guess
            raise
        except HuggingTweetsError:  # metadata is a nicety: a damaged one falls back to the file name
            return None

    if kind == "csv":
        details = load(folder + "data/js/user_details.js")
        details = details if isinstance(details, dict) else {}
        handle = _plain(details.get("screen_name")).lstrip("@")
        return Author(handle=handle, name=_plain(details.get("full_name"))) if handle else None
    account = _first(load(folder + "account.js"), "account")
    handle = _plain(account.get("username")).lstrip("@")
    if not handle:
        return None
    profile = _first(load(folder + "profile.js"), "profile")
    return Author(
        handle=handle,
        name=_plain(account.get("accountDisplayName")),
        avatar_url=_plain(profile.get("avatarMediaUrl"), limit=2000),
    )


def _avatar(store: _Store, folder: str, avatar_url: str) -> bytes:
    """The archive's copy of the avatar profile.js names, or b"": a picture is a nicety, so a
    missing, damaged or oversized one just means initials are shown."""
    picture = os.path.basename(urlsplit(avatar_url or "").path)
    if not picture or picture.startswith("."):
        return b""
    for name in store.names:
        parent, _, base = name.rpartition("/")
        in_media = name.startswith(folder) and parent.rsplit("/", 1)[-1] == "profile_media"
        if in_media and (base == picture or base.endswith("-" + picture)):
            try:
                return store.read(name, MAX_AVATAR_BYTES, "not an avatar")
            except HuggingTweetsError:
                return b""
    return b""


def _plain(value, limit: int = 200) -> str:
    """A metadata field as safe text: strings and numbers only (X caps names at 50 characters)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return limits.scrub(value).strip()[:limit] if isinstance(value, str) else ""


def _handle_from_path(path: Path) -> tuple[str, str]:
    """Best guess at a handle when the archive has no account.js: the zip or folder name, and
    where it came from, as the note that asks the person to check it says."""
    what = "folder" if path.is_dir() else "file"
    if path.is_file() and TWEETS_JS.match(path.name):
        # .../jack-archive/data/tweets.js -> jack-archive
        parents = [p for p in path.resolve().parents if p.name and p.name.lower() != "data"]
        path, what = (parents[0], "folder") if parents else (path, "file")
    stem = path.stem if path.is_file() else path.name
    handle = "archive" if X_DOWNLOAD_NAME.match(stem) or not stem else stem
    return handle, f"the {what} name {path.name!r}"
