"""The voice score's design choices, measured on one trained model folder: how many imitations
the classifier needs, its regularisation and threshold, and which fluency gate tells real
posts from shuffled words and word salad.

    python benchmarks/sweep_voice.py FOLDER              # both parts
    python benchmarks/sweep_voice.py FOLDER --part gate

FOLDER: a model folder trained on one author (e.g. ``huggingtweets train
../shared/corpora/x-archive-en-tweets.js``). The base model's imitations come from the cache
``voice.py`` uses (made once, as the score makes them). Every figure is on the folder's
held-out posts: the real ones, held-out imitations, 100 of the model's own posts (seeded),
and the real posts word-shuffled. Saved to benchmarks/results/sweep_voice-KIND.json.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from _common import cpu_kind, machine, result_kind, save_results, write_json  # noqa: E402


def quantiles(values, points=(0.05, 0.1, 0.25, 0.5, 0.75, 0.9)) -> list[float]:
    values = sorted(values)
    return [round(values[int(p * (len(values) - 1))], 2) for p in points]


def main() -> None:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from huggingtweets.config import SamplingConfig
    from huggingtweets.dataset import TweetDataset
    from huggingtweets.generation import NearestIndex, load_generator
    from huggingtweets.imitation import imitations
    from huggingtweets.models import load_pretrained
    from huggingtweets.quality import for_scoring, inference_autocast, text_bits
    from huggingtweets.voice import GATE_QUANTILE, N_FIT, N_HELD, SEED, Fluency, StyleClassifier, base_model_of, shuffled, split_rows

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--part", choices=["classifier", "gate", "both"], default="both")
    parser.add_argument("--negatives", type=int, nargs="+", default=[100, 200, N_FIT], help="imitations to fit on, each")
    parser.add_argument("--out", help="write the figures here instead of benchmarks/results (a smoke run)")
    args = parser.parse_args()
    folder = Path(args.folder)
    author = TweetDataset.load(folder).authors[0]
    from huggingtweets.config import TrainConfig

    path, name = base_model_of(TrainConfig.load(folder))
    base, tokenizer = load_pretrained(path)
    base = for_scoring(base).eval()
    start = time.perf_counter()
    rows, seconds = imitations(base, tokenizer, name, author.train, N_FIT + N_HELD, SEED)
    index = NearestIndex(author.train)
    fresh = lambda texts: [t for t in texts if not index.lookup(t).near_copy]  # noqa: E731
    fit_pool, held = split_rows([fresh(row) for row in rows], N_HELD)  # as voice.load_voices splits them
    generator = load_generator(folder)
    with inference_autocast(generator.model):
        gens = fresh([t.text for t in generator.generate(SamplingConfig(prompt="", n=100, seed=SEED))])
    del generator
    real = list(author.valid)
    rng = random.Random(SEED)
    shuffled_real = [shuffled(t, rng) for t in real]
    salad_words = [w for t in author.train for w in t.split()]
    salad = [" ".join(rng.choice(salad_words) for _ in range(rng.randint(5, 20))) for _ in range(100)]
    fluency = Fluency(base, tokenizer)
    sets = {"real": real, "imitations": held, "model": gens, "shuffled": shuffled_real, "salad": salad}
    gains = {k: fluency.gains(v) for k, v in sets.items()}
    payload = {"machine": machine(), "cpu_kind": cpu_kind(), "folder": str(folder), "base": name,
               "imitations_s": round(seconds, 1), "sizes": {k: len(v) for k, v in sets.items()} | {"fit_pool": len(fit_pool)}}
    if args.part in ("gate", "both"):
        def bpc(texts):
            with inference_autocast(base):
                return [b / (len(t) + 1) for b, t in zip(text_bits(base, tokenizer, texts), texts)]
        raw = {k: bpc(v) for k, v in sets.items()}
        gate_rows = []
        for measure, values in (("bits_per_char", raw), ("order_gain", gains)):
            sign = -1 if measure == "bits_per_char" else 1  # lower bits pass; higher gains pass
            for share in (0.05, 0.1, GATE_QUANTILE):
                ordered = sorted(sign * v for v in values["real"])
                cut = ordered[int(share * (len(ordered) - 1))]
                gate_rows.append({"measure": measure, "real_turned_away": share,
                                  **{k: round(float(np.mean([sign * v >= cut for v in vals])), 2) for k, vals in values.items()}})
        payload["gate"] = {"quantiles": {m: {k: quantiles(v) for k, v in vals.items()} for m, vals in (("bits_per_char", raw), ("order_gain", gains))},
                           "pass_rates": gate_rows}
        for row in gate_rows:
            print(row)
    if args.part in ("classifier", "both"):
        cut = sorted(gains["real"])[int(GATE_QUANTILE * (len(gains["real"]) - 1))]
        fluent = {k: [g >= cut for g in v] for k, v in gains.items()}
        positives = list(dict.fromkeys(author.train))
        clf_rows = []
        for n_neg, c, threshold in itertools.product(args.negatives, (0.3, 1.0, 3.0, 10.0), ("0.5", "cv")):
            import huggingtweets.voice as voice

            old_c, voice.C = voice.C, c
            try:
                judge = StyleClassifier(positives, fit_pool[:n_neg], threshold=0.5 if threshold == "0.5" else None)
            finally:
                voice.C = old_c
            proba = {k: judge.proba(sets[k]) for k in ("real", "imitations", "model", "shuffled")}
            auc = roc_auc_score([1] * len(real) + [0] * len(held), proba["real"] + proba["imitations"])
            rate = {k: float(np.mean([p >= judge.threshold and f for p, f in zip(proba[k], fluent[k])])) for k in proba}
            spread = rate["real"] - rate["imitations"]
            score = lambda r: round(100 * min(1.0, max(0.0, (r - rate["imitations"]) / spread)), 1) if spread > 0 else None  # noqa: E731
            row = {"negatives": n_neg, "C": c, "threshold": threshold, "threshold_value": round(judge.threshold, 3), "auc": round(auc, 3),
                   **{f"pass_{k}": round(v, 2) for k, v in rate.items()}, "score": score(rate["model"]), "shuffled_score": score(rate["shuffled"])}
            clf_rows.append(row)
            print(row, flush=True)
        payload["classifier"] = clf_rows
    payload["wall_s"] = round(time.perf_counter() - start, 1)
    if args.out:
        write_json(args.out, payload)
    else:
        save_results(f"sweep_voice-{result_kind()}", payload)


if __name__ == "__main__":
    main()
