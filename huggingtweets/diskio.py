"""Writing files so that a crash never leaves half of one: the package's one atomic write.

Each write goes to a temporary file in the same folder, is flushed to disk, then
renamed over the target (``os.replace`` is atomic on POSIX and Windows): a reader
sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Union

PathLike = Union[str, "os.PathLike[str]"]


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: PathLike, text: str) -> Path:
    # "surrogatepass" never: text that cannot be UTF-8 is the caller's bug to see
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: PathLike, value: Any, indent: int = 2) -> Path:
    return atomic_write_text(path, json.dumps(value, ensure_ascii=False, indent=indent) + "\n")
