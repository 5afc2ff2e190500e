"""fp32 against bf16 autocast for one training step of the pretrained offline model on
this machine's CPU (or GPU), interleaved so that other load on the machine hits both alike.

    python benchmarks/bench_precision.py                  # smollm2-135m, 8 x 128 tokens, 6 rounds
    python benchmarks/bench_precision.py --model tiny-folder --rounds 10

Prints the median step time and tokens/s of each, and the ratio; saves
benchmarks/results/bench_precision.json. This is the measurement behind
``--precision auto`` choosing bf16 on CPUs with native bf16 (DESIGN.md, "Precision").
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from _common import report  # noqa: E402


def main() -> None:
    import torch

    from huggingtweets.models import load_model
    from huggingtweets.pretrained import SMOLLM2

    parser = argparse.ArgumentParser(description="fp32 vs bf16 autocast training step time")
    parser.add_argument("--model", default=SMOLLM2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--block", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()

    from huggingtweets.errors import HuggingTweetsError
    from huggingtweets.training import resolve_precision

    try:  # the package's own rule: refused where bf16 would only be emulated (hours a round)
        resolve_precision("bf16", args.model)
    except HuggingTweetsError as err:
        print(f"skipped: {err}")
        return
    model, _ = load_model(args.model)
    model.train()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    ids = torch.randint(0, model.config.vocab_size, (args.batch, args.block), device=device)

    def step(bf16: bool) -> float:
        start = time.perf_counter()
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    step(False), step(True)  # warm-up: first-call costs out of the figures
    times = {"fp32": [], "bf16": []}
    for _ in range(args.rounds):
        times["fp32"].append(step(False))
        times["bf16"].append(step(True))
    tokens = args.batch * args.block
    rows = [
        {"precision": p, "median_step_s": round(statistics.median(t), 3), "tokens_per_s": round(tokens / statistics.median(t))}
        for p, t in times.items()
    ]
    rows.append({"precision": "bf16 / fp32", "median_step_s": "", "tokens_per_s": f"{rows[1]['tokens_per_s'] / rows[0]['tokens_per_s']:.2f}x"})
    report("bench_precision", rows, ["precision", "median_step_s", "tokens_per_s"])


if __name__ == "__main__":
    main()
