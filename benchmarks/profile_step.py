"""Where a training step's time goes: the profile each speed lever is judged by, before and after.

    python benchmarks/profile_step.py                     # the offline pretrained model, bf16 where native
    python benchmarks/profile_step.py --loss chunked      # the lever: LM head + loss in chunks

One optimizer step as ``fine_tune`` takes it (``TrainConfig``'s batch and block, AdamW fused,
bf16 autocast on a CPU with native bf16, the model's dropout as loaded), on blocks of the
bundled sample; a few warm-up steps first, then ``--steps`` steps under ``torch.profiler``.
The time is grouped (matmuls, the loss and its softmax, the optimizer, casts and copies,
dropout, the rest) and printed beside the step time and the MFU against a bf16/fp32 matmul
peak measured in the same run. Saved to benchmarks/results/profile_step-KIND[-LEVER].json.

``--loss chunked`` computes the LM head and the cross-entropy in chunks of ``--chunk`` tokens
with each chunk's logits recomputed in the backward pass (``torch.utils.checkpoint``), so the
tokens x vocabulary logits are never held whole in fp32: the lever issue 20 names first.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import cpu_kind, describe_device, matmul_peak, print_table, result_kind, sample_blocks, save_results, train_flops_per_token, write_json  # noqa: E402

GROUPS = (  # first match wins, on the lower-cased op name
    ("matmul", ("mm", "matmul", "linear", "addmm", "bmm", "baddbmm", "scaled_dot_product", "_flash_attention")),
    ("loss", ("cross_entropy", "log_softmax", "nll_loss", "_softmax_backward", "logsumexp")),
    ("optimizer", ("adam", "_foreach", "_fused")),
    ("dropout", ("dropout", "bernoulli", "native_dropout")),
    ("casts/copies", ("copy_", "to_copy", "_to_copy", "clone", "contiguous", "cat", "index", "embedding")),
)


def group_of(name: str) -> str:
    low = name.lower()
    for group, keys in GROUPS:
        if any(k in low for k in keys):
            return group
    return "other"


def chunked_loss(model, input_ids, attention_mask, labels, chunk: int):
    """Mean next-token loss with the LM head applied a chunk of tokens at a time, each
    chunk's logits recomputed in the backward pass rather than kept."""
    import torch
    from torch.utils.checkpoint import checkpoint

    hidden = model.base_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    hidden = hidden[:, :-1].reshape(-1, hidden.shape[-1])
    target = labels[:, 1:].reshape(-1)
    head = model.get_output_embeddings()

    def piece(h, t):
        return torch.nn.functional.cross_entropy(head(h).float(), t, ignore_index=-100, reduction="sum")

    total = sum(checkpoint(piece, hidden[i:i + chunk], target[i:i + chunk], use_reentrant=False)
                for i in range(0, hidden.shape[0], chunk))
    return total / (target != -100).sum().clamp(min=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    parser.add_argument("--loss", choices=("model", "chunked"), default="model")
    parser.add_argument("--chunk", type=int, default=256, help="tokens per chunk with --loss chunked")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--no-save", action="store_true", help="do not save under benchmarks/results/")
    parser.add_argument("--out", help="write the figures to this JSON file too")
    args = parser.parse_args()

    import torch
    from torch.profiler import ProfilerActivity, profile

    from huggingtweets.config import TrainConfig
    from huggingtweets.models import load_pretrained
    from huggingtweets.pretrained import resolve
    from huggingtweets.training import resolve_precision

    config = TrainConfig(model=args.model)
    precision = resolve_precision(args.precision, args.model)
    model, tokenizer = load_pretrained(resolve(args.model).path)
    model.train()
    block, batch = config.block_size, config.batch_size
    blocks = sample_blocks(tokenizer, block)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, fused=True)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")

    def step(i: int) -> None:
        x = blocks[(i * batch) % len(blocks):][:batch]
        mask = torch.ones_like(x)
        with autocast:
            if args.loss == "chunked":
                loss = chunked_loss(model, x, mask, x, args.chunk)
            else:
                loss = model(input_ids=x, attention_mask=mask, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    warm = []
    for i in range(args.warmup):
        start = time.perf_counter()
        step(i)
        warm.append(time.perf_counter() - start)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for i in range(args.steps):
            step(args.warmup + i)
        step_s = (time.perf_counter() - start) / args.steps
    groups: dict[str, float] = {}
    for event in prof.key_averages():
        groups[group_of(event.key)] = groups.get(group_of(event.key), 0.0) + event.self_cpu_time_total / 1e6 / args.steps
    profiled = sum(groups.values())

    cfg = model.config
    shape = {"params": sum(p.numel() for p in model.parameters()), "layers": cfg.num_hidden_layers, "width": cfg.hidden_size, "block_size": block}
    flops = train_flops_per_token(shape) * batch * block
    peak = matmul_peak("cpu", {precision})[precision]
    payload = {
        "device": describe_device(), "cpu_kind": cpu_kind(), "model": args.model, "precision": precision,
        "first_step_s": warm[0] if warm else None, "loss": args.loss, "chunk": args.chunk if args.loss == "chunked" else None, "batch": batch, "block": block,
        "step_s": step_s, "tokens_per_s": batch * block / step_s, "matmul_peak_flops": peak,
        "mfu": flops / step_s / peak, "seconds_per_step": {k: round(v, 4) for k, v in sorted(groups.items(), key=lambda kv: -kv[1])},
        "load_avg_1min": os.getloadavg()[0],
    }
    rows = [{"group": k, "s/step": f"{v:.3f}", "share": f"{v / profiled:.0%}"} for k, v in payload["seconds_per_step"].items()]
    print_table(rows, ["group", "s/step", "share"])
    print(f"{args.model} {precision} loss={args.loss} on {payload['device']}, {payload['cpu_kind']}: "
          f"{step_s:.2f} s/step (the first: {payload['first_step_s'] or 0:.1f} s), {payload['tokens_per_s']:.0f} tokens/s, "
          f"MFU {payload['mfu']:.1%} of {peak / 1e9:.0f} GFLOP/s")
    if args.out:
        write_json(args.out, payload)
    if not args.no_save:
        lever = "" if args.loss == "model" else f"-{args.loss}"
        save_results(f"profile_step-{result_kind()}{lever}", payload)


if __name__ == "__main__":
    main()
