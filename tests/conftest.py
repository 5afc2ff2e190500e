"""Shared fixtures: small tokenizers and models built locally (no hub access)."""

import os
import random

import pytest

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The network tests serve FORMATS.md's shapes from local servers: allowed here on purpose
# (tests/test_addresses.py turns it off to check the refusals).
os.environ.setdefault("HUGGINGTWEETS_ALLOW_PRIVATE_HOSTS", "1")

# Markers by cost (setup.cfg lists them). The costly kinds are slow too, so `-m "not slow"`
# leaves out every test that launches, runs a kernel or a browser, or loads a real model.
COSTLY = ("subprocess", "kernel", "browser", "pretrained")


# Fixtures that train a model (once per module or session): a test that needs one is slow.
TRAINING_FIXTURES = {"trained_folder", "model_dir", "trained_app", "trained", "trained_tiny", "llama_trained", "wren_model", "ordered_lm",
                     "switched", "executed"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        costly = any(item.get_closest_marker(kind) for kind in COSTLY) or TRAINING_FIXTURES & set(item.fixturenames)
        if costly and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


WORDS = (
    "the lamp is lit and the bread is rising while bees sleep under a grey sea "
    "gulls argue about crusts on the rail my dream is a quiet harbour at dawn"
).split()


def make_texts(n: int, seed: int = 0) -> list[str]:
    """Deterministic pseudo-tweets from a small vocabulary (for tokenizers and packing)."""
    import random

    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 18))) for _ in range(n)]


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from huggingtweets.models import train_tokenizer

    return train_tokenizer(make_texts(400), vocab_size=300)


def tweet_dataset(n: int = 220, handle: str = "wren", seed: int = 0):
    """A TweetDataset of ``n`` pseudo-tweets by one author (enough text to pass the volume check)."""
    from huggingtweets.dataset import build_dataset
    from huggingtweets.sources.base import Author, AuthorTweets, Tweet

    texts = make_texts(n, seed)
    raw = AuthorTweets(Author(handle, handle.title()), [Tweet(str(i), t) for i, t in enumerate(texts)])
    return build_dataset([raw], validation_fraction=0.1, seed=seed)


def _crash_at():
    from huggingtweets.training import TrainCallback

    class CrashAt(TrainCallback):
        """Raises KeyboardInterrupt at a step: a Colab disconnect, as the process sees it."""

        def __init__(self, step):
            self.step = step

        def on_step(self, state):
            if state.step == self.step:
                raise KeyboardInterrupt

    return CrashAt


CrashAt = _crash_at()


def _save_model(folder, config, tokenizer):
    from transformers import AutoModelForCausalLM

    import torch

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def gpt2_folder(tmp_path_factory, tiny_tokenizer):
    """A small pretrained-style GPT-2 folder, as `--model PATH` would get."""
    from transformers import GPT2Config

    eos = tiny_tokenizer.eos_token_id
    config = GPT2Config(vocab_size=len(tiny_tokenizer), n_positions=128, n_embd=32, n_layer=2, n_head=2, bos_token_id=eos, eos_token_id=eos)
    return _save_model(tmp_path_factory.mktemp("gpt2"), config, tiny_tokenizer)


@pytest.fixture(scope="session")
def llama_folder(tmp_path_factory, tiny_tokenizer):
    """A small non-GPT-2 architecture (Llama) folder."""
    from transformers import LlamaConfig

    eos = tiny_tokenizer.eos_token_id
    config = LlamaConfig(
        vocab_size=len(tiny_tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128, bos_token_id=eos, eos_token_id=eos,
    )
    return _save_model(tmp_path_factory.mktemp("llama"), config, tiny_tokenizer)


# --- notebook kernels (tests/test_notebook.py, tests/test_browser.py) -------------------
def venv_kernelspec(folder):
    """A ``python3`` kernelspec running *this* interpreter, to put first on JUPYTER_PATH.

    A ``python3`` kernelspec elsewhere (``~/.local/share/jupyter``, another Python)
    would otherwise win; nothing under the repository or the venv is modified.
    """
    import json
    import sys
    from pathlib import Path

    folder = Path(folder)
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (huggingtweets tests)",
        "language": "python",
    }))
    return folder


def demo_env(tmp) -> dict:
    """Environment for a demo-mode kernel whose cache and outputs stay under ``tmp``.

    The checkout comes first on PYTHONPATH: kernels start in ``tmp``, where an editable
    install of another checkout would otherwise be imported instead of this one.
    """
    from pathlib import Path

    checkout = str(Path(__file__).resolve().parents[1])
    return {
        "PYTHONPATH": os.pathsep.join(p for p in (checkout, os.environ.get("PYTHONPATH", "")) if p),
        "HUGGINGTWEETS_DEMO": "tiny",  # the pretrained demo runs once, in test_benchmarks.py (bench_demo)
        "HUGGINGTWEETS_CACHE": str(tmp / "cache"),
        "WANDB_MODE": "offline",
        "WANDB_DIR": str(tmp),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "JUPYTER_PATH": str(venv_kernelspec(tmp / "jupyter")),
    }


# --- the voice score (tests/test_voice.py, the app's badges) ----------------------------------
# Fewer imitations and posts than a real score takes: the same steps, in seconds.
SMALL_SCORE = {"N_FIT": 120, "N_HELD": 40, "N_POSTS": 40}
SUBJECTS = ["the keeper", "a gull", "my neighbour", "the ferry", "old gerald", "the baker", "a crab", "the lamp", "the postman",
            "a heron", "the harbour cat", "my sister", "the coastguard", "a seal", "the vicar", "the fog"]
VERBS = ["watches", "carries", "forgets", "paints", "counts", "mends", "follows", "hides", "sells", "drops", "finds", "ignores"]
OBJECTS = ["the bread", "a rope", "the tide", "the kettle", "a letter", "the rocks", "the clock", "a basket", "the nets",
           "a lantern", "the chimney", "my boots", "the map", "a shell", "the gate", "the stew"]
TIMES = ["at dawn", "before supper", "every tuesday", "in the rain", "after the storm", "by the pier", "all night", "again",
         "on sundays", "at low tide", "since march", "for a laugh"]


def sentences(n: int, seed: int, style: str = "plain") -> list[str]:
    """Ordered sentences from a small grammar; ``wren`` writes them capitalised, with a last word of her own."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TIMES)}"
        out.append(s[0].upper() + s[1:] + ", och!" if style == "wren" else s + ".")
    return out


# --- a whole model folder --------------------------------------------------------------------
@pytest.fixture(scope="session")
def ordered_lm(tmp_path_factory):
    """A small GPT-2 that learned word order from plain sentences: a base model for the score."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from huggingtweets.models import train_tokenizer

    texts = sentences(600, 10) + sentences(200, 11, "wren")
    tokenizer = train_tokenizer(texts + ["\n".join(texts[i : i + 4]) for i in range(0, 40, 4)], vocab_size=300)
    eos = tokenizer.eos_token_id
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=256, n_embd=64, n_layer=2, n_head=2, bos_token_id=eos,
                        eos_token_id=eos, pad_token_id=eos)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config)
    # documents of a few sentences, one a line, as a pretrained model has seen lists
    docs = ["\n".join(texts[i : i + 4]) for i in range(0, len(texts), 4)]
    rows = [[eos] + tokenizer(d, add_special_tokens=False)["input_ids"] + [eos] for d in docs]
    width = max(map(len, rows))
    ids = torch.tensor([r + [eos] * (width - len(r)) for r in rows])
    labels = torch.tensor([r + [-100] * (width - len(r)) for r in rows])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(150):
        batch = torch.randint(0, len(rows), (16,), generator=generator)
        loss = model(input_ids=ids[batch], labels=labels[batch]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    folder = tmp_path_factory.mktemp("ordered-lm")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def wren_model(ordered_lm, tmp_path_factory):
    """A model fine-tuned from ``ordered_lm`` on wren's sentences, its voice scored (``SMALL_SCORE``)."""
    from huggingtweets import voice
    from huggingtweets.config import TrainConfig
    from huggingtweets.dataset import build_dataset
    from huggingtweets.sources.base import Author, AuthorTweets, Tweet
    from huggingtweets.training import fine_tune

    raw = AuthorTweets(Author("wren", "Wren"), [Tweet(str(i), t) for i, t in enumerate(sentences(300, 20, "wren"))])
    out = tmp_path_factory.mktemp("wren") / "model"
    config = TrainConfig(model=ordered_lm, output_dir=str(out), epochs=2, learning_rate=1e-3, voice_score=False,
                         batch_size=8, warmup=0.0, within_post=False,
                         validation_fraction=0.2, save_steps=0, logging_steps=5)
    fine_tune(config, build_dataset([raw]))
    with pytest.MonkeyPatch.context() as patch:
        for name, value in SMALL_SCORE.items():
            patch.setattr(voice, name, value)
        voice.score_folder(out, cache_dir=out.parent / "cache")
    return out


@pytest.fixture
def small_score(monkeypatch):
    """Fewer imitations and posts than a real score takes: the same steps, in seconds."""
    from huggingtweets import voice

    for name, value in SMALL_SCORE.items():
        monkeypatch.setattr(voice, name, value)




# --- the bad-input tests (bad_input_kit.py and its topics) ------------------------------------
@pytest.fixture
def work(tmp_path, monkeypatch):
    """An empty working folder, the current directory, its cache inside it, no X token."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HUGGINGTWEETS_CACHE", str(folder / "cache"))  # inside the snapshot
    for name in ("X_BEARER_TOKEN", "TWITTER_BEARER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture(autouse=True)
def _no_visitor_wait(monkeypatch):
    """The app's visitor mode caps rate-limit waits for the whole process (HUGGINGTWEETS_MAX_WAIT_S):
    no test inherits it from another that ran before it in the same worker."""
    monkeypatch.delenv("HUGGINGTWEETS_MAX_WAIT_S", raising=False)


# --- trained once a session (copied where a test writes) --------------------------------------
@pytest.fixture(scope="session")
def trained_folder(tmp_path_factory):
    """A real model folder: the tiny model, a few steps, checkpoints kept (as after training).
    Read it; a test that writes takes ``model_dir``, its copy."""
    from huggingtweets.config import TrainConfig
    from huggingtweets.training import fine_tune

    out = tmp_path_factory.mktemp("trained") / "wren-bot"
    config = TrainConfig(model="tiny", output_dir=str(out), max_steps=4, save_steps=2, block_size=32, batch_size=8, logging_steps=2, keep_checkpoints=True)
    fine_tune(config, tweet_dataset())
    return out


@pytest.fixture
def model_dir(trained_folder, tmp_path):
    """A copy of ``trained_folder`` to write in, plus a stray file nobody meant to share."""
    import shutil

    folder = tmp_path / "wren-bot"
    shutil.copytree(trained_folder, folder, ignore=shutil.ignore_patterns("optimizer.pt"))
    (folder / "notes.txt").write_text("my private notes")
    return folder


@pytest.fixture(scope="session")
def trained_app(tmp_path_factory):
    """One app through steps 1 and 2 on the sample with the tiny model (``app_driver.FAST``).
    A module that needs more (tweets in step 3) sets it up from here in its own fixture; a test
    that changes the session's folder or step 2 takes its own app (tests/test_ui.py reads step 2
    as the run left it)."""
    from app_driver import fast
    from huggingtweets.ui import App

    app = App(demo="tiny", output_dir=tmp_path_factory.mktemp("ui"))
    app.data.button.click()
    fast(app)
    app.train.button.click()
    assert app.wait(timeout=600) and app.train.result is not None, app.train.part("message").value
    return app
