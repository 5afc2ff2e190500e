"""Training recipes measured on real archives and the sample: held-out bits per character, the
voice score, near copies and time, side by side.

    python benchmarks/bench_recipe.py --corpus en --recipe today --recipe default
    python benchmarks/bench_recipe.py --corpus sample en ru-uk --recipe default --no-voice
    python benchmarks/bench_recipe.py --corpus ru-uk zh --recipe default-1ep --model smollm2-135m gemma3-270m --no-voice
    python benchmarks/bench_recipe.py --list

Each run is ``huggingtweets train SOURCE --config RECIPE.json`` in a fresh process, as a user
runs it (the voice score included unless ``--no-voice``); its wall time is what the user
waits for. Afterwards, outside the timing: ``quality.bits_per_char`` on the held-out posts the
run kept, the held-out loss curve (metrics.json's ``eval_history``), and the voice report.
Corpora: ``sample`` (the bundled fictional archive) and the real archives in
``../shared/corpora`` (``--corpora DIR``; their README says what each is). Results go to
benchmarks/results/bench_recipe-KIND.json: a run replaces the rows it ran again (same corpus,
recipe and precision) and keeps the others, each row naming its host.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from huggingtweets.config import TrainConfig  # noqa: E402
from _common import RESULTS, cpu_kind, machine, print_table, result_kind, save_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPORA = {
    "sample": None,  # the bundled sample (--sample)
    "en": "x-archive-en-tweets.js",
    "ru-uk": "x-archive-ru-uk-tweets.js",
    "zh": "mastodon-zh-outbox.json",
}
# name -> TrainConfig fields ("default": TrainConfig() as it ships now). Every other recipe is
# written against BEFORE, the defaults the sweep started from, so a later change of the defaults
# cannot change what a recipe's name measures.
BEFORE = dict(learning_rate=1.372e-4, epochs=4, warmup=0.0, lr_scheduler="cosine", batch_size=8, within_post=False,
              evals_per_epoch=2, keep_best=True)
RECIPES = {
    "default": {},
    "default-1ep": {"epochs": 1},  # the shipped recipe for one epoch: comparing base models quickly
    # Gemma 3 270M overfits after one epoch (zh: held-out lowest at epoch 1 of 3): one epoch, varied
    "1ep-frozen": {"epochs": 1, "freeze_embeddings": True},  # 168M of its 268M weights are the embeddings
    "1ep-lr2e-4": {"epochs": 1, "learning_rate": 2e-4},
    "1ep-lr5e-5": {"epochs": 1, "learning_rate": 5e-5},
    # the Chinese archive: does a calmer or a bolder step beat one epoch at 1e-4 (held-out lowest where the rate decays)?
    "1ep-frozen-lr2e-4": {"epochs": 1, "freeze_embeddings": True, "learning_rate": 2e-4},
    "1ep-frozen-lr5e-5": {"epochs": 1, "freeze_embeddings": True, "learning_rate": 5e-5},
    "1ep-frozen-lr3e-5": {"epochs": 1, "freeze_embeddings": True, "learning_rate": 3e-5},
    "1ep-frozen-lr2e-5": {"epochs": 1, "freeze_embeddings": True, "learning_rate": 2e-5},
    "2ep-frozen-lr3e-5": {"epochs": 2, "freeze_embeddings": True, "learning_rate": 3e-5},
    "2ep-frozen-lr5e-5": {"epochs": 2, "freeze_embeddings": True, "learning_rate": 5e-5},
    # Chinese, the last points: LoRA on every linear layer (about ten times the full rate), and attention across posts
    "1ep-lora-lr3e-4": {"epochs": 1, "learning_rate": 3e-4, "lora": True, "lora_rank": 16, "lora_alpha": 32, "lora_targets": ["all-linear"]},
    "1ep-lora-lr1e-4": {"epochs": 1, "learning_rate": 1e-4, "lora": True, "lora_rank": 16, "lora_alpha": 32, "lora_targets": ["all-linear"]},
    "1ep-frozen-lr3e-5-cross": {"epochs": 1, "freeze_embeddings": True, "learning_rate": 3e-5, "within_post": False},
    "1ep-frozen-b4-lr2e-4": {"epochs": 1, "freeze_embeddings": True, "batch_size": 4, "learning_rate": 2e-4},
    "1ep-frozen-wd": {"epochs": 1, "freeze_embeddings": True, "weight_decay": 0.1},
    # the CLI's recipe before the real-archive tuning: the original's rate, 4 epochs, one
    # evaluation an epoch, the last weights saved
    "today": dict(BEFORE, evals_per_epoch=1, keep_best=False),
    "today-best": dict(BEFORE),
    "demo": dict(BEFORE, learning_rate=5e-4, epochs=2, warmup=0.05, keep_best=False, evals_per_epoch=1),
}
for lr in ("1e-4", "1.5e-4", "2e-4", "3e-4", "5e-4", "7e-4", "1e-3"):
    for ep in (1, 2, 3, 4, 5):
        RECIPES[f"lr{lr}-{ep}ep"] = dict(BEFORE, learning_rate=float(lr), epochs=ep, warmup=0.05, keep_best=True)
        RECIPES[f"lr{lr}-{ep}ep-post"] = dict(BEFORE, learning_rate=float(lr), epochs=ep, warmup=0.05, keep_best=True, within_post=True)
        RECIPES[f"lr{lr}-{ep}ep-post-w10"] = dict(BEFORE, learning_rate=float(lr), epochs=ep, warmup=0.1, keep_best=True, within_post=True)
BASE = dict(BEFORE, learning_rate=2e-4, epochs=3, warmup=0.1, keep_best=True, within_post=True)
RECIPES["p2-e4"] = dict(BASE, evals_per_epoch=4)
RECIPES["p2-e4-frozen"] = dict(BASE, evals_per_epoch=4, freeze_embeddings=True)
RECIPES["p2-e4-wd"] = dict(BASE, evals_per_epoch=4, weight_decay=0.1)
RECIPES["p3-e4-frozen"] = dict(BASE, learning_rate=3e-4, evals_per_epoch=4, freeze_embeddings=True)
RECIPES["lr2e-4-4ep-wd"] = dict(BEFORE, learning_rate=2e-4, epochs=4, warmup=0.05, keep_best=True, weight_decay=0.1)
for lr in ("1e-4", "1.5e-4", "2e-4", "3e-4"):
    RECIPES[f"p{lr}-b4"] = dict(BASE, learning_rate=float(lr), batch_size=4)
    RECIPES[f"p{lr}-b2"] = dict(BASE, learning_rate=float(lr), batch_size=2)
    RECIPES[f"p{lr}-b4-2ep"] = dict(BASE, learning_rate=float(lr), batch_size=4, epochs=2)
    RECIPES[f"p{lr}-b2-2ep"] = dict(BASE, learning_rate=float(lr), batch_size=2, epochs=2)
RECIPES["lr1e-4-4ep-b4"] = dict(BEFORE, learning_rate=1e-4, epochs=4, warmup=0.05, keep_best=True, batch_size=4)
for lr in ("1e-3", "2e-3", "5e-3"):
    for ep in (2, 3, 4):
        RECIPES[f"lora-lr{lr}-{ep}ep"] = dict(BEFORE, learning_rate=float(lr), epochs=ep, warmup=0.05, keep_best=True, lora=True,
                                              lora_rank=16, lora_alpha=32, lora_targets=["all-linear"])


def held_out_bits(folder: Path) -> float:
    from huggingtweets.dataset import TweetDataset
    from huggingtweets.models import load_pretrained
    from huggingtweets.quality import bits_per_char

    model, tokenizer = load_pretrained(str(folder))
    return bits_per_char(model, tokenizer, TweetDataset.load(folder).valid_texts())


# The script a corpus is written in: the share of generated letters in it says whether the model writes the language.
SCRIPTS = {"ru-uk": ("Cyrillic", lambda c: "\u0400" <= c <= "\u04ff"),
           "zh": ("Han", lambda c: "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff"),
           "en": ("Latin", lambda c: c.isascii()), "sample": ("Latin", lambda c: c.isascii())}


def script_share(folder: Path, corpus: str, n: int = 30) -> float:
    """The share of the letters in ``n`` posts the model writes from an empty prompt that are in the corpus's script."""
    from huggingtweets.config import SamplingConfig
    from huggingtweets.generation import generate

    _, inside = SCRIPTS[corpus]
    letters = [c for t in generate(folder, SamplingConfig(prompt="", n=n, seed=0)) for c in t.text if c.isalpha()]
    return round(sum(map(inside, letters)) / max(len(letters), 1), 4)


def run(corpus: str, recipe: str, corpora: Path, voice: bool, seed: int | None = None, model: str | None = None) -> dict:
    fields = dict(RECIPES[recipe], voice_score=voice, **({"seed": seed} if seed is not None else {}), **({"model": model} if model else {}))
    with tempfile.TemporaryDirectory(prefix="bench_recipe-") as tmp:
        folder, config = Path(tmp) / "model", Path(tmp) / "recipe.json"
        config.write_text(json.dumps(fields))
        source = ["--sample"] if CORPORA[corpus] is None else [str(corpora / CORPORA[corpus])]
        command = [sys.executable, "-m", "huggingtweets", "train", *source, "--output", str(folder), "--config", str(config)]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=tmp)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{corpus}/{recipe} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        metrics = json.loads((folder / "metrics.json").read_text())
        report = json.loads((folder / "voice.json").read_text()) if (folder / "voice.json").is_file() else {}
        bpc = held_out_bits(folder)
        in_script = script_share(folder, corpus)
    authors = report.get("authors") or [{}]
    return {
        "corpus": corpus, "recipe": recipe, "model": metrics.get("base_model") or model or "auto", "script": SCRIPTS[corpus][0],
        "generated_in_script": in_script, "fields": RECIPES[recipe] or {k: getattr(TrainConfig(), k) for k in BEFORE}, "seed": fields.get("seed", 42), "precision": metrics.get("precision"),
        "steps": metrics.get("global_step"), "train_tweets": metrics.get("train_tweets"), "eval_tweets": metrics.get("eval_tweets"),
        "eval_loss_before": metrics.get("eval_loss_before"), "eval_loss": metrics.get("eval_loss"),
        "last_eval_loss": metrics.get("last_eval_loss", metrics.get("eval_loss")), "best_epoch": metrics.get("best_epoch"),
        "eval_history": metrics.get("eval_history"), "bits_per_char": round(bpc, 4),
        "voice": report.get("score"), "voice_real": authors[0].get("real_rate"), "voice_base": authors[0].get("base_rate"),
        "voice_shuffled": authors[0].get("shuffled_score"), "near_copies": authors[0].get("near_copies"),
        "voice_passed": authors[0].get("passed"), "voice_counted": authors[0].get("counted"),
        "voice_seconds": report.get("seconds"), "train_s": round(metrics.get("train_runtime") or 0.0, 1), "wall_s": round(wall, 1),
        "cpu_kind": cpu_kind(), "host": machine()["platform"], "load_avg_1min": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", nargs="+", default=["en"], choices=list(CORPORA))
    parser.add_argument("--recipe", action="append", help="a name from --list (repeatable); default: today and default")
    parser.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"), help="the folder of the real archives")
    parser.add_argument("--no-voice", action="store_true", help="skip the voice score (faster sweeps)")
    parser.add_argument("--seed", type=int, nargs="+", default=[None], help="run each recipe with these seeds (default: the recipe's, 42)")
    parser.add_argument("--list", action="store_true", help="print the recipes and exit")
    parser.add_argument("--model", nargs="+", default=[None], help="train each recipe on these base models (default: the recipe's, auto)")
    args = parser.parse_args()
    if args.list:
        for name, fields in RECIPES.items():
            print(f"{name}: {fields}")
        return
    recipes = args.recipe or ["today", "default"]
    unknown = [r for r in recipes if r not in RECIPES]
    if unknown:
        raise SystemExit(f"unknown recipe(s): {', '.join(unknown)} (see --list)")
    name = f"bench_recipe-{result_kind()}"
    path = RESULTS / f"{name}.json"
    rows = json.loads(path.read_text())["rows"] if path.is_file() else []
    key = lambda r: (r["corpus"], r["recipe"], r.get("seed", 42), r["precision"], r.get("voice") is None, r.get("model", "auto"))  # noqa: E731
    for corpus in args.corpus:
        for recipe in recipes:
            for seed in args.seed:
                for model in args.model:
                    row = run(corpus, recipe, Path(args.corpora), not args.no_voice, seed, model)
                    rows = [r for r in rows if key(r) != key(row)] + [row]
                    print(json.dumps({k: row[k] for k in ("corpus", "recipe", "model", "seed", "steps", "eval_loss", "bits_per_char",
                                                          "generated_in_script", "voice", "best_epoch", "wall_s")}), flush=True)
                    save_results(name, {"rows": rows})
    shown = [r for r in rows if r["corpus"] in args.corpus and r["recipe"] in recipes]
    print_table(shown, ["corpus", "recipe", "model", "seed", "precision", "steps", "eval_loss", "bits_per_char", "generated_in_script",
                        "voice", "near_copies", "best_epoch", "train_s", "wall_s"])


if __name__ == "__main__":
    main()
