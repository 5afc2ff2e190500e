"""The Mastodon data export ("Request your archive") as a post source.

Accepts the archive zip (members read straight out of it, never extracted), the
folder it unzips to, or its ``outbox.json`` alone. Only ``outbox.json``,
``actor.json`` and the avatar file ``actor.json``'s ``icon`` names (a plain file name beside
it, at most ``MAX_AVATAR_BYTES``, shown in the app as the X archive's is) are ever opened,
each through a size cap from ``limits``; never the media, likes or bookmarks. ``outbox.json`` is read as a stream, one activity at a
time (``limits.JsonStream``), never whole: parsed at once, a 500 MiB outbox took
2.9 GB. What is kept is bounded too (``limits.Newest``): the newest ``limits.MAX_POSTS_PER_AUTHOR``
posts within ``limits.MAX_AUTHOR_BYTES`` of text, the rest left out with a note. Shapes::

    outbox.json  {"type": "OrderedCollection", "orderedItems": [activity, ...]}
    activity     {"type": "Create", "actor", "published", "to", "cc", "object": Note}
                 {"type": "Announce", "object": URL}                       (a boost)
    actor.json   {"id", "preferredUsername", "name", "url": "https://server/@user"}

Audience: a post addressed to the public collection (in ``to``: public; in ``cc``:
unlisted) is used; anything else is followers-only or a direct message, and is
dropped before anything counts it or a file holds it.
"""

from __future__ import annotations

import os
import re
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator, Optional
from urllib.parse import urlsplit

from ..errors import HuggingTweetsError, InputTooLarge
from . import limits
from .archive import ZIP_ERRORS, _damage
from .base import Author, AuthorTweets, FetchOptions, Progress, SourceKind, Tweet, apply_options
from .mastodon import avatar_ok, profile_url
from .mastodon_text import fold, remove_shortcodes, status_text
from .mastodon import WORDS as MASTODON_WORDS

OUTBOX, ACTOR = "outbox.json", "actor.json"
MAX_AVATAR_BYTES = 4 * limits.MiB  # Mastodon resizes avatars to 400x400: well under this
_AVATAR_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}\.(?:png|jpe?g|gif|webp)", re.I)
PUBLIC = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})
POST_TYPES = ("Note", "Question")  # a poll's question is its author's words too
SNIFF_BYTES = 64 << 10  # how much of a .json is read to recognise an outbox
REQUEST = "request a new archive (Mastodon: Settings > Import and export > Request your archive)"
TOO_BIG_OUTBOX = f"Mastodon writes posts as text, so this is not an outbox from Mastodon: {REQUEST}."
TOO_BIG_ACTOR = f"Mastodon writes actor.json in a few kilobytes, so this is not one from Mastodon: {REQUEST}."
TOO_BIG_ACTIVITY = f"Mastodon writes each post in a few kilobytes, so this is not an outbox from Mastodon: {REQUEST}."
_WHAT = f"is this a Mastodon archive? Give the .zip Mastodon made, its folder or its outbox.json, or {REQUEST}."
_HOST = re.compile(r"[a-z0-9.\-]+(?::\d{1,5})?")
_USER = re.compile(r"[A-Za-z0-9_.\-]+")
_USER_PATH = re.compile(r"/(?:users/|@)([A-Za-z0-9_.\-]+)/?")


# --- recognising an export, cheaply ------------------------------------------------------------


def _outbox_member(names) -> Optional[str]:
    """outbox.json at the zip's root, else one folder down; None when neither."""
    names = [n for n in names if "__MACOSX/" not in n]
    if OUTBOX in names:
        return OUTBOX
    return next((n for n in sorted(names) if n.count("/") == 1 and n.endswith("/" + OUTBOX)), None)


def _outbox_in_folder(root: Path) -> Optional[Path]:
    if (root / OUTBOX).is_file():
        return root / OUTBOX
    try:  # one folder down, never deeper: someone may point at their home folder
        with os.scandir(root) as entries:
            subfolders = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    except OSError:
        return None
    return next((root / d / OUTBOX for d in subfolders if (root / d / OUTBOX).is_file()), None)


def _looks_like_outbox(head: bytes) -> bool:
    """The start of a JSON object that is an OrderedCollection with orderedItems."""
    text = head.decode("utf-8", "ignore").lstrip("\ufeff \t\r\n")
    return (text.startswith("{") and re.search(r'"orderedItems"\s*:\s*\[', text) is not None
            and re.search(r'"type"\s*:\s*"OrderedCollection(?:Page)?"', text) is not None)


def is_export(path: Path) -> bool:
    """A Mastodon archive zip, its folder, or an outbox .json: by content, reading little."""
    try:
        if path.is_dir():
            return _outbox_in_folder(path) is not None
        if not path.is_file():
            return False
        suffix = path.suffix.lower()
        with open(path, "rb") as f:
            head = f.read(4)
            if head[:2] != b"PK" and suffix != ".zip":
                return suffix == ".json" and _looks_like_outbox(head + f.read(SNIFF_BYTES - len(head)))
        with zipfile.ZipFile(path) as zf:  # reads the central directory, not the members
            return _outbox_member(zf.namelist()) is not None
    except (OSError, NotImplementedError, *ZIP_ERRORS):
        return False


KIND = SourceKind(
    name="mastodon-export",
    label="Mastodon archive",
    takes="the .zip from Mastodon's 'Request your archive' (Settings > Import and export), its folder, or outbox.json",
    example="archive-20240101-abc.zip",
    build=lambda spec, options: MastodonArchiveSource(spec, options),
    match_path=is_export,
    profile_url=profile_url,
    avatar_ok=avatar_ok,
    limits="public and unlisted posts only (followers-only posts and direct messages are never read into the data); "
    "no media; the handle comes from actor.json, else --author",
    words=MASTODON_WORDS,
)


# --- reading -----------------------------------------------------------------------------------


class MastodonArchiveSource:
    """Posts from a Mastodon archive: the .zip, its folder, or outbox.json itself."""

    def __init__(self, path, options: Optional[FetchOptions] = None):
        self.path = Path(path).expanduser()
        self.options = options or FetchOptions()

    def __repr__(self) -> str:
        return f"MastodonArchiveSource({str(self.path)!r})"

    def fetch(self, progress: Optional[Progress] = None) -> AuthorTweets:
        if not self.path.exists():
            raise HuggingTweetsError(f"File not found: {self.path}. Check the path to the Mastodon archive.")
        if self.path.is_dir():
            outbox = _outbox_in_folder(self.path)
            if outbox is None:
                raise HuggingTweetsError(f"No outbox.json in folder {self.path.name}: {_WHAT}")
            return self._read(*_files(outbox, f" in folder {outbox.parent.name}"), progress)
        if self.path.suffix.lower() == ".json":  # outbox.json alone; actor.json is read when beside it
            return self._read(*_files(self.path, ""), progress)
        try:
            zf = zipfile.ZipFile(self.path)
        except OSError as e:
            if not _damage(e):
                raise HuggingTweetsError(f"Cannot read {self.path}: {e.strerror}.") from None
            raise HuggingTweetsError(f"{self.path.name} is not a valid zip file: {REQUEST}.") from None
        except (NotImplementedError, *ZIP_ERRORS):  # NotImplementedError: a zip version Python lacks
            raise HuggingTweetsError(f"{self.path.name} is not a valid zip file: {REQUEST}.") from None
        with zf:
            member = _outbox_member(zf.namelist())
            if member is None:
                raise HuggingTweetsError(f"No outbox.json in {self.path.name}: {_WHAT}")
            folder = member[: -len(OUTBOX)]
            where = lambda n: f"{folder}{n} in {self.path.name}"  # noqa: E731
            opener = lambda n, cap, hint: _zip_open(zf, folder + n, cap, hint, where(n))  # noqa: E731
            return self._read(opener, where, folder + ACTOR in zf.namelist(), progress)

    def _read(self, opener, where, has_actor: bool, progress: Optional[Progress]) -> AuthorTweets:
        """``opener(name, cap, hint)``: a context manager holding the member as a binary stream
        whose read errors are already one line."""
        label = where(OUTBOX)
        if progress:
            progress(0, None, f"Reading {label}")
        actor = _actor(opener, where) if has_actor else {}  # first: its address tells replies to oneself
        own = {u for u in (actor.get("id"), actor.get("url")) if isinstance(u, str) and u}
        kept, skipped, first_actor = limits.Newest(), 0, ""
        with opener(OUTBOX, limits.MAX_TWEETS_FILE_BYTES, TOO_BIG_OUTBOX) as stream:
            for n, item in enumerate(_activities(stream, label)):
                if not first_actor and isinstance(item, dict):
                    first_actor = _user_at_host(_url(item.get("actor")))
                tweet = _tweet(item, own)
                if tweet is None:
                    continue
                if limits.post_too_long(tweet.text):
                    skipped += 1
                    continue
                kept.add(tweet, n)
        tweets = kept.tweets()
        if not tweets:
            why = ("it holds no public or unlisted posts or boosts (followers-only posts and direct messages "
                   "are never used)")
            if skipped:
                why = f"all {skipped} of its public posts are over {limits.MAX_POST_CHARS:,} characters"
            raise HuggingTweetsError(f"No public posts in {label}: {why}. Check it is the right account's archive.")
        notes = [kept.note(label)] if kept.left_out else []
        if progress:
            note = f"; {skipped} over {limits.MAX_POST_CHARS:,} characters skipped" if skipped else ""
            progress(len(tweets), len(tweets), f"Read {len(tweets)} public posts and boosts from {label}{note}")
            for line in notes:
                progress(len(tweets), len(tweets), line)
        author = _author(actor, first_actor, self.options, self.path)
        return AuthorTweets(author=author, tweets=apply_options(tweets, self.options), notes=notes, picture=_picture(opener, actor))


def _activities(stream: BinaryIO, label: str) -> Iterator:
    """The items of the outbox's ``orderedItems``, one at a time, from a stream that is never
    held whole; every problem is one line naming the file."""
    found = False
    try:
        json = limits.JsonStream(limits.text_chunks(stream, limits.MAX_TWEETS_FILE_BYTES, label, TOO_BIG_OUTBOX))
        if json.peek() != "{":
            raise _NotAnOutbox
        json.take("{")
        more = json.peek() != "}"
        while more:
            if json.peek() != '"':
                raise json.bad()
            key = json.value(limits.MAX_STREAMED_ITEM_CHARS)
            json.take(":")
            if key == "orderedItems" and json.peek() == "[":
                found = True
                yield from json.items(limits.MAX_STREAMED_ITEM_CHARS)
            else:  # "@context", "type", "totalItems", ...: small values, read and let go
                json.value(limits.MAX_STREAMED_ITEM_CHARS)
                found = found and key != "orderedItems"  # a later orderedItems that is no list wins
            more = json.peek() != "}"
            if more:
                json.take(",")
        json.take("}")
        json.end()
    except _NotAnOutbox:
        found = False
    except UnicodeDecodeError as e:
        raise HuggingTweetsError(f"{label} is damaged (not UTF-8 at byte {e.start}): {REQUEST}.") from None
    except limits.ItemTooLong as e:
        raise HuggingTweetsError(f"{label} holds {e}: {TOO_BIG_ACTIVITY}") from None
    except limits.BadJson as e:
        raise HuggingTweetsError(f"{label} is damaged ({e}): {REQUEST}.") from None
    if not found:
        raise HuggingTweetsError(f"{label} is not a Mastodon outbox (no orderedItems list): give the outbox.json "
                                 f"from the archive, or {REQUEST}.")


class _NotAnOutbox(Exception):
    pass


def _files(outbox: Path, folder: str):
    """(opener, where, has_actor) for an outbox.json file and the actor.json beside it."""
    paths = {OUTBOX: outbox, ACTOR: outbox.parent / ACTOR}
    path = lambda n: paths.get(n) or outbox.parent / n  # noqa: E731  (the avatar: a plain name, _AVATAR_NAME)
    where = lambda n: path(n).name + folder  # noqa: E731
    return (lambda n, cap, hint: limits.open_file(path(n), cap, hint, where(n))), where, paths[ACTOR].is_file()


@contextmanager
def _zip_open(zf: zipfile.ZipFile, name: str, cap: int, hint: str, where: str):
    def damaged(e: Exception):
        if isinstance(e, OSError) and not _damage(e):
            raise HuggingTweetsError(f"Cannot read {where}: {e.strerror}.") from None
        raise HuggingTweetsError(f"{where} is damaged: {REQUEST}.") from None

    try:
        info = zf.getinfo(name)
        if info.file_size > cap:  # the header's word first; the count while reading does not trust it
            raise limits.too_large(where, cap, hint, size=info.file_size)
        member = zf.open(info)
    except NotImplementedError:
        raise HuggingTweetsError(
            f"{where} uses a compression Python cannot read: unzip it and give the folder.") from None
    except RuntimeError:  # encrypted
        raise HuggingTweetsError(f"{where} is encrypted: unzip it with its password and give the folder.") from None
    except (OSError, *ZIP_ERRORS) as e:
        damaged(e)
    with member:
        yield limits.Reads(member, (OSError, *ZIP_ERRORS), damaged)


def _load(opener, where, name: str, cap: int, hint: str):
    with opener(name, cap, hint) as stream:
        data = limits.read_capped(stream, cap, where(name), hint)
    try:
        return limits.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise HuggingTweetsError(f"{where(name)} is damaged (not UTF-8 at byte {e.start}): {REQUEST}.") from None
    except limits.BadJson as e:
        raise HuggingTweetsError(f"{where(name)} is damaged ({e}): {REQUEST}.") from None


def _picture(opener, actor: dict) -> bytes:
    """The archive's copy of the avatar ``actor.json`` names (``icon.url``, a file beside it), or
    b"": a picture is a nicety, so a missing, damaged or oversized one means initials."""
    icon = actor.get("icon")
    name = icon.get("url") if isinstance(icon, dict) else None
    if not isinstance(name, str) or not _AVATAR_NAME.fullmatch(name):
        return b""  # a URL or a path elsewhere: never followed
    try:
        with opener(name, MAX_AVATAR_BYTES, "not an avatar") as stream:
            data = stream.read(MAX_AVATAR_BYTES + 1)
    except (HuggingTweetsError, OSError, KeyError):
        return b""
    return data if 0 < len(data) <= MAX_AVATAR_BYTES else b""


def _actor(opener, where) -> dict:
    try:
        actor = _load(opener, where, ACTOR, limits.MAX_METADATA_BYTES, TOO_BIG_ACTOR)
    except InputTooLarge:
        raise
    except HuggingTweetsError:  # the profile is a nicety: a damaged one falls back to the outbox
        return {}
    return actor if isinstance(actor, dict) else {}


# --- one activity --------------------------------------------------------------------------------


def _list(value) -> list:
    """A JSON-LD property as a list: one value may stand alone, without brackets."""
    return value if isinstance(value, list) else [] if value is None else [value]


def _emoji(obj: dict) -> list[str]:
    """The custom emoji names an object's ``tag`` declares (":blobcat:")."""
    tags = (t for t in _list(obj.get("tag")) if isinstance(t, dict) and t.get("type") == "Emoji")
    return [t["name"] for t in tags if isinstance(t.get("name"), str)]


def _is_public(activity: dict, obj: Optional[dict]) -> bool:
    """Public (the public collection in ``to``) or unlisted (in ``cc``); the post's own audience
    wins over the activity's, and a post that names none is private."""
    where = obj if isinstance(obj, dict) and ("to" in obj or "cc" in obj) else activity
    return any(isinstance(a, str) and a in PUBLIC for key in ("to", "cc") for a in _list(where.get(key)))


def _url(value) -> str:
    if isinstance(value, dict):
        value = value.get("id") or value.get("href")
    return value if isinstance(value, str) else ""


def _tweet(activity, own: set) -> Optional[Tweet]:
    """The activity as a Tweet, or None when it is private or not a post or boost."""
    if not isinstance(activity, dict) or activity.get("type") not in ("Create", "Announce"):
        return None
    obj = activity.get("object")
    if not _is_public(activity, obj):
        return None
    if activity["type"] == "Announce":  # a boost: someone else's post, counted as a retweet
        tweet_id = _url(activity.get("id")) or _url(obj)
        return Tweet(id=tweet_id, text="", created_at=_when(activity), is_retweet=True) if tweet_id else None
    if not isinstance(obj, dict) or obj.get("type") not in POST_TYPES:
        return None
    content = obj.get("content")
    if not isinstance(content, str) and isinstance(obj.get("contentMap"), dict):
        content = next((v for v in obj["contentMap"].values() if isinstance(v, str)), "")
    text = status_text(content if isinstance(content, str) else "", _emoji(obj))
    tweet_id = _url(obj.get("id")) or _url(activity.get("id"))
    if not tweet_id:
        return None
    reply_to = _url(obj.get("inReplyTo"))
    mine = own | {u for u in (_url(activity.get("actor")), _url(obj.get("attributedTo"))) if u}
    is_reply = bool(reply_to) and not any(reply_to.startswith(u.rstrip("/") + "/") for u in mine)
    return Tweet(id=tweet_id, text=text, created_at=_when(obj) or _when(activity), is_reply=is_reply)


def _when(obj: dict) -> str:
    published = obj.get("published")
    return published if isinstance(published, str) else ""


# --- the author -----------------------------------------------------------------------------------


def _field(value, limit: int = 200) -> str:
    return limits.scrub(value).strip()[:limit] if isinstance(value, str) else ""


def _user_at_host(url: str, user: str = "") -> str:
    """https://server/users/user or https://server/@user -> user@server; "" when it is neither."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return ""
    match = _USER_PATH.fullmatch(parts.path)
    user = user or (match.group(1) if match else "")
    return f"{user}@{host}" if user and host and _USER.fullmatch(user) and _HOST.fullmatch(host) else ""


def _author(actor: dict, first_actor: str, options: FetchOptions, path: Path) -> Author:
    """``first_actor``: user@server of the first activity that names its actor, for want of actor.json."""
    user = _field(actor.get("preferredUsername"))
    handle = _user_at_host(_url(actor.get("url")), user) or _user_at_host(_url(actor.get("id")), user)
    handle = handle or first_actor
    given = (options.author or "").strip().lstrip("@")
    stem = path.parent.name if path.is_file() and path.suffix.lower() == ".json" else path.stem
    name = fold(remove_shortcodes(_field(actor.get("name")), _emoji(actor)))
    icon = actor.get("icon")
    avatar = _url(icon.get("url")) if isinstance(icon, dict) else ""
    return Author(handle=given or handle or stem or "mastodon", name=name,
                  avatar_url=avatar if avatar.startswith("https://") else "", source="mastodon-export")
