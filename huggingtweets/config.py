"""Every training choice in one dataclass, and the sampling settings in another.

The CLI flags and the notebook widgets both build a ``TrainConfig``; it is saved
beside the model as ``train_config.json``. Unknown keys are an error (a typo in
a config file must not silently train with a default).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .errors import HuggingTweetsError

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup", "cosine_with_restarts", "polynomial")
REPORTERS = ("none", "wandb")
TRAIN_CONFIG_FILE = "train_config.json"


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise HuggingTweetsError(message)


class _JsonConfig:
    """Shared dict/JSON round-trip with strict keys for the config dataclasses."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        _check(not unknown, f"Unknown {cls.__name__} key(s): {', '.join(unknown)}. Known keys: {', '.join(sorted(names))}.")
        obj = cls(**d)
        obj.validate()
        return obj

    def replace(self, **changes):
        """A copy with ``changes`` applied (``None`` values are ignored) and validated."""
        obj = dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
        obj.validate()
        return obj

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path):
        path = Path(path)
        if path.is_dir():
            path = path / TRAIN_CONFIG_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise HuggingTweetsError(f"Config file not found: {path}.") from None
        except json.JSONDecodeError as err:
            raise HuggingTweetsError(f"Config file {path} is not valid JSON ({err.msg}, line {err.lineno}): fix it.") from None
        _check(isinstance(data, dict), f"Config file {path} must hold a JSON object of TrainConfig fields.")
        return cls.from_dict(data)

    def validate(self) -> None:  # pragma: no cover - overridden
        pass


@dataclass
class TrainConfig(_JsonConfig):
    # -- what to train ---------------------------------------------------------
    model: str = "gpt2"  # Hub name, local folder, or "tiny" (small GPT-2 from scratch, offline)
    output_dir: str = "huggingtweets-model"  # the model folder: weights, tokenizer, card, checkpoints/
    # -- optimisation (defaults from the original huggingtweets) -----------------
    learning_rate: float = 1.372e-4  # peak learning rate
    epochs: float = 4.0  # passes over the balanced training set
    lr_scheduler: str = "cosine"  # transformers scheduler name
    warmup: float = 0.0  # below 1: fraction of all steps; from 1: a number of steps
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    batch_size: int = 8  # blocks per device per step
    gradient_accumulation: int = 1  # steps summed before each optimizer update
    block_size: int = 128  # tokens per training block (tweets are ~30 tokens)
    max_steps: int = -1  # stop after this many optimizer steps (-1: run all epochs)
    seed: int = 42  # model init, data order, dropout
    # -- memory and speed ----------------------------------------------------------
    precision: str = "auto"  # auto: bf16 where supported, fp16 on older GPUs, fp32 on CPU
    gradient_checkpointing: bool = False  # recompute activations: less memory, ~30% slower
    # -- LoRA (through peft); merged into the weights on save -------------------------
    lora: bool = False
    lora_rank: int = 8  # rank r of the update matrices
    lora_alpha: int = 16  # scaling: update * alpha / r
    lora_dropout: float = 0.05
    lora_targets: Optional[list[str]] = None  # module names; None: peft's default for the architecture
    # -- held-out evaluation and checkpoints -----------------------------------------
    validation_fraction: float = 0.1  # share of each author's distinct tweets held out
    eval_steps: int = 0  # evaluate every N steps; 0: once per epoch
    save_steps: int = 100  # write a checkpoint every N steps (Colab disconnects: keep it frequent)
    save_total_limit: int = 2  # checkpoints kept on disk
    logging_steps: int = 10  # report the training loss every N steps
    # -- tracking --------------------------------------------------------------------
    report_to: str = "none"  # "none" or "wandb"
    wandb_project: str = "huggingtweets"

    def validate(self) -> None:
        _check(bool(str(self.model).strip()), "model is empty: give a Hub name like gpt2, a local folder, or tiny.")
        _check(bool(str(self.output_dir).strip()), "output_dir is empty: give a folder for the model.")
        _check(self.learning_rate > 0, f"learning rate must be > 0, got {self.learning_rate}.")
        _check(self.learning_rate < 1, f"learning rate {self.learning_rate} is far too large: try 1e-4.")
        _check(self.epochs > 0, f"epochs must be > 0, got {self.epochs}.")
        _check(self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}.")
        _check(self.gradient_accumulation >= 1, f"gradient accumulation must be >= 1, got {self.gradient_accumulation}.")
        _check(8 <= self.block_size <= 8192, f"block size must be between 8 and 8192 tokens, got {self.block_size}.")
        _check(self.warmup >= 0, f"warmup must be >= 0, got {self.warmup}.")
        _check(self.weight_decay >= 0, f"weight decay must be >= 0, got {self.weight_decay}.")
        _check(self.max_steps == -1 or self.max_steps >= 1, f"max steps must be -1 (all epochs) or >= 1, got {self.max_steps}.")
        _check(self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}.")
        _check(self.lr_scheduler in SCHEDULERS, f"scheduler must be one of {', '.join(SCHEDULERS)}, got {self.lr_scheduler!r}.")
        _check(self.lora_rank >= 1, f"LoRA rank must be >= 1, got {self.lora_rank}.")
        _check(self.lora_alpha > 0, f"LoRA alpha must be > 0, got {self.lora_alpha}.")
        _check(0 <= self.lora_dropout < 1, f"LoRA dropout must be in [0, 1), got {self.lora_dropout}.")
        _check(0 <= self.validation_fraction < 1, f"validation fraction must be in [0, 1), got {self.validation_fraction}.")
        for name in ("eval_steps", "save_steps", "logging_steps"):
            _check(getattr(self, name) >= 0, f"{name.replace('_', ' ')} must be >= 0, got {getattr(self, name)}.")
        _check(self.save_total_limit >= 1, f"save total limit must be >= 1, got {self.save_total_limit}.")
        _check(self.report_to in REPORTERS, f"report_to must be one of {', '.join(REPORTERS)}, got {self.report_to!r}.")


@dataclass
class SamplingConfig(_JsonConfig):
    """How tweets are sampled (defaults as the original: nucleus sampling, top_p 0.95)."""

    prompt: str = "My dream is"
    n: int = 5  # tweets to return
    temperature: float = 1.0  # < 1: safer, > 1: wilder
    top_p: float = 0.95  # nucleus sampling
    top_k: int = 0  # 0: off
    max_new_tokens: int = 60  # a tweet is ~30 tokens; longer ones are cut at end-of-text
    repetition_penalty: float = 1.0
    seed: Optional[int] = None  # fix for repeatable samples

    def validate(self) -> None:
        _check(1 <= self.n <= 100, f"number of tweets must be between 1 and 100, got {self.n}.")
        _check(self.temperature > 0, f"temperature must be > 0, got {self.temperature}.")
        _check(0 < self.top_p <= 1, f"top-p must be in (0, 1], got {self.top_p}.")
        _check(self.top_k >= 0, f"top-k must be >= 0, got {self.top_k}.")
        _check(1 <= self.max_new_tokens <= 1024, f"max new tokens must be between 1 and 1024, got {self.max_new_tokens}.")
        _check(self.repetition_penalty > 0, f"repetition penalty must be > 0, got {self.repetition_penalty}.")


def field_help(cls) -> dict[str, str]:
    """Each field's trailing ``# comment`` in this file, for the CLI's ``--help`` and widget tooltips."""
    import inspect
    import re

    pattern = re.compile(r"^\s+(\w+):[^=]+=.*?#\s*(.+)$")
    return {m.group(1): m.group(2).strip() for line in inspect.getsource(cls).splitlines() if (m := pattern.match(line))}
