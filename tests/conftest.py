"""Shared fixtures: small tokenizers and models built locally (no hub access)."""

import os

import pytest

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

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
