"""Export a model folder as one GGUF file, for llama.cpp, Ollama and LM Studio, with an Ollama Modelfile.

    export_gguf("wren-bot")                     # -> wren-bot.gguf and wren-bot.Modelfile beside the folder
    ollama create wren-bot -f wren-bot.Modelfile && ollama run wren-bot "My dream is"

What goes into the file (the ``gguf`` package writes it and maps each transformers name to
GGUF's through its own ``TensorNameMap``; ``LAYOUT`` only lists, in GGUF's names, the tensors
and shapes each architecture must have):

- the weights, read one tensor at a time from the folder's safetensors (each file first
  checked against the manifest the save recorded, as a share checks it), converted and
  written before the next is read: memory holds about one tensor, never the model. GPT-2
  keeps its ``Conv1D`` weights as (in, out), GGUF wants (out, in): they are transposed.
  Llama's query and key rows are reordered per head from the halves that transformers'
  rotary embedding pairs up to the adjacent pairs llama.cpp's rotates. Gemma's norm
  weights get 1 added (transformers scales by 1 + w, llama.cpp by w).
  ``f16``: matrices in float16, vectors (norms, biases) in float32; ``q8_0``: matrices in
  8-bit blocks of 32 (a quarter of fp32, close to f16 in quality; a matrix whose rows are
  not a multiple of 32 stays f16), vectors in float32;
- the architecture's sizes (context length, width, layers, heads, norm epsilon, rope);
- the tokenizer (``gguf_vocab.py``): byte-level BPE as ``tokenizer.ggml.model = "gpt2"``, every token in id
  order with its kind (normal, control, user-defined, unused), the merges, and the special
  ids; SentencePiece's (Gemma's) as ``"llama"``, with scores instead of merges and its byte
  pieces typed as bytes. Every tweet was trained as ``<end-of-text> tweet``, so the end-of-text token is also
  the begin token, added before each prompt (``add_bos_token``), as ``generate`` does;
- the folder's sampling settings (generation_config.json) as ``general.sampling.*``,
  which llama.cpp takes as its defaults.

The Modelfile (``NAME.Modelfile``, not ``Modelfile``: two models exported to one folder
must not share one) says ``FROM ./NAME.gguf``, a raw ``TEMPLATE "{{ .Prompt }}"`` (a base
model's completion, no chat), the same sampling settings as PARAMETER lines, and the
end-of-text token as its stop.

Before anything is read or written, the folder is held to its config.json (``_sizes``,
``LAYOUT``): each size positive, consistent (heads dividing the width, key/value heads the
heads) and within GGUF's 32-bit fields; every tensor in the safetensors headers one the
architecture has, once, in F32, F16 or BF16, of exactly the shape the config implies (so none
is empty and no size the file claims is believed without its bytes); every declared layer
whole; the embedding rows the tokenizer's tokens (up to ``gguf_vocab.MAX_UNNAMED_ROWS`` of padding).
Each refusal is one line.

Both files are written under temporary names beside the target and renamed at the end: a
failure (a full disk included) leaves neither, nor a half of one. The output may not be
inside the model folder, whose files are exactly what the save wrote. A huggingtweets
folder's card then gets a "Run it locally" section (card.py), under the folder's lock.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from .card import add_local_run
from .config import SamplingConfig
from .diskio import disk_full, no_space_message, replacing
from .errors import HuggingTweetsError, first_line, is_failure
from .folder import MODEL_CONFIG, ModelFolder, slug
from .gguf_vocab import Vocab, read_vocab, write_vocab
from .manifest import Shipped, export_target, read_all, ship_list, verify

Progress = Callable[[int, Optional[int], str], None]  # (tensors done, tensors in all, message)

QUANTIZE = ("f16", "q8_0")
SUFFIX = ".gguf"
MODELFILE_SUFFIX = ".Modelfile"
GENERATION_CONFIG = "generation_config.json"
TOKENIZER = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
# Buffers that older saves carry beside the weights and GGUF has no place for: recomputed at load.
BUFFERS = (".attn.bias", ".attn.masked_bias", ".rotary_emb.inv_freq")
MAX_BLOCKS = 1024  # layers; the largest open models have about 130
MAX_NUM_CTX = 2048  # Ollama's context in the Modelfile: a tweet and its prompt are a few dozen tokens
MAX_INT = 2**31 - 1  # GGUF keeps sizes and top_k in 32 bits


@dataclass
class GgufExport:
    gguf: Path  # NAME.gguf
    modelfile: Path  # NAME.Modelfile beside it
    name: str  # the name for `ollama create`
    quantize: str
    size: int  # bytes of the GGUF file
    seconds: float


# --- reading the folder -------------------------------------------------------------------------
def _json(files: dict[str, Shipped], name: str, required: bool = True) -> dict:
    item = files.get(name)
    if item is None:
        if required:
            raise HuggingTweetsError(f"The model folder has no {name}, so it cannot be exported to GGUF: train again.")
        return {}
    try:
        data = json.loads(read_all(item).decode("utf-8"))
    except (ValueError, RecursionError):
        raise HuggingTweetsError(f"{item.path} is not valid JSON: train again, or put the saved file back.") from None
    if not isinstance(data, dict):
        raise HuggingTweetsError(f"{item.path} is not a JSON object: train again, or put the saved file back.")
    return data


def _int(config: dict, name: str, default: Optional[int] = None) -> int:
    """A size from config.json: a whole number from 1 to ``MAX_INT`` (absent or null: ``default``)."""
    value = config.get(name)
    if value is None and default is not None:
        return default
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_INT:
        return value
    if value is None:
        raise _bad_config(f"gives no {name} (a whole number from 1 to {MAX_INT:,})")
    raise _bad_config(f"gives {name} = {value!r:.30}, not a whole number from 1 to {MAX_INT:,} (GGUF keeps sizes in 32 bits)")


def _bad_config(what: str) -> HuggingTweetsError:
    return HuggingTweetsError(f"config.json {what}: it is not a model training wrote, so it cannot be exported to GGUF; train again.")


def _float(config: dict, name: str, default: float) -> float:
    value = config.get(name, default)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok:
        raise _bad_config(f"gives {name} = {value!r:.40}, not a positive number")
    return float(value)


# --- what config.json says the weights are ------------------------------------------------------
# A folder is checked against its config before anything is read or written: the sizes (each
# positive, consistent, within GGUF's 32-bit fields), then every tensor's name, type and shape
# from the safetensors headers alone, then that each declared layer is whole. No size from the
# folder decides an allocation until the bytes behind it are known to be there.
CONFIG_NAMES = {  # _Sizes field -> config.json's name (transformers' GPT2Config, LlamaConfig)
    "gpt2": {"width": "n_embd", "layers": "n_layer", "heads": "n_head", "context": "n_positions", "ffn": "n_inner"},
    "llama": {"width": "hidden_size", "layers": "num_hidden_layers", "heads": "num_attention_heads", "heads_kv": "num_key_value_heads",
              "head_dim": "head_dim", "context": "max_position_embeddings", "ffn": "intermediate_size"},
}
CONFIG_NAMES["gemma3_text"] = CONFIG_NAMES["llama"]
# Every tensor a GGUF holds, by its GGUF name, with its shape as written ((out, in): GPT-2's
# Conv1D matrices are stored the other way round), in _Sizes' terms; "{i}": once per layer.
LAYOUT = {
    "gpt2": {
        "token_embd.weight": ("vocab", "width"), "position_embd.weight": ("context", "width"),
        "output_norm.weight": ("width",), "output_norm.bias": ("width",), "output.weight": ("vocab", "width"),
        "blk.{i}.attn_norm.weight": ("width",), "blk.{i}.attn_norm.bias": ("width",),
        "blk.{i}.attn_qkv.weight": ("qkv", "width"), "blk.{i}.attn_qkv.bias": ("qkv",),
        "blk.{i}.attn_output.weight": ("width", "width"), "blk.{i}.attn_output.bias": ("width",),
        "blk.{i}.ffn_norm.weight": ("width",), "blk.{i}.ffn_norm.bias": ("width",),
        "blk.{i}.ffn_up.weight": ("ffn", "width"), "blk.{i}.ffn_up.bias": ("ffn",),
        "blk.{i}.ffn_down.weight": ("width", "ffn"), "blk.{i}.ffn_down.bias": ("width",),
    },
    "llama": {
        "token_embd.weight": ("vocab", "width"), "output_norm.weight": ("width",), "output.weight": ("vocab", "width"),
        "blk.{i}.attn_norm.weight": ("width",),
        "blk.{i}.attn_q.weight": ("q", "width"), "blk.{i}.attn_k.weight": ("kv", "width"), "blk.{i}.attn_v.weight": ("kv", "width"),
        "blk.{i}.attn_output.weight": ("width", "q"),
        "blk.{i}.ffn_norm.weight": ("width",),
        "blk.{i}.ffn_gate.weight": ("ffn", "width"), "blk.{i}.ffn_up.weight": ("ffn", "width"), "blk.{i}.ffn_down.weight": ("width", "ffn"),
    },
}
# Gemma 3: a Llama with a norm on each head's query and key, and norms after attention and
# after the feed-forward as well as before (GGUF's ffn_norm is transformers' pre-feed-forward one).
LAYOUT["gemma3_text"] = dict(
    LAYOUT["llama"], **{"blk.{i}.attn_q_norm.weight": ("head_dim",), "blk.{i}.attn_k_norm.weight": ("head_dim",),
                        "blk.{i}.post_attention_norm.weight": ("width",), "blk.{i}.post_ffw_norm.weight": ("width",)})
# What llama.cpp's Gemma 3 fixes rather than reads (its llama-model.cpp): a local (sliding)
# layer five times in six, the last of each six global, and the local layers' rope base.
GEMMA3_PATTERN, GEMMA3_LOCAL_THETA = 6, 10000.0
LLAMA_BIASES = {  # config.json's flag -> the biases a Llama then has (llama.cpp reads them when present)
    "attention_bias": {"blk.{i}.attn_q.bias": ("q",), "blk.{i}.attn_k.bias": ("kv",), "blk.{i}.attn_v.bias": ("kv",),
                       "blk.{i}.attn_output.bias": ("width",)},
    "mlp_bias": {"blk.{i}.ffn_gate.bias": ("ffn",), "blk.{i}.ffn_up.bias": ("ffn",), "blk.{i}.ffn_down.bias": ("width",)},
}
FLOATS = ("F32", "F16", "BF16")  # safetensors dtypes a GGUF is made from
MAX_CONTEXT = 1 << 20  # tokens; llama.cpp may size its cache from it (SmolLM2: 8,192; GPT-2: 1,024)


@dataclass(frozen=True)
class _Arch:
    """What one architecture's export does differently, as data: ``ARCHITECTURES`` lists them."""

    gguf: str  # llama.cpp's name for it
    names: dict  # _Sizes field -> config.json's name
    layout: dict  # every tensor a GGUF holds: LAYOUT
    norm_and_rope: Callable[[dict, int, int], tuple[float, float]]  # (norm epsilon, rope base) from config.json, or a refusal
    rotary: bool = True  # rope (heads turn pairs: an even width); False: GPT-2's learned positions and LayerNorm
    conv1d: bool = False  # GPT-2's Conv1D matrices are stored (in, out)
    interleave_qk: bool = False  # transformers' rotate-half query/key rows -> llama.cpp's interleaved pairs
    norms_plus_one: bool = False  # Gemma's norms scale by (1 + weight); llama.cpp's by the weight
    writes_vocab: bool = False  # llama.cpp's Llama reads the vocabulary size from the metadata
    sliding_window: bool = False  # Gemma 3's local layers: their window, and the heads' width always written
    tied_default: bool = True  # transformers' tie_word_embeddings default for it
    config_biases: bool = False  # config.json's flags add biases (LLAMA_BIASES)


@dataclass(frozen=True)
class _Sizes:
    """config.json's sizes, each checked once; what the metadata says and the tensors must match."""

    vocab: int  # token embedding rows
    width: int
    layers: int
    heads: int
    heads_kv: int
    head_dim: int
    ffn: int  # feed-forward width
    context: int
    tied: bool  # the output matrix is the token embeddings
    eps: float  # the norms' epsilon
    rope_theta: float  # Llama and Gemma 3 (its global layers)
    biases: tuple[str, ...] = ()  # LLAMA_BIASES' flags config.json sets
    sliding_window: int = 0  # Gemma 3's local layers

    @property
    def qkv(self) -> int:  # GPT-2's fused query, key and value rows
        return 3 * self.width

    @property
    def q(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv(self) -> int:
        return self.heads_kv * self.head_dim


def _sizes(arch: str, config: dict) -> _Sizes:
    """config.json's sizes, or a one-line refusal; looked at before any tensor is."""
    names = ARCHITECTURES[arch].names
    width, heads, layers = (_int(config, names[n]) for n in ("width", "heads", "layers"))
    explicit = "head_dim" in names and config.get(names["head_dim"]) is not None  # a Llama may give its heads' width
    if not explicit and width % heads:
        raise _bad_config(f"gives {names['width']} = {width:,} and {names['heads']} = {heads:,}, and the heads do not divide the width")
    head_dim = _int(config, names["head_dim"]) if explicit else width // heads
    heads_kv = _int(config, names["heads_kv"], default=heads) if "heads_kv" in names else heads
    if heads % heads_kv:
        raise _bad_config(f"gives {heads:,} attention heads and {heads_kv:,} key/value heads, which do not divide them")
    kind = ARCHITECTURES[arch]
    if kind.rotary and head_dim % 2:
        raise _bad_config(f"gives heads {head_dim:,} wide, an odd number (rotary embedding turns pairs)")
    if layers > MAX_BLOCKS:  # the name map holds every block's names: a config is not trusted to size it
        raise _bad_config(f"gives {layers:,} layers, more than any model this exports ({MAX_BLOCKS:,})")
    context = _int(config, names["context"])
    if context > MAX_CONTEXT:
        raise _bad_config(f"gives {names['context']} = {context:,}, more than any model this exports ({MAX_CONTEXT:,} tokens)")
    ffn = _int(config, names["ffn"], default=4 * width)  # GPT-2's n_inner null: four times the width
    for what, value in (("feed-forward", ffn), ("query, key and value", 3 * width), ("attention", heads * head_dim)):
        if value > MAX_INT:
            raise _bad_config(f"makes the {what} layer {value:,} wide, more than GGUF's 32-bit fields hold ({MAX_INT:,})")
    eps, theta = kind.norm_and_rope(config, layers, head_dim)
    return _Sizes(
        vocab=_int(config, "vocab_size"), width=width, layers=layers, heads=heads, heads_kv=heads_kv, head_dim=head_dim,
        ffn=ffn, context=context, tied=config.get("tie_word_embeddings", kind.tied_default) is True,  # transformers' defaults
        eps=eps, rope_theta=theta, biases=tuple(f for f in LLAMA_BIASES if kind.config_biases and config.get(f) is True),
        sliding_window=_int(config, "sliding_window") if kind.sliding_window else 0,
    )


def _gemma3(config: dict, layers: int, head_dim: int) -> float:
    """The global layers' rope base, once config.json is a Gemma 3 that llama.cpp runs as it is
    (what it fixes rather than reads: the layer pattern, the local rope base, the attention scale)."""
    def refuse(what: str) -> HuggingTweetsError:
        return HuggingTweetsError(f"This Gemma 3 {what}, which llama.cpp's Gemma 3 does not: export it as a zip instead.")

    if config.get("hidden_activation", "gelu_pytorch_tanh") != "gelu_pytorch_tanh":
        raise refuse("uses another activation than tanh GELU")
    if config.get("attn_logit_softcapping") is not None or config.get("final_logit_softcapping") is not None:
        raise refuse("caps its logits")
    if config.get("use_bidirectional_attention"):
        raise refuse("attends both ways")
    if config.get("query_pre_attn_scalar", head_dim) != head_dim:
        raise refuse("scales its queries by another width than its heads'")
    pattern = ["full_attention" if (i + 1) % GEMMA3_PATTERN == 0 else "sliding_attention" for i in range(layers)]
    if config.get("layer_types", pattern) != pattern:
        raise refuse(f"does not make every {GEMMA3_PATTERN}th layer global")
    rope = config.get("rope_parameters") or {}
    full, local = (rope.get(k) if isinstance(rope, dict) else None for k in ("full_attention", "sliding_attention"))
    for kind in (full, local):
        if not isinstance(kind, dict) or kind.get("rope_type", "default") != "default":
            raise refuse("uses rope scaling or gives no rope parameters per kind of layer")
    if _float(local, "rope_theta", GEMMA3_LOCAL_THETA) != GEMMA3_LOCAL_THETA:
        raise refuse(f"gives its local layers another rope base than {GEMMA3_LOCAL_THETA:g}")
    return _float(full, "rope_theta", 1_000_000.0)


def _gpt2_norm(config: dict, layers: int, head_dim: int) -> tuple[float, float]:
    if config.get("activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
        raise HuggingTweetsError(
            "This GPT-2 uses another activation than GPT-2's (tanh GELU): llama.cpp would run it wrongly; export it as a zip instead."
        )
    return _float(config, "layer_norm_epsilon", 1e-5), 0.0


def _llama_norm(config: dict, layers: int, head_dim: int) -> tuple[float, float]:
    rope = config.get("rope_parameters") or config.get("rope_scaling") or {}
    rope_type = rope.get("rope_type", rope.get("type", "default")) if isinstance(rope, dict) else "default"
    if rope_type not in ("default", None):
        raise HuggingTweetsError(
            f"This Llama uses {str(rope_type)[:30]} rope scaling, which this export does not carry: export it as a zip instead."
        )
    return _float(config, "rms_norm_eps", 1e-6), _float(rope if isinstance(rope, dict) and "rope_theta" in rope else config, "rope_theta", 10000.0)


def _gemma3_norm(config: dict, layers: int, head_dim: int) -> tuple[float, float]:
    return _float(config, "rms_norm_eps", 1e-6), _gemma3(config, layers, head_dim)


# config.json's model_type -> what its export does (GGUF's name for it, sizes, tensors, conversions)
ARCHITECTURES = {
    "gpt2": _Arch("gpt2", CONFIG_NAMES["gpt2"], LAYOUT["gpt2"], _gpt2_norm, rotary=False, conv1d=True),
    "llama": _Arch("llama", CONFIG_NAMES["llama"], LAYOUT["llama"], _llama_norm, interleave_qk=True, writes_vocab=True,
                   tied_default=False, config_biases=True),
    "gemma3_text": _Arch("gemma3", CONFIG_NAMES["gemma3_text"], LAYOUT["gemma3_text"], _gemma3_norm, norms_plus_one=True,
                         sliding_window=True),
}


def _expected(arch: str, sizes: _Sizes) -> dict[str, tuple[int, ...]]:
    """Every tensor the GGUF must hold (the output matrix too, though a tied one is not written)."""
    layout = dict(ARCHITECTURES[arch].layout)
    for flag in sizes.biases:
        layout.update(LLAMA_BIASES[flag])
    out = {}
    for name, dims in layout.items():
        for i in range(sizes.layers) if "{i}" in name else (0,):
            out[name.format(i=i)] = tuple(getattr(sizes, d) for d in dims)
    return out


# --- sampling ---------------------------------------------------------------------------------
def _sampling(generation_config: dict) -> tuple[SamplingConfig, bool]:
    """The folder's sampling settings, each kept only when it is a setting ``generate`` accepts
    (else its default): no file can put text of its own into the Modelfile. ``(settings, do_sample)``."""
    settings = SamplingConfig()
    for name in ("temperature", "top_p", "top_k", "max_new_tokens", "repetition_penalty"):
        value = generation_config.get(name)
        if isinstance(value, float) and name in ("top_k", "max_new_tokens") and value.is_integer():
            value = int(value)
        if name == "top_k" and isinstance(value, int) and value > MAX_INT:
            continue  # more than GGUF holds: the default stands
        try:
            settings = settings.replace(**{name: value})
        except HuggingTweetsError:
            pass  # not a number, or out of range: the default stands
    return settings, generation_config.get("do_sample", True) is not False


def _quoted(text: str) -> str:
    if not text.isprintable():
        raise HuggingTweetsError(f"The end-of-text token {text!r:.40} holds characters a Modelfile cannot carry: train again.")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def modelfile_text(gguf_name: str, settings: SamplingConfig, do_sample: bool, stop: str, context: int) -> str:
    """The Ollama Modelfile: the weights, plain completion, the folder's sampling, the stop token."""
    temperature = settings.temperature if do_sample else 0  # greedy, as generation_config's do_sample false asks
    lines = [
        "# Made by huggingtweets. Plain completion: the prompt is the start of a tweet.",
        f"FROM ./{gguf_name}",
        'TEMPLATE "{{ .Prompt }}"',
        f"PARAMETER temperature {temperature:g}",
        f"PARAMETER top_p {settings.top_p:g}",
        f"PARAMETER top_k {settings.top_k}",  # 0: off, as in generate (Ollama's own default is 40)
        f"PARAMETER repeat_penalty {settings.repetition_penalty:g}",  # 1: off (Ollama's default would differ)
        f"PARAMETER num_predict {settings.max_new_tokens}",
        f"PARAMETER num_ctx {min(context, MAX_NUM_CTX)}",
        f"PARAMETER stop {_quoted(stop)}",
    ]
    return "\n".join(lines) + "\n"


# --- the tensors ------------------------------------------------------------------------------
@dataclass
class _Tensor:
    file: Path
    key: str  # the name in the safetensors file
    name: str  # the name in the GGUF file
    kind: object  # gguf.MODEL_TENSOR
    shape: tuple[int, ...]  # as written (after any transpose)
    qtype: object  # gguf.GGMLQuantizationType: F32, F16 or Q8_0

    def info(self) -> tuple:
        """``(shape, numpy dtype, bytes)`` as ``GGUFWriter.add_tensor_info`` takes them (Q8_0: blocks as bytes)."""
        import gguf
        import numpy as np

        Q = gguf.GGMLQuantizationType
        if self.qtype == Q.Q8_0:
            shape = gguf.quant_shape_to_byte_shape(self.shape, self.qtype)
            return shape, np.uint8, math.prod(shape)
        return self.shape, np.float16 if self.qtype == Q.F16 else np.float32, math.prod(self.shape) * (2 if self.qtype == Q.F16 else 4)


def _plan(arch: str, sizes: _Sizes, weights: list[Shipped], quantize: str) -> list[_Tensor]:
    """Every tensor to write, named, checked against config.json and typed, from the safetensors
    headers alone; then that nothing the config declares is missing."""
    import gguf

    names = gguf.get_tensor_name_map(_gguf_arch(arch), sizes.layers)
    expected = _expected(arch, sizes)
    Q = gguf.GGMLQuantizationType
    plan, seen = [], set()
    for item in weights:
        for key, dtype, stored in _headers(item):
            if key.endswith(BUFFERS):
                continue  # never read
            found = names.get_type_and_name(key, try_suffixes=(".weight", ".bias"))
            if found is None or found[1] not in expected:
                raise _no_place(item.name, key, arch, sizes)
            kind, name = found
            where, transposed = f"{key[:80]!r} in {item.name}", _transposed(arch, kind, key)
            if name in seen:
                raise _bad_weights(f"{where} is a second {name}")
            seen.add(name)
            _check(where, dtype, stored, expected[name][::-1] if transposed else expected[name])
            if kind == gguf.MODEL_TENSOR.OUTPUT and sizes.tied:
                continue  # the same matrix as the token embeddings: llama.cpp and transformers tie them again
            shape = stored[::-1] if transposed else stored
            if len(shape) < 2:
                qtype = Q.F32  # norms and biases: tiny, and precision matters there
            elif quantize == "q8_0" and shape[-1] % gguf.GGML_QUANT_SIZES[Q.Q8_0][0] == 0:
                qtype = Q.Q8_0
            else:
                qtype = Q.F16
            plan.append(_Tensor(item.path, key, name, kind, shape, qtype))
    missing = [name for name in expected if name not in seen and not (name == "output.weight" and sizes.tied)]
    if missing:
        layer = re.match(r"blk\.(\d+)\.(.*)", missing[0])
        what = f"layer {layer[1]}'s {layer[2]}, though config.json declares {_layers(sizes)}" if layer else missing[0]
        more = f" ({len(missing) - 1:,} more tensors are missing)" if len(missing) > 1 else ""
        raise HuggingTweetsError(f"The weights have no {what}{more}: the folder is incomplete, and llama.cpp could not load it; train again.")
    return plan


def _check(where: str, dtype: str, stored: tuple[int, ...], want: tuple[int, ...]) -> None:
    """One tensor, as its header gives it, against what config.json implies (``want``, as stored)."""
    if dtype not in FLOATS:
        raise _bad_weights(f"{where} is {dtype[:10]}, not floats ({', '.join(FLOATS)})")
    if 0 in stored:
        raise _bad_weights(f"{where} is empty ({_dims(stored)}) where config.json makes it {_dims(want)}")
    if stored != want:
        raise _bad_weights(f"{where} is {_dims(stored)} where config.json makes it {_dims(want)}")


def _no_place(file: str, key: str, arch: str, sizes: _Sizes) -> HuggingTweetsError:
    layer = re.search(r"(?:^|\.)(\d{1,9})\.", key)
    if layer and int(layer[1]) >= sizes.layers:
        return _bad_weights(f"{key[:80]!r} in {file} belongs to layer {layer[1]}, but config.json declares {_layers(sizes)} (from 0)")
    return HuggingTweetsError(
        f"{file} holds {key[:80]!r}, a tensor a {ARCHITECTURES[arch].gguf} GGUF has no place for: "
        "the model is not a plain GPT-2, Llama or Gemma 3; export it as a zip instead."
    )


def _headers(item: Shipped) -> list[tuple[str, str, tuple[int, ...]]]:
    """``(key, dtype, shape)`` of each tensor in one safetensors file, from its header: no tensor is read."""
    from safetensors import safe_open

    try:
        with safe_open(item.path, framework="pt") as f:
            return [(key, f.get_slice(key).get_dtype(), tuple(f.get_slice(key).get_shape())) for key in f.keys()]
    except BaseException as err:
        if not is_failure(err):
            raise
        raise HuggingTweetsError(
            f"{item.name} cannot be read as safetensors ({first_line(err)[:80]}): it is not the weights training wrote; train again."
        ) from None


def _bad_weights(what: str) -> HuggingTweetsError:
    return HuggingTweetsError(f"{what}: the weights are not the model config.json describes, and llama.cpp could not load them; train again.")


def _layers(sizes: _Sizes) -> str:
    return f"{sizes.layers:,} layer{'s' if sizes.layers > 1 else ''}"


def _dims(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(f"{d:,}" for d in shape) + "]" if shape else "a single number"


def _gguf_arch(arch: str):
    """gguf's MODEL_ARCH for config.json's model_type."""
    import gguf

    return gguf.MODEL_ARCH[ARCHITECTURES[arch].gguf.upper()]


def _transposed(arch: str, kind, key: str) -> bool:
    """GPT-2's Conv1D matrices are stored (in, out); GGUF, like nn.Linear, wants (out, in)."""
    import gguf

    T = gguf.MODEL_TENSOR
    return ARCHITECTURES[arch].conv1d and key.endswith(".weight") and kind in (T.ATTN_QKV, T.ATTN_OUT, T.FFN_UP, T.FFN_DOWN)


def _interleave_rope(w, heads: int):
    """Per head, rows [x0..x(d/2-1), y0..y(d/2-1)] (rotate-half) become [x0, y0, x1, y1, ...]."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _load(t: _Tensor, arch: str, sizes: _Sizes):
    """One tensor, converted, as the bytes GGUF stores (a numpy array)."""
    import gguf
    import numpy as np
    import torch
    from safetensors import safe_open

    with safe_open(t.file, framework="pt") as f:  # opened per tensor: no mapping of the whole file stays
        w = f.get_tensor(t.key).to(torch.float32).numpy()
    if _transposed(arch, t.kind, t.key):
        w = w.T
    kind = ARCHITECTURES[arch]
    if kind.interleave_qk and t.kind in (gguf.MODEL_TENSOR.ATTN_Q, gguf.MODEL_TENSOR.ATTN_K):
        w = _interleave_rope(w, sizes.heads_kv if t.kind == gguf.MODEL_TENSOR.ATTN_K else sizes.heads)
    if kind.norms_plus_one and t.kind in _gemma_norms():
        w = w + 1.0  # transformers' Gemma norms scale by (1 + weight); llama.cpp's by the weight
    Q = gguf.GGMLQuantizationType
    if t.qtype == Q.Q8_0:
        return gguf.quants.quantize(np.ascontiguousarray(w), Q.Q8_0)
    return np.ascontiguousarray(w, dtype=np.float16 if t.qtype == Q.F16 else np.float32)


def _gemma_norms() -> frozenset:
    import gguf

    T = gguf.MODEL_TENSOR
    return frozenset((T.ATTN_NORM, T.ATTN_Q_NORM, T.ATTN_K_NORM, T.ATTN_POST_NORM, T.FFN_NORM, T.FFN_PRE_NORM, T.FFN_POST_NORM, T.OUTPUT_NORM))


# --- metadata ---------------------------------------------------------------------------------
def _architecture(writer, arch: str, sizes: _Sizes) -> None:
    """The sizes llama.cpp builds the graph from."""
    kind = ARCHITECTURES[arch]
    if kind.writes_vocab:
        writer.add_vocab_size(sizes.vocab)
    writer.add_context_length(sizes.context)
    writer.add_embedding_length(sizes.width)
    writer.add_feed_forward_length(sizes.ffn)
    writer.add_block_count(sizes.layers)
    writer.add_head_count(sizes.heads)
    if not kind.rotary:  # GPT-2: LayerNorm, learned positions
        writer.add_layer_norm_eps(sizes.eps)
        return
    writer.add_head_count_kv(sizes.heads_kv)
    writer.add_layer_norm_rms_eps(sizes.eps)
    writer.add_rope_freq_base(sizes.rope_theta)
    if kind.sliding_window:  # as Gemma's own GGUF: the heads' width always, the local layers' window
        writer.add_key_length(sizes.head_dim)
        writer.add_value_length(sizes.head_dim)
        writer.add_sliding_window(sizes.sliding_window)
        return
    writer.add_rope_dimension_count(sizes.head_dim)
    if sizes.head_dim != sizes.width // sizes.heads:
        writer.add_key_length(sizes.head_dim)
        writer.add_value_length(sizes.head_dim)


def _sampling_metadata(writer, settings: SamplingConfig, do_sample: bool) -> None:
    writer.add_sampling_temp(settings.temperature if do_sample else 0.0)
    writer.add_sampling_top_p(settings.top_p)
    writer.add_sampling_top_k(settings.top_k)
    writer.add_sampling_penalty_repeat(settings.repetition_penalty)


# --- where ------------------------------------------------------------------------------------
def default_path(folder: str | Path) -> Path:
    """``FOLDER.gguf`` beside the folder (never inside it)."""
    folder = Path(folder).expanduser().resolve()
    return folder.parent / f"{folder.name}{SUFFIX}"


def _target(folder: Path, out_path: Optional[str | Path], overwrite: bool) -> tuple[Path, Path]:
    def name_ok(out: Path) -> None:
        if out.suffix.lower() != SUFFIX:
            raise HuggingTweetsError(f"{out} does not end in {SUFFIX}: give a file name such as {folder.name}{SUFFIX}.")
        if not out.name.isprintable() or any(c.isspace() or c in "\"'\\" for c in out.name):
            raise HuggingTweetsError(f"{out.name!r} has spaces, quotes or control characters, which the Modelfile's FROM line cannot carry: choose a name such as {slug(folder.name)}{SUFFIX}.")

    out = export_target(folder, out_path, SUFFIX, overwrite, name_ok)
    modelfile = export_target(folder, out.with_suffix(MODELFILE_SUFFIX), MODELFILE_SUFFIX, overwrite)  # checked before the GGUF replaces anything
    return out, modelfile


# --- export -----------------------------------------------------------------------------------
def export_gguf(
    folder: str | Path,
    out_path: Optional[str | Path] = None,
    *,
    quantize: str = "f16",
    overwrite: bool = False,
    progress: Optional[Progress] = None,
) -> GgufExport:
    """Write the model folder as ``NAME.gguf`` and ``NAME.Modelfile`` (default: beside the folder).

    Refused in one line, before anything is written: a folder that holds no finished model, an
    architecture other than GPT-2, Llama and Gemma 3 (or a Gemma 3 llama.cpp would run differently), a config.json whose sizes are not a model's, weights
    that are not what it describes (a tensor missing, extra, empty, misshapen or not floats), a
    tokenizer other than byte-level BPE or not the model's, an output inside the folder or that
    exists (without ``overwrite``), an unknown ``quantize``.
    """
    started = time.perf_counter()
    if quantize not in QUANTIZE:
        raise HuggingTweetsError(f"Unknown GGUF type {str(quantize)[:20]!r}: use {' or '.join(QUANTIZE)}.")
    files = {item.name: item for item in ship_list(folder)}  # a finished model, held to its manifest
    model = ModelFolder(Path(folder).expanduser().resolve())
    out, modelfile = _target(model.path, out_path, overwrite)
    config = _json(files, MODEL_CONFIG)
    arch = config.get("model_type")
    if arch not in ARCHITECTURES:
        raise HuggingTweetsError(
            f"The model in {model.path} is a {str(arch)[:30]!r} model; GGUF export supports {', '.join(ARCHITECTURES)} "
            "(GPT-2, SmolLM2, Gemma 3, ...): export it as a zip instead."
        )
    sizes = _sizes(arch, config)
    weights = [files[name] for name in sorted(files) if name.endswith(".safetensors")]
    if not weights:
        raise HuggingTweetsError(f"{model.path} has no safetensors weights, which GGUF export reads: train again.")

    ours = model.is_ours()  # a huggingtweets folder: its lock and its card; another folder is only read
    with model.lock("GGUF export") if ours else nullcontext():
        for item in weights:
            verify(item)  # the bytes the save recorded, before anything is built from them
        plan = _plan(arch, sizes, weights, quantize)  # every tensor checked against config.json, none read
        source = _Source(
            model.path.name, arch, sizes, plan, read_vocab(_json(files, TOKENIZER), _json(files, TOKENIZER_CONFIG, required=False), sizes.vocab, files[TOKENIZER].path), *_sampling(_json(files, GENERATION_CONFIG, required=False)),
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        try:  # both files under temporary names beside their targets, renamed once both are whole
            with replacing(out, modelfile) as (gguf_tmp, modelfile_tmp):
                _write(gguf_tmp, source, quantize, progress, out.name)
                stop = source.vocab.tokens[source.vocab.eos]
                modelfile_tmp.write_text(modelfile_text(out.name, source.settings, source.do_sample, stop, sizes.context), encoding="utf-8")
        except BaseException as err:
            if disk_full(err, out.parent):
                need = sum(t.info()[2] for t in plan)
                raise HuggingTweetsError(no_space_message(out.parent, need, flag="output path")) from None
            raise
        name = slug(out.stem).lower()  # what `ollama create` calls it
        if ours:
            named = out.resolve() != default_path(model.path)  # the card's export command names the file only then
            add_local_run(model.path, name, out.name, modelfile.name, quantize, source.settings.max_new_tokens, named)
    return GgufExport(out, modelfile, name, quantize, out.stat().st_size, time.perf_counter() - started)


@dataclass
class _Source:
    """What the GGUF is made of, read and checked before anything is written."""

    name: str  # the model folder's name
    arch: str
    sizes: _Sizes
    plan: list[_Tensor]
    vocab: Vocab
    settings: SamplingConfig
    do_sample: bool


def _write(path: Path, source: _Source, quantize: str, progress: Optional[Progress], label: str) -> None:
    """Header, metadata and tensor infos, then each tensor as it is converted."""
    import gguf

    writer = gguf.GGUFWriter(path, ARCHITECTURES[source.arch].gguf)
    try:
        writer.add_type("model")
        writer.add_name(source.name)
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if quantize == "q8_0" else gguf.LlamaFileType.MOSTLY_F16)
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        _architecture(writer, source.arch, source.sizes)
        write_vocab(writer, source.vocab)
        _sampling_metadata(writer, source.settings, source.do_sample)
        for t in source.plan:
            shape, dtype, nbytes = t.info()
            writer.add_tensor_info(t.name, shape, dtype, nbytes, raw_dtype=t.qtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for i, t in enumerate(source.plan):  # one tensor in memory at a time
            writer.write_tensor_data(_load(t, source.arch, source.sizes))
            if progress:
                progress(i + 1, len(source.plan), label)
        writer.flush()
        os.fsync(writer.fout[0].fileno())
    finally:
        writer.close()
