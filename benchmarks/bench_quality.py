"""Quality side by side: the from-scratch ``tiny`` model against the pretrained offline
model, each trained with its own preset on the same tweets.

    python benchmarks/bench_quality.py                         # the bundled sample
    python benchmarks/bench_quality.py my-archive.zip --out q.json

For each model: held-out loss (per token: not comparable across tokenizers), held-out
bits per character (comparable: see huggingtweets/quality.py), the share of 50
generated tweets flagged near-copy, distinct-2 over those 50, and wall time from the
start of training to the saved folder. Target on the sample: at most 1.45 bits per
character for the pretrained model (tiny: about 2.5).
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

from _common import machine, report  # noqa: E402

from huggingtweets import SamplingConfig, TrainConfig  # noqa: E402
from huggingtweets.dataset import build_dataset, load_sources  # noqa: E402
from huggingtweets.training import fine_tune  # noqa: E402
from huggingtweets.config import DEMO_PRESET, TINY_PRESET  # noqa: E402
from huggingtweets.generation import load_generator  # noqa: E402
from huggingtweets.quality import bits_per_char, distinct_n  # noqa: E402

# The bf16 hosts' demo recipe everywhere (an AVX2-only host's demo takes DEMO_PRESET_FP32,
# whose figures are sweep_demo.py's and bench_demo.py --as-fp32's).
PRESETS = {"tiny": TINY_PRESET, "pretrained": DEMO_PRESET}
GENERATIONS = 50


def measure(name: str, dataset, steps: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(output_dir=tmp).replace(**PRESETS[name])
        if steps:
            config = config.replace(max_steps=steps)
        start = time.perf_counter()
        result = fine_tune(config, dataset)
        wall = time.perf_counter() - start
        generator = load_generator(tmp)
        bpc = bits_per_char(generator.model, generator.tokenizer, dataset.valid_texts())
        tweets = generator.generate(SamplingConfig(prompt="", n=GENERATIONS, seed=0))
    texts = [t.text for t in tweets]
    return {
        "model": name,
        "base": config.model,
        "held_out_loss": round(result.metrics["eval_loss"], 3),
        "bits_per_char": round(bpc, 3),
        "near_copy_share": round(sum(t.near_copy for t in tweets) / len(tweets), 3),
        "distinct_2": round(distinct_n(texts, 2), 3),
        "wall_s": round(wall, 1),
        "examples": texts[:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Held-out bits per character, near copies and variety: tiny vs pretrained.")
    parser.add_argument("sources", nargs="*", help="sources as for 'huggingtweets train' (default: the bundled sample)")
    parser.add_argument("--models", nargs="+", choices=sorted(PRESETS), default=list(PRESETS))
    parser.add_argument("--steps", type=int, default=0, help="cap each run at this many steps (a smoke test)")
    parser.add_argument("--out", metavar="FILE.json", help="also write the results here")
    args = parser.parse_args()

    defaults = TrainConfig()  # the held-out split training makes
    dataset = build_dataset(load_sources(args.sources, sample=not args.sources)).split(defaults.validation_fraction, defaults.seed)
    rows = [measure(name, dataset, args.steps) for name in args.models]
    columns = ["model", "base", "held_out_loss", "bits_per_char", "near_copy_share", "distinct_2", "wall_s"]
    report("bench_quality", rows, columns)
    for r in rows:
        print(f"\n{r['model']}:", *(f"  - {t}" for t in r["examples"]), sep="\n")
    if args.out:
        Path(args.out).write_text(json.dumps({"machine": machine(), "rows": rows}, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
