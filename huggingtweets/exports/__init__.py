"""Ways to hand a model folder over as files, behind one small protocol, listed in one registry.

``KINDS`` names one module per format, in the order views offer them; each module declares a
``FORMAT`` (``base.ExportFormat``): its name, the button's words, the suffixes of the files it
writes (and their media types), its options (a dataclass whose fields' help makes the CLI's
flags and the Share step's widgets, as TrainConfig's do), and its write. The CLI's ``export
--format`` and its flags, the Share step's buttons, the hand-over's media types and Voilà's
allow-list (``voila.json``, checked by a test) all come from here: adding a format is one
module plus a line in ``KINDS`` (or ``register`` from anywhere, as a test does).
"""

from __future__ import annotations

import importlib

from ..errors import HuggingTweetsError
from .base import Exported, ExportFormat, option, option_fields, option_label

__all__ = ["Exported", "ExportFormat", "KINDS", "formats", "format_named", "register", "unregister", "option", "option_fields",
           "option_label", "suffixes", "media_type"]

KINDS = ("zip", "gguf")  # the modules here, in the order views offer them
_FORMATS: dict[str, ExportFormat] = {}


def _load() -> None:
    if not _FORMATS:
        for name in KINDS:
            kind = importlib.import_module(f"{__name__}.{name}").FORMAT
            _FORMATS[kind.name] = kind


def formats() -> list[ExportFormat]:
    """Every format, the built-in ones first, then any registered later."""
    _load()
    return list(_FORMATS.values())


def register(kind: ExportFormat) -> ExportFormat:
    """Add (or replace) a format: it shows in the CLI, the Share step and the hand-over at once."""
    _load()
    _FORMATS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    _load()
    if name not in KINDS:
        _FORMATS.pop(name, None)


def format_named(name: str) -> ExportFormat:
    _load()
    try:
        return _FORMATS[name]
    except KeyError:
        raise HuggingTweetsError(f"Unknown export format {str(name)[:20]!r}: use {' or '.join(_FORMATS)}.") from None


def suffixes() -> list[str]:
    """Every suffix a format writes (".zip", ".gguf", ".Modelfile"), for an allow-list."""
    return [s for kind in formats() for s in kind.files]


def media_type(name: str) -> str:
    """The media type of a file a format writes (by how its name ends); octet-stream for any other."""
    for kind in formats():
        for suffix, media in kind.files.items():
            if name.endswith(suffix):
                return media
    return "application/octet-stream"
