"""The package's version, from its installed metadata (setup.cfg is the one place it is written)."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("huggingtweets")
except metadata.PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0.0.0+unknown"
