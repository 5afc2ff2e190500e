"""Load any causal language model, or build the offline ``tiny`` one.

``tiny`` is a small GPT-2 trained from scratch with a byte-level BPE tokenizer
trained on the tweets themselves: it needs no hub access and trains in about a
minute on a laptop CPU. It sounds like the author only roughly, but it runs the
real pipeline end to end (save, ``from_pretrained``, ``pipeline``).
"""

from __future__ import annotations

from typing import Iterable

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
