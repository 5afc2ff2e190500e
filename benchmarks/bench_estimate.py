"""How close the time said before training is to the time the run then takes.

    python benchmarks/bench_estimate.py                      # the real English X archive, default recipe
    python benchmarks/bench_estimate.py --corpus sample --preset quick
    python benchmarks/bench_estimate.py --view app                   # the app's button, then its Train

Each run is ``huggingtweets train SOURCE`` in a fresh process, as a user runs it, with an
empty cache folder, so the estimate it prints is the probe's (this machine has no earlier run
of these settings); the line is read from its stderr, and the training time from the folder's
metrics.json (``train_runtime``: the training loop, evaluations and checkpoints included). A
second run of the same command then shows the estimate from the first run's recorded step time.
Run it with nothing else on the machine. Results: benchmarks/results/bench_estimate-KIND.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
CORPORA = {"sample": None, "en": "x-archive-en-tweets.js", "ru-uk": "x-archive-ru-uk-tweets.js", "zh": "mastodon-zh-outbox.json"}
LINE = re.compile(r"Estimated training time: about (?:(\d+) h )?(\d+) (min|s) \(([\d,]+) steps at ([\d.]+) s each, ([^)]*)\)")


def said_seconds(stderr: str) -> tuple[float, int, str]:
    """(steps x seconds per step as said, steps, source) from the CLI's line; the line rounds the
    total, so the figure compared is the steps times the step time it names."""
    m = LINE.search(stderr)
    if not m:
        raise SystemExit(f"no estimate line in:\n{stderr[-2000:]}")
    return int(m.group(4).replace(",", "")) * float(m.group(5)), int(m.group(4).replace(",", "")), m.group(6)


# The app's side: step 1 downloads the archive (its path typed), step 2's "How long will it take?"
# button says the estimate, then Train runs it; what the button said and the folder come back as JSON.
APP = """
import html, json, sys
from pathlib import Path
from huggingtweets.ui import App

source, root, preset, voice = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
app = App(output_dir=root)
app.data._handles[0].value = source
app.data.button.click()
assert app.session.dataset is not None, app.data._message.value
app.train._preset.value = preset
app.train._fields["voice_score"].value = voice
app.train.estimate_button.click()
said = html.unescape(app.train._estimate.value)
app.train.button.click()
assert app.wait(timeout=7200) and app.train.result is not None, app.train._message.value
print(json.dumps({"said": said, "folder": app.train._fields["output_dir"].value}))
"""


def run_app(corpus: str, corpora: Path, cache: Path, preset: str, voice: bool) -> dict:
    """The same run through the app's widgets, in a fresh process as a notebook kernel is."""
    with tempfile.TemporaryDirectory(prefix="bench_estimate-app-") as tmp:
        env = dict(os.environ, HUGGINGTWEETS_CACHE=str(cache))
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", APP, str(corpora / CORPORA[corpus]), tmp, preset, "1" if voice else "0"],
                              capture_output=True, text=True, env=env, cwd=tmp)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"the app's {corpus} run failed ({done.returncode}):\n{done.stderr[-3000:]}")
        shown = json.loads(done.stdout.strip().splitlines()[-1])
        said, steps, how = said_seconds(shown["said"])
        metrics = json.loads((Path(shown["folder"]) / "metrics.json").read_text())
    took = metrics["train_runtime"]
    return {"view": "app", "corpus": corpus, "preset": preset, "estimate_from": how, "steps_said": steps, "steps": metrics["global_step"],
            "said_s": round(said, 1), "train_s": round(took, 1), "error": round(said / took - 1, 3), "wall_s": round(wall, 1),
            "cpu_kind": cpu_kind(), "host": machine()["platform"], "load_avg_1min": round(os.getloadavg()[0], 2)}


def run(corpus: str, corpora: Path, cache: Path, preset: str, voice: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_estimate-") as tmp:
        folder = Path(tmp) / "model"
        source = ["--sample"] if CORPORA[corpus] is None else [str(corpora / CORPORA[corpus])]
        command = [sys.executable, "-m", "huggingtweets", "train", *source, "--output", str(folder), "--preset", preset,
                   *([] if voice else ["--no-voice-score"])]
        env = dict(os.environ, HUGGINGTWEETS_CACHE=str(cache))
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{corpus} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        said, steps, how = said_seconds(done.stderr)
        metrics = json.loads((folder / "metrics.json").read_text())
    took = metrics["train_runtime"]
    return {"view": "cli", "corpus": corpus, "preset": preset, "estimate_from": how, "steps_said": steps, "steps": metrics["global_step"],
            "said_s": round(said, 1), "train_s": round(took, 1), "error": round(said / took - 1, 3), "wall_s": round(wall, 1),
            "cpu_kind": cpu_kind(), "host": machine()["platform"], "load_avg_1min": round(os.getloadavg()[0], 2)}


def _saved(name: str) -> list:
    """The rows an earlier run saved (another view's, another corpus's): kept beside the new ones."""
    from _common import RESULTS

    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()).get("rows", []) if path.is_file() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="en", choices=list(CORPORA))
    parser.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    parser.add_argument("--preset", default="best")
    parser.add_argument("--voice", action="store_true", help="measure the voice score too (not in the estimate)")
    parser.add_argument("--view", choices=("cli", "app"), default="cli", help="the CLI's line, or the app's button (its widgets driven in a fresh process)")
    args = parser.parse_args()
    measure = run_app if args.view == "app" else run
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_estimate-cache-") as cache:
        models = Path.home() / ".cache" / "huggingtweets" / "models"
        if models.is_dir():  # the converted offline models, not converted again
            (Path(cache) / "models").symlink_to(models)
        for _ in range(2):  # a probe first, then the first run's recorded step time
            row = measure(args.corpus, Path(args.corpora), Path(cache), args.preset, args.voice)
            print(json.dumps(row), flush=True)
            rows.append(row)
    name = f"bench_estimate-{result_kind()}"
    kept = [r for r in _saved(name) if r.get("view", "cli") != args.view or r["corpus"] != args.corpus or r["preset"] != args.preset]
    save_results(name, {"rows": kept + rows})
    print_table(rows, ["view", "corpus", "preset", "estimate_from", "steps_said", "steps", "said_s", "train_s", "error", "load_avg_1min"])


if __name__ == "__main__":
    main()
