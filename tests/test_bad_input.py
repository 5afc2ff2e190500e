"""Bad input, tried as an attacker would (issue 9): the matrix. Its other topics have a module
each (test_bad_memory, test_failed_runs, test_safe_text, test_token_messages, test_full_disk,
test_hostile_folders), sharing bad_input_kit.py.

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

from dataclasses import dataclass
from typing import Callable, Optional

import pytest

from huggingtweets.cli import main

from bad_input_kit import MB, TINY, both, error_line, lines, no_wandb_login, snapshot, write
from bad_input_kit import DAMAGED_AUTHOR, DAMAGED_TEXTS, deep_tweets_js, jsonl_with_surrogate, model_with_dataset, unfinished_run


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


