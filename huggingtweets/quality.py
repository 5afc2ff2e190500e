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
    import torch

    if not texts:
        return float("nan")
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    rows = [[eos] + ids[: max_tokens - 2] + [eos] for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]
    chars = sum(len(t) + 1 for t in texts)
    if not rows or chars == 0:
        return float("nan")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    nats = 0.0
    try:
        with torch.inference_mode():
            for start in range(0, len(rows), batch_size):
                batch = rows[start : start + batch_size]
                width = max(map(len, batch))
                ids = torch.tensor([r + [pad] * (width - len(r)) for r in batch], device=device)
                mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in batch], device=device)
                logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
                target = ids[:, 1:]
                nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, reduction="none")
                nats += float((nll * mask[:, 1:]).sum())
    finally:
        model.train(was_training)
    return nats / math.log(2) / chars


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct word n-grams / all word n-grams over ``texts`` (0 when there are none)."""
    grams = [tuple(words[i : i + n]) for t in texts for words in [t.lower().split()] for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0
