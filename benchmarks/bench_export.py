"""GGUF export: how long it takes and how much memory it holds, for the tiny model and SmolLM2-135M.

    python benchmarks/bench_export.py                      # tiny (trained here on the sample) and smollm2-135m
    python benchmarks/bench_export.py --folder huggingtweets-demo   # a model folder of your own as well

Each export runs in its own process (Linux): ``peak_rss_bytes`` is that process's peak resident
set during the export (VmHWM, reset after importing torch, safetensors and gguf), ``rss_before_bytes``
its resident set just before, so ``export_rss_mib``, their difference, is what the export itself held.
``weights_bytes`` is the folder's safetensors, ``gguf_bytes`` the file written, ``wall_s`` the
``export_gguf`` call alone. ``readers`` compares, on SmolLM2's weights, reading every tensor
through one ``safe_open`` with one ``safe_open`` per tensor (the export's way). Saves
benchmarks/results/bench_export.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from _common import print_table, save_results  # noqa: E402


def tiny_folder(root: Path) -> Path:
    """The tiny model trained a few steps on the bundled sample: its size is the tiny model's."""
    from huggingtweets.config import TrainConfig
    from huggingtweets.workflow import fetch, prepare, train

    dataset = prepare(fetch([], sample=True))
    config = TrainConfig(model="tiny", output_dir=str(root / "tiny"), max_steps=2, block_size=64, batch_size=4, report_to="none")
    return train(config, dataset).output_dir


def _status_bytes(field: str) -> int:
    """A memory figure of this process from /proc/self/status (Linux), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def worker(folder: str, out: str, quantize: str) -> None:
    import time

    import gguf  # noqa: F401  (imported before the baseline, as the export imports them)
    import safetensors.torch  # noqa: F401
    import torch  # noqa: F401

    from huggingtweets.gguf_export import export_gguf

    # ru_maxrss would carry the parent's peak across fork and exec; VmHWM is this process's own,
    # and writing 5 to clear_refs resets it, so what follows is the export's peak alone.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status_bytes("VmRSS")
    start = time.perf_counter()
    result = export_gguf(folder, out, quantize=quantize, overwrite=True)
    wall = time.perf_counter() - start
    peak = _status_bytes("VmHWM")
    print(json.dumps({"wall_s": round(wall, 2), "rss_before_bytes": before, "peak_rss_bytes": peak, "gguf_bytes": result.size}))


def reader(path: str, mode: str) -> None:
    """Why the export opens the safetensors file once per tensor: every tensor read and converted
    to float16 through one ``safe_open`` (its mapping of the whole file stays resident while open)
    against a ``safe_open`` per tensor, as ``gguf_export._load`` does."""
    import torch
    from safetensors import safe_open

    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status_bytes("VmRSS")
    with safe_open(path, framework="pt") as f:
        keys = list(f.keys())
        for key in keys if mode == "one handle" else ():
            f.get_tensor(key).to(torch.float32).numpy().astype("float16")
    for key in keys if mode == "a handle per tensor" else ():
        with safe_open(path, framework="pt") as f:
            f.get_tensor(key).to(torch.float32).numpy().astype("float16")
    print(json.dumps({"rss_before_bytes": before, "peak_rss_bytes": _status_bytes("VmHWM")}))


def main() -> None:
    parser = argparse.ArgumentParser(description="GGUF export time and peak memory")
    parser.add_argument("--folder", action="append", default=[], help="another model folder to export (repeatable)")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--reader", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(*args.worker)
    if args.reader:
        return reader(*args.reader)

    from huggingtweets.pretrained import SMOLLM2, resolve

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folders = {"tiny": tiny_folder(tmp), SMOLLM2: Path(resolve(SMOLLM2).path)}
        folders.update({Path(f).name: Path(f) for f in args.folder})
        for name, folder in folders.items():
            weights = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
            for quantize in ("f16", "q8_0"):
                out = tmp / "out" / f"{name}-{quantize}.gguf"
                command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(folder), str(out), quantize]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append({"model": name, "quantize": quantize, "weights_bytes": weights, **figures})
        weights = next(folders[SMOLLM2].glob("*.safetensors"))
        readers = []
        for mode in ("one handle", "a handle per tensor"):
            command = [sys.executable, str(Path(__file__).resolve()), "--reader", str(weights), mode]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            readers.append({"model": SMOLLM2, "reader": mode, **figures})
    for r in rows + readers:
        r["peak_rss_mib"] = round(r["peak_rss_bytes"] / 2**20)
        r["export_rss_mib"] = round((r["peak_rss_bytes"] - r["rss_before_bytes"]) / 2**20)
    print_table(rows, ["model", "quantize", "weights_bytes", "gguf_bytes", "wall_s", "peak_rss_mib", "export_rss_mib"])
    print_table(readers, ["model", "reader", "peak_rss_mib", "export_rss_mib"])
    save_results("bench_export", {"rows": rows, "readers": readers})


if __name__ == "__main__":
    main()
