"""The model folder and its one policy: nothing of anyone's is lost or clobbered.

Each case from the field: a crafted archive naming the folder, a folder that is not
a model folder, the demo over an existing folder, resume from only --output, two
runs at once, a damaged newest checkpoint, a kill during the final save.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from archive_fixtures import js_text, make_tweets, write_archive
from conftest import CrashAt, tweet_dataset
from huggingtweets import folder as folder_mod
from huggingtweets.cli import main
from huggingtweets.config import TrainConfig
from huggingtweets.errors import HuggingTweetsError
from huggingtweets.folder import ModelFolder, folder_in, slug
from huggingtweets.generation import load_generator
from huggingtweets.training import TrainCallback, fine_tune

FAST = dict(model="tiny", block_size=32, batch_size=8, logging_steps=2, learning_rate=3e-3)


def snapshot(root: Path) -> dict:
    """Every file under ``root`` with a hash of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


# --- names derived from handles ------------------------------------------------------------
@pytest.mark.parametrize(
    "name, expected",
    [("wren_lighthouse", "wren_lighthouse"), ("a-b", "a-b"), ("../../etc", "etc"), ("/abs/path", "abs-path"), ("..", "model"), ("x y\n<z>", "x-y-z"), ("", "model")],
)
def test_slug_keeps_letters_digits_underscore_dash(name, expected, tmp_path):
    assert slug(name) == expected
    assert folder_in(tmp_path, name).parent == tmp_path.resolve()


def crafted_archive(where: Path, username: str) -> Path:
    account = js_text("account.part0", [{"account": {"username": username, "accountDisplayName": "Evil", "accountId": "1"}}])
    return write_archive(where, tweets=make_tweets(300), extra={"data/account.js": account}, name="evil")


@pytest.mark.slow  # trains a few steps: seconds
@pytest.mark.parametrize("username", ["../../escaped", "/tmp/ht-escaped-abs"])
def test_crafted_archive_stays_inside_the_root_in_the_app(tmp_path, username):
    pytest.importorskip("ipywidgets")
    from huggingtweets.ui import App

    root = tmp_path / "work" / "root"
    root.mkdir(parents=True)
    archive = crafted_archive(tmp_path / "in", username)
    outside_before = snapshot(tmp_path / "work") if (tmp_path / "work").exists() else {}
    app = App(demo="", output_dir=root, cache_dir=tmp_path / "work" / "root" / "cache")
    app.data.files.path.value = str(archive)  # the path box: a file on the machine that runs the kernel
    app.data.button.click()
    assert app.dataset is not None, app.data.part("message").value
    chosen = Path(app.train.part("fields")["output_dir"].value).resolve()
    assert chosen.parent == root.resolve()
    for name, value in {**FAST, "max_steps": 2, "model": "tiny"}.items():
        app.train.part("fields")[name].value = value if name != "learning_rate" else f"{value:g}"
    app.train.button.click()
    assert app.wait(timeout=300), "training finished"
    assert app.train.result is not None, app.train.part("message").value
    assert Path(app.train.result.output_dir).resolve().parent == root.resolve()
    after = snapshot(tmp_path / "work")
    assert all(name.startswith("root/") for name in after if name not in outside_before)
    assert not Path("/tmp/ht-escaped-abs").exists() and not (tmp_path / "escaped").exists()


@pytest.mark.slow  # trains a few steps: seconds
def test_crafted_archive_stays_inside_the_output_in_the_cli(tmp_path, capsys):
    archive = crafted_archive(tmp_path / "in", "../../../escaped")
    work = tmp_path / "work"
    args = ["train", str(archive), "--output", str(work / "out"), "--cache-dir", str(work / "cache"), "--max-steps", "2", *_flags(FAST)]
    assert main(args) == 0, capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "work"]
    assert {p.name for p in work.iterdir()} <= {"cache", "out"}  # archives are read in place, not cached


def _flags(d: dict) -> list[str]:
    return [x for k, v in d.items() for x in ("--" + k.replace("_", "-"), str(v))]


# --- the policy ----------------------------------------------------------------------------
def test_a_folder_that_is_not_a_model_folder_is_refused_and_untouched(tmp_path, capsys):
    target = tmp_path / "project"
    (target / "src").mkdir(parents=True)
    (target / "README.md").write_text("my project\n")
    (target / "config.json").write_text('{"mine": true}\n')
    (target / "src" / "main.py").write_text("print('hi')\n")
    before = snapshot(target)
    for extra in ([], ["--overwrite"]):
        assert main(["train", "--sample", "--output", str(target), "--max-steps", "1", *_flags(FAST), *extra]) == 1
        err = capsys.readouterr().err
        assert "not a huggingtweets model folder" in err and err.count("\n") == 1
    assert snapshot(target) == before


def test_output_that_is_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("x")
    for out in (f, f / "sub"):
        assert main(["train", "--sample", "--output", str(out), *_flags(FAST)]) == 1
        assert "file" in capsys.readouterr().err
    assert f.read_text() == "x"


def test_demo_over_a_foreign_folder_keeps_its_files(tmp_path, capsys):
    target = tmp_path / "demo"
    (target / "checkpoints").mkdir(parents=True)  # looks like ours only by a folder name
    (target / "checkpoints" / "notes.txt").write_text("keep me")
    (target / "data.csv").write_text("a,b\n")
    before = snapshot(target)
    ModelFolder(target)  # nothing happens on construction
    assert main(["demo", "--tiny", "--output", str(target)]) == 1
    assert snapshot(target) == before
    capsys.readouterr()


@pytest.mark.slow
def test_failed_run_leaves_the_folder_as_it_found_it(tmp_path):
    out = tmp_path / "new"
    with pytest.raises(HuggingTweetsError):
        fine_tune(TrainConfig(output_dir=str(out), lora=True, **FAST), tweet_dataset())  # LoRA on tiny: refused
    assert not out.exists()

    class Boom(TrainCallback):
        def on_begin(self, state):
            raise RuntimeError("boom before the first step")

    with pytest.raises(RuntimeError):
        fine_tune(TrainConfig(output_dir=str(out), **FAST), tweet_dataset(), callbacks=[Boom()])
    assert not out.exists()


def test_second_concurrent_run_is_refused(tmp_path):
    out = tmp_path / "m"
    with ModelFolder(out).lock("a test holding it"):
        with pytest.raises(HuggingTweetsError) as err:
            fine_tune(TrainConfig(output_dir=str(out), max_steps=1, **FAST), tweet_dataset())
    assert f"process {os.getpid()} (a test holding it" in str(err.value)
    assert not any(p.name != folder_mod.LOCK for p in out.iterdir())


def test_lock_is_released_and_reusable(tmp_path):
    folder = ModelFolder(tmp_path / "m")
    with folder.lock():
        pass
    with folder.lock():
        assert (folder.path / folder_mod.LOCK).exists()
    assert not (folder.path / folder_mod.LOCK).exists()


# --- resume ----------------------------------------------------------------------------------
def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


@pytest.mark.slow
def test_resume_with_only_output_matches_an_uninterrupted_run(tmp_path, capsys):
    common = ["--sample", "--epochs", "2", "--save-steps", "4", *_flags(FAST)]
    assert main(["train", *common, "--output", str(tmp_path / "full")]) == 0
    cut = tmp_path / "cut"
    config = TrainConfig(output_dir=str(cut), epochs=2, save_steps=4, **FAST)
    from huggingtweets.dataset import build_dataset, load_sources

    with pytest.raises(KeyboardInterrupt):
        fine_tune(config, build_dataset(load_sources([], sample=True)), callbacks=[CrashAt(6)])
    assert ModelFolder(cut).latest_checkpoint().name == "checkpoint-4"
    capsys.readouterr()
    assert main(["train", "--output", str(cut), "--resume"]) == 0, capsys.readouterr().err  # README's command
    full, resumed = (json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("full", "cut"))
    assert resumed["global_step"] == full["global_step"]
    a, b = _weights(tmp_path / "full"), _weights(cut)
    assert a.keys() == b.keys() and all(float((a[k] - b[k]).abs().max()) < 1e-4 for k in a)
    assert json.loads((cut / "train_config.json").read_text()) == {**json.loads((tmp_path / "full" / "train_config.json").read_text()), "output_dir": str(cut)}
    # the card reports the whole run, not the resumed part alone
    assert resumed["train_runtime"] > 0 and resumed["train_loss"] == pytest.approx(full["train_loss"], rel=1e-3)
    assert "Average training loss | 0.0000" not in (cut / "README.md").read_text()
    assert not (cut / "checkpoints").exists()


@pytest.mark.slow
def test_resume_refuses_a_changed_setting(tmp_path, capsys):
    out = tmp_path / "m"
    with pytest.raises(KeyboardInterrupt):
        fine_tune(TrainConfig(output_dir=str(out), epochs=2, save_steps=2, **FAST), tweet_dataset(), callbacks=[CrashAt(3)])
    assert main(["train", "--output", str(out), "--resume", "--epochs", "3"]) == 1
    err = capsys.readouterr().err
    assert "epochs would change it" in err and "--overwrite" in err
    assert main(["train", "--output", str(out), "--resume", "--sample"]) == 1
    assert "did not record what it was started with: drop --sample" in capsys.readouterr().err
    assert main(["train", "--sample", "--output", str(out), *_flags(FAST)]) == 1
    assert "--resume to continue it, or --overwrite" in capsys.readouterr().err


@pytest.mark.slow
def test_truncated_newest_checkpoint_falls_back_to_the_previous(tmp_path):
    out = tmp_path / "m"
    config = TrainConfig(output_dir=str(out), epochs=2, save_steps=2, save_total_limit=3, **FAST)
    with pytest.raises(KeyboardInterrupt):
        fine_tune(config, tweet_dataset(), callbacks=[CrashAt(5)])
    folder = ModelFolder(out)
    assert [p.name for p in folder.checkpoints()][:2] == ["checkpoint-4", "checkpoint-2"]
    weights = folder.checkpoints()[0] / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    assert folder.latest_checkpoint().name == "checkpoint-2"
    (folder.checkpoints()[1] / "trainer_state.json").unlink()  # and one without its trainer state
    assert folder.latest_checkpoint() is None or folder.latest_checkpoint().name != "checkpoint-2"
    result = fine_tune(config, resume=True)
    assert not result.stopped and ModelFolder(out).has_model()


@pytest.mark.slow
def test_kill_during_final_save_is_incomplete_then_resume_finishes(tmp_path, monkeypatch, capsys):
    out = tmp_path / "m"
    config = TrainConfig(output_dir=str(out), max_steps=6, save_steps=4, **FAST)
    real_replace = os.replace
    calls = {"n": 0}

    def dying_replace(src, dst, *a, **k):
        if Path(src).parent.name == folder_mod.STAGING and (out / folder_mod.INCOMPLETE).exists():
            calls["n"] += 1  # publish() is moving the staged files into place
            if calls["n"] == 2:  # one file moved into place, then the power goes
                raise KeyboardInterrupt
        return real_replace(src, dst, *a, **k)

    monkeypatch.setattr(folder_mod.os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        fine_tune(config, tweet_dataset())
    monkeypatch.setattr(folder_mod.os, "replace", real_replace)
    assert ModelFolder(out).incomplete()
    with pytest.raises(HuggingTweetsError, match="incomplete"):
        load_generator(out)
    assert main(["generate", str(out)]) == 1
    assert "incomplete" in capsys.readouterr().err
    assert main(["train", "--output", str(out), "--resume"]) == 0, capsys.readouterr().err
    folder = ModelFolder(out)
    assert folder.has_model() and not folder.incomplete() and not folder.has_run()
    assert len(load_generator(out).generate(n=1, seed=0)) == 1


@pytest.mark.slow
def test_overwrite_replaces_a_model_only_when_the_new_one_is_saved(tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", "--sample", "--output", str(out), "--max-steps", "2", *_flags(FAST)]) == 0
    old = snapshot(out)

    class Boom(TrainCallback):
        def on_step(self, state):
            raise RuntimeError("cut off mid-run")

    with pytest.raises(RuntimeError):
        fine_tune(TrainConfig(output_dir=str(out), max_steps=3, **FAST), tweet_dataset(), callbacks=[Boom()], overwrite=True)
    assert snapshot(out) == old  # the old model is whole and alone
    capsys.readouterr()
    assert main(["train", "--sample", "--output", str(out), "--max-steps", "3", "--overwrite", *_flags(FAST)]) == 0
    assert json.loads((out / "metrics.json").read_text())["global_step"] == 3


@pytest.mark.slow
def test_keep_checkpoints(tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", "--sample", "--output", str(out), "--max-steps", "4", "--save-steps", "2", "--keep-checkpoints", *_flags(FAST)]) == 0
    folder = ModelFolder(out)
    assert folder.latest_checkpoint() is not None and not folder.has_run()  # kept, but nothing to resume
    assert main(["train", "--output", str(out), "--resume"]) == 1
    assert "Nothing to resume" in capsys.readouterr().err


def test_no_module_but_folder_spells_the_files():
    """Nothing but folder.py names the model folder's files."""
    root = Path(folder_mod.__file__).parent
    names = ('"train_config.json"', '"dataset.json"', '"metrics.json"', '"checkpoints"', '"eval_before.json"', '"README.md"', '"preview.png"')
    offenders = [
        f"{p.relative_to(root)}: {n}"
        for p in root.rglob("*.py")
        if p.name != "folder.py"
        for n in names
        if n in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
    assert sys.modules["huggingtweets.folder"] is folder_mod


STEPS = 80  # long enough to be stopped a second in (about 10 steps on a quiet 2-core host), short enough to finish on resume


@pytest.mark.subprocess
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_in_the_cli_checkpoints_and_resume_finishes(tmp_path, signame):
    """A real SIGINT (Ctrl-C) or SIGTERM (a scheduler, `timeout`) to `huggingtweets train`: the
    run stops at a checkpoint with one line of advice, no traceback, and README's `--resume`
    finishes it. (The main thread waits on the training thread; an interrupted Thread.join once
    took the live thread for a finished one.)"""
    import signal
    import subprocess
    import time

    out = tmp_path / "m"
    flags = _flags({**FAST, "epochs": 200, "save_steps": 10_000, "max_steps": STEPS})
    cmd = [sys.executable, "-m", "huggingtweets", "train", "--sample", "--output", str(out), *flags]
    default_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731 (a background shell ignores it)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    deadline = time.monotonic() + 300
    while not (out / folder_mod.CHECKPOINTS / folder_mod.EVAL_BEFORE).exists():  # training has begun
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    time.sleep(1)
    proc.send_signal(getattr(signal, signame))
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr  # stopped, not finished: `train && push` must not go on
    assert "Traceback" not in stderr and "Stopped at step" in stderr and "--resume" in stderr
    stopped = json.loads((out / folder_mod.METRICS).read_text())["global_step"]
    assert 0 < stopped < STEPS and ModelFolder(out).latest_checkpoint() is not None

    done = subprocess.run([sys.executable, "-m", "huggingtweets", "train", "--output", str(out), "--resume"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads((out / folder_mod.METRICS).read_text())["global_step"] == STEPS
    assert not (out / folder_mod.CHECKPOINTS).exists()
