"""Fine-tune a causal LM on a ``TweetDataset``: ``fine_tune(config, dataset, callbacks)``.

Read top to bottom, as transformers' ``run_clm`` example: data, model, blocks,
prepare (LoRA, precision), the loop (``Trainer``, accelerate underneath), save.
The loop knows nothing of printing: it reports through ``TrainCallback`` objects
(the CLI passes one that drives tqdm, the notebook one that moves widgets; the
default is silent). Checkpoints go to ``OUTPUT/checkpoints/`` every
``save_steps`` so a disconnected Colab session loses minutes, not the run.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from .config import TrainConfig
from .dataset import TweetDataset, pack_blocks
from .errors import HuggingTweetsError
from .models import ensure_eos_prefix, load_model

CHECKPOINTS = "checkpoints"

# The offline demo: the tiny model from scratch needs a far higher learning rate than a
# pretrained one, and more passes over a few hundred tweets (about a minute on 2 CPU cores).
DEMO_CONFIG = TrainConfig(
    model="tiny",
    output_dir="huggingtweets-demo",
    learning_rate=2e-3,
    epochs=10,
    warmup=0.05,
    save_steps=50,
    logging_steps=5,
)
METRICS_FILE = "metrics.json"


# --- what the loop reports -------------------------------------------------------
@dataclass
class TrainState:
    step: int = 0  # optimizer steps done
    max_steps: int = 0
    epoch: float = 0.0
    elapsed: float = 0.0  # seconds since this run (or resume) started
    loss: Optional[float] = None  # latest training loss
    eval_loss: Optional[float] = None  # latest held-out loss
    first_step: int = 0  # step this run started from (> 0 after a resume)

    @property
    def eta(self) -> Optional[float]:
        """Seconds left, from this run's pace."""
        done = self.step - self.first_step
        if done <= 0 or self.max_steps <= 0:
            return None
        return self.elapsed / done * (self.max_steps - self.step)


class TrainCallback:
    """Override what you need; every method is a no-op here."""

    def on_begin(self, state: TrainState) -> None: ...

    def on_step(self, state: TrainState) -> None: ...

    def on_log(self, state: TrainState, logs: dict) -> None: ...

    def on_evaluate(self, state: TrainState, metrics: dict) -> None: ...

    def on_save(self, state: TrainState, checkpoint: str) -> None: ...

    def on_end(self, state: TrainState) -> None: ...


class StopSignal:
    """Ask a running ``fine_tune`` to save a checkpoint and stop (thread-safe)."""

    def __init__(self):
        self._event = threading.Event()

    def request(self) -> None:
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()


@dataclass
class TrainResult:
    output_dir: Path
    metrics: dict = field(default_factory=dict)
    stopped: bool = False  # stopped early on request; resume continues from the checkpoint
    wandb_url: Optional[str] = None


# --- helpers ---------------------------------------------------------------------
def resolve_precision(precision: str) -> str:
    """``auto``: bf16 where the GPU has it, fp16 on older GPUs, fp32 on CPU."""
    import torch

    cuda = torch.cuda.is_available()
    if precision == "auto":
        if not cuda:
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision == "fp16" and not cuda:
        raise HuggingTweetsError("fp16 training needs a GPU: use --precision auto or fp32 on this machine.")
    return precision


def latest_checkpoint(output_dir: str | Path) -> Optional[Path]:
    folder = Path(output_dir) / CHECKPOINTS
    found = [p for p in folder.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


def _to_state(ts, started: float, first_step: int) -> TrainState:
    """transformers' TrainerState -> ours."""
    losses = [h["loss"] for h in ts.log_history if "loss" in h]
    evals = [h["eval_loss"] for h in ts.log_history if "eval_loss" in h]
    return TrainState(
        step=ts.global_step,
        max_steps=ts.max_steps,
        epoch=float(ts.epoch or 0.0),
        elapsed=time.monotonic() - started,
        loss=losses[-1] if losses else None,
        eval_loss=evals[-1] if evals else None,
        first_step=first_step,
    )


def _bridge(callbacks: Sequence[TrainCallback], stop: Optional[StopSignal]):
    """A transformers ``TrainerCallback`` that forwards events to ours and honours ``stop``."""
    from transformers import TrainerCallback

    class Bridge(TrainerCallback):
        started = time.monotonic()
        first_step = 0

        def _state(self, ts):
            return _to_state(ts, self.started, self.first_step)

        def on_train_begin(self, args, state, control, **kw):
            self.started, self.first_step = time.monotonic(), state.global_step
            for cb in callbacks:
                cb.on_begin(self._state(state))

        def on_step_end(self, args, state, control, **kw):
            for cb in callbacks:
                cb.on_step(self._state(state))
            if stop is not None and stop.requested:
                control.should_save = True  # a checkpoint at this very step, then stop
                control.should_training_stop = True

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                for cb in callbacks:
                    cb.on_log(self._state(state), dict(logs))

        def on_evaluate(self, args, state, control, metrics=None, **kw):
            for cb in callbacks:
                cb.on_evaluate(self._state(state), dict(metrics or {}))

        def on_save(self, args, state, control, **kw):
            path = str(Path(args.output_dir) / f"checkpoint-{state.global_step}")
            for cb in callbacks:
                cb.on_save(self._state(state), path)

    return Bridge()


def _apply_lora(model, config: TrainConfig):
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.lora_targets or None,
        task_type="CAUSAL_LM",
    )
    try:
        model = get_peft_model(model, lora)
    except ValueError as err:
        first = str(err).strip().splitlines()[0]
        raise HuggingTweetsError(f"LoRA could not wrap this model ({first}): set lora_targets to its attention module names.") from None
    if config.gradient_checkpointing:
        model.enable_input_require_grads()  # checkpointed frozen embeddings need grads flowing into LoRA layers
    return model


def _training_args(config: TrainConfig, dataset: TweetDataset, precision: str, checkpoints: Path, has_eval: bool):
    from transformers import TrainingArguments

    per_epoch = "epoch"
    return TrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup,
        weight_decay=config.weight_decay,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation,
        seed=config.seed,
        data_seed=config.seed,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        activation_checkpointing=config.gradient_checkpointing,
        eval_strategy=("steps" if config.eval_steps else per_epoch) if has_eval else "no",
        eval_steps=config.eval_steps or None,
        save_strategy="steps" if config.save_steps else per_epoch,
        save_steps=config.save_steps or 500,
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps or 10,
        logging_first_step=True,
        report_to=["wandb"] if config.report_to == "wandb" else [],
        run_name=dataset.slug,
        disable_tqdm=True,  # progress goes through our callbacks
        dataloader_num_workers=0,
        dataloader_pin_memory=precision != "fp32",  # pinning only helps copies to a GPU
    )


def _sampling_defaults(model, tokenizer) -> None:
    """The original huggingtweets sampling: nucleus sampling, top_p 0.95, temperature 1."""
    gc = model.generation_config
    gc.do_sample = True
    gc.top_p = 0.95
    gc.temperature = 1.0
    gc.top_k = 0
    gc.max_new_tokens = 60
    gc.eos_token_id = tokenizer.eos_token_id
    gc.pad_token_id = tokenizer.pad_token_id
    gc.bos_token_id = tokenizer.eos_token_id


def _wandb_url() -> Optional[str]:
    try:
        import wandb

        return wandb.run.url if wandb.run is not None else None
    except Exception:  # tracking must never break a finished training run
        return None


# --- the fine-tune path ------------------------------------------------------------
def fine_tune(
    config: TrainConfig,
    dataset: Optional[TweetDataset] = None,
    callbacks: Sequence[TrainCallback] = (),
    stop: Optional[StopSignal] = None,
    resume: bool = False,
) -> TrainResult:
    """Train, evaluate on held-out tweets, and save a folder ``pipeline()`` can load.

    ``resume`` continues from the newest checkpoint in ``OUTPUT/checkpoints`` with the
    dataset saved there at the start, so the run ends where an uninterrupted one would.
    """
    config.validate()
    out = Path(config.output_dir)
    checkpoints = out / CHECKPOINTS

    # 1. data: the dataset is written beside the model before anything trains.
    resume_from = latest_checkpoint(out) if resume else None
    if resume and resume_from is None:
        raise HuggingTweetsError(f"No checkpoint in {checkpoints} to resume from: train without --resume.")
    if not resume and latest_checkpoint(out) is not None:
        raise HuggingTweetsError(
            f"{out} holds checkpoints of an earlier run: add --resume to continue it, or choose another --output."
        )
    if resume and (out / "dataset.json").exists():
        dataset = TweetDataset.load(out)
    if dataset is None:
        raise HuggingTweetsError("No dataset to train on: give sources (or --sample).")
    if config.lora and config.model == "tiny":
        raise HuggingTweetsError("LoRA adapts a pretrained model; the tiny model trains all its weights: drop --lora or pick a model.")

    # 2. model (before anything is written: a bad model name leaves no half-made folder).
    # A resumed tiny model starts from its checkpoint: its tokenizer was trained on the fly.
    if config.model == "tiny" and resume_from is not None:
        model, tokenizer = load_model(str(resume_from))
    else:
        model, tokenizer = load_model(config.model, dataset.all_train_tweets(), config.block_size, config.seed)
    ensure_eos_prefix(tokenizer)
    out.mkdir(parents=True, exist_ok=True)
    dataset.save(out)
    config.save(out / "train_config.json")
    if config.report_to == "wandb":
        os.environ.setdefault("WANDB_PROJECT", config.wandb_project)

    # 3. group texts: eos-joined tweets cut into blocks.
    max_positions = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
    block_size = min(config.block_size, max_positions) if max_positions else config.block_size
    train_blocks = pack_blocks(dataset.balanced_train(), tokenizer, block_size)
    eval_blocks = pack_blocks(dataset.valid_texts(), tokenizer, block_size)
    if not train_blocks:
        raise HuggingTweetsError("No training text after cleaning: add more tweets.")

    # 4. prepare: precision, LoRA, gradient checkpointing.
    precision = resolve_precision(config.precision)
    if config.lora:
        model = _apply_lora(model, config)
    model.config.use_cache = not config.gradient_checkpointing  # the KV cache is useless while training

    # 5. the loop.
    from transformers import PrinterCallback, Trainer, default_data_collator
    from transformers.utils import logging as hf_logging

    args = _training_args(config, dataset, precision, checkpoints, has_eval=bool(eval_blocks))
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_blocks,
        eval_dataset=eval_blocks or None,
        data_collator=default_data_collator,
        processing_class=tokenizer,  # checkpoints carry the tokenizer, so a tiny run can resume
        callbacks=[_bridge(callbacks, stop)],
    )
    trainer.remove_callback(PrinterCallback)  # the library is silent; callers choose how to show progress
    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Writing model shards" bars in the middle of ours
    try:
        return _run(trainer, config, dataset, tokenizer, out, checkpoints, resume_from, bool(eval_blocks), stop, precision, block_size, len(train_blocks))
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()


def _run(trainer, config, dataset, tokenizer, out, checkpoints, resume_from, has_eval, stop, precision, block_size, n_train) -> TrainResult:
    """Evaluate, train (or resume), evaluate again, save."""
    metrics: dict = {}
    before_file = checkpoints / "eval_before.json"
    if has_eval:
        if resume_from is not None and before_file.exists():
            metrics["eval_loss_before"] = json.loads(before_file.read_text())["eval_loss"]
        else:
            metrics["eval_loss_before"] = trainer.evaluate()["eval_loss"]
            checkpoints.mkdir(parents=True, exist_ok=True)
            before_file.write_text(json.dumps({"eval_loss": metrics["eval_loss_before"]}))
    train_output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    stopped = bool(stop is not None and stop.requested)
    metrics["train_loss"] = train_output.training_loss
    metrics["global_step"] = trainer.state.global_step
    metrics["train_runtime"] = train_output.metrics.get("train_runtime")
    metrics["train_blocks"] = n_train
    metrics["train_tweets"] = len(dataset.all_train_tweets())
    metrics["eval_tweets"] = len(dataset.valid_texts())
    metrics["block_size"] = block_size
    metrics["precision"] = precision
    if has_eval:
        metrics["eval_loss"] = trainer.evaluate()["eval_loss"]
        metrics["perplexity"] = math.exp(min(metrics["eval_loss"], 50.0))
    metrics["stopped"] = stopped
    wandb_url = _wandb_url() if config.report_to == "wandb" else None

    # 6. save: merged weights, tokenizer, sampling defaults, config, data stats, metrics, card.
    final = trainer.model
    if config.lora:
        final = final.merge_and_unload()  # a plain model folder that pipeline() loads
    final.config.use_cache = True
    _sampling_defaults(final, tokenizer)
    final.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
    _write_card(out, dataset, config, metrics, wandb_url)
    if not stopped and config.report_to == "wandb":
        _finish_wandb()
    return TrainResult(out, metrics, stopped, wandb_url)


def _write_card(out: Path, dataset: TweetDataset, config: TrainConfig, metrics: dict, wandb_url: Optional[str]) -> None:
    from .card import write_card

    write_card(
        out,
        [a.author for a in dataset.authors],
        dataset.stats,
        config,
        metrics,
        model_id=str(out),
        wandb_url=wandb_url,
    )


def _finish_wandb() -> None:
    try:
        import wandb

        if wandb.run is not None:
            wandb.finish()
    except Exception:
        pass


def remove_checkpoints(output_dir: str | Path) -> None:
    """Start over: delete an earlier run's checkpoints (the notebook's "start over")."""
    shutil.rmtree(Path(output_dir) / CHECKPOINTS, ignore_errors=True)
