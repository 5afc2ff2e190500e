"""What an export format declares (``ExportFormat``) and what a write returns (``Exported``)."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

Progress = Callable[[int, Optional[int], str], None]


@dataclass
class Exported:
    """The files a format wrote, each with the one line that says what to do with it, and the
    CLI's summary line."""

    files: list[tuple[Path, str]]
    summary: str

    @property
    def path(self) -> Path:
        return self.files[0][0]


@dataclass(frozen=True)
class ExportFormat:
    name: str  # --format NAME
    button: str  # the Share step's button: "Download the model (zip)"
    about: str  # one line for --format's help: what the file is for
    files: dict[str, str]  # suffix -> media type, of every file it writes (the first is the one OUT names)
    options: type  # a dataclass: each field one CLI flag (--NAME) and one widget; help in metadata["help"]
    write: Callable[..., Exported]  # write(folder, out, options, overwrite=..., progress=...) -> Exported
    failed: str = "The export failed"  # the app's words before a refusal

    @property
    def suffix(self) -> str:
        return next(iter(self.files))


def option_fields(options: type) -> list[tuple[str, Any, type, str, tuple, bool]]:
    """(name, default, type, help, choices, shown in the app) for each option field (its
    widget's label: ``option_label``)."""
    hints = typing.get_type_hints(options)
    out = []
    for f in dataclasses.fields(options):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        out.append((f.name, default, hints[f.name], f.metadata.get("help", ""), tuple(f.metadata.get("choices", ())),
                    f.metadata.get("app", True)))
    return out


def option(default, help: str, choices: tuple = (), app: bool = True, label: str = ""):
    """A field of a format's options: its help (the flag's and the widget's tooltip), its choices,
    whether the app offers it (a personal file in a download: only when asked on the CLI), and
    the widget's label (default: the name)."""
    return field(default=default, metadata={"help": help, "choices": choices, "app": app, "label": label})


def option_label(options: type, name: str) -> str:
    found = next(f for f in dataclasses.fields(options) if f.name == name)
    return found.metadata.get("label") or name.replace("_", " ").capitalize()
