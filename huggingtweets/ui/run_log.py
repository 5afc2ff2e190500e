"""What a model folder says about how it was trained: the logged losses behind step 2's plot.

Step 2 draws the folder it names, whoever trained it: a run stopped an hour ago, a
model trained in another session, or nothing yet. This reads, and never writes:

- the newest whole checkpoint's ``trainer_state.json`` (the Trainer's log: a training
  loss every ``logging_steps``, the held-out loss at each evaluation, the step reached);
- the run's held-out loss before training (``ModelFolder.eval_before``);
- a saved model's ``metrics.json`` (held-out loss before and after, the steps).

A finished model keeps no checkpoints unless asked to, so its plot is the held-out loss
before and after; a run in progress, or stopped, has every training loss logged so far.
Anything unreadable is left out: a plot with less in it, never an error.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from ..folder import DATASET, METRICS, TRAINER_STATE, ModelFolder
from ..errors import HuggingTweetsError
from ..names import published_name

Point = tuple[int, float]


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


def read_log(path: Union[str, Path]) -> RunLog:
    """Everything logged in the folder at ``path`` (an empty log when it holds nothing of ours)."""
    folder = ModelFolder(path)
    log = RunLog()
    if not folder.path.is_dir():
        return log
    checkpoint = folder.latest_checkpoint()
    if checkpoint is not None:
        state = _read(checkpoint / TRAINER_STATE)
        history = state.get("log_history")
        log.train, log.held_out = _points(history, "loss"), _points(history, "eval_loss")
        log.step = state.get("global_step") if isinstance(state.get("global_step"), int) else 0
        log.max_steps = state.get("max_steps") if isinstance(state.get("max_steps"), int) else 0
        log.epoch = _number(state.get("epoch")) or 0.0
    log.running = folder.has_run()
    try:
        before = folder.eval_before() if log.running else None
    except HuggingTweetsError:
        before = None
    if before is not None:
        log.held_out = _merge([(0, before)], log.held_out)
    if folder.has_model():
        metrics = _read(folder / METRICS)
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


def trained_on(path: Union[str, Path]) -> Optional[str]:
    """The published name of the authors the folder's model or run learned from
    (``a-b``), "" when that cannot be read, None when the folder holds nothing of ours."""
    folder = ModelFolder(path)
    if not folder.is_ours():
        return None
    for where in (folder.run_dir / DATASET, folder.path / DATASET):
        authors = _read(where).get("authors")
        if isinstance(authors, list):
            handles = [a.get("author", {}).get("handle") for a in authors if isinstance(a, dict)]
            if handles and all(isinstance(h, str) for h in handles):
                return published_name(handles)
    return ""
