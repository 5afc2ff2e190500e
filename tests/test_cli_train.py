"""`huggingtweets train` and `generate` through the real CLI entry point (`demo --tiny` runs end to end
in tests/test_benchmarks.py, through bench_demo.py, which keeps what the demo printed)."""

import json
import subprocess
import sys

import pytest

from huggingtweets.cli import main
from huggingtweets.config import TrainConfig

FAST = ["--block-size", "32", "--max-steps", "3", "--logging-steps", "1", "--save-steps", "2"]


@pytest.fixture(scope="module")
def llama_trained(tmp_path_factory, llama_folder):
    out = tmp_path_factory.mktemp("cli") / "llama-bot"
    assert main(["train", "--sample", "--model", llama_folder, "--output", str(out), "--learning-rate", "0.01", *FAST]) == 0
    return out


@pytest.mark.slow
def test_train_sample_with_local_llama_then_generate(llama_trained, capsys):
    capsys.readouterr()
    assert main(["generate", str(llama_trained), "Today's loaf", "-n", "3", "--seed", "7", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 3
    assert all(set(t) == {"text", "nearest", "similarity", "near_copy", "author", "voice", "passes"} for t in out)
    assert all(t["text"].startswith("Today's loaf") for t in out)
    assert main(["generate", str(llama_trained), "Today's loaf", "-n", "3", "--seed", "7", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == out  # seeded


def test_flags_map_to_train_config(llama_trained):
    saved = json.loads((llama_trained / "train_config.json").read_text())
    assert saved["learning_rate"] == 0.01 and saved["block_size"] == 32 and saved["max_steps"] == 3
    assert saved["epochs"] == TrainConfig().epochs  # untouched default


@pytest.mark.slow
def test_config_file_and_flag_override(tmp_path, llama_folder):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"model": llama_folder, "learning_rate": 0.005, "block_size": 32, "max_steps": 2, "save_steps": 1}))
    out = tmp_path / "m"
    assert main(["train", "--sample", "--config", str(cfg), "--learning-rate", "0.02", "--output", str(out)]) == 0
    saved = json.loads((out / "train_config.json").read_text())
    assert saved["learning_rate"] == 0.02 and saved["max_steps"] == 2


@pytest.mark.slow
def test_resume_from_cli(tmp_path, llama_folder, capsys):
    from conftest import tweet_dataset
    from huggingtweets.config import TrainConfig
    from huggingtweets.training import StopSignal, TrainCallback, fine_tune

    out = tmp_path / "m"
    stop = StopSignal()

    class StopAt2(TrainCallback):
        def on_step(self, state):
            if state.step >= 2:
                stop.request()

    config = TrainConfig(model=llama_folder, output_dir=str(out), block_size=32, save_steps=100, max_steps=4)
    assert fine_tune(config, tweet_dataset(), callbacks=[StopAt2()], stop=stop).stopped
    assert main(["train", "--output", str(out), "--resume", "--max-steps", "5"]) == 1  # would change the run
    assert "max_steps would change it" in capsys.readouterr().err
    assert main(["train", "--output", str(out), "--resume"]) == 0  # no sources, no flags: the saved run
    assert json.loads((out / "metrics.json").read_text())["global_step"] == 4


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["train", "--sample", "--learning-rate", "-1"], "learning rate must be > 0"),
        (["train", "--sample", "--epochs", "0"], "epochs must be > 0"),
        (["train", "--sample", "--precision", "fp8"], "precision must be one of"),
        (["train", "--sample", "--model", "no-such-org/no-such-model"], "not in the local Hub cache"),
        (["train", "--sample", "--model", "./missing-folder"], "No model in ./missing-folder"),
        (["generate", "/no/such/folder"], "No model at /no/such/folder"),
        (["generate", ".", "-n", "0"], "number of tweets"),
    ],
)
def test_bad_flags_are_one_line_errors(argv, needle, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and needle in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert not (tmp_path / "huggingtweets-model").exists()


def test_unknown_config_key(tmp_path, capsys):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"learning_rat": 0.1}))
    assert main(["train", "--sample", "--config", str(cfg)]) == 1
    assert "Unknown TrainConfig key(s): learning_rat" in capsys.readouterr().err


def test_out_of_memory_is_one_line(monkeypatch, capsys):
    def boom(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore details")

    monkeypatch.setattr("huggingtweets.training.fine_tune", boom)
    assert main(["train", "--sample", "--model", "tiny", "--output", "unused-oom"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out of memory" in err and "--batch-size" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["data", "train", "batch", "generate", "score", "demo", "push", "export"])
def test_every_command_prints_its_help(command, capsys):
    """argparse formats help text with %: a setting's help holding "%" must not break --help."""
    with pytest.raises(SystemExit) as ended:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert ended.value.code == 0 and "usage:" in out
    assert command != "train" or "30% slower" in out


@pytest.mark.subprocess
def test_help_in_a_process_of_its_own():
    run = subprocess.run([sys.executable, "-m", "huggingtweets", "train", "--help"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "Traceback" not in run.stderr and "30% slower" in run.stdout, run.stderr[-500:]
