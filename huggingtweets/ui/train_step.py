"""Step 2: choose the model and settings, then fine-tune in a background thread.

One widget per ``TrainConfig`` field (tooltips from the field comments);
``config_from_widgets()`` is the only place they become a config. Training runs
in a thread so Stop works while the kernel stays free; ``WidgetProgress`` (a
``TrainCallback``) moves the bar, the status line and the loss plot.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import typing
from pathlib import Path
from typing import Optional

import ipywidgets as widgets

from ..config import PRECISIONS, SCHEDULERS, TrainConfig, field_help
from ..dataset import DATASET_FILE, build_dataset
from ..errors import HuggingTweetsError
from ..training import DEMO_CONFIG, METRICS_FILE, StopSignal, TrainCallback, latest_checkpoint, remove_checkpoints
from . import render
from .style import style_widget

MODELS = ("gpt2", "distilgpt2", "gpt2-medium", "tiny")
BASIC = ("model", "output_dir", "epochs", "learning_rate", "batch_size", "lora")
LABELS = {
    "model": "Model",
    "output_dir": "Model folder",
    "learning_rate": "Learning rate",
    "lr_scheduler": "Scheduler",
    "gradient_accumulation": "Grad. accumulation",
    "gradient_checkpointing": "Gradient checkpointing",
    "lora": "LoRA (train small adapters)",
    "lora_targets": "LoRA modules",
    "lora_rank": "LoRA rank",
    "lora_alpha": "LoRA alpha",
    "lora_dropout": "LoRA dropout",
    "validation_fraction": "Held-out fraction",
    "max_steps": "Max steps (-1: all)",
    "report_to": "Track with Weights & Biases",
    "wandb_project": "W&B project",
}
SHORT = widgets.Layout(width="230px")
WIDE = {"description_width": "initial"}


def _label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def field_widget(name: str, default, kind, tip: str) -> widgets.Widget:
    """The widget for one TrainConfig field, holding its default."""
    common = dict(description=_label(name), tooltip=tip, style=WIDE)
    if name == "model":
        return widgets.Combobox(value=default, options=list(MODELS), ensure_option=False, placeholder="Hub name or folder", layout=SHORT, **common)
    if name in ("lr_scheduler", "precision"):
        return widgets.Dropdown(value=default, options=list(SCHEDULERS if name == "lr_scheduler" else PRECISIONS), layout=SHORT, **common)
    if name == "report_to":
        return widgets.Checkbox(value=default == "wandb", indent=False, **common)
    if name == "learning_rate":  # text, so 1e-4 can be typed as such
        return widgets.Text(value=f"{default:g}", layout=SHORT, **common)
    if name == "lora_targets":
        return widgets.Text(value=", ".join(default or []), placeholder="peft's default", layout=SHORT, **common)
    if kind is bool:
        return widgets.Checkbox(value=default, indent=False, **common)
    if kind is int:
        return widgets.IntText(value=default, layout=SHORT, **common)
    if kind is float:
        return widgets.FloatText(value=default, layout=SHORT, **common)
    return widgets.Text(value=str(default), layout=widgets.Layout(width="470px") if name == "output_dir" else SHORT, **common)


def read_number(text: str, what: str) -> float:
    try:
        return float(str(text).strip())
    except ValueError:
        raise HuggingTweetsError(f"{what} must be a number like 1e-4, got {str(text).strip()!r}.") from None


def unfinished(folder: Path, checkpoint: Path) -> bool:
    """True when ``checkpoint`` belongs to a run that did not finish (stopped or cut off)."""
    metrics = folder / METRICS_FILE
    try:
        if json.loads(metrics.read_text()).get("stopped"):
            return True
        return checkpoint.stat().st_mtime > metrics.stat().st_mtime  # checkpoints newer than the last result
    except (OSError, ValueError, AttributeError):
        return True  # no result yet: the run was cut off


class WidgetProgress(TrainCallback):
    """Moves the step's bar, status line and loss plot (called from the training thread)."""

    def __init__(self, step: "TrainStep"):
        self.step = step
        self.train: list[tuple[int, float]] = []
        self.held_out: list[tuple[int, float]] = []
        self.max_steps = 0
        self.last = None  # the latest TrainState
        self._shown = 0.0

    def on_begin(self, state):
        self.max_steps = state.max_steps
        self.step._progress.max = max(state.max_steps, 1)
        self.step._progress.value = min(state.step, self.step._progress.max)
        self._status(state, force=True)

    def on_step(self, state):
        self.step._progress.value = min(state.step, self.step._progress.max)
        self._status(state, force=state.step >= state.max_steps)

    def on_log(self, state, logs):
        self.train.append((state.step, float(logs["loss"])))
        self._draw()
        self._status(state, force=True)

    def on_evaluate(self, state, metrics):
        if "eval_loss" in metrics:
            if self.held_out and self.held_out[-1][0] == state.step:
                self.held_out.pop()  # evaluated again at the same step (the final evaluation)
            self.held_out.append((state.step, float(metrics["eval_loss"])))
            self._draw()

    def on_save(self, state, checkpoint):
        self.step._saved.value = f"checkpoint saved at step {state.step}"

    def _draw(self):
        self.step._plot.value = render.loss_svg(self.train, self.held_out, self.max_steps)

    def _status(self, state, force=False):
        self.last = state
        now = time.monotonic()
        if force or now - self._shown > 0.25:  # a fast GPU does many steps a second: spare the frontend
            self._shown = now
            self.step._status.value = render.progress_line(state.step, state.max_steps, state.epoch, state.loss, state.eta)


class TrainStep(widgets.VBox):
    """Settings → ``Train Neural Network`` (in a thread) with Stop, progress, loss plot and result."""

    def __init__(self, session, **kwargs):
        super().__init__(**kwargs)
        self._session = session
        self._thread: Optional[threading.Thread] = None
        self._stop: Optional[StopSignal] = None
        self._auto_folder = ""
        self.result = None  # the last TrainResult
        self.error: Optional[BaseException] = None  # the last unexpected failure, for debugging

        defaults = DEMO_CONFIG if session.demo else TrainConfig()
        helps, hints = field_help(TrainConfig), typing.get_type_hints(TrainConfig)
        self._fields = {
            f.name: field_widget(f.name, getattr(defaults, f.name), hints[f.name], helps.get(f.name, ""))
            for f in dataclasses.fields(TrainConfig)
        }
        self._resume = widgets.Checkbox(description="Resume from checkpoint", indent=False, disabled=True, layout=widgets.Layout(width="auto"))
        self._resume.tooltip = "Ticked: continue the run saved in the folder. Unticked: delete its checkpoints and start over."
        self._resume_note = widgets.Label("")
        self.button = widgets.Button(description="Train Neural Network", icon="play", button_style="primary", layout=widgets.Layout(width="auto"))
        self.stop_button = widgets.Button(description="Stop", icon="stop", disabled=True, tooltip="Save a checkpoint and stop; resume later")
        self._progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="300px"))
        self._status = widgets.Label("")
        self._saved = widgets.Label("")
        self._message = widgets.HTML("")
        self._plot = widgets.HTML("")
        self._summary = widgets.HTML("")
        self._set_folder(str(Path(session.root) / Path(defaults.output_dir).name))
        self._layout()
        self._wire()
        self._refresh_resume()

    # --- building -------------------------------------------------------------------------
    def _layout(self) -> None:
        row = widgets.Layout(flex_flow="row wrap", align_items="center", grid_gap="4px 8px")
        f = self._fields
        advanced = [w for name, w in f.items() if name not in BASIC]
        grid = widgets.GridBox(advanced, layout=widgets.Layout(grid_template_columns="repeat(auto-fill, minmax(240px, 1fr))", grid_gap="4px 12px"))
        accordion = widgets.Accordion([grid], titles=("Advanced",), selected_index=None)
        self.children = [
            style_widget(),
            widgets.HTML(render.step_title(2, "Train the model", "Pick a model (tiny trains in about a minute on a CPU) and press Train.")),
            widgets.HBox([f["model"], f["output_dir"]], layout=row),
            widgets.HBox([f["epochs"], f["learning_rate"], f["batch_size"], f["lora"]], layout=row),
            accordion,
            widgets.HBox([self._resume, self._resume_note], layout=row),
            widgets.HBox([self.button, self.stop_button], layout=row),
            widgets.HBox([self._progress, self._status, self._saved], layout=row),
            self._message,
            self._plot,
            self._summary,
        ]

    def _wire(self) -> None:
        self.button.on_click(self._on_train)
        self.stop_button.on_click(self._on_stop)
        self._fields["output_dir"].observe(self._on_folder, names="value")
        self._session.observe(self._on_dataset, names="dataset")

    # --- the config ----------------------------------------------------------------------
    def config_from_widgets(self) -> TrainConfig:
        """The TrainConfig the widgets describe; a HuggingTweetsError names a bad value."""
        values = {name: w.value for name, w in self._fields.items()}
        values["model"] = str(values["model"]).strip()
        values["output_dir"] = str(values["output_dir"]).strip()
        values["learning_rate"] = read_number(values["learning_rate"], "learning rate")
        values["report_to"] = "wandb" if values["report_to"] else "none"
        values["lora_targets"] = [t.strip() for t in values["lora_targets"].split(",") if t.strip()] or None
        return TrainConfig.from_dict(values)

    # --- callbacks -----------------------------------------------------------------------
    def _set_folder(self, folder: str) -> None:
        self._auto_folder = folder
        self._fields["output_dir"].value = folder
        self._session.folder = folder

    def _on_folder(self, change) -> None:
        self._session.folder = change["new"].strip()
        self._refresh_resume()

    def _on_dataset(self, change) -> None:
        dataset = change["new"]
        if dataset is None:
            return
        self._message.value = ""
        if self._fields["output_dir"].value == self._auto_folder:  # the person has not chosen one: name it after the authors
            self._set_folder(str(Path(self._session.root) / dataset.slug))

    def _refresh_resume(self) -> None:
        folder = Path(self._fields["output_dir"].value.strip() or ".")
        checkpoint = latest_checkpoint(folder)
        self._resume.disabled = checkpoint is None or self._session.busy
        if checkpoint is None:
            self._resume.value, self._resume_note.value = False, ""
            return
        self._resume.value = unfinished(folder, checkpoint)
        self._resume_note.value = (
            f"{checkpoint.name} of an unfinished run is in the folder: training continues from it."
            if self._resume.value
            else f"{checkpoint.name} of a finished run is in the folder: training again starts over (tick to continue it)."
        )

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _dataset_for(self, config: TrainConfig, resume: bool):
        """Step 1's dataset split with this config's seed and held-out fraction (None: resume's own)."""
        session = self._session
        if session.dataset is None:
            if resume and (Path(config.output_dir) / DATASET_FILE).exists():
                return None  # fine_tune reads the dataset saved with the checkpoint
            raise HuggingTweetsError("Download tweets in step 1 first.")
        ds = session.dataset
        if (ds.seed, ds.validation_fraction) == (config.seed, config.validation_fraction) or not session.raw:
            return ds
        return build_dataset(session.raw, validation_fraction=config.validation_fraction, seed=config.seed)

    def _on_train(self, _=None) -> None:
        if self.running:
            return
        self._message.value = self._summary.value = ""
        try:
            config = self.config_from_widgets()
            from ..models import check_model

            check_model(config.model)
            resume = self._resume.value and latest_checkpoint(config.output_dir) is not None
            dataset = self._dataset_for(config, resume)
            if not resume:
                remove_checkpoints(config.output_dir)  # the checkbox said: start over
        except HuggingTweetsError as err:
            self._message.value = render.message("error", str(err))
            self.button.button_style = "danger"
            return
        self._start(config, dataset, resume)

    def _start(self, config: TrainConfig, dataset, resume: bool) -> None:
        self._stop = StopSignal()
        self.result, self.error = None, None
        progress = WidgetProgress(self)
        self._progress.value, self._progress.bar_style = 0, ""
        self._status.value, self._saved.value, self._plot.value = "Preparing the model and data…", "", render.loss_svg([], [])
        self.button.button_style = ""
        self._set_running(True)
        self._thread = threading.Thread(target=self._run, args=(config, dataset, resume, progress), name="huggingtweets-train", daemon=True)
        self._thread.start()

    def _run(self, config: TrainConfig, dataset, resume: bool, progress: WidgetProgress) -> None:
        """The training thread: fine_tune, then show the result or a one-line error."""
        from ..training import fine_tune

        try:
            quiet_libraries()
            result = fine_tune(config, dataset, callbacks=[progress], stop=self._stop, resume=resume)
        except Exception as err:  # the thread must always end in a shown state
            self.error = err
            text = str(err) if isinstance(err, HuggingTweetsError) else f"Training failed ({type(err).__name__}): {render.first_line(err)}"
            self._message.value = render.message("error", text)
            self._progress.bar_style, self.button.button_style = "danger", "danger"
        else:
            self.result = result
            self._show_result(result, progress)
        finally:
            _free_gpu_memory()
            self._set_running(False)
            self._refresh_resume()

    def _show_result(self, result, progress: WidgetProgress) -> None:
        m = result.metrics
        if not result.stopped:
            self._progress.value = self._progress.max
        self._progress.bar_style = "info" if result.stopped else "success"
        self.button.button_style = "success"
        if progress.last is not None:
            progress._status(progress.last, force=True)
        self._summary.value = render.train_summary(m, str(result.output_dir), result.stopped, result.wandb_url)
        self._session.folder = str(result.output_dir)

    def _set_running(self, running: bool) -> None:
        """While training: Stop on; Train, the settings and steps 1 and 3 off (no double runs)."""
        self.button.disabled = running
        self.stop_button.disabled = not running
        self._resume.disabled = running
        for w in self._fields.values():
            w.disabled = running
        self._session.busy = running

    def _on_stop(self, _=None) -> None:
        if self._stop is not None and self.running:
            self._stop.request()
            self.stop_button.disabled = True
            self._saved.value = "stopping after this step: saving a checkpoint…"

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Join the training thread; True when no training is running."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running


def quiet_libraries() -> None:
    """Library chatter (progress bars, advice) would land in whichever cell ran last."""
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", message=".*pin_memory.*")


def _free_gpu_memory() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # generation in step 3 loads the model again
    except Exception:
        pass
