"""Nearest-training-tweet lookup for generated tweets, on 10,000 synthetic tweets.

Every generated tweet is checked against the training tweets (nearest tweet,
similarity, near copy). Baseline: the obvious way, difflib's ratio against every
training tweet (with difflib's own quick-ratio pruning); it runs on a few queries
only and its per-query time is extrapolated. The index's answers are checked
against the baseline on those queries. Run:
    python benchmarks/bench_generate.py [--tweets 10000] [--queries 150] [--baseline-queries 3]
"""

from __future__ import annotations

import argparse
import random
from difflib import SequenceMatcher

from _common import best_and_median, report

from huggingtweets.generation import SIMILAR, NearestIndex, normalize


def synthetic(n: int, seed: int = 0, vocab: int = 5000) -> tuple[list[str], list[str]]:
    """``n`` tweets of 4-30 words drawn from a Zipf-distributed made-up vocabulary (like real text)."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(1, 9))) for _ in range(vocab)]
    weights = [1 / (rank + 1) for rank in range(vocab)]
    return [" ".join(rng.choices(words, weights, k=rng.randint(4, 30))) for _ in range(n)], words


def queries(tweets: list[str], words: list[str], n: int, seed: int = 1) -> list[str]:
    """A third each: a training tweet with one word changed, an 8-word run in new text, unrelated text."""
    rng = random.Random(seed)
    fresh, _ = synthetic(n, seed=seed + 100)
    out = []
    for i in range(n):
        t = rng.choice([t for t in rng.sample(tweets, 20) if len(t.split()) >= 10] or tweets).split()
        if i % 3 == 0:
            t[rng.randrange(len(t))] = rng.choice(words)
            out.append(" ".join(t))
        elif i % 3 == 1:
            start = rng.randrange(len(t) - 7)
            out.append(" ".join(fresh[i].split()[:6] + t[start : start + 8] + fresh[i].split()[6:12]))
        else:
            out.append(fresh[i])
    return out


def brute_force(norms: list[str], text: str) -> float:
    """Best difflib ratio over every tweet: the baseline."""
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(normalize(text))
    best = 0.0
    for n in norms:
        matcher.set_seq1(n)
        if matcher.real_quick_ratio() > best and matcher.quick_ratio() > best:
            best = max(best, matcher.ratio())
    return best


def longest_run(norms: list[str], text: str) -> int:
    """Longest run of words shared with any one tweet (checking the 8-word rule the slow way)."""
    words = normalize(text).split()
    best = 0
    for n in norms:
        other = n.split()
        best = max(best, SequenceMatcher(None, other, words, autojunk=False).find_longest_match(0, len(other), 0, len(words)).size)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tweets", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--baseline-queries", type=int, default=3)
    args = parser.parse_args()
    tweets, words = synthetic(args.tweets)
    qs = queries(tweets, words, args.queries)
    norms = list(dict.fromkeys(normalize(t) for t in tweets))

    build_best, build_median = best_and_median(lambda: NearestIndex(tweets), repeat=3)
    index = NearestIndex(tweets)
    q_best, q_median = best_and_median(lambda: [index.lookup(q) for q in qs], repeat=3)

    subset = qs[: args.baseline_queries]  # a third of each kind, as generated
    brute: list[float] = []
    b_best, b_median = best_and_median(lambda: brute.extend(brute_force(norms, q) for q in subset), repeat=1)

    # Does the index give the baseline's answers? Exact similarity where a real neighbour
    # exists (>= 0.7; below that the "nearest" is character noise), and the same verdict.
    close = same_sim = same_verdict = 0
    for q, best in zip(subset, brute):
        match = index.lookup(q)
        if best >= 0.7:
            close += 1
            same_sim += abs(match.similarity - best) < 1e-9
        same_verdict += match.near_copy == (best >= SIMILAR or longest_run(norms, q) >= 8)

    per_index = q_median / len(qs)
    per_brute = b_median / len(subset)
    rows = [
        {
            "method": "NearestIndex (4-gram index + difflib on 32)",
            "tweets": args.tweets,
            "build_ms": f"{build_best * 1000:.0f} / {build_median * 1000:.0f}",
            "query_ms": f"{q_best / len(qs) * 1000:.2f} / {per_index * 1000:.2f}",
            "queries_timed": len(qs),
            "speedup": f"{per_brute / per_index:.0f}x",
            "agreement": f"sim {same_sim}/{close}, verdict {same_verdict}/{len(subset)}",
        },
        {
            "method": "baseline: difflib over all tweets",
            "tweets": args.tweets,
            "build_ms": "0",
            "query_ms": f"{b_best / len(subset) * 1000:.1f} / {per_brute * 1000:.1f}",
            "queries_timed": len(subset),
            "speedup": "1x",
            "agreement": "reference",
        },
    ]
    print("times: best / median; per query = one run over all timed queries divided by their number")
    report("bench_generate", rows, ["method", "tweets", "build_ms", "query_ms", "queries_timed", "speedup", "agreement"])


if __name__ == "__main__":
    main()
