"""Would saving a trained model's weights in bf16 change its held-out loss? Measured, on a model folder.

    python benchmarks/bench_bf16_save.py huggingtweets-demo     # a folder `huggingtweets demo` wrote

The folder's held-out tweets (its dataset.json) are packed into blocks exactly as training packs
them (``training.held_out_blocks``, the block size in metrics.json) and scored
four ways: the weights as saved (fp32) and the same weights rounded to bf16, each run in fp32 and
under bf16 autocast (how training evaluates on a CPU with native bf16). The loss is the mean over
predicted tokens. Also the folder's size with the weights saved each way (``save_pretrained``).
Saves benchmarks/results/bench_bf16_save.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from _common import print_table, save_results  # noqa: E402



def held_out_loss(model, blocks: list[dict], autocast: bool, batch: int = 8) -> float:
    import torch

    total, tokens = 0.0, 0
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        for i in range(0, len(blocks), batch):
            part = {k: torch.tensor([b[k] for b in blocks[i : i + batch]]) for k in blocks[0]}
            logits = model(input_ids=part["input_ids"], attention_mask=part["attention_mask"]).logits.float()
            labels = part["labels"][:, 1:]
            loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="sum", ignore_index=-100)
            total += loss.item()
            tokens += int((labels != -100).sum())
    return total / tokens


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def main() -> None:
    import json

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from huggingtweets.dataset import TweetDataset
    from huggingtweets.folder import METRICS
    from huggingtweets.training import held_out_blocks

    parser = argparse.ArgumentParser(description="held-out loss of fp32 vs bf16-saved weights")
    parser.add_argument("folder")
    args = parser.parse_args()
    folder = Path(args.folder)

    tokenizer = AutoTokenizer.from_pretrained(folder)
    metrics = json.loads((folder / METRICS).read_text())
    blocks = held_out_blocks(TweetDataset.load(folder).valid_texts(), tokenizer, metrics["block_size"])
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    rounded = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16).to(torch.float32).eval()

    with tempfile.TemporaryDirectory() as tmp:
        sizes = {}
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            out = Path(tmp) / name
            model.to(dtype).save_pretrained(out)
            tokenizer.save_pretrained(out)
            sizes[name] = folder_bytes(out)
        model.to(torch.float32)

    rows = []
    for weights, m in (("fp32 (as saved)", model), ("bf16 (rounded)", rounded)):
        row = {"weights": weights, "folder_bytes": sizes["fp32" if m is model else "bf16"]}
        row["loss_fp32_compute"] = round(held_out_loss(m, blocks, autocast=False), 5)
        row["loss_bf16_autocast"] = round(held_out_loss(m, blocks, autocast=True), 5)
        rows.append(row)
    print_table(rows, ["weights", "folder_bytes", "loss_fp32_compute", "loss_bf16_autocast"])
    save_results("bench_bf16_save", {
        "folder": folder.name, "base_model": metrics.get("base_model"), "eval_blocks": len(blocks),
        "block_size": metrics["block_size"], "metrics_eval_loss": metrics.get("eval_loss"),
        "config_dtype": json.loads((folder / "config.json").read_text()).get("dtype"), "rows": rows,
    })


if __name__ == "__main__":
    main()
