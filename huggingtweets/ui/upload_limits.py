"""How much one upload may write, counted on the bytes received, never on the size announced.

The browser announces a file's size when an upload starts; nothing here trusts it. Every piece
is checked *before* it is written, and the upload stops at the first piece that would go past:

- the size announced (a file longer than it said stops at the first piece too many);
- ``HUGGINGTWEETS_UPLOAD_MAX_MB``: the largest one file may be (default 4000);
- ``HUGGINGTWEETS_UPLOAD_TOTAL_MB``: everything in the uploads folder together, whoever sent it
  (every Voilà visitor's kernel writes to the same folder; default 16000);
- ``HUGGINGTWEETS_UPLOAD_KEEP_FREE_MB``: the free disk space an upload never goes below
  (default 1000).

Sizes are in MB of 1,000,000 bytes, as the app's messages count them. Whoever serves the app sets
them in the environment of the server (``HUGGINGTWEETS_UPLOAD_MAX_MB=500 voila ...``). A value that
is no number, is negative, or is zero for the two sizes is ignored: the default applies, and the
kernel's log says so. Each check raises ``UploadError``, one line for the person uploading.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..diskio import size_text

MB = 1_000_000
MAX_ENV = "HUGGINGTWEETS_UPLOAD_MAX_MB"
TOTAL_ENV = "HUGGINGTWEETS_UPLOAD_TOTAL_MB"
KEEP_FREE_ENV = "HUGGINGTWEETS_UPLOAD_KEEP_FREE_MB"
# Twice the 2 GB archive the README plans for (only its tweets files are read, never its media);
# a bigger file is better given by its path, which copies nothing, and one visitor gets no more.
DEFAULT_MAX_MB = 4000
# Four files at the largest, so a few archives can be tried, yet a bound on what all visitors
# together leave in the folder, whatever the size of the disk.
DEFAULT_TOTAL_MB = 16000
# Room for what the app writes after an upload (the tweets cache, a model folder and its
# checkpoints: hundreds of MB for the small models) and for the system's own logs and temp files.
DEFAULT_KEEP_FREE_MB = 1000

log = logging.getLogger(__name__)


class UploadError(Exception):
    """One line for the person uploading."""


def env_bytes(name: str, default_mb: float, zero_ok: bool = False) -> int:
    """``name``'s value in MB, as bytes; the default when unset or not a usable number."""
    text = os.environ.get(name, "").strip()
    if not text:
        return int(default_mb * MB)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        log.warning("%s=%r is not a size in MB: using the default, %s MB", name, text, default_mb)
        return int(default_mb * MB)
    return int(value * MB)


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    total_bytes: int
    keep_free: int

    @classmethod
    def from_env(cls) -> "Limits":
        return cls(env_bytes(MAX_ENV, DEFAULT_MAX_MB), env_bytes(TOTAL_ENV, DEFAULT_TOTAL_MB), env_bytes(KEEP_FREE_ENV, DEFAULT_KEEP_FREE_MB, zero_ok=True))


def folder_bytes(folder: Path, skip: tuple[str, ...] = ()) -> int:
    """The bytes of the files in ``folder`` (not below it), but those named in ``skip``."""
    total = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name not in skip and entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
    return total


class Budget:
    """One upload's allowance: ``start()`` checks the size announced, ``take(n)`` each piece."""

    def __init__(self, folder: Path, name: str, declared: int, limits: Limits, part: str = ""):
        self.folder, self.name, self.declared, self.limits = folder, name, declared, limits
        self.received = 0
        self._skip = (part,)  # its own part file, counted as it grows

    def start(self) -> None:
        size, limits = self.declared, self.limits
        if size > limits.max_bytes:
            raise UploadError(
                f"{self.name} is {size_text(size)} but this app takes uploads of at most {size_text(limits.max_bytes)} "
                f"({MAX_ENV}): give the path of a copy already on the machine running the app, or ask whoever runs it to raise that limit."
            )
        self._check_total(size)
        free = self._free()
        if size + limits.keep_free > free:
            raise UploadError(
                f"{self.name} is {size_text(size)} but only {size_text(free)} are free on the machine running the app, "
                f"which keeps {size_text(limits.keep_free)} for its own work ({KEEP_FREE_ENV}): "
                "free some space, or give the path of a copy already on that machine."
            )

    def take(self, n: int) -> None:
        """Before ``n`` more bytes are written; raises (nothing written) when they would go past a limit."""
        after = self.received + n
        stopped = "the upload was stopped and the part received deleted"
        if after > self.declared:
            raise UploadError(f"{self.name} sent more than the {size_text(self.declared)} it announced: {stopped}; choose the file again.")
        self._check_total(after, stopped + "; ")
        free = self._free()
        if free - n < self.limits.keep_free:
            raise UploadError(
                f"{self.name}: the machine running the app is down to {size_text(free)} free, under the {size_text(self.limits.keep_free)} "
                f"it keeps for its own work ({KEEP_FREE_ENV}): {stopped}; free some space, or give the path of a copy already on that machine."
            )
        self.received = after

    def _check_total(self, size: int, stopped: str = "") -> None:
        try:
            others = folder_bytes(self.folder, self._skip)
        except OSError as err:
            raise UploadError(f"Could not read the uploads folder {self.folder}: {err.strerror or err}.") from None
        if others + size > self.limits.total_bytes:
            raise UploadError(
                f"{self.name} ({size_text(size)}) would take the uploads folder past its {size_text(self.limits.total_bytes)} "
                f"({TOTAL_ENV}; {size_text(others)} already there): {stopped}give the path of a copy already on the machine "
                f"running the app, or ask whoever runs it to empty {self.folder}."
            )

    def _free(self) -> int:
        try:
            return shutil.disk_usage(self.folder).free
        except OSError as err:
            raise UploadError(f"Could not save uploads in {self.folder}: {err.strerror or err}.") from None
