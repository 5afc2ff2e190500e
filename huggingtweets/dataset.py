"""From sources to a balanced, split, saved dataset; and from texts to token blocks.

Order of work (each step a function):
1. ``load_sources``: fetch each source (downloads are cached on disk by the source
   before anything else touches them);
2. ``build_dataset``: clean each author, check there is enough text, split held-out
   tweets per author, seeded;
3. ``TweetDataset.balanced_train``: each author oversampled to the largest so the mix
   sounds like all of them;
4. ``pack_blocks``: tokenize, join tweets with the end-of-text marker, cut into blocks.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

from .cleaning import AuthorStats, CleanedAuthor, check_enough, clean_author
from .diskio import atomic_write_text
from .language import combine
from .errors import HuggingTweetsError
from .folder import DATASET as DATASET_FILE
from .names import published_name
from .sources import AuthorTweets, FetchOptions, Progress, detect, sample_archive_path
from .sources.base import Author

# In a model of several authors every training post starts with its author's marker, so that
# generation can ask for one voice ("[@wren] My dream is") or leave it to the model (the blend).
# Brackets, because a post may itself start with an @mention.
_MARKER = re.compile(r"^\s*\[@([^\]\s]{1,200})\]\s?")


def voice_marker(handle: str) -> str:
    """The text put before each of ``handle``'s posts in a model of several voices."""
    return f"[@{handle.lstrip('@')}] "


def split_marker(text: str) -> tuple[Optional[str], str]:
    """``(handle, post)`` from a text that may start with a voice marker (``None``: it does not)."""
    m = _MARKER.match(text)
    return (m.group(1), text[m.end():]) if m else (None, text)


def load_sources(
    specs: Sequence[str],
    options: Optional[FetchOptions] = None,
    sample: bool = False,
    progress: Optional[Progress] = None,
) -> list[AuthorTweets]:
    """Fetch every source in order; ``sample`` adds the bundled sample archive first."""
    specs = ([str(sample_archive_path())] if sample else []) + list(specs)
    if not specs:
        raise HuggingTweetsError("No source given: name a handle, an archive, an export or a text file (or use --sample).")
    options = options or FetchOptions()
    sources = [detect(s, options) for s in specs]  # validate every spec before any download
    fetched = [source.fetch(progress) for source in sources]
    seen: dict[str, int] = {}
    for i, at in enumerate(fetched):
        key = at.author.handle.lower()
        if key in seen:
            raise HuggingTweetsError(_twice(at.author.handle, [specs[seen[key]], specs[i]], [fetched[seen[key]], at], options))
        seen[key] = i
    return fetched


def _twice(handle: str, specs: list[str], both: list[AuthorTweets], options: FetchOptions) -> str:
    """Why one author came twice, and what to do: a plain file's author is its file name
    (or ``--author``, which names every file's author), so two files can collide unseen."""
    files = [spec for spec, at in zip(specs, both) if at.author.source == "file"]
    if not files:
        return f"@{handle} is given twice: name each author once."
    if options.author:
        return (f"@{handle} is given twice: --author names the author of every text file given. "
                "Put one author's tweets in one file, or leave --author out and name each file after its author.")
    named = " and ".join(f"{Path(f).name!r}" for f in files)
    return (f"@{handle} is given twice: the author of a text file is taken from its file name ({named}). "
            f"Rename a file to its author's handle, or give one file at a time with --author HANDLE.")


@dataclass
class AuthorData:
    author: Author
    stats: AuthorStats
    train: list[str] = field(default_factory=list)
    valid: list[str] = field(default_factory=list)


@dataclass
class TweetDataset:
    authors: list[AuthorData]
    seed: int = 42
    validation_fraction: float = 0.0  # 0: not split yet (training splits with its config)
    warnings: list[str] = field(default_factory=list)
    # The AuthorTweets it was built from (raw, retweets in), for W&B tracking; never saved.
    raw: list[AuthorTweets] = field(default_factory=list, repr=False, compare=False)

    @property
    def stats(self) -> list[AuthorStats]:
        return [a.stats for a in self.authors]

    @property
    def languages(self) -> str:
        """The whole corpus's languages (``language.measure``'s form), each author weighed by characters."""
        return combine((s.languages, s.characters) for s in self.stats)

    @property
    def handles(self) -> list[str]:
        return [a.author.handle for a in self.authors]

    @property
    def slug(self) -> str:
        """The published name: handles sorted and joined by '-' (``ladygaga-snoopdogg``)."""
        return published_name(self.handles)

    def all_train_tweets(self) -> list[str]:
        return [t for a in self.authors for t in a.train]

    def valid_texts(self, marked: bool = False) -> list[str]:
        """The held-out tweets; ``marked``: each after its author's ``voice_marker``."""
        return [(voice_marker(a.author.handle) if marked else "") + t for a in self.authors for t in a.valid]

    def split(self, fraction: float, seed: int) -> "TweetDataset":
        """Each author's tweets split into training and held-out: about ``fraction`` of the
        distinct texts held out, seeded. Training's data section calls this with its config."""
        if (fraction, seed) == (self.validation_fraction, self.seed):
            return self
        if not 0 <= fraction < 1:
            raise HuggingTweetsError(f"validation fraction must be in [0, 1), got {fraction}.")
        rng = random.Random(seed)
        authors = [AuthorData(a.author, a.stats, *split_tweets(a.train + a.valid, fraction, rng)) for a in self.authors]
        return TweetDataset(authors, seed, fraction, list(self.warnings), self.raw)

    def balanced_train(self, marked: bool = False) -> list[str]:
        """Every author's training tweets oversampled to the largest author's count, shuffled.

        Whole repeats first, then a seeded sample of the remainder, so each author
        appears in proportion 1 : 1 : 1 whatever their volume. ``marked``: each post
        starts with its author's ``voice_marker``.
        """
        rng = random.Random(self.seed)
        largest = max((len(a.train) for a in self.authors), default=0)
        texts: list[str] = []
        for a in self.authors:
            if not a.train:
                continue
            repeats, rest = divmod(largest, len(a.train))
            mine = a.train * repeats + rng.sample(a.train, rest)
            marker = voice_marker(a.author.handle) if marked else ""
            texts.extend(marker + t for t in mine)
        rng.shuffle(texts)
        return texts

    # --- on disk -------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "seed": self.seed,
            "validation_fraction": self.validation_fraction,
            "warnings": self.warnings,
            "authors": [
                {"author": vars(a.author), "stats": a.stats.to_dict(), "train": a.train, "valid": a.valid}
                for a in self.authors
            ],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "TweetDataset":
        """Raises TypeError (or KeyError) on any field of the wrong type: a damaged file must fail
        here, in one line, not as a tokenizer error halfway into a resumed run."""
        authors = [
            AuthorData(_typed(Author(**a["author"]), str), _typed(AuthorStats(**a["stats"]), (str, int)), _texts(a["train"]), _texts(a["valid"]))
            for a in d["authors"]
        ]
        seed, fraction = d.get("seed", 42), d.get("validation_fraction", 0.1)
        if not isinstance(seed, int) or isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
            raise TypeError("seed or validation_fraction")
        return cls(authors, seed, fraction, _texts(d.get("warnings", [])))

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        return atomic_write_text(folder / DATASET_FILE, json.dumps(self.to_dict(), ensure_ascii=False, indent=1))

    @classmethod
    def load(cls, folder: str | Path) -> "TweetDataset":
        path = Path(folder)
        if path.is_dir():
            path = path / DATASET_FILE
        if not path.exists():
            raise HuggingTweetsError(f"No dataset at {path}: run 'huggingtweets data ... --out DIR' first.")
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:  # JSONDecodeError is a ValueError
            raise HuggingTweetsError(f"{path} is damaged ({type(err).__name__}): train again with --overwrite.") from None


def _texts(value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise TypeError("a list of texts")
    return list(value)


def _typed(obj, kinds):
    """``obj`` (a dataclass read from JSON) when every field is one of ``kinds`` (never a bool)."""
    if any(isinstance(v, bool) or not isinstance(v, kinds) for v in vars(obj).values()):
        raise TypeError(type(obj).__name__)
    return obj


def split_tweets(tweets: Sequence[str], fraction: float, rng: random.Random) -> tuple[list[str], list[str]]:
    """Hold out about ``fraction`` of the distinct texts; a text never lands in both parts."""
    distinct = list(dict.fromkeys(tweets))
    if fraction <= 0 or len(distinct) < 2:
        return list(tweets), []
    n_valid = min(len(distinct) - 1, max(1, round(len(distinct) * fraction)))
    held = set(rng.sample(distinct, n_valid))
    train = [t for t in tweets if t not in held]
    valid = [t for t in tweets if t in held]
    return train, valid


def build_dataset(
    raw: Iterable[AuthorTweets],
    validation_fraction: float = 0.0,
    seed: int = 42,
    keep_newlines: bool = False,
    require_enough: bool = True,
    keep_contacts: bool = False,
) -> TweetDataset:
    """Clean every author and check the volume. Training splits off held-out tweets with its
    own config (``TweetDataset.split``); ``validation_fraction`` does it here instead.
    ``keep_contacts``: leave email addresses and phone numbers in (each author's stats record
    the choice, so the dataset saved in a model folder, which a resume trains on, keeps it)."""
    raw = list(raw)
    cleaned: list[CleanedAuthor] = [clean_author(r, keep_newlines, keep_contacts) for r in raw]
    if not cleaned:
        raise HuggingTweetsError("No authors given: name at least one source.")
    warnings = [note for r in raw for note in r.notes]  # what a reader guessed (a handle from a file name)
    warnings += check_enough([c.stats for c in cleaned]) if require_enough else []
    authors = [AuthorData(c.author, c.stats, list(c.tweets), []) for c in cleaned]
    return TweetDataset(authors, seed, 0.0, warnings, raw).split(validation_fraction, seed)


def pack_blocks(texts: Sequence[str], tokenizer, block_size: int, within_post: bool = False) -> list[dict]:
    """Tokenize, put end-of-text after every tweet, and cut the stream into ``block_size`` blocks.

    The last partial block is padded (labels -100 on padding) rather than dropped, so a
    small held-out set still gives at least one block. Padding is masked here, not by a
    collator, because many tokenizers pad with the end-of-text token, which must still
    be learned where it ends a tweet.

    ``within_post``: position ids restart at every end-of-text and there is no attention
    mask, so transformers (``masking_utils``, packed sequences found from position ids)
    builds a block-diagonal causal mask: each post attends only to itself after its
    end-of-text, as a prompt does when the model writes.
    """
    eos = tokenizer.eos_token_id
    if eos is None:
        raise HuggingTweetsError("The tokenizer has no end-of-text token: choose a causal language model.")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    stream: list[int] = [eos]  # every tweet starts after end-of-text, as prompts will
    if texts:
        for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
            stream.extend(ids)
            stream.append(eos)
    blocks = []
    for start in range(0, len(stream), block_size):
        chunk = stream[start : start + block_size]
        n_pad = block_size - len(chunk)
        if len(chunk) < 2:  # nothing to predict
            continue
        block = {
            "input_ids": chunk + [pad] * n_pad,
            "attention_mask": [1] * len(chunk) + [0] * n_pad,
            "labels": chunk + [-100] * n_pad,
        }
        if within_post:
            positions, position = [], 0
            for token in chunk:
                if token == eos:  # a post's end-of-text starts the next one
                    position = 0
                positions.append(position)
                position += 1
            block["position_ids"] = positions + list(range(position, position + n_pad))
            del block["attention_mask"]  # padding is last and unlabelled: causal attention never reads it
        blocks.append(block)
    return blocks
