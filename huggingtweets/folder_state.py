"""What a model folder holds, read in one place: ``folder_state(path)``.

Every view asks the same questions of a folder before it trains, resumes, draws or shares:
what is there (nothing, a run in progress, a model, a save cut short, someone else's
files), which choice applies (train, resume, replace), what a resume starts from, the
run's settings and the losses it logged. ``FolderState`` answers them, and ``refusal``
is the folder policy that training enforces under the folder's lock: the app's step 2,
the CLI's demo and ``train --resume``, and the batch all read the same answers.

The run log (step 2's plot) is read from the files, never written:
- the newest whole checkpoint's ``trainer_state.json`` (a training loss every
  ``logging_steps``, the held-out loss at each evaluation, the step reached);
- the run's held-out loss before training (``ModelFolder.eval_before``);
- a saved model's ``metrics.json`` (held-out loss before and after, the steps).
A finished model keeps no checkpoints unless asked to, so its log is the held-out loss
before and after; anything unreadable is left out: a log with less in it, never an error.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from .config import TrainConfig
from .errors import HuggingTweetsError
from .folder import DATASET, METRICS, SOURCES, TRAIN_CONFIG, TRAINER_STATE, ModelFolder
from .names import published_name

Point = tuple[int, float]

# What a folder holds (FolderState.holds)
NOTHING, RUN, MODEL, PARTIAL, OTHER = "nothing", "run", "model", "partial", "other"


@dataclass
class RunLog:
    """The losses logged in a folder, in step order."""

    train: list[Point] = field(default_factory=list)
    held_out: list[Point] = field(default_factory=list)
    step: int = 0  # the step the folder's run reached
    max_steps: int = 0
    epoch: float = 0.0
    metrics: dict = field(default_factory=dict)  # the saved model's metrics.json; {} when none
    running: bool = False  # an unfinished run that Resume continues

    @property
    def empty(self) -> bool:
        return not (self.train or self.held_out or self.metrics)

    @property
    def last_loss(self) -> Optional[Point]:
        return self.train[-1] if self.train else None

    @property
    def finished(self) -> bool:
        return not self.running and self.step >= self.max_steps


@dataclass(frozen=True)
class FolderState:
    """One look at a model folder (taken by ``folder_state``; look again after it changes)."""

    folder: ModelFolder
    holds: str  # NOTHING, RUN (a run resume continues), MODEL (a whole model), PARTIAL (a save cut short), OTHER (not ours)
    has_model: bool  # a whole saved model is there (beside a run, too: a stopped run's, or the one a replace keeps until its end)
    ours: bool  # a huggingtweets folder (ModelFolder.is_ours), whatever it holds now
    checkpoint: Optional[Path]  # the newest whole checkpoint (a run's; a finished run's when they were kept)

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def can_resume(self) -> bool:
        return self.holds == RUN

    @property
    def can_replace(self) -> bool:
        """Something of ours that a new run may replace (the old model stays until the new one is saved)."""
        return self.holds in (RUN, MODEL, PARTIAL)

    @property
    def finished(self) -> bool:
        """A model whose run ended (not stopped early) and no run in progress: nothing left to do."""
        return self.holds == MODEL and self.folder.stopped() is None

    def refusal(self, resume: bool = False, overwrite: bool = False) -> Optional[str]:
        """Why training into this folder with these choices is refused (one line that says what
        to do), or None: the one folder policy (``training`` checks it again under the lock)."""
        where = self.path
        if self.holds == OTHER:
            return f"{where} holds other files and is not a huggingtweets model folder: choose a new or empty folder."
        if resume:
            if overwrite:
                return "--resume continues the saved run, --overwrite starts over: choose one."
            if self.holds != RUN:
                done = " The run there finished; add --overwrite to train again." if self.has_model else ""
                return f"Nothing to resume in {where}: no run in progress.{done}"
            return None
        if overwrite:
            return None
        if self.holds == RUN:
            return f"{where} holds an unfinished run: add --resume to continue it, or --overwrite to start over."
        if self.holds in (MODEL, PARTIAL):
            return f"{where} holds a trained model: add --overwrite to replace it (it stays until the new one is saved), or choose another folder."
        return None

    def check(self, resume: bool = False, overwrite: bool = False) -> None:
        refused = self.refusal(resume, overwrite)
        if refused:
            raise HuggingTweetsError(refused)

    def resume_line(self) -> str:
        return self.folder.resume_line()

    def run_config(self) -> Optional[TrainConfig]:
        """The settings of the run in progress, or None (no run, or unreadable)."""
        if self.holds != RUN:
            return None
        try:
            return TrainConfig.load(self.folder.run_dir / TRAIN_CONFIG)
        except HuggingTweetsError:
            return None

    def origin(self) -> Optional[dict]:
        """The sources the run in progress was started with, as given to ``train``, or None
        (none recorded, or unreadable): a resume is checked against them."""
        data = _read(self.folder.run_dir / SOURCES)
        return data or None

    def trained_on(self) -> Optional[str]:
        """The published name of the authors the folder's model or run learned from (``a-b``),
        "" when that cannot be read, None when the folder holds nothing of ours."""
        if not self.ours:
            return None
        for where in (self.folder.run_dir / DATASET, self.path / DATASET):
            authors = _read(where).get("authors")
            if isinstance(authors, list):
                handles = [a.get("author", {}).get("handle") for a in authors if isinstance(a, dict)]
                if handles and all(isinstance(h, str) for h in handles):
                    return published_name(handles)
        return ""

    def log(self) -> RunLog:
        """Everything logged in the folder (an empty log when it holds nothing of ours)."""
        folder, log = self.folder, RunLog()
        if not self.path.is_dir():
            return log
        if self.checkpoint is not None:
            state = _read(self.checkpoint / TRAINER_STATE)
            history = state.get("log_history")
            log.train, log.held_out = _points(history, "loss"), _points(history, "eval_loss")
            log.step = state.get("global_step") if isinstance(state.get("global_step"), int) else 0
            log.max_steps = state.get("max_steps") if isinstance(state.get("max_steps"), int) else 0
            log.epoch = _number(state.get("epoch")) or 0.0
        log.running = self.holds == RUN
        try:
            before = folder.eval_before() if log.running else None
        except HuggingTweetsError:
            before = None
        if before is not None:
            log.held_out = _merge([(0, before)], log.held_out)
        if self.has_model:
            metrics = _read(self.path / METRICS)
            steps = metrics.get("global_step")
            # A model beside a run is that run's, stopped early, only when it stopped at the checkpoint's step;
            # otherwise the run is a new one over it (Replace) and the model's numbers are not its.
            same_run = not log.running or (metrics.get("stopped") is True and steps == log.step)
            if same_run and isinstance(steps, int):
                log.metrics = metrics
                ends = [(0, v) for v in [_number(metrics.get("eval_loss_before"))] if v is not None]
                ends += [(steps, v) for v in [_number(metrics.get("eval_loss"))] if v is not None]
                log.held_out = _merge(log.held_out, ends)
                log.step = max(log.step, steps)
                log.max_steps = log.max_steps or steps
        return log


def folder_state(path: Union[str, Path, ModelFolder]) -> FolderState:
    """What the folder at ``path`` holds now."""
    folder = path if isinstance(path, ModelFolder) else ModelFolder(path)
    has_model = folder.has_model()
    if folder.has_run():
        holds = RUN
    elif folder.incomplete():
        holds = PARTIAL
    elif has_model:
        holds = MODEL
    elif folder.is_empty() or folder.is_ours():
        holds = NOTHING
    else:
        holds = OTHER
    return FolderState(folder, holds, has_model, folder.is_ours(), folder.latest_checkpoint())


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _number(value) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _points(history: list, key: str) -> list[Point]:
    out: dict[int, float] = {}
    for entry in history if isinstance(history, list) else ():
        if isinstance(entry, dict) and isinstance(entry.get("step"), int) and _number(entry.get(key)) is not None:
            out[entry["step"]] = float(entry[key])  # the later of two at one step (a final evaluation)
    return sorted(out.items())


def _merge(points: list[Point], extra: list[Point]) -> list[Point]:
    merged = dict(points)
    merged.update(extra)
    return sorted(merged.items())
