"""A batch of models, three ways: one line after another, ``--parallel 2``, and ``--ray`` (local).

    python benchmarks/bench_batch.py                    # 4 lines: the sample and the three real archives
    python benchmarks/bench_batch.py --steps 30 --model tiny

Each way is ``huggingtweets batch lines.txt --root DIR`` in a fresh process with an empty root
(the cache is shared and warmed first, so no way pays for reading an archive the others do not),
as a user runs it; its wall time is what the user waits for. Every line trains the same number of
steps (``--max-steps``), so the ways differ only in how the lines share the machine. Beside the
wall time: the sum of the lines' own minutes (from batch.json), and the time a line spends
outside its training (process start, imports, model load, data), the per-line cost a batch of
thousands multiplies. Run it with nothing else on the machine.
Results: benchmarks/results/bench_batch-KIND.json.
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

from _common import cpu_kind, machine, print_table, result_kind, save_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["--sample", "x-archive-en-tweets.js", "x-archive-ru-uk-tweets.js", "mastodon-zh-outbox.json"]
WAYS = {"one after another": [], "--parallel 2": ["--parallel", "2"], "--ray (local)": ["--ray"]}


def lines_file(folder: Path, corpora: Path, model: str, steps: int) -> Path:
    words = f"--model {model} --max-steps {steps} --no-voice-score"
    text = "\n".join(f"{s if s.startswith('-') else corpora / s} {words}" for s in SOURCES) + "\n"
    path = folder / "lines.txt"
    path.write_text(text, encoding="utf-8")
    return path


def run_way(lines: Path, root: Path, extra: list[str], env: dict) -> dict:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "huggingtweets", "batch", str(lines), "--root", str(root), *extra],
                          capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{extra} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    rows = json.loads((root / "batch.json").read_text())["rows"]
    train = 0.0
    for row in rows:
        metrics = json.loads((Path(row["folder"]) / "metrics.json").read_text())
        train += metrics.get("train_runtime") or 0.0
    line_s = sum(r["minutes"] for r in rows) * 60
    return {"lines": len(rows), "wall_s": round(wall, 1), "models_per_hour": round(len(rows) * 3600 / wall, 1),
            "line_s_sum": round(line_s, 1), "train_s_sum": round(train, 1), "outside_training_s_per_line": round((line_s - train) / len(rows), 1),
            "statuses": sorted({r["status"] for r in rows})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--steps", type=int, default=12, help="training steps per line")
    parser.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    parser.add_argument("--ways", nargs="+", default=list(WAYS), choices=list(WAYS))
    parser.add_argument("--out", help="write the results here instead of benchmarks/results/ (a smoke run)")
    parser.add_argument("--no-warm", action="store_true",
                        help="skip the first, untimed batch that warms the cache (a smoke run: the ways' times then include reading the archives)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_batch-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "HUGGINGTWEETS_CACHE": str(tmp / "cache"), "WANDB_MODE": "disabled", "TOKENIZERS_PARALLELISM": "false"}
        lines = lines_file(tmp, Path(args.corpora), args.model, args.steps)
        if not args.no_warm:
            run_way(lines, tmp / "warm", [], env)  # the cache and the model's conversion, outside every timing
        for name in args.ways:
            row = {"way": name, "model": args.model, "steps_per_line": args.steps, **run_way(lines, tmp / name.replace(" ", "_"), WAYS[name], env),
                   "cpu_kind": cpu_kind(), "load_avg_1min": round(os.getloadavg()[0], 2)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    print_table(rows, ["way", "lines", "wall_s", "models_per_hour", "line_s_sum", "train_s_sum", "outside_training_s_per_line", "load_avg_1min"])
    result = {"machine": machine(), "rows": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    else:
        save_results(f"bench_batch-{result_kind()}", result)


if __name__ == "__main__":
    main()
