"""Fine-tune a causal LM on a ``TweetDataset``: ``fine_tune(config, dataset, callbacks)``.

Read top to bottom, as transformers' ``run_clm`` example: data, model, blocks,
prepare (LoRA, precision), the loop (``Trainer``, accelerate underneath), save.
The loop knows nothing of printing: it reports through ``TrainCallback`` objects
(the CLI passes one that drives tqdm, the notebook one that moves widgets; the
default is silent). Checkpoints go to the folder's run area every
``save_steps`` so a disconnected Colab session loses minutes, not the run
(``folder.py`` owns the folder's layout and names).
"""

from __future__ import annotations

import math
import os
import shutil
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from . import distributed
from .config import TINY, WANDB, SamplingConfig, TrainConfig, is_tiny
from .dataset import TweetDataset, pack_blocks
from .best import BestWeights
from .diskio import atomic_write_json, disk_full, no_space_message
from .errors import HuggingTweetsError, first_line, is_failure
from .folder import DATASET as DATASET_FILE
from .folder import METRICS as METRICS_FILE
from .folder import STAGING as STAGING_NAME
from .folder import TRAIN_CONFIG as TRAIN_CONFIG_NAME
from .folder import SOURCES as SOURCES_NAME
from .folder import STOPPED_KEY, ModelFolder, check_folder, stopped_note
from .folder_state import folder_state
from .manifest import write_manifest
from .distributed import cpu_has_bf16
from .distributed import has_accelerator as _has_accelerator
from .language import main_language
from .models import check_model, ensure_eos_prefix, keeps_posts_apart, load_model, max_positions
from .pretrained import AUTO_MODEL, LICENCE_FILES, ModelRef, default_model, resolve
from .quiet import no_library_bars

# Held-out blocks evaluated at most (before, during and after training): 256 x 128 tokens
# measures the loss to about 1%, and a 10,000-tweet archive's held-out set would otherwise
# cost more than an epoch of a small run.
MAX_EVAL_BLOCKS = 256
TRAINING_ARGS = "training_args.bin"  # the Trainer's name for its pickled arguments
# Said after a run whose tweets were too few (or too alike) to hold any out.
NO_HELD_OUT = "No tweet could be held out (too few distinct tweets): the held-out loss was not measured."


# --- what the loop reports -------------------------------------------------------
@dataclass(frozen=True)
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

    def on_progress(self, done: int, total: Optional[int], message: str) -> None:
        """Work after the training steps (the voice score), as ``sources``' progress reports."""


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
    voice: Optional[dict] = None  # the voice report (voice.VoiceReport.to_dict()), when it was measured


# --- helpers ---------------------------------------------------------------------
def held_out_blocks(texts: Sequence[str], tokenizer, block_size: int, within_post: bool = False) -> list[dict]:
    """The held-out tweets as training scores them: packed blocks, at most ``MAX_EVAL_BLOCKS``,
    evenly spaced (the same blocks before, during and after training)."""
    blocks = pack_blocks(texts, tokenizer, block_size, within_post)
    if len(blocks) > MAX_EVAL_BLOCKS:
        blocks = [blocks[i * len(blocks) // MAX_EVAL_BLOCKS] for i in range(MAX_EVAL_BLOCKS)]
    return blocks


def resolve_precision(precision: str, model_name: str = "", on_cpu: bool = False) -> str:
    """``auto``: bf16 where the GPU has it, fp16 on older GPUs; on a CPU, bf16 autocast
    where the CPU has native bf16 and the model is pretrained, else fp32. ``on_cpu``: what
    this machine's CPU would train in, even where a GPU is present.

    On this project's CPU (AVX512-BF16) bf16 autocast trains SmolLM2-135M 1.61x faster
    at the same held-out loss; the from-scratch ``tiny`` model is too small to gain
    (DESIGN.md, "Precision"). bf16 asked for on a CPU without native bf16 is refused.
    """
    import torch

    cuda = torch.cuda.is_available() and not on_cpu
    if precision == "auto":
        if cuda:
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if cpu_has_bf16() and not is_tiny(model_name) else "fp32"
    if precision == "fp16" and not cuda:
        raise HuggingTweetsError("fp16 training needs a GPU: use --precision auto or fp32 on this machine.")
    if precision == "bf16" and (on_cpu or not _has_accelerator()) and not cpu_has_bf16():
        # emulated bf16 matmuls: 0.2 GFLOP/s against 108 for fp32 on an AVX2-only EPYC (DESIGN.md, "Speed")
        raise HuggingTweetsError("This CPU has no native bf16 (AVX512-BF16 or AMX), so bf16 would run hundreds of times slower: use --precision auto or fp32.")
    return precision


def _to_state(ts, started: float, first_step: int) -> TrainState:
    """transformers' TrainerState -> ours."""
    def last(key):  # the newest entry is near the end: no scan of the whole history every step
        return next((h[key] for h in reversed(ts.log_history) if key in h), None)

    return TrainState(
        step=ts.global_step,
        max_steps=ts.max_steps,
        epoch=float(ts.epoch or 0.0),
        elapsed=time.monotonic() - started,
        loss=last("loss"),
        eval_loss=last("eval_loss"),
        first_step=first_step,
    )


def _bridge(callbacks: Sequence[TrainCallback], stop: Optional[StopSignal], folder: ModelFolder, prior_seconds: float = 0.0,
            initial_step: int = 0, best: Optional[BestWeights] = None):
    """A transformers ``TrainerCallback`` that forwards events to ours and honours ``stop``.

    It also keeps the run's training time across resumes: each checkpoint records the
    seconds trained up to it.
    """
    from transformers import TrainerCallback

    class Bridge(TrainerCallback):
        started = time.monotonic()
        first_step = 0
        stopped = False  # a stop was asked for, in this process or (under a launcher) another
        saved_step = initial_step  # the newest checkpoint known whole

        def _state(self, ts):
            return _to_state(ts, self.started, self.first_step)

        def last_state(self, ts) -> TrainState:
            return self._state(ts)

        def total_seconds(self, ts) -> float:
            return prior_seconds + (time.monotonic() - self.started)

        def on_train_begin(self, args, state, control, **kw):
            self.started, self.first_step = time.monotonic(), state.global_step
            ours = self._state(state)
            for cb in callbacks:
                cb.on_begin(ours)

        def on_step_end(self, args, state, control, **kw):
            ours = self._state(state)
            for cb in callbacks:
                cb.on_step(ours)
            # Under a launcher every process stops at the same step, whichever was asked.
            if distributed.any_process(stop is not None and stop.requested):
                self.stopped = True
                control.should_save = True  # a checkpoint at this very step, then stop
                control.should_training_stop = True
            elif state.global_step >= state.max_steps:
                control.should_save = False  # the model is saved next anyway; a checkpoint here is optimizer state for nothing

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                ours = self._state(state)
                for cb in callbacks:
                    cb.on_log(ours, dict(logs))

        def on_evaluate(self, args, state, control, metrics=None, **kw):
            if best is not None and kw.get("model") is not None:
                best.seen(kw["model"], (metrics or {}).get("eval_loss"), state.global_step, float(state.epoch or 0.0))
            ours = self._state(state)
            for cb in callbacks:
                cb.on_evaluate(ours, dict(metrics or {}))

        def on_save(self, args, state, control, **kw):
            if not distributed.is_main():
                return  # the Trainer wrote this process's own RNG state; the rest is the main one's
            checkpoint = folder.checkpoint_path(state.global_step)
            self.saved_step = state.global_step
            folder.save_train_seconds(checkpoint, self.total_seconds(state))
            if best is not None:
                best.persist()  # a resumed run still knows its best
            folder.drop_set_aside()  # the new run can resume now: the replaced one may go
            ours = self._state(state)
            for cb in callbacks:
                cb.on_save(ours, str(checkpoint))

    return Bridge()


def _lora_targets(names: Optional[Sequence[str]]):
    """peft's ``target_modules``: None (its default for the architecture), the names, or its own
    ``"all-linear"`` (every linear layer but the output head), which it takes as a string only."""
    if not names:
        return None
    return "all-linear" if list(names) == ["all-linear"] else list(names)


def _apply_lora(model, config: TrainConfig):
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=_lora_targets(config.lora_targets),
        task_type="CAUSAL_LM",
    )
    try:
        model = get_peft_model(model, lora)
    except ValueError as err:
        raise HuggingTweetsError(f"LoRA could not wrap this model ({first_line(err)}): set lora_targets to its attention module names.") from None
    if config.gradient_checkpointing:
        model.enable_input_require_grads()  # checkpointed frozen embeddings need grads flowing into LoRA layers
    return model


def _training_args(config: TrainConfig, dataset: TweetDataset, precision: str, checkpoints: Path, eval_blocks_of: int):
    """transformers' arguments for ``config``; ``eval_blocks_of``: the training blocks when there
    is a held-out set (0: none), from which ``evals_per_epoch`` gives the evaluation interval."""
    from transformers import TrainingArguments

    from .distributed import world_size

    per_epoch = "epoch"
    has_eval = eval_blocks_of > 0
    eval_steps = config.eval_steps
    if has_eval and not eval_steps:
        per_step = config.batch_size * config.gradient_accumulation * world_size()
        steps_per_epoch = max(1, math.ceil(eval_blocks_of / per_step))
        eval_steps = max(1, round(steps_per_epoch / config.evals_per_epoch))
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
        use_cpu=not _has_accelerator(),  # bf16 autocast on a CPU needs the CPU path
        activation_checkpointing=config.gradient_checkpointing,
        optim="adamw_torch_fused",  # one kernel per step for all parameters (CPU and GPU)
        eval_strategy="steps" if has_eval else "no",
        eval_steps=eval_steps or None,
        save_strategy="steps" if config.save_steps else per_epoch,
        save_steps=config.save_steps or 500,
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps or 10,
        logging_first_step=True,
        report_to=[WANDB] if config.tracked else [],
        run_name=dataset.slug,
        disable_tqdm=True,  # progress goes through our callbacks
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,  # every parameter that trains is used (DDP: no extra graph walk)
        dataloader_pin_memory=precision != "fp32",  # pinning only helps copies to a GPU
    )


def _sampling_defaults(model, tokenizer) -> None:
    """The original huggingtweets sampling (SamplingConfig's defaults) in the model's
    generation_config, so the card's ``pipeline`` snippet samples as ``generate`` does."""
    defaults = SamplingConfig()
    gc = model.generation_config
    gc.do_sample = True
    gc.top_p = defaults.top_p
    gc.temperature = defaults.temperature
    gc.top_k = defaults.top_k
    gc.max_new_tokens = defaults.max_new_tokens
    gc.eos_token_id = tokenizer.eos_token_id
    gc.pad_token_id = tokenizer.pad_token_id
    gc.bos_token_id = tokenizer.eos_token_id


def _carry_licence(base: Optional[ModelRef], stage: Path) -> None:
    """A base model's terms (Gemma's ``NOTICE`` and ``GEMMA_TERMS.html``) go with every model trained from it."""
    folder = Path(base.path).expanduser() if base is not None else None
    for name in LICENCE_FILES if folder is not None else ():
        if (folder / name).is_file():
            shutil.copyfile(folder / name, stage / name)


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
    overwrite: bool = False,
    finish_tracking: bool = True,
    origin: Optional[dict] = None,
) -> TrainResult:
    """Train, evaluate on held-out tweets, and save a folder ``pipeline()`` can load.

    With ``report_to="wandb"`` the Trainer logs to W&B; ``finish_tracking`` ends that run
    here (False: the caller's run, ``tracking.run_training``, logs more and ends it).

    The folder policy (the same for the CLI and the notebook): a non-empty folder that
    is not a huggingtweets model folder is refused; a finished model or a run in
    progress is replaced only with ``overwrite`` (the old model stays until the new
    one is saved); ``resume`` continues the run in progress from its own config and
    dataset, and ``config`` may not change it. A run that fails before its first
    checkpoint leaves the folder as it found it.

    Under a launcher (torchrun, accelerate launch) every process calls this; the main
    one alone checks and locks the folder, writes to it and reports to ``callbacks``
    (``distributed.py``); the others train beside it and return its metrics.
    """
    # 0. the folder and the run's config
    config.validate()
    if config.model == AUTO_MODEL:  # the saved config names the model this machine chose for these posts
        config = config.replace(model=default_model(language=main_language(dataset.languages) if dataset is not None else ""))
    folder = ModelFolder(config.output_dir)
    main = distributed.is_main()
    created, finished = main and not folder.path.exists(), False
    try:
        with ExitStack() as held:
            def claim() -> set:
                check_folder(folder.path, "--output")
                held.enter_context(folder.lock())
                _check_target(folder, resume, overwrite)
                return set(folder.path.iterdir())

            before = distributed.on_main(claim)  # a refusal reaches every process
            try:
                result = _fine_tune(folder, config, dataset, callbacks if main else (), stop, resume, overwrite, finish_tracking, origin)
                finished = True
                return result
            except BaseException:
                if main and not folder.incomplete() and (folder.latest_checkpoint() is None or not folder.has_run()):
                    _restore(folder, before, resume)
                raise
            finally:
                if main:
                    shutil.rmtree(folder / STAGING_NAME, ignore_errors=True)
    finally:
        if created and not finished and folder.path.is_dir() and not any(folder.path.iterdir()):
            folder.path.rmdir()  # a failed first run leaves no empty folder behind


def _fine_tune(folder, config, dataset, callbacks, stop, resume, overwrite, finish_tracking, origin=None) -> TrainResult:
    from transformers import PrinterCallback, Trainer, default_data_collator

    # 1. data: the run's tweets, split into training and held-out with this config's
    #    fraction and seed, saved with the run before anything trains (by the main
    #    process, whose dataset and checkpoint every process then uses).
    dataset, resume_from = distributed.on_main(lambda: _run_data(folder, config, dataset, resume, overwrite, origin))

    # 2. model. A resumed tiny model starts from its checkpoint: its tokenizer was trained on the fly.
    if config.tiny and resume_from is not None:
        model, tokenizer = load_model(str(resume_from))
    else:
        model, tokenizer = load_model(config.model, dataset.all_train_tweets(), config.block_size, config.seed)
    ensure_eos_prefix(tokenizer)
    if config.tracked:
        os.environ.setdefault("WANDB_PROJECT", config.wandb_project)

    # 3. group texts: eos-joined tweets cut into blocks; in a model of several voices each
    #    post starts with its author's marker (dataset.voice_marker).
    positions = max_positions(model)
    block_size = min(config.block_size, positions) if positions else config.block_size
    marked = config.voices and len(dataset.authors) > 1
    apart = config.within_post and keeps_posts_apart(model, tokenizer.eos_token_id)  # else ordinary packing
    train_blocks = pack_blocks(dataset.balanced_train(marked), tokenizer, block_size, apart)
    eval_blocks = held_out_blocks(dataset.valid_texts(marked), tokenizer, block_size, apart)
    if not train_blocks:
        raise HuggingTweetsError("No training text after cleaning: add more tweets.")

    # 4. prepare: precision, LoRA, gradient checkpointing.
    precision = resolve_precision(config.precision, config.model)
    if config.lora:
        model = _apply_lora(model, config)
    elif config.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)  # a tied output layer is the same tensor
    # off with gradient checkpointing (they do not combine); the Trainer turns the cache off while
    # it trains anyway (TrainingArguments.use_cache), which packed posts need (a cache turns
    # transformers' packed-sequence masks off)
    model.config.use_cache = not config.gradient_checkpointing
    best = BestWeights(folder) if config.keep_best and eval_blocks else None
    bridge = _bridge(callbacks, stop, folder, folder.train_seconds(resume_from) if resume_from else 0.0,
                     _checkpoint_step_of(resume_from) if resume_from else 0, best)
    trainer = Trainer(
        model=model,
        args=_training_args(config, dataset, precision, folder.run_dir, len(train_blocks) if eval_blocks else 0),
        train_dataset=train_blocks,
        eval_dataset=eval_blocks or None,
        data_collator=default_data_collator,
        processing_class=tokenizer,  # checkpoints carry the tokenizer, so a tiny run can resume
        callbacks=[bridge],
    )
    trainer.remove_callback(PrinterCallback)  # the library is silent; callers choose how to show progress

    # 5. the loop: held-out loss before (once per run), train or resume, held-out loss after.
    main = distributed.is_main()
    with no_library_bars():  # no "Writing model shards" bars in the middle of ours
        metrics: dict = {}
        if eval_blocks:
            before = folder.eval_before() if resume else None
            metrics["eval_loss_before"] = before if before is not None else trainer.evaluate()["eval_loss"]
            if main:
                folder.save_eval_before(metrics["eval_loss_before"])
        with _space_for(folder, "checkpoint", bridge):
            trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        stopped = bridge.stopped
        if eval_blocks:
            # the evaluation at the last epoch's end, when there was one at this very step
            last = [h["eval_loss"] for h in trainer.state.log_history if "eval_loss" in h and h.get("step") == trainer.state.global_step]
            metrics["eval_loss"] = last[-1] if last else trainer.evaluate()["eval_loss"]
            if best is not None and best.restore(trainer.model, metrics["eval_loss"]):  # never end on a worse model
                metrics["last_eval_loss"], metrics["eval_loss"] = metrics["eval_loss"], best.loss
                metrics["best_step"], metrics["best_epoch"] = best.step, round(best.epoch, 3)
            metrics["perplexity"] = math.exp(min(metrics["eval_loss"], 50.0))
            metrics["eval_history"] = [[h["step"], round(float(h.get("epoch") or 0.0), 3), h["eval_loss"]]
                                       for h in trainer.state.log_history if "eval_loss" in h]
    metrics.update(_run_metrics(trainer, bridge, dataset, precision, block_size, len(train_blocks), stopped))
    base = None if config.tiny else resolve(config.model)
    metrics["base_model"] = TINY if base is None else base.base
    if marked:
        metrics["voices"] = dataset.handles
    if config.within_post:
        metrics["within_post"] = apart  # False: this architecture cannot keep packed posts apart
    wandb_url = _wandb_url() if config.tracked else None
    if not main:  # the main process saves the model, the card and the metrics
        distributed.barrier()
        return TrainResult(folder.path, metrics, stopped, wandb_url)

    # 6. save: weights, tokenizer, sampling defaults, config, data, metrics and card, staged
    #    and moved into place at once; then the run's checkpoints go (unless kept or stopped).
    final = trainer.model
    if config.lora:
        final = final.merge_and_unload()  # a plain model folder that pipeline() loads
    final.config.use_cache = True
    _sampling_defaults(final, tokenizer)
    with _space_for(folder, "model", bridge):  # the staged files go with fine_tune's cleanup; the old model stays
        stage = folder.staging()
        final.save_pretrained(stage)
        tokenizer.save_pretrained(stage)
        _carry_licence(base, stage)
        note = stopped_note(metrics)
        atomic_write_json(stage / TRAIN_CONFIG_NAME, {**config.to_dict(), **({STOPPED_KEY: note} if note else {})})
        dataset.save(stage)
        atomic_write_json(stage / METRICS_FILE, metrics)
        _write_card(stage, folder.path, dataset, config, metrics, wandb_url)
        folder.publish(write_manifest)
    folder.drop_set_aside()
    if not stopped:
        folder.finish_run(config.keep_checkpoints)
        if config.tracked and finish_tracking:  # else the caller's run logs more, then ends
            _finish_wandb()
    result = TrainResult(folder.path, metrics, stopped, wandb_url)
    distributed.barrier()  # the others return once the model is in place
    for cb in callbacks:
        cb.on_end(bridge.last_state(trainer.state))
    return result


@contextmanager
def _space_for(folder: ModelFolder, what: str, bridge):
    """A save that fills the disk ends in one line; a checkpoint it cut short is removed, so the
    folder holds only whole checkpoints (``--resume`` continues from the newest)."""
    try:
        yield
    except BaseException as err:
        if not disk_full(err, folder.path):
            raise
        need = 0
        if distributed.is_main():
            for p in folder.checkpoints():
                if _checkpoint_step_of(p) > bridge.saved_step:  # begun after the last whole one
                    shutil.rmtree(p, ignore_errors=True)
            done = folder.latest_checkpoint()
            need = sum(f.stat().st_size for f in done.iterdir() if f.is_file()) if done else 0
        kept = " Checkpoints so far are kept: --resume continues." if folder.latest_checkpoint() else ""
        raise HuggingTweetsError(f"{no_space_message(folder.path, need)} The {what} could not be saved.{kept}") from None


def _checkpoint_step_of(path: Path) -> int:
    tail = path.name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def _check_state_files(checkpoint: Path) -> None:
    """Every pickled state file of a checkpoint (optimizer, scheduler, RNG) loads with
    ``weights_only=True`` (no code runs), memory-mapped so only its structure is read; else one
    line naming the file. The Trainer loads them the same way (numpy's RNG types allowed, as
    its ``safe_globals`` does), but fails with a traceback."""
    import torch
    from transformers.trainer_pt_utils import safe_globals

    for path in sorted(checkpoint.iterdir()):
        if path.suffix not in (".pt", ".pth", ".bin") or not path.is_file() or path.name == TRAINING_ARGS:
            continue  # training_args.bin is for people reading the checkpoint; resuming never loads it
        try:
            with safe_globals():
                torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except BaseException as err:
            if not is_failure(err):
                raise
            raise HuggingTweetsError(
                f"{path.name} in {checkpoint} is damaged or not plain training state ({first_line(err)[:160]}): "
                f"delete {checkpoint.name} to resume from an earlier checkpoint, or start over with --overwrite.") from None


def _run_data(folder: ModelFolder, config: TrainConfig, dataset: Optional[TweetDataset], resume: bool, overwrite: bool,
              origin: Optional[dict] = None):
    """The run's split dataset and the checkpoint to resume from, its files written (main process);
    ``origin`` (the sources as the user gave them) is kept beside them for ``--resume`` to compare."""
    resume_from = None
    if resume:
        saved = TrainConfig.load(folder.run_dir / TRAIN_CONFIG_NAME)
        changed = [f for f in config.to_dict() if f != "output_dir" and getattr(config, f) != getattr(saved, f)]
        if changed:
            raise HuggingTweetsError(
                f"--resume continues the saved run as it was: {', '.join(changed)} would change it "
                f"(saved: {', '.join(f'{f}={getattr(saved, f)!r}' for f in changed)}). Drop those settings, or start over with --overwrite."
            )
        dataset = TweetDataset.load(folder.run_dir)
        resume_from = folder.latest_checkpoint()
        if resume_from is not None:
            _check_state_files(resume_from)
    elif dataset is None:
        raise HuggingTweetsError("No dataset to train on: give sources (or --sample).")
    else:
        if overwrite:
            folder.set_aside_run()
        dataset = dataset.split(config.validation_fraction, config.seed)
    if config.lora and config.tiny:
        raise HuggingTweetsError("LoRA adapts a pretrained model; the tiny model trains all its weights: drop --lora or pick a model.")
    if distributed.launched():
        check_model(config.model)  # the offline model is converted once, here, before any process loads it
    if not resume:
        folder.run_dir.mkdir(parents=True, exist_ok=True)
        dataset.save(folder.run_dir)
        config.save(folder.run_dir / TRAIN_CONFIG_NAME)
        if origin is not None:
            atomic_write_json(folder.run_dir / SOURCES_NAME, origin)
    return dataset, resume_from


def _check_target(folder: ModelFolder, resume: bool, overwrite: bool) -> None:
    """The one folder policy (``FolderState.refusal``), checked under the folder's lock before
    anything is written."""
    folder_state(folder).check(resume, overwrite)


def _restore(folder: ModelFolder, before: set, resume: bool) -> None:
    """A run that failed before its first checkpoint: remove what it added, nothing else,
    and put back the unfinished run that ``--overwrite`` was replacing."""
    if resume:
        return
    replaced = folder.restore_set_aside()
    for p in set(folder.path.iterdir()) - before:
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    if not replaced and folder.run_dir in before and not folder.checkpoints():
        for name in (TRAIN_CONFIG_NAME, DATASET_FILE):
            (folder.run_dir / name).unlink(missing_ok=True)


def _run_metrics(trainer, bridge, dataset: TweetDataset, precision: str, block_size: int, n_train: int, stopped: bool) -> dict:
    """What the card and metrics.json report, for the whole run (a resumed one included)."""
    history = trainer.state.log_history
    losses = [h["loss"] for h in history if "loss" in h]
    return {
        "train_loss": sum(losses) / len(losses) if losses else None,  # mean of the logged losses, every session
        "global_step": trainer.state.global_step,
        "train_runtime": bridge.total_seconds(trainer.state),
        "train_blocks": n_train,
        "train_tweets": len(dataset.all_train_tweets()),
        "eval_tweets": len(dataset.valid_texts()),
        "block_size": block_size,
        "precision": precision,
        "stopped": stopped,
        "max_steps": trainer.state.max_steps,
        "world_size": trainer.args.world_size,
        "effective_batch": trainer.args.per_device_train_batch_size * trainer.args.gradient_accumulation_steps * trainer.args.world_size,
    }


def _write_card(stage: Path, out: Path, dataset: TweetDataset, config: TrainConfig, metrics: dict, wandb_url: Optional[str]) -> None:
    from .card import write_card

    write_card(stage, [a.author for a in dataset.authors], dataset.stats, config, metrics, model_id=str(out), wandb_url=wandb_url)


def _finish_wandb() -> None:
    try:
        import wandb

        if wandb.run is not None:
            wandb.finish()
    except Exception:
        pass
