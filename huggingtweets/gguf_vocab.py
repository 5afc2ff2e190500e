"""The tokenizer of a GGUF export (``gguf_export.py``): read from a model folder's
``tokenizer.json`` and written as llama.cpp reads it.

Two kinds are carried, the two the product trains:
- byte-level BPE (GPT-2's, SmolLM's) as ``tokenizer.ggml.model = "gpt2"``: every token in
  id order with its kind (normal, control, user-defined, unused), the merges, and the
  pre-tokenizer by llama.cpp's name (``gpt-2``, ``smollm``);
- SentencePiece's as tokenizers writes it (Gemma's: pieces with "▁" for spaces, byte
  fallback) as ``"llama"``: scores instead of merges, falling with the id (the order the
  pieces were learned and merge in), the ``<0xNN>`` pieces typed as bytes, runs of spaces
  as written, as Gemma's own GGUF has them.

Every tweet was trained as ``<end-of-text> tweet``, so the end-of-text token is also the
begin token, added before each prompt (``add_bos_token``), as ``generate`` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import HuggingTweetsError

MAX_UNNAMED_ROWS = 1024  # embeddings no token names: saves pad the rows to a multiple of 64 or 128


def _pre_tokenizer(spec) -> Optional[str]:
    """llama.cpp's name for how text is split before BPE, or None when it has no such split.

    GPT-2's regex alone is "gpt-2"; digits split one by one, then GPT-2's regex, is
    SmolLM's "smollm"."""
    def byte_level(p) -> bool:
        return isinstance(p, dict) and p.get("type") == "ByteLevel" and p.get("use_regex", True) and not p.get("add_prefix_space")

    if byte_level(spec):
        return "gpt-2"
    steps = spec.get("pretokenizers") if isinstance(spec, dict) and spec.get("type") == "Sequence" else None
    if isinstance(steps, list) and len(steps) == 2 and byte_level(steps[1]):
        digits = steps[0]
        if isinstance(digits, dict) and digits.get("type") == "Digits" and digits.get("individual_digits"):
            return "smollm"
    return None


def _special(tokenizer_config: dict, name: str) -> Optional[str]:
    value = tokenizer_config.get(name)
    if isinstance(value, dict):  # an AddedToken written out
        value = value.get("content")
    return value if isinstance(value, str) and value else None


@dataclass
class Vocab:
    model: str  # llama.cpp's tokenizer kind: "gpt2" (byte-level BPE) or "llama" (SentencePiece)
    tokens: list[str]
    types: list[int]  # gguf.TokenType
    scores: list[float]  # SentencePiece: the higher, the earlier two pieces merge (empty for "gpt2")
    merges: list[str]  # byte-level BPE: "left right", best first (empty for "llama")
    pre: str
    eos: int  # the end-of-text token: begins every tweet, ends it too
    pad: Optional[int]
    unk: Optional[int]


_BYTE_TOKEN = re.compile(r"<0x[0-9A-F]{2}>")  # SentencePiece's byte fallback pieces
_SPACE = "\u2581"  # SentencePiece's visible space


def _sentencepiece(data: dict) -> bool:
    """A SentencePiece vocabulary as tokenizers writes it (Gemma's): BPE over pieces with "▁"
    for spaces and byte fallback, split at spaces or not at all."""
    norm, pre = data.get("normalizer"), data.get("pre_tokenizer")
    spaces = isinstance(norm, dict) and norm.get("type") == "Replace" and norm.get("pattern") == {"String": " "} and norm.get("content") == _SPACE
    split = pre is None or (isinstance(pre, dict) and pre.get("type") == "Split" and pre.get("pattern") == {"String": " "}
                            and pre.get("behavior") == "MergedWithPrevious" and not pre.get("invert"))
    return spaces and split and (data.get("model") or {}).get("byte_fallback") is True


def read_vocab(data: dict, tokenizer_config: dict, n_vocab: int, where: Path) -> Vocab:
    """The tokenizer as a GGUF holds it, from ``tokenizer.json`` (``data``, read from ``where``)
    and ``tokenizer_config.json``; or a one-line refusal."""
    import gguf

    model = data.get("model") or {}
    spm = _sentencepiece(data)
    pre = "default" if spm else _pre_tokenizer(data.get("pre_tokenizer"))
    if model.get("type") != "BPE" or not isinstance(model.get("vocab"), dict) or not (spm or (pre is not None and data.get("normalizer") is None)):
        raise HuggingTweetsError(
            f"{where} is neither a byte-level BPE tokenizer (GPT-2's, SmolLM's) nor a SentencePiece one "
            "(Gemma's), the kinds this GGUF export carries: export the folder as a zip instead."
        )
    by_id: dict[int, str] = {i: t for t, i in model["vocab"].items() if isinstance(i, int) and 0 <= i < 1 << 24}
    kinds: dict[int, int] = {}
    for added in data.get("added_tokens") or ():
        i, content = added.get("id"), added.get("content")
        if isinstance(i, int) and 0 <= i < 1 << 24 and isinstance(content, str):
            by_id[i] = content
            kinds[i] = gguf.TokenType.CONTROL if added.get("special") else gguf.TokenType.USER_DEFINED
    if max(by_id, default=-1) >= n_vocab:
        raise HuggingTweetsError(
            f"The tokenizer has {max(by_id) + 1:,} tokens but the model only {n_vocab:,} embeddings: "
            "the folder's tokenizer is not the model's; train again."
        )
    if n_vocab - len(by_id) > MAX_UNNAMED_ROWS:  # checked before a name is made up for each row
        raise HuggingTweetsError(
            f"The model has {n_vocab:,} embeddings but the tokenizer only {len(by_id):,} tokens: "
            "the folder's tokenizer is not the model's; train again."
        )
    tokens = [by_id.get(i, f"[PAD{i}]") for i in range(n_vocab)]  # rows the model has and the tokenizer never uses
    types = [kinds.get(i, gguf.TokenType.NORMAL if i in by_id else gguf.TokenType.UNUSED) for i in range(n_vocab)]
    scores: list[float] = []
    if spm:
        for i, token in enumerate(tokens):
            if types[i] == gguf.TokenType.NORMAL and _BYTE_TOKEN.fullmatch(token):
                types[i] = gguf.TokenType.BYTE
            elif len(token) > 1 and token == _SPACE * len(token):  # runs of spaces: matched as written, as Gemma's own GGUF has them
                tokens[i], types[i] = " " * len(token), gguf.TokenType.USER_DEFINED
        # Pieces merge in the order of their ids (how the vocabulary was learned): the score falls with the id.
        scores = [-float(i) if t == gguf.TokenType.NORMAL else 0.0 if t == gguf.TokenType.BYTE else -1000.0 for i, t in enumerate(types)]
    merges = [] if spm else [" ".join(m) if isinstance(m, list) else str(m) for m in model.get("merges") or ()]

    ids = {t: i for i, t in enumerate(tokens)}
    eos = ids.get(_special(tokenizer_config, "eos_token") or "")
    if eos is None:
        raise HuggingTweetsError(f"{where.parent} has no end-of-text token in its tokenizer: train again.")
    pad = ids.get(_special(tokenizer_config, "pad_token") or "")
    unk = ids.get(_special(tokenizer_config, "unk_token") or "") if spm else None
    return Vocab("llama" if spm else "gpt2", tokens, [int(t) for t in types], scores, merges, pre, eos, pad, unk)



def write_vocab(writer, vocab: Vocab) -> None:
    """The tokenizer's metadata, into a ``gguf.GGUFWriter``."""
    writer.add_tokenizer_model(vocab.model)
    writer.add_tokenizer_pre(vocab.pre)
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.types)
    if vocab.scores:
        writer.add_token_scores(vocab.scores)
    if vocab.merges:
        writer.add_token_merges(vocab.merges)
    writer.add_bos_token_id(vocab.eos)  # every tweet starts after end-of-text (dataset.pack_blocks)
    writer.add_eos_token_id(vocab.eos)
    if vocab.pad is not None:
        writer.add_pad_token_id(vocab.pad)
    if vocab.unk is not None:
        writer.add_unk_token_id(vocab.unk)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    if vocab.model == "llama":
        writer.add_add_space_prefix(False)  # a tweet's first word has no space before it
