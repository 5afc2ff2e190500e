"""How long a training run will take, said before it starts (the CLI's line, the app's banner).

The steps come from the data and the settings exactly as training counts them: the posts split
and balanced as ``fine_tune`` does, tokenized by the model's own tokenizer, packed into blocks,
then transformers' rule (``ceil(epochs * (ceil(blocks / batch) // accumulation))``). The time
of a step comes, best first, from:

- this machine's last real run of the same model and settings (``record`` keeps seconds per
  step, evaluations and checkpoints included, in ``step_rates.json`` in the cache folder);
- a probe: the model loaded and three optimizer steps timed on blocks of the run's shape, in its
  precision, and the held-out evaluations costed at the probe's forward pass.

The voice score after training is not in the figure (about a minute or two on a CPU; README).
"""

from __future__ import annotations

import gc
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .config import TrainConfig
from .dataset import TweetDataset, pack_blocks
from .diskio import atomic_write_json

RATES_FILE = "step_rates.json"
PROBE_STEPS = 3  # timed after one warm-up step
EVAL_SHARE = 0.35  # a held-out batch (forward only) against a training step, when no real run was timed
OFFER_AFTER_S = 15 * 60  # past this, the faster preset is offered with what it trades


@dataclass
class Estimate:
    steps: int
    seconds_per_step: float
    eval_seconds: float  # every held-out evaluation of the run together (in the step time when from a real run)
    source: str  # how the step time is known
    voice: bool = True  # the voice score follows training (not in the figure)

    @property
    def seconds(self) -> float:
        return self.steps * self.seconds_per_step + self.eval_seconds

    def line(self) -> str:
        return (f"Estimated training time: {duration(self.seconds)} ({self.steps:,} steps at {self.seconds_per_step:.1f} s each, "
                f"{self.source})" + (", then the voice score." if self.voice else "."))

    def offer(self, preset: str) -> str:
        """Past ``OFFER_AFTER_S``, the faster preset and what it trades (measured: config.PRESET_TRADES); else ""."""
        from .config import PRESET_TRADES

        if self.seconds <= OFFER_AFTER_S or preset == "quick":
            return ""
        return f"The quick preset would take {PRESET_TRADES['quick']}."


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"about {max(1, round(seconds / 10) * 10)} s"
    minutes = round(seconds / 60)
    return f"about {minutes} min" if minutes < 90 else f"about {minutes // 60} h {minutes % 60:02d} min"


def machine() -> str:
    """What a step's time depends on beside the settings: the accelerator or CPU, and its threads."""
    import torch

    if torch.cuda.is_available():
        return f"cuda:{torch.cuda.get_device_name(0)}x{torch.cuda.device_count()}"
    kind = torch.backends.cpu.get_cpu_capability()
    return f"cpu:{kind}:{os.cpu_count()}x{torch.get_num_threads()}"


def _key(config: TrainConfig, base: str, precision: str, block_size: int) -> str:
    return "|".join(str(v) for v in (machine(), base, precision, block_size, config.batch_size, config.gradient_accumulation,
                                       config.lora, config.freeze_embeddings, config.gradient_checkpointing, config.within_post))


def _rates(cache_dir: Path) -> dict:
    try:
        data = json.loads((cache_dir / RATES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(cache_dir: Path, config: TrainConfig, base: str, precision: str, block_size: int, metrics: dict) -> None:
    """Keep a real run's seconds per step (evaluations and checkpoints included) for the next estimate."""
    steps, seconds = metrics.get("global_step"), metrics.get("train_runtime")
    if not isinstance(steps, int) or steps < 5 or not isinstance(seconds, (int, float)) or seconds <= 0:
        return  # too short to say anything
    rates = _rates(cache_dir)
    rates[_key(config, base, precision, block_size)] = round(seconds / steps, 6)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(cache_dir / RATES_FILE, rates)
    except OSError:
        pass  # an estimate is a nicety: a read-only cache only means a probe next time


def steps_for(config: TrainConfig, train_blocks: int) -> int:
    """transformers' optimizer steps for ``train_blocks`` blocks (one process)."""
    per_epoch = max(1, math.ceil(train_blocks / config.batch_size) // config.gradient_accumulation)
    steps = math.ceil(config.epochs * per_epoch)
    return min(steps, config.max_steps) if config.max_steps > 0 else steps


def blocks(config: TrainConfig, dataset: TweetDataset, tokenizer, block_size: int, within_post: bool) -> tuple[int, int]:
    """``(training blocks, held-out blocks)`` of this dataset, split and balanced as training does."""
    split = dataset.split(config.validation_fraction, config.seed)
    marked = config.voices and len(split.authors) > 1
    train = pack_blocks(split.balanced_train(marked), tokenizer, block_size, within_post)
    held_out = pack_blocks(split.valid_texts(marked), tokenizer, block_size, within_post)
    from .training import MAX_EVAL_BLOCKS  # held_out_blocks' cap

    return len(train), min(len(held_out), MAX_EVAL_BLOCKS)


def probe(model, block_size: int, batch_size: int, precision: str) -> tuple[float, float]:
    """``(seconds per optimizer step, seconds per forward pass)`` on random blocks of the run's
    shape: one warm-up step, then the median of ``PROBE_STEPS``."""
    import torch

    device = next(model.parameters()).device
    vocab = model.get_input_embeddings().weight.shape[0]
    ids = torch.randint(0, vocab, (batch_size, block_size), device=device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-9)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
    model.train()
    times = []
    for i in range(PROBE_STEPS + 1):
        start = time.perf_counter()
        with autocast:
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if i:
            times.append(time.perf_counter() - start)
    model.eval()
    start = time.perf_counter()
    with torch.no_grad(), autocast:
        model(input_ids=ids)
    forward = time.perf_counter() - start
    del optimizer
    return sorted(times)[len(times) // 2], forward


def estimate(config: TrainConfig, dataset: TweetDataset, cache_dir: Path, load=None) -> Optional[Estimate]:
    """The run's estimated time, or None where it cannot be known cheaply (the tiny model, whose
    tokenizer is learned during the run, and whose steps take moments anyway).

    ``load``: ``(model name) -> (model, tokenizer)``, by default ``models.load_model``."""
    from .language import main_language
    from .models import ensure_eos_prefix, keeps_posts_apart, load_model, max_positions
    from .pretrained import resolve
    from .training import resolve_precision

    if config.tiny:
        return None
    ref = resolve(config.model, language=main_language(dataset.languages))  # "auto": the model training will pick
    model, tokenizer = (load or load_model)(ref.path)
    ensure_eos_prefix(tokenizer)
    positions = max_positions(model)
    block_size = min(config.block_size, positions) if positions else config.block_size
    apart = config.within_post and keeps_posts_apart(model, tokenizer.eos_token_id)
    train, held_out = blocks(config, dataset, tokenizer, block_size, apart)
    steps = steps_for(config, train)
    precision = resolve_precision(config.precision, config.model)
    evals = held_out and (1 + math.ceil(config.epochs * config.evals_per_epoch))
    eval_batches = evals * math.ceil(held_out / config.batch_size)
    known = _rates(cache_dir).get(_key(config, ref.base, precision, block_size))
    try:
        if isinstance(known, (int, float)) and known > 0:
            before = math.ceil(held_out / config.batch_size) if held_out else 0  # the one evaluation before training
            return Estimate(steps, float(known), before * known * EVAL_SHARE, "this machine's last run of these settings", config.voice_score)
        if config.freeze_embeddings:
            model.get_input_embeddings().weight.requires_grad_(False)
        step, forward = probe(model, block_size, config.batch_size * config.gradient_accumulation, precision)
        return Estimate(steps, step, eval_batches * forward, "timed here just now", config.voice_score)
    finally:  # the probe's copy of the model (and its gradients) is gone before training loads its own
        del model
        gc.collect()
