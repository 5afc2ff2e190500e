"""The app's steps as one registry over one session: numbering, what each step shows after
another step changes the session, the loss plot rebuilt from a folder's log, and messages
in the app's own words. Widgets are driven as in tests/test_ui.py: set, click, assert."""

import html
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")

import ipywidgets as widgets  # noqa: E402

from huggingtweets.config import TrainConfig  # noqa: E402
from huggingtweets.workflow import demo_config  # noqa: E402
from huggingtweets.errors import HuggingTweetsError  # noqa: E402
from huggingtweets.ui import App, Session, Step, plot, render  # noqa: E402
from huggingtweets.ui import app as app_module  # noqa: E402
from huggingtweets.folder_state import folder_state  # noqa: E402
import app_driver as driver  # noqa: E402

UI = Path(__file__).resolve().parents[1] / "huggingtweets" / "ui"
PACKAGE = UI.parent
STEP_MODULES = ["data_step.py", "train_step.py", "generate_step.py", "share_step.py"]
FAST = dict(max_steps=6, block_size=32, batch_size=8, logging_steps=2, save_steps=100)


def fast(app, **changes):
    driver.fast(app, FAST, **changes)




def train_points(svg: str) -> list[str]:
    m = re.search(r'class="ht-loss-train"[^>]*points="([^"]+)"', svg)
    return m.group(1).split() if m else []


def text_file(folder: Path, name: str, n: int = 300) -> Path:
    words = "the lamp is lit and the bread is rising while gulls argue about crusts on the rail at dawn".split()
    lines = [" ".join(words[(i + k) % len(words)] for k in range(8 + i % 7)) + f" day {i}" for i in range(n)]
    path = folder / name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def app(tmp_path):
    return App(demo="tiny", output_dir=tmp_path)


# --- the registry ------------------------------------------------------------------------------
def test_steps_are_numbered_by_their_place_in_the_list(app):
    names = [name for name, _ in app_module.STEPS]
    assert names == ["data", "train", "generate", "share"]
    assert [step.number for step in app.steps] == [1, 2, 3, 4]
    for number, (name, kind) in enumerate(app_module.STEPS, 1):
        step = getattr(app, name)
        assert isinstance(step, kind) and isinstance(step, Step) and step in app.steps
        assert f'<div class="ht-step-title">{number} · {step.title}</div>' in step.children[1].value
    assert app.session.numbers == {"data": 1, "train": 2, "generate": 3, "share": 4}
    assert "raw" not in Session.class_trait_names()


def test_a_fifth_step_is_a_module_and_a_line(monkeypatch, tmp_path):
    class ExportStep(Step):
        title = "Export GGUF"
        hint = "Write the model as a GGUF file."
        help = ("Help: GGUF", "For llama.cpp.")

        def _build(self):
            self.button = widgets.Button(description="Export")

        def _layout(self):
            self.frame([self.button])

    monkeypatch.setattr(app_module, "STEPS", app_module.STEPS + (("export", ExportStep),))
    app = App(demo="tiny", output_dir=tmp_path)
    assert app.export.number == 5 and app.steps[-1] is app.export
    assert "5 · Export GGUF" in app.export.children[1].value and "For llama.cpp." in app.export.children[2].value
    assert app.export.ref("train") == "step 2"
    app.session.busy = True  # the skeleton's busy state: its button is off while training runs
    assert app.export.button.disabled
    app.session.busy = False
    assert not app.export.button.disabled


def test_step_modules_name_no_step_number_and_touch_no_other_step():
    for name in STEP_MODULES:
        source = (UI / name).read_text(encoding="utf-8")
        code = re.sub(r'""".*?"""', "", source, flags=re.S)  # docstrings may say "step 2"
        assert not re.search(r"\bstep [1-9]\b", code), f"{name} names a step by a literal number"
        assert not re.search(r"\bapp\.\w+|\b(?:data|train|generate|share)\._", code), f"{name} reaches into another step"
        for other in STEP_MODULES:
            if other != name:
                assert f"from .{other[:-3]} import" not in code, f"{name} imports {other}"


def test_a_step_failure_is_one_line_with_the_secret_blanked(app):
    step = app.generate

    def boom():
        raise RuntimeError("token abc123 refused\nTraceback ...")

    assert not step.attempt("It failed", boom, secret="abc123")
    assert "It failed (RuntimeError): token *** refused" in step.part("message").value and "Traceback" not in step.part("message").value
    assert step.button.button_style == "danger"
    step.clear_error()
    assert step.part("message").value == "" and step.button.button_style == "primary"
    with pytest.raises(KeyboardInterrupt):
        step.attempt("It failed", lambda: (_ for _ in ()).throw(KeyboardInterrupt()))


# --- newcomer items --------------------------------------------------------------------------------
@pytest.mark.parametrize("bf16_cpu", [True, False])
def test_defaults_are_the_clis_recipe_and_the_header_describes_the_demos(monkeypatch, tmp_path, bf16_cpu):
    import torch

    from huggingtweets import pretrained, training

    if torch.cuda.is_available():
        pytest.skip("the CPU's recipe and header; a GPU host shows its own")
    monkeypatch.setattr(pretrained, "has_gpu", lambda: False)
    monkeypatch.setattr(training, "_has_accelerator", lambda: False)
    monkeypatch.setattr(training, "cpu_has_bf16", lambda: bf16_cpu)  # no bf16: the one-epoch fp32 recipe
    for env in ("HUGGINGTWEETS_DEMO",):
        monkeypatch.delenv(env, raising=False)
    app = App(output_dir=tmp_path)  # not a demo, on a CPU: the pretrained model, in the CLI's recipe
    recipe, default = demo_config(), TrainConfig()
    config = app.train.config_from_widgets()
    fields = ("epochs", "learning_rate", "warmup", "batch_size", "lr_scheduler", "within_post", "keep_best")
    assert config.model == recipe.model and [getattr(config, f) for f in fields] == [getattr(default, f) for f in fields]
    assert recipe.epochs == (2 if bf16_cpu else 1)
    assert Path(config.output_dir).name == TrainConfig().output_dir
    epochs = f"{recipe.epochs:g} epoch" + ("s" if recipe.epochs != 1 else "")
    promise = f"smollm2-135m (pretrained, {epochs}) learns the sample in about 2 minutes"
    assert promise in html.unescape(app.header.value) and promise in html.unescape(app.train.children[1].value)
    demo = App(demo="1", output_dir=tmp_path)
    assert demo.train.config_from_widgets().epochs == recipe.epochs and demo.train.part("fields")["model"].value == recipe.model


# The command line's own modules: train's words, and the batch (which the app does not run).
CLI_ONLY = {"cli.py", "arguments.py", "batch_line.py", "batch_ray.py", "batches.py", "processes.py"}


def test_library_flags_are_named_as_the_apps_controls():
    """Every ``--flag`` a library message can name has the app's words (render.APP_FLAGS)."""
    flags = set()
    for path in PACKAGE.rglob("*.py"):
        if path.name in CLI_ONLY or "ui" in path.relative_to(PACKAGE).parts:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip().startswith("#"):
                flags |= set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line))
    flags -= {"--help"}  # in a docstring about the CLI
    assert flags - set(render.APP_FLAGS) - render.NOT_APP_FLAGS == set()


@pytest.mark.parametrize(("cli", "app_words"), [
    ("x holds an unfinished run: add --resume to continue it, or --overwrite to start over.",
     "x holds an unfinished run: tick 'Resume the unfinished run' to continue it, or 'Replace what is in the folder' to start over."),
    ("x holds a trained model: add --overwrite to replace it (it stays until the new one is saved), or choose another folder.",
     "x holds a trained model: tick 'Replace what is in the folder' to replace it (it stays until the new one is saved), or choose another folder."),
    ("The model in x is incomplete (its save was interrupted): resume with 'huggingtweets train --output x --resume', or train again with --overwrite.",
     "The model in x is incomplete (its save was interrupted): tick 'Resume the unfinished run' and press Train Neural Network, "
     "or tick 'Replace what is in the folder' and train again."),
    ("Rename a file to its author's handle, or give one file at a time with --author HANDLE.",
     "Rename a file to its author's handle, or download one file at a time with its author in 'Author handle (for a file without one)'."),
    ("fp16 training needs a GPU: use --precision auto or fp32 on this machine.",
     "fp16 training needs a GPU: set Precision to auto or fp32 (Advanced) on this machine."),
])
def test_messages_in_the_apps_words(cli, app_words):
    assert render.in_app(cli) == app_words
    assert render.error_text(HuggingTweetsError(cli), "x") == app_words


def test_the_help_names_the_author_box_not_a_flag(app):
    help_text = html.unescape(app.data.children[2].value)
    assert "--author" not in help_text and "Author handle (for a file without one)" in help_text


def test_the_status_line_says_which_step_the_loss_is_from():
    assert plot.progress_line(9, 11, 0.8, 5.063, 12, 30, loss_step=5) == "step 9/11 · epoch 0.80 · loss 5.063 (step 5) · elapsed 0:30 · ETA 0:12"
    assert plot.progress_line(10, 11, 0.9, 4.9, 6, 33, loss_step=10) == "step 10/11 · epoch 0.90 · loss 4.900 · elapsed 0:33 · ETA 0:06"
    assert plot.saved_line(3, 11, 5.1, 2, finished=False) == "saved at step 3/11 · loss 5.100 (step 2)"
    assert plot.saved_line(11, 11, None, None, finished=True) == "finished at step 11"


def walk(widget):
    yield widget
    for child in getattr(widget, "children", ()) or ():
        yield from walk(child)


def test_notes_and_status_lines_wrap_on_a_narrow_page(app):
    """ipywidgets' Label is one line, cut off with "…" where the page ends (600 px wide, say):
    every Label of the steps carries the class that lets it wrap; the resume note is HTML."""
    labels = [w for step in app.steps for w in walk(step) if isinstance(w, widgets.Label)]
    assert labels and all("ht-line" in driver.classes(w) for w in labels)
    assert isinstance(app.train.part("resume_note"), widgets.HTML)
    assert ".ht-line" in app.train.children[0].value and "white-space: normal" in app.train.children[0].value


# --- step 1: a file without an account ---------------------------------------------------------------
def test_the_author_box_names_a_files_author(app, tmp_path):
    notes = text_file(tmp_path, "kelp notes.txt")
    app.data.part("sample").value = False
    app.data.files.path.value = str(notes)
    app.data.button.click()
    message = html.unescape(app.data.part("message").value)
    assert app.dataset.handles == ["kelp notes"]
    assert "@kelp notes is taken from the file name 'kelp notes.txt': type their handle in" in message
    assert "Author handle (for a file without one)" in message
    app.data.files.author.value = "@kelp_keeper"
    app.data.button.click()
    assert app.dataset.handles == ["kelp_keeper"] and "is taken from" not in app.data.part("message").value
    assert app.train.part("fields")["output_dir"].value == str(tmp_path / "kelp_keeper")


# --- one session state: other authors, another folder ----------------------------------------------
@pytest.fixture(scope="module")
def switched(tmp_path_factory):
    """An app that trained and wrote tweets for the sample, then downloaded a text file's author."""
    root = tmp_path_factory.mktemp("switch")
    app = App(demo="tiny", output_dir=root)
    app.data.button.click()
    fast(app)
    app.train.button.click()
    assert app.wait(timeout=600) and app.train.result is not None, app.train.part("message").value
    app.generate.part("n").value = 2
    app.generate.button.click()
    assert len(app.session.tweets) == 2, app.generate.part("message").value
    before = {"plot": app.train.part("plot").value, "summary": app.train.part("summary").value}
    app.data.part("sample").value = False
    app.data.files.path.value = str(text_file(root, "kelp.txt"))
    app.data.button.click()
    assert app.data.button.button_style == "success", app.data.part("message").value
    return app, root, before


@pytest.mark.slow
def test_other_authors_reset_steps_2_to_4(switched):
    app, root, before = switched
    assert "ht-loss-train" in before["plot"] and "Held-out loss" in before["summary"]
    assert app.train.part("fields")["output_dir"].value == str(root / "kelp") == app.session.folder
    assert app.train.part("plot").value == "" and app.train.part("summary").value == "" and app.train.part("status").value == ""
    assert app.train.part("progress").layout.visibility == "hidden"
    assert app.train.part("resume_note").value == "" and app.train.part("overwrite").disabled
    assert app.generate.part("results").value == "" and app.session.tweets == []
    assert app.share.part("picks_box").children[0].value == "Write tweets in step 3 to choose some here."
    assert app.share.part("repo").placeholder == "kelp" and app.share.part("image").layout.display == "none"


@pytest.mark.slow
def test_authors_with_a_trained_folder_get_it_back(switched):
    app, root, _ = switched
    app.data.files.path.value = ""
    app.data.part("sample").value = True
    app.data.button.click()
    step = app.train
    assert step.part("fields")["output_dir"].value == str(root / "wren_lighthouse")
    assert "A trained model is in this folder" in step.part("resume_note").value and not step.part("overwrite").disabled
    assert step.part("plot").value.count('class="ht-loss-eval-point"') == 2  # held-out before and after, from metrics.json
    assert "Held-out loss" in step.part("summary").value and step.part("status").value == "finished at step 6"
    app.generate.button.click()  # the model there writes at once
    assert len(app.session.tweets) == app.generate.part("n").value and app.generate.part("message").value == ""


def test_a_folder_typed_by_hand_is_kept_for_its_own_authors(app, tmp_path):
    mine = tmp_path / "drive" / "my-model"
    app.train.part("fields")["output_dir"].value = str(mine)  # chosen before any download: empty, so kept
    app.data.button.click()
    assert app.train.part("fields")["output_dir"].value == str(mine)
    mine.mkdir(parents=True)
    (mine / "train_config.json").write_text("{}")
    (mine / "dataset.json").write_text(json.dumps({"authors": [{"author": {"handle": "someone_else"}}]}))
    assert folder_state(mine).trained_on() == "someone_else"
    app.data.button.click()  # another author's model is there: the sample's own folder instead
    assert app.train.part("fields")["output_dir"].value == str(tmp_path / "wren_lighthouse")


# --- the loss plot from a folder's log -----------------------------------------------------------------
def write_run(folder: Path, step: int, losses: dict, evals: dict, before: float, max_steps: int = 10) -> None:
    """A run stopped at ``step``: its config, its held-out loss before, one whole checkpoint."""
    run = folder / "checkpoints"
    checkpoint = run / f"checkpoint-{step}"
    checkpoint.mkdir(parents=True)
    (run / "train_config.json").write_text(json.dumps(TrainConfig(model="tiny").to_dict()))
    (run / "eval_before.json").write_text(json.dumps({"eval_loss": before}))
    history = [{"loss": v, "step": s} for s, v in losses.items()] + [{"eval_loss": v, "step": s} for s, v in evals.items()]
    (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": step, "max_steps": max_steps, "epoch": 0.5, "log_history": history}))
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    (checkpoint / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + b"\0\0\0\0")


def test_read_log_of_a_stopped_run(tmp_path):
    write_run(tmp_path, 5, {1: 7.4, 2: 7.1, 4: 6.0}, {3: 6.5}, before=7.5)
    log = folder_state(tmp_path).log()
    assert log.train == [(1, 7.4), (2, 7.1), (4, 6.0)] and log.held_out == [(0, 7.5), (3, 6.5)]
    assert (log.step, log.max_steps, log.running, log.last_loss) == (5, 10, True, (4, 6.0))
    assert folder_state(tmp_path / "nothing").log().empty


def test_opening_a_folder_with_a_run_draws_its_log(app, tmp_path):
    folder = tmp_path / "elsewhere"
    write_run(folder, 5, {1: 7.4, 2: 7.1, 4: 6.0}, {}, before=7.5)
    app.train.part("fields")["output_dir"].value = str(folder)
    step = app.train
    assert len(train_points(step.part("plot").value)) == 3 and step.part("plot").value.count('class="ht-loss-eval-point"') == 1
    assert step.part("status").value == "saved at step 5/10 · loss 6.000 (step 4)"
    assert (step.part("progress").value, step.part("progress").max) == (5, 10)
    assert step.part("resume").value and "unfinished run" in step.part("resume_note").value
    app.train.part("fields")["output_dir"].value = str(tmp_path / "empty")
    assert step.part("plot").value == "" and step.part("status").value == "" and not step.part("resume").value


@pytest.mark.slow
def test_stop_then_resume_keeps_every_logged_step(app):
    app.data.button.click()
    fast(app)
    shown = []
    app.train.part("status").observe(lambda change: shown.append(change["new"]), names="value")
    app.train.button.click()
    app.train.stop_button.click()
    assert app.wait(timeout=600) and app.train.result.stopped
    assert len(train_points(app.train.part("plot").value)) == 1  # step 1's loss
    app.train.button.click()  # Resume is ticked: the plot starts from the saved run's log
    assert len(train_points(app.train.part("plot").value)) == 1
    assert app.wait(timeout=600) and not app.train.result.stopped
    logged = sorted({1} | set(range(FAST["logging_steps"], FAST["max_steps"] + 1, FAST["logging_steps"])))
    assert len(train_points(app.train.part("plot").value)) == len(logged)
    # The loss shown is a logged one, never older than one logging interval, and says its step when not the current one.
    for line in shown:
        m = re.fullmatch(r"step (\d+)/\d+ · epoch [\d.]+ · loss ([\d.]+|–)(?: \(step (\d+)\))?.*", line)
        if m and m.group(2) != "–":
            current, of = int(m.group(1)), int(m.group(3) or m.group(1))
            assert of in logged and 0 <= current - of <= FAST["logging_steps"], line
    assert "(step" not in app.train.part("status").value and app.train.part("status").value.startswith("step 6/6")


@pytest.mark.slow
def test_a_refused_run_leaves_the_plot_and_no_stale_status(app):
    """The training checks run before anything changes on screen: a refusal (here a precision
    this machine may lack, or a folder in the way) is one line, the earlier plot stays, and no
    "Preparing the model and data…" is left beside it."""
    app.data.button.click()
    fast(app)
    app.train.button.click()
    assert app.wait(timeout=600) and app.train.result is not None
    plot_before = app.train.part("plot").value
    assert train_points(plot_before)
    app.train.part("overwrite").value = False  # the folder holds the model just trained: training again must be asked for
    app.train.button.click()
    shown = app.train.part("message").value
    assert "ht-error" in shown and "--overwrite" not in shown, shown
    assert app.train.part("plot").value == plot_before and "Preparing" not in app.train.part("status").value


def test_advanced_is_grouped_with_a_line_that_says_why(app):
    import dataclasses

    from huggingtweets.config import TrainConfig
    from huggingtweets.ui.train_step import BASIC, advanced_groups

    names = [f.name for f in dataclasses.fields(TrainConfig)]
    groups = advanced_groups(names)
    placed = [n for _, _, fields in groups for n in fields]
    assert sorted(placed) == sorted(n for n in names if n not in BASIC) and len(placed) == len(set(placed))
    assert all(why.endswith(".") and len(why) > 20 for _, why, _ in groups)
    assert [t for t, _, _ in groups][:2] == ["Schedule", "Memory and speed"] and "Other" not in [t for t, _, _ in groups]
    assert advanced_groups(names + ["a_new_setting"])[-1] == ("Other", "Settings without a group yet.", ["a_new_setting"])
    shown = [w for w in walk(app.train) if isinstance(w, widgets.HTML) and "ht-why" in w.value]
    assert len(shown) == len(groups)


@pytest.mark.parametrize("case", ["bf16 on a CPU without it", "a folder in the way", "resume of a finished run"])
def test_the_app_refuses_what_the_cli_refuses_before_any_model_loads(app, tmp_path, monkeypatch, case):
    """TrainingRun checks before its thread starts, for every view: the app gets the CLI's
    refusal in one line, and no model is loaded for it."""
    from huggingtweets import training
    from huggingtweets.folder import ModelFolder

    loaded = []
    monkeypatch.setattr(training, "load_model", lambda *a, **k: loaded.append(a) or (_ for _ in ()).throw(AssertionError("loaded")))
    app.data.button.click()
    fast(app)
    if case == "bf16 on a CPU without it":
        monkeypatch.setattr(training, "cpu_has_bf16", lambda: False)
        monkeypatch.setattr(training, "_has_accelerator", lambda: False)
        app.train.part("fields")["precision"].value = "bf16"
        says = "This CPU has no native bf16"
    elif case == "a folder in the way":
        theirs = tmp_path / "theirs"
        theirs.mkdir()
        (theirs / "notes.txt").write_text("mine", encoding="utf-8")
        app.train.part("fields")["output_dir"].value = str(theirs)
        says = "holds other files and is not a huggingtweets model folder"
    else:
        folder = Path(app.train.part("fields")["output_dir"].value)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text('{"model_type": "gpt2"}', encoding="utf-8")  # a finished model, as far as its files say
        (folder / "model.safetensors").write_bytes(b"x")
        (folder / "train_config.json").write_text("{}", encoding="utf-8")
        assert ModelFolder(folder).has_model() and not ModelFolder(folder).has_run()
        app.train.part("resume").disabled, app.train.part("resume").value = False, True  # as a stale tick would leave it
        says = "Nothing to resume in"
    app.train.button.click()
    shown = app.train.part("message").value
    assert "ht-error" in shown and says in shown, shown
    assert not loaded and not app.train.running and "Preparing" not in app.train.part("status").value
    if case == "a folder in the way":
        assert (tmp_path / "theirs" / "notes.txt").read_text() == "mine" and len(list((tmp_path / "theirs").iterdir())) == 1


def test_a_training_run_checks_before_its_thread_starts(tmp_path, monkeypatch):
    """Any caller of TrainingRun (a view, a batch line, a notebook) gets the refusal from start()."""
    from huggingtweets import training
    from huggingtweets.config import TrainConfig
    from huggingtweets.errors import HuggingTweetsError
    from huggingtweets.workflow import TrainingRun

    monkeypatch.setattr(training, "cpu_has_bf16", lambda: False)
    monkeypatch.setattr(training, "_has_accelerator", lambda: False)
    run = TrainingRun(TrainConfig(model="tiny", precision="bf16", output_dir=str(tmp_path / "bot")), None)
    with pytest.raises(HuggingTweetsError, match="no native bf16"):
        run.start()
    assert run._thread is None and not (tmp_path / "bot").exists()
