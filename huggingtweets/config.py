"""Every training choice in one dataclass, and the sampling settings in another.

The CLI flags and the notebook widgets both build a ``TrainConfig``; it is saved
beside the model as ``train_config.json``. Unknown keys are an error (a typo in
a config file must not silently train with a default).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .diskio import atomic_write_json
from .errors import HuggingTweetsError

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup", "cosine_with_restarts", "polynomial")
TINY = "tiny"  # the built-in model trained from scratch (models.build_tiny); the other built-in names are pretrained.NAMED
WANDB = "wandb"  # the one tracker (tracking.py); "none": no tracking
REPORTERS = ("none", WANDB)


def is_tiny(model) -> bool:
    """The model name means the tiny model built from scratch (any case, any spaces around)."""
    return str(model).strip().lower() == TINY
MAX_CONFIG_BYTES = 1 << 20  # a config file holds a few dozen settings: a few kilobytes
# Far above any sensible run, far below sizes that would exhaust a machine before failing.
MAX_BATCH = 4096
MAX_STEPS = 10_000_000
MAX_RANK = 4096
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise HuggingTweetsError(message)


def _check_type(name: str, value: Any, kind: Any) -> None:
    """A value from a file or a flag has its field's type: a bool is a bool, an int an int,
    a number finite. Raises a one-line error naming the field."""
    optional = type(None) in typing.get_args(kind)
    if value is None:
        _check(optional, f"{name} must not be null.")
        return
    base = next((a for a in typing.get_args(kind) if a is not type(None)), kind) if optional else kind
    if base is bool:
        ok = isinstance(value, bool)
        expected = "true or false"
    elif base is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        expected = "a whole number"
    elif base is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and _finite(value)
        expected = "a finite number"
    elif base is str:
        ok = isinstance(value, str)
        expected = "a string"
    else:  # list[str]
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        expected = "a list of strings"
    _check(ok, f"{name} must be {expected}, got {value!r:.60}.")


def _finite(value) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float (a 400-digit number in a JSON file)
        return False


def _plain_text(name: str, value: str, limit: int = 1000) -> None:
    """A name or a path: one line of printable text, not endless."""
    _check(not _CONTROL.search(value), f"{name} holds control characters or a broken character: retype it.")
    _check(len(value) <= limit, f"{name} is {len(value):,} characters long, more than {limit:,}: shorten it.")


class _JsonConfig:
    """Shared dict/JSON round-trip with strict keys for the config dataclasses."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        _check(not unknown, f"Unknown {cls.__name__} key(s): {', '.join(unknown)}. Known keys: {', '.join(sorted(names))}.")
        hints = typing.get_type_hints(cls)
        for name, value in d.items():
            _check_type(name, value, hints[name])
        obj = cls(**d)
        obj.validate()
        return obj

    def replace(self, **changes):
        """A copy with ``changes`` applied (``None`` values are ignored), type-checked and validated."""
        changes = {k: v for k, v in changes.items() if v is not None}
        hints = typing.get_type_hints(type(self))
        for name, value in changes.items():
            _check(name in hints, f"Unknown {type(self).__name__} setting: {name}.")
            _check_type(name, value, hints[name])
        obj = dataclasses.replace(self, **changes)
        obj.validate()
        return obj

    def save(self, path: str | Path) -> Path:
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path):
        path = Path(path)
        if path.is_dir():
            from .folder import TRAIN_CONFIG

            path = path / TRAIN_CONFIG
        try:
            with path.open("rb") as f:  # read at most the cap: /dev/zero or a huge file is refused, not read
                raw = f.read(MAX_CONFIG_BYTES + 1)
            if len(raw) > MAX_CONFIG_BYTES:
                raise HuggingTweetsError(f"Config file {path} is over {MAX_CONFIG_BYTES >> 20} MiB: a config file holds a few settings; give a JSON object of {cls.__name__} fields.")
            data = json.loads(raw.decode("utf-8"))
        except FileNotFoundError:
            raise HuggingTweetsError(f"Config file not found: {path}.") from None
        except UnicodeDecodeError:
            raise HuggingTweetsError(f"Config file {path} is not UTF-8 text: save it as UTF-8 JSON.") from None
        except RecursionError:
            raise HuggingTweetsError(f"Config file {path} is nested too deeply: give a flat JSON object of TrainConfig fields.") from None
        except IsADirectoryError:
            raise HuggingTweetsError(f"Config file {path} is a folder: give a JSON file.") from None
        except json.JSONDecodeError as err:
            raise HuggingTweetsError(f"Config file {path} is not valid JSON ({err.msg}, line {err.lineno}): fix it.") from None
        except ValueError:  # a number of more than 4,300 digits
            raise HuggingTweetsError(f"Config file {path} holds a number too long to read: fix it.") from None
        except OSError as err:
            raise HuggingTweetsError(f"Cannot read config file {path}: {err.strerror or err}.") from None
        _check(isinstance(data, dict), f"Config file {path} must hold a JSON object of TrainConfig fields.")
        from .folder import STOPPED_KEY

        if isinstance(data.get(STOPPED_KEY), str):  # a stopped model's note beside its settings (training.py)
            data = {k: v for k, v in data.items() if k != STOPPED_KEY}
        return cls.from_dict(data)

    def validate(self) -> None:  # pragma: no cover - overridden
        pass


@dataclass
class TrainConfig(_JsonConfig):
    # -- what to train ---------------------------------------------------------
    model: str = field(default="auto", metadata={"help": 'auto: gpt2 on a GPU with the Hub, else smollm2-135m (pretrained, offline); a Hub name, a local folder, or tiny'})
    output_dir: str = field(default="huggingtweets-model", metadata={"help": "the model folder: weights, tokenizer, card; checkpoints while training"})
    # -- optimisation: the recipe tuned on real archives (DESIGN.md, "The recipe on real archives") --
    learning_rate: float = field(default=1e-4, metadata={"help": 'peak learning rate'})
    epochs: float = field(default=3.0, metadata={"help": 'passes over the balanced training set'})
    lr_scheduler: str = field(default="cosine", metadata={"help": 'transformers scheduler name'})
    warmup: float = field(default=0.1, metadata={"help": 'below 1: fraction of all steps; from 1: a number of steps'})
    weight_decay: float = field(default=0.0, metadata={"help": 'AdamW decoupled weight decay'})
    batch_size: int = field(default=2, metadata={"help": 'blocks per device per step'})
    gradient_accumulation: int = field(default=1, metadata={"help": 'steps summed before each optimizer update'})
    block_size: int = field(default=128, metadata={"help": 'tokens per training block (tweets are ~30 tokens)'})
    within_post: bool = field(default=True, metadata={"help": "attention kept within each post (it never reads the posts packed before it)"})
    max_steps: int = field(default=-1, metadata={"help": 'stop after this many optimizer steps (-1: run all epochs)'})
    seed: int = field(default=42, metadata={"help": 'model init, data order, dropout'})
    # -- memory and speed ----------------------------------------------------------
    precision: str = field(default="auto", metadata={"help": "auto: bf16 on GPUs that have it, fp16 on older GPUs; on a CPU bf16 autocast where it has bf16 (pretrained models), else fp32"})
    gradient_checkpointing: bool = field(default=False, metadata={"help": 'recompute activations: less memory, ~30% slower'})
    freeze_embeddings: bool = field(default=False, metadata={"help": "keep the token embeddings (and an output layer tied to them) as pretrained"})
    # -- LoRA (through peft); merged into the weights on save -------------------------
    lora: bool = field(default=False, metadata={"help": "train small LoRA adapters instead of all weights (merged on save)"})
    lora_rank: int = field(default=8, metadata={"help": 'rank r of the update matrices'})
    lora_alpha: int = field(default=16, metadata={"help": 'scaling: update * alpha / r'})
    lora_dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA layers' input"})
    lora_targets: Optional[list[str]] = field(default=None, metadata={"help": "module names, or all-linear (every linear layer); None: peft's default for the architecture"})
    # -- held-out evaluation and checkpoints -----------------------------------------
    validation_fraction: float = field(default=0.1, metadata={"help": "share of each author's distinct tweets held out"})
    eval_steps: int = field(default=0, metadata={"help": 'evaluate every N steps; 0: evals_per_epoch times an epoch'})
    evals_per_epoch: int = field(default=2, metadata={"help": "held-out evaluations per epoch when eval_steps is 0"})
    keep_best: bool = field(default=True, metadata={"help": "save the weights of the lowest held-out loss seen, not the last ones"})
    save_steps: int = field(default=100, metadata={"help": 'write a checkpoint every N steps (Colab disconnects: keep it frequent)'})
    save_total_limit: int = field(default=2, metadata={"help": 'checkpoints kept on disk while training'})
    keep_checkpoints: bool = field(default=False, metadata={"help": "keep the checkpoints once the run finishes (they are removed by default)"})
    logging_steps: int = field(default=10, metadata={"help": 'report the training loss every N steps'})
    # -- tracking --------------------------------------------------------------------
    voices: bool = field(default=True, metadata={"help": "in a model of 2-3 authors, start each post with its author's marker so generation can write as one of them"})
    voice_score: bool = field(default=True, metadata={"help": "measure the voice score once trained (a pretrained model with held-out posts; about a minute or two on a CPU)"})
    report_to: str = field(default="none", metadata={"help": '"none" or "wandb"'})
    wandb_project: str = field(default="huggingtweets", metadata={"help": "the W&B project runs are logged to"})

    @property
    def tiny(self) -> bool:
        return is_tiny(self.model)

    @property
    def tracked(self) -> bool:
        """Logged to Weights & Biases (``report_to="wandb"``)."""
        return self.report_to == WANDB

    def validate(self) -> None:
        _check(bool(str(self.model).strip()), "model is empty: give a Hub name like gpt2, a local folder, or tiny.")
        _check(bool(str(self.output_dir).strip()), "output_dir is empty: give a folder for the model.")
        for name in ("model", "output_dir", "wandb_project"):
            _plain_text(name, str(getattr(self, name)))
        for name in self.lora_targets or ():
            _plain_text("lora_targets", name, limit=200)
        _check(self.learning_rate > 0, f"learning rate must be > 0, got {self.learning_rate}.")
        _check(self.learning_rate < 1, f"learning rate {self.learning_rate} is far too large: try 1e-4.")
        _check(self.epochs > 0, f"epochs must be > 0, got {self.epochs}.")
        _check(1 <= self.batch_size <= MAX_BATCH, f"batch size must be between 1 and {MAX_BATCH}, got {self.batch_size}.")
        _check(1 <= self.gradient_accumulation <= MAX_BATCH, f"gradient accumulation must be between 1 and {MAX_BATCH}, got {self.gradient_accumulation}.")
        _check(8 <= self.block_size <= 8192, f"block size must be between 8 and 8192 tokens, got {self.block_size}.")
        _check(0 <= self.warmup <= MAX_STEPS, f"warmup must be between 0 and {MAX_STEPS} steps, got {self.warmup}.")
        _check(0 <= self.weight_decay <= 1, f"weight decay must be between 0 and 1, got {self.weight_decay}.")
        _check(0 <= self.seed < 2**32, f"seed must be between 0 and 4294967295, got {self.seed}.")
        _check(self.epochs <= 10_000, f"epochs must be at most 10000, got {self.epochs}.")
        _check(self.max_steps == -1 or 1 <= self.max_steps <= MAX_STEPS, f"max steps must be -1 (all epochs) or between 1 and {MAX_STEPS}, got {self.max_steps}.")
        _check(self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}.")
        _check(self.lr_scheduler in SCHEDULERS, f"scheduler must be one of {', '.join(SCHEDULERS)}, got {self.lr_scheduler!r}.")
        _check(1 <= self.lora_rank <= MAX_RANK, f"LoRA rank must be between 1 and {MAX_RANK}, got {self.lora_rank}.")
        _check(0 < self.lora_alpha <= 1_000_000, f"LoRA alpha must be between 1 and 1000000, got {self.lora_alpha}.")
        _check(0 <= self.lora_dropout < 1, f"LoRA dropout must be in [0, 1), got {self.lora_dropout}.")
        _check(0 <= self.validation_fraction < 1, f"validation fraction must be in [0, 1), got {self.validation_fraction}.")
        _check(1 <= self.evals_per_epoch <= 100, f"evaluations per epoch must be between 1 and 100, got {self.evals_per_epoch}.")
        for name in ("eval_steps", "save_steps", "logging_steps"):
            _check(0 <= getattr(self, name) <= MAX_STEPS, f"{name.replace('_', ' ')} must be between 0 and {MAX_STEPS}, got {getattr(self, name)}.")
        _check(1 <= self.save_total_limit <= 1000, f"save total limit must be between 1 and 1000, got {self.save_total_limit}.")
        _check(self.report_to in REPORTERS, f"report_to must be one of {', '.join(REPORTERS)}, got {self.report_to!r}.")


# A prompt is the start of one post: X's longest posts are 25,000 characters, but a start past
# 2,000 (about 500 tokens) only costs memory (each of ``n`` tweets carries it in its KV cache).
MAX_PROMPT_CHARS = 2_000


@dataclass
class SamplingConfig(_JsonConfig):
    """How tweets are sampled (defaults as the original: nucleus sampling, top_p 0.95)."""

    prompt: str = field(default="My dream is", metadata={"help": "the start of the tweet"})
    n: int = field(default=5, metadata={"help": 'tweets to return'})
    temperature: float = field(default=1.0, metadata={"help": '< 1: safer, > 1: wilder'})
    top_p: float = field(default=0.95, metadata={"help": 'nucleus sampling'})
    top_k: int = field(default=0, metadata={"help": '0: off'})
    max_new_tokens: int = field(default=60, metadata={"help": 'a tweet is ~30 tokens; longer ones are cut at end-of-text'})
    repetition_penalty: float = field(default=1.0, metadata={"help": "> 1: fewer repeated words; 1: off"})
    seed: Optional[int] = field(default=None, metadata={"help": 'fix for repeatable samples'})
    author: Optional[str] = field(default=None, metadata={"help": "in a model of several authors, write as this one (@handle); none: the blend"})

    def validate(self) -> None:
        if self.author is not None:
            _plain_text("author", self.author, limit=300)
        _check(len(self.prompt) <= MAX_PROMPT_CHARS, f"the prompt is too long: {len(self.prompt):,} characters, more than "
               f"{MAX_PROMPT_CHARS:,}; a prompt is the start of one tweet, so shorten it.")
        _check(1 <= self.n <= 100, f"number of tweets must be between 1 and 100, got {self.n}.")
        _check(0.01 <= self.temperature <= 100, f"temperature must be between 0.01 and 100, got {self.temperature}.")
        _check(0 < self.top_p <= 1, f"top-p must be in (0, 1], got {self.top_p}.")
        _check(self.top_k >= 0, f"top-k must be >= 0, got {self.top_k}.")
        _check(1 <= self.max_new_tokens <= 1024, f"max new tokens must be between 1 and 1024, got {self.max_new_tokens}.")
        _check(0.01 <= self.repetition_penalty <= 100, f"repetition penalty must be between 0.01 (1: off) and 100, got {self.repetition_penalty}.")
        _check(self.seed is None or 0 <= self.seed < 2**32, f"seed must be between 0 and 4294967295, got {self.seed}.")


# --- presets: plain data (DESIGN.md, "The demo's recipe", has the measurements) ------------
# The from-scratch tiny model needs a far higher learning rate than a pretrained one, and
# more passes over a few hundred tweets.
TINY_PRESET = dict(model=TINY, learning_rate=2e-3, epochs=10, warmup=0.05, batch_size=8, within_post=False)
# The pretrained offline model on the bundled sample, inside the demo's 180 s on 2 CPU cores
# that train it in bf16 (a GPU, or a CPU with AVX512-BF16 or AMX), the voice score included:
# the default recipe's 3 epochs in batches of 2 do not fit, so 2 epochs in batches of 8 at a
# higher rate, with attention within each post: on a 2-core AVX512-BF16 EPYC 1.278 held-out
# bits/char against 1.308 packed across posts, 99 s of training against 98 s, the whole demo
# 162 s (benchmarks/results/bench_demo-avx512bf16.json).
DEMO_PRESET = dict(model="smollm2-135m", learning_rate=5e-4, epochs=2, warmup=0.05, batch_size=8, within_post=True)
# Where it trains in fp32 (a CPU without native bf16) a step takes about twice as long: one
# epoch, in twice as many steps of 4 blocks at a constant rate: 1.301 held-out bits/char on
# the sample against 1.287 for the two-epoch recipe in fp32, for half the work.
DEMO_PRESET_FP32 = dict(model="smollm2-135m", learning_rate=3e-4, epochs=1, batch_size=4,
                        lr_scheduler="constant_with_warmup", warmup=0.05, within_post=False)
DEMO_OUTPUT = "huggingtweets-demo"

# Presets, named by what they trade: time against how closely the model fits the person's
# posts. Each is the recipe's fields that differ from TrainConfig's (which is "best"), measured
# on the real English X archive with SmolLM2-135M, bf16, same held-out split (AMX Xeon, 2 cores;
# benchmarks/results/bench_recipe-amx.json rows default, p2e-4-b4, p2e-4-b4-2ep):
#   best      1.711 held-out bits/char, 161 s of training (165 steps)
#   balanced  1.717 (+0.3 %), 114 s (-29 %)
#   quick     1.741 (+1.7 %), 78 s (-51 %)
# A named model's own recipe (pretrained.RECIPES: Gemma 3 trains one epoch) goes over a preset.
PRESETS = {
    "quick": dict(learning_rate=2e-4, epochs=2.0, batch_size=4),
    "balanced": dict(learning_rate=2e-4, epochs=3.0, batch_size=4),
    "best": {},
}
PRESET_TRADES = {  # what each preset trades, for --help and the app's list
    "quick": "about half the time, held-out bits/char 1.7 % higher",
    "balanced": "about 30 % less time, 0.3 % higher",
    "best": "the recipe that fits the posts best (the default)",
}


def demo_config(tiny: bool = False, fp32: bool = False, **changes) -> TrainConfig:
    """The demo's TrainConfig: the pretrained model (or ``tiny``, under a minute) on the sample;
    ``fp32``: the recipe for a machine that trains it in fp32 (``workflow.demo_config`` decides)."""
    preset = TINY_PRESET if tiny else DEMO_PRESET_FP32 if fp32 else DEMO_PRESET
    return TrainConfig(output_dir=DEMO_OUTPUT, save_steps=50, logging_steps=5, **preset).replace(**changes)


def field_help(cls) -> dict[str, str]:
    """Each field's help text (its ``metadata["help"]``): the CLI's ``--help`` and the widgets' tooltips."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}
