"""What the bad-input tests share (test_bad_input.py and its topics: test_bad_memory.py,
test_failed_runs.py, test_safe_text.py, test_token_messages.py, test_full_disk.py,
test_hostile_folders.py): the working folder, inputs built in it, its snapshot, the one
``error:`` line, and a child process that reports its own peak memory."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

import huggingtweets
from huggingtweets.config import TrainConfig

GiB = 1 << 30
MB = 1 << 20
TWEET = "the keeper says bread rises slowly by the lamp at night number"


# --- inputs, built in the working folder ------------------------------------------------------
def lines(n: int) -> str:
    return "".join(f"{TWEET} {i}\n" for i in range(n))


def write(name: str, content) -> Callable[[Path, "pytest.FixtureRequest"], None]:
    def setup(work: Path, request) -> None:
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    return setup


def both(*setups):
    def setup(work: Path, request) -> None:
        for s in setups:
            s(work, request)

    return setup


def jsonl_with_surrogate() -> str:
    rows = [json.dumps({"text": f"{TWEET} {i}"}) for i in range(300)]
    rows.insert(4, '{"text": "a broken \\ud800 character in a tweet"}')
    return "\n".join(rows)


def unfinished_run(dataset_json: str):
    """A run folder as a stopped run leaves it, its dataset.json replaced by ``dataset_json``."""

    def setup(work: Path, request) -> None:
        run = work / "run" / "checkpoints"
        run.mkdir(parents=True)
        (run / "train_config.json").write_text(json.dumps(TrainConfig(model="tiny", output_dir="run", block_size=32).to_dict()))
        (run / "dataset.json").write_text(dataset_json)

    return setup


def model_with_dataset(dataset_json: str):
    """A loadable model folder (the small GPT-2 of conftest) whose dataset.json is ``dataset_json``."""

    def setup(work: Path, request) -> None:
        import shutil

        shutil.copytree(request.getfixturevalue("gpt2_folder"), work / "bot")
        (work / "bot" / "dataset.json").write_text(dataset_json)

    return setup


def folder_with(files: dict):
    def setup(work: Path, request) -> None:
        for name, content in files.items():
            write(name, content)(work, request)

    return setup


def deep_tweets_js() -> str:
    return "window.YTD.tweets.part0 = " + "[" * 200_000 + "]" * 200_000


def no_wandb_login(monkeypatch, tmp_path) -> None:
    for name in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))  # never the real ~/.netrc
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "no-wandb-settings"))


DAMAGED_TEXTS = '{"authors": [{"author": {"handle": "x"}, "stats": {"handle": "x", "name": "x"}, "train": [1, 2], "valid": []}]}'
DAMAGED_AUTHOR = '{"authors": [{"author": {"handle": 5}, "stats": {"handle": "x", "name": "x"}, "train": ["a b c"], "valid": []}]}'
TINY = ["--model", "tiny", "--max-steps", "1", "--block-size", "32"]


def snapshot(root: Path) -> dict:
    """Every path under ``root``: files with size and modification time, folders by name."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


def error_line(err: str) -> str:
    """The one ``error:`` line, which must end stderr (progress bars may come before it)."""
    found = [line for line in re.split(r"[\r\n]+", err) if line.startswith("error:")]
    assert len(found) == 1, err[-2000:]
    assert err.rstrip("\n").split("\n")[-1].split("\r")[-1] == found[0]
    return found[0]


# --- memory: a child process, its own peak RSS ---------------------------------------------------
# The child reports its own high-water mark (VmHWM) as it exits: ru_maxrss from wait4 would
# also count the parent's pages, which a forked child holds until it execs.
CHILD = """
import atexit, os, runpy, sys
def report():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["HT_PEAK_FILE"], "w") as out:
        out.write(peak)
atexit.register(report)
sys.argv = ["huggingtweets", *sys.argv[1:]]
runpy.run_module("huggingtweets", run_name="__main__")
"""


def run_child(args: list, cwd: Path) -> tuple[int, str, int]:
    """``python -m huggingtweets ARGS`` from ``cwd``: (exit code, stderr, peak RSS in bytes).

    The address space is capped at 8 GiB so that a regression fails here instead of
    taking the machine with it; the assertion is on the child's own peak RSS.
    """
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (8 * GiB, 8 * GiB))

    root = str(Path(huggingtweets.__file__).resolve().parent.parent)  # this checkout, not an installed copy
    peak_file = cwd.parent / "child.peak"
    env = {**os.environ, "PYTHONPATH": root, "HF_HUB_OFFLINE": "1", "HUGGINGTWEETS_CACHE": str(cwd / "cache"), "HT_PEAK_FILE": str(peak_file)}
    proc = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=limit, timeout=300)
    return proc.returncode, proc.stderr.decode(errors="replace"), int(peak_file.read_text()) * 1024


