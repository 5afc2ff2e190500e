"""Load any causal language model, or build the offline ``tiny`` one.

``tiny`` is a small GPT-2 trained from scratch with a byte-level BPE tokenizer
trained on the tweets themselves: it needs no hub access and trains in about a
minute on a laptop CPU. It sounds like the author only roughly, but it runs the
real pipeline end to end (save, ``from_pretrained``, ``pipeline``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Optional, Sequence

from .config import is_tiny
from .errors import HuggingTweetsError, first_line, is_failure
from .folder import MODEL_CONFIG
from .pretrained import SMOLLM2, hub_offline, resolve

EOS = "<|endoftext|>"


def train_tokenizer(texts: Iterable[str], vocab_size: int = 2000):
    """A byte-level BPE tokenizer (GPT-2's scheme) trained on ``texts``, as a transformers tokenizer."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(list(texts), vocab_size=vocab_size, min_frequency=2, special_tokens=[EOS], show_progress=False)
    # GPT2TokenizerFast(vocab_file, merges_file) silently yields an empty vocabulary in
    # transformers 5; wrapping the trained object keeps the vocabulary.
    return PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=EOS, bos_token=EOS, unk_token=EOS, pad_token=EOS)


# The ``tiny`` model: small enough to train in about a minute on 2 CPU cores,
# large enough to pick up the author's words and rhythm from a few hundred tweets.
TINY_VOCAB = 2000
TINY_LAYERS = 4
TINY_HEADS = 4
TINY_WIDTH = 128


def build_tiny(texts: Sequence[str], block_size: int = 128, seed: int = 42):
    """A fresh small GPT-2 and a byte-level BPE tokenizer trained on ``texts``."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = train_tokenizer(texts, vocab_size=TINY_VOCAB)
    eos = tokenizer.eos_token_id
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=max(block_size, 256),
        n_embd=TINY_WIDTH,
        n_layer=TINY_LAYERS,
        n_head=TINY_HEADS,
        bos_token_id=eos,
        eos_token_id=eos,
        pad_token_id=eos,
    )
    torch.manual_seed(seed)  # the initial weights are part of the run's reproducibility
    return GPT2LMHeadModel(config), tokenizer


MAX_MODEL_CONFIG_BYTES = 16 << 20  # config.json is a few kilobytes
PICK_ANOTHER = "give a model folder, a Hub name like gpt2, or tiny"


def check_model_folder(folder, hint: str = PICK_ANOTHER) -> None:
    """A local model folder's ``config.json`` is a JSON object naming an architecture this
    transformers knows; else one line that says which and ends with ``hint``.

    transformers itself fails on these with a TypeError (a list), or with "Couldn't instantiate
    the backend tokenizer" (an unknown ``model_type``), which names neither the file nor the fix.
    """
    import transformers
    from transformers import CONFIG_MAPPING

    if Path(folder).expanduser().is_file():
        raise HuggingTweetsError(f"{folder} is a file, not a model folder: {hint}.")
    path = Path(folder).expanduser() / MODEL_CONFIG
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_MODEL_CONFIG_BYTES + 1)
        if len(raw) > MAX_MODEL_CONFIG_BYTES:
            raise HuggingTweetsError(f"{path} is over {MAX_MODEL_CONFIG_BYTES >> 20} MiB, not a model config: {hint}.")
        data = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise HuggingTweetsError(f"No model in {folder} (no config.json): {hint}.") from None
    except (ValueError, RecursionError):  # not UTF-8, not JSON, too deep, a number too long
        raise HuggingTweetsError(f"{path} is not valid JSON, so {folder} holds no usable model: {hint}.") from None
    except OSError as err:
        raise HuggingTweetsError(f"Cannot read {path}: {err.strerror or err}.") from None
    if not isinstance(data, dict):
        raise HuggingTweetsError(f"{path} is not a model config (a JSON object with a model_type): {hint}.")
    kind = data.get("model_type")
    if not isinstance(kind, str) or not kind:
        raise HuggingTweetsError(f"{path} names no model_type, so transformers cannot tell the architecture: {hint}.")
    if kind not in CONFIG_MAPPING:
        raise HuggingTweetsError(
            f"{path} names model_type {kind[:40]!r}, which transformers {transformers.__version__} does not know: "
            f"upgrade transformers (pip install -U transformers), or {hint}."
        )


def load_causal_lm(name: str, hint: str, dtype=None):
    """Tokenizer and model from the Hub or a folder, each failure one line naming what failed.

    A folder is checked first (``check_model_folder``); where it has safetensors weights only
    those are read (no pickle), and a pickle (``pytorch_model.bin``) is read by transformers
    with ``weights_only=True``: a file that would run code fails to load instead. No remote
    code is ever run (``trust_remote_code`` stays off).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    local = Path(name).expanduser()
    safetensors = None
    if local.exists():
        check_model_folder(local, hint)
        safetensors = True if any(local.glob("*.safetensors")) else None
    where = f"in {name}" if local.exists() else f"of '{name}'"
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
    except BaseException as err:
        if not is_failure(err):
            raise
        raise HuggingTweetsError(f"The tokenizer {where} could not be loaded ({_files(local, 'tokenizer')}{first_line(err)[:200]}): {hint}.") from None
    try:
        model = AutoModelForCausalLM.from_pretrained(name, dtype=dtype, use_safetensors=safetensors)
    except BaseException as err:
        if not is_failure(err):
            raise
        raise HuggingTweetsError(f"The weights {where} could not be loaded ({_files(local, 'model')}{first_line(err)[:200]}): {hint}.") from None
    return model, tokenizer


def _files(folder: Path, stem: str) -> str:
    """``model.safetensors: `` (the files a failure concerns), for the one-line message."""
    if not folder.is_dir():
        return ""
    names = sorted(p.name for p in folder.iterdir() if p.name.startswith(stem) or (stem == "model" and p.name.startswith("pytorch_model")))
    return f"{', '.join(names[:3])}: " if names else ""


def load_pretrained(name: str):
    """Any causal LM on the Hub or in a local folder, with a pad token set when missing."""
    local = Path(name).expanduser()
    hint = ("Hub access is off (HF_HUB_OFFLINE): " if hub_offline() and not local.exists() else "") + \
        "check the name, or use a local folder or --model tiny"
    model, tokenizer = load_causal_lm(name, hint)
    if tokenizer.eos_token_id is None:
        raise HuggingTweetsError(f"Model '{name}' has no end-of-text token: choose a causal language model.")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token  # batched generation and packing need one
    if getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def check_model(name: str, progress=None) -> None:
    """Fail fast, before any (paid) download of tweets, on a model that cannot load.

    Catches a missing or empty local folder, and a Hub name that is not cached while
    Hub access is off. Named models (``smollm2-135m``) are resolved here, converting
    the offline copy once if needed. Online Hub names are checked when they load.
    """
    if is_tiny(name):
        return
    name = resolve(name, progress=progress).path
    local = Path(name).expanduser()
    # A Hub id is "name" or "org/name"; anything else path-shaped is a folder.
    path_shaped = name.startswith((".", "/", "~")) or name.count("/") >= 2 or "\\" in name
    if local.exists() or path_shaped:
        check_model_folder(name)
        return
    if hub_offline():
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(name, MODEL_CONFIG), str):
            raise HuggingTweetsError(f"Model '{name}' is not in the local Hub cache and Hub access is off (HF_HUB_OFFLINE): use {SMOLLM2}, a local folder or --model tiny.")


def load_model(name: str, texts: Sequence[str] = (), block_size: int = 128, seed: int = 42):
    """``tiny`` builds a model from scratch on ``texts``; a named model resolves; anything else is loaded."""
    if is_tiny(name):
        return build_tiny(texts, block_size, seed)
    return load_pretrained(resolve(name).path)


def ensure_eos_prefix(tokenizer) -> None:
    """Make the tokenizer put end-of-text before every prompt, as the model saw before every tweet.

    The original huggingtweets prefixed prompts with ``<|endoftext|>`` by hand; doing it in
    the tokenizer's post-processor (saved in tokenizer.json) means the card's plain
    ``pipeline('text-generation', model=...)`` snippet gets it too. Tokenizers that
    already add a start token (Llama's ``<s>``) are left alone.
    """
    from tokenizers import processors

    eos, eos_id = tokenizer.eos_token, tokenizer.eos_token_id
    probe = tokenizer("a")["input_ids"]
    if probe and probe[0] in (eos_id, tokenizer.bos_token_id) and tokenizer("a", add_special_tokens=False)["input_ids"] != probe:
        return  # already adds a start token
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return  # a slow tokenizer: generation.py still prefixes prompts itself
    template = processors.TemplateProcessing(single=f"{eos} $A", pair=f"{eos} $A {eos} $B", special_tokens=[(eos, eos_id)])
    current = backend.post_processor
    backend.post_processor = template if current is None else processors.Sequence([current, template])


def max_positions(model) -> Optional[int]:
    """The longest sequence ``model``'s position table holds (None: no limit known)."""
    for name in ("n_positions", "max_position_embeddings"):
        value = getattr(model.config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def keeps_posts_apart(model, eos_id: int) -> bool:
    """Whether ``model`` reads position ids that restart at each end-of-text as separate posts
    (transformers' packed-sequence masks): the second of two packed posts gets the same logits
    as when it is alone. An architecture that does not (it would attend across posts with
    repeated positions) trains with ordinary packing instead."""
    import torch

    a, b = [eos_id, 5, 6, 7], [eos_id, 8, 9]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            device = next(model.parameters()).device
            packed = model(input_ids=torch.tensor([a + b], device=device), use_cache=False,  # a cache turns packing off
                           position_ids=torch.tensor([list(range(len(a))) + list(range(len(b)))], device=device)).logits[0, len(a):]
            alone = model(input_ids=torch.tensor([b], device=device), use_cache=False).logits[0]
        return bool(torch.allclose(packed.float(), alone.float(), atol=1e-3, rtol=1e-3))
    except Exception:  # an architecture that refuses position ids
        return False
    finally:
        model.train(was_training)


# Sampling's top-p sorts the whole vocabulary at every token: for Gemma's 262,144 tokens that sort,
# over a batch of 48 rows, costs more than the model itself. Past ``BIG_VOCAB`` the nucleus is
# taken among the ``NUCLEUS_CAP`` likeliest tokens (``torch.topk``, no full sort; top-k then top-p,
# as transformers orders the two), which holds it whole but for the flattest distributions.
BIG_VOCAB = 100_000
NUCLEUS_CAP = 1024


class _CappedNucleus:
    """Temperature, then top-p among the ``k`` likeliest tokens (a transformers logits processor)."""

    def __init__(self, top_p: float, temperature: float, k: int = NUCLEUS_CAP):
        self.top_p, self.temperature, self.k = top_p, temperature, k

    def __call__(self, input_ids, scores):
        import torch

        scores = scores / self.temperature
        values, indices = scores.topk(min(self.k, scores.shape[-1]), dim=-1)  # largest first
        probs = values.softmax(dim=-1)  # top-k, then top-p among them (as transformers orders its two filters)
        keep = probs.cumsum(-1) - probs < self.top_p  # up to and including the token that reaches top_p
        keep[..., 0] = True
        out = torch.full_like(scores, float("-inf"))
        return out.scatter(-1, indices, values.masked_fill(~keep, float("-inf")))


class _Draw:
    """The draw that ends sampling, as a logits processor for greedy decoding: one token per row
    from the warped scores' distribution, by the inverse of its cumulative sum; every other
    token is set to -inf, so generate()'s argmax takes it. ``torch.multinomial`` over SmolLM2's
    49,152 tokens took 50 ms a step for 91 posts (6 s of the voice score's 28 s of sampling,
    2-core AMD EPYC, AVX512-BF16), this about 5 ms. Seeded by torch's global generator."""

    def __call__(self, input_ids, scores):
        import torch

        cum = scores.float().softmax(-1).cumsum(-1)
        total = cum[:, -1:]
        point = torch.minimum(torch.rand_like(total) * total, torch.nextafter(total, torch.zeros_like(total)))
        tokens = torch.searchsorted(cum, point, right=True)  # the first token whose running sum passes the point: never one of no chance
        return torch.full_like(scores, float("-inf")).scatter_(-1, tokens, 0.0)


def sampling_args(model, top_p: float, temperature: float, top_k: int = 0) -> dict:
    """``generate``'s arguments for nucleus sampling from ``model``: transformers' own warpers
    (temperature, top-k when > 0, top-p; ``_CappedNucleus`` for a big vocabulary), then
    ``_Draw``, under greedy decoding (no ``num_return_sequences``: repeat the prompt instead)."""
    from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    embeddings = model.get_output_embeddings()
    vocab = embeddings.weight.shape[0] if embeddings is not None else getattr(model.config, "vocab_size", 0)
    if vocab > BIG_VOCAB:
        warpers = [_CappedNucleus(top_p, temperature)]
    else:
        warpers = [TemperatureLogitsWarper(temperature)] if temperature != 1.0 else []
        warpers += [TopKLogitsWarper(top_k)] if top_k > 0 else []
        warpers += [TopPLogitsWarper(top_p)] if top_p < 1.0 else []
    return {"do_sample": False, "logits_processor": LogitsProcessorList([*warpers, _Draw()])}
