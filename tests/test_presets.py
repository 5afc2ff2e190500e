"""Presets named by what they trade (issue 28): quick / balanced / best, each the measured
recipe's settings; in the CLI (--preset, which a config file and flags override) and in the
app's list (which sets the boxes, the model's own recipe over it)."""

import json

import pytest

from huggingtweets.cli import main
from huggingtweets.config import PRESET_TRADES, PRESETS, TrainConfig


def posts(tmp_path):
    path = tmp_path / "posts.txt"
    path.write_text("\n".join(f"the lamp on the pier burned all night and the gulls said so {i}" for i in range(200)))
    return path


@pytest.mark.parametrize("extra, want", [
    (["--preset", "quick"], dict(learning_rate=2e-4, epochs=2.0, batch_size=4)),
    (["--preset", "balanced"], dict(learning_rate=2e-4, epochs=3.0, batch_size=4)),
    (["--preset", "best"], dict(learning_rate=1e-4, epochs=3.0, batch_size=2)),
    ([], dict(learning_rate=1e-4, epochs=3.0, batch_size=2)),
    (["--preset", "quick", "--epochs", "4"], dict(learning_rate=2e-4, epochs=4.0, batch_size=4)),  # a flag wins
])
def test_the_cli_preset(tmp_path, extra, want):
    out = tmp_path / "m"
    assert main(["train", str(posts(tmp_path)), "--model", "tiny", "--max-steps", "1", "--block-size", "32", "--output", str(out), *extra]) == 0
    saved = json.loads((out / "train_config.json").read_text())
    assert {k: saved[k] for k in want} == want


def test_a_config_file_wins_over_the_preset(tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"learning_rate": 5e-5}))
    out = tmp_path / "m"
    assert main(["train", str(posts(tmp_path)), "--model", "tiny", "--max-steps", "1", "--block-size", "32", "--output", str(out),
                 "--preset", "quick", "--config", str(cfg)]) == 0
    saved = json.loads((out / "train_config.json").read_text())
    assert (saved["learning_rate"], saved["batch_size"]) == (5e-5, 4)


def test_every_preset_says_what_it_trades_and_is_a_valid_recipe():
    assert list(PRESETS) == list(PRESET_TRADES) == ["quick", "balanced", "best"] and PRESETS["best"] == {}
    for name, fields in PRESETS.items():
        TrainConfig().replace(**fields).validate()
        assert PRESET_TRADES[name]


def test_the_apps_preset_list_sets_the_boxes(tmp_path):
    pytest.importorskip("ipywidgets")
    from huggingtweets.ui import App

    app = App(output_dir=tmp_path)
    t, f = app.train, app.train.part("fields")
    assert t.part("preset").value == "best" and [v for _, v in t.part("preset").options] == ["quick", "balanced", "best"]
    t.part("preset").value = "quick"
    assert (f["epochs"].value, f["learning_rate"].value, f["batch_size"].value) == (2.0, "0.0002", 4)
    assert t.config_from_widgets().replace(output_dir="x", model="x") == TrainConfig(**PRESETS["quick"]).replace(output_dir="x", model="x")
    t.part("preset").value = "best"
    assert t.config_from_widgets().replace(output_dir="x", model="x") == TrainConfig().replace(output_dir="x", model="x")
