"""Visitor mode: an app served to strangers keeps each visitor (kernel) in a workspace of its own.

Under Voilà every page is a kernel, and a kernel can read whatever the server's user
can. So unless the operator says the server is theirs alone
(``HUGGINGTWEETS_SINGLE_USER=1``), the app assumes strangers:

- each kernel gets a private folder, ``VISITORS/<unguessable>/``, for its uploads, model
  folders and cache, and ``huggingtweets-downloads/<unguessable>/`` beside the notebook for
  the files handed to the browser (the only folder voila.json lets Voilà serve);
- every path a visitor types (step 1's path box, step 2's model folder and model) is
  confined to that folder: no absolute path, no ``~``, no ``..``, no symlink out;
- the server's own secrets are forgotten by the kernel before anything runs (the Hub's
  token and login, W&B's key, each network's token): a visitor's push or fetch uses
  only a token the visitor types;
- the folders go when the kernel ends, and any left by a kernel that died are swept
  when the next visitor arrives (or past ``HUGGINGTWEETS_VISITOR_MAX_AGE_H``);
- ``HUGGINGTWEETS_VISITOR_DISK_MB`` caps what one workspace may hold before a download,
  a training or an export starts.

Jupyter, Colab and the CLI stay single-user: one person, their own files.
``HUGGINGTWEETS_SINGLE_USER=0`` turns visitor mode on anywhere (a JupyterHub-like server).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..diskio import size_text
from ..errors import HuggingTweetsError

SINGLE_USER_ENV = "HUGGINGTWEETS_SINGLE_USER"  # 1: one person's server (today's behaviour); 0: visitors anywhere
FOLDER_ENV = "HUGGINGTWEETS_VISITORS_DIR"  # where workspaces live (default: beside the notebook)
MAX_AGE_ENV = "HUGGINGTWEETS_VISITOR_MAX_AGE_H"
DISK_ENV = "HUGGINGTWEETS_VISITOR_DISK_MB"
VISITORS = "huggingtweets-visitors"
MAX_AGE_H = 24.0  # a workspace older than this is swept even if its kernel lives
DISK_MB = 10_000  # a trained SmolLM2-135M folder with its checkpoints is about 2 GB
VISITOR_WAIT_S = 120  # rate-limit waits of one visitor's download, unless the operator set HUGGINGTWEETS_MAX_WAIT_S
WAIT_ENV = "HUGGINGTWEETS_MAX_WAIT_S"  # read by the sources (sources/http.py owns it)
OWNER = ".owner.json"  # the kernel that owns a workspace: its pid and start time
GRACE_S = 60  # a workspace this young is never swept (its kernel may be starting)
# What the server holds for itself: never used on a visitor's behalf.
SERVER_SECRETS = (
    "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE",
    "WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE",
)
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(?:/[A-Za-z0-9][\w.-]*)?")  # "name" or "org/name"
OWN_FILES = "upload the file (the Upload button), or type a path inside your workspace such as uploads/NAME"


def visitor_mode(place: str) -> bool:
    """True where strangers may be served: under Voilà unless the operator said otherwise."""
    said = os.environ.get(SINGLE_USER_ENV, "").strip()
    if said == "1":
        return False
    if said == "0":
        return True
    return place == "voila"


def _number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, "") or default)
    except ValueError:
        raise HuggingTweetsError(f"{name} must be a number, got {os.environ[name]!r}: fix it where the app is served.") from None
    return value if value > 0 else default


def _tree_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone's: not ours to judge
    return True


@dataclass
class Workspace:
    """One visitor's folders: ``root`` (uploads, models, cache) and ``downloads`` (for the browser)."""

    root: Path
    downloads: Path
    disk_bytes: int

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def confine(self, typed: str, what: str) -> Path:
        """``typed`` as a path inside the workspace; anything that would leave it is one line."""
        text = str(typed).strip().strip("'\"")
        refuse = f"{what} must be inside your own workspace: {OWN_FILES}."
        if not text or text.startswith(("/", "~", "\\")) or "\\" in text or (len(text) > 1 and text[1] == ":"):
            if text and os.path.realpath(text).startswith(str(self.root.resolve()) + os.sep):
                text = os.path.relpath(os.path.realpath(text), self.root.resolve())  # the app's own full path back
            else:
                raise HuggingTweetsError(refuse)
        if ".." in Path(text).parts:
            raise HuggingTweetsError(refuse)
        home = self.root.resolve()
        path = (home / text).resolve()  # follows every symlink on the way
        if path != home and home not in path.parents:
            raise HuggingTweetsError(refuse)
        return path

    def model(self, name: str) -> str:
        """A model name: a Hub id as it is; a folder only inside the workspace."""
        text = str(name).strip()
        if HUB_ID.fullmatch(text) and ".." not in text and not Path(text).exists():
            return text
        return str(self.confine(text, "A model folder"))

    def holds(self, path: str | os.PathLike) -> bool:
        home = self.root.resolve()
        real = Path(os.path.realpath(path))
        return real == home or home in real.parents

    def check_room(self, doing: str) -> None:
        """Refuse to start ``doing`` once the workspace holds its cap."""
        used = _tree_bytes(self.root) + _tree_bytes(self.downloads)
        if used >= self.disk_bytes:
            raise HuggingTweetsError(
                f"Your workspace holds {size_text(used)}, its cap on this server ({size_text(self.disk_bytes)}): "
                f"press Forget uploads or train into an existing folder (Replace) before {doing}.")

    def remove(self) -> None:
        for folder in (self.root, self.downloads):
            shutil.rmtree(folder, ignore_errors=True)


def forget_server_secrets(workspace: Workspace, token_env: tuple[str, ...] = ()) -> None:
    """This kernel (one visitor's) stops seeing the server's own tokens and logins."""
    for name in (*SERVER_SECRETS, *token_env):
        os.environ.pop(name, None)
    nothing = workspace.root / ".no-token"
    os.environ["HF_TOKEN_PATH"] = str(nothing)  # the Hub's login file: one that never exists
    os.environ["HF_STORED_TOKENS_PATH"] = str(nothing)
    os.environ["NETRC"] = str(nothing)  # W&B's login
    os.environ["WANDB_CONFIG_DIR"] = str(workspace.root / ".wandb")
    os.environ.setdefault(WAIT_ENV, str(VISITOR_WAIT_S))  # a stranger's page does not wait out long rate limits
    try:  # read when a token is wanted, from the constants module already imported
        from huggingface_hub import constants

        constants.HF_TOKEN_PATH = constants.HF_STORED_TOKENS_PATH = str(nothing)
    except ImportError:
        pass


def sweep(base: Path, downloads_base: Path, max_age_s: float, now: Optional[float] = None) -> list[str]:
    """Remove workspaces whose kernel is gone (or that are older than ``max_age_s``); their names."""
    now = time.time() if now is None else now
    gone = []
    for folder in base.iterdir() if base.is_dir() else ():
        try:
            owner = json.loads((folder / OWNER).read_text(encoding="utf-8"))
            pid, started = int(owner["pid"]), float(owner["started"])
        except (OSError, ValueError, KeyError, TypeError):
            pid, started = -1, folder.stat().st_mtime if folder.exists() else now
        age = now - started
        if age < GRACE_S:
            continue
        if age > max_age_s or pid <= 0 or not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(downloads_base / folder.name, ignore_errors=True)
            gone.append(folder.name)
    return gone


def open_workspace(notebook_folder: Path, downloads_base: Path, token_env: tuple[str, ...] = ()) -> Workspace:
    """A new workspace for this kernel, the server's secrets forgotten; removed when the kernel ends."""
    base = Path(os.environ.get(FOLDER_ENV, "") or notebook_folder / VISITORS).expanduser()
    sweep(base, downloads_base, _number(MAX_AGE_ENV, MAX_AGE_H) * 3600)
    name = secrets.token_urlsafe(24)  # 192 bits: neither listed nor guessable
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        root = base / name
        root.mkdir(mode=0o700)
        downloads = downloads_base / name
        downloads.mkdir(mode=0o700, parents=True)
        (root / OWNER).write_text(json.dumps({"pid": os.getpid(), "started": time.time()}), encoding="utf-8")
    except OSError as err:
        raise HuggingTweetsError(f"Could not make a workspace in {base} ({err.strerror or err}): set {FOLDER_ENV} to a writable folder.") from None
    space = Workspace(root, downloads, int(_number(DISK_ENV, DISK_MB) * 1_000_000))
    forget_server_secrets(space, token_env)
    atexit.register(space.remove)
    return space
