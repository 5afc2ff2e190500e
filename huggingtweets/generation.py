"""Sample tweets from a trained model, and say how close each is to a real one.

Generation follows the original huggingtweets: the prompt goes after the
end-of-text token (the model was trained on ``eos tweet eos tweet ...``, so
that is where a tweet starts), nucleus sampling with top_p 0.95, all ``n``
samples in one batched call, and each result cut at its first line break or
end-of-text. The returned text includes the prompt.

Every sample is then looked up in a ``NearestIndex`` of the training tweets so a
reader can tell invention from memorisation: ``near_copy`` is true when the
sample shares a run of 8 or more words with one training tweet (in Chinese, Japanese or
Thai, which put no spaces between words, as many characters as 8 words take there: 16 or
32), or when its similarity to the nearest tweet is at least 0.8.

Similarity is ``difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()``
(2 * matched characters / total characters) on the lower-cased,
whitespace-folded texts. Comparing a sample against every training tweet with
difflib takes seconds per sample on 10k tweets, so the index first ranks tweets
by shared character 4-grams (weighted by rarity) with numpy, then runs difflib
only on the best few; a separate table of 8-word windows makes the run rule exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from .cleaning import unspaced_runs
from .config import SamplingConfig
from .dataset import TweetDataset, split_marker, voice_marker
from .errors import HuggingTweetsError
from .folder import DATASET as DATASET_FILE
from .folder import ModelFolder
from .models import EOS, load_causal_lm, max_positions, sampling_args

# Memory one generate() call may hold for its KV cache (every layer's keys and values for
# every token of every tweet in the batch). Estimated from the model's config before the call;
# n tweets are sampled in batches that fit. 128 MiB keeps the offline SmolLM2-135M (540 MB of
# fp32 weights) under 1.5 GB peak: 100 tweets of 60 new tokens peaked at 1.19 GB with 128 MiB and
# 1.45 GB with 256 (AMD EPYC, 2 cores). Whoever serves the app may set HUGGINGTWEETS_GENERATION_MB.
GENERATION_MEMORY_ENV = "HUGGINGTWEETS_GENERATION_MB"
DEFAULT_GENERATION_MB = 128
# generation_config.json fields honoured from a model folder: the token ids generation needs.
# Sampling settings come from SamplingConfig; anything else (num_beams, return_dict_in_generate,
# num_beam_groups, ...) in a folder is ignored, with a note, so no file can change how much a
# request costs or what generate() returns.
HONOURED_TOKEN_IDS = ("eos_token_id", "pad_token_id", "bos_token_id")
SAMPLING_FIELDS = ("do_sample", "temperature", "top_p", "top_k", "max_new_tokens", "repetition_penalty")

RUN_WORDS = 8  # a shared run this long is copying, whatever the rest of the text does
SIMILAR = 0.8  # difflib ratio from which a sample counts as a near copy
SHINGLE = 4  # characters per shingle: short enough that one changed word leaves most intact
CANDIDATES = 32  # tweets checked with difflib per query, best shingle scores first


def normalize(text: str) -> str:
    """Lower case, whitespace folded to single spaces: what matching compares."""
    return " ".join(text.lower().split())


_P = np.uint64(1_000_000_007)  # polynomial hash base (odd, so no information is shifted out)


def _shingle_keys(norms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(row, key)`` for every character 4-gram of each text (row ascending), as 64-bit hashes.

    Vectorised over one array of all code points: a Python set of slices per tweet
    costs most of the build on 10k tweets. Texts are padded with a space each side
    (word starts and ends count) and to 4 characters (a one-letter text gets one).
    """
    padded = [f" {t} ".ljust(SHINGLE) for t in norms]
    lengths = np.fromiter(map(len, padded), dtype=np.int64, count=len(padded))
    codes = np.frombuffer("\n".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    m = max(len(codes) - SHINGLE + 1, 0)
    key = np.zeros(m, dtype=np.uint64)
    for j in range(SHINGLE):
        key = key * _P + codes[j : j + m]  # wraps modulo 2**64: a hash, collisions negligible
    row = np.repeat(np.arange(len(padded), dtype=np.int64), lengths + 1)[:m]  # "+ 1": the separator
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    inside = np.arange(m) - starts[row] <= lengths[row] - SHINGLE  # drop windows across texts
    return row[inside], key[inside]


def _windows(norm: str) -> list[str]:
    """Every run of ``RUN_WORDS`` words: words by spaces, and in a script written without spaces
    (Chinese, Japanese, Thai) as many characters as that many words take (``cleaning``'s count)."""
    words = norm.split()
    out = [" ".join(words[i : i + RUN_WORDS]) for i in range(len(words) - RUN_WORDS + 1)]
    for run, per_word in unspaced_runs(norm):
        n = RUN_WORDS * per_word
        out += [run[i : i + n] for i in range(len(run) - n + 1)]
    return out


@dataclass
class Match:
    tweet: str  # the training tweet as written ("" when there is none)
    similarity: float  # difflib ratio in [0, 1] on normalised texts
    near_copy: bool


class NearestIndex:
    """Finds a text's nearest training tweet without comparing against all of them.

    Build: distinct normalised tweets; an inverted index from character 4-grams
    (keyed by a 64-bit hash) to tweets, as CSR arrays; rarity weights
    ``log(1 + N / df)``; a dict of every 8-word window.
    Query: weighted Dice of shared 4-grams against every tweet in one numpy pass,
    difflib on the top ``CANDIDATES`` (and on any tweet sharing an 8-word window).
    """

    def __init__(self, tweets: Sequence[str]):
        seen: set[str] = set()
        self._tweets: list[str] = []  # as written, for display
        self._norms: list[str] = []  # what is compared
        for t in tweets:
            norm = normalize(t)
            if norm and norm not in seen:  # repeats (oversampling, reposts) add nothing
                seen.add(norm)
                self._tweets.append(t.strip())
                self._norms.append(norm)
        n = len(self._norms)

        # One stable sort by shingle gives the postings lists (tweets ascending within each);
        # a repeated (shingle, tweet) pair is dropped so a shingle counts once per tweet.
        row, key = _shingle_keys(self._norms)
        order = np.argsort(key, kind="stable")
        row, key = row[order], key[order]
        keep = np.ones(len(key), dtype=bool)
        keep[1:] = (key[1:] != key[:-1]) | (row[1:] != row[:-1])
        row, key = row[keep], key[keep]
        new = np.ones(len(key), dtype=bool)
        new[1:] = key[1:] != key[:-1]
        self._keys = key[new]  # the shingle vocabulary, sorted
        col = np.cumsum(new) - 1
        self._post = row.astype(np.int32)  # tweets holding each shingle, shingle by shingle
        self._start = np.append(np.flatnonzero(new), len(key))
        df = np.diff(self._start)
        self._idf = np.log1p(n / np.maximum(df, 1))  # rare shingles say more than " the"
        self._unseen = math.log1p(max(n, 1))  # weight of a shingle no tweet has
        self._weight = np.bincount(row, weights=self._idf[col], minlength=n)  # each tweet's total
        self._runs: dict[str, int] = {}
        for i, norm in enumerate(self._norms):
            for w in _windows(norm):
                self._runs.setdefault(w, i)

    def __len__(self) -> int:
        return len(self._norms)

    def _candidates(self, norm: str) -> list[int]:
        """Up to ``CANDIDATES`` tweets sharing shingles with ``norm``, best score first."""
        if not len(self._keys):
            return []
        h = np.unique(_shingle_keys([norm])[1])
        pos = np.minimum(np.searchsorted(self._keys, h), len(self._keys) - 1)
        ids = pos[self._keys[pos] == h]
        if not len(ids):
            return []
        starts, ends = self._start[ids], self._start[ids + 1]
        hits = np.concatenate([self._post[s:e] for s, e in zip(starts, ends)])
        shared = np.bincount(hits, weights=np.repeat(self._idf[ids], ends - starts), minlength=len(self))
        q_weight = self._idf[ids].sum() + self._unseen * (len(h) - len(ids))
        score = shared / (q_weight + self._weight)  # weighted Dice / 2: ranks like difflib's ratio
        k = min(CANDIDATES, int(np.count_nonzero(shared)))
        top = np.argpartition(-score, k - 1)[:k] if k < len(score) else np.flatnonzero(shared)
        # best first, so the quick-ratio bounds in lookup() skip more of the rest
        return top[np.argsort(-score[top], kind="stable")].tolist()

    def lookup(self, text: str) -> Match:
        """The nearest training tweet, its similarity, and whether the text is a near copy.

        The reported tweet is the most similar one, except when only an 8-word run makes
        the text a near copy: then it is the tweet holding that run (the evidence).
        """
        norm = normalize(text)
        if not norm or not self._norms:
            return Match("", 0.0, False)
        runs = {self._runs[w] for w in _windows(norm) if w in self._runs}
        matcher = SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(norm)  # difflib caches its analysis of the second sequence

        def ratio(i: int) -> float:
            matcher.set_seq1(self._norms[i])
            return matcher.ratio()

        best, best_sim = -1, -1.0
        for i in dict.fromkeys([*self._candidates(norm), *runs]):
            matcher.set_seq1(self._norms[i])
            # cheap upper bounds first: skip candidates that cannot beat the best so far
            if matcher.real_quick_ratio() > best_sim and matcher.quick_ratio() > best_sim:
                sim = matcher.ratio()
                if sim > best_sim:
                    best, best_sim = i, sim
        if best < 0:
            return Match("", 0.0, False)
        if runs and best_sim < SIMILAR and best not in runs:
            best = max(runs, key=ratio)
            best_sim = ratio(best)
        return Match(self._tweets[best], best_sim, bool(runs) or best_sim >= SIMILAR)

    def nearest(self, text: str) -> tuple[str, float]:
        """``(training tweet, similarity in [0, 1])``; ``("", 0.0)`` when nothing is shared."""
        m = self.lookup(text)
        return m.tweet, m.similarity

    def is_near_copy(self, text: str) -> bool:
        return self.lookup(text).near_copy


@dataclass
class GeneratedTweet:
    text: str  # prompt + continuation, cut at the first line break or end-of-text
    nearest: str  # most similar training tweet ("" if none is known)
    similarity: float  # difflib ratio with ``nearest``, in [0, 1]
    near_copy: bool  # shares >= 8 words in a row with a training tweet, or similarity >= 0.8
    author: Optional[str] = None  # whose voice, in a model of several (asked for, or the model's pick)
    voice: Optional[int] = None  # the voice classifier's 0-100 for this post (voice.py); None: not judged
    passes: Optional[bool] = None  # passes as the author (fluent, no near copy, voice >= 50)

    def to_dict(self) -> dict:
        return {"text": self.text, "nearest": self.nearest, "similarity": round(self.similarity, 4), "near_copy": self.near_copy,
                "author": self.author, "voice": self.voice, "passes": self.passes}


def cut_tweet(text: str, eos: Optional[str] = EOS) -> str:
    """One tweet from a decoded sample: up to the first end-of-text or line break, stripped,
    and never ending in half a character (``_whole_end``).

    Leading whitespace goes first, so a sample that opens with a line break (after an
    empty prompt) keeps its first line rather than becoming empty.
    """
    text = text.lstrip()
    if eos:
        text = text.split(eos, 1)[0]
    for stop in ("\n", "\r"):
        text = text.split(stop, 1)[0]
    return _whole_end(text.strip())


_REGIONAL = range(0x1F1E6, 0x1F200)  # flag letters: a flag is two of them


def _whole_end(text: str) -> str:
    """``text`` without what a sample cut at its token limit leaves of a character: the
    replacement marks of a multi-byte character's first bytes (a Chinese character is three
    bytes, often two tokens), a joiner waiting for the rest of an emoji, half a flag."""
    while True:
        stripped = text.rstrip("\ufffd\u200d").rstrip()
        ris = len(stripped) - len(stripped.rstrip("".join(map(chr, _REGIONAL))))
        if ris % 2:
            stripped = stripped[:-1].rstrip()
        if stripped == text:
            return text
        text = stripped


def _eos_ids(model, tokenizer) -> list[int]:
    ids = []
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    configured = getattr(model.generation_config, "eos_token_id", None)
    ids.extend(configured if isinstance(configured, list) else [configured] if configured is not None else [])
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise HuggingTweetsError("The model has no end-of-text token: choose a causal language model.")
    return ids


def generation_budget() -> int:
    """Bytes of KV cache one generate() call may hold (``HUGGINGTWEETS_GENERATION_MB``, else 256 MiB)."""
    import os

    try:
        mb = float(os.environ.get(GENERATION_MEMORY_ENV, "") or DEFAULT_GENERATION_MB)
    except ValueError:
        mb = DEFAULT_GENERATION_MB
    return int(max(mb, 0.001) * (1 << 20))


def kv_bytes_per_token(model) -> int:
    """Keys and values of one token in every layer, from the model's config and dtype."""
    c = model.config
    c = getattr(c, "text_config", None) or c
    layers = getattr(c, "num_hidden_layers", None) or getattr(c, "n_layer", None) or 1
    heads = getattr(c, "num_attention_heads", None) or getattr(c, "n_head", None) or 1
    kv_heads = getattr(c, "num_key_value_heads", None) or heads
    hidden = getattr(c, "hidden_size", None) or getattr(c, "n_embd", None) or 1
    head_dim = getattr(c, "head_dim", None) or hidden // heads
    itemsize = next(model.parameters()).element_size()
    return 2 * layers * kv_heads * head_dim * itemsize


def batch_size_for(model, tokens_per_tweet: int, n: int) -> int:
    """How many tweets one generate() call may sample within the memory budget (>= 1), or a
    one-line error when a single tweet is already over it."""
    per_tweet = kv_bytes_per_token(model) * tokens_per_tweet
    budget = generation_budget()
    if per_tweet > budget:
        raise HuggingTweetsError(
            f"This prompt and max new tokens need {per_tweet / (1 << 20):,.0f} MB of memory per tweet, over the "
            f"{budget / (1 << 20):,.0f} MB limit: shorten the prompt or lower max new tokens "
            f"(whoever runs the app may raise {GENERATION_MEMORY_ENV}).")
    return max(1, min(n, budget // max(per_tweet, 1)))


def sample_texts(model, tokenizer, config: SamplingConfig, prefix: str = "") -> list[str]:
    """``config.n`` tweets from ``model`` (prompt included), cut and stripped, sampled in batches
    whose KV cache fits ``generation_budget()``. ``prefix`` goes before the prompt (a voice
    marker) and stays in the returned texts."""
    import torch

    config.validate()  # a config built in code is held to the same limits as typed input
    eos_ids = _eos_ids(model, tokenizer)
    prompt = prefix + " ".join(config.prompt.split())  # tweets are one line; a trailing space hurts BPE
    # The prompt's own tokens without special ones (the saved tokenizer may add end-of-text
    # itself): we put exactly one end-of-text in front, as every tweet had in training.
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"] if prompt.strip() else []
    ids = [eos_ids[0], *prompt_ids]
    max_new = config.max_new_tokens
    limit = max_positions(model)
    if limit is not None:
        if len(ids) >= limit:
            raise HuggingTweetsError(f"The prompt is too long: {len(prompt_ids)} tokens, this model reads at most {limit - 1}. Shorten it.")
        max_new = min(max_new, limit - len(ids))  # past the position table the model fails
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_ids[0]
    batch = batch_size_for(model, len(ids) + max_new, config.n)

    if config.seed is not None:
        torch.manual_seed(config.seed)  # seeds CPU and every CUDA device: same seed, same tweets
    rows: list[list[int]] = []
    with torch.inference_mode():
        while len(rows) < config.n:
            # copies of the prompt, as many as the memory budget allows (greedy decoding over
            # sampling_args' drawn token takes no num_return_sequences)
            input_ids = torch.tensor([ids] * min(batch, config.n - len(rows)), device=model.device)
            out = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                num_beams=1,  # sampling, never a beam search a folder's file asked for
                **sampling_args(model, config.top_p, config.temperature, config.top_k),  # top_k 0: off
                repetition_penalty=config.repetition_penalty,
                max_new_tokens=max_new,
                min_new_tokens=1,  # an immediate end-of-text would be an empty tweet
                pad_token_id=pad,
                eos_token_id=eos_ids,
            )
            rows.extend(out.tolist())
    texts = []
    stops = set(eos_ids)
    for row in rows:
        tokens = row[1:]  # drop the end-of-text we put in front
        for k in range(len(prompt_ids), len(tokens)):
            if tokens[k] in stops:  # the tweet ends here; what follows is padding or a new tweet
                tokens = tokens[:k]
                break
        text = tokenizer.decode(tokens, skip_special_tokens=True)
        texts.append(cut_tweet(text, tokenizer.eos_token))
    return texts


@dataclass
class Generator:
    """A loaded model folder: model, tokenizer, and the index of its training tweets."""

    model: Any
    tokenizer: Any
    index: NearestIndex
    folder: Optional[Path] = None
    authors: list = field(default_factory=list)  # the folder's authors (sources.base.Author), for display
    notes: list = field(default_factory=list)  # what loading the folder ignored, for the user to read
    voices: list = field(default_factory=list)  # handles whose posts were marked in training (a model of several)

    def describe(self, text: str, author: Optional[str] = None) -> GeneratedTweet:
        m = self.index.lookup(text)
        return GeneratedTweet(text, m.tweet, m.similarity, m.near_copy, author)

    @property
    def only_author(self) -> Optional[str]:
        """The handle of a model of one author (every post is theirs), else None."""
        return self.authors[0].handle if len(self.authors) == 1 else None

    def voice_of(self, author: Optional[str]) -> Optional[str]:
        """The handle ``author`` names among this model's authors (None: the blend); else one line."""
        if author is None or not author.strip():
            return None
        wanted = author.strip().lstrip("@").lower()
        handles = [a.handle for a in self.authors] or list(self.voices)
        for handle in handles:
            if handle.lstrip("@").lower() == wanted:
                if len(handles) > 1 and handle not in self.voices:
                    raise HuggingTweetsError("This model was trained before posts carried their author's marker, "
                                             "so it writes only the blend: leave the author out, or train it again.")
                return handle
        known = ", ".join("@" + h.lstrip("@") for h in handles) or "none recorded"
        raise HuggingTweetsError(f"@{wanted} is not an author of this model (its authors: {known}): pick one of them or none.")

    def generate(self, config: Optional[SamplingConfig] = None, **changes) -> list[GeneratedTweet]:
        """Sample tweets; ``changes`` (SamplingConfig field names) override ``config``.

        Unknown names are an error; ``None`` values leave the setting as it is. In a model of
        several voices ``author`` writes as that one; without it each post is the model's pick.
        """
        names = {f.name for f in fields(SamplingConfig)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise HuggingTweetsError(f"Unknown sampling setting(s): {', '.join(unknown)}. Known: {', '.join(sorted(names))}.")
        config = (config or SamplingConfig()).replace(**changes)
        author = self.voice_of(config.author)
        prefix = voice_marker(author) if author in self.voices else ""
        out = []
        for text in sample_texts(self.model, self.tokenizer, config, prefix):
            picked, text = split_marker(text)
            if author is None and picked is not None:
                picked = next((h for h in self.voices if h.lower() == picked.lower()), None)
            out.append(self.describe(text.strip(), author or picked or self.only_author))
        return out


def inference_dtype(device: str):
    """Half precision on a GPU (bf16 where supported, else fp16); float32 on CPU, slow at half."""
    import torch

    if not str(device).startswith("cuda"):
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def load_generator(folder: Union[str, Path], device: Optional[str] = None) -> Generator:
    """Load a trained model folder for sampling (half precision on a GPU, float32 on CPU)."""
    model_folder = ModelFolder(folder)
    model_folder.check_usable()
    folder = model_folder.path
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model, tokenizer = load_causal_lm(str(folder), "train it again with 'huggingtweets train --overwrite'", inference_dtype(device))
    notes = [line for line in (model_folder.stopped_line(),) if line] + _honoured_generation_config(model)
    model.to(device)
    model.eval()
    tweets: list[str] = []
    authors: list = []
    if (folder / DATASET_FILE).is_file():  # without it there is nothing to compare with
        dataset = TweetDataset.load(folder)
        tweets, authors = dataset.all_train_tweets(), [a.author for a in dataset.authors]
    voices = model_folder.voices()
    return Generator(model, tokenizer, NearestIndex(tweets), folder, authors, notes, voices)


def _honoured_generation_config(model) -> list[str]:
    """Keep only the token ids from the folder's generation_config.json (checked against the
    vocabulary); say which other settings it held that are ignored."""
    from transformers import GenerationConfig

    loaded = model.generation_config.to_diff_dict() if model.generation_config is not None else {}
    vocab = getattr(model.config, "vocab_size", None) or 0

    def token_ids(value):
        ids = value if isinstance(value, list) else [value]
        ok = all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < vocab for i in ids) and 0 < len(ids) <= 8
        return value if ok else None

    kept = {k: token_ids(loaded[k]) for k in HONOURED_TOKEN_IDS if loaded.get(k) is not None}
    bad = sorted(k for k, v in kept.items() if v is None)
    kept = {k: v for k, v in kept.items() if v is not None}
    model.generation_config = GenerationConfig(**kept)
    defaults = GenerationConfig().to_dict()
    ignored = sorted(k for k, v in loaded.items() if k not in HONOURED_TOKEN_IDS + SAMPLING_FIELDS
                     and not k.startswith("_") and k != "transformers_version"
                     and v not in (None, False) and v != defaults.get(k) and not (k == "use_cache" and v is True))
    notes = []
    if ignored or bad:
        notes.append(f"generation_config.json: ignored {', '.join(ignored + bad)} (only the sampling settings chosen "
                     "here and valid token ids are used)")
    return notes


def generate(source: Union[str, Path, Generator], sampling: Optional[SamplingConfig] = None) -> list[GeneratedTweet]:
    """Sample tweets from a model folder (or a loaded ``Generator``) with ``sampling``
    (default: ``SamplingConfig()``: "My dream is", 5 tweets, top_p 0.95, temperature 1)."""
    generator = source if isinstance(source, Generator) else load_generator(source)
    return generator.generate(sampling)
