"""The widget app without a browser: set values, click, assert (ipyannotations style)."""

import html
import io
import re
import sys
import types
from pathlib import Path
import zipfile

import pytest

pytest.importorskip("ipywidgets")

import ipywidgets as widgets  # noqa: E402

from huggingtweets.config import TrainConfig, field_help  # noqa: E402
from huggingtweets.errors import HuggingTweetsError  # noqa: E402
from huggingtweets.generation import GeneratedTweet  # noqa: E402
from huggingtweets.folder import ModelFolder  # noqa: E402
from huggingtweets.ui import App, plot, render  # noqa: E402
from huggingtweets.ui.app import gpu_note, where_running  # noqa: E402
from huggingtweets.sources.archive import ArchiveSource  # noqa: E402
from huggingtweets.ui.avatars import to_data_uri  # noqa: E402
from app_driver import SAMPLE_ROWS, Browser, all_widgets, fast, table_numbers, upload  # noqa: E402

def tweet_lines(n: int) -> str:
    words = "the lamp is lit and the bread is rising while gulls argue about crusts on the rail at dawn".split()
    return "\n".join(" ".join(words[(i + k) % len(words)] for k in range(8 + i % 7)) + f" day {i}" for i in range(n))


@pytest.fixture
def app(tmp_path):
    return App(demo="tiny", output_dir=tmp_path)


# --- the contract ------------------------------------------------------------------------
def test_contract_and_demo_defaults(app, tmp_path):
    assert app.data.button.description == "Download tweets"
    assert app.train.button.description == "Train Neural Network"
    assert app.train.stop_button.description == "Stop" and app.train.stop_button.disabled
    assert app.generate.button.description == "Run predictions"
    for w in (app.header, app.data, app.train, app.generate):
        assert isinstance(w, widgets.DOMWidget)
    assert app.data.part("sample").value and not any(h.value for h in app.data.part("handles"))
    assert app.train.part("fields")["model"].value == "tiny"
    assert app.train.config_from_widgets().learning_rate == pytest.approx(2e-3)
    assert app.wait(timeout=1)  # nothing running


def test_demo_comes_from_the_environment(monkeypatch, tmp_path):
    from huggingtweets import pretrained

    monkeypatch.setattr(pretrained, "has_gpu", lambda: False)
    monkeypatch.setenv("HUGGINGTWEETS_DEMO", "1")
    monkeypatch.chdir(tmp_path)
    demo = App()
    assert demo.session.demo == "1" and demo.data.part("sample").value
    assert demo.train.part("fields")["model"].value == "smollm2-135m" and "SmolLM2" in demo.header.value
    monkeypatch.setenv("HUGGINGTWEETS_DEMO", "0")
    plain = App(output_dir=tmp_path)
    assert not plain.session.demo and not plain.data.part("sample").value
    # on a CPU the pretrained offline model is the default and offered first
    assert plain.train.part("fields")["model"].value == "smollm2-135m"
    assert plain.train.part("fields")["model"].options[0] == "smollm2-135m"
    monkeypatch.setenv("HUGGINGTWEETS_DEMO", "yes")
    with pytest.raises(HuggingTweetsError):
        App(output_dir=tmp_path)


def test_the_model_is_a_list_of_what_each_trades_then_other_for_a_name(monkeypatch, tmp_path):
    """Built-in names and the Hub models the card knows, labelled; "Other..." opens a box for
    any name or folder; the picker's value is the name however it was chosen."""
    from huggingtweets import pretrained
    from huggingtweets.ui.model_picker import OTHER

    monkeypatch.setattr(pretrained, "has_gpu", lambda: False)
    app = App(output_dir=tmp_path)
    box = app.train.part("fields")["model"]
    labels = dict((name, text) for text, name in box.list.options)
    assert {"smollm2-135m", "gemma3-270m", "tiny", "gpt2", "HuggingFaceTB/SmolLM2-135M", "google/gemma-3-270m"} <= set(box.options)
    assert "offline, English" in labels["smollm2-135m"] and "word salad" in labels["tiny"] and labels[OTHER] == "Other..."
    assert box.other.layout.display == "none"  # a listed model: no text box
    box.list.value = "gemma3-270m"
    assert box.value == "gemma3-270m" and app.train.config_from_widgets().epochs == 1.0  # Gemma's own recipe followed
    box.list.value = OTHER
    assert box.other.layout.display != "none" and box.value == ""
    box.other.value = "  my/model  "
    assert box.value == "my/model" and app.train.config_from_widgets().model == "my/model"
    box.value = str(tmp_path / "base")  # set from code (a folder): Other..., with the folder typed
    assert box.list.value == OTHER and box.other.value == str(tmp_path / "base")
    box.value = "tiny"  # a listed name: the list shows it and the text box goes
    assert box.list.value == "tiny" and box.other.layout.display == "none"
    assert app.train.config_from_widgets().model == "tiny"


def test_header_in_colab_without_gpu(monkeypatch, tmp_path):
    import torch

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    header = App(output_dir=tmp_path).header.value
    assert "Runtime → Change runtime type" in header and "smollm2-135m" in header


def test_gpu_notes():
    assert gpu_note(True, True)[0] == "success"
    kind, text = gpu_note(False, False)
    assert kind == "info" and "CPU" in text and "tiny" in text


# --- step 1 ------------------------------------------------------------------------------
def test_sample_download_fills_the_table(app, tmp_path):
    app.data.button.click()
    assert re.search(r"<tr><th>Language</th><td class=\"ht-num\">English 100%</td></tr>", app.data.part("table").value), app.data.part("table").value
    assert table_numbers(app.data.part("table").value) == {k: [v] for k, v in SAMPLE_ROWS.items()}
    assert "Wren &amp; the Lamp" in app.data.part("table").value  # display names are escaped
    assert "ht-examples" in app.data.part("examples").value
    assert app.data.button.button_style == "success" and not app.data.button.disabled
    assert app.dataset is not None and app.dataset.stats[0].kept == 342
    assert app.data.part("progress").value == app.data.part("progress").max
    assert app.train.part("fields")["output_dir"].value == str(tmp_path / "wren_lighthouse")  # named after the author


def test_invalid_handle_shows_an_error(app):
    app.data.part("sample").value = False
    app.data.part("handles")[0].value = "@@@"
    app.data.button.click()
    assert "is not a handle or file this tool reads" in app.data.part("message").value and "ht-error" in app.data.part("message").value
    assert app.data.button.button_style == "danger" and not app.data.button.disabled
    assert app.dataset is None


def test_nothing_to_download(app):
    app.data.part("sample").value = False
    app.data.button.click()
    assert "Nothing to download" in app.data.part("message").value


def test_uploaded_text_file_is_written_then_counted(app, tmp_path, monkeypatch):
    app.data.part("sample").value = False
    assert upload(app, "kelp notes.txt", tweet_lines(400).encode(), monkeypatch) == {"kind": "done", "name": "kelp_notes.txt"}
    saved = tmp_path / "uploads" / "kelp_notes.txt"
    assert saved.read_text().count("\n") == 399  # on disk before anything reads it
    assert not list((tmp_path / "uploads").glob(".*.part"))  # the part file became the file
    assert "kelp_notes.txt" in app.data.files.part("listed").value
    app.data.button.click()
    assert app.data.button.button_style == "success", app.data.part("message").value
    assert table_numbers(app.data.part("table").value)["Posts downloaded"] == [400]
    assert app.dataset.handles == ["kelp_notes"]


def test_emails_and_phones_are_masked_unless_the_tick_keeps_them(app, tmp_path, monkeypatch):
    app.data.part("sample").value = False
    lines = tweet_lines(300).splitlines()
    lines[:3] = [f"{line} write to wren@example.org or call +44 20 7946 0958" for line in lines[:3]]
    upload(app, "notes.txt", "\n".join(lines).encode(), monkeypatch)
    app.data.button.click()
    assert table_numbers(app.data.part("table").value)["Posts with emails/phones masked"] == [3]
    texts = [t for a in app.dataset.authors for t in a.train + a.valid]
    assert not any("wren@example.org" in t or "7946" in t for t in texts) and sum("[email]" in t for t in texts) == 3
    app.data.part("keep_contacts").value = True
    app.data.button.click()
    assert "Posts with emails/phones masked" not in app.data.part("table").value
    assert sum("wren@example.org" in t for a in app.dataset.authors for t in a.train + a.valid) == 3


def test_upload_names_cannot_leave_the_folder(app, tmp_path, monkeypatch):
    upload(app, "../../evil.txt", b"x\n", monkeypatch)
    assert (tmp_path / "uploads" / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_too_little_text_shows_counts_and_an_error(app, monkeypatch):
    app.data.part("sample").value = False
    upload(app, "thin.txt", tweet_lines(20).encode(), monkeypatch)
    app.data.button.click()
    assert table_numbers(app.data.part("table").value)["Posts kept"] == [20]
    assert "Not enough tweets" in app.data.part("message").value
    assert app.data.button.button_style == "danger" and app.dataset is None


def test_bearer_token_is_passed_but_never_shown(app, monkeypatch):
    token = "AAAAsecret-token-42"
    seen = {}

    def fake_load_sources(specs, options, sample, progress):
        seen["token"] = options.bearer_token
        progress(100, None, "page 1")
        raise HuggingTweetsError(f"X rejected the bearer token {options.bearer_token}: check it.")

    monkeypatch.setattr("huggingtweets.ui.data_step.fetch", fake_load_sources)
    app.data.part("sample").value = False
    app.data.part("handles")[0].value = "@jack"
    app.data.part("token").value = token
    app.data.button.click()
    assert seen["token"] == token
    assert "X rejected" in app.data.part("message").value
    for part in (app.header, app.data, app.train, app.generate):
        for w in all_widgets(part):
            if w is app.data.part("token"):
                continue
            state = w.get_state()
            assert token not in repr(state), type(w).__name__


def test_token_box_shows_only_for_a_handle_that_needs_one(app, monkeypatch):
    box = app.data.part("token")
    assert box.layout.display == "none"
    app.data.part("handles")[1].value = "wren.bsky.social"
    assert box.layout.display == "none"  # Bluesky and Mastodon need no token
    app.data.part("handles")[0].value = "@user@mastodon.social"
    assert box.layout.display == "none"
    app.data.part("handles")[2].value = "@jack"
    assert box.layout.display is None and box.description == "X bearer token" and "X_BEARER_TOKEN" in box.placeholder
    app.data.part("handles")[2].value = ""
    assert box.layout.display == "none"
    help_text = app.data.children[2].value
    assert "No account or key needed" in help_text and "Needs a token (X bearer token)" in help_text
    for env in ("X_BEARER_TOKEN", "TWITTER_BEARER_TOKEN"):
        monkeypatch.delenv(env, raising=False)
    app.data.part("sample").value = False
    app.data.part("handles")[0].value = "@jack"
    app.data.button.click()
    assert "No X bearer token: paste your X API bearer token into the &#x27;X bearer token&#x27; box" in app.data.part("message").value


# --- step 2 ------------------------------------------------------------------------------
def test_train_before_data(app):
    app.train.button.click()
    assert "Download the posts in step 1 first" in app.train.part("message").value
    assert not app.train.running and not app.train.button.disabled


def test_every_config_field_has_a_widget_with_its_help(app):
    fields = app.train.part("fields")
    assert set(fields) == set(TrainConfig.__dataclass_fields__)
    assert fields["learning_rate"].tooltip == field_help(TrainConfig)["learning_rate"]


def test_config_from_widgets_maps_widgets_to_fields(app, tmp_path):
    f = app.train.part("fields")
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
        logging_steps=5, within_post=False,  # the demo's other settings stay
    )


@pytest.mark.parametrize(("lr", "error"), [("abc", "must be a number"), ("5", "far too large"), ("-1e-4", "must be > 0")])
def test_invalid_learning_rate_shows_one_line(app, lr, error):
    app.data.button.click()
    app.train.part("fields")["learning_rate"].value = lr
    with pytest.raises(HuggingTweetsError, match=error):
        app.train.config_from_widgets()
    app.train.button.click()
    assert html.escape(error) in app.train.part("message").value and not app.train.running
    assert app.train.button.button_style == "danger"


@pytest.mark.slow
def test_training_finishes_with_progress_plot_and_summary(trained_app):
    step = trained_app.train
    assert step.error is None and step.result is not None, step.part("message").value
    assert step.part("progress").value == step.part("progress").max == 6
    assert re.fullmatch(r"step 6/6 · epoch [\d.]+ · loss [\d.]+ · elapsed \d+:\d\d · ETA \d+:\d\d", step.part("status").value)
    train_points = re.search(r'class="ht-loss-train"[^>]*points="([^"]+)"', step.part("plot").value).group(1).split()
    assert len(train_points) >= 3
    assert step.part("plot").value.count('class="ht-loss-eval-point"') >= 2  # before and after
    assert "→" in step.part("summary").value and str(step.result.output_dir) in step.part("summary").value
    # a finished run: buttons back; nothing to resume, and training again there needs "Replace"
    assert not step.button.disabled and step.stop_button.disabled and not trained_app.data.button.disabled
    assert step.part("resume").disabled and not step.part("resume").value
    assert not step.part("overwrite").disabled and not step.part("overwrite").value and "Replace" in step.part("resume_note").value


@pytest.mark.slow
def test_stop_saves_a_checkpoint_and_ticks_resume(app):
    app.data.button.click()
    fast(app, save_steps=100)
    app.train.button.click()
    assert app.train.running and app.train.button.disabled and app.data.button.disabled and app.generate.button.disabled
    app.train.stop_button.click()  # stop after the first step
    assert app.wait(timeout=600)
    result = app.train.result
    assert result.stopped and ModelFolder(result.output_dir).latest_checkpoint().name == "checkpoint-1"
    assert app.train.part("resume").value and "unfinished" in app.train.part("resume_note").value
    again = App(demo="tiny", output_dir=app.session.root)  # a new session (Colab reconnected) finds it too
    again.data.button.click()
    assert again.train.part("resume").value and not again.train.part("resume").disabled
    app.train.button.click()  # resume: finish the run
    assert app.wait(timeout=600)
    assert not app.train.result.stopped and app.train.result.metrics["global_step"] == 6
    assert app.train.part("progress").value == 6 and not app.train.part("resume").value


def test_unexpected_training_failure_is_one_line(app, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("CUDA out of memory.\nTried to allocate ...")

    monkeypatch.setattr("huggingtweets.training.fine_tune", boom)
    app.data.button.click()
    app.train.button.click()
    assert app.wait(timeout=60)
    assert "Training failed (RuntimeError): CUDA out of memory." in app.train.part("message").value
    assert "Tried" not in app.train.part("message").value
    assert app.train.button.button_style == "danger" and not app.train.button.disabled and not app.session.busy


# --- step 3 ------------------------------------------------------------------------------
def test_generate_before_training(app):
    app.generate.button.click()
    assert "Train a model in step 2 first" in app.generate.part("message").value
    assert app.generate.button.button_style == "danger" and not app.generate.button.disabled


@pytest.mark.slow
def test_generate_renders_cards(trained_app):
    gen = trained_app.generate
    gen.part("clear").click()
    gen.part("n").value = 3
    gen.button.click()
    assert gen.part("message").value == ""
    assert gen.part("results").value.count('<div class="ht-tweet">') == 3
    assert "Wren &amp; the Lamp" in gen.part("results").value and 'class="ht-avatar ht-initials"' in gen.part("results").value
    assert "https://twitter.com/intent/tweet?text=My%20dream%20is" in gen.part("results").value


def test_generated_text_is_escaped_and_newest_first(trained_app, monkeypatch):
    class Fake:
        notes = []

        def generate(self, config):
            return [
                GeneratedTweet(f"{config.prompt} <script>alert(1)</script>", "<b>old</b> tweet", 0.91, True),
                GeneratedTweet("plain & calm", "something", 0.2, False),
            ][: config.n]

    class FakeGenerators:
        def loaded(self, folder):
            return True

        def get(self, folder):
            fake = Fake()
            fake.authors = []
            return fake

        def judge(self, folder, tweets, progress=None):
            return tweets

    gen = trained_app.generate
    monkeypatch.setattr(gen, "_generators", FakeGenerators())
    gen.part("clear").click()
    gen.part("n").value = 2
    gen.button.click()
    gen.part("prompt").value = "Second <i>run</i>"
    gen.part("n").value = 1
    gen.button.click()
    html_out = gen.part("results").value
    assert html_out.count('<div class="ht-tweet">') == 3
    assert "<script>" not in html_out and "<i>" not in html_out and "<b>old" not in html_out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_out
    assert html_out.index("Second &lt;i&gt;run") < html_out.index("My dream is")  # newest first
    assert 'class="ht-flag"' in html_out and "0.91" in html_out and "&lt;b&gt;old&lt;/b&gt; tweet" in html_out
    assert "similarity 0.20" in html_out


# --- rendering ---------------------------------------------------------------------------
def test_avatars_only_take_web_urls():
    assert "<img" in render.avatar("A", "https://pbs.example/a.jpg")
    assert 'onerror="this.remove()"' in render.avatar("A", "https://pbs.example/a.jpg")  # offline: the initials stay
    bad = render.avatar('x" onerror="alert(1)', "javascript:alert(1)")
    assert "<img" not in bad and 'onerror="' not in bad and "ht-initials" in bad


def test_share_link_and_empty_plot():
    from huggingtweets.sources.x_names import WORDS as X

    assert X.share_url("a & b") == "https://twitter.com/intent/tweet?text=a%20%26%20b%20%23huggingtweets"
    assert "<svg" not in plot.loss_svg([], [])
    assert plot.progress_line(3, 10, 0.5, None, 75) == "step 3/10 · epoch 0.50 · loss – · ETA 1:15"
    assert plot.progress_line(3, 10, 0.5, 2.5, 75, elapsed=42) == "step 3/10 · epoch 0.50 · loss 2.500 · elapsed 0:42 · ETA 1:15"


def test_loss_plot_is_large_with_labelled_axes():
    svg = plot.loss_svg([(1, 7.9), (5, 6.2), (10, 5.1)], [(0, 8.0), (10, 5.6)], max_steps=10)
    assert 'viewBox="0 0 760 320"' in svg and "width: 100%" in svg  # fills the step, up to 760 px
    assert ">training step</text>" in svg and ">loss (cross-entropy)</text>" in svg
    y_ticks = [float(t) for t in re.findall(r'text-anchor="end">([\d.]+)</text>', svg)]
    assert len(y_ticks) >= 3 and y_ticks == sorted(y_ticks) and all(4.8 < t < 8.4 for t in y_ticks)
    assert [0, 2, 4, 6, 8, 10] == [int(t) for t in re.findall(r'text-anchor="middle">(\d+)</text>', svg)]
    assert plot.nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0] and plot.nice_ticks(3.3, 3.3) == [3.3]


# --- where the app runs ----------------------------------------------------------------------
def test_where_running(monkeypatch, tmp_path):
    for name in ("SERVER_SOFTWARE", "VOILA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert where_running() == "jupyter"
    assert "ht-header ht-follow-system" not in App(demo="tiny", output_dir=tmp_path).header.value
    monkeypatch.setenv("SERVER_SOFTWARE", "voila/0.5.13")
    app = App(demo="tiny", output_dir=tmp_path)
    assert app.session.place == "voila" and 'class="ht-header ht-follow-system"' in app.header.value  # dark when the browser is
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert where_running() == "colab"


# --- step 1: files of any size, by upload or by path -----------------------------------------
def test_upload_refuses_pieces_out_of_order_and_short_files(app, tmp_path, monkeypatch):
    browser = Browser(app.data.files.upload, monkeypatch)
    browser.say({"kind": "start", "name": "a.txt", "size": 10})
    answer = browser.say({"kind": "chunk", "offset": 4}, [b"xxxx"])
    assert answer["kind"] == "error" and "out of order" in answer["text"]
    assert "out of order" in app.data.files.message.value and "ht-error" in app.data.files.message.value
    assert not list((tmp_path / "uploads").iterdir())  # the part file is gone
    browser.say({"kind": "start", "name": "a.txt", "size": 10})
    browser.say({"kind": "chunk", "offset": 0}, [b"12345"])
    assert "arrived incomplete (5 of 10 bytes)" in browser.say({"kind": "end"})["text"]
    assert not (tmp_path / "uploads" / "a.txt").exists() and app.data.files.uploads == []
    assert upload(app, "a.txt", b"0123456789", monkeypatch)["kind"] == "done"  # a good upload clears the error
    assert app.data.files.message.value == "" and app.data.files.uploads == [tmp_path / "uploads" / "a.txt"]


def test_upload_says_when_the_disk_is_too_full(app, monkeypatch):
    import collections
    import shutil

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 50_000_000, 50_000_000))
    answer = Browser(app.data.files.upload, monkeypatch).say({"kind": "start", "name": "twitter.zip", "size": 300_000_000})
    assert answer["kind"] == "error"
    assert "twitter.zip is 300.0 MB but only 50.0 MB are free on the machine running the app" in answer["text"]
    assert "path" in answer["text"]


def test_path_box_reads_an_archive_on_the_kernels_machine(app, tmp_path):
    from archive_fixtures import write_archive

    archive = write_archive(tmp_path / "elsewhere", tweets=[{"id": str(i), "text": t, "created_at": "", "reply_to": None} for i, t in enumerate(tweet_lines(300).splitlines())])
    app.data.part("sample").value = False
    app.data.files.path.value = f"  '{archive}'  "  # pasted with quotes and spaces
    app.data.button.click()
    assert app.data.button.button_style == "success", app.data.part("message").value
    assert table_numbers(app.data.part("table").value)["Tweets downloaded"] == [300]
    assert app.dataset.handles == ["inventedbird"]
    app.data.files.path.value = "elsewhere/bird-archive.zip"  # relative to the app's folder
    app.data.button.click()
    assert app.data.button.button_style == "success", app.data.part("message").value


def test_path_box_names_the_machine_when_nothing_is_there(app, tmp_path):
    app.data.part("sample").value = False
    app.data.files.path.value = "~/no-such-archive.zip"
    app.data.button.click()
    message = html.unescape(app.data.part("message").value)
    assert "Nothing at ~/no-such-archive.zip on the machine that runs this app" in message and "Upload" in message
    assert app.data.button.button_style == "danger" and app.dataset is None


class FakeColab:
    """google.colab with files.upload (writes into the working folder, as Colab's does) and drive.mount."""

    def __init__(self, monkeypatch, files=None, upload_error=None, mount_error=None):
        colab = types.ModuleType("google.colab")
        colab.files = types.SimpleNamespace(upload=self._upload)
        colab.drive = types.SimpleNamespace(mount=self._mount)
        self.files, self.upload_error, self.mount_error, self.mounted = files or {}, upload_error, mount_error, []
        google = types.ModuleType("google")
        google.colab = colab
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", colab)

    def _upload(self):
        if self.upload_error:
            raise self.upload_error
        for name, data in self.files.items():
            with open(name, "wb") as f:
                f.write(data)
        return dict(self.files)

    def _mount(self, where):
        if self.mount_error:
            raise self.mount_error
        self.mounted.append(where)


def test_colab_uses_its_own_upload_and_drive(monkeypatch, tmp_path):
    work = tmp_path / "content"
    work.mkdir()
    (work / "already-here.txt").write_text("not mine")
    monkeypatch.chdir(work)
    colab = FakeColab(monkeypatch, files={"my notes.txt": tweet_lines(300).encode()})
    app = App(output_dir=tmp_path)
    files = app.data.files
    assert files.upload is None and files.colab_upload.description == "Upload archive or file"
    assert "/content/drive/MyDrive" in files.path.placeholder
    files.colab_upload.click()
    assert files.uploads == [tmp_path / "uploads" / "my_notes.txt"] and files.message.value == ""
    assert sorted(p.name for p in work.iterdir()) == ["already-here.txt"]  # moved, and nothing else touched
    files.drive_button.click()
    assert colab.mounted == ["/content/drive"] and "Drive is mounted" in files.message.value
    app.data.button.click()
    assert table_numbers(app.data.part("table").value)["Posts downloaded"] == [300]
    # the Train button says what a disconnect keeps and how to resume
    note = html.unescape(app.train.part("keep_note").value)
    every = app.train.part("fields")["save_steps"].value
    assert "If Colab disconnects" in note and f"every {every} steps" in note and "Resume the unfinished run" in note
    assert "mount Google Drive in step 1" in note
    assert "/content/drive/MyDrive/my_notes" in note


def test_colab_upload_and_drive_failures_say_what_to_do(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    FakeColab(monkeypatch, upload_error=RuntimeError("MessageError: TypeError: _uploadFiles\nmore"), mount_error=ValueError("mount failed"))
    app = App(output_dir=tmp_path)
    app.data.files.colab_upload.click()
    text = html.unescape(app.data.files.message.value)
    assert "Colab's upload did not finish (MessageError: TypeError: _uploadFiles)" in text and "Mount Google Drive" in text
    app.data.files.drive_button.click()
    assert "drive.mount('/content/drive')" in html.unescape(app.data.files.message.value)
    app.data.files.path.value = "/content/drive/MyDrive/twitter.zip"
    app.data.part("sample").value = False
    app.data.button.click()
    assert "Google Drive is not mounted yet" in html.unescape(app.data.part("message").value)


# --- errors clear once what they waited for succeeds ---------------------------------------
def test_errors_clear_when_the_step_before_succeeds(app, monkeypatch):
    app.train.button.click()
    app.generate.button.click()
    assert "step 1 first" in app.train.part("message").value and "step 2 first" in app.generate.part("message").value
    app.data.button.click()  # step 1 succeeds: step 2's "download first" goes
    assert app.train.part("message").value == "" and app.train.button.button_style == "primary"
    assert "ht-error" in app.generate.part("message").value  # still true: no model yet
    monkeypatch.setattr("huggingtweets.ui.generate_step.ModelFolder", lambda folder: types.SimpleNamespace(has_model=lambda: True, incomplete=lambda: False,
                                                                                                    path=Path(folder), voices=lambda: []))
    app.session.trained += 1  # what a finished training run does: a model in the folder
    assert app.generate.part("message").value == "" and app.generate.button.button_style == "primary"


def test_a_finished_run_counts_for_step_3(trained_app):
    assert trained_app.session.trained >= 1


# --- avatars, copy, nearest ------------------------------------------------------------------
def _jpeg(colour=(200, 40, 40), size=(400, 400)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


def archive_with_avatar(tmp_path, form="zip"):
    from archive_fixtures import AVATAR, write_archive

    media = {
        "data/profile_media/1-" + AVATAR.rsplit("/", 1)[-1]: _jpeg(),
        "data/profile_media/1-1500000000": _jpeg((0, 0, 200), (1500, 500)),  # the header picture
        "data/tweets_media/1000-abc.jpg": b"\xff" * 5000,
    }
    tweets = [{"id": str(1000 + i), "text": t, "created_at": "", "reply_to": None} for i, t in enumerate(tweet_lines(300).splitlines())]
    return write_archive(tmp_path, tweets=tweets, extra=media, form=form)


def archive_avatar(path) -> str:
    """The picture the app shows for an archive: what the archive source read, drawn small."""
    return to_data_uri(ArchiveSource(path).fetch().picture)


def test_archive_avatar_reads_only_the_avatar_file(tmp_path, monkeypatch):
    archive = archive_with_avatar(tmp_path)
    opened = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(getattr(name, "filename", name)) or real_open(self, name, *a, **k))
    uri = archive_avatar(archive)
    assert uri.startswith("data:image/jpeg;base64,") and len(uri) < 8000  # shrunk to a small picture
    media = [name for name in opened if "media/" in name]
    assert media == ["data/profile_media/1-invented.jpg"]  # never the header picture or a tweet's media
    folder = archive_with_avatar(tmp_path / "f", form="folder")
    assert archive_avatar(folder).startswith("data:image/jpeg;base64,")
    assert archive_avatar(folder / "data" / "tweets.js").startswith("data:image/jpeg;base64,")


def test_archive_avatar_ignores_what_is_not_a_picture(tmp_path):
    from archive_fixtures import write_archive

    fake = write_archive(tmp_path, extra={"data/profile_media/1-invented.jpg": b"<svg onload=alert(1)>"})
    assert ArchiveSource(fake).fetch().picture == b"<svg onload=alert(1)>"  # read as bytes, never rendered as is
    assert archive_avatar(fake) == ""
    assert to_data_uri(b"") == ""


def test_avatars_reach_the_table_and_the_cards(app, tmp_path, monkeypatch):
    app.data.part("sample").value = False
    app.data.files.path.value = str(archive_with_avatar(tmp_path / "a"))
    app.data.button.click()
    assert re.search(r'class="ht-avatar ht-initials ht-avatar-sm" title="Invented Bird">IB<img src="data:image/jpeg;base64,', app.data.part("table").value)
    picture = app.session.avatars["inventedbird"]

    class Fake:
        notes = []
        authors = [a.author for a in app.dataset.authors] + [types.SimpleNamespace(handle="jack", name="Jack", source="x", avatar_url="https://pbs.twimg.com/profile_images/2/j_400x400.jpg")]

        def generate(self, config):
            return [GeneratedTweet("bread & jam", "Invented tweet about bread", 0.42, False)]

    monkeypatch.setattr(app.generate, "_generators", types.SimpleNamespace(loaded=lambda folder: True, get=lambda folder: Fake(),
                                                                            judge=lambda folder, tweets, progress=None: tweets))
    monkeypatch.setattr("huggingtweets.ui.generate_step.ModelFolder", lambda folder: types.SimpleNamespace(has_model=lambda: True, incomplete=lambda: False,
                                                                                                    path=Path(folder), voices=lambda: []))
    app.generate.button.click()
    cards = app.generate.part("results").value
    assert f'src="{picture}"' in cards  # the archive's own picture, not its URL
    assert 'src="https://pbs.twimg.com/profile_images/2/j_400x400.jpg"' in cards  # the X API's URL


def test_card_has_copy_and_nearest_on_demand():
    card = render.tweet_card("<b>new</b> tweet", "old <i>one</i>", 0.42, False, [("a", "A", "")])
    assert '<details class="ht-nearest"><summary>Nearest training tweet · similarity 0.42</summary>' in card
    assert "<blockquote>old &lt;i&gt;one&lt;/i&gt;</blockquote>" in card
    button = re.search(r'<button type="button" class="ht-copy"[^>]*onclick="([^"]*)">Copy</button>', card)
    assert button and "new" not in button.group(1)  # the script reads the card; no tweet text inside it
    flagged = render.tweet_card("x", "y", 0.93, True, [])
    assert '<details class="ht-nearest" open>' in flagged and "Near copy" in flagged


def test_pictures_are_web_urls_or_small_data_uris():
    assert render.picture_src("data:image/jpeg;base64,AAAA") == "data:image/jpeg;base64,AAAA"
    for bad in ("data:image/svg+xml;base64,AAAA", "data:text/html,<script>", "javascript:alert(1)", 'data:image/png;base64,AA" onerror="x'):
        assert render.picture_src(bad) == ""
    assert '&amp;' in render.avatar("A", "https://x.example/a.jpg?a=1&b=2")


def test_a_library_panic_is_one_line_in_the_app(app, monkeypatch):
    """pyo3's PanicException derives from BaseException: the app's handlers catch it as the CLI does."""
    PanicException = type("PanicException", (BaseException,), {})

    def panic(folder):
        raise PanicException("called `Option::unwrap()` on a `None` value")

    monkeypatch.setattr(app.generate, "_generators", types.SimpleNamespace(loaded=lambda folder: False, get=panic))
    monkeypatch.setattr("huggingtweets.ui.generate_step.ModelFolder", lambda folder: types.SimpleNamespace(has_model=lambda: True, incomplete=lambda: False,
                                                                                                    path=Path(folder), voices=lambda: []))
    app.generate.button.click()
    assert "ht-error" in app.generate.part("message").value and "unwrap" in app.generate.part("message").value


@pytest.mark.slow
def test_a_scored_model_shows_its_voice_a_badge_per_card_and_the_base_beside(app, wren_model, monkeypatch):
    from conftest import SMALL_SCORE
    from huggingtweets import voice

    for name, value in SMALL_SCORE.items():
        monkeypatch.setattr(voice, name, value)
    monkeypatch.setenv("HUGGINGTWEETS_CACHE", str(wren_model.parent / "cache"))  # the fixture's imitations
    gen = app.generate
    app.session.folder = str(wren_model)
    assert re.search(r"Voice \d+/100: \d+ of \d+ posts pass as @wren", gen.part("score").value)
    assert gen.part("author").layout.display == "none"  # one author: no voice to choose
    gen.part("prompt").value = ""
    gen.part("n").value = 4
    gen.part("beside").value = True
    gen.button.click()
    out = gen.part("results").value
    assert "ht-error" not in gen.part("message").value, gen.part("message").value
    assert "Trained model" in out and "Base model, untuned" in out
    trained_cards, base_cards = out.split("Base model, untuned")
    assert trained_cards.count('<div class="ht-tweet">') == 4 and base_cards.count('<div class="ht-tweet">') == 4
    assert re.search(r'class="ht-voice[^"]*" title="[^"]*">voice \d+ · ', out)
    assert '<span class="ht-badge">base model</span>' in base_cards and '<span class="ht-badge">AI</span>' in trained_cards
    assert all(t.voice is not None or t.near_copy for t in app.session.tweets)
