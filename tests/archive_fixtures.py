"""Write X archives and tweet files into a test's tmp_path, from invented tweets.

Nothing here is a real person's data: ``make_tweets`` writes numbered sentences
for a fictional account. Any test can import these:

    from archive_fixtures import make_tweets, write_archive, write_text_file
    path = write_archive(tmp_path, generation="2022", tweets=make_tweets(5), parts=2)
"""

from __future__ import annotations

import csv
import html
import io
import json
import struct
import zipfile
import zlib
from datetime import datetime
from pathlib import Path
from typing import Optional

GENERATIONS = ("2022", "2019", "early2019", "grailbird")
HANDLE = "inventedbird"
DISPLAY_NAME = "Invented Bird"
AVATAR = "https://pbs.twimg.com/profile_images/1/invented.jpg"


def make_tweets(n: int = 5, *, start_id: int = 1000, replies=(), retweets=()) -> list[dict]:
    """``n`` invented tweets as plain dicts: id, text, created_at (X style), reply_to.

    ``replies`` / ``retweets`` are indexes to turn into a reply (to @someone) or an "RT @" repost.
    """
    tweets = []
    for i in range(n):
        text = f"Invented tweet number {i} about bread &amp; jam"
        if i in retweets:
            text = f"RT @someone: reposted thought {i}"
        tweets.append(
            {
                "id": str(start_id + i),
                "text": text,
                "created_at": f"Wed Oct {10 + i % 18:02d} 20:07:{i % 60:02d} +0000 2022",
                "reply_to": "someone" if i in replies else None,
            }
        )
    return tweets


def x_tweet(t: dict, *, legacy_text: bool = False) -> dict:
    """One tweet in the archive's own shape (all values strings, as X writes them)."""
    obj = {
        "id_str": t["id"],
        "id": t["id"],
        "created_at": t["created_at"],
        "text" if legacy_text else "full_text": t["text"],
        "retweeted": False,  # X writes false even for retweets
        "lang": "en",
        "favorite_count": "3",
        "retweet_count": "0",
        "entities": {"hashtags": [], "urls": [], "user_mentions": []},
    }
    if t.get("reply_to"):
        obj["in_reply_to_status_id_str"] = str(int(t["id"]) - 1)
        obj["in_reply_to_screen_name"] = t["reply_to"]
    for key in ("edit_info", "note_tweet"):  # set by the "every post" helpers below
        if key in t:
            obj[key] = t[key]
    return obj


def js_text(variable: str, items: list) -> str:
    """``window.YTD.<variable> = [...]`` as X writes it."""
    return f"window.YTD.{variable} = {json.dumps(items, indent=2)}"


def archive_members(
    generation: str = "2022", tweets: Optional[list[dict]] = None, *, parts: int = 1, account: bool = True,
    profile: bool = True,
) -> dict[str, str]:
    """{member name: text} of an archive; tweets are split into ``parts`` files, in order."""
    tweets = make_tweets() if tweets is None else tweets
    members: dict[str, str] = {}
    if generation == "grailbird":
        members["tweets.csv"] = grailbird_csv(tweets)
        if account:
            details = {"screen_name": HANDLE, "full_name": DISPLAY_NAME, "id": "1"}
            members["data/js/user_details.js"] = f"var user_details =  {json.dumps(details)}"
        return members
    folder, stem, wrap = {
        "2022": ("data/", "tweets", True),
        "2019": ("data/", "tweet", True),
        "early2019": ("", "tweet", False),
    }[generation]
    size = -(-len(tweets) // parts) if tweets else 0  # ceil: every part but the last is full
    for p in range(parts):
        chunk = tweets[p * size : (p + 1) * size] if size else []
        items = [{"tweet": x_tweet(t)} if wrap else x_tweet(t) for t in chunk]
        name = f"{folder}{stem}.js" if p == 0 else f"{folder}{stem}-part{p}.js"
        members[name] = js_text(f"{stem}.part{p}", items)
    if account:
        acc = {"username": HANDLE, "accountDisplayName": DISPLAY_NAME, "accountId": "1", "email": "x@example.invalid"}
        members[f"{folder}account.js"] = js_text("account.part0", [{"account": acc}])
    if profile:
        prof = {"description": {"bio": "Not a real bird."}, "avatarMediaUrl": AVATAR}
        members[f"{folder}profile.js"] = js_text("profile.part0", [{"profile": prof}])
    # Real archives carry more files; the reader must ignore them.
    members[f"{folder}tweet-headers.js" if folder else "like.js"] = js_text("misc.part0", [])
    members.setdefault(f"{folder}deleted-tweets.js", js_text("deleted_tweets.part0", []))
    return members


def write_archive(
    tmp_path: Path, generation: str = "2022", tweets: Optional[list[dict]] = None, *, parts: int = 1,
    account: bool = True, profile: bool = True, form: str = "zip", name: str = "bird-archive",
    extra: Optional[dict[str, str]] = None,
) -> Path:
    """Write an archive and return the path to give ``ArchiveSource``.

    form: "zip" (``<name>.zip``), "folder" (``<name>/``) or "js" (the tweets file inside the
    folder, e.g. ``<name>/data/tweets.js``; for Grailbird, the folder). ``extra`` adds or
    replaces members (to plant damaged files).
    """
    members = archive_members(generation, tweets, parts=parts, account=account, profile=profile)
    members.update(extra or {})
    tweets_file = next(m for m in members if m.endswith(("tweets.js", "tweet.js", "tweets.csv")))
    return write_members(tmp_path, members, form=form, name=name, tweets_file=tweets_file)


def write_members(
    tmp_path: Path, members: dict, *, form: str = "zip", name: str = "bird-archive", tweets_file: str = "data/tweets.js"
) -> Path:
    """Write {member: str or bytes} as a zip (in the dict's order), a folder, or a folder's
    ``tweets_file`` (form "js"; a .csv gives the folder) and return that path."""
    Path(tmp_path).mkdir(parents=True, exist_ok=True)
    if form == "zip":
        return write_zip(Path(tmp_path) / f"{name}.zip", members)
    root = Path(tmp_path) / name
    for member, text in members.items():
        (root / member).parent.mkdir(parents=True, exist_ok=True)
        (root / member).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    if form == "folder" or tweets_file.endswith(".csv"):
        return root
    return root / tweets_file


def write_zip(path: Path, members: dict) -> Path:
    """A deflated zip holding ``members`` ({name: str or bytes}) in the dict's order."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path


def grailbird_csv(tweets: list[dict]) -> str:
    """Grailbird's tweets.csv (2012-2018 archives)."""
    out = io.StringIO()
    fields = ["tweet_id", "in_reply_to_status_id", "in_reply_to_user_id", "timestamp", "source", "text",
              "retweeted_status_id", "retweeted_status_user_id", "retweeted_status_timestamp", "expanded_urls"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for t in tweets:
        rt = t["text"].startswith("RT @")
        writer.writerow({
            "tweet_id": t["id"],
            "in_reply_to_status_id": str(int(t["id"]) - 1) if t.get("reply_to") else "",
            "timestamp": "2012-03-04 05:06:07 +0000",
            "source": "web",
            "text": t["text"],
            "retweeted_status_id": "42" if rt else "",
        })
    return out.getvalue()


def write_text_file(tmp_path: Path, name: str, content, *, encoding: str = "utf-8") -> Path:
    """Write a .txt/.csv/.jsonl file. ``content`` is the file's text, or for .jsonl a list of
    objects (one per line), or for .csv a list of rows (the first is the header)."""
    path = Path(tmp_path) / name
    if isinstance(content, list) and name.endswith(".jsonl"):
        content = "\n".join(json.dumps(obj, ensure_ascii=False) for obj in content) + "\n"
    elif isinstance(content, list) and name.endswith(".csv"):
        out = io.StringIO()
        csv.writer(out).writerows(content)
        content = out.getvalue()
    path.write_bytes(content.encode(encoding))
    return path


# --- every post: long posts, edits, deletions (newer archives) ---------------------------------

LONG_SENTENCES = (
    "The lighthouse keeper counted gulls & wrote their names in a ledger nobody asked for.",
    "On Tuesdays the fog came in early, so the ledger grew a column for guesses.",
    "By winter the guesses outnumbered the gulls, which seemed about right to everyone.",
    "Nobody minded; the bread was warm <and> the jam was plentiful.",
)


def long_text(i: int, length: int = 700) -> str:
    """An invented post of about ``length`` characters (over X's 280), unique by ``i``."""
    words = f"Long post {i}:"
    while len(words) < length:
        words += " " + LONG_SENTENCES[(len(words) + i) % len(LONG_SENTENCES)]
    return words


def cut_short(text: str, keep: int = 270) -> str:
    """How tweets.js holds a long post: HTML-escaped, cut, an ellipsis and a t.co link."""
    return html.escape(text[:keep], quote=False) + "… https://t.co/InVeNtEd01"


def note_time(x_created_at: str) -> str:
    """'Thu Nov 03 10:00:00 +0000 2022' -> '2022-11-03T10:00:00.000Z', as note-tweet.js writes it."""
    return datetime.strptime(x_created_at, "%a %b %d %H:%M:%S %z %Y").strftime("%Y-%m-%dT%H:%M:%S.000Z")


def note_item(text: str, created_at: str = "", *, shape: str = "core", tweet_id: str = "", note_id: str = "1") -> dict:
    """One note-tweet.js item. shape "core": the real one (no tweet id); "text": text straight
    under noteTweet; "tweet_id": carries tweetId and noteTweetResults.text."""
    if shape == "tweet_id":
        return {"noteTweet": {"noteTweetId": note_id, "tweetId": tweet_id, "noteTweetResults": {"text": text}}}
    if shape == "text":
        note = {"noteTweetId": note_id, "text": text}
    else:
        core = {"text": text, "urls": [], "mentions": [], "cashtags": [], "hashtags": [], "styletags": []}
        note = {"noteTweetId": note_id, "core": core, "lifecycle": {"value": {"value": "Active"}}}
    if created_at:
        note["createdAt"] = note["updatedAt"] = created_at
    return {"noteTweet": note}


def edit_first(ids: list) -> dict:
    """``edit_info`` of a post's first version (a one-id list on posts never edited)."""
    return {"initial": {"editTweetIds": list(ids), "editableUntil": "2022-11-03T11:00:00.000Z",
                        "editsRemaining": "5", "isEditEligible": True}}


def edit_later(first: str, ids: list) -> dict:
    """``edit_info`` of a later version."""
    control = {"editTweetIds": list(ids), "editableUntil": "2022-11-03T11:00:00.000Z",
               "editsRemaining": "3", "isEditEligible": True}
    return {"edit": {"initialTweetId": first, "editControlInitial": control}}


def tweet_at(tweet_id: str, text: str, created_at: str, **fields) -> dict:
    """A ``make_tweets``-style dict with a chosen id, text and time (and edit_info / note_tweet)."""
    return {"id": tweet_id, "text": text, "created_at": created_at, "reply_to": None, **fields}


def every_post_members() -> tuple[dict, list[str], dict[str, str]]:
    """A 2022+ archive with every complication, and what a reader must make of it.

    Returns (members in a deliberately shuffled order, expected ids in order, expected text
    by id for the posts whose text changes). The archive holds:
    - 6 plain posts (1000-1005), each with a never-edited ``edit_info``; 1005 was deleted;
    - 2 long posts (2000, 2001) cut short, their notes matched by time; one note of a post
      that is not in the archive (ignored);
    - one post edited twice (3000 -> 3001 -> 3002): only 3002 counts;
    - tweets-part1.js before tweets.js in the zip, a media file, deleted-tweets.js listing
      1005 and a post not in the archive.
    Expected: 8 posts downloaded.
    """
    plain = [dict(t, edit_info=edit_first([t["id"]])) for t in make_tweets(6, start_id=1000)]
    longs = {"2000": ("Thu Nov 03 10:00:00 +0000 2022", long_text(0)),
             "2001": ("Thu Nov 03 10:05:00 +0000 2022", long_text(1, 1200))}
    long_tweets = [tweet_at(i, cut_short(text), when, edit_info=edit_first([i])) for i, (when, text) in longs.items()]
    versions = ["3000", "3001", "3002"]
    edited = [
        tweet_at("3000", "First draft of the edited post about jam", "Fri Nov 04 09:00:00 +0000 2022",
                 edit_info=edit_first(versions)),
        tweet_at("3001", "Second draft of the edited post about jam", "Fri Nov 04 09:10:00 +0000 2022",
                 edit_info=edit_later("3000", versions)),
        tweet_at("3002", "Final version of the edited post about jam", "Fri Nov 04 09:20:00 +0000 2022",
                 edit_info=edit_later("3000", versions)),
    ]
    part0 = plain[:3] + long_tweets + edited[2:]
    part1 = plain[3:] + edited[:2]
    notes = [note_item(text, note_time(when), note_id=f"9{i}") for i, (when, text) in longs.items()]
    notes.append(note_item(long_text(7), "2022-11-03T11:00:00.000Z", note_id="97"))  # its post is not here
    deleted = [{"tweet": dict(x_tweet(t), deleted_at="Sat Nov 05 08:00:00 +0000 2022")}
               for t in (plain[5], tweet_at("4000", "A post deleted long ago", "Sat Nov 05 07:00:00 +0000 2022"))]
    members = {
        "data/tweets_media/1000-InVeNtEd.jpg": bytes(2_000_000),
        "data/tweets-part1.js": js_text("tweets.part1", [{"tweet": x_tweet(t)} for t in part1]),
        "data/note-tweet.js": js_text("note_tweet.part0", notes),
        "data/deleted-tweets.js": js_text("deleted_tweets.part0", deleted),
        "data/deleted-tweet-headers.js": js_text("deleted_tweet_headers.part0", [{"tweet": {"tweet_id": "1001"}}]),
        "data/tweets.js": js_text("tweets.part0", [{"tweet": x_tweet(t)} for t in part0]),
        **{k: v for k, v in archive_members("2022", []).items() if not k.startswith("data/tweets")
           and not k.startswith("data/deleted")},
    }
    ids = ["1000", "1001", "1002", "2000", "2001", "3002", "1003", "1004"]
    return members, ids, {i: text for i, (_, text) in longs.items()}


# --- zip bombs ---------------------------------------------------------------------------------


def write_deflate_bomb(
    path: Path, member: str, size: int, *, declared_size: Optional[int] = None, others: Optional[dict] = None,
    filler: bytes = b" ",
) -> Path:
    """A zip whose ``member`` inflates to ``size`` bytes of ``filler`` (a whole number of MiB)
    from about 1 KB per MiB on disk, written in milliseconds.

    Each MiB is deflated once after a full flush (which resets the compressor, so every MiB
    compresses to the same bytes) and repeated. The header says ``declared_size`` (default:
    the truth; zip64 when over 4 GiB). The CRC is left 0: readers must stop long before
    checking it. ``others`` ({name: str or bytes}) are stored normally, after the bomb.
    """
    mib = 1 << 20
    assert size % mib == 0, "whole MiB only"
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    unit = c.compress(filler * (mib // len(filler))) + c.flush(zlib.Z_FULL_FLUSH)
    entries = [(member, unit * (size // mib) + c.flush(), 0, size if declared_size is None else declared_size)]
    return _write_deflated_zip(path, entries, others)


def _write_deflated_zip(path, entries: list[tuple[str, bytes, int, int]], others: Optional[dict]) -> Path:
    """A zip of ``entries`` ((name, raw deflate data, CRC, size its header declares); zip64 for a
    size over 4 GiB), then ``others`` ({name: str or bytes}) deflated normally."""
    entries = list(entries)
    for name, data in (others or {}).items():
        data = data.encode() if isinstance(data, str) else data
        d = zlib.compressobj(6, zlib.DEFLATED, -15)
        entries.append((name, d.compress(data) + d.flush(), zlib.crc32(data), len(data)))
    local, central = bytearray(), bytearray()
    for name, data, crc, declared in entries:
        raw_name, offset = name.encode(), len(local)
        big = declared >= 0xFFFFFFFF
        extra = struct.pack("<HHQ", 1, 8, declared) if big else b""
        sizes = (len(data), 0xFFFFFFFF if big else declared)
        local += struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 45, 0, 0, 8, 0, 33, crc, *sizes, len(raw_name),
                             len(extra)) + raw_name + extra + data
        central += struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 45, 3, 45, 0, 0, 8, 0, 33, crc, *sizes,
                               len(raw_name), len(extra), 0, 0, 0, 0o644 << 16, offset) + raw_name + extra
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(local), 0)
    Path(path).write_bytes(bytes(local + central + end))
    return Path(path)


def write_stretched_zip(path: Path, member: str, runs: list[tuple[str, int]], others: Optional[dict] = None) -> Path:
    """A zip whose ``member`` is each ``(text, times)`` of ``runs`` repeated ``times`` over, in order:
    every distinct piece is deflated once after a full flush (which resets the compressor) and its
    bytes repeated, so hundreds of MiB inflate from a few hundred KB written in a moment. Sizes
    and CRC are true: a reader finds nothing wrong with it but its size. ``others`` ({name: str
    or bytes}) are stored normally, after it."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    data, crc, size = bytearray(), 0, 0
    for text, times in runs:
        piece = text.encode()
        data += (c.compress(piece) + c.flush(zlib.Z_FULL_FLUSH)) * times
        for _ in range(times):
            crc = zlib.crc32(piece, crc)
        size += len(piece) * times
    data += c.flush()
    return _write_deflated_zip(path, [(member, bytes(data), crc, size)], others)


# Reads an archive in a fresh interpreter with the source class argv[2] names (module:class) and
# reports how far its peak memory (ru_maxrss) rose.
_CHILD = """
import importlib, json, resource, sys
from huggingtweets.errors import HuggingTweetsError
module, name = sys.argv[2].split(":")
source = getattr(importlib.import_module(module), name)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    got = source(sys.argv[1]).fetch()
    result = {"posts": len(got.tweets), "ids": len({t.id for t in got.tweets}), "notes": got.notes}
except HuggingTweetsError as e:
    result = {"error": str(e)}
result["growth_mib"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps(result))
"""


def read_in_a_child(path: Path, source: type) -> dict:
    """``source(path).fetch()`` in a fresh interpreter: posts, distinct ids and notes (or the
    one-line error), and ``growth_mib``, how far the process's peak memory rose while reading."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _CHILD, str(path), f"{source.__module__}:{source.__name__}"],
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)
