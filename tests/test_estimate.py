"""Time before training (issue 28): the steps an estimate counts are the steps training runs;
the step time is probed on the run's own shape, then taken from this machine's last real run;
the CLI says it before training. (How close the figure is to a real run's time is measured in
benchmarks/, never asserted here.)"""

import json

import pytest

from huggingtweets import estimate
from huggingtweets.cli import main
from huggingtweets.config import TrainConfig
from huggingtweets.training import fine_tune


@pytest.mark.slow
@pytest.mark.parametrize("changes", [dict(), dict(batch_size=3, epochs=1.5), dict(gradient_accumulation=2), dict(max_steps=4)])
def test_the_steps_counted_are_the_steps_trained(tmp_path, llama_folder, changes):
    from conftest import tweet_dataset

    dataset = tweet_dataset()
    config = TrainConfig(model=llama_folder, output_dir=str(tmp_path / "m"), block_size=32, epochs=1.0, batch_size=8,
                         save_steps=1000, voice_score=False, evals_per_epoch=1).replace(**changes)
    found = estimate.estimate(config, dataset, tmp_path / "cache")
    assert found is not None and found.source == "timed here just now" and found.seconds_per_step > 0 and found.eval_seconds > 0
    result = fine_tune(config, dataset)
    assert found.steps == result.metrics["global_step"]


@pytest.mark.slow
def test_a_real_run_is_the_next_estimates_step_time(tmp_path, llama_folder, monkeypatch):
    from conftest import tweet_dataset

    monkeypatch.setenv("HUGGINGTWEETS_CACHE", str(tmp_path / "cache"))
    from huggingtweets.workflow import estimate_time, train

    dataset = tweet_dataset()
    config = TrainConfig(model=llama_folder, output_dir=str(tmp_path / "m"), block_size=32, epochs=1.0, batch_size=4,
                         save_steps=1000, voice_score=False)
    result = train(config, dataset)
    rates = json.loads((tmp_path / "cache" / estimate.RATES_FILE).read_text())
    (key, rate), = rates.items()
    assert rate == pytest.approx(result.metrics["train_runtime"] / result.metrics["global_step"], rel=1e-3)
    again = estimate_time(config.replace(output_dir=str(tmp_path / "m2")), dataset)
    assert again.source == "this machine's last run of these settings" and again.seconds_per_step == rate
    assert estimate_time(config.replace(batch_size=2), dataset).source == "timed here just now"  # other settings: probed


def test_the_line_reads_as_time():
    line = estimate.Estimate(144, 45.0, 120.0, "timed here just now").line()
    assert line == "Estimated training time: about 1 h 50 min (144 steps at 45.0 s each, timed here just now), then the voice score."
    assert estimate.duration(30) == "about 30 s" and estimate.duration(600) == "about 10 min"


@pytest.mark.slow
def test_the_cli_says_it_before_training(tmp_path, llama_folder, capsys):
    posts = tmp_path / "posts.txt"
    posts.write_text("\n".join(f"the lamp on the pier burned all night and the gulls said so {i}" for i in range(200)))
    assert main(["train", str(posts), "--model", llama_folder, "--max-steps", "3", "--block-size", "32", "--output", str(tmp_path / "m"),
                 "--no-voice-score"]) == 0
    err = capsys.readouterr().err
    assert "Estimated training time: about" in err and "(3 steps at" in err
    assert err.index("Estimated training time") < err.index("Held-out loss") if "Held-out loss" in err else True


@pytest.mark.slow  # trains a few steps: seconds
def test_the_app_says_how_long_the_loaded_posts_take(tmp_path, llama_folder, monkeypatch):
    """Not a fixed sentence: worked out from the loaded data and the settings shown, in the
    kernel's own thread (never beside another model load), and cleared when they change."""
    pytest.importorskip("ipywidgets")
    from conftest import tweet_dataset
    from huggingtweets.ui import App

    monkeypatch.setenv("HUGGINGTWEETS_CACHE", str(tmp_path / "cache"))
    app = App(output_dir=tmp_path)
    t = app.train
    assert t.part("estimate").value == "" and t.estimate_button.layout.display == "none"
    t.part("fields")["model"].value = llama_folder
    t.part("fields")["block_size"].value = 32
    app.session.dataset = tweet_dataset()
    assert t.estimate_button.layout.display == ""

    def steps(text):
        return int(text.split(" steps at")[0].rsplit("(", 1)[1].replace(",", ""))

    t.estimate_button.click()
    first = t.part("estimate").value
    assert "Estimated training time: about" in first and "timed here just now" in first
    t.part("preset").value = "quick"  # 2 epochs in batches of 4: fewer steps; the old figure goes
    assert t.part("estimate").value == ""
    t.estimate_button.click()
    assert steps(t.part("estimate").value) < steps(first)
    app.session.dataset = None
    assert t.part("estimate").value == "" and t.estimate_button.layout.display == "none"


def test_a_long_run_offers_the_quick_preset_with_what_it_trades():
    long = estimate.Estimate(300, 10.0, 0.0, "timed here just now")
    assert long.offer("best") == "The quick preset would take about half the time, held-out bits/char 1.7 % higher."
    assert long.offer("quick") == "" and estimate.Estimate(30, 10.0, 0.0, "x").offer("best") == ""
