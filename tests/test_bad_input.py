"""Bad input, tried as an attacker would (issue 9).

Every case in ``CASES`` runs the real CLI in-process (``huggingtweets.cli.main``) and
must end in: the expected exit code (2 for a bad flag, 1 otherwise), exactly one
``error:`` line on stderr that names the problem and says what to do, no traceback,
no escape character, and the working folder exactly as it was (a snapshot before
and after). The memory cases run in a child process (the ``python -m huggingtweets`` module)
whose own peak RSS (VmHWM) must stay under 1 GB. Other tables check input
that must *work* and stay safe: control characters never reach the terminal, and a
display name never breaks or injects into the model card's Markdown.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest
import responses

import huggingtweets
from archive_fixtures import archive_members, make_tweets, write_deflate_bomb, write_zip
from huggingtweets.cli import _json_out, main, shown
from huggingtweets.config import TrainConfig
from huggingtweets.errors import HuggingTweetsError

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


@dataclass
class Case:
    id: str
    argv: list
    code: int
    what: str  # names the problem
    fix: str  # says what to do
    setup: Optional[Callable] = None
    env: Optional[Callable] = None  # (monkeypatch, tmp_path) -> None


CASES = [
    # -- flags: argparse says it in one line and exits 2 ---------------------------------------
    Case("epochs inf", ["train", "--sample", "--epochs", "inf"], 2, "--epochs: must be a finite number", "see 'huggingtweets train --help'"),
    Case("warmup inf", ["train", "--sample", "--warmup", "inf"], 2, "--warmup: must be a finite number", "--help"),
    Case("learning rate nan", ["train", "--sample", "--learning-rate", "nan"], 2, "--learning-rate: must be a finite number", "--help"),
    Case("epochs not a number", ["train", "--sample", "--epochs", "lots"], 2, "--epochs: must be a number, got 'lots'", "--help"),
    Case("batch size 2.5", ["train", "--sample", "--batch-size", "2.5"], 2, "--batch-size: must be a whole number", "--help"),
    Case("seed of 5000 digits", ["train", "--sample", "--seed", "9" * 5000], 2, "--seed: must be a whole number", "--help"),
    Case("temperature inf", ["generate", "bot", "--temperature", "inf"], 2, "--temperature: must be a finite number", "see 'huggingtweets generate --help'"),
    Case("unknown flag", ["train", "--sample", "--bogus"], 2, "unrecognized arguments: --bogus", "--help"),
    Case("no command", [], 2, "required: COMMAND", "see 'huggingtweets --help'"),
    Case("unknown command", ["frobnicate"], 2, "invalid choice: 'frobnicate'", "--help"),
    # -- values out of range: the field named, the range given ----------------------------------
    Case("seed -1", ["train", "--sample", "--seed", "-1"], 1, "seed must be between 0 and 4294967295", "got -1"),
    Case("seed too large", ["train", "--sample", "--seed", str(2**64)], 1, "seed must be between", "4294967295"),
    Case("epochs 0", ["train", "--sample", "--epochs", "0"], 1, "epochs must be > 0", "got 0"),
    Case("batch size huge", ["train", "--sample", "--batch-size", "10000000"], 1, "batch size must be between 1 and", "got 10000000"),
    Case("weight decay 5", ["train", "--sample", "--weight-decay", "5"], 1, "weight decay must be between 0 and 1", "got 5"),
    Case("temperature 1e-300", ["generate", "bot", "--temperature", "1e-300"], 1, "temperature must be between 0.01 and 100", "got 1e-300"),
    Case("repetition penalty 1e-300", ["generate", "bot", "--repetition-penalty", "1e-300"], 1, "repetition penalty must be between", "100"),
    Case("zero tweets", ["generate", "bot", "-n", "0"], 1, "number of tweets must be between 1 and 100", "got 0"),
    # -- config files: type-checked at the boundary, the field named ------------------------------
    Case("config epochs lots", ["train", "--sample", "--config", "c.json"], 1, "epochs must be a finite number", "got 'lots'", write("c.json", '{"epochs": "lots"}')),
    Case("config batch 2.5", ["train", "--sample", "--config", "c.json"], 1, "batch_size must be a whole number", "got 2.5", write("c.json", '{"batch_size": 2.5}')),
    Case("config model null", ["train", "--sample", "--config", "c.json"], 1, "model must not be null", "model", write("c.json", '{"model": null}')),
    Case("config checkpointing no", ["train", "--sample", "--config", "c.json"], 1, "gradient_checkpointing must be true or false", "got 'no'", write("c.json", '{"gradient_checkpointing": "no"}')),
    Case("config not UTF-8", ["train", "--sample", "--config", "c.json"], 1, "is not UTF-8 text", "save it as UTF-8 JSON", write("c.json", b'\xff\xfe{"epochs": 1}')),
    Case("config a list", ["train", "--sample", "--config", "c.json"], 1, "must hold a JSON object", "TrainConfig fields", write("c.json", "[]")),
    Case("config unknown key", ["train", "--sample", "--config", "c.json"], 1, "Unknown TrainConfig key(s): learning_rat", "Known keys", write("c.json", '{"learning_rat": 0.1}')),
    Case("config 400-digit epochs", ["train", "--sample", "--config", "c.json"], 1, "epochs must be a finite number", "got", write("c.json", '{"epochs": 1' + "0" * 400 + "}")),
    Case("config 5000-digit number", ["train", "--sample", "--config", "c.json"], 1, "a number too long to read", "fix it", write("c.json", '{"epochs": ' + "9" * 5000 + "}")),
    Case("config NUL in output_dir", ["train", "--sample", "--config", "c.json"], 1, "output_dir holds control characters", "retype it", write("c.json", '{"output_dir": "a\\u0000b"}')),
    Case("config over 1 MiB", ["train", "--sample", "--config", "c.json"], 1, "is over 1 MiB", "give a JSON object", write("c.json", "{" + " " * (2 * MB) + "}")),
    Case("config a folder without a run", ["train", "--sample", "--config", "cfgdir"], 1, "Config file not found: cfgdir/train_config.json", "not found", write("cfgdir/x", "")),
    Case("config missing", ["train", "--sample", "--config", "nope.json"], 1, "Config file not found: nope.json", "not found"),
    # -- model folders ------------------------------------------------------------------------
    Case("model config.json is []", ["train", "--sample", "--model", "m", "--output", "out"], 1, "m/config.json is not a model config", "give a model folder, a Hub name like gpt2, or tiny", write("m/config.json", "[]")),
    Case("generate config.json is []", ["generate", "m"], 1, "m/config.json is not a model config", "train it again", write("m/config.json", "[]")),
    Case("model type unknown", ["train", "--sample", "--model", "m", "--output", "out"], 1, "names model_type 'nonsense', which transformers", "upgrade transformers", write("m/config.json", '{"model_type": "nonsense"}')),
    Case("generate model type unknown", ["generate", "m"], 1, "names model_type 'nonsense'", "upgrade transformers", write("m/config.json", '{"model_type": "nonsense"}')),
    Case("model config.json not JSON", ["train", "--sample", "--model", "m", "--output", "out"], 1, "m/config.json is not valid JSON", "give a model folder", write("m/config.json", "{oops")),
    Case("model is a file", ["train", "--sample", "--model", "./weights.bin", "--output", "out"], 1, "is a file, not a model folder", "give a model folder", write("weights.bin", "x")),
    Case("model folder missing", ["train", "--sample", "--model", "./missing"], 1, "No model in ./missing (no config.json)", "give a model folder"),
    Case("generate no model", ["generate", "empty"], 1, "No model at empty", "train one first", write("empty/.keep", "")),
    Case("generate damaged dataset.json", ["generate", "bot", "-n", "1"], 1, "bot/dataset.json is damaged (TypeError)", "train again with --overwrite", model_with_dataset(DAMAGED_TEXTS)),
    # -- output folders: checked before anything is downloaded or written -----------------------
    Case("output is a file", ["train", "--sample", *TINY, "--output", "afile"], 1, "afile is a file, not a folder", "choose another --output", write("afile", "mine")),
    Case("output under a file", ["train", "--sample", *TINY, "--output", "afile/sub"], 1, "is inside afile, which is a file", "choose another --output", write("afile", "mine")),
    Case("data --out a file", ["data", "--sample", "--out", "afile"], 1, "afile is a file, not a folder", "choose another --out", write("afile", "mine")),
    Case("data --out under a file", ["data", "--sample", "--out", "afile/ds"], 1, "is inside afile, which is a file", "choose another --out", write("afile", "mine")),
    Case("output holds other files", ["train", "--sample", *TINY, "--output", "photos"], 1, "holds other files and is not a huggingtweets model folder", "choose a new or empty folder", write("photos/cat.jpg", "meow")),
    Case("resume with nothing to resume", ["train", "--output", "nothing", "--resume"], 1, "Nothing to resume in nothing", "no run in progress"),
    Case("resume with sources, no run", ["train", "--sample", "--resume"], 1, "Nothing to resume in huggingtweets-model", "no run in progress"),
    Case("resume damaged dataset.json (texts)", ["train", "--output", "run", "--resume"], 1, "run/checkpoints/dataset.json is damaged", "train again with --overwrite", unfinished_run(DAMAGED_TEXTS)),
    Case("resume damaged dataset.json (author)", ["train", "--output", "run", "--resume"], 1, "dataset.json is damaged", "train again with --overwrite", unfinished_run(DAMAGED_AUTHOR)),
    Case("resume dataset.json not JSON", ["train", "--output", "run", "--resume"], 1, "dataset.json is damaged (JSONDecodeError)", "--overwrite", unfinished_run("{not json")),
    # -- tracking: a W&B run that cannot log in says how, before the model loads ---------------
    Case("wandb without a login", ["train", "--sample", *TINY, "--output", "wb", "--report-to", "wandb"], 1, "W&B is not logged in on this machine", "run 'wandb login', set WANDB_API_KEY, or set WANDB_MODE=offline", env=no_wandb_login),
    # -- tweets in files and archives -----------------------------------------------------------
    Case("jsonl lone surrogate, data --out", ["data", "s.jsonl", "--out", "ds"], 1, "s.jsonl line 5 holds a broken character", "remove it", write("s.jsonl", jsonl_with_surrogate())),
    Case("jsonl lone surrogate, train", ["train", "s.jsonl", *TINY, "--output", "st"], 1, "s.jsonl line 5 holds a broken character", "remove it", write("s.jsonl", jsonl_with_surrogate())),
    Case("200,000 nested brackets", ["data", "tweets.js"], 1, "tweets.js is damaged (nested too deeply to be tweets)", "download the archive again", write("tweets.js", deep_tweets_js())),
    Case("text file not UTF-8", ["data", "latin.txt"], 1, "latin.txt is not UTF-8 text (bad byte on line 2)", "save it as UTF-8", write("latin.txt", b"fine line one here\ncaf\xe9 au lait\n")),
    Case("missing file", ["data", "gone.zip"], 1, "File not found: gone.zip", "Check the path"),
    Case("unsupported file type", ["data", "notes.pdf"], 1, "Unsupported file 'notes.pdf'", "X archive: the .zip", write("notes.pdf", "%PDF")),
    Case("corrupt zip", ["data", "bad.zip"], 1, "bad.zip is not a valid zip file", "download the archive again", write("bad.zip", b"PK\x03\x04 not a zip at all")),
    Case("invalid handle", ["data", "@@@"], 1, "'@@@' is not a handle or file this tool reads", "X handle like @jack"),
    Case("x handle without a token", ["data", "@jack"], 1, "No X API token", "set X_BEARER_TOKEN"),
    Case("same stem twice", ["data", "a/bom.txt", "b/bom.txt"], 1, "@bom is given twice: the author of a text file is taken from its file name", "--author HANDLE", both(write("a/bom.txt", lines(10)), write("b/bom.txt", lines(10)))),
    Case("--author on two files", ["data", "a.txt", "b.txt", "--author", "wren"], 1, "--author names the author of every text file given", "Put one author's tweets in one file", both(write("a.txt", lines(10)), write("b.txt", lines(10)))),
    Case("escape codes in a file name", ["data", "\x1b[2J\u202eevil.txt"], 1, "No tweets in \ufffd[2Jevil.txt: the file is empty", "Put one tweet per line", write("\x1b[2J\u202eevil.txt", "")),
]


def snapshot(root: Path) -> dict:
    """Every path under ``root``: files with size and modification time, folders by name."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def work(tmp_path, monkeypatch):
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HUGGINGTWEETS_CACHE", str(folder / "cache"))  # inside the snapshot
    for name in ("X_BEARER_TOKEN", "TWITTER_BEARER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return folder


def error_line(err: str) -> str:
    """The one ``error:`` line, which must end stderr (progress bars may come before it)."""
    found = [line for line in re.split(r"[\r\n]+", err) if line.startswith("error:")]
    assert len(found) == 1, err[-2000:]
    assert err.rstrip("\n").split("\n")[-1].split("\r")[-1] == found[0]
    return found[0]


def test_the_matrix_is_large_and_named_once():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_leaves_nothing(case, work, tmp_path, monkeypatch, capsys, request):
    if case.setup:
        case.setup(work, request)
    if case.env:
        case.env(monkeypatch, tmp_path)
    before = snapshot(work)
    try:
        code = main(case.argv)
    except SystemExit as exit:  # argparse ends with SystemExit(2) after its one line
        code = exit.code
    out, err = capsys.readouterr()
    assert code == case.code
    assert "Traceback" not in err + out and "error" not in out
    line = error_line(err)
    assert case.what in line and case.fix in line, line
    assert "\x1b" not in err and "\u202e" not in err
    assert snapshot(work) == before  # nothing written, nothing removed, nothing left behind


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


def bomb(member: str):
    def setup(work: Path, request) -> None:
        # 5 MB on disk, 5 GiB once inflated
        others = {k: v for k, v in archive_members("2022", make_tweets(3)).items() if k != member}
        write_deflate_bomb(work / "bomb.zip", member, 5 * GiB, others=others)

    return setup


MEMORY_CASES = [
    ("tweets.js bomb, data", ["data", "bomb.zip"], bomb("data/tweets.js"), "data/tweets.js in bomb.zip is 5 GiB, over the 512 MiB limit"),
    ("tweets.js bomb, train", ["train", "bomb.zip", *TINY, "--output", "out"], bomb("data/tweets.js"), "over the 512 MiB limit"),
    ("account.js bomb, data", ["data", "bomb.zip"], bomb("data/account.js"), "data/account.js in bomb.zip is 5 GiB, over the 4 MiB limit"),
    ("50 MB line, data", ["data", "big.txt"], write("big.txt", "word " * 10_000_000), "big.txt line 1 holds 49,999,999 characters"),
    ("50 MB line, train", ["train", "big.txt", *TINY, "--output", "out"], write("big.txt", "word " * 10_000_000), "put one tweet per line"),
]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the child's peak RSS from /proc (Linux)")
@pytest.mark.parametrize("args, setup, needle", [c[1:] for c in MEMORY_CASES], ids=[c[0] for c in MEMORY_CASES])
def test_huge_input_is_one_line_under_1_gb(args, setup, needle, work, request):
    setup(work, request)
    before = snapshot(work)
    code, err, peak = run_child(args, work)
    assert code == 1, err[-2000:]
    assert "Traceback" not in err
    assert needle in error_line(err)
    assert len(err) < 5000  # the line is named, never printed
    assert peak < 1 * GiB, f"peak RSS {peak / MB:.0f} MB"
    assert snapshot(work) == before


# --- failures inside training leave the folder as they found it -----------------------------------
def _fail_before_the_first_step(monkeypatch):
    from transformers import Trainer

    def boom(self, *args, **kwargs):
        raise HuggingTweetsError("the trainer failed before its first step: try again.")

    monkeypatch.setattr(Trainer, "train", boom)


def test_a_first_run_that_fails_leaves_no_folder(work, monkeypatch, capsys):
    _fail_before_the_first_step(monkeypatch)
    before = snapshot(work)
    assert main(["train", "--sample", *TINY, "--output", "fresh"]) == 1
    assert "failed before its first step" in error_line(capsys.readouterr().err)
    assert snapshot(work) == before


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


# --- text made safe where it goes ---------------------------------------------------------------
HOSTILE = "\x1b[31mred\x1b[0m \x9b2J bell\x07 \u202egnp.exe\u202c lone\ud800 new\nline"


def test_shown_is_one_plain_line():
    text = shown(HOSTILE)
    assert "\n" not in text and not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\ud800-\udfff]", text)
    assert "red" in text and "new line" in text
    assert shown("| a |\n| b |", keep_lines=True) == "| a |\n| b |"


def test_json_output_escapes_what_a_terminal_obeys():
    value = {"text": HOSTILE}
    text = _json_out(value)
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\ud800-\udfff]", text)
    assert json.loads(text) == value


def test_a_file_named_with_escape_codes_prints_safely(work, capsys):
    (work / "\x1b[2J\u202eevil.txt").write_text(lines(200), encoding="utf-8")
    assert main(["data", "\x1b[2J\u202eevil.txt"]) == 0
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\u202e" not in out + err
    assert "[2Jevil" in out


def test_a_file_name_that_is_not_utf8_is_saved_and_shown(work, capsys):
    name = os.fsdecode(b"\xffwren.txt")  # a lone surrogate once decoded: not writable as UTF-8
    (work / name).write_text(lines(200), encoding="utf-8")
    assert main(["data", name, "--out", "ds"]) == 0
    saved = json.loads((work / "ds" / "dataset.json").read_text(encoding="utf-8"))
    assert saved["authors"][0]["author"]["handle"] == "wren"
    out, err = capsys.readouterr()
    assert "@wren" in out and "Traceback" not in err


def test_escape_codes_in_an_x_tweet_and_profile_never_reach_the_terminal(work, monkeypatch, capsys):
    monkeypatch.setenv("X_BEARER_TOKEN", "tok-SECRET-9")
    user = {"id": "42", "username": "evil", "name": "Evil\x1b]0;pwned\x07 Name", "protected": False,
            "public_metrics": {"tweet_count": 200}}
    tweets = [{"id": str(10_000 - i), "edit_history_tweet_ids": [str(10_000 - i)], "text": f"\x1b[2J\x1b[31m{TWEET} {i}\x9b1m \u0000end"} for i in range(200)]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, re.compile(r"https://api\.(twitter|x)\.com/2/users/by/username/evil.*"), json={"data": user})
        rsps.add(responses.GET, re.compile(r"https://api\.(twitter|x)\.com/2/users/42/tweets.*"), json={"data": tweets, "meta": {"result_count": 200}})
        assert main(["data", "@evil"]) == 0
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\x9b" not in out + err and "\x07" not in out + err
    assert "tok-SECRET-9" not in out + err
    assert TWEET in out
    cached = "".join(p.read_text() for p in (work / "cache").rglob("*.jsonl"))
    assert "\\u001b" not in cached and "\x1b" not in cached  # scrubbed before the cache, like every source


def test_x_tweet_text_is_scrubbed_like_every_source():
    from huggingtweets.sources.x_api import _to_tweet

    assert _to_tweet({"id": "1", "text": "a\x1b[31mb\x00c\ud800d\ne"}).text == "a[31mbcd\ne"


HOSTILE_NAME = "Wren\n\n| x | y |\n[click](https://evil.example) ![img](https://evil.example/a.png) <b>bold</b> *em* `code`"


def test_a_hostile_display_name_stays_text_in_the_model_card():
    from huggingtweets.card import render_card
    from huggingtweets.cleaning import AuthorStats
    from huggingtweets.sources.base import Author

    authors = [Author("wren", HOSTILE_NAME, "", "archive"), Author("gull", "Gull", "", "archive")]
    stats = [AuthorStats("wren", HOSTILE_NAME, 10, 1, 1, 8, 9000), AuthorStats("gull", "Gull", 9, 0, 1, 8, 9000)]
    card = render_card(authors, stats, TrainConfig(model="tiny"), {}, model_id="wren-bot")
    assert not re.search(r"(?<!\\)\]\(https://evil", card)  # no link: every "](" is escaped
    assert "![" not in card and "<b>" not in card
    table = card.split("## Training data")[1].split("## ")[0]
    rows = [line for line in table.splitlines() if line.startswith("|")]
    assert len(rows) == 6  # header, rule, 4 rows: the name did not add or break a row
    for row in rows:
        assert len(re.split(r"(?<!\\)\|", row)) == 5  # Data + 2 authors, between the outer bars
    assert "\\[click\\](https://evil.example)" in card  # shown, not linked


def test_a_hostile_display_name_keeps_the_data_table_in_the_terminal(work, capsys):
    members = archive_members("2022", make_tweets(40))
    account = json.loads(members["data/account.js"].split("=", 1)[1])
    account[0]["account"]["accountDisplayName"] = HOSTILE_NAME
    members["data/account.js"] = "window.YTD.account.part0 = " + json.dumps(account)
    write_zip(work / "wren.zip", members)
    (work / "gull.txt").write_text(lines(50), encoding="utf-8")
    assert main(["data", "wren.zip", "gull.txt"]) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert len(table) == 7 and "https://evil.example" in table[0] and "\\[click\\]" in table[0]
    assert table[-1].startswith("| Language | English ")  # the four counts, then the kept text's language


# --- the notebook's token messages -------------------------------------------------------------
def test_the_notebook_points_at_its_token_box(work, monkeypatch):
    pytest.importorskip("ipywidgets")
    from huggingtweets.ui import App

    app = App(demo="tiny", output_dir=work, cache_dir=work / "cache")
    app.data.part("sample").value = False
    app.data.part("handles")[0].value = "@jack"
    app.data.button.click()
    message = app.data.part("message").value
    assert "X bearer token" in message and "box" in message and "X_BEARER_TOKEN" in message


def _colab(monkeypatch, get):
    userdata = types.ModuleType("google.colab.userdata")
    userdata.SecretNotFoundError = type("SecretNotFoundError", (Exception,), {})
    userdata.NotebookAccessError = type("NotebookAccessError", (Exception,), {})
    userdata.get = lambda name: get(userdata, name)
    google, colab = types.ModuleType("google"), types.ModuleType("google.colab")
    colab.userdata, google.colab = userdata, colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.userdata", userdata)


def test_a_colab_secret_without_notebook_access_says_so(monkeypatch):
    from huggingtweets.sources import FetchOptions
    from huggingtweets.sources.x_api import find_bearer_token

    for name in ("X_BEARER_TOKEN", "TWITTER_BEARER_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    def denied(userdata, name):
        raise userdata.NotebookAccessError(name)

    _colab(monkeypatch, denied)
    with pytest.raises(HuggingTweetsError, match="switch on 'Notebook access'"):
        find_bearer_token(FetchOptions())

    def missing(userdata, name):
        raise userdata.SecretNotFoundError(name)

    _colab(monkeypatch, missing)
    assert find_bearer_token(FetchOptions()) is None  # no secret at all: the ordinary no-token message


# --- a full disk: a real small filesystem (tmpfs in a private mount namespace) -------------------
FULL_DISK = r"""
set -u
mount -t tmpfs -o size=$HT_SIZE tmpfs "$HT_DISK" || exit 97
if [ -n "${HT_SEED:-}" ]; then cp -r "$HT_SEED" "$HT_DISK/m" || exit 98; fi
"$HT_PY" -m huggingtweets train --sample --model tiny --block-size 32 --output "$HT_DISK/m" $HT_ARGS 2>"$HT_OUT/stderr"
echo $? > "$HT_OUT/rc"
"$HT_PY" - "$HT_DISK/m" > "$HT_OUT/folder.json" <<'PY'
import json, sys
from pathlib import Path
from huggingtweets.folder import ModelFolder, checkpoint_ok
folder = ModelFolder(sys.argv[1])
files = {str(p.relative_to(folder.path)): p.stat().st_size for p in folder.path.rglob("*") if p.is_file()}
print(json.dumps({"files": files, "checkpoints": {p.name: checkpoint_ok(p) for p in folder.checkpoints()},
                  "has_model": folder.has_model(), "incomplete": folder.incomplete()}))
PY
"""


def run_on_small_disk(tmp_path, size: str, args: str, seed: Optional[Path] = None) -> tuple[int, str, dict]:
    """``huggingtweets train`` with its --output on a tmpfs of ``size``; (exit code, stderr, the folder)."""
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    env = {**os.environ, "HT_SIZE": size, "HT_DISK": str(disk), "HT_OUT": str(out), "HT_ARGS": args,
           "HT_PY": sys.executable, "HT_SEED": str(seed or ""), "HUGGINGTWEETS_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": str(Path(huggingtweets.__file__).resolve().parent.parent), "WANDB_MODE": "offline"}
    try:
        proc = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", FULL_DISK], env=env,
                              capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        pytest.skip("no unshare here")
    if proc.returncode in (97, 98) or not (out / "rc").exists():
        pytest.skip(f"cannot mount a small filesystem here: {proc.stderr[-300:]}")
    return int((out / "rc").read_text()), (out / "stderr").read_text(), json.loads((out / "folder.json").read_text())


def test_a_full_disk_during_a_checkpoint_is_one_line_and_keeps_the_whole_ones(tmp_path):
    code, err, folder = run_on_small_disk(tmp_path, "20m", "--max-steps 8 --save-steps 2 --save-total-limit 5")
    assert code == 1 and "Traceback" not in err, err[-3000:]
    line = error_line(err)
    assert "No space left on" in line and "free" in line and "choose another --output" in line and "--resume continues" in line
    assert folder["checkpoints"] and all(folder["checkpoints"].values()), folder  # only whole checkpoints remain
    assert not any(name.endswith(".tmp") for name in folder["files"])


def test_a_full_disk_during_the_final_save_keeps_the_old_model(tmp_path):
    old = tmp_path / "old"
    assert main(["train", "--sample", *TINY, "--output", str(old)]) == 0
    weights = (old / "model.safetensors").stat().st_size
    size = f"{(weights + 2_000_000) // 1024}k"  # the old model fits; a second copy of the weights does not
    code, err, folder = run_on_small_disk(tmp_path, size, "--max-steps 1 --save-steps 100 --overwrite", seed=old)
    assert code == 1 and "Traceback" not in err, err[-3000:]
    assert "No space left on" in error_line(err) and "The model could not be saved" in error_line(err)
    assert folder["has_model"] and not folder["incomplete"]
    assert folder["files"]["model.safetensors"] == weights and ".staging" not in " ".join(folder["files"])


# --- hostile model folders, bounded generation (issue 18) -----------------------------------------
def _offline_model() -> Path:
    from huggingtweets.pretrained import converted_folder

    return converted_folder()


OFFLINE_MODEL = _offline_model()  # where quickstart.sh converted it, read before a test moves the cache
class Boom:
    """A pickle that would write a file if unpickling ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def hostile_folder(work: Path, gpt2_folder: str, **files) -> Path:
    import shutil

    bot = work / "bot"
    shutil.copytree(gpt2_folder, bot)
    for name, content in files.items():
        if content is None:
            (bot / name).unlink()
        else:
            (bot / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return bot


def pickled(obj) -> bytes:
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def generation_config_with(gpt2_folder, **fields) -> str:
    data = json.loads((Path(gpt2_folder) / "generation_config.json").read_text())
    return json.dumps({**data, **fields})


@pytest.mark.parametrize("files, needle", [
    (lambda m: {"model.safetensors": None, "pytorch_model.bin": pickled(Boom(m))}, "The weights in"),
    (lambda m: {"model.safetensors": b"\x08\x00\x00\x00\x00\x00\x00\x00{broken}"}, "model.safetensors"),
    (lambda m: {"model.safetensors": None, "pytorch_model.bin": b"PK\x03\x04 not a zip"}, "pytorch_model.bin"),
    (lambda m: {"tokenizer.json": '{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["x", "y"]]}}'}, "The tokenizer in"),
], ids=["malicious pickle", "corrupt safetensors", "corrupt pickle", "broken tokenizer.json"])
def test_a_hostile_model_folder_is_one_line_and_runs_nothing(files, needle, work, capsys, gpt2_folder):
    marker = work.parent / "pwned"
    hostile_folder(work, gpt2_folder, **files(marker))
    before = snapshot(work)
    assert main(["generate", "bot", "the lamp", "-n", "1"]) == 1
    out, err = capsys.readouterr()
    assert needle in error_line(err) and "Traceback" not in err
    assert not marker.exists(), "unpickling ran code"
    assert snapshot(work) == before


def test_a_tokenizer_panic_is_one_line(work, capsys, gpt2_folder, monkeypatch):
    """pyo3 turns a Rust panic into PanicException, a BaseException that ``except Exception`` misses."""
    PanicException = type("PanicException", (BaseException,), {})

    def panic(*args, **kwargs):
        raise PanicException("called `Result::unwrap()` on an `Err` value: regex too big")

    hostile_folder(work, gpt2_folder)
    monkeypatch.setattr("transformers.AutoTokenizer.from_pretrained", panic)
    assert main(["generate", "bot", "the lamp", "-n", "1"]) == 1
    assert "The tokenizer in bot could not be loaded" in error_line(capsys.readouterr().err)


@pytest.mark.parametrize("fields", [
    {"num_beams": 8000}, {"return_dict_in_generate": True, "output_scores": True}, {"num_beam_groups": 4, "num_beams": 8},
    {"eos_token_id": 10**12}, {"max_length": 10**9, "min_new_tokens": 10**6},
], ids=["8000 beams", "return dict", "beam groups", "eos out of vocabulary", "endless lengths"])
def test_generation_config_of_a_folder_cannot_change_the_cost_or_the_result(fields, work, capsys, gpt2_folder):
    hostile_folder(work, gpt2_folder, **{"generation_config.json": generation_config_with(gpt2_folder, **fields)})
    assert main(["generate", "bot", "the lamp", "-n", "3", "--seed", "1", "--json", "--max-new-tokens", "8"]) == 0
    out, err = capsys.readouterr()
    tweets = json.loads(out)
    assert len(tweets) == 3 and all(t["text"].startswith("the lamp") for t in tweets)
    assert "note: generation_config.json: ignored" in err


def test_prompts_and_counts_are_capped(work, capsys, gpt2_folder):
    hostile_folder(work, gpt2_folder)
    assert main(["generate", "bot", "word " * 7900, "-n", "100"]) == 1
    assert "the prompt is too long" in error_line(capsys.readouterr().err)
    assert main(["generate", "bot", "the lamp", "-n", "100000"]) == 1
    assert "between 1 and 100" in error_line(capsys.readouterr().err)


def test_generation_runs_in_batches_within_the_memory_budget(work, gpt2_folder, monkeypatch):
    from huggingtweets.config import SamplingConfig
    from huggingtweets.generation import kv_bytes_per_token, load_generator

    generator = load_generator(hostile_folder(work, gpt2_folder))
    tokens = 1 + len(generator.tokenizer("the lamp", add_special_tokens=False)["input_ids"]) + 30
    per_tweet = kv_bytes_per_token(generator.model) * tokens
    monkeypatch.setenv("HUGGINGTWEETS_GENERATION_MB", str(per_tweet * 7 / MB))  # 7 tweets per call
    calls = []
    original = generator.model.generate

    def counted(**kwargs):
        calls.append(kwargs["num_return_sequences"])
        return original(**kwargs)

    monkeypatch.setattr(generator.model, "generate", counted)
    tweets = generator.generate(SamplingConfig(prompt="the lamp", n=20, max_new_tokens=30, seed=3))
    assert len(tweets) == 20 and calls == [7, 7, 6]
    monkeypatch.setenv("HUGGINGTWEETS_GENERATION_MB", "0.0001")
    with pytest.raises(HuggingTweetsError, match="MB of memory per tweet"):
        generator.generate(SamplingConfig(prompt="the lamp", n=2))


def test_no_held_out_tweet_is_said_and_not_invented(work, capsys):
    (work / "same.txt").write_text("the keeper says the bread rises slowly by the lamp at night and gulls argue\n" * 500)
    assert main(["train", "same.txt", *TINY, "--output", "same"]) == 0
    err = capsys.readouterr().err
    assert "warning: No tweet could be held out" in err
    card = (work / "same" / "README.md").read_text()
    assert "the held-out loss was not measured" in card and "Held-out loss" not in card
    assert "eval_loss" not in json.loads((work / "same" / "metrics.json").read_text())


def test_resume_refuses_a_hostile_optimizer_state(work, capsys, monkeypatch):
    from huggingtweets.training import StopSignal, TrainCallback, fine_tune
    from conftest import tweet_dataset

    stop = StopSignal()

    class StopAt2(TrainCallback):
        def on_step(self, state):
            if state.step >= 2:
                stop.request()

    config = TrainConfig(model="tiny", output_dir=str(work / "run"), block_size=32, save_steps=100, max_steps=6)
    assert fine_tune(config, tweet_dataset(), [StopAt2()], stop).stopped
    checkpoint = next((work / "run" / "checkpoints").glob("checkpoint-*"))
    marker = work.parent / "pwned"
    (checkpoint / "optimizer.pt").write_bytes(pickled(Boom(marker)))
    assert main(["train", "--resume", "--output", "run"]) == 1
    line = error_line(capsys.readouterr().err)
    assert "optimizer.pt in" in line and "is damaged or not plain training state" in line
    assert not marker.exists()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the child's peak RSS from /proc (Linux)")
@pytest.mark.parametrize("args, fields, code", [
    (["bot", "word " * 7900, "-n", "100"], {}, 1),
    (["bot", "My dream is", "-n", "5", "--max-new-tokens", "20"], {"num_beams": 8000}, 0),
], ids=["7,900-word prompt", "8000 beams"])
def test_generation_with_the_offline_model_stays_under_1_5_gb(args, fields, code, work):
    from huggingtweets.pretrained import SMOLLM2

    source = OFFLINE_MODEL
    if not (source / "config.json").exists():
        pytest.skip(f"the offline {SMOLLM2} is not converted here (quickstart.sh does it)")
    bot = hostile_folder(work, str(source))
    if fields:
        (bot / "generation_config.json").write_text(generation_config_with(str(source), **fields))
    rc, err, peak = run_child(["generate", *args], work)
    assert rc == code, err[-2000:]
    assert "Traceback" not in err
    assert peak < 1.5 * GiB, f"peak RSS {peak / MB:.0f} MB"


def test_a_write_where_nothing_can_be_written_is_not_a_full_disk(tmp_path):
    """/proc has no size (free 0): a missing folder there, or a denied write, is said as it is,
    never "No space left on /proc"."""
    from huggingtweets.diskio import disk_full

    for where in ("/proc/x.zip", "/proc/nowhere/x.zip"):
        try:
            open(where, "wb").close()
        except OSError as err:
            assert not disk_full(err, where), where
    assert not disk_full(PermissionError(13, "Permission denied"), tmp_path / "x")
    assert disk_full(OSError(28, "No space left on device"), tmp_path / "x")
