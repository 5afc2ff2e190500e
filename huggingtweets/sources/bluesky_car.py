"""The Bluesky data export (Settings → Export my data) as a post source.

The export is the account's whole repository, the same bytes
``com.atproto.sync.getRepo`` returns: a CAR v1 file. It
is recognised by its content, whatever its name: a varint-length-prefixed
DAG-CBOR header ``{"version": 1, "roots": [CID]}``.

The root is the signed commit ``{"did", "version", "data", "rev", "sig",
"prev"}``; ``data`` is the root of a Merkle search tree whose nodes are
``{"l": CID|null, "e": [{"p", "k", "v", "t"}]}``. An entry's key is the
previous entry's (in the same node) first ``p`` bytes plus ``k``:
``COLLECTION/RKEY``; ``v`` is the record, ``l`` and ``t`` are the subtrees left
of the first entry and right of each entry. Only records the tree reaches are
live: a file can still hold the blocks of deleted records, which never come back.

``libipld`` decodes the file; a decoded link is the CID's bytes (libipld 3),
the same value that keys the blocks, so links are looked up as they come. The
file is someone's own but may be damaged or hostile: it is read under
``limits.MAX_REPO_FILE_BYTES``, each tree node is visited once, the tree may be
at most ``MAX_TREE_DEPTH`` deep, and every failure is one line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator, Optional

from ..errors import HuggingTweetsError, first_line
from . import bluesky_text, limits
from .base import Author, AuthorTweets, FetchOptions, Progress, SourceKind, Tweet, apply_options, named_by_file
from .bluesky import WORDS as BLUESKY_WORDS

POST = "app.bsky.feed.post"
REPOST = "app.bsky.feed.repost"
PROFILE_KEY = "app.bsky.actor.profile/self"
SOURCE = "bluesky-export"
# A real tree is about log4(records) deep (a key's level is its hash's leading zeros in
# 2-bit steps): 12 for ten million records. Deeper is a hostile or broken file.
MAX_TREE_DEPTH = 64
# The CAR header is about 60 bytes (one root); detection reads no more than this.
SNIFF_BYTES = 512
EXPORT_AGAIN = "export it again from Settings → Export my data (or com.atproto.sync.getRepo)"
TOO_BIG = "a Bluesky export is at most a few hundred MB even for a big account, so this is not one: " + EXPORT_AGAIN
_DID = re.compile(r"did:[a-z]+:[A-Za-z0-9._:%-]+")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]")


def _varint(data: bytes, at: int = 0) -> tuple[Optional[int], int]:
    """An unsigned LEB128 integer at ``data[at:]`` and the offset after it; (None, at) if there is none."""
    value = shift = 0
    for i in range(at, min(len(data), at + 9)):
        value |= (data[i] & 0x7F) << shift
        if not data[i] & 0x80:
            return value, i + 1
        shift += 7
    return None, at


def _header(data: bytes):
    """The decoded CAR header at the start of ``data``, or None when there is none."""
    size, at = _varint(data)
    if not size or at + size > len(data):
        return None
    try:
        import libipld

        return libipld.decode_dag_cbor(data[at : at + size])
    except Exception:  # anything libipld raises on bytes that are not DAG-CBOR
        return None


def is_repo_car(path: Path) -> bool:
    """A regular file that starts as a CAR v1 does (reads a few hundred bytes; never raises)."""
    try:
        if not path.is_file():
            return False
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except (OSError, ValueError):
        return False
    header = _header(head)
    return isinstance(header, dict) and header.get("version") == 1 and isinstance(header.get("roots"), list)


def profile_url(author: Author) -> str:
    """The profile page when the handle is one Bluesky knows (a DID or a domain), else ""."""
    handle = author.handle
    return f"https://bsky.app/profile/{handle}" if _DID.fullmatch(handle) or _DOMAIN.fullmatch(handle) else ""


KIND = SourceKind(
    name=SOURCE,
    label="Bluesky export",
    takes="the repository file (.car) from Settings → Export my data",
    example="repo.car",
    build=lambda spec, options: BlueskyCarSource(spec, options),
    match_path=is_repo_car,
    profile_url=profile_url,
    limits="posts and reposts only (never images); the handle is --author, else the account's DID",
    words=BLUESKY_WORDS,
)


class BlueskyCarSource:
    """Posts from a Bluesky repository export; the author is options.author or the repo's DID."""

    def __init__(self, path, options: Optional[FetchOptions] = None):
        self.path = Path(path).expanduser()
        self.options = options or FetchOptions()
        self.name = self.path.name

    def fetch(self, progress: Optional[Progress] = None) -> AuthorTweets:
        data = self._read()
        if progress:
            progress(0, None, f"Read {limits.size_words(len(data))} from {self.name}")
        did, tree = self._commit(*self._decode(data))
        named, notes = named_by_file(Author(handle=did), self.options, "the export's DID (the file holds no handle)")
        handle = named.handle
        tweets, skipped, profile = [], 0, {}
        for key, record in self._records(tree):
            if key == PROFILE_KEY:
                profile = record
                continue
            tweet = _tweet(did, key, record, {did, handle})
            if tweet is None:
                continue
            if limits.post_too_long(tweet.text):
                skipped += 1
                continue
            tweets.append(tweet)
        if not tweets:
            what = "it holds no posts or reposts"
            if skipped:
                what = f"all {skipped} of its posts are over {limits.MAX_POST_CHARS:,} characters"
            raise HuggingTweetsError(f"No posts in {self.name}: {what}. Check it is the right account's export.")
        if progress:
            more = f"; {skipped} over {limits.MAX_POST_CHARS:,} characters skipped" if skipped else ""
            progress(len(tweets), len(tweets), f"Read {len(tweets)} posts from {self.name}{more}")
        name = profile.get("displayName") if isinstance(profile, dict) else None
        name = limits.scrub(name).strip()[:200] if isinstance(name, str) else ""
        author = Author(handle=handle, name=name, source=SOURCE)
        return AuthorTweets(author=author, tweets=apply_options(tweets, self.options), notes=notes)

    # --- the file ---------------------------------------------------------------------------

    def _read(self) -> bytes:
        cap = limits.MAX_REPO_FILE_BYTES
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size  # 0 for devices and pipes: the count still holds
                if size > cap:
                    raise limits.too_large(self.name, cap, TOO_BIG, size=size)
                return limits.read_capped(f, cap, self.name, TOO_BIG)
        except FileNotFoundError:
            raise HuggingTweetsError(f"File not found: {self.path}. Check the path to the Bluesky export.") from None
        except IsADirectoryError:
            raise HuggingTweetsError(f"{self.path} is a folder: give the .car file from the Bluesky export.") from None
        except OSError as e:
            raise HuggingTweetsError(f"Cannot read {self.path}: {e.strerror}.") from None

    def _decode(self, data: bytes) -> tuple[dict, dict]:
        header = _header(data[:SNIFF_BYTES])
        if not (isinstance(header, dict) and header.get("version") == 1):
            raise HuggingTweetsError(
                f"{self.name} is not a CAR file: give the repository file (.car) from Bluesky's "
                "Settings → Export my data."
            )
        try:
            import libipld
        except ImportError:
            raise HuggingTweetsError("Reading a Bluesky export needs libipld: pip install libipld") from None
        try:
            header, blocks = libipld.decode_car(data)
        except Exception as e:  # libipld raises ValueError, but a damaged file may make it raise others
            reason = first_line(e).rstrip(".")[:120]
            raise HuggingTweetsError(f"{self.name} is damaged ({reason}): {EXPORT_AGAIN}.") from None
        if not isinstance(header, dict) or not isinstance(blocks, dict):
            raise HuggingTweetsError(f"{self.name} is damaged (no header): {EXPORT_AGAIN}.")
        return header, blocks

    def _commit(self, header: dict, blocks: dict) -> tuple[str, "_Tree"]:
        """The repository's DID and its tree, from the commit the header names."""
        roots = header.get("roots")
        not_repo = (
            f"{self.name} is a CAR file but not a Bluesky repository (its root is not a signed commit): "
            f"{EXPORT_AGAIN}."
        )
        if not isinstance(roots, list) or not roots or not _is_link(roots[0]):
            raise HuggingTweetsError(not_repo)
        tree = _Tree(self.name, blocks)
        commit = tree.block(roots[0])
        did = commit.get("did") if isinstance(commit, dict) else None
        if not (isinstance(did, str) and _DID.fullmatch(did) and _is_link(commit.get("data"))):
            raise HuggingTweetsError(not_repo)
        version = commit.get("version")
        if version not in (2, 3):
            raise HuggingTweetsError(
                f"{self.name} is a Bluesky repository of version {version!r}, which this tool does not read "
                "(it reads versions 2 and 3): export it again, or report it."
            )
        tree.root = commit["data"]
        return did, tree

    def _records(self, tree: "_Tree") -> Iterator[tuple[str, dict]]:
        """(key, record) for the profile, posts and reposts the tree reaches, in key order."""
        for key, link in tree.entries():
            if key != PROFILE_KEY and key.split("/", 1)[0] not in (POST, REPOST):
                continue  # likes, follows, lists...: never decoded further
            record = tree.block(link)
            if isinstance(record, dict):
                yield key, record


def _is_link(value) -> bool:
    return isinstance(value, (bytes, str)) and len(value) > 0


class _Tree:
    """The blocks of one file and an in-order walk of the tree from ``root``."""

    def __init__(self, name: str, blocks: dict):
        self.name, self.blocks, self.root = name, blocks, None

    def damaged(self, what: str) -> HuggingTweetsError:
        return HuggingTweetsError(f"{self.name} is damaged ({what}): {EXPORT_AGAIN}.")

    def block(self, link):
        try:
            return self.blocks[link]
        except (KeyError, TypeError):
            raise HuggingTweetsError(
                f"{self.name} is incomplete (a block its repository names is missing): {EXPORT_AGAIN}."
            ) from None

    def entries(self) -> Iterator[tuple[str, object]]:
        """(``COLLECTION/RKEY``, the record's link) for every entry, left to right."""
        return self._walk(self.root, 1, set())

    def _walk(self, link, depth: int, seen: set) -> Iterator[tuple[str, object]]:
        if depth > MAX_TREE_DEPTH:
            raise self.damaged(f"its tree is more than {MAX_TREE_DEPTH} levels deep")
        if link in seen:
            raise self.damaged("its tree loops back on itself")
        seen.add(link)
        node = self.block(link)
        entries = node.get("e") if isinstance(node, dict) else None
        if not isinstance(entries, list):
            raise self.damaged("a tree node without entries")
        if node.get("l") is not None:
            yield from self._walk(self._link(node["l"]), depth + 1, seen)
        previous = b""
        for entry in entries:
            if not isinstance(entry, dict):
                raise self.damaged("a tree entry that is not a map")
            prefix, rest = entry.get("p"), entry.get("k")
            if not (isinstance(prefix, int) and isinstance(rest, bytes) and 0 <= prefix <= len(previous)):
                raise self.damaged("a tree key that cannot be rebuilt")
            previous = previous[:prefix] + rest
            try:
                key = previous.decode("utf-8")
            except UnicodeDecodeError:
                raise self.damaged("a tree key that is not text") from None
            yield key, self._link(entry.get("v"))
            if entry.get("t") is not None:
                yield from self._walk(self._link(entry["t"]), depth + 1, seen)

    def _link(self, value):
        if not _is_link(value):
            raise self.damaged("a tree link that is not a CID")
        return value


def _did_of(uri) -> str:
    """``at://did:plc:x/app.bsky.feed.post/y`` -> ``did:plc:x`` ("" when it is not an at:// URI)."""
    if not isinstance(uri, str) or not uri.startswith("at://"):
        return ""
    return uri[len("at://"):].split("/", 1)[0]


def _tweet(did: str, key: str, record: dict, selves: set) -> Optional[Tweet]:
    """A post or repost as a Tweet; None for any other record."""
    collection = key.split("/", 1)[0]
    created = record.get("createdAt")
    created = limits.scrub(created)[:64] if isinstance(created, str) else ""
    tweet_id = f"at://{did}/{key}"
    if collection == REPOST:
        return Tweet(id=tweet_id, text="", created_at=created, is_retweet=True)
    if collection != POST:
        return None
    reply = record.get("reply")
    is_reply = False
    if isinstance(reply, dict):
        parent = reply.get("parent")
        # A reply to one's own post is a thread, not a reply to someone else.
        is_reply = _did_of(parent.get("uri") if isinstance(parent, dict) else None) not in selves
    return Tweet(id=tweet_id, text=bluesky_text.post_text(record), created_at=created, is_reply=is_reply)
