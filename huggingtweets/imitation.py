"""What the untuned base model writes when shown a few of the author's posts: the voice
score's floor (``voice.py``).

Each imitation is a line the base model writes after ``EXAMPLES`` of the author's training
posts, one per line (it goes on writing lines: each whole one counts, see ``_write``):
in-context imitation borrows the author's topics and words,
so telling it from the author takes the voice, not the vocabulary. Imitations are cleaned
by the same rules as the posts (links out, short ones dropped) and kept in the cache,
keyed by the base model, the posts shown and the settings, with the seconds they cost:
the next model trained on the same posts reuses them.

    rows, seconds = imitations(base, tokenizer, base_id, pool=train_posts, n=400, seed=0, cache_dir=...)
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

from .cache import default_cache_dir
from .cleaning import clean_text, is_short
from .config import SamplingConfig
from .diskio import atomic_write_json

Progress = Callable[[int, Optional[int], str], None]

VERSION = 2  # bump when the prompt or the cleaning changes: old cache entries are not reused
EXAMPLES = 5  # the author's posts shown before each prompt's imitations
BATCH = 48  # prompts per generate() call: about 48 x 200 tokens of prompt
ROW_TOKENS = 160  # tokens written after each prompt: about 6 imitations of English posts
MAX_CALLS = 8  # generate() calls at most, whatever the posts' length
CACHE_FOLDER = "voice"
BUNDLED = Path(__file__).resolve().parent / "data" / "sample" / "imitations.json"
# The base model's fluency gains (voice.Fluency) of texts that are the same in every run on
# the same posts (the real held-out posts, their shuffles, the held-out imitations), kept per
# base model and weight type: a figure per text, so the next score on the same posts makes
# none of them again. The sample's ship with the package, as its imitations do.
GAINS_VERSION = 1
BUNDLED_GAINS = BUNDLED.with_name("gains.json")
MAX_STORED_GAINS = 100_000  # per base model and weight type (about 40 bytes each on disk)


def _prompt(examples: Sequence[str]) -> str:
    return "".join(" ".join(e.split()) + "\n" for e in examples)


def cache_key(base_id: str, pool: Sequence[str], n: int, seed: int) -> str:
    sampling = SamplingConfig()
    spec = {"version": VERSION, "base": base_id, "n": n, "seed": seed, "examples": EXAMPLES, "top_p": sampling.top_p,
            "temperature": sampling.temperature, "row_tokens": ROW_TOKENS, "batch": BATCH,
            "pool": hashlib.sha256("\n".join(sorted(set(pool))).encode("utf-8")).hexdigest()}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode("utf-8")).hexdigest()[:32]


def _cached(path: Path) -> Optional[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, list) and all(isinstance(t, str) for t in r) for r in rows):
        return None
    return data


def imitations(model, tokenizer, base_id: str, pool: Sequence[str], n: int, seed: int = 0,
               cache_dir: Optional[Path] = None, progress: Optional[Progress] = None, reuse: bool = True) -> tuple[list[list[str]], float]:
    """At least ``n`` imitations of the posts in ``pool`` by ``model`` (the base model), grouped by
    the prompt they came from (lines of one prompt are alike: keep them on one side of a split),
    and the seconds they cost when first made (read from the cache afterwards). ``reuse=False``:
    make them again, whatever the package or the cache holds."""
    pool = list(dict.fromkeys(pool))
    key = cache_key(base_id, pool, n, seed)
    bundled = _bundled().get(key) if reuse else None
    if bundled is not None:  # the sample's, shipped with the package: the demo makes none
        return bundled["rows"], float(bundled.get("seconds", 0.0))
    path = Path(cache_dir or default_cache_dir()) / CACHE_FOLDER / f"{key}.json"
    hit = _cached(path) if reuse else None
    if hit is not None:
        return hit["rows"], float(hit.get("seconds", 0.0))
    started = time.monotonic()
    rows = _write(model, tokenizer, pool, n, seed, progress)
    seconds = time.monotonic() - started
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, {"version": VERSION, "base": base_id, "n": n, "seed": seed, "seconds": round(seconds, 2), "rows": rows})
    except OSError:
        pass  # a read-only cache only costs making them again next time
    return rows, seconds


def _bundled() -> dict:
    """``{cache key: {"rows", "seconds"}}`` shipped with the package (the sample's imitations)."""
    try:
        data = json.loads(BUNDLED.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict) and isinstance(v.get("rows"), list)} if isinstance(data, dict) else {}


def bundle(entries: dict) -> Path:
    """Write ``{cache key: {"rows", "seconds"}}`` as the package's bundled imitations (see
    ``voice.bundle_sample``, which makes the sample's)."""
    atomic_write_json(BUNDLED, entries, indent=None)
    BUNDLED.chmod(0o644)  # package data: readable by every user, as the other files are
    return BUNDLED


def text_id(text: str) -> str:
    """What names a text in the stored gains (its content, hashed)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def gains_key(base_id: str, dtype: str, spec: dict) -> str:
    """Names the gains of one base model in one weight type measured one way (``spec``)."""
    whole = {"version": GAINS_VERSION, "base": base_id, "dtype": dtype, **spec}
    return hashlib.sha256(json.dumps(whole, sort_keys=True).encode("utf-8")).hexdigest()[:32]


def gains_path(key: str, cache_dir: Optional[Path] = None) -> Path:
    """Where the cache keeps the gains named ``key``."""
    return Path(cache_dir or default_cache_dir()) / CACHE_FOLDER / f"gains-{key}.json"


def read_gains_file(path: Path) -> dict:
    """A gains file's JSON object (``{}`` when it is missing or damaged)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _valid_gains(gains) -> dict[str, float]:
    if not isinstance(gains, dict):
        return {}
    return {k: float(v) for k, v in gains.items() if isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)}


def stored_gains(key: str, cache_dir: Optional[Path] = None) -> dict[str, float]:
    """``{text_id: gain}`` kept for ``key``: the package's (the sample's) and the cache's."""
    bundled, cached = read_gains_file(BUNDLED_GAINS).get(key), read_gains_file(gains_path(key, cache_dir)).get("gains")
    return {**_valid_gains(bundled), **_valid_gains(cached)}


def store_gains(key: str, gains: dict[str, float], cache_dir: Optional[Path] = None) -> None:
    """Add ``gains`` to what the cache keeps for ``key`` (the newest kept within ``MAX_STORED_GAINS``)."""
    if not gains:
        return
    path = gains_path(key, cache_dir)
    merged = {**_valid_gains(read_gains_file(path).get("gains")), **gains}
    kept = dict(list(merged.items())[-MAX_STORED_GAINS:])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, {"version": GAINS_VERSION, "gains": kept}, indent=None)
    except OSError:
        pass  # a read-only cache only costs measuring them again next time


def bundle_gains(entries: dict[str, dict[str, float]]) -> Path:
    """Write ``{gains key: {text_id: gain}}`` as the package's bundled gains (``voice.bundle_sample``)."""
    atomic_write_json(BUNDLED_GAINS, entries, indent=None)
    BUNDLED_GAINS.chmod(0o644)
    return BUNDLED_GAINS


def _write(model, tokenizer, pool: list[str], n: int, seed: int, progress: Optional[Progress]) -> list[list[str]]:
    """Rows of ``BATCH`` prompts, each continued for ``ROW_TOKENS``: every whole line after the
    examples is an imitation (the last, cut off, is dropped). Several lines a prompt use the
    tokens a batch computes anyway: one line a prompt left most rows idle while the longest
    ran on (0.52 s an imitation against 0.17 s, SmolLM2-135M on a 2-core AMX CPU)."""
    import torch

    from .models import max_positions, sampling_args
    from .quality import inference_autocast

    rng = random.Random(seed)
    torch.manual_seed(seed)
    limit = max_positions(model)
    sampling = SamplingConfig()
    shown = min(EXAMPLES, max(len(pool) - 1, 1))
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # every prompt ends where its imitations start
    rows: list[list[str]] = []
    seen: set[str] = set()
    made = 0
    try:
        for _ in range(MAX_CALLS):
            prompts = [_prompt(rng.sample(pool, shown)) for _ in range(BATCH)]
            enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
            room = (limit or 1 << 30) - enc["input_ids"].shape[1]  # past its position table a model fails
            if room < 16:
                break
            with torch.inference_mode(), inference_autocast(model):
                out = model.generate(
                    **enc, num_beams=1, **sampling_args(model, sampling.top_p, sampling.temperature),
                    max_new_tokens=min(ROW_TOKENS, room), pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                )
            before = made
            for ids in out[:, enc["input_ids"].shape[1]:].tolist():
                ended = tokenizer.eos_token_id in ids  # an end-of-text ends the last line too
                if ended:
                    ids = ids[: ids.index(tokenizer.eos_token_id)]
                lines = tokenizer.decode(ids, skip_special_tokens=True).split("\n")
                row = []
                for line in lines if ended else lines[:-1]:  # else the last line may be cut off mid-way
                    cleaned = clean_text(line)
                    if cleaned and not is_short(cleaned) and cleaned not in seen:
                        seen.add(cleaned)
                        row.append(cleaned)
                rows.append(row)
                made += len(row)
            if progress:
                progress(min(made, n), n, "Writing the base model's imitations (once per dataset)")
            if made >= n or made == before:  # enough, or a model that writes no whole line
                break
    finally:
        tokenizer.padding_side = side
    return rows
