"""One GGUF file (and an Ollama Modelfile beside it) for llama.cpp, Ollama and LM Studio."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..diskio import size_text
from ..gguf_export import QUANTIZE, export_gguf
from .base import Exported, ExportFormat, Progress, option


@dataclass
class GgufOptions:
    quantize: str = option(QUANTIZE[0], "the weights: f16 (as trained, half the saved fp32 size) or q8_0 (a quarter, nearly the same tweets)",
                           choices=QUANTIZE, label="Weights")


def write(folder: Path, out: Optional[Path], options: GgufOptions, overwrite: bool = False,
          progress: Optional[Progress] = None) -> Exported:
    result = export_gguf(folder, out, quantize=options.quantize, overwrite=overwrite, progress=progress)
    create = f"ollama create {result.name} -f {result.modelfile.name}"
    return Exported(
        [(result.gguf, f"put it beside {result.modelfile.name}, then run: {create}"),
         (result.modelfile, f"Ollama's recipe for {result.gguf.name} (its sampling and the end-of-tweet stop).")],
        f"Wrote {result.gguf} ({size_text(result.size)}, {result.quantize}) and {result.modelfile.name} in {result.seconds:.1f} s: "
        f"ollama create {result.name} -f {result.modelfile}")


FORMAT = ExportFormat(
    name="gguf",
    button="Download for Ollama / llama.cpp (GGUF)",
    about="one file for llama.cpp, Ollama, LM Studio",
    files={".gguf": "application/octet-stream", ".Modelfile": "text/plain"},
    options=GgufOptions,
    write=write,
    failed="The GGUF export failed",
)
