"""Write Bluesky repository exports (CAR v1 files) from invented records, with a real encoder.

Blocks are DAG-CBOR as ``cbor2`` writes it canonically, links are CBOR tag 42
over ``0x00`` + the CID's bytes, and CIDs are CIDv1 dag-cbor sha256
(``01 71 12 20`` + the block's digest), as a PDS writes them. The tree is a
Merkle search tree built as atproto builds it: a key's level is the number of
leading zero bit pairs of its sha256 (``layers`` can force one, so a test can
count on a given shape), each node's first key is whole and the rest share a
prefix with the entry before them in the same node (``p``, ``k``).

Nothing here is a real person's data. Any test can import these:

    from car_fixtures import build_car, post
    data = build_car({"app.bsky.feed.post/3kaaa": post("hello there")}, did=DID)
    (tmp_path / "repo.car").write_bytes(data)

``car_bytes`` frames arbitrary (even dishonest) blocks, for files a test wants broken.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Mapping, Optional

import cbor2

DID = "did:plc:wrenkeeperinvented00000"
OTHER_DID = "did:plc:gullsomeoneelse000000000"
CREATED = "2024-03-01T12:00:00.000Z"


def encode(obj) -> bytes:
    """``obj`` as canonical DAG-CBOR (links given as ``link(cid)``)."""
    return cbor2.dumps(obj, canonical=True)


def cid_of(block: bytes) -> bytes:
    """The CIDv1 (dag-cbor, sha2-256) of ``block``, as bytes."""
    return bytes([0x01, 0x71, 0x12, 0x20]) + hashlib.sha256(block).digest()


def link(cid: bytes) -> cbor2.CBORTag:
    """A DAG-CBOR link to ``cid`` (tag 42, the identity multibase prefix 0x00, then the CID)."""
    return cbor2.CBORTag(42, b"\x00" + cid)


def varint(n: int) -> bytes:
    """``n`` as an unsigned LEB128 varint (CAR's length prefix)."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def car_bytes(roots: Iterable[bytes], blocks: Iterable[tuple[bytes, bytes]], version: int = 1) -> bytes:
    """A CAR file: the header ``{"version", "roots"}`` then each ``(cid, data)`` framed as given."""
    header = encode({"version": version, "roots": [link(r) for r in roots]})
    out = bytearray(varint(len(header)) + header)
    for cid, data in blocks:
        out += varint(len(cid) + len(data)) + cid + data
    return bytes(out)


def layer_of(key: str) -> int:
    """A key's level in atproto's tree: leading zero bit pairs of sha256(key)."""
    level = 0
    for byte in hashlib.sha256(key.encode()).digest():
        for shift in (6, 4, 2, 0):
            if (byte >> shift) & 3:
                return level
            level += 1
    return level


def build_mst(values: Mapping[str, bytes], layers: Optional[Mapping[str, int]] = None) -> tuple[Optional[bytes], list]:
    """The tree over ``values`` (key -> record CID): (root CID or None when empty, [(cid, block)])."""
    levels = {k: (layers or {}).get(k, layer_of(k)) for k in values}
    blocks: list[tuple[bytes, bytes]] = []

    def node(keys: list[str], level: int) -> Optional[bytes]:
        if not keys:
            return None
        if level < 0:
            raise ValueError("keys below level 0")
        here = [i for i, k in enumerate(keys) if levels[k] == level]
        # A level with none of these keys is still a node: no entries, the rest on its left.
        left = node(keys[: here[0]] if here else keys, level - 1)
        entries, previous = [], b""
        for n, i in enumerate(here):
            key = keys[i].encode()
            shared = 0
            while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
                shared += 1
            right = node(keys[i + 1 : here[n + 1] if n + 1 < len(here) else len(keys)], level - 1)
            entries.append({"p": shared, "k": key[shared:], "v": link(values[keys[i]]),
                            "t": link(right) if right else None})
            previous = key
        data = encode({"l": link(left) if left else None, "e": entries})
        blocks.append((cid_of(data), data))
        return cid_of(data)

    keys = sorted(values)
    root = node(keys, max(levels.values())) if keys else None
    if root is None:  # an empty repository still has one (empty) node
        data = encode({"l": None, "e": []})
        blocks.append((cid_of(data), data))
        root = cid_of(data)
    return root, blocks


def build_car(
    records: Mapping[str, dict],
    *,
    did: str = DID,
    version: int = 3,
    layers: Optional[Mapping[str, int]] = None,
    extra_blocks: Iterable[tuple[bytes, bytes]] = (),
) -> bytes:
    """A repository export holding ``records`` (``COLLECTION/RKEY`` -> record) under a signed commit.

    ``extra_blocks`` are written too but reached by nothing (a deleted record's block, an
    old tree node), as real exports can hold them. Blocks come out commit first, then
    the tree and records in an order unlike the tree's, as a reader must not rely on it.
    """
    record_blocks = {key: encode(value) for key, value in records.items()}
    root, tree_blocks = build_mst({k: cid_of(b) for k, b in record_blocks.items()}, layers)
    commit = encode({"did": did, "version": version, "data": link(root), "rev": "3kinventedrev22",
                     "sig": bytes(range(64)), "prev": None})
    blocks = [(cid_of(commit), commit)] + list(extra_blocks)
    blocks += [(cid_of(b), b) for b in reversed(record_blocks.values())] + tree_blocks
    return car_bytes([cid_of(commit)], blocks)


def unreached(record: dict) -> tuple[bytes, bytes]:
    """A ``(cid, block)`` for ``extra_blocks``: a record that is in the file but not in the tree."""
    data = encode(record)
    return cid_of(data), data


def post(text: str, *, created: str = CREATED, facets=None, reply_to: Optional[str] = None) -> dict:
    """An ``app.bsky.feed.post`` record; ``reply_to`` is the parent post's at:// URI."""
    record = {"$type": "app.bsky.feed.post", "text": text, "createdAt": created, "langs": ["en"]}
    if facets:
        record["facets"] = facets
    if reply_to:
        ref = {"uri": reply_to, "cid": "bafyreiinventedparentcid"}
        record["reply"] = {"root": ref, "parent": ref}
    return record


def link_facet(text: str, visible: str, uri: str) -> dict:
    """A link facet over ``visible`` in ``text``, its range in UTF-8 bytes as Bluesky counts."""
    start = len(text[: text.index(visible)].encode("utf-8"))
    return {"index": {"byteStart": start, "byteEnd": start + len(visible.encode("utf-8"))},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}]}


def repost(subject_uri: str, created: str = CREATED) -> dict:
    return {"$type": "app.bsky.feed.repost", "subject": {"uri": subject_uri, "cid": "bafyreiinventedcid"},
            "createdAt": created}


def like(subject_uri: str, created: str = CREATED) -> dict:
    return {"$type": "app.bsky.feed.like", "subject": {"uri": subject_uri, "cid": "bafyreiinventedcid"},
            "createdAt": created}


def profile(display_name: str) -> dict:
    return {"$type": "app.bsky.actor.profile", "displayName": display_name, "description": "invented keeper"}
