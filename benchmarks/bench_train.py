"""Training throughput of ``fine_tune`` (Trainer, callbacks, checkpoints) on the tiny model.

Baseline: a plain PyTorch AdamW loop over the same blocks with the same model and
batch size, so the difference is what the Trainer path costs. Run:
    python benchmarks/bench_train.py [--steps 40]
Figures are training tokens per second (forward, backward, update), CPU or GPU.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from _common import report

from huggingtweets.config import TrainConfig
from huggingtweets.dataset import build_dataset, load_sources, pack_blocks
from huggingtweets.models import build_tiny
from huggingtweets.training import DEMO_CONFIG, fine_tune


def plain_loop(dataset, config: TrainConfig, steps: int) -> float:
    """Seconds for ``steps`` AdamW steps of a plain loop over the packed blocks."""
    import torch

    model, tokenizer = build_tiny(dataset.all_train_tweets(), config.block_size, config.seed)
    blocks = pack_blocks(dataset.balanced_train(), tokenizer, config.block_size)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    batches = [blocks[i : i + config.batch_size] for i in range(0, len(blocks), config.batch_size)]
    start = time.perf_counter()
    for step in range(steps):
        batch = batches[step % len(batches)]
        tensors = {k: torch.tensor([b[k] for b in batch], device=device) for k in batch[0]}
        loss = model(**tensors).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    dataset = build_dataset(load_sources([], sample=True))
    config = DEMO_CONFIG.replace(max_steps=args.steps, save_steps=args.steps, logging_steps=10)
    tokens = args.steps * config.batch_size * config.block_size

    rows = []
    baseline = plain_loop(dataset, config, args.steps)
    rows.append({"path": "baseline: plain PyTorch loop", "steps": args.steps, "seconds": round(baseline, 2), "tokens_per_s": round(tokens / baseline)})
    with tempfile.TemporaryDirectory() as tmp:
        result = fine_tune(config.replace(output_dir=tmp), dataset)
    runtime = result.metrics["train_runtime"]  # the Trainer's own clock: the loop, checkpoints and evals included
    rows.append({"path": "huggingtweets: fine_tune (Trainer)", "steps": args.steps, "seconds": round(runtime, 2), "tokens_per_s": round(tokens / runtime)})
    report("bench_train", rows, ["path", "steps", "seconds", "tokens_per_s"])


if __name__ == "__main__":
    main()
