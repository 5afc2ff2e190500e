"""Step 2: choose the model and settings, then fine-tune in a background thread.

One widget per ``TrainConfig`` field (tooltips from the field comments);
``config_from_widgets()`` is the only place they become a config. Training runs
in a thread so Stop works while the kernel stays free; ``WidgetProgress`` (a
``TrainCallback``) moves the bar, the status line (elapsed time and ETA) and
the loss plot. Beside the Train button it says what a lost connection keeps.

What the step shows is the folder it names (``session.folder``): a new download
names the new authors' folder, and opening a folder (or resuming its run) draws
its logged losses from disk (``FolderState.log``), so the plot never belongs to another run.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import typing
from pathlib import Path
from typing import Optional

import ipywidgets as widgets

from ..config import PRECISIONS, PRESET_TRADES, PRESETS, SCHEDULERS, WANDB, TrainConfig, field_help
from ..errors import HuggingTweetsError
from ..quiet import quiet_libraries
from ..workflow import (TrainCallback, TrainingRun, check_model, choices, machine,
                        demo_config, estimate_time, folder_for, model_for,
                        model_language_note, recipe_for, saved_run_config, RunLog, folder_state)
from . import plot, render
from .model_picker import ModelPicker
from .step import Step, row


def cpu_note() -> str:
    """What this machine's CPU learns in the demo's recipe for it (``demo_config(cpu=True)``);
    one's own posts train the default recipe, which takes longer."""
    epochs = demo_config(cpu=True).epochs
    full = TrainConfig().epochs
    return (f"{choices(gpu=False).offline_model} (pretrained, {epochs:g} epoch{'s' if epochs != 1 else ''}) learns the sample in about 2 minutes; "
            f"your own posts train {full:g} epochs in small batches, which takes longer: once they are loaded, the training "
            "step says how long, timed on this machine; the quick preset halves it, and tiny is faster still but writes word salad.")


HELP = (
    "Help: settings, the loss plot, stopping and resuming",
    "<b>Settings</b>: the model (each in the list says what it trades; <i>Other...</i> takes a Hub name or a local folder; "
    "<code>tiny</code> is built from scratch, for a quick look only), the preset, "
    "the model folder, epochs, learning rate, batch size and LoRA (small adapters: less memory for bigger models). "
    "<i>Advanced</i> holds the rest, in groups that say what each is for; each box's tooltip says what it does.",
    "<b>While it trains</b> the bar, the status line and the plot of training and held-out loss move; "
    "the held-out loss is measured on tweets the model never trains on, so a rising one means it is memorising. "
    "The training loss is logged every <i>Logging steps</i> steps: the status line says which step it is from.",
    "<b>Stop and resume</b>: a checkpoint is saved into the model folder every <i>Save steps</i> steps and when you press Stop. "
    "Open the app again on the same folder (download the same tweets, or type the folder) and "
    "<i>Resume the unfinished run</i> is ticked: it ends at the step an uninterrupted run would, and the plot keeps every step logged before.",
    "<b>The result</b> is a model folder with a model card (<code>README.md</code>), ready for "
    "<code>pipeline(\"text-generation\", model=FOLDER)</code>. Downloading other authors names their own folder; "
    "if it already holds a model or a run, its plot shows here.",
)
COLAB_NOTE = (
    "If Colab disconnects, the training carries on while the runtime lives, and checkpoints are saved to the model folder "
    "every {save_steps} steps. A runtime that is reset or times out loses /content: to keep them, mount Google Drive in {data} "
    "and put the model folder there (e.g. /content/drive/MyDrive/{name}). To resume: run all cells, download the same tweets "
    "(or type the folder), and press Train with 'Resume the unfinished run' ticked."
)


def train_defaults(demo: str) -> TrainConfig:
    """The settings the step starts with: the demo's recipe in a demo (the sample, within its
    budget); elsewhere ``TrainConfig``'s, the recipe the CLI trains too, with "auto" shown as
    what it picks on this machine."""
    if demo:
        return demo_config(tiny=demo == "tiny")
    defaults = TrainConfig()
    model = machine().default_model if defaults.model == choices(gpu=False).auto_model else defaults.model
    return defaults.replace(model=model)


BASIC = ("model", "output_dir", "epochs", "learning_rate", "batch_size", "lora")
# Advanced, in groups, each with the one line that says why one would touch it. A setting no
# group names (a new TrainConfig field) shows under "Other", so none is ever hidden.
ADVANCED = (
    ("Schedule", "How the learning rate moves and when the run ends: the recipe's figures came from these.",
     ("lr_scheduler", "warmup", "weight_decay", "max_steps", "seed")),
    ("Memory and speed", "What fits this machine: longer blocks and bigger batches cost memory, bf16 saves time where the CPU or GPU has it.",
     ("block_size", "gradient_accumulation", "precision", "gradient_checkpointing")),
    ("What is trained", "Fewer trained weights: less memory, and less copying of a small archive.",
     ("freeze_embeddings", "lora_rank", "lora_alpha", "lora_dropout", "lora_targets")),
    ("Held-out posts and the model kept", "How quality is measured, and which weights are saved.",
     ("validation_fraction", "evals_per_epoch", "eval_steps", "keep_best", "within_post", "voices", "voice_score")),
    ("Checkpoints and tracking", "What a stop or a disconnect keeps, and where the run is logged.",
     ("save_steps", "save_total_limit", "keep_checkpoints", "logging_steps", "report_to", "wandb_project")),
)


def advanced_groups(names) -> list[tuple[str, str, list[str]]]:
    """``ADVANCED``'s groups holding ``names`` (the fields not in ``BASIC``), then "Other"."""
    names = [n for n in names if n not in BASIC]
    groups = [(title, why, [n for n in fields if n in names]) for title, why, fields in ADVANCED]
    placed = {n for _, _, fields in groups for n in fields}
    rest = [n for n in names if n not in placed]
    return [g for g in groups if g[2]] + ([("Other", "Settings without a group yet.", rest)] if rest else [])
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
        return ModelPicker(default, list(choices().models), layout=widgets.Layout(width="360px"), **common)
    if name in ("lr_scheduler", "precision"):
        return widgets.Dropdown(value=default, options=list(SCHEDULERS if name == "lr_scheduler" else PRECISIONS), layout=SHORT, **common)
    if name == "report_to":
        return widgets.Checkbox(value=_shown(name, default), indent=False, **common)
    if name == "learning_rate":  # text, so 1e-4 can be typed as such
        return widgets.Text(value=_shown(name, default), layout=SHORT, **common)
    if name == "lora_targets":
        return widgets.Text(value=_shown(name, default), placeholder="peft's default", layout=SHORT, **common)
    if kind is bool:
        return widgets.Checkbox(value=default, indent=False, **common)
    if kind is int:
        return widgets.IntText(value=default, layout=SHORT, **common)
    if kind is float:
        return widgets.FloatText(value=default, layout=SHORT, **common)
    return widgets.Text(value=str(default), layout=widgets.Layout(width="470px") if name == "output_dir" else SHORT, **common)


def _shown(name: str, value):
    """A setting as its box holds it: the learning rate as text (1e-4 typed as such), the
    tracker as a tick, LoRA's modules as a comma-separated line, the rest as is."""
    if name == "learning_rate":
        return f"{value:g}"
    if name == "report_to":
        return value == WANDB
    if name == "lora_targets":
        return ", ".join(value or [])
    return value


def read_number(text: str, what: str) -> float:
    try:
        return float(str(text).strip())
    except ValueError:
        raise HuggingTweetsError(f"{what} must be a number like 1e-4, got {str(text).strip()!r}.") from None


class WidgetProgress(TrainCallback):
    """Moves the step's bar, status line and loss plot (called from the training thread).

    It starts from ``log``: on Resume, what the run logged before it stopped, so the plot
    and the status line carry on from there instead of starting empty.
    """

    def __init__(self, step: "TrainStep", log: Optional[RunLog] = None):
        log = log or RunLog()
        self.step = step
        self.train: list[tuple[int, float]] = list(log.train)
        self.held_out: list[tuple[int, float]] = list(log.held_out)
        self.max_steps = log.max_steps
        self.last = None  # the latest TrainState
        self._shown = 0.0

    def on_begin(self, state):
        self.max_steps = state.max_steps
        self.step.show_progress(state.step, state.max_steps)
        self._status(state, force=True)

    def on_step(self, state):
        self.step.show_progress(state.step, state.max_steps)
        self._status(state, force=state.step >= state.max_steps)

    def on_log(self, state, logs):
        # a run resumed from an older checkpoint logs those steps again: the new values replace them
        self.train = [p for p in self.train if p[0] < state.step] + [(state.step, float(logs["loss"]))]
        self._draw()
        self._status(state, force=True)

    def on_evaluate(self, state, metrics):
        if "eval_loss" in metrics:
            self.held_out = [p for p in self.held_out if p[0] < state.step] + [(state.step, float(metrics["eval_loss"]))]
            self._draw()

    def on_save(self, state, checkpoint):
        self.step.show_saved(f"checkpoint saved at step {state.step}")

    def _draw(self):
        self.step.show_loss(self.train, self.held_out, self.max_steps)

    def _status(self, state, force=False):
        self.last = state
        now = time.monotonic()
        if force or now - self._shown > 0.25:  # a fast GPU does many steps a second: spare the frontend
            self._shown = now
            loss_step, loss = self.train[-1] if self.train else (None, None)  # the latest logged, and when
            text = plot.progress_line(state.step, state.max_steps, state.epoch, loss, state.eta, state.elapsed, loss_step)
            self.step.show_progress(state.step, state.max_steps, text)


class TrainStep(Step):
    """Settings → ``Train Neural Network`` (in a thread) with Stop, progress, loss plot and result."""

    PARTS = (*Step.PARTS, "fields", "preset", "resume", "overwrite", "resume_note", "all_gpus", "saved", "plot", "summary", "keep_note", "estimate")

    title = "Train the model"

    @property
    def hint(self) -> str:
        """With what this machine's CPU learns in its recipe (read when the step is drawn)."""
        return f"Pick a model and press Train. On a CPU, {cpu_note()}"

    help = HELP
    waits_for = ("dataset",)

    # --- building -------------------------------------------------------------------------
    def _build(self) -> None:
        self._run: Optional[TrainingRun] = None
        self.result = None  # the last TrainResult
        self.error: Optional[BaseException] = None  # the last unexpected failure, for debugging

        defaults = train_defaults(self._session.demo)
        helps, hints = field_help(TrainConfig), typing.get_type_hints(TrainConfig)
        self._fields = {
            f.name: field_widget(f.name, getattr(defaults, f.name), hints[f.name], helps.get(f.name, ""))
            for f in dataclasses.fields(TrainConfig)
        }
        self._fields["output_dir"].continuous_update = False  # the folder is read when the typing is done
        if self._session.workspace is not None:  # W&B would log to the server's account: never for a visitor
            tracker = self._fields["report_to"]
            tracker.value, tracker.disabled = False, True
            tracker.tooltip = "Off on a shared server: runs would be logged to the server's own W&B account."
        self._preset = widgets.Dropdown(options=[(f"{name}: {trade}", name) for name, trade in PRESET_TRADES.items()], value="best",
                                        description="Preset", tooltip="What the recipe trades: time against how closely it fits the posts",
                                        style=WIDE, layout=widgets.Layout(width="470px", display="none" if self._session.demo else ""))
        self._resume = widgets.Checkbox(description="Resume the unfinished run", indent=False, disabled=True, layout=widgets.Layout(width="auto"))
        self._resume.tooltip = "Continue the run saved in the folder, with its own settings and tweets."
        self._overwrite = widgets.Checkbox(description="Replace what is in the folder", indent=False, disabled=True, layout=widgets.Layout(width="auto"))
        self._overwrite.tooltip = "Train again from the start; the model there stays until the new one is saved."
        self._resume_note = widgets.HTML("")
        gpus = machine().gpus
        # Several GPUs (Kaggle's 2 x T4): train on all of them, in one process each (accelerate's notebook launcher).
        self._all_gpus = widgets.Checkbox(
            value=gpus > 1, description=f"Train on every GPU ({gpus})", indent=False,
            tooltip="One process per GPU, started from this notebook; untick to train on one GPU in this kernel.",
            layout=widgets.Layout(width="auto", display=None if gpus > 1 else "none"))
        self.button = widgets.Button(description="Train Neural Network", icon="play", button_style="primary", layout=widgets.Layout(width="auto"))
        self.stop_button = widgets.Button(description="Stop", icon="stop", disabled=True, tooltip="Save a checkpoint and stop; resume later")
        self._progress.layout.width = "300px"
        self._saved = widgets.Label("").add_class("ht-line")
        self._plot = widgets.HTML("", layout=widgets.Layout(width="100%", max_width="780px"))
        self._summary = widgets.HTML("")
        self._keep_note = widgets.HTML("")
        self._estimate = widgets.HTML("")  # the time the loaded posts will take with these settings
        self.estimate_button = widgets.Button(description="How long will it take?", icon="clock-o", layout=widgets.Layout(width="auto", display="none"),
                                              tooltip="Times a few training steps on this machine (the first time), then says how long these posts take")
        self._estimating = 0  # the latest estimate asked for: an older one's answer is dropped
        self._auto_model = defaults.model  # what the app picked (for the machine, then for the posts' language)
        self._auto_folder = str(Path(self._session.root) / Path(defaults.output_dir).name)  # named by the app, not by hand
        self._fields["output_dir"].value = self._session.folder = self._auto_folder

    def _layout(self) -> None:
        f = self._fields
        sections = []
        for title, why, names in advanced_groups(f):
            grid = widgets.GridBox([f[n] for n in names], layout=widgets.Layout(
                grid_template_columns="repeat(auto-fill, minmax(240px, 1fr))", grid_gap="4px 12px"))
            sections += [widgets.HTML(f"<b>{render.esc(title)}</b> · <span class='ht-why'>{render.esc(why)}</span>").add_class("ht-line"), grid]
        accordion = widgets.Accordion([widgets.VBox(sections)], titles=("Advanced",), selected_index=None)
        self.frame([
            row(f["model"], f["output_dir"]),
            self._preset,
            row(f["epochs"], f["learning_rate"], f["batch_size"], f["lora"]),
            accordion,
            row(self._resume, self._overwrite, self._resume_note),
            self._all_gpus,
            row(self.button, self.stop_button, self.estimate_button),
            self._keep_note,
            self._estimate,
            row(self._progress, self._status, self._saved),
        ], [self._plot, self._summary])

    def _wire(self) -> None:
        self.button.on_click(self._on_train)
        self.stop_button.on_click(self._on_stop)
        self._fields["output_dir"].observe(self._on_folder_box, names="value")
        self._fields["save_steps"].observe(self._show_keep_note, names="value")
        self._resume.observe(self._on_resume, names="value")
        self._overwrite.observe(self._on_overwrite, names="value")
        self._session.observe(self._on_dataset, names="dataset")
        self._session.observe(self._show_folder, names="folder")
        self._applied: dict = {}  # the model's own recipe as set in the boxes, until a person changes one
        self._fields["model"].observe(self._on_model_box, names="value")
        self._preset.observe(self._on_preset, names="value")
        self._on_model_box()
        self.estimate_button.on_click(lambda _: self.attempt("The estimate failed", self._on_estimate, self._estimate))
        self._fields["model"].observe(self._ask_estimate, names="value")
        self._preset.observe(self._ask_estimate, names="value")
        self._show_folder()

    # --- the config ----------------------------------------------------------------------
    def config_from_widgets(self) -> TrainConfig:
        """The TrainConfig the widgets describe; a HuggingTweetsError names a bad value."""
        values = {name: w.value for name, w in self._fields.items()}
        values["model"] = str(values["model"]).strip()
        values["output_dir"] = str(values["output_dir"]).strip()
        space = self._session.workspace
        if space is not None:  # a visitor: their own folders and models, and no tracking on the server's account
            values["output_dir"] = str(space.confine(values["output_dir"], "The model folder"))
            values["model"] = space.model(values["model"])
            values["report_to"] = False
        values["learning_rate"] = read_number(values["learning_rate"], "learning rate")
        values["report_to"] = WANDB if values["report_to"] else "none"
        values["lora_targets"] = [t.strip() for t in values["lora_targets"].split(",") if t.strip()] or None
        return TrainConfig.from_dict(values)

    # --- what the step shows: the folder it names ------------------------------------------
    def show_loss(self, train, held_out, max_steps: int) -> None:
        self._plot.value = plot.loss_svg(train, held_out, max_steps)

    def show_saved(self, text: str) -> None:
        self._saved.value = text

    def _baseline(self) -> TrainConfig:
        """The settings the preset gives, before the model's own recipe."""
        return TrainConfig().replace(**PRESETS[self._preset.value])

    def _on_preset(self, _=None) -> None:
        """The preset's settings in their boxes, then the model's own recipe over them."""
        base = self._baseline()
        preset_fields = {k for preset in PRESETS.values() for k in preset}
        for name in preset_fields:
            self._fields[name].value = _shown(name, getattr(base, name))
        self._applied = {k: v for k, v in self._applied.items() if k not in preset_fields}  # those were just set again
        self._apply_recipe()

    def _on_model_box(self, _=None) -> None:
        """The model's own recipe (Gemma 3: one epoch, embeddings kept) in the boxes a person has
        not changed; the last model's recipe taken back from them first."""
        base = self._baseline()
        for name, value in self._applied.items():
            box = self._fields[name]
            if box.value == value:  # still as the recipe set it
                box.value = _shown(name, getattr(base, name))
        self._applied = {}
        self._apply_recipe()

    def _apply_recipe(self) -> None:
        if self._session.demo:
            return  # the demo's recipe is its own
        base = self._baseline()
        for name, value in recipe_for(str(self._fields["model"].value)).items():
            box = self._fields.get(name)
            if box is not None and name not in self._applied and box.value == _shown(name, getattr(base, name)):
                box.value = self._applied[name] = _shown(name, value)

    def _on_folder_box(self, change) -> None:
        typed, refused = change["new"].strip(), ""
        if typed and self._session.workspace is not None:  # a visitor: only folders of their own
            try:
                typed = str(self._session.path(typed, "The model folder"))
            except HuggingTweetsError as err:
                typed, refused = "", str(err)
        self._session.folder = typed
        if refused:
            self._message.value = render.message("error", refused)

    def _ask_estimate(self, _=None) -> None:
        """Posts, model or preset changed: the last figure no longer holds."""
        self._estimating += 1
        ready = self._session.dataset is not None and not self._session.demo
        self.estimate_button.layout.display = "" if ready else "none"
        self._estimate.value = ""

    def _on_estimate(self, _=None) -> None:
        """How long the loaded posts will take with the settings shown: worked out here, in the
        kernel's own thread (a probe of a few steps the first time on this machine). Never in a
        thread beside another: loading a model patches torch globally while it runs."""
        dataset = self._session.dataset
        if dataset is None or self.running:
            return
        config = self.config_from_widgets()
        if config.tiny:
            self.say("info", "The tiny model trains in moments: nothing to estimate.", self._estimate)
            return
        self._estimate.value = render.message("info", "Estimating the training time (a few steps)…")
        self.estimate_button.disabled = True
        try:
            found = estimate_time(config, dataset)
        finally:
            self.estimate_button.disabled = False
        offer = found.offer(self._preset.value) if found else ""
        self._estimate.value = render.message("info", found.line() + (f" {offer[:-1]}: choose it in Preset." if offer else "")) if found else ""

    def _on_dataset(self, change) -> None:
        self._use_dataset(change["new"])
        self._ask_estimate()  # after the model box follows the posts' language

    def _use_dataset(self, dataset) -> None:
        """New authors: their own folder, unless the one chosen by hand is empty or theirs already."""
        if dataset is None:
            return
        box = self._fields["model"]
        if not self._session.demo and box.value in (self._auto_model, ""):  # not chosen by hand: pick for these posts
            box.value = self._auto_model = model_for(dataset)
        current = self._session.folder
        if current and current != self._auto_folder and folder_state(current).trained_on() in (None, dataset.slug):
            return
        self._auto_folder = str(folder_for(self._session.root, dataset))
        self._fields["output_dir"].value = self._auto_folder

    def _show_folder(self, _=None) -> None:
        """Draw what the folder holds: its run's or its model's losses, or nothing."""
        self._refresh_resume()
        self._show_keep_note()
        if self.running:
            return
        folder = self._session.folder
        log = folder_state(folder).log() if folder else RunLog()
        self._message.value = self._summary.value = self._saved.value = ""
        self.button.button_style = "primary"
        if log.empty:
            self._plot.value = ""
            self.reset_progress()
            return
        self.show_loss(log.train, log.held_out, log.max_steps)
        loss_step, loss = log.last_loss or (None, None)
        finished = log.finished
        self.show_progress(log.step, max(log.max_steps, 1), plot.saved_line(log.step, log.max_steps, loss, loss_step, finished))
        self._progress.bar_style = "success" if finished else "info"
        if log.metrics:
            m = log.metrics
            self._summary.value = render.train_summary(m, folder, bool(m.get("stopped")) and log.running, None)

    def _show_keep_note(self, _=None) -> None:
        """In Colab, beside the Train button: what a disconnect keeps and how to resume."""
        if self._session.place != "colab":
            return
        name = Path(self._session.folder or "model").name
        text = COLAB_NOTE.format(save_steps=self._fields["save_steps"].value, name=name, data=self.ref("data"))
        self._keep_note.value = render.message("info", text)

    def _refresh_resume(self) -> None:
        """What the folder holds decides the choices: resume a run, replace a model, or neither."""
        state = folder_state(self._session.folder or self._session.root)
        self._resume.disabled = not state.can_resume or self._session.busy
        self._overwrite.disabled = not state.can_replace or self._session.busy
        if not state.can_resume:
            self._resume.value = False
        if not state.can_replace:
            self._overwrite.value = False
        if state.can_resume:
            self._resume.value = not self._overwrite.value
            where = f" ({state.checkpoint.name})" if state.checkpoint else ""
            note = f"An unfinished run is in this folder{where}: resume it, or tick Replace to start over."
        elif state.can_replace:
            note = "A trained model is in this folder: tick Replace to train a new one over it, or choose another folder."
        else:
            note = ""
        self._resume_note.value = f'<span class="ht-note">{render.esc(note)}</span>' if note else ""

    def _on_resume(self, change) -> None:
        """Resuming continues the saved run as it was: show its settings."""
        if change["new"]:
            saved = saved_run_config(self._session.folder)
            if saved is not None:
                self._show_config(saved)
            self._overwrite.value = False

    def _on_overwrite(self, change) -> None:
        if change["new"]:
            self._resume.value = False

    def _show_config(self, config: TrainConfig) -> None:
        for name, w in self._fields.items():
            if name != "output_dir":
                w.value = _shown(name, getattr(config, name))

    # --- training ------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._run is not None and self._run.running

    def busy_widgets(self) -> list:
        return []  # this step is what makes the session busy: ``_set_running`` turns its own widgets off

    def _on_train(self, _=None) -> None:
        if self.running:
            return
        self._message.value = self._summary.value = ""
        self.attempt("Training failed", self._start)

    def _start(self) -> None:
        config = self.config_from_widgets()
        self._session.check_room("training")
        check_model(config.model)
        resume = self._resume.value and not self._resume.disabled
        if not resume and self._session.dataset is None:
            raise HuggingTweetsError(f"Download the posts in {self.ref('data')} first.")
        overwrite = self._overwrite.value and not resume
        gpus = machine().gpus
        processes = gpus if self._all_gpus.value and gpus > 1 else 1
        run = TrainingRun(config, None if resume else self._session.dataset, [], resume=resume, overwrite=overwrite,
                          processes=processes).check()  # a refusal comes now, before anything changes on screen
        self.result, self.error = None, None
        log = folder_state(config.output_dir).log() if resume else RunLog()  # Resume: the plot carries on from the saved run
        progress = WidgetProgress(self, log)
        before = self._plot.value  # put back if the run is refused before its first step
        self.reset_progress("Preparing the model and data…", visible=True)
        note = "" if resume else model_language_note(config.model, self._session.dataset)
        if note:
            self._message.value = render.message("warning", note)
        self.show_progress(log.step, max(log.max_steps, 1))
        self._saved.value = ""
        self.show_loss(log.train, log.held_out, log.max_steps)
        self.button.button_style = ""
        quiet_libraries()
        run.callbacks.append(progress)
        self._set_running(True)
        self._run = run
        self._watch(run, progress, before)

    def _watch(self, run: TrainingRun, progress: "WidgetProgress", before: str = "") -> None:
        """Start the run; a helper thread shows its end (result or one-line error)."""

        def finish() -> None:
            run.wait()
            try:
                _free_gpu_memory()
            finally:
                # the choices (Resume, Replace, Train) are right before the end is said, so a
                # person (or a test) acting on "Stopped" finds them ready
                self._set_running(False)
                self._refresh_resume()
            if run.error is not None:
                self.error = run.error
                self.fail(render.error_text(run.error, "Training failed"))
                self._progress.bar_style = "danger"
                if progress.last is None:  # refused before a step: no "Preparing…" left, the earlier plot back
                    self.reset_progress()
                    self._plot.value = before
            else:
                self.result = run.result
                self._show_result(run.result, progress)

        try:
            run.start()
        except BaseException:
            self._set_running(False)
            raise
        self._finisher = threading.Thread(target=finish, name="huggingtweets-train-watch", daemon=True)
        self._finisher.start()

    def _show_result(self, result, progress: WidgetProgress) -> None:
        m = result.metrics
        if not result.stopped:
            self._progress.value = self._progress.max
        self._progress.bar_style = "info" if result.stopped else "success"
        self.button.button_style = "success"
        if progress.last is not None:
            progress._status(progress.last, force=True)
        note = choices(gpu=False).no_held_out if m.get("eval_tweets") == 0 else ""
        self._summary.value = render.train_summary(m, str(result.output_dir), result.stopped, result.wandb_url, note)
        self._session.trained += 1  # a new model in the folder: steps 3 and 4 start from it

    def _set_running(self, running: bool) -> None:
        """While training: Stop on; Train, the settings and steps 1 and 3 off (no double runs)."""
        self.button.disabled = running
        self.stop_button.disabled = not running
        self._resume.disabled = self._overwrite.disabled = self._all_gpus.disabled = running
        for w in self._fields.values():
            w.disabled = running
        self._session.busy = running

    def _on_stop(self, _=None) -> None:
        if self.running:
            self._run.stop()
            self.stop_button.disabled = True
            self._saved.value = "stopping after this step: saving a checkpoint…"

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Until the training run and the showing of its end are done; True when it is."""
        finisher = getattr(self, "_finisher", None)
        if finisher is not None:
            finisher.join(timeout)
            return not finisher.is_alive()
        return True

def _free_gpu_memory() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # generation loads the model again
    except Exception:
        pass
