"""One folder-state object answers what a folder holds and which choice applies; the views
(the app's step 2, the demo, ``train --resume``, the batch) and training read the same answers."""

import json
from pathlib import Path

import pytest

from huggingtweets.config import TrainConfig
from huggingtweets.errors import HuggingTweetsError
from huggingtweets.folder_state import MODEL, NOTHING, OTHER, PARTIAL, RUN, folder_state


def make(kind: str, folder: Path) -> Path:
    """A folder holding ``kind`` (what each would hold after a real run, reduced to the files asked about)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = json.dumps(TrainConfig(model="tiny").to_dict())
    if kind in (MODEL, PARTIAL):
        (folder / "train_config.json").write_text(config)
        (folder / "config.json").write_text("{}")
        (folder / "metrics.json").write_text(json.dumps({"global_step": 8, "eval_loss": 3.2}))
    if kind == PARTIAL:
        (folder / ".incomplete").write_text("")
    if kind == RUN:
        (folder / "checkpoints").mkdir()
        (folder / "checkpoints" / "train_config.json").write_text(config)
        (folder / "checkpoints" / "sources.json").write_text(json.dumps({"sources": ["wren.txt"]}))
    if kind == OTHER:
        (folder / "holiday.jpg").write_bytes(b"\xff\xd8")
    return folder


# (holds, resume, overwrite) -> the start of the refusal, or None: the folder policy as a table
POLICY = {
    (NOTHING, False, False): None, (NOTHING, True, False): "Nothing to resume", (NOTHING, False, True): None,
    (RUN, False, False): "holds an unfinished run", (RUN, True, False): None, (RUN, False, True): None,
    (MODEL, False, False): "holds a trained model", (MODEL, True, False): "Nothing to resume", (MODEL, False, True): None,
    (PARTIAL, False, False): "holds a trained model", (PARTIAL, True, False): "Nothing to resume", (PARTIAL, False, True): None,
    (OTHER, False, False): "holds other files", (OTHER, True, False): "holds other files", (OTHER, False, True): "holds other files",
}


@pytest.mark.parametrize("holds,resume,overwrite", list(POLICY))
def test_the_folder_policy_is_one_table(tmp_path, holds, resume, overwrite):
    state = folder_state(make(holds, tmp_path / "m"))
    assert state.holds == holds
    refused = state.refusal(resume, overwrite)
    expected = POLICY[holds, resume, overwrite]
    assert (refused is None) == (expected is None) and (expected is None or expected in refused), refused
    assert state.can_resume == (holds == RUN) and state.can_replace == (holds in (RUN, MODEL, PARTIAL))
    assert state.refusal(True, True) is not None  # never both
    if refused:
        with pytest.raises(HuggingTweetsError, match=expected):
            state.check(resume, overwrite)


def test_a_finished_model_says_so_and_a_resume_is_told_how_to_start_over(tmp_path):
    state = folder_state(make(MODEL, tmp_path / "m"))
    assert state.finished and state.has_model and state.run_config() is None and state.origin() is None
    assert "The run there finished; add --overwrite to train again." in state.refusal(resume=True)


def test_a_run_gives_its_settings_sources_and_resume_line(tmp_path):
    state = folder_state(make(RUN, tmp_path / "m"))
    assert not state.finished and state.run_config().model == "tiny" and state.origin() == {"sources": ["wren.txt"]}
    assert state.resume_line() == f"Resuming the run in {state.path} from its start (no whole checkpoint was saved)."
    assert state.trained_on() == ""  # no dataset saved yet: unknown, not "nobody"
    assert folder_state(tmp_path / "absent").trained_on() is None


def test_the_views_read_the_same_answers(tmp_path):
    """The workflow's checks (the app's and the CLI's door) and training's own lock-time check
    refuse the same folder with the same line."""
    from huggingtweets.training import _check_target
    from huggingtweets.workflow import check_training, resume_config

    model = make(MODEL, tmp_path / "m")
    with pytest.raises(HuggingTweetsError) as by_the_door:
        check_training(TrainConfig(model="tiny", output_dir=str(model)))
    with pytest.raises(HuggingTweetsError) as under_the_lock:
        _check_target(folder_state(model).folder, resume=False, overwrite=False)
    assert str(by_the_door.value) == str(under_the_lock.value) == folder_state(model).refusal()
    with pytest.raises(HuggingTweetsError, match="Nothing to resume"):
        resume_config(model)
