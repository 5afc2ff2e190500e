"""The widget app without a browser: set values, click, assert (ipyannotations style)."""

import datetime
import html
import re
import sys
import types

import pytest

pytest.importorskip("ipywidgets")

import ipywidgets as widgets  # noqa: E402

from huggingtweets.config import TrainConfig, field_help  # noqa: E402
from huggingtweets.errors import HuggingTweetsError  # noqa: E402
from huggingtweets.generation import GeneratedTweet  # noqa: E402
from huggingtweets.training import latest_checkpoint  # noqa: E402
from huggingtweets.ui import App, render  # noqa: E402
from huggingtweets.ui.app import gpu_note  # noqa: E402

FAST = dict(max_steps=6, block_size=32, batch_size=8, logging_steps=2, save_steps=4)
SAMPLE_ROWS = {"Tweets downloaded": 377, "Retweets": 20, "Short tweets": 15, "Tweets kept": 342}


def fast(app, **changes):
    for name, value in {**FAST, **changes}.items():
        app.train._fields[name].value = value


def table_numbers(html_table: str) -> dict:
    """{row label: [numbers...]} from the data table."""
    rows = re.findall(r"<tr><th>([^<]+)</th>(.*?)</tr>", html_table)
    return {label: [int(n) for n in re.findall(r"<td class=\"ht-num\">(\d+)</td>", cells)] for label, cells in rows if label != "Data"}


def all_widgets(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from all_widgets(child)


def upload(app, name: str, data: bytes):
    """Set the FileUpload value the way ipywidgets 8 stores what a browser sent."""
    app.data._upload.value = (
        {"name": name, "type": "text/plain", "size": len(data), "content": memoryview(data), "last_modified": datetime.datetime.now()},
    )


def tweet_lines(n: int) -> str:
    words = "the lamp is lit and the bread is rising while gulls argue about crusts on the rail at dawn".split()
    return "\n".join(" ".join(words[(i + k) % len(words)] for k in range(8 + i % 7)) + f" day {i}" for i in range(n))


@pytest.fixture
def app(tmp_path):
    return App(demo=True, output_dir=tmp_path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One app through steps 1 and 2 with the tiny model and tiny settings."""
    app = App(demo=True, output_dir=tmp_path_factory.mktemp("ui"))
    app.data.button.click()
    fast(app)
    app.train.button.click()
    assert app.wait(timeout=600)
    return app


# --- the contract ------------------------------------------------------------------------
def test_contract_and_demo_defaults(app, tmp_path):
    assert app.data.button.description == "Download tweets"
    assert app.train.button.description == "Train Neural Network"
    assert app.train.stop_button.description == "Stop" and app.train.stop_button.disabled
    assert app.generate.button.description == "Run predictions"
    for w in (app.header, app.data, app.train, app.generate):
        assert isinstance(w, widgets.DOMWidget)
    assert app.data._sample.value and not any(h.value for h in app.data._handles)
    assert app.train._fields["model"].value == "tiny"
    assert app.train.config_from_widgets().learning_rate == pytest.approx(2e-3)
    assert app.wait(timeout=1)  # nothing running


def test_demo_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HUGGINGTWEETS_DEMO", "1")
    monkeypatch.chdir(tmp_path)
    assert App().session.demo and App().data._sample.value
    monkeypatch.setenv("HUGGINGTWEETS_DEMO", "0")
    plain = App(output_dir=tmp_path)
    assert not plain.session.demo and not plain.data._sample.value
    assert plain.train._fields["model"].value == "gpt2"


def test_header_in_colab_without_gpu(monkeypatch, tmp_path):
    import torch

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    header = App(output_dir=tmp_path).header.value
    assert "Runtime → Change runtime type" in header and "tiny" in header


def test_gpu_notes():
    assert gpu_note(True, True)[0] == "success"
    kind, text = gpu_note(False, False)
    assert kind == "info" and "CPU" in text and "tiny" in text


# --- step 1 ------------------------------------------------------------------------------
def test_sample_download_fills_the_table(app, tmp_path):
    app.data.button.click()
    assert table_numbers(app.data._table.value) == {k: [v] for k, v in SAMPLE_ROWS.items()}
    assert "Wren &amp; the Lamp" in app.data._table.value  # display names are escaped
    assert "ht-examples" in app.data._examples.value
    assert app.data.button.button_style == "success" and not app.data.button.disabled
    assert app.dataset is not None and app.dataset.stats[0].kept == 342
    assert app.data._progress.value == app.data._progress.max
    assert app.train._fields["output_dir"].value == str(tmp_path / "wren_lighthouse")  # named after the author


def test_invalid_handle_shows_an_error(app):
    app.data._sample.value = False
    app.data._handles[0].value = "@@@"
    app.data.button.click()
    assert "Invalid X handle" in app.data._message.value and "ht-error" in app.data._message.value
    assert app.data.button.button_style == "danger" and not app.data.button.disabled
    assert app.dataset is None


def test_nothing_to_download(app):
    app.data._sample.value = False
    app.data.button.click()
    assert "Nothing to download" in app.data._message.value


def test_uploaded_text_file_is_written_then_counted(app, tmp_path):
    app.data._sample.value = False
    upload(app, "kelp notes.txt", tweet_lines(400).encode())
    saved = tmp_path / "uploads" / "kelp_notes.txt"
    assert saved.read_text().count("\n") == 399  # on disk before anything reads it
    assert app.data._upload.value == ()  # the kernel's copy is freed
    app.data.button.click()
    assert app.data.button.button_style == "success", app.data._message.value
    assert table_numbers(app.data._table.value)["Tweets downloaded"] == [400]
    assert app.dataset.handles == ["kelp_notes"]


def test_upload_names_cannot_leave_the_folder(app, tmp_path):
    upload(app, "../../evil.txt", b"x\n")
    assert (tmp_path / "uploads" / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_too_little_text_shows_counts_and_an_error(app):
    app.data._sample.value = False
    upload(app, "thin.txt", tweet_lines(20).encode())
    app.data.button.click()
    assert table_numbers(app.data._table.value)["Tweets kept"] == [20]
    assert "Not enough tweets" in app.data._message.value
    assert app.data.button.button_style == "danger" and app.dataset is None


def test_bearer_token_is_passed_but_never_shown(app, monkeypatch):
    token = "AAAAsecret-token-42"
    seen = {}

    def fake_load_sources(specs, options, sample, progress):
        seen["token"] = options.bearer_token
        progress(100, None, "page 1")
        raise HuggingTweetsError(f"X rejected the bearer token {options.bearer_token}: check it.")

    monkeypatch.setattr("huggingtweets.ui.data_step.load_sources", fake_load_sources)
    app.data._sample.value = False
    app.data._handles[0].value = "@jack"
    app.data._token.value = token
    app.data.button.click()
    assert seen["token"] == token
    assert "X rejected" in app.data._message.value
    for part in (app.header, app.data, app.train, app.generate):
        for w in all_widgets(part):
            if w is app.data._token:
                continue
            state = w.get_state()
            assert token not in repr(state), type(w).__name__


# --- step 2 ------------------------------------------------------------------------------
def test_train_before_data(app):
    app.train.button.click()
    assert "Download tweets in step 1 first" in app.train._message.value
    assert not app.train.running and not app.train.button.disabled


def test_every_config_field_has_a_widget_with_its_help(app):
    fields = app.train._fields
    assert set(fields) == set(TrainConfig.__dataclass_fields__)
    assert fields["learning_rate"].tooltip == field_help(TrainConfig)["learning_rate"]


def test_config_from_widgets_maps_widgets_to_fields(app, tmp_path):
    f = app.train._fields
    values = dict(model="distilgpt2", learning_rate="1e-4", epochs=2.5, batch_size=4, lora=True, block_size=64, warmup=0.1,
                  weight_decay=0.01, lr_scheduler="linear", precision="fp32", gradient_checkpointing=True, lora_rank=4, lora_alpha=8,
                  validation_fraction=0.2, save_steps=20, seed=7, report_to=True, lora_targets="c_attn, c_proj", output_dir=str(tmp_path / "m"))
    for name, value in values.items():
        f[name].value = value
    config = app.train.config_from_widgets()
    assert config == TrainConfig(
        model="distilgpt2", learning_rate=1e-4, epochs=2.5, batch_size=4, lora=True, block_size=64, warmup=0.1, weight_decay=0.01,
        lr_scheduler="linear", precision="fp32", gradient_checkpointing=True, lora_rank=4, lora_alpha=8, validation_fraction=0.2,
        save_steps=20, seed=7, report_to="wandb", lora_targets=["c_attn", "c_proj"], output_dir=str(tmp_path / "m"),
        logging_steps=5,  # the demo's other settings stay
    )


@pytest.mark.parametrize(("lr", "error"), [("abc", "must be a number"), ("5", "far too large"), ("-1e-4", "must be > 0")])
def test_invalid_learning_rate_shows_one_line(app, lr, error):
    app.data.button.click()
    app.train._fields["learning_rate"].value = lr
    with pytest.raises(HuggingTweetsError, match=error):
        app.train.config_from_widgets()
    app.train.button.click()
    assert html.escape(error) in app.train._message.value and not app.train.running
    assert app.train.button.button_style == "danger"


def test_training_finishes_with_progress_plot_and_summary(trained):
    step = trained.train
    assert step.error is None and step.result is not None, step._message.value
    assert step._progress.value == step._progress.max == 6
    assert re.fullmatch(r"step 6/6 · epoch [\d.]+ · loss [\d.]+ · ETA \d+:\d\d", step._status.value)
    train_points = re.search(r'class="ht-loss-train"[^>]*points="([^"]+)"', step._plot.value).group(1).split()
    assert len(train_points) >= 3
    assert step._plot.value.count('class="ht-loss-eval-point"') >= 2  # before and after
    assert "→" in step._summary.value and str(step.result.output_dir) in step._summary.value
    # a finished run: buttons back, resume offered but not ticked (training again starts over)
    assert not step.button.disabled and step.stop_button.disabled and not trained.data.button.disabled
    assert not step._resume.disabled and not step._resume.value


def test_stop_saves_a_checkpoint_and_ticks_resume(app):
    app.data.button.click()
    fast(app, save_steps=100)
    app.train.button.click()
    assert app.train.running and app.train.button.disabled and app.data.button.disabled and app.generate.button.disabled
    app.train.stop_button.click()  # stop after the first step
    assert app.wait(timeout=600)
    result = app.train.result
    assert result.stopped and latest_checkpoint(result.output_dir).name == "checkpoint-1"
    assert app.train._resume.value and "unfinished" in app.train._resume_note.value
    again = App(demo=True, output_dir=app.session.root)  # a new session (Colab reconnected) finds it too
    again.data.button.click()
    assert again.train._resume.value and not again.train._resume.disabled
    app.train.button.click()  # resume: finish the run
    assert app.wait(timeout=600)
    assert not app.train.result.stopped and app.train.result.metrics["global_step"] == 6
    assert app.train._progress.value == 6 and not app.train._resume.value


def test_unexpected_training_failure_is_one_line(app, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("CUDA out of memory.\nTried to allocate ...")

    monkeypatch.setattr("huggingtweets.training.fine_tune", boom)
    app.data.button.click()
    app.train.button.click()
    assert app.wait(timeout=60)
    assert "Training failed (RuntimeError): CUDA out of memory." in app.train._message.value
    assert "Tried" not in app.train._message.value
    assert app.train.button.button_style == "danger" and not app.train.button.disabled and not app.session.busy


# --- step 3 ------------------------------------------------------------------------------
def test_generate_before_training(app):
    app.generate.button.click()
    assert "Train a model in step 2 first" in app.generate._message.value
    assert app.generate.button.button_style == "danger" and not app.generate.button.disabled


def test_generate_renders_cards(trained):
    gen = trained.generate
    gen._on_clear()
    gen._n.value = 3
    gen.button.click()
    assert gen._message.value == ""
    assert gen._results.value.count('<div class="ht-tweet">') == 3
    assert "Wren &amp; the Lamp" in gen._results.value and 'class="ht-avatar ht-initials"' in gen._results.value
    assert "https://twitter.com/intent/tweet?text=My%20dream%20is" in gen._results.value


def test_generated_text_is_escaped_and_newest_first(trained, monkeypatch):
    class Fake:
        def generate(self, config):
            return [
                GeneratedTweet(f"{config.prompt} <script>alert(1)</script>", "<b>old</b> tweet", 0.91, True),
                GeneratedTweet("plain & calm", "something", 0.2, False),
            ][: config.n]

    monkeypatch.setattr("huggingtweets.ui.generate_step.load_generator", lambda folder: Fake())
    gen = trained.generate
    gen._generators.clear()
    gen._on_clear()
    gen._n.value = 2
    gen.button.click()
    gen._prompt.value = "Second <i>run</i>"
    gen._n.value = 1
    gen.button.click()
    html_out = gen._results.value
    assert html_out.count('<div class="ht-tweet">') == 3
    assert "<script>" not in html_out and "<i>" not in html_out and "<b>old" not in html_out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_out
    assert html_out.index("Second &lt;i&gt;run") < html_out.index("My dream is")  # newest first
    assert 'class="ht-flag"' in html_out and "0.91" in html_out and "&lt;b&gt;old&lt;/b&gt; tweet" in html_out
    assert "similarity 0.20" in html_out


# --- rendering ---------------------------------------------------------------------------
def test_avatars_only_take_web_urls():
    assert "<img" in render.avatar("A", "https://pbs.example/a.jpg")
    bad = render.avatar('x" onerror="alert(1)', "javascript:alert(1)")
    assert "<img" not in bad and 'onerror="' not in bad and "ht-initials" in bad


def test_share_link_and_empty_plot():
    assert render.share_url("a & b") == "https://twitter.com/intent/tweet?text=a%20%26%20b%20%23huggingtweets"
    assert "<svg" not in render.loss_svg([], [])
    assert render.progress_line(3, 10, 0.5, None, 75) == "step 3/10 · epoch 0.50 · loss – · ETA 1:15"
