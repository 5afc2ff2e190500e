"""Attention kept within each tweet against plain packing (tweets joined by end-of-text, each
attending to the tweets before it in its block), on the demo's recipe.

    python benchmarks/bench_attention.py            # the demo's recipe, both ways, one after the other

"per_tweet" is ``TrainConfig.within_post`` (``--within-post``, the default outside the demo):
each block gets position ids that restart at every end-of-text and no attention mask, so
transformers (``masking_utils``: packed sequences found from position ids) builds a
block-diagonal causal mask: each tweet sees only itself after its end-of-text, as a prompt
does when the model writes. The held-out evaluation during training changes with it, so the
figure compared is ``quality.bits_per_char`` on the held-out tweets (each scored alone, the
same for both), with the training time beside it. Saved to
benchmarks/results/bench_attention-KIND.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from _common import cpu_kind, print_table, result_kind, save_results, write_json  # noqa: E402

MODES = ("shipped", "per_tweet")


def run(mode: str, data) -> dict:
    from huggingtweets import training
    from huggingtweets.config import DEMO_PRESET, TrainConfig
    from huggingtweets.models import load_pretrained
    from huggingtweets.quality import bits_per_char

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        config = TrainConfig(output_dir=tmp, **dict(DEMO_PRESET, within_post=mode == "per_tweet"), voice_score=False)
        result = training.fine_tune(config, data)
        wall = time.perf_counter() - start
        model, tokenizer = load_pretrained(tmp)
        bpc = bits_per_char(model, tokenizer, data.valid_texts())
    m = result.metrics
    return {"mode": mode, "precision": m["precision"], "steps": m["global_step"], "bits_per_char": round(bpc, 4),
            "eval_loss_in_training": round(m["eval_loss"], 4), "train_s": round(m["train_runtime"], 1), "wall_s": round(wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=MODES, nargs="+", help="run only these")
    parser.add_argument("--max-steps", type=int, default=0, help="stop each run after N steps (smoke test; not saved)")
    parser.add_argument("--out", help="write the figures to this JSON file too")
    args = parser.parse_args()

    from huggingtweets.config import TrainConfig
    from huggingtweets.dataset import build_dataset, load_sources

    if args.max_steps:
        from huggingtweets import config

        config.DEMO_PRESET = {**config.DEMO_PRESET, "max_steps": args.max_steps}
    defaults = TrainConfig()
    data = build_dataset(load_sources([], sample=True)).split(defaults.validation_fraction, defaults.seed)
    rows = [run(mode, data) for mode in args.only or MODES]
    print_table(rows, list(rows[0]))
    payload = {"cpu_kind": cpu_kind(), "rows": rows}
    if args.out:
        write_json(args.out, payload)
    if not args.max_steps:
        save_results(f"bench_attention-{result_kind()}", payload)


if __name__ == "__main__":
    main()
