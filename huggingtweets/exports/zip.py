"""The model folder as one zip: unzipped, a folder ``pipeline('text-generation', model=...)`` loads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..diskio import size_text
from ..share import export_zip
from .base import Exported, ExportFormat, Progress, option


@dataclass
class ZipOptions:
    include_dataset: bool = option(False, "also pack dataset.json: the cleaned tweets, which can be personal (default: left out)",
                                   app=False)


def write(folder: Path, out: Optional[Path], options: ZipOptions, overwrite: bool = False,
          progress: Optional[Progress] = None) -> Exported:
    path = export_zip(folder, out, overwrite=overwrite, include_dataset=options.include_dataset)
    use = "unzip it and load the folder inside with pipeline('text-generation', model=...)."
    return Exported([(path, use)], f"Wrote {path} ({size_text(path.stat().st_size)}): {use[:-1]}")


FORMAT = ExportFormat(
    name="zip",
    button="Download the model (zip)",
    about="the model folder's files (default)",
    files={".zip": "application/zip"},
    options=ZipOptions,
    write=write,
    failed="The zip failed",
)
