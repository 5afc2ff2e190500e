"""Generation benchmarks, in two sections.

nearest   Nearest-training-tweet lookup for generated tweets, on 10,000 synthetic tweets.
          Every generated tweet is checked against the training tweets (nearest tweet,
          similarity, near copy). Baseline: the obvious way, difflib's ratio against
          every training tweet (with difflib's own quick-ratio pruning); it runs on a
          few queries only and its per-query time is extrapolated. The index's answers
          are checked against the baseline on those queries.
sampling  10 tweets of up to 160 new tokens for "My dream is" from a trained model
          folder, ours (``load_generator(folder).generate(SamplingConfig(...))``: the
          near-copy lookup of every tweet included) against the model card's snippet
          as written (``pipeline('text-generation', model=folder)``, then
          ``generator("My dream is", num_return_sequences=10, max_new_tokens=160)``).
          Timed side by side in one process: loading, the first call, then the best
          and median of ``--repeat`` further calls, each with the same seed on both
          sides. Without ``--model-dir`` a tiny model is trained on the bundled sample
          first (3 epochs, about half a minute on 2 CPU cores).

Run:
    python benchmarks/bench_generate.py [--section all|nearest|sampling]
        [--tweets 10000] [--queries 150] [--baseline-queries 3]
        [--model-dir DIR] [--prompt "My dream is"] [--n 10] [--max-new-tokens 160] [--repeat 3]
        [--out FILE.json]
    python benchmarks/bench_generate.py --smoke --out x.json   # seconds: tiny sizes, not saved
Results are saved to benchmarks/results/bench_generate.json (nearest) and
bench_generate-sampling.json (sampling).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from difflib import SequenceMatcher
from pathlib import Path

from _common import best_and_median, describe_device, print_table, quiet_transformers, report, save_results, synchronize, write_json

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


def nearest_section(args) -> list[dict]:
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
    return rows


# --- sampling: ours against the model card's snippet ------------------------------------
def train_tiny(folder: Path, max_steps: int = -1) -> Path:
    """A tiny model trained on the bundled sample, for when no ``--model-dir`` is given."""
    from huggingtweets import TrainConfig
    from huggingtweets.dataset import build_dataset, load_sources
    from huggingtweets.training import fine_tune

    config = TrainConfig(model="tiny", output_dir=str(folder), learning_rate=2e-3, epochs=3, warmup=0.05, max_steps=max_steps)
    print(f"training a tiny model in {folder} ({'%d steps' % max_steps if max_steps > 0 else '3 epochs'}) ...", flush=True)
    fine_tune(config, build_dataset(load_sources([], sample=True)))
    return folder


def timed(fn) -> tuple[float, object]:
    synchronize()
    start = time.perf_counter()
    result = fn()
    synchronize()
    return time.perf_counter() - start, result


def sampling_section(args, folder: Path) -> dict:
    import torch
    from transformers import pipeline

    from huggingtweets import SamplingConfig, load_generator

    for f in folder.iterdir():  # the page cache warm for both loads, whichever goes first
        if f.is_file():
            f.read_bytes()
    config = SamplingConfig(prompt=args.prompt, n=args.n, max_new_tokens=args.max_new_tokens, seed=0)

    def ours_call():
        return [t.text for t in generator.generate(config)]

    def card_call():
        torch.manual_seed(0)  # the same seed ours sets
        return [o["generated_text"] for o in card(args.prompt, num_return_sequences=args.n, max_new_tokens=args.max_new_tokens)]

    sides = {}
    load_s, generator = timed(lambda: load_generator(folder))
    first_s, tweets = timed(ours_call)
    best, median = best_and_median(ours_call, repeat=args.repeat)
    sides["ours"] = {"load_s": load_s, "first_call_s": first_s, "best_s": best, "median_s": median, "tweets": tweets,
                     "device": str(generator.model.device), "dtype": str(generator.model.dtype)}  # fmt: skip
    load_s, card = timed(lambda: pipeline("text-generation", model=str(folder)))
    first_s, tweets = timed(card_call)
    best, median = best_and_median(card_call, repeat=args.repeat)
    sides["pipeline"] = {"load_s": load_s, "first_call_s": first_s, "best_s": best, "median_s": median, "tweets": tweets,
                         "device": str(card.model.device), "dtype": str(card.model.dtype)}  # fmt: skip
    return {
        "device": describe_device(),
        "model_dir": str(folder) if args.model_dir else "a tiny model trained on the sample",
        "prompt": args.prompt,
        "n": args.n,
        "max_new_tokens": args.max_new_tokens,
        "repeat": args.repeat,
        **sides,
        # Same seed, same settings: the same tokens sampled, so the same work timed (ours cuts at a line end).
        "same_samples": sum(p.startswith(o) for o, p in zip(sides["ours"]["tweets"], sides["pipeline"]["tweets"])),
        "speedup": sides["pipeline"]["median_s"] / sides["ours"]["median_s"],
    }


def show_sampling(p: dict) -> None:
    rows = []
    for name, label in (("ours", "ours: load_generator().generate()"), ("pipeline", "model card: pipeline()")):
        side = p[name]
        rows.append({
            "method": label, "load_s": f"{side['load_s']:.2f}", "first_call_s": f"{side['first_call_s']:.2f}",
            "call_s": f"{side['best_s']:.2f} / {side['median_s']:.2f}", "tweets": len(side["tweets"]),
            "on": f"{side['device']} {side['dtype'].replace('torch.', '')}",
        })  # fmt: skip
    print(f'\n{p["n"]} tweets of up to {p["max_new_tokens"]} new tokens for "{p["prompt"]}" ({p["model_dir"]}), on {p["device"]}')
    print("call_s: best / median of the calls after the first; one seed for both sides")
    print_table(rows, ["method", "load_s", "first_call_s", "call_s", "tweets", "on"])
    print(f"speedup (pipeline median / ours median): {p['speedup']:.2f}x; the same samples on both sides: {p['same_samples']}/{p['n']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--section", choices=("all", "nearest", "sampling"), default="all")
    parser.add_argument("--tweets", type=int, default=10_000, help="nearest: synthetic training tweets")
    parser.add_argument("--queries", type=int, default=150, help="nearest: lookups timed on the index")
    parser.add_argument("--baseline-queries", type=int, default=3, help="nearest: lookups timed the brute-force way")
    parser.add_argument("--model-dir", help="sampling: a trained model folder (default: train a tiny one first)")
    parser.add_argument("--prompt", default="My dream is", help="sampling: the prompt")
    parser.add_argument("--n", type=int, default=10, help="sampling: tweets per call")
    parser.add_argument("--max-new-tokens", type=int, default=160, help="sampling: new tokens at most per tweet")
    parser.add_argument("--repeat", type=int, default=3, help="sampling: timed calls after the first")
    parser.add_argument("--out", help="write the figures to this JSON file")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for tests: seconds, figures not saved")
    args = parser.parse_args()
    if args.smoke:
        args.tweets, args.queries, args.baseline_queries = 300, 6, 3
        args.n, args.max_new_tokens, args.repeat = 2, 8, 1
    out: dict = {}

    if args.section in ("all", "nearest"):
        rows = nearest_section(args)
        print("times: best / median; per query = one run over all timed queries divided by their number")
        columns = ["method", "tweets", "build_ms", "query_ms", "queries_timed", "speedup", "agreement"]
        if args.smoke:
            print_table(rows, columns)
        else:
            report("bench_generate", rows, columns)
        out["nearest"] = {"rows": rows}

    if args.section in ("all", "sampling"):
        quiet_transformers()
        with tempfile.TemporaryDirectory(prefix="bench_generate-") as tmp:
            folder = Path(args.model_dir).expanduser() if args.model_dir else train_tiny(Path(tmp) / "tiny", max_steps=2 if args.smoke else -1)
            payload = sampling_section(args, folder)
        show_sampling(payload)
        if not args.smoke:
            save_results("bench_generate-sampling", payload)
        out["sampling"] = payload

    if args.out:
        write_json(args.out, out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
