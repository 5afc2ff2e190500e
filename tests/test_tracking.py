"""W&B tracking, offline: one run holds the data, the training, the predictions and the model.

The offline run is read back from its folder: the ``.wandb`` file (W&B's record log: a 7-byte
header, then 32 KiB blocks of chunks with a 7-byte header each, holding protobuf
``Record``s) and the tables W&B writes beside it. Sentinel tokens in the environment must
appear nowhere under the run's folders.
"""

import json
from pathlib import Path

import pytest

from conftest import tweet_dataset
from huggingtweets import tracking, training
from huggingtweets.config import TrainConfig
from huggingtweets.errors import HuggingTweetsError
from huggingtweets.share import shared_files
from huggingtweets.training import TrainCallback
from huggingtweets.workflow import TrainingRun, train

FAST = dict(model="tiny", block_size=32, batch_size=8, logging_steps=1, save_steps=2, max_steps=3)
SECRETS = {
    "WANDB_API_KEY": "wandbsentinel" + "0" * 27,  # W&B keys are 40 characters
    "X_BEARER_TOKEN": "x-sentinel-never-logged",
    "HF_TOKEN": "hf_sentinelNeverLogged",
}


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """W&B offline with every folder under tmp_path, and sentinel tokens in the environment."""
    env = {
        "WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path), "WANDB_SILENT": "true",
        "WANDB_DATA_DIR": str(tmp_path / "wandb-data"), "WANDB_CACHE_DIR": str(tmp_path / "wandb-cache"),
        "WANDB_CONFIG_DIR": str(tmp_path / "wandb-config"), **SECRETS,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    import wandb

    wandb.teardown()  # W&B keeps its settings (WANDB_DIR, ...) in a process-wide singleton
    yield tmp_path
    wandb.teardown()


def records(run_dir: Path, wait: float = 10.0) -> list:
    """Every protobuf Record in an offline run's ``.wandb`` file.

    W&B's core process writes the file; ``finish`` can return before the last records are on
    disk (seen under load), so the file is read again until it ends with the run's ``exit``
    record, whole."""
    import time

    from wandb.proto import wandb_internal_pb2 as pb

    [path] = run_dir.glob("*.wandb")
    deadline = time.monotonic() + wait
    while True:
        data = path.read_bytes()
        assert data[:4] == b":W&B"
        out, pos, pending, block, whole = [], 7, b"", 32768, True
        while pos + 7 <= len(data):
            if block - pos % block < 7:  # a block's tail too short for a header is padding
                pos += block - pos % block
                continue
            length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
            if pos + 7 + length > len(data):
                whole = False
                break
            pending += data[pos + 7:pos + 7 + length]
            pos += 7 + length
            if kind in (1, 4):  # a full record, or the last chunk of one
                record = pb.Record()
                record.ParseFromString(pending)
                out.append(record)
                pending = b""
        done = whole and not pending and bool(out) and out[-1].WhichOneof("record_type") == "exit"
        if done or time.monotonic() > deadline:
            assert done, f"{path.name} has no exit record after {wait:.0f} s"
            return out
        time.sleep(0.2)


def run_contents(run_dir: Path) -> dict:
    """Artifacts by name, config and summary (JSON values by key), history keys."""
    found = {"artifacts": {}, "config": {}, "summary": {}, "history": set()}
    for r in records(run_dir):
        kind = r.WhichOneof("record_type")
        if kind == "artifact":
            entries = {e.path: Path(e.local_path) for e in r.artifact.manifest.contents}
            found["artifacts"][r.artifact.name] = {"type": r.artifact.type, "files": entries, "metadata": json.loads(r.artifact.metadata or "{}")}
        elif kind == "run":  # the config given to wandb.init
            found["config"].update({item.key: json.loads(item.value_json) for item in r.run.config.update})
        elif kind == "config":
            found["config"].update({item.key: json.loads(item.value_json) for item in r.config.update})
        elif kind == "summary":
            found["summary"].update({item.key: json.loads(item.value_json) for item in r.summary.update})
        elif kind == "history":
            found["history"].update(item.key or "/".join(item.nested_key) for item in r.history.item)
    return found


def offline_runs(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "wandb").glob("offline-run-*"))


def assert_no_secret_under(tmp_path: Path) -> None:
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for name, secret in SECRETS.items():
                assert secret.encode() not in data, f"{name} leaked into {path}"


@pytest.mark.slow
def test_one_offline_run_holds_data_training_predictions_and_model(offline, monkeypatch):
    import wandb

    # An offline run has no URL: stand in for the one it gets once synced, to see the card link it.
    monkeypatch.setattr(training, "_wandb_url", lambda: f"https://wandb.ai/me/huggingtweets/runs/{wandb.run.id}")
    config = TrainConfig(output_dir=str(offline / "wren-bot"), report_to="wandb", **FAST)
    result = train(config, tweet_dataset())
    assert wandb.run is None and not tracking.owns_run()  # finished

    [run_dir] = offline_runs(offline)
    run_id = run_dir.name.rsplit("-", 1)[1]
    got = run_contents(run_dir)
    folder = result.output_dir

    # The data: raw tweets per author, and the cleaned dataset exactly as training split it.
    raw = got["artifacts"]["wren-raw-tweets"]
    assert raw["type"] == "raw-tweets" and raw["metadata"]["downloaded"] == {"wren": 220}
    assert list(raw["files"]) == ["wren.jsonl"]
    assert len(raw["files"]["wren.jsonl"].read_text(encoding="utf-8").splitlines()) == 220
    cleaned = got["artifacts"]["wren-dataset"]
    assert cleaned["type"] == "dataset" and cleaned["metadata"]["authors"]["wren"]["kept"] == 220
    assert cleaned["files"]["dataset.json"].read_bytes() == (folder / "dataset.json").read_bytes()

    # The model: the files a push sends, nothing else.
    model = got["artifacts"]["wren-bot-model"]
    assert model["type"] == "model" and set(model["files"]) == {p.name for p in shared_files(folder)}
    assert model["files"]["model.safetensors"].read_bytes() == (folder / "model.safetensors").read_bytes()
    assert model["metadata"]["eval_loss"] == pytest.approx(result.metrics["eval_loss"])

    # Config (ours and Trainer's), versions, summary, and Trainer's loss history.
    assert got["config"]["train_config"]["model"] == "tiny" and got["config"]["train_config"]["max_steps"] == 3
    assert set(got["config"]["versions"]) == {"huggingtweets", "torch", "transformers", "python"}
    assert got["config"]["data"]["wren"]["held_out"] == result.metrics["eval_tweets"]
    assert got["config"]["learning_rate"] == config.learning_rate  # from Trainer's integration
    for key in ("eval_loss_before", "eval_loss", "perplexity", "global_step"):
        assert got["summary"][key] == pytest.approx(result.metrics[key])
    assert {"train/loss", "eval/loss"} <= got["history"]

    # The predictions table, written beside the run.
    [table] = run_dir.glob("files/media/table/predictions_*.table.json")
    table = json.loads(table.read_text(encoding="utf-8"))
    assert table["columns"] == tracking.PREDICTION_COLUMNS and len(table["data"]) == tracking.N_PREDICTIONS
    assert all(row[0] == "My dream is" and row[1].startswith("My dream is") and isinstance(row[4], bool) for row in table["data"])

    # The card links this run; no token anywhere (run folder, staged artifact files, caches, model).
    assert f"(https://wandb.ai/me/huggingtweets/runs/{run_id})" in (folder / "README.md").read_text(encoding="utf-8")
    assert_no_secret_under(offline)


@pytest.mark.slow
def test_stopped_run_then_resume(offline):
    config = TrainConfig(output_dir=str(offline / "wren-bot"), report_to="wandb", **{**FAST, "max_steps": 4})
    run = TrainingRun(config, tweet_dataset())

    class StopAt2(TrainCallback):
        def on_step(self, state):
            if state.step >= 2:
                run.stop()  # as the notebook's Stop button

    run.callbacks.append(StopAt2())
    run.start().wait()
    assert run.error is None and run.result.stopped
    [first] = [run_contents(d) for d in offline_runs(offline)]
    assert first["summary"]["stopped"] is True
    assert not any(a["type"] == "model" for a in first["artifacts"].values())  # unfinished: not logged

    done = train(config, None, resume=True)
    assert not done.stopped
    runs = [run_contents(d) for d in offline_runs(offline)]
    [second] = [r for r in runs if r["summary"]["stopped"] is False]
    assert "wren-raw-tweets" not in second["artifacts"]  # a resume trains on the saved dataset only
    assert second["artifacts"]["wren-dataset"]["files"]["dataset.json"].read_bytes() == (done.output_dir / "dataset.json").read_bytes()
    assert "wren-bot-model" in second["artifacts"] and second["summary"]["stopped"] is False


@pytest.mark.slow
def test_off_by_default(offline):
    result = train(TrainConfig(output_dir=str(offline / "m"), **FAST), tweet_dataset())
    assert result.wandb_url is None and not (offline / "wandb").exists()


def test_a_run_that_cannot_start_is_one_line(offline, monkeypatch):
    import wandb

    def refuse(**kwargs):
        raise wandb.errors.UsageError("api_key not configured (no-tty).\ncall wandb.login(key=...)")

    monkeypatch.setattr(wandb, "init", refuse)
    with pytest.raises(HuggingTweetsError, match=r"Weights & Biases could not start a run \(UsageError: api_key not configured") as err:
        train(TrainConfig(output_dir=str(offline / "m"), report_to="wandb", **FAST), tweet_dataset())
    assert "\n" not in str(err.value)
    assert not (offline / "m").exists()  # nothing trained
