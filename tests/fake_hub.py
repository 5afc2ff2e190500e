"""A local stand-in for the Hugging Face Hub's HTTP API, so share tests run the real client offline.

It answers what ``huggingface_hub``'s ``create_repo``, ``repo_info`` and ``create_commit``
send (read from the installed client's ``hf_api.py``, ``_commit_api.py`` and ``lfs.py``):

    POST /api/repos/create                        {"name", "organization", "visibility"?}
    GET  /api/models/NS/NAME[/revision/REV]       repo info
    POST /api/validate-yaml                       the README's front matter, before anything uploads
    POST /api/models/NS/NAME/preupload/REV        which files go through LFS
    POST /NS/NAME.git/info/lfs/objects/batch      where to PUT them ("basic" transfer)
    PUT  /lfs/OID                                 the bytes (no token, like a presigned URL)
    POST /api/models/NS/NAME/commit/REV           ndjson: a header, then file / lfsFile / deletedFile lines
    GET  /api/agent-harnesses                     the client's own once-a-process look-up: 404 here

Accounts: ``token`` belongs to ``user``; ``orgs`` maps an organization to the user's role
in it ("read", "write" or "admin"); ``read_only`` makes the token a read token. Repos owned
by others can be added to ``repos``. Every request (with its Authorization header) and every
commit is recorded, so tests can assert exactly what left the machine. The client uploads
LFS files through Xet when ``hf_xet`` is installed: tests switch that off
(``huggingface_hub.constants.HF_HUB_DISABLE_XET``) so the plain LFS protocol runs here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

TOKEN = "hf_fakeWriteToken0123456789abcdefABCDEF"
LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".png", ".zip")  # as the Hub's default .gitattributes
REPO = r"(?P<repo>[^/]+/[^/]+)"
ROUTES = (  # (method, pattern, name)
    ("POST", r"/api/repos/create", "create"),
    ("GET", rf"/api/models/{REPO}(/revision/[^/]+)?", "info"),
    ("POST", r"/api/validate-yaml", "validate"),
    ("POST", rf"/api/models/{REPO}/preupload/[^/]+", "preupload"),
    ("POST", rf"/{REPO}\.git/info/lfs/objects/batch", "lfs-batch"),
    ("PUT", r"/lfs/(?P<oid>[0-9a-f]{64})", "lfs-upload"),
    ("POST", rf"/api/models/{REPO}/commit/[^/]+", "commit"),
    ("GET", r"/api/agent-harnesses", "agent-harnesses"),
)


@dataclass
class Repo:
    private: bool = False
    files: dict[str, bytes] = field(default_factory=dict)
    head: str = "0" * 40


@dataclass
class Commit:
    repo: str
    summary: str
    files: dict[str, bytes]  # path -> content, for every file this commit added
    lfs: list[str]  # the paths among them that came through LFS
    deleted: list[str] = field(default_factory=list)  # paths this commit removed


class HubError(Exception):
    def __init__(self, status: int, message: str, **extra):
        self.status, self.body = status, {"error": message, **extra}


class FakeHub:
    def __init__(self, token: str = TOKEN, user: str = "me", orgs: Optional[dict] = None, read_only: bool = False):
        self.token, self.user, self.orgs, self.read_only = token, user, dict(orgs or {}), read_only
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}  # oid -> bytes
        self.commits: list[Commit] = []
        self.requests: list[tuple[str, str, str]] = []  # (method, route name or "unknown PATH", Authorization)
        self.fail: dict[str, int] = {}  # route name -> status to answer with instead
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)  # quick shutdown

    def __enter__(self) -> "FakeHub":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- rules ------------------------------------------------------------------------------
    def _auth(self, headers) -> None:
        if headers.get("authorization") != f"Bearer {self.token}":
            raise HubError(401, "Invalid credentials in Authorization header")

    def _can_write(self, namespace: str) -> bool:
        if self.read_only:
            return False
        return namespace == self.user or self.orgs.get(namespace) in ("write", "admin")

    def _repo(self, repo_id: str, write: bool) -> Repo:
        repo = self.repos.get(repo_id)
        namespace = repo_id.split("/")[0]
        visible = repo is not None and (not repo.private or namespace == self.user or namespace in self.orgs)
        if not visible:
            raise HubError(404, "Repository not found", code="RepoNotFound")
        if write and not self._can_write(namespace):
            raise HubError(403, f"You don't have write access to {repo_id}")
        return repo

    # --- routes -------------------------------------------------------------------------------
    def create(self, body: dict, **_) -> dict:
        namespace = body.get("organization") or self.user
        repo_id = f"{namespace}/{body['name']}"
        if namespace != self.user and namespace not in self.orgs:
            raise HubError(403, f'You don\'t have the rights to create a model under the namespace "{namespace}"')
        if repo_id in self.repos:
            raise HubError(409, "You already created this model repo", url=f"{self.url}/{repo_id}")
        if not self._can_write(namespace):
            raise HubError(403, f'You don\'t have the rights to create a model under the namespace "{namespace}"')
        self.repos[repo_id] = Repo(private=body.get("visibility") == "private")
        return {"url": f"{self.url}/{repo_id}", "name": repo_id}

    def info(self, repo: str, **_) -> dict:
        r = self._repo(repo, write=False)
        return {"id": repo, "private": r.private, "sha": r.head, "siblings": [{"rfilename": p} for p in sorted(r.files)]}

    def agent_harnesses(self, **_) -> dict:
        raise HubError(404, "not served by the fake Hub")  # the client then detects no agent, as offline

    def validate(self, body: dict, **_) -> dict:
        return {"errors": [], "warnings": []}

    def preupload(self, repo: str, body: dict, **_) -> dict:
        self._repo(repo, write=True)
        files = []
        for f in body["files"]:
            binary = b"\0" in base64.b64decode(f["sample"])
            lfs = f["path"].endswith(LFS_SUFFIXES) or binary or f["size"] > 10_000_000
            files.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": None})
        return {"files": files}

    def lfs_batch(self, repo: str, body: dict, **_) -> dict:
        self._repo(repo, write=True)
        objects = []
        for o in body["objects"]:
            entry = {"oid": o["oid"], "size": o["size"], "authenticated": True}
            if o["oid"] not in self.lfs:  # already stored: no action, the client skips the upload
                entry["actions"] = {"upload": {"href": f"{self.url}/lfs/{o['oid']}"}}
            objects.append(entry)
        return {"transfer": "basic", "objects": objects}

    def lfs_upload(self, oid: str, data: bytes, **_) -> dict:
        if hashlib.sha256(data).hexdigest() != oid:
            raise HubError(400, "sha256 does not match the object id")
        self.lfs[oid] = data
        return {}

    def commit(self, repo: str, data: bytes, **_) -> dict:
        r = self._repo(repo, write=True)
        lines = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
        header = next(line["value"] for line in lines if line["key"] == "header")
        if header.get("parentCommit") not in (None, r.head):
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files, lfs, deleted = {}, [], []
        for line in lines:
            value = line["value"]
            if line["key"] == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif line["key"] == "lfsFile":
                if value["oid"] not in self.lfs:
                    raise HubError(422, f"LFS object {value['oid']} was never uploaded")
                files[value["path"]] = self.lfs[value["oid"]]
                lfs.append(value["path"])
            elif line["key"] == "deletedFile":
                if value["path"] not in r.files:
                    raise HubError(404, f"{value['path']} is not in the repo: nothing to delete")
                deleted.append(value["path"])
        r.files.update(files)
        for path in deleted:
            del r.files[path]
        r.head = hashlib.sha1(f"{repo}{len(self.commits)}".encode()).hexdigest()
        self.commits.append(Commit(repo, header["summary"], files, lfs, deleted))
        return {"commitUrl": f"{self.url}/{repo}/commit/{r.head}", "commitOid": r.head, "pullRequestUrl": None}


def _handler(hub: FakeHub):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def _body(self) -> bytes:
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    chunk = self.rfile.read(size + 2)[:size]  # each chunk ends with CRLF
                    if size == 0:
                        return data
                    data += chunk
            return self.rfile.read(int(self.headers.get("content-length") or 0))

        def _answer(self, status: int, body: dict) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            if "code" in body:
                self.send_header("X-Error-Code", body["code"])
            self.end_headers()
            self.wfile.write(raw)

        def _route(self, method: str) -> None:
            path = self.path.split("?")[0]
            data = self._body()
            name, m = f"unknown {path}", None
            for verb, pattern, route in ROUTES:
                found = re.fullmatch(pattern, path) if verb == method else None
                if found:
                    name, m = route, found
                    break
            hub.requests.append((method, name, self.headers.get("authorization", "")))
            if not m:
                return self._answer(404, {"error": f"no route {method} {path}"})
            try:
                if name in hub.fail:
                    raise HubError(hub.fail[name], f"{name} failed on purpose")
                if name != "lfs-upload":
                    hub._auth(self.headers)
                body = json.loads(data) if data and name not in ("commit", "lfs-upload") else {}
                handler = getattr(hub, name.replace("-", "_"))
                self._answer(200, handler(body=body, data=data, **m.groupdict()))
            except HubError as err:
                self._answer(err.status, err.body)

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PUT(self) -> None:
            self._route("PUT")

    return Handler
