"""Share a trained model folder: push it to the Hugging Face Hub, or pack it in one zip.

Both send the same files, chosen by ``SHARED_FILES``: the weights, the tokenizer, the
configs, the card and the preview image. Never ``checkpoints/`` (optimizer state, several
times the model's size, of no use to a reader) and never ``dataset.json`` unless asked:
it holds the cleaned tweets, which can be personal. The list is an allow-list, so a file
someone drops into the folder (notes, an X archive) is not shared by accident; and of the
names on it, only the files the save recorded in its manifest go, each as it was saved
(manifest.py: sizes and sha256, no symlinks, no file larger than a model's can be).
An export is never written inside the folder it packs.

The README.md in the folder is left as training wrote it: its "How to use" snippet loads
the model from that folder, which is right there. The copy that is pushed names the repo
id instead (and, with a ``preview.png``, points its ``thumbnail`` at that image on the
Hub); the copy in a zip names the folder the zip unpacks to.

The token comes from the caller, ``HF_TOKEN``, a Colab secret named ``HF_TOKEN`` or the
Hub login (``hf auth login``), in that order. It goes to ``huggingface_hub`` and nowhere
else: it is never printed, logged, saved or put in an error message. Hub failures become
one-line ``HuggingTweetsError``s that say what to do.
"""

from __future__ import annotations

import importlib
import os
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .card import retarget_card
from .diskio import replacing
from .errors import HuggingTweetsError, first_line
from .folder import CARD as CARD_FILE
from .folder import PREVIEW as PREVIEW_FILE
from .folder import ModelFolder
from .manifest import SHARED_FILES, Shipped, chunks, export_target, matches, read_all, ship_list, verify  # noqa: F401  (SHARED_FILES: the public name)

TOKEN_NAME = "HF_TOKEN"  # the environment variable and the Colab secret
TOKENS_PAGE = "https://huggingface.co/settings/tokens"

# Which top-level files of a model folder leave the machine (the names are folder.py's, the
# checks manifest.py's). "never" wins over everything, "on_request" (personal data) needs
# include_dataset=True, and anything matching no pattern stays home. Sub-folders are never shared.
_STORED = (".safetensors", ".bin", ".png")  # already dense: zipping them only costs time
_INLINE = 16 << 20  # a push sends files up to this size as the bytes just checked; larger ones by path


# --- which files ------------------------------------------------------------------------
def shared_files(folder: str | Path, include_dataset: bool = False) -> list[Path]:
    """The files of ``folder`` that a push or an export sends, sorted by name.

    Raises ``HuggingTweetsError`` when the folder holds no finished model (no config.json
    or no weights, e.g. a run that only wrote checkpoints so far), when one of the files is
    a symlink, changed size since the save or is larger than a model's file can be. (The
    hashes are checked as the files are read for sending.)
    """
    return [item.path for item in ship_list(folder, include_dataset)]


# --- the token ------------------------------------------------------------------------------
def _colab_secret() -> tuple[Optional[str], str]:
    """(token, hint) from Colab's Secrets panel; the hint says why there is none."""
    try:
        from google.colab import userdata  # type: ignore  # only exists inside Colab
    except ImportError:
        return None, ""
    try:
        token = userdata.get(TOKEN_NAME)
    except getattr(userdata, "NotebookAccessError", ()):  # the user said no to "grant access" (or never said yes)
        return None, f" (the Colab secret {TOKEN_NAME} exists but this notebook has no access to it: switch it on in the Secrets panel)"
    except Exception:  # SecretNotFoundError (no such secret), or the secrets service failing: no secret
        return None, ""
    return (token.strip() or None) if isinstance(token, str) else None, ""


def _find_token(token: Optional[str] = None) -> tuple[Optional[str], str]:
    if token and token.strip():
        return token.strip(), ""
    if os.environ.get(TOKEN_NAME, "").strip():
        return os.environ[TOKEN_NAME].strip(), ""
    secret, hint = _colab_secret()
    if secret:
        return secret, ""
    from huggingface_hub import get_token

    return get_token(), hint  # the Hub login (`hf auth login`, `notebook_login()`)


def find_hf_token(token: Optional[str] = None) -> Optional[str]:
    """``token`` if given, else HF_TOKEN, else the Colab secret HF_TOKEN, else the Hub login; None if nowhere."""
    return _find_token(token)[0]


# --- the card that is shared ---------------------------------------------------------------
def _shared_card(card: bytes, path: Path, model_id: str, thumbnail: Optional[str]) -> bytes:
    try:
        text = card.decode("utf-8")
    except UnicodeDecodeError:
        raise HuggingTweetsError(f"{path} is not UTF-8 text, so it is not a model card: fix or remove it, then share again.") from None
    return retarget_card(text, model_id, thumbnail, ModelFolder(path.parent).voices()).encode("utf-8")


# --- Hub errors, in one line ---------------------------------------------------------------
def _network_errors() -> tuple[type[BaseException], ...]:
    """Connection failures: OSError, and the transport errors of the httpx that huggingface_hub uses."""
    errors: list[type[BaseException]] = [OSError]
    for name in ("httpx2", "httpx"):  # huggingface_hub 2.x, 1.x
        try:
            errors.append(importlib.import_module(name).TransportError)
        except (ImportError, AttributeError):
            pass
    return tuple(errors)


def _http_message(status: int, repo_id: str) -> str:
    if status == 401:
        return f"The Hugging Face Hub refused the token (401): it is invalid or expired. Make a new one with write access at {TOKENS_PAGE}."
    if status == 403:
        return (
            f"This token cannot write to {repo_id} (403): the name belongs to another account or to an organization "
            f"you cannot write to, or the token is read-only. Pick a name under your own account, or use a write token ({TOKENS_PAGE})."
        )
    if status == 409:
        return f"{repo_id} clashes with another repo or a push in progress (409): pick another name, or push again in a minute."
    if status == 412:
        return f"{repo_id} changed while this push was being prepared (412): push again."
    if status == 404:
        return f"{repo_id} was not found on the Hub (404): check the name."
    if status == 429:
        return "The Hugging Face Hub is limiting requests from this token (429): wait a few minutes, then push again."
    if status >= 500:
        return f"The Hugging Face Hub had an error ({status}): push again later."
    return f"The Hugging Face Hub refused the push ({status}): check the repo name and the token."


def _explain(err: BaseException, repo_id: str, endpoint: str) -> Optional[str]:
    """One line for a Hub failure (looking through wrapped causes), or None if it is not one."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    seen = 0
    while err is not None and seen < 5:  # upload threads wrap the real failure in a RuntimeError
        if isinstance(err, OfflineModeIsEnabled):
            return "HF_HUB_OFFLINE is set, so nothing can reach the Hub: unset it to push."
        if isinstance(err, HfHubHTTPError) and getattr(err, "response", None) is not None:
            return _http_message(err.response.status_code, repo_id)
        if isinstance(err, _network_errors()):
            return f"Cannot reach the Hugging Face Hub at {endpoint}: check the connection, then push again."
        err, seen = err.__cause__, seen + 1
    return None


@contextmanager
def _hub_errors(repo_id: str, endpoint: str):
    try:
        yield
    except Exception as err:
        # ``from None``: the chained original carries request details nobody needs to read.
        message = _explain(err, repo_id, endpoint)
        if message is None and isinstance(err, ValueError):  # the Hub's own checks, e.g. card metadata
            message = f"The Hugging Face Hub refused {repo_id}: {first_line(err)}"
        if message is None:
            raise
        raise HuggingTweetsError(message) from None


# --- push ------------------------------------------------------------------------------------
@dataclass
class PushResult:
    repo_id: str  # namespace/name, as the Hub resolved it
    url: str  # the repo's page
    commit_url: str
    files: list[str] = field(default_factory=list)  # what was uploaded
    removed: list[str] = field(default_factory=list)  # personal files an earlier push sent, removed by this one


FRESH_REPO_FILES = (".gitattributes",)  # what the Hub puts in a repo it creates


def push_to_hub(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    include_dataset: bool = False,
    token: Optional[str] = None,
    endpoint: Optional[str] = None,
    commit_message: str = "Upload model made with huggingtweets",
    overwrite: bool = False,
) -> PushResult:
    """Create ``repo_id`` on the Hub if needed and upload the model folder to it in one commit.

    ``repo_id`` is ``name`` (under the token's account) or ``namespace/name``. ``private``
    applies to a new repo; an existing public repo is refused rather than silently left
    public. ``endpoint`` defaults to ``$HF_ENDPOINT`` read now, then huggingface_hub's.
    A push without the dataset removes one that an earlier push sent ("on request" files
    only: anything else already in the repo is left as it is). A repo that already holds
    files is replaced only with ``overwrite``; without it the push is refused, naming what is
    there, and nothing is sent.
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    from .version import __version__

    files = ship_list(folder, include_dataset)  # local problems first: no token needed to find them
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise HuggingTweetsError(
            f"{repo_id!r} is not a Hub repo name: use letters, digits, '-', '_' and '.', as name or namespace/name."
        ) from None
    token, hint = _find_token(token)
    if not token:
        raise HuggingTweetsError(
            f"No Hugging Face token{hint}: set {TOKEN_NAME}, add a Colab secret named {TOKEN_NAME}, or run "
            f"`hf auth login`, with a token that can write ({TOKENS_PAGE})."
        )
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
    api = HfApi(endpoint=endpoint, token=token, library_name="huggingtweets", library_version=__version__)
    contents = {item.name: _checked(item) for item in files}  # every hash checked before anything is sent

    with _hub_errors(repo_id, endpoint):
        url = api.create_repo(repo_id, private=True if private else None, exist_ok=True)
        info = api.repo_info(url.repo_id)
    left_public = private and not info.private
    repo_id = url.repo_id  # "name" -> "account/name"
    if left_public:
        raise HuggingTweetsError(
            f"{repo_id} already exists and is public, and private only applies to a new repo: "
            "make it private in its settings on the Hub, or push to a new name."
        )

    in_repo = [s.rfilename for s in info.siblings or ()]
    there = sorted(n for n in in_repo if n not in FRESH_REPO_FILES)
    if there and not overwrite:
        shown = ", ".join(there[:4]) + (f" and {len(there) - 4} more" if len(there) > 4 else "")
        raise HuggingTweetsError(f"{repo_id} already holds {len(there)} file{'s' if len(there) != 1 else ''} ({shown}): "
                                 "push with --overwrite to replace them with this model (nothing was sent).")

    names = [p.name for p in files]
    thumbnail = f"{endpoint}/{repo_id}/resolve/main/{PREVIEW_FILE}" if PREVIEW_FILE in names else None
    operations = [
        CommitOperationAdd(
            path_in_repo=p.name,
            path_or_fileobj=_shared_card(contents[p.name], p.path, repo_id, thumbnail) if p.name == CARD_FILE else contents[p.name],
        )
        for p in files
    ]
    removed = sorted(n for n in in_repo if "/" not in n and matches(n, "on_request") and n not in names)
    operations += [CommitOperationDelete(path_in_repo=n) for n in removed]
    with _hub_errors(repo_id, endpoint):
        # parent_commit: the deletions were chosen from this state of the repo; a push or an edit
        # in between makes the Hub refuse the commit (412) rather than delete a file already gone.
        commit = api.create_commit(repo_id, operations, commit_message=commit_message, parent_commit=info.sha)
    return PushResult(repo_id=repo_id, url=str(url), commit_url=str(commit.commit_url), files=names, removed=removed)


def _checked(item: Shipped) -> bytes | str:
    """What a push sends of ``item``: its bytes, read and checked (small files and the card),
    or its path once the whole file has been read and checked (the weights: the client
    streams them, through Xet where it can)."""
    if item.name == CARD_FILE or item.size <= _INLINE:
        return read_all(item)
    verify(item)
    return str(item.path)


# --- export ------------------------------------------------------------------------------------
def export_zip(folder: str | Path, zip_path: Optional[str | Path] = None, *, overwrite: bool = False, include_dataset: bool = False) -> Path:
    """Pack the model folder into one zip whose top-level folder has the model folder's name
    (by default ``FOLDER.zip`` beside the folder).

    Unzipping gives a folder that ``pipeline('text-generation', model=NAME)`` loads; its card's
    snippet names that folder. Written to a temporary file beside ``zip_path``, then renamed,
    so a crash never leaves a half-written zip under the final name, and a file that fails
    its check as it is read leaves no zip at all. ``zip_path`` may not be inside the folder.
    """
    files = ship_list(folder, include_dataset)
    folder = Path(folder).expanduser().resolve()
    zip_path = export_target(folder, zip_path, ".zip", overwrite)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    thumbnail = PREVIEW_FILE if any(p.name == PREVIEW_FILE for p in files) else None
    with replacing(zip_path) as (tmp,), zipfile.ZipFile(tmp, "w", strict_timestamps=False) as zf:
        for p in files:
            info = _zip_info(p, f"{folder.name}/{p.name}")
            if p.name == CARD_FILE:
                zf.writestr(info, _shared_card(read_all(p), p.path, folder.name, thumbnail))
                continue
            with zf.open(info, "w") as out:
                for block in chunks(p):  # checked as read: a mismatch raises before the rename
                    out.write(block)
    return zip_path


def _zip_info(item: Shipped, arcname: str) -> zipfile.ZipInfo:
    """The file's date and mode, as lstat saw them; its size up front so ZIP64 is used when needed."""
    date = max(min(time.localtime(item.mtime)[:6], (2107, 12, 31, 23, 59, 58)), (1980, 1, 1, 0, 0, 0))
    info = zipfile.ZipInfo(arcname, date_time=date)
    info.external_attr = (item.mode & 0xFFFF) << 16
    info.compress_type = zipfile.ZIP_STORED if item.path.suffix in _STORED else zipfile.ZIP_DEFLATED
    info.file_size = item.size
    return info
