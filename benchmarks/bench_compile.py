"""What ``torch.compile`` costs and saves in a training run, against eager steps of the same
model in the same process: the figures a "compile when the run is long enough" rule needs.

    python benchmarks/bench_compile.py                  # the offline pretrained model
    python benchmarks/bench_compile.py --model FOLDER   # any causal LM folder
    python benchmarks/bench_compile.py --backend eager  # tracing only: a smoke test of the script

Steps as ``fine_tune`` takes them (``TrainConfig``'s batch x block, fused AdamW, bf16 autocast
where the CPU has native bf16, gradient clipping), on blocks of the bundled sample. Eager
first: ``--steps`` timed steps after one warm-up. Then the same model compiled, and the
first call of each shape a real run meets timed on its own:
  train_first        the first compiled step (the graph compiled for batch x block)
  train              a compiled step, steady (mean of ``--steps``)
  last_batch_first   the epoch's last, smaller batch (a new shape: compiled again)
  eval_first         the held-out evaluation's first forward (eval mode, no grad: again)
``break_even_steps`` = the compile seconds (each first call less a steady step of its kind)
over the seconds a compiled step saves: how many steps a run needs before compiling pays.
Inductor caches compiled graphs on disk; the run uses a fresh cache (a user's first run)
unless ``--warm-cache``.
Saved to benchmarks/results/bench_compile-KIND.json (KIND: the CPU kind, or gpu).
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

from _common import cpu_kind, describe_device, kind_tag, print_table, sample_blocks, save_results, synchronize, write_json  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--steps", type=int, default=3, help="timed steady steps, eager and compiled")
    parser.add_argument("--backend", default="inductor", help="torch.compile's backend (eager: tracing only, a smoke test)")
    parser.add_argument("--warm-cache", action="store_true", help="keep inductor's on-disk cache (a later run of the same model); default: a fresh one, as a first run")
    parser.add_argument("--no-save", action="store_true", help="do not save under benchmarks/results/")
    parser.add_argument("--out", help="write the figures to this JSON file too")
    args = parser.parse_args()
    fresh = None if args.warm_cache else tempfile.TemporaryDirectory(prefix="bench_compile-")
    if fresh:  # inductor keeps compiled graphs on disk across processes: a first run has none
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = fresh.name

    import torch

    from huggingtweets.config import TrainConfig
    from huggingtweets.models import load_pretrained
    from huggingtweets.pretrained import resolve
    from huggingtweets.training import resolve_precision

    config = TrainConfig(model=args.model)
    precision = resolve_precision("auto", args.model)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, tokenizer = load_pretrained(resolve(args.model).path)
    model.to(device).train()
    block, batch = config.block_size, config.batch_size
    blocks = sample_blocks(tokenizer, block).to(device)
    last_batch = max(1, batch * 5 // 8)  # an epoch's remainder: fewer blocks than a full batch
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, fused=True)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)

    def autocast():
        return torch.autocast(device, dtype=dtype or torch.float32, enabled=dtype is not None)

    def train_step(net, rows: int, i: int) -> None:
        x = blocks[(i * batch) % (len(blocks) - batch) :][:rows]
        with autocast():
            loss = net(input_ids=x, attention_mask=torch.ones_like(x), labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def eval_forward(net, i: int) -> None:
        x = blocks[(i * batch) % (len(blocks) - batch) :][:batch]
        net.eval()
        with torch.no_grad(), autocast():
            net(input_ids=x, attention_mask=torch.ones_like(x), labels=x).loss.item()
        net.train()

    def timed(fn) -> float:
        synchronize()
        start = time.perf_counter()
        fn()
        synchronize()
        return time.perf_counter() - start

    def steady(fn) -> float:
        return sum(timed(lambda i=i: fn(i)) for i in range(args.steps)) / args.steps

    timed(lambda: train_step(model, batch, 0))  # eager warm-up: kernels chosen, optimizer state made
    eager = {"train": steady(lambda i: train_step(model, batch, i + 1)),
             "last_batch": steady(lambda i: train_step(model, last_batch, i + 1)),
             "eval": steady(lambda i: eval_forward(model, i))}
    compiled_model = torch.compile(model, backend=args.backend)
    compiled = {"train_first": timed(lambda: train_step(compiled_model, batch, 0))}
    compiled["train"] = steady(lambda i: train_step(compiled_model, batch, i + 1))
    compiled["last_batch_first"] = timed(lambda: train_step(compiled_model, last_batch, 0))
    compiled["last_batch"] = steady(lambda i: train_step(compiled_model, last_batch, i + 1))
    compiled["eval_first"] = timed(lambda: eval_forward(compiled_model, 0))
    compiled["eval"] = steady(lambda i: eval_forward(compiled_model, i + 1))

    compile_s = sum(max(0.0, compiled[f"{kind}_first"] - compiled[kind]) for kind in ("train", "last_batch", "eval"))
    saved = eager["train"] - compiled["train"]
    payload = {
        "device": describe_device(), "cpu_kind": cpu_kind() if device == "cpu" else None, "model": args.model,
        "precision": precision, "backend": args.backend, "warm_cache": args.warm_cache, "batch": batch, "last_batch": last_batch, "block": block,
        "eager_s": eager, "compiled_s": compiled, "compile_s": compile_s, "saved_per_step_s": saved,
        "step_speedup": eager["train"] / compiled["train"],
        "break_even_steps": compile_s / saved if saved > 0 else None,
        "load_avg_1min": os.getloadavg()[0],
    }
    rows = [{"": name, "eager s": f"{eager[name]:.2f}", "compiled s": f"{compiled[name]:.2f}", "first compiled s": f"{compiled[name + '_first']:.1f}"}
            for name in ("train", "last_batch", "eval")]
    print_table(rows, ["", "eager s", "compiled s", "first compiled s"])
    even = payload["break_even_steps"]
    print(f"{args.model} {precision} on {payload['device']}, {payload['cpu_kind'] or 'GPU'}: compiling costs {compile_s:.0f} s, "
          f"saves {saved:.2f} s a step ({payload['step_speedup']:.2f}x): "
          + (f"it pays after {even:.0f} steps" if even else "it never pays"))
    if args.out:
        write_json(args.out, payload)
    if not args.no_save:
        backend = "" if args.backend == "inductor" else f"-{args.backend}"
        save_results(f"bench_compile-{kind_tag(payload['cpu_kind'])}{backend}", payload)


if __name__ == "__main__":
    main()
