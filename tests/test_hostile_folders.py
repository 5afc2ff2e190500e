"""Hostile model folders run nothing and end in one line; generation stays bounded whatever a
folder's generation config says (issue 18)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from huggingtweets.cli import main
from huggingtweets.config import TrainConfig
from huggingtweets.errors import HuggingTweetsError

from bad_input_kit import GiB, MB, TINY, error_line, run_child, snapshot


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


@pytest.mark.slow
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
        calls.append(kwargs["input_ids"].shape[0])  # one row a tweet: the prompt repeated
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


@pytest.mark.slow  # trains a few steps: seconds
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


@pytest.mark.subprocess
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


