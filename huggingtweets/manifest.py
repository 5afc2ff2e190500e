"""What a saved model ships, and the checks a share makes before any of it leaves the machine.

The final save (``ModelFolder.publish``) records a manifest (``MANIFEST`` in folder.py) of
the staged files that a share may send, written atomically with the rest:

    {"format": 1, "files": {"config.json": {"size": 812, "sha256": "…"}, …,
                            CARD: {"size": 4321, "sha256": "…", "edit": true}}}

A push or an export then sends only:

- files the manifest lists, each still a regular file of the size and sha256 it was saved
  with (the size from ``lstat`` before anything is read, the sha256 while it is read);
- among them the card (``"edit": true``): a person may edit it before sharing, so it is
  held only to ``CAPS`` and to being UTF-8, not to its saved size and hash;
- ``preview.png``, drawn after the save (step 4, ``render_preview``), and ``voice.json``,
  the voice score measured after the save: held to ``CAPS``.

A name on the share list that the manifest does not list (a stray ``vocab.json``) stays
home. A folder without a manifest (saved before manifests existed, or copied without it)
shares by the share list alone, each file held to ``CAPS`` and every safetensors file to
its own header. In both cases a symlink among the candidates is refused, the folder
itself may not be a symlink, and files are opened with ``O_NOFOLLOW`` and checked again
with ``fstat`` on the open descriptor: what is hashed is what is sent.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Optional

from .diskio import atomic_write_json
from .errors import HuggingTweetsError
from .folder import CARD, DATASET, MANIFEST, MODEL_CONFIG, PREVIEW, SHARED_ALWAYS, SHARED_NEVER, SHARED_ON_REQUEST, VOICE, ModelFolder

FORMAT = 1
SHARED_FILES = {"always": SHARED_ALWAYS, "on_request": SHARED_ON_REQUEST, "never": SHARED_NEVER}
WEIGHTS = ("*.safetensors", "*.bin")
ADDED_LATER = (PREVIEW, VOICE)  # written after the save by huggingtweets itself: shared when present
MAY_GO_MISSING = (CARD, DATASET)  # a person may delete these on purpose; the model is whole without them
MiB, GiB = 1 << 20, 1 << 30
CAPS = (  # (pattern, most bytes) for files no manifest vouches for; the first match counts
    ("*.safetensors", 20 * GiB), ("*.bin", 20 * GiB),  # one weights file (transformers shards larger models)
    (DATASET, 256 * MiB),  # cleaned tweets: a very large archive is tens of MB
    (PREVIEW, 16 * MiB),  # one PNG of a few tweet cards: ~0.3 MB
    (CARD, 1 * MiB),  # a model card: ~5 KB
    (VOICE, 1 * MiB),  # the voice report: figures for 1-3 authors, ~1 KB
    ("*", 64 * MiB),  # configs and tokenizers: the largest tokenizer.json in common use is ~33 MB
)
CHUNK = 1 * MiB


def matches(name: str, kind: str) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in SHARED_FILES[kind])


def shareable(name: str, include_dataset: bool = True) -> bool:
    """On the share list: "always", or "on request" when asked; never a "never" name."""
    return not matches(name, "never") and (matches(name, "always") or (include_dataset and matches(name, "on_request")))


def cap(name: str) -> int:
    return next(most for pattern, most in CAPS if fnmatchcase(name, pattern))


def _size(n: int) -> str:
    return f"{n / GiB:.1f} GB" if n >= GiB else f"{n / MiB:.1f} MB" if n >= MiB else f"{n} bytes"


# --- reading without following links --------------------------------------------------------
def _symlink(path: Path) -> HuggingTweetsError:
    return HuggingTweetsError(
        f"{path} is a symbolic link: a model folder's files must be the files themselves, never links to others. "
        "Remove the link (or put the real file there) and try again."
    )


def open_nofollow(path: Path) -> BinaryIO:
    """``path`` opened for reading, refused (one line) if it is a symlink or not a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not hasattr(os, "O_NOFOLLOW") and path.is_symlink():  # Windows: no flag, so look first
        raise _symlink(path)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise _symlink(path) from None
        raise HuggingTweetsError(f"Cannot read {path} ({err.strerror or type(err).__name__}): check it is there and readable.") from None
    f = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
        f.close()
        raise HuggingTweetsError(f"{path} is not a regular file: a model folder holds plain files only. Remove it and try again.")
    return f


def _sha256(f: BinaryIO) -> tuple[int, str]:
    digest, n = hashlib.sha256(), 0
    while block := f.read(CHUNK):
        digest.update(block)
        n += len(block)
    return n, digest.hexdigest()


# --- the manifest ----------------------------------------------------------------------------
def write_manifest(stage: Path) -> None:
    """Record the staged files a share may send (name, size, sha256) in ``stage/MANIFEST``."""
    files = {}
    for entry in sorted(os.scandir(stage), key=lambda e: e.name):
        if entry.name == MANIFEST or not shareable(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        with open_nofollow(Path(entry.path)) as f:
            size, sha = _sha256(f)
        files[entry.name] = {"size": size, "sha256": sha, **({"edit": True} if entry.name == CARD else {})}
    atomic_write_json(stage / MANIFEST, {"format": FORMAT, "files": files})


def read_manifest(folder: Path) -> Optional[dict]:
    """``{name: {"size", "sha256", "edit"?}}`` from the folder's manifest; None if it has none."""
    path = folder / MANIFEST
    if not os.path.lexists(path):
        return None
    damaged = HuggingTweetsError(
        f"{path} is damaged: train again, or delete it to share the folder as it is (each file then held only to a size limit)."
    )
    with open_nofollow(path) as f:
        raw = f.read(16 * MiB + 1)
    try:
        data = json.loads(raw)
    except ValueError:
        raise damaged from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise damaged
    if data.get("format") != FORMAT:
        raise HuggingTweetsError(f"{path} was written by another version of huggingtweets (format {data.get('format')!r}): update huggingtweets.")
    for name, entry in data["files"].items():
        ok = isinstance(entry, dict) and isinstance(entry.get("size"), int) and entry["size"] >= 0
        if not ok or not isinstance(entry.get("sha256"), str) or len(entry["sha256"]) != 64 or "/" in name:
            raise damaged
    return data["files"]


def record_edit(folder: Path, name: str) -> None:
    """After huggingtweets itself rewrites a file the manifest marks ``"edit"`` (the card: a
    "Run it locally" section after a GGUF export), record its new size and sha256, so the
    manifest says what the folder holds. Only such entries are ever rewritten: a weight that
    changed since the save stays refused. A folder without a manifest is left without one."""
    files = read_manifest(folder)
    if files is None or not (files.get(name) or {}).get("edit"):
        return
    with open_nofollow(folder / name) as f:
        size, sha = _sha256(f)
    files[name] = {"size": size, "sha256": sha, "edit": True}
    atomic_write_json(folder / MANIFEST, {"format": FORMAT, "files": files})

def export_target(folder: Path, out: Optional[str | Path], suffix: str, overwrite: bool,
                  check: Optional[Callable[[Path], None]] = None) -> Path:
    """Where an export of ``folder`` (resolved) goes: ``out``, else ``FOLDER{suffix}`` beside it.
    Refused in one line: inside the folder (through any link on the way), a folder, what
    ``check`` (the format's own rule for the name) refuses, or a file (or a link) already there
    without ``overwrite``. One rule for the zip and the GGUF."""
    beside = folder.parent / f"{folder.name}{suffix}"
    out = Path(out).expanduser() if out is not None else beside
    resolved = out.resolve()  # through any link on the way, the target itself included
    if resolved == folder or folder in resolved.parents:
        raise HuggingTweetsError(f"{out} is inside the model folder {folder}: choose a path outside the folder, such as {beside}.")
    if out.is_dir():
        raise HuggingTweetsError(f"{out} is a folder: give a file name such as {folder.name}{suffix}.")
    if check is not None:
        check(out)
    if os.path.lexists(out) and not overwrite:
        raise HuggingTweetsError(f"{out} already exists: choose another name, or overwrite it.")
    return out


# --- what a share sends ----------------------------------------------------------------------
@dataclass(frozen=True)
class Shipped:
    path: Path
    size: int  # bytes: as saved (manifest) or as lstat saw it
    mtime: float
    mode: int
    sha256: Optional[str] = None  # as saved; None: not held to a hash (the card, the preview, no manifest)

    @property
    def name(self) -> str:
        return self.path.name


def changed(path: Path, how: str) -> HuggingTweetsError:
    return HuggingTweetsError(
        f"{path.name} changed since the model was saved ({how}): train again, or put the saved file back "
        f"(to share the folder as it is now, delete {MANIFEST} from it)."
    )


def _too_big(path: Path, size: int) -> HuggingTweetsError:
    return HuggingTweetsError(
        f"{path} is {_size(size)}, more than a model's {path.name} can be ({_size(cap(path.name))}): "
        "it is not the file training wrote. Remove it, or train again."
    )


# A model's tensor list: SmolLM2-135M's is about 30 KB; one of thousands of tensors, a few MB.
MAX_SAFETENSORS_HEADER = 16 * 1024 * 1024


def _safetensors_length(path: Path) -> Optional[int]:
    """The size a safetensors file's header says it has; None if the header does not parse."""
    with open_nofollow(path) as f:
        try:
            n = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(n)) if 0 < n <= MAX_SAFETENSORS_HEADER else None
            return 8 + n + max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None


def _judge(path: Path, st: os.stat_result, files: Optional[dict]) -> Optional[Shipped]:
    """The file as it will ship, None to leave it home, or a one-line refusal."""
    item = Shipped(path, st.st_size, st.st_mtime, st.st_mode)
    entry = files.get(path.name) if files is not None else None
    if entry is not None and not entry.get("edit"):
        if st.st_size != entry["size"]:
            raise changed(path, f"{_size(st.st_size)} now, {_size(entry['size'])} when saved")
        return Shipped(path, st.st_size, st.st_mtime, st.st_mode, entry["sha256"])
    if files is not None and entry is None and path.name not in ADDED_LATER:
        return None  # not part of the saved model: stays home
    if st.st_size > cap(path.name):
        raise _too_big(path, st.st_size)
    if files is None and path.suffix == ".safetensors" and _safetensors_length(path) != st.st_size:
        raise HuggingTweetsError(f"{path} is not a whole safetensors file: it is not the weights training wrote. Remove it, or train again.")
    return item


def ship_list(folder: str | Path, include_dataset: bool = False) -> list[Shipped]:
    """The files of ``folder`` that a push or an export sends, sorted by name, checked as above
    except for the hashes (``chunks`` checks those as it reads)."""
    folder = Path(folder).expanduser()
    if folder.is_symlink():
        raise HuggingTweetsError(f"{folder} is a symbolic link: give the model folder itself ({folder.resolve()}).")
    if not folder.is_dir():
        raise HuggingTweetsError(f"{folder} is not a folder: give the model folder that training wrote.")
    if ModelFolder(folder).incomplete():
        raise HuggingTweetsError(f"The model in {folder} is incomplete (its save was interrupted): finish it with --resume before sharing it.")
    files = read_manifest(folder)
    chosen = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not shareable(entry.name, include_dataset):
            continue
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            raise _symlink(Path(entry.path))
        if stat.S_ISREG(st.st_mode):  # a sub-folder named like a file is never shared
            item = _judge(Path(entry.path), st, files)
            chosen += [item] if item else []
    names = [item.name for item in chosen]
    if MODEL_CONFIG not in names or not any(fnmatchcase(n, w) for n in names for w in WEIGHTS):
        raise HuggingTweetsError(
            f"{folder} holds no finished model (config.json and weights): finish training (--resume) before sharing it."
        )
    lost = [n for n in files or () if n not in names and n not in MAY_GO_MISSING and shareable(n, include_dataset)]
    if lost:
        raise HuggingTweetsError(f"{lost[0]} is missing from {folder} since the model was saved: train again, or put it back.")
    return chosen


def chunks(item: Shipped) -> Iterator[bytes]:
    """The file's bytes, read without following a link; after the last chunk, a one-line
    refusal if they are not the bytes the save recorded (or the size seen a moment ago)."""
    with open_nofollow(item.path) as f:
        digest, n = hashlib.sha256(), 0
        while block := f.read(CHUNK):
            digest.update(block)
            n += len(block)
            if n > item.size:
                break
            yield block
    if item.sha256 is None and n != item.size:
        raise HuggingTweetsError(f"{item.path} changed while it was being shared: try again.")
    if item.sha256 is not None and (n != item.size or digest.hexdigest() != item.sha256):
        how = "its contents differ from the saved sha256" if n == item.size else f"not the {_size(item.size)} saved"
        raise changed(item.path, how)


def read_all(item: Shipped) -> bytes:
    return b"".join(chunks(item))


def verify(item: Shipped) -> None:
    for _ in chunks(item):
        pass
