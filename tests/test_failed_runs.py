"""A run that fails inside training leaves the folder as it found it; a W&B login is checked
before the model loads, where wandb looks for it."""

from __future__ import annotations

import json

import pytest

from huggingtweets.cli import main
from huggingtweets.config import TrainConfig
from huggingtweets.errors import HuggingTweetsError

from bad_input_kit import unfinished_run
from bad_input_kit import TINY, error_line, no_wandb_login, snapshot


# --- failures inside training leave the folder as they found it -----------------------------------
def _fail_before_the_first_step(monkeypatch):
    from transformers import Trainer

    def boom(self, *args, **kwargs):
        raise HuggingTweetsError("the trainer failed before its first step: try again.")

    monkeypatch.setattr(Trainer, "train", boom)


@pytest.mark.slow  # trains a few steps: seconds
def test_a_first_run_that_fails_leaves_no_folder(work, monkeypatch, capsys):
    _fail_before_the_first_step(monkeypatch)
    before = snapshot(work)
    assert main(["train", "--sample", *TINY, "--output", "fresh"]) == 1
    assert "failed before its first step" in error_line(capsys.readouterr().err)
    assert snapshot(work) == before


@pytest.mark.slow  # trains a few steps: seconds
def test_a_failed_overwrite_keeps_the_old_model(work, monkeypatch, capsys):
    """dataset.json, train_config.json and checkpoints/eval_before.json of the failed run are gone;
    the old model's files are untouched."""
    old = work / "bot"
    old.mkdir()
    (old / "train_config.json").write_text(json.dumps(TrainConfig(model="tiny", output_dir="bot").to_dict()))
    (old / "config.json").write_text('{"model_type": "gpt2"}')
    (old / "dataset.json").write_text('{"old": true}')
    _fail_before_the_first_step(monkeypatch)
    before = snapshot(work)
    assert main(["train", "--sample", *TINY, "--output", "bot", "--overwrite"]) == 1
    error_line(capsys.readouterr().err)
    assert snapshot(work) == before


@pytest.mark.slow  # trains a few steps: seconds
def test_a_failed_overwrite_keeps_the_unfinished_run(work, monkeypatch, capsys):
    unfinished_run(json.dumps({"authors": []}))(work, None)
    _fail_before_the_first_step(monkeypatch)
    before = snapshot(work)
    assert main(["train", "--sample", *TINY, "--output", "run", "--overwrite"]) == 1
    assert snapshot(work) == before


def test_the_notebook_path_checks_the_wandb_login_before_the_model_loads(work, tmp_path, monkeypatch):
    from conftest import tweet_dataset
    from huggingtweets.workflow import TrainingRun

    no_wandb_login(monkeypatch, tmp_path)
    config = TrainConfig(model="tiny", output_dir=str(work / "wb"), report_to="wandb", max_steps=1, block_size=32)
    with pytest.raises(HuggingTweetsError, match="wandb login"):  # from start(), before the thread and the model
        TrainingRun(config, tweet_dataset()).start()
    assert not (work / "wb").exists()


@pytest.mark.parametrize("env, present", [
    ({"WANDB_MODE": "offline"}, True),
    ({"WANDB_MODE": "disabled"}, True),
    ({"WANDB_API_KEY": "k" * 40}, True),
    ({}, False),
])
def test_wandb_login_is_found_where_wandb_looks(env, present, tmp_path, monkeypatch):
    from huggingtweets.workflow import check_tracking

    no_wandb_login(monkeypatch, tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = TrainConfig(report_to="wandb")
    if present:
        check_tracking(config)
    else:
        with pytest.raises(HuggingTweetsError, match="WANDB_MODE=offline"):
            check_tracking(config)


def test_wandb_login_in_a_netrc_or_the_settings_file(tmp_path, monkeypatch):
    from huggingtweets.workflow import check_tracking

    no_wandb_login(monkeypatch, tmp_path)
    (tmp_path / "no-netrc").write_text("machine api.wandb.ai\n  login user\n  password " + "k" * 40 + "\n")
    check_tracking(TrainConfig(report_to="wandb"))
    (tmp_path / "no-netrc").write_text("machine example.com login user password x\n")  # another host
    with pytest.raises(HuggingTweetsError):
        check_tracking(TrainConfig(report_to="wandb"))
    (tmp_path / "no-wandb-settings").mkdir()
    (tmp_path / "no-wandb-settings" / "settings").write_text("[default]\napi_key = " + "k" * 40 + "\n")
    check_tracking(TrainConfig(report_to="wandb"))


