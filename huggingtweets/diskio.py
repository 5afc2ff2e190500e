"""Writing files so that a crash never leaves half of one: the package's one atomic write.

Each write goes to a temporary file in the same folder, is flushed to disk, then
renamed over the target (``os.replace`` is atomic on POSIX and Windows): a reader
sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]


@contextmanager
def replacing(*paths: PathLike) -> Iterator[list[Path]]:
    """Temporary files beside each of ``paths``, for the caller to write (closed when the block
    ends). When it ends without error each is flushed to disk and then renamed over its target,
    in order; when it raises, every one is removed and no target is touched."""
    targets = [Path(p) for p in paths]
    temps: list[Path] = []
    try:
        for path in targets:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            os.close(fd)
            temps.append(Path(tmp))
        yield temps
        for tmp in temps:
            fd = os.open(tmp, os.O_RDWR)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for tmp, path in zip(temps, targets):
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    with replacing(path) as (tmp,):
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: PathLike, text: str) -> Path:
    # "surrogatepass" never: text that cannot be UTF-8 is the caller's bug to see
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: PathLike, value: Any, indent: int = 2) -> Path:
    return atomic_write_text(path, json.dumps(value, ensure_ascii=False, indent=indent) + "\n")


# --- a full disk ------------------------------------------------------------------------------
_NO_SPACE_WORDS = ("no space left on device", "os error 28", "disk quota exceeded", "not enough space on the disk")
LOW_SPACE_BYTES = 64 << 20  # a write that failed with less than this free is taken as a full disk


def size_text(n: float) -> str:
    """A size as people read it (decimal units): ``812 bytes``, ``270.9 MB``, ``4.0 GB``."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    return ""


# Failures that say what they are: never a full disk, whatever the disk holds.
_NOT_SPACE = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError)


def disk_full(err: BaseException, where: PathLike) -> bool:
    """``err`` (or what caused it) is a write that ran out of space on the disk holding ``where``.

    Python says ENOSPC; Rust writers (safetensors, tokenizers) say "os error 28"; torch.save
    says "iostream error" or "unexpected pos", so a failed save with almost nothing free counts too.
    """
    import errno
    import shutil

    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
            return True
        text = str(err).lower()
        if any(words in text for words in _NO_SPACE_WORDS):
            return True
        if isinstance(err, (OSError, RuntimeError)) and "out of memory" not in text and not isinstance(err, _NOT_SPACE):
            try:
                usage = shutil.disk_usage(_existing(where))
                if usage.total > 0 and usage.free < LOW_SPACE_BYTES:  # /proc and its kind have no size at all
                    return True
            except OSError:
                pass
        err = err.__cause__ or err.__context__
    return False


def _existing(path: PathLike) -> Path:
    path = Path(path).resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def mount_point(path: PathLike) -> Path:
    """The mount the path is on (where ``df`` would say it lives)."""
    path = _existing(path)
    device = path.stat().st_dev
    while path != path.parent and path.parent.stat().st_dev == device:
        path = path.parent
    return path


def no_space_message(where: PathLike, need_bytes: int, flag: str = "--output") -> str:
    """One line for a full disk: where, how much to free, and the other way out."""
    import shutil

    mount = mount_point(where)
    free = shutil.disk_usage(mount).free
    need = max(1, -(-max(need_bytes - free, 0) // (1 << 20)))
    return f"No space left on {mount} (the disk holding {where}): free {need:,} MB or choose another {flag}."
