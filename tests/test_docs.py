"""The figures README quotes from benchmarks/results/ are the ones in the files.

Each row: a result file, how to read one figure from it, how README writes it, and
the words around it in README. A benchmark re-run that changes a figure fails here
until README says the new one (or the row is updated with the file).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f}"


def recipe(name: str, corpus: str = "en"):
    """bench_recipe's row for ``name`` measured with the voice score, on the default split."""
    def read(d: dict) -> dict:
        return next(r for r in d["rows"] if r["corpus"] == corpus and r["recipe"] == name and r.get("seed", 42) == 42 and r["voice"] is not None)
    return read


def language_row(corpus: str, name: str, model: str):
    """bench_recipe's row for a base model's recipe on a non-English archive (no voice score)."""
    return lambda d: next(r for r in d["rows"] if r["corpus"] == corpus and r["recipe"] == name and r.get("model") == model
                          and r.get("seed", 42) == 42)["bits_per_char"]


GEMMA, SMOL = "google/gemma-3-270m", "HuggingFaceTB/SmolLM2-135M-Instruct"


def voices(sample: bool):
    """bench_voices's share of posts asked of the sample's author (or the other) read as them."""
    return lambda d: next(r for r in d["rows"] if r["sample"] == sample)["share"] * 100


def estimate_row(view: str, source: str):
    return lambda d: next(r for r in d["rows"] if r.get("view", "cli") == view and r["estimate_from"].startswith(source))


FIGURES = [
    # (file, reader, format, README text with {} where the figure goes)
    ("bench_estimate-amx.json", lambda d: estimate_row("cli", "timed")(d)["said_s"], "{:.1f}", "the CLI's probe said {} s for a run"),
    ("bench_estimate-amx.json", lambda d: estimate_row("cli", "timed")(d)["train_s"], "{:.1f}", "of {} s (-21.8 %)"),
    ("bench_estimate-amx.json", lambda d: estimate_row("app", "timed")(d)["train_s"], "{:.1f}", "313.5 s for {} s (-1.8 %)"),
    ("bench_estimate-amx.json", lambda d: estimate_row("app", "this")(d)["train_s"], "{:.1f}", "313.5 s for {} s (+6.7 %)"),
    ("bench_batch-amx.json", lambda d: d["rows"][0]["wall_s"], "{:.0f}", "| one after another | {} s |"),
    ("bench_batch-amx.json", lambda d: d["rows"][1]["wall_s"], "{:.0f}", "| `--parallel 2` | {} s |"),
    ("bench_batch-amx.json", lambda d: d["rows"][2]["wall_s"], "{:.0f}", "| `--ray` (a Ray started here) | {} s |"),
    ("bench_recipe-amx.json", language_row("ru-uk", "1ep-frozen-lr3e-5", GEMMA), "{:.3f}", "| {} against SmolLM2's 2.164 (its default"),
    ("bench_recipe-amx.json", language_row("ru-uk", "default", SMOL), "{:.3f}", "1.799 against SmolLM2's {} (its default 3 epochs, -16.9 %)"),
    ("bench_recipe-amx.json", language_row("zh", "1ep-frozen-lr3e-5", GEMMA), "{:.3f}", "| {} against SmolLM2's 6.127 (its default"),
    ("bench_recipe-amx.json", language_row("zh", "default", SMOL), "{:.3f}", "5.278 against SmolLM2's {} (its default 3 epochs, -13.9 %)"),
    ("bench_recipe-amx.json", lambda d: recipe("default")(d)["bits_per_char"], "{:.3f}", "it reaches {} bits per character held out"),
    ("bench_recipe-amx.json", lambda d: recipe("today")(d)["bits_per_char"], "{:.3f}", "against {} for the earlier defaults"),
    ("bench_recipe-amx.json", lambda d: recipe("default")(d)["wall_s"], "{:.0f}", "took {} s there, the voice score included"),
    ("bench_recipe-amx.json", lambda d: recipe("default")(d)["voice"], "{:.0f}", "English corpus's model: Voice {}/100"),
    ("bench_recipe-amx.json", lambda d: recipe("default")(d)["voice_real"] * 100, "{:.0f}", "real held-out posts {} %"),
    ("bench_recipe-amx.json", lambda d: recipe("default")(d)["voice_base"] * 100, "{:.0f}", "the base model's imitations {} %"),
    ("bench_recipe-amx.json", lambda d: recipe("default")(d)["voice_shuffled"], "{:.0f}", "word-shuffled held-out posts {}/100"),
    ("bench_demo-amx.json", lambda d: d["voice"], "{:.0f}", "Voice {}/100 (`python benchmarks/bench_demo.py`"),
    ("bench_demo-amx.json", lambda d: d["bits_per_char"], "{:.3f}", "the demo on an AMX CPU: {} held-out bits per character"),
    ("bench_demo-amx.json", lambda d: d["wall_s"], "{:.0f}", "in {} s with the voice score"),
    ("bench_voices-amx.json", voices(True), "{:.0f}", "as the sample's author in {} %"),
    ("bench_voices-amx.json", voices(False), "{:.0f}", "as the English archive's author in {} %"),
    ("bench_quality.json", lambda d: d["rows"][1]["bits_per_char"], "{:.3f}", "reaches {}\nbits per character held out"),
    ("bench_quality.json", lambda d: d["rows"][0]["bits_per_char"], "{:.3f}", "(tiny: {})"),
    ("bench_generate-sampling.json", lambda d: d["ours"]["median_s"], "{:.1f}", "in {} s with `generate`"),
    ("bench_generate-sampling.json", lambda d: d["pipeline"]["median_s"], "{:.1f}", "{} s with\nthe card's `pipeline()` snippet"),
    ("bench_data.json", lambda d: d["rows"][1]["median_ms"], "{:.0f}", "10,000 tweets {} ms"),
    ("bench_data.json", lambda d: d["rows"][0]["median_ms"], "{:.0f}", "(baseline {} ms)"),
    ("bench_generate.json", lambda d: float(d["rows"][0]["query_ms"].split("/")[0]), "{:.0f}", "a nearest-tweet lookup {} ms"),
    ("bench_generate.json", lambda d: float(d["rows"][1]["query_ms"].split("/")[0]) / 1000, "{:.1f}", "brute-force difflib: {} s"),
    ("bench_precision.json", lambda d: d["rows"][2]["tokens_per_s"], "{}", "({} a step for\nSmolLM2-135M"),
    ("bench_train-quick-avx2.json", lambda d: d["baseline"]["tokens_per_s"], "{:.0f}", "baseline {} tok/s"),
    ("bench_train-quick-avx2.json", lambda d: d["baseline"]["wall_s"], "{:.1f}", "tok/s, {} s; ours"),
    ("bench_train-quick-avx2.json", lambda d: d["ours"]["tokens_per_s"], "{:.0f}", "ours {}\ntok/s"),
    ("bench_train-quick-avx2.json", lambda d: d["ours"]["wall_s"], "{:.1f}", "tok/s, {} s: **"),
    ("bench_train-quick-avx2.json", lambda d: d["speedup"], "{:.2f}", "**{}x** wall"),
    ("bench_train-quick-avx2.json", lambda d: d["throughput_ratio"], "{:.2f}", "{}x tokens/s, the same held-out"),
    ("bench_train-quick-avx512bf16.json", lambda d: d["baseline"]["tokens_per_s"], "{:.0f}", "| training tokens/s | {} |"),
    ("bench_train-quick-avx512bf16.json", lambda d: d["ours"]["tokens_per_s"], "{:.0f}", "| {} (2.83x) |"),
    ("bench_train-quick-avx512bf16.json", lambda d: d["throughput_ratio"], "{:.2f}", "411 ({}x) |"),
    ("bench_train-quick-avx512bf16.json", lambda d: d["baseline"]["wall_s"], "{:.1f}", "load to saved folder | {} s |"),
    ("bench_train-quick-avx512bf16.json", lambda d: d["ours"]["wall_s"], "{:.1f}", "| {} s (**2.19x**) |"),
    ("bench_train-quick-avx512bf16.json", lambda d: d["speedup"], "{:.2f}", "(**{}x**) |"),
    ("bench_train-quick-avx512bf16.json", lambda d: d["baseline"]["outside_steps_s"], "{:.1f}", "outside the training steps | {} s |"),
    ("bench_train-quick-avx512bf16.json", lambda d: d["ours"]["outside_steps_s"], "{:.1f}", "| 8.1 s | {} s |"),
    ("bench_train-quick-avx512bf16.json", lambda d: d["baseline"]["peak_rss_bytes"], mib, "| {} MiB | 2,722 MiB |"),
    ("bench_train-quick-avx512bf16.json", lambda d: d["ours"]["peak_rss_bytes"], mib, "| 3,995 MiB | {} MiB |"),
    ("bench_train-quick-avx512bf16.json", lambda d: d["baseline"]["mfu"] * 100, "{:.1f}", "| {} % of fp32 peak |"),
    ("bench_train-quick-avx512bf16.json", lambda d: d["ours"]["mfu"] * 100, "{:.1f}", "| {} % of bf16 peak |"),
    ("bench_train-quick-avx512bf16.json", lambda d: d["ours"]["eval_loss"], "{:.3f}", "| 8.822 / 3.184 | {} / 3.166 |"),
    ("bench_train-quick-avx512bf16.json", lambda d: d["matmul_peak_flops"]["fp32"] / 1e9, "{:.0f}", "that run: {} GFLOP/s fp32"),
    ("bench_train-quick-avx512bf16.json", lambda d: d["matmul_peak_flops"]["bf16"] / 1e9, "{:.0f}", "GFLOP/s fp32, {} bf16"),
    ("bench_train-quick-pretrained-avx512bf16.json", lambda d: d["baseline"]["eval_loss"], "{:.3f}", "held-out loss {} for the baseline"),
    ("bench_train-quick-pretrained-avx512bf16.json", lambda d: d["ours"]["eval_loss"], "{:.3f}", "and {} for ours"),
    ("bench_train-quick-pretrained-avx512bf16.json", lambda d: d["baseline"]["wall_s"], "{:.1f}", "for ours, {} s against"),
    ("bench_train-quick-pretrained-avx512bf16.json", lambda d: d["ours"]["wall_s"], "{:.1f}", "s against {} s"),
    ("bench_train-quick-pretrained-avx512bf16.json", lambda d: d["speedup"], "{:.2f}", "({}x), ours at"),
    ("bench_train-quick-pretrained-avx512bf16.json", lambda d: d["ours"]["mfu"] * 100, "{:.1f}", "ours at {} % of the bf16 peak"),
    ("bench_export.json", lambda d: d["machine"]["cpu_kind"], "{}", "2-core AMD EPYC ({})"),
    ("bench_export.json", lambda d: d["rows"][0]["wall_s"], "{:.2f}", "the tiny model exports in {} s"),
    ("bench_export.json", lambda d: d["rows"][0]["peak_rss_mib"], "{}", "a peak of {} MiB for the whole process"),
    ("bench_export.json", lambda d: d["rows"][2]["weights_bytes"] / 1e6, "{:.0f}", "SmolLM2-135M, {} MB of fp32 weights"),
    ("bench_export.json", lambda d: d["rows"][2]["wall_s"], "{:.1f}", "in {} s to a 271 MB f16 file"),
    ("bench_export.json", lambda d: d["rows"][2]["gguf_bytes"] / 1e6, "{:.0f}", "to a {} MB f16 file"),
    ("bench_export.json", lambda d: d["rows"][3]["wall_s"], "{:.1f}", "({} s and 145 MB as q8_0)"),
    ("bench_export.json", lambda d: d["rows"][3]["gguf_bytes"] / 1e6, "{:.0f}", "and {} MB as q8_0)"),
    ("bench_export.json", lambda d: d["rows"][2]["peak_rss_mib"], "{}", "a peak of {} MiB, of which"),
    ("bench_export.json", lambda d: d["rows"][2]["export_rss_mib"], "{}", "the export itself held {} MiB"),
    ("bench_export.json", lambda d: d["rows"][4]["wall_s"], "{:.2f}", "`huggingtweets demo`) in {} s"),
    ("bench_export.json", lambda d: d["rows"][4]["peak_rss_mib"], "{}", "at a peak of {} MiB. These"),
    ("bench_demo-avx512bf16.json", lambda d: d["wall_s"], "{:.0f}", "Once set up it takes {} s"),
    ("bench_demo-avx512bf16.json", lambda d: d["peak_rss_bytes"] / 1e9, "{:.1f}", "at a peak of {} GB"),
    ("bench_demo-avx512bf16.json", lambda d: d["bits_per_char"], "{:.3f}", "and {} held-out bits per character"),
    ("bench_compile-avx512bf16.json", lambda d: d["step_speedup"], "{:.2f}", "{}x a step, but"),
    ("bench_compile-avx512bf16.json", lambda d: d["compile_s"], "{:.0f}", "but {} s of compiling"),
    ("bench_compile-avx512bf16.json", lambda d: round(d["break_even_steps"], -1), "{:.0f}", "after about {} steps, and the demo"),
    ("bench_attention-avx512bf16.json", lambda d: d["rows"][1]["bits_per_char"], "{:.3f}", "`bench_attention.py`: {} against"),
    ("bench_attention-avx512bf16.json", lambda d: d["rows"][0]["bits_per_char"], "{:.3f}", "against {} bits per character, but"),
    ("bench_demo-avx512bf16-as-fp32.json", lambda d: d["wall_s"], "{:.0f}", "it took {} s at 1.301 bits"),
    ("bench_demo-avx512bf16-as-fp32.json", lambda d: d["bits_per_char"], "{:.3f}", "s at {} bits per character (93 to 114 s in three"),
]


def readme_text() -> str:
    # line breaks in README prose are free: compare with runs of whitespace folded, keeping "\n" marks as spaces
    return " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())


@pytest.mark.parametrize("name, read, fmt, words", FIGURES, ids=[f"{f[0]}: {f[3][:30]}" for f in FIGURES])
def test_readme_quotes_the_result_file(name, read, fmt, words):
    data = json.loads((RESULTS / name).read_text())
    figure = fmt(read(data)) if callable(fmt) else fmt.format(read(data))
    expected = " ".join(words.format(figure).split())
    assert expected in readme_text(), f"README should say {expected!r} (from benchmarks/results/{name})"


def test_every_result_file_quoted_exists_and_readme_names_no_missing_file():
    for name in re.findall(r"benchmarks/results/([\w.-]+\.json)", (ROOT / "README.md").read_text(encoding="utf-8")):
        assert (RESULTS / name).is_file(), name
