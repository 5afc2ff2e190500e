"""The demo as a user runs it: ``huggingtweets demo`` timed end to end, against its budget.

    python benchmarks/bench_demo.py              # saves benchmarks/results/bench_demo-KIND.json
    python benchmarks/bench_demo.py --out d.json # also writes the figures there
    python benchmarks/bench_demo.py --as-fp32    # as a CPU without native bf16 runs it

One fresh process runs ``python -m huggingtweets demo --output TMP`` (the offline model
already converted, as after the quick start's set-up), so the wall time holds what the user
waits for: imports, loading, training, the held-out evaluations, saving, the five tweets and
the voice score (the sample's imitations ship with the package). Printed and saved: the CPU
kind (AVX2 / AVX512-BF16 / AMX), the wall time against
``BUDGET_S``, the process's peak memory, and the model's held-out loss and bits per
character (``quality.bits_per_char`` on the held-out tweets the run kept, the figure the
demo's recipe is chosen by), read back from the folder the demo wrote.

``--as-fp32`` runs the demo as an AVX2-only CPU does, on a host that has bf16: in the demo's
process torch's bf16 probes answer no, so it takes the fp32 recipe and trains in fp32
(saved as bench_demo-KIND-as-fp32.json). With ``ATEN_CPU_CAPABILITY=avx2
ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2`` in the environment its kernels are
AVX2's as well (recorded as ``torch_cpu_capability``). The time then still tells this host's
cores and clock, not an AVX2-only CPU's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import cpu_kind, describe_device, print_table, result_kind, save_results, write_json  # noqa: E402

from huggingtweets.folder import CARD, METRICS, TRAIN_CONFIG, VOICE  # noqa: E402

# The demo's process, told the CPU has no native bf16 (--as-fp32).
AS_FP32 = ("import sys, torch; torch.cpu._is_avx512_bf16_supported = lambda: False; "
           "torch.cpu._is_amx_tile_supported = lambda: False; from huggingtweets.cli import main; sys.exit(main())")
BUDGET_S = 180  # the demo's promise on a 2-core CPU
MAX_BPC = 1.32  # the held-out bits per character the demo's recipe must reach on the sample


def held_out_bits_per_char(folder: Path) -> float:
    from huggingtweets.dataset import TweetDataset
    from huggingtweets.models import load_pretrained
    from huggingtweets.quality import bits_per_char

    model, tokenizer = load_pretrained(str(folder))
    return bits_per_char(model, tokenizer, TweetDataset.load(folder).valid_texts())


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the figures to this JSON file too")
    parser.add_argument("--tiny", action="store_true", help="time `huggingtweets demo --tiny` instead (not saved)")
    parser.add_argument("--as-fp32", action="store_true", help="as a CPU without native bf16 runs it (see above)")
    args = parser.parse_args()
    if args.as_fp32 and torch.cuda.is_available():
        raise SystemExit("--as-fp32 times a CPU without bf16; this machine would train on its GPU: run it where no GPU is visible (CUDA_VISIBLE_DEVICES=).")
    with tempfile.TemporaryDirectory(prefix="bench_demo-") as tmp:
        folder = Path(tmp) / "huggingtweets-demo"
        command = [sys.executable, *(["-c", AS_FP32] if args.as_fp32 else ["-m", "huggingtweets"]), "demo", "--output", str(folder)]
        command += ["--tiny"] if args.tiny else []
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"the demo failed ({done.returncode}):\n{done.stderr[-3000:]}")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
        metrics = json.loads((folder / METRICS).read_text())
        recipe = json.loads((folder / TRAIN_CONFIG).read_text())
        bpc = held_out_bits_per_char(folder)
        voice = json.loads((folder / VOICE).read_text()) if (folder / VOICE).is_file() else {}
        card = (folder / CARD).is_file()
    said = done.stdout.splitlines()
    author = (voice.get("authors") or [{}])[0]
    payload = {
        "device": describe_device(),
        "cpu_kind": cpu_kind(),
        "command": "huggingtweets demo" + (" --tiny" if args.tiny else ""),
        "as_fp32": args.as_fp32,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "isa_limits": {k: os.environ[k] for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS") if k in os.environ},
        "wall_s": wall,
        "budget_s": BUDGET_S,
        "within_budget": wall <= BUDGET_S,
        "peak_rss_bytes": peak,
        "precision": metrics.get("precision"),
        "recipe": {k: recipe.get(k) for k in ("model", "epochs", "batch_size", "learning_rate", "lr_scheduler")},
        "steps": metrics.get("global_step"),
        "train_s": metrics.get("train_runtime"),
        "eval_loss_before": metrics.get("eval_loss_before"),
        "eval_loss": metrics.get("eval_loss"),
        "bits_per_char": bpc,
        "max_bits_per_char": MAX_BPC,
        "voice": voice.get("score"), "voice_passed": author.get("passed"), "voice_counted": author.get("counted"),
        "voice_real": author.get("real_rate"), "voice_base": author.get("base_rate"), "voice_shuffled": author.get("shuffled_score"),
        "voice_seconds": voice.get("seconds"),
        "load_avg_1min": os.getloadavg()[0],  # other work on the machine while it ran
        "card": card,
        "posts": [line for line in said if line[:3] in {f"{i}. " for i in range(1, 10)}],  # what the demo wrote
        "folder_said": any(line.startswith(f"The model folder is {folder} ") for line in said),
    }
    rows = [{"": k, "value": (f"{v:,.3f}" if isinstance(v, float) else v)} for k, v in payload.items() if k != "posts"]
    print_table(rows, ["", "value"])
    print("The demo wrote:", *payload["posts"], sep="\n  ")
    if args.out:
        write_json(args.out, payload)
    if not args.tiny:
        save_results(f"bench_demo-{result_kind()}" + ("-as-fp32" if args.as_fp32 else ""), payload)


if __name__ == "__main__":
    main()
