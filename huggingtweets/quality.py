"""How good a model is, in numbers comparable across models and tokenizers.

- ``bits_per_char``: held-out loss in bits per character. Each held-out tweet
  is scored as ``end-of-text tweet end-of-text`` (a tweet starts after
  end-of-text, as in training and generation); the summed token loss of
  everything after the first end-of-text, in bits, is divided by the tweets'
  characters plus one per tweet (its end, like a newline). Token-level losses
  cannot be compared between a 2,000-token and a 49,152-token vocabulary;
  bits per character can.
- ``distinct_n``: distinct n-grams over all n-grams of a set of generations
  (distinct-2 near 1: varied; low: the model repeats itself).
"""

from __future__ import annotations

import math
from typing import Sequence


def bits_per_char(model, tokenizer, texts: Sequence[str], batch_size: int = 16, max_tokens: int = 512) -> float:
    """Held-out bits per character of ``texts`` under ``model`` (see the module docstring)."""
    chars = sum(len(t) + 1 for t in texts)
    if not texts or chars == 0:
        return float("nan")
    return sum(text_bits(model, tokenizer, texts, batch_size, max_tokens)) / chars


def text_bits(model, tokenizer, texts: Sequence[str], batch_size: int = 16, max_tokens: int = 512) -> list[float]:
    """Bits each text costs under ``model``, scored as ``end-of-text text end-of-text``."""
    import torch

    if not texts:
        return []
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    rows = [[eos] + ids[: max_tokens - 2] + [eos] for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = [0.0] * len(rows)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))  # batches of like lengths: little padding
    try:
        with torch.inference_mode():
            for first in range(0, len(order), batch_size):
                chosen = order[first : first + batch_size]
                batch = [rows[i] for i in chosen]
                width = max(map(len, batch))
                ids = torch.tensor([r + [pad] * (width - len(r)) for r in batch], device=device)
                mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in batch], device=device)
                logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
                nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
                for i, bits in zip(chosen, (nll * mask[:, 1:]).sum(dim=1).div(math.log(2)).tolist()):
                    out[i] = bits
    finally:
        model.train(was_training)
    return out


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct word n-grams / all word n-grams over ``texts`` (0 when there are none)."""
    grams = [tuple(words[i : i + n]) for t in texts for words in [t.lower().split()] for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def inference_autocast(model):
    """bf16 autocast for scoring and sampling where the hardware runs bf16 natively (a GPU
    that has it, or a CPU with AVX512-BF16 or AMX); else no change (fp32)."""
    import contextlib

    import torch

    device = next(model.parameters()).device
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16) if torch.cuda.is_bf16_supported() else contextlib.nullcontext()
    from .distributed import cpu_has_bf16

    return torch.autocast("cpu", dtype=torch.bfloat16) if cpu_has_bf16() else contextlib.nullcontext()


def for_scoring(model):
    """``model`` in bf16 weights where the hardware runs bf16 natively (about 30 % faster than
    autocast for sampling on a 2-core AMX CPU: no casts each step), else as it is; for models
    that only measure (the voice score's base model and samples), never for a user's folder."""
    import torch

    from .distributed import cpu_has_bf16

    device = next(model.parameters()).device
    native = torch.cuda.is_bf16_supported() if device.type == "cuda" else cpu_has_bf16()
    return model.to(torch.bfloat16) if native else model
