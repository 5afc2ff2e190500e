"""Choosing the voice in a model of two authors: do posts asked of one author read as that
author rather than the other?

    python benchmarks/bench_voices.py                 # the sample and the English corpus
    python benchmarks/bench_voices.py --posts 50 --corpora ../shared/corpora

Trains one model on the bundled sample and ``x-archive-en-tweets.js`` (each training post
after its author's marker, the default), as ``huggingtweets train --sample CORPUS`` does,
voice score included. Then, for each author, ``--posts`` posts are written with
``generate --author`` (no prompt, seeded) and judged by a style classifier of the same kind
as the voice score's (voice.StyleClassifier), fit on the two authors' training posts only:
the share that reads as the author asked for is the figure (acceptance: at least 70 % each).
Saved to benchmarks/results/bench_voices-KIND.json with the model's voice report.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from _common import cpu_kind, describe_device, print_table, result_kind, save_results, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from huggingtweets.config import SamplingConfig, TrainConfig
    from huggingtweets.dataset import TweetDataset
    from huggingtweets.generation import load_generator
    from huggingtweets.voice import StyleClassifier
    from huggingtweets.workflow import fetch, prepare, train

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    parser.add_argument("--posts", type=int, default=50, help="posts asked of each author (at most 100)")
    parser.add_argument("--out", help="write the figures to this JSON file too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_voices-") as tmp:
        folder = Path(tmp) / "model"
        start = time.perf_counter()
        dataset = prepare(fetch([str(Path(args.corpora) / "x-archive-en-tweets.js")], sample=True))
        result = train(TrainConfig(output_dir=str(folder)), dataset)
        wall = time.perf_counter() - start
        saved = TweetDataset.load(folder)
        sample_handle = prepare(fetch([], sample=True)).authors[0].author.handle
        generator = load_generator(folder)
        rows = []
        for a in saved.authors:
            others = [t for b in saved.authors if b is not a for t in b.train]
            judge = StyleClassifier(list(dict.fromkeys(a.train)), list(dict.fromkeys(others)))
            posts = generator.generate(SamplingConfig(prompt="", n=args.posts, seed=1), author=a.author.handle)
            voices = [judge.voice(p) for p in judge.proba([p.text for p in posts])]
            rows.append({"author": a.author.handle, "sample": a.author.handle == sample_handle, "posts": len(posts), "read_as_asked": sum(v >= 50 for v in voices),
                         "share": round(sum(v >= 50 for v in voices) / max(len(posts), 1), 3),
                         "held_out_read_as_author": round(sum(judge.voice(p) >= 50 for p in judge.proba(a.valid)) / max(len(a.valid), 1), 3)})
    payload = {"device": describe_device(), "cpu_kind": cpu_kind(), "wall_s": round(wall, 1), "steps": result.metrics.get("global_step"),
               "eval_loss": result.metrics.get("eval_loss"), "voices": result.metrics.get("voices"), "voice_report": result.voice,
               "rows": rows}
    print_table(rows, ["author", "posts", "read_as_asked", "share", "held_out_read_as_author"])
    if args.out:
        write_json(args.out, payload)
    save_results(f"bench_voices-{result_kind()}", payload)


if __name__ == "__main__":
    main()
