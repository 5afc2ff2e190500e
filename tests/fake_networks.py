"""A local HTTP server answering like Bluesky's public AppView and a Mastodon server.

Real sockets, real ``requests``: the sources run exactly as against the networks.
Bodies have the shapes the networks serve (recorded from their public APIs); the accounts, posts
and names are ours. Every request is logged (path + query) so tests count what a
run asked for; ``script`` makes the next answers errors (429 with the network's
reset header, 5xx, 4xx with the network's error body).

    with FakeNetworks() as net:
        net.bluesky_account("wren.bsky.social", posts=bluesky_posts(120))
        net.mastodon_account("wren", statuses=mastodon_statuses(90))
        os.environ["HUGGINGTWEETS_BLUESKY_API"] = net.url
        ...  # MastodonSource(f"{net.url}/@wren")
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import parse_qs, urlsplit

DID = "did:plc:w2rnw2rnw2rnw2rnw2rnw2rn"
OTHER_DID = "did:plc:g7llg7llg7llg7llg7llg7ll"


# --- Bluesky feed items ----------------------------------------------------------------------
def bsky_post(n: int, did: str = DID, handle: str = "wren.bsky.social", text: Optional[str] = None, **record) -> dict:
    uri = f"at://{did}/app.bsky.feed.post/3kpost{n:06d}"
    rec = {"$type": "app.bsky.feed.post", "text": text or f"the lamp is lit for the {n}th night and the bread rises",
           "createdAt": f"2024-05-{1 + n % 28:02d}T12:{n % 60:02d}:00.000Z", "langs": ["en"], **record}
    return {"uri": uri, "cid": f"bafyreicid{n}", "author": {"did": did, "handle": handle, "displayName": "Wren"},
            "record": rec, "indexedAt": rec["createdAt"], "likeCount": n % 7}


def bluesky_feed(n: int, did: str = DID) -> list[dict]:
    """n feed items, newest first: every 9th a repost of someone else's post, every 11th a reply to
    someone else, every 13th a reply in the author's own thread; the 3rd carries a shortened link facet."""
    items = []
    for k in range(n):
        i = n - k  # newer posts have bigger numbers
        if k % 9 == 8:
            items.append({"post": bsky_post(10_000 + i, did=OTHER_DID, handle="gull.bsky.social", text="someone else's words"),
                          "reason": {"$type": "app.bsky.feed.defs#reasonRepost",
                                     "by": {"did": did, "handle": "wren.bsky.social"},
                                     "indexedAt": f"2024-06-01T00:{k % 60:02d}:00.000Z"}})
        elif k % 11 == 10:
            parent = f"at://{OTHER_DID}/app.bsky.feed.post/3kother{i}"
            items.append({"post": bsky_post(i, did=did, reply={"root": {"uri": parent, "cid": "c"}, "parent": {"uri": parent, "cid": "c"}}),
                          "reply": {"parent": {"author": {"did": OTHER_DID}}}})
        elif k % 13 == 12:
            parent = f"at://{did}/app.bsky.feed.post/3kpost{i + 1:06d}"
            items.append({"post": bsky_post(i, did=did, reply={"root": {"uri": parent, "cid": "c"}, "parent": {"uri": parent, "cid": "c"}})})
        elif k == 2:
            text = "new notes on bread and lamps github.com/bluesky-soci... read them tonight 🍞"
            start = text.encode().index(b"github.com")
            end = start + len("github.com/bluesky-soci...".encode())
            facet = {"index": {"byteStart": start, "byteEnd": end},
                     "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://github.com/bluesky-social/atproto"}]}
            items.append({"post": bsky_post(i, did=did, text=text, facets=[facet])})
        else:
            items.append({"post": bsky_post(i, did=did)})
    return items


# --- Mastodon statuses ------------------------------------------------------------------------
def mastodon_status(n: int, account_id: str = "1091", **fields) -> dict:
    status = {
        "id": str(110_000_000_000_000_000 + n), "created_at": f"2024-05-{1 + n % 28:02d}T12:{n % 60:02d}:00.000Z",
        "content": f"<p>the lamp is lit for the {n}th night &amp; the bread rises</p>", "spoiler_text": "",
        "visibility": "public", "language": "en", "in_reply_to_id": None, "in_reply_to_account_id": None,
        "reblog": None, "emojis": [], "account": {"id": account_id, "username": "wren", "acct": "wren"},
    }
    status.update(fields)
    return status


def mastodon_statuses(n: int, account_id: str = "1091") -> list[dict]:
    """n statuses, newest first: every 8th a boost, every 10th a reply to someone else, every 12th
    followers-only, every 14th direct; one with a link, a mention, a hashtag, an emoji and a content warning."""
    out = []
    for k in range(n):
        i = n - k
        if k % 8 == 7:
            out.append(mastodon_status(i, account_id, content="", reblog=mastodon_status(50_000 + i, "77", content="<p>a boosted post by someone else</p>")))
        elif k % 10 == 9:
            out.append(mastodon_status(i, account_id, in_reply_to_id="42", in_reply_to_account_id="77"))
        elif k % 12 == 11:
            out.append(mastodon_status(i, account_id, visibility="private", content=f"<p>followers only secret {i} about the harbour</p>"))
        elif k % 14 == 13:
            out.append(mastodon_status(i, account_id, visibility="direct", content=f"<p>a direct whisper {i} to a friend</p>"))
        elif k == 1:
            out.append(mastodon_status(i, account_id, spoiler_text="bread talk", emojis=[{"shortcode": "loaf"}], content=(
                '<p>Baked again with <span class="h-card"><a href="https://gull.example/@gull" class="u-url mention">@<span>gull</span></a></span> '
                'see <a href="https://example.com/bread/recipe" rel="nofollow noopener" target="_blank"><span class="invisible">https://</span>'
                '<span class="ellipsis">example.com/bread/rec</span><span class="invisible">ipe</span></a> :loaf: '
                '<a href="https://x.example/tags/baking" class="mention hashtag" rel="tag">#<span>baking</span></a></p><p>second paragraph here</p>')))
        else:
            out.append(mastodon_status(i, account_id))
    return out


@dataclass
class Answer:
    status: int
    body: object = None
    headers: dict = field(default_factory=dict)


class FakeNetworks:
    """Serves ``/xrpc/...`` (Bluesky) and ``/api/v1/...`` (Mastodon) on 127.0.0.1."""

    def __init__(self, bluesky_page: int = 100, mastodon_page: int = 40):
        self.bluesky: dict[str, dict] = {}  # actor (handle or DID) -> {"profile", "feed"}
        self.mastodon: dict[str, dict] = {}  # username -> {"account", "statuses"}
        self.requests: list[tuple[str, dict]] = []
        self.script: list[Answer] = []  # answered instead, in order, to the next requests
        self.fail_path: Optional[tuple[str, Answer]] = None  # every request whose path contains this
        self.bluesky_page, self.mastodon_page = bluesky_page, mastodon_page
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- accounts ---
    def bluesky_account(self, handle: str, feed: list, did: str = DID, **profile) -> None:
        p = {"did": did, "handle": handle, "displayName": "Wren of the Harbour", "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/a@jpeg",
             "postsCount": len(feed), "followersCount": 3, "labels": [], **profile}
        entry = {"profile": p, "feed": feed}
        self.bluesky[handle] = self.bluesky[did] = entry

    def mastodon_account(self, username: str, statuses: list, account_id: str = "1091", **account) -> None:
        a = {"id": account_id, "username": username, "acct": username, "display_name": "Wren :loaf:",
             "avatar": f"{self.url}/avatars/{username}.png", "url": f"{self.url}/@{username}",
             "statuses_count": len(statuses), **account}
        self.mastodon[username] = {"account": a, "statuses": statuses}

    def count(self, fragment: str) -> int:
        return sum(1 for path, _ in self.requests if fragment in path)

    # --- serving ---
    def __enter__(self):
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str, query: dict) -> Answer:
        if self.fail_path and self.fail_path[0] in path:
            return self.fail_path[1]
        if self.script:
            return self.script.pop(0)
        one = {k: v[-1] for k, v in query.items()}
        if path == "/xrpc/app.bsky.actor.getProfile":
            entry = self.bluesky.get(one.get("actor", ""))
            return Answer(200, entry["profile"]) if entry else Answer(400, {"error": "InvalidRequest", "message": "Profile not found"})
        if path == "/xrpc/app.bsky.feed.getAuthorFeed":
            entry = self.bluesky.get(one.get("actor", ""))
            if not entry:
                return Answer(400, {"error": "InvalidRequest", "message": "Profile not found"})
            feed = entry["feed"]
            if one.get("filter") == "posts_no_replies":
                feed = [i for i in feed if "reply" not in i["post"]["record"]]
            start = int(one.get("cursor") or 0)
            limit = min(int(one.get("limit", 50)), self.bluesky_page)
            body = {"feed": feed[start:start + limit]}
            if start + limit < len(feed):
                body["cursor"] = str(start + limit)
            return Answer(200, body)
        if path == "/api/v1/accounts/lookup":
            entry = self.mastodon.get(one.get("acct", ""))
            return Answer(200, entry["account"]) if entry else Answer(404, {"error": "Record not found"})
        if path.startswith("/api/v1/accounts/") and path.endswith("/statuses"):
            account_id = path.split("/")[4]
            entry = next((e for e in self.mastodon.values() if e["account"]["id"] == account_id), None)
            if not entry:
                return Answer(404, {"error": "Record not found"})
            statuses = entry["statuses"]
            if one.get("exclude_replies") == "true":
                statuses = [s for s in statuses if s["in_reply_to_id"] is None]
            if one.get("exclude_reblogs") == "true":
                statuses = [s for s in statuses if not s["reblog"]]
            if one.get("max_id"):
                statuses = [s for s in statuses if int(s["id"]) < int(one["max_id"])]
            limit = min(int(one.get("limit", 20)), self.mastodon_page)
            page = statuses[:limit]
            headers = {}
            if len(statuses) > limit:
                nxt = f"{self.url}{path}?limit={limit}&max_id={page[-1]['id']}"
                headers["Link"] = f'<{nxt}>; rel="next", <{self.url}{path}?limit={limit}&min_id={page[0]["id"]}>; rel="prev"'
            return Answer(200, page, headers)
        return Answer(404, {"error": "NotFound"})

    def _handler(self):
        net = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                net.requests.append((parts.path, {k: v[-1] for k, v in query.items()}))
                answer = net._answer(parts.path, query)
                data = b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler
