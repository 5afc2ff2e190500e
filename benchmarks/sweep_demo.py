"""Choose the demo's recipe by measurement: train the pretrained offline model on the
bundled sample with several recipes and print held-out loss, bits per character and
wall time side by side (the demo must finish within 180 s on a 2-core CPU).

    python benchmarks/sweep_demo.py                      # every recipe below
    python benchmarks/sweep_demo.py --only full-1e-4-2ep lora-r16-1e-3-2ep

Each run is ``fine_tune`` exactly as the CLI calls it, so wall time includes loading,
the held-out evaluations and saving. Results go to benchmarks/results/sweep_demo-KIND.json
(KIND: the CPU kind, or gpu); a run replaces the rows it ran again (same recipe, model,
precision, kernels and device) and keeps the others, each row naming the host it ran on.
The file's "machine" block describes the latest run only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from _common import RESULTS, describe_device, machine, print_table, result_kind, save_results  # noqa: E402

import torch  # noqa: E402

from huggingtweets import TrainConfig  # noqa: E402
from huggingtweets.dataset import build_dataset, load_sources  # noqa: E402
from huggingtweets.training import fine_tune  # noqa: E402
from huggingtweets.models import load_pretrained  # noqa: E402
from huggingtweets.pretrained import SMOLLM2  # noqa: E402
from huggingtweets.quality import bits_per_char  # noqa: E402

# name -> TrainConfig changes (model: the pretrained offline model; everything else default)
RECIPES = {
    "full-1e-4-2ep": dict(learning_rate=1e-4, epochs=2),
    "full-1e-4-2ep-fp32": dict(learning_rate=1e-4, epochs=2, precision="fp32"),
    "full-2e-4-2ep": dict(learning_rate=2e-4, epochs=2),
    "full-5e-5-2ep": dict(learning_rate=5e-5, epochs=2),
    "full-1e-4-3ep": dict(learning_rate=1e-4, epochs=3),
    "full-2e-4-1ep": dict(learning_rate=2e-4, epochs=1),
    "full-3e-4-2ep": dict(learning_rate=3e-4, epochs=2),
    "full-5e-4-2ep": dict(learning_rate=5e-4, epochs=2),
    "full-4e-4-1ep": dict(learning_rate=4e-4, epochs=1),
    "full-1e-3-2ep": dict(learning_rate=1e-3, epochs=2),
    "full-1e-4-2ep-b4": dict(learning_rate=1e-4, epochs=2, batch_size=4),
    "full-1e-4-2ep-blk64": dict(learning_rate=1e-4, epochs=2, block_size=64),
    "lora-r16-1e-3-2ep": dict(learning_rate=1e-3, epochs=2, lora=True, lora_rank=16, lora_alpha=32),
    # fp32, as CPUs without native bf16 train: one epoch (11 steps) to fit the 180 s there
    "full-5e-4-2ep-fp32": dict(learning_rate=5e-4, epochs=2, precision="fp32"),
    "full-5e-4-1ep-fp32": dict(learning_rate=5e-4, epochs=1, precision="fp32"),
    "full-7e-4-1ep-fp32": dict(learning_rate=7e-4, epochs=1, precision="fp32"),
    "full-1e-3-1ep-fp32": dict(learning_rate=1e-3, epochs=1, precision="fp32"),
    "full-5e-4-1ep-const-fp32": dict(learning_rate=5e-4, epochs=1, precision="fp32", lr_scheduler="constant_with_warmup"),
    "full-4e-4-1ep-const-fp32": dict(learning_rate=4e-4, epochs=1, precision="fp32", lr_scheduler="constant_with_warmup"),
    "full-5e-4-1ep-b4-fp32": dict(learning_rate=5e-4, epochs=1, precision="fp32", batch_size=4),
    "full-3e-4-1ep-b4-const-fp32": dict(learning_rate=3e-4, epochs=1, precision="fp32", batch_size=4, lr_scheduler="constant_with_warmup"),
    "full-2e-4-1ep-b4-const-fp32": dict(learning_rate=2e-4, epochs=1, precision="fp32", batch_size=4, lr_scheduler="constant_with_warmup"),
    "full-4e-4-1ep-b4-const-fp32": dict(learning_rate=4e-4, epochs=1, precision="fp32", batch_size=4, lr_scheduler="constant_with_warmup"),
    "full-5e-4-1ep-b4-linear-fp32": dict(learning_rate=5e-4, epochs=1, precision="fp32", batch_size=4, lr_scheduler="linear"),
    "full-3e-4-1ep-b4-const": dict(learning_rate=3e-4, epochs=1, batch_size=4, lr_scheduler="constant_with_warmup"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(RECIPES), help="run only these recipes")
    parser.add_argument("--model", default=SMOLLM2)
    args = parser.parse_args()

    defaults = TrainConfig()  # the held-out split training makes
    dataset = build_dataset(load_sources([], sample=True)).split(defaults.validation_fraction, defaults.seed)
    rows = []
    for name in args.only or RECIPES:
        with tempfile.TemporaryDirectory() as tmp:
            config = TrainConfig(model=args.model, output_dir=tmp, warmup=0.05, **RECIPES[name])
            start = time.perf_counter()
            result = fine_tune(config, dataset)
            wall = time.perf_counter() - start
            model, tokenizer = load_pretrained(tmp)
            bpc = bits_per_char(model, tokenizer, dataset.valid_texts())
        m = result.metrics
        rows.append(
            {
                "recipe": name,
                "model": args.model,
                "precision": m["precision"],
                "steps": m["global_step"],
                "loss_before": round(m["eval_loss_before"], 3),
                "held_out_loss": round(m["eval_loss"], 3),
                "bits_per_char": round(bpc, 3),
                "train_s": round(m["train_runtime"], 1),
                "wall_s": round(wall, 1),
                # ATEN_CPU_CAPABILITY / ONEDNN_MAX_CPU_ISA can make this host run another kind's kernels
                "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                "device": describe_device(),
            }
        )
        print(rows[-1], flush=True)
    columns = list(rows[0])
    print_table(rows, columns)
    name = f"sweep_demo-{result_kind()}"
    host = machine()["platform"]
    # a row is replaced only by the same recipe, model, precision, kernels and device
    key = lambda row: tuple(row.get(k) for k in ("recipe", "model", "precision", "cpu_capability", "device"))  # noqa: E731
    ran = {key(row) for row in rows}
    kept = [row for row in earlier_rows(name) if key(row) not in ran]
    save_results(name, {"rows": kept + [{**row, "host": host} for row in rows]})


def earlier_rows(name: str) -> list[dict]:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()).get("rows", []) if path.is_file() else []


if __name__ == "__main__":
    main()
