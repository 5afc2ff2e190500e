"""Cleaning + dataset building for 10,000 tweets (target: well under a second).

Baseline: the same work done the way the original notebook did it, one regular
expression pass per link pattern and position, per tweet. Run:
    python benchmarks/bench_data.py [--tweets 10000]
"""

from __future__ import annotations

import argparse
import html
import random
import re

from _common import best_and_median, report

from huggingtweets.dataset import build_dataset
from huggingtweets.sources.base import Author, AuthorTweets, Tweet

WORDS = "the lamp is lit and bread rises while bees sleep under a grey sea gulls argue about crusts".split()


def synthetic(n: int, seed: int = 0) -> list[AuthorTweets]:
    """``n`` raw tweets over three authors: retweets, short ones, links and entities mixed in."""
    rng = random.Random(seed)
    authors = [AuthorTweets(Author(h)) for h in ("wren", "gull", "bee")]
    for i in range(n):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30)))
        kind = rng.random()
        if kind < 0.1:
            text = f"RT @someone: {words}"
        elif kind < 0.4:
            text = f"{words} &amp; more https://t.co/{i:08x}"
        else:
            text = words
        authors[i % 3].tweets.append(Tweet(str(i), text))
    return authors


def baseline_clean(raw: list[AuthorTweets]) -> list[list[str]]:
    """The original notebook's approach: five substitutions per link prefix, per tweet."""
    out = []
    for at in raw:
        kept = []
        for t in at.tweets:
            if t.text.startswith("RT @"):
                continue
            text = html.unescape(t.text)
            for w in ("http:", "https:"):
                text = re.sub(f" {w}\\S+", "", text)
                text = re.sub(f"{w}\\S+ ", "", text)
                text = re.sub(f"\n{w}\\S+ ", "", text)
                text = re.sub(f"\n{w}\\S+", "", text)
                text = re.sub(f"{w}\\S+", "", text)
            text = " ".join(text.split())
            if len([w for w in text.split() if not any(b in w.lower() for b in ("http", "@", "#"))]) >= 3:
                kept.append(text)
        out.append(kept)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tweets", type=int, default=10_000)
    args = parser.parse_args()
    raw = synthetic(args.tweets)
    ds = build_dataset(raw, require_enough=False)
    assert [a.stats.kept for a in ds.authors] == [len(k) for k in baseline_clean(raw)]  # same rules, same result

    rows = []
    for name, fn in (
        ("baseline: per-pattern regex (original notebook)", lambda: baseline_clean(raw)),
        ("huggingtweets: clean + split (build_dataset)", lambda: build_dataset(raw, require_enough=False)),
        ("huggingtweets: + balance authors", lambda: build_dataset(raw, require_enough=False).balanced_train()),
    ):
        best, median = best_and_median(fn)
        rows.append({"step": name, "tweets": args.tweets, "best_ms": round(best * 1000, 1), "median_ms": round(median * 1000, 1), "target_ms": 1000})
    report("bench_data", rows, ["step", "tweets", "best_ms", "median_ms", "target_ms"])


if __name__ == "__main__":
    main()
