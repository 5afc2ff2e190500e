"""Write X archives and tweet files into a test's tmp_path, from invented tweets.

Nothing here is a real person's data: ``make_tweets`` writes numbered sentences
for a fictional account. Any test can import these:

    from archive_fixtures import make_tweets, write_archive, write_text_file
    path = write_archive(tmp_path, generation="2022", tweets=make_tweets(5), parts=2)
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
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
    members[f"{folder}deleted-tweets.js"] = js_text("deleted_tweets.part0", [])
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
    Path(tmp_path).mkdir(parents=True, exist_ok=True)
    if form == "zip":
        path = Path(tmp_path) / f"{name}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for member, text in members.items():
                zf.writestr(member, text)
        return path
    root = Path(tmp_path) / name
    for member, text in members.items():
        (root / member).parent.mkdir(parents=True, exist_ok=True)
        (root / member).write_text(text, encoding="utf-8")
    if form == "folder" or generation == "grailbird":
        return root
    return root / next(m for m in members if m.endswith(("tweets.js", "tweet.js")))


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
