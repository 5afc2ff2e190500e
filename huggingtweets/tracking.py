"""Weights & Biases tracking: off unless a run asks for it (``report_to="wandb"``).

One W&B run per training run. The workflow opens it here before training, so that
Trainer's own W&B integration (which logs ``train/loss``, ``eval/loss``, the
TrainingArguments and the model's config) writes into it rather than opening its own:

    before training   the raw tweets (one JSONL file per author) and the cleaned dataset,
                      split as training splits it, as artifacts with their counts;
                      TrainConfig and the versions of torch, transformers, huggingtweets
                      and Python in the run's config
    training          Trainer's integration: losses, held-out loss before (step 0) and after
    after training    the summary (held-out loss before and after, perplexity, steps, stopped),
                      a ``predictions`` table (prompt, tweet, nearest training tweet,
                      similarity, near-copy flag) from a few generated tweets, and the model
                      (the files a push would send, never checkpoints or dataset.json) as an artifact

The run's URL is the one the model card links (training reads ``wandb.run.url``). With
``WANDB_MODE=offline`` everything is written under ``$WANDB_DIR/wandb/offline-run-*``
and ``wandb sync`` uploads it later; an offline run has no URL until then.

Nothing secret is ever handed to W&B: the values logged are TrainConfig (which holds no
token), counts, tweets and model files; the X, Hugging Face and W&B tokens stay in the
environment. Failures after training are logged as warnings: they never turn a saved
model into a failed run.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import logging
import netrc
import os
import platform
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Sequence
from urllib.parse import urlsplit

from . import distributed, training
from .config import SamplingConfig, TrainConfig
from .dataset import TweetDataset
from .errors import HuggingTweetsError, first_line
from .folder import DATASET, TRAIN_CONFIG, ModelFolder, slug
from .quiet import no_library_bars
from .training import StopSignal, TrainCallback, TrainResult

log = logging.getLogger(__name__)

PREDICTIONS = "predictions"  # the table's key in the run
PREDICTION_COLUMNS = ["prompt", "tweet", "nearest training tweet", "similarity", "near copy"]
N_PREDICTIONS = 5  # tweets generated for the table
VOICE_KEYS = ("score", "passed", "counted", "near_copies", "real_rate", "base_rate", "shuffled_score", "reason")
SUMMARY_KEYS = ("eval_loss_before", "eval_loss", "perplexity", "train_loss", "global_step", "train_runtime", "precision", "stopped", "base_model")

_run = None  # the W&B run this module opened and has not finished yet


def owns_run() -> bool:
    """True while a run opened here is the active one: training leaves finishing it to us."""
    try:
        import wandb
    except ImportError:
        return False
    return _run is not None and wandb.run is _run


def versions() -> dict:
    import torch
    import transformers

    from .version import __version__

    return {"huggingtweets": __version__, "torch": torch.__version__, "transformers": transformers.__version__, "python": platform.python_version()}


def data_counts(dataset: TweetDataset) -> dict:
    """Per author: the cleaning counts and the split (what the card's data table shows)."""
    return {
        a.author.handle: {**{k: getattr(a.stats, k) for k in ("downloaded", "retweets", "short", "kept")}, "train": len(a.train), "held_out": len(a.valid)}
        for a in dataset.authors
    }


class Tracker:
    """The W&B side of one training run; every method does nothing when tracking is off."""

    def __init__(self, config: TrainConfig, run=None):
        self.config, self.run = config, run

    # --- before training ------------------------------------------------------------------
    def log_data(self, dataset: TweetDataset) -> None:
        """The raw tweets (when the dataset still has them: not after a resume) and the split dataset."""
        if self.run is None:
            return
        import wandb

        name = slug(dataset.slug, "tweets")
        counts = data_counts(dataset)
        self.run.config.update({"data": counts}, allow_val_change=True)
        with tempfile.TemporaryDirectory(prefix="huggingtweets-wandb-") as tmp:
            if dataset.raw:
                raw = wandb.Artifact(
                    f"{name}-raw-tweets", type="raw-tweets",
                    description="The tweets as downloaded (retweets included), one JSON object per line.",
                    metadata={"downloaded": {at.author.handle: len(at.tweets) for at in dataset.raw}},
                )
                for at in dataset.raw:
                    path = Path(tmp) / f"{slug(at.author.handle, 'author')}.jsonl"
                    path.write_text("".join(json.dumps(t.to_dict(), ensure_ascii=False) + "\n" for t in at.tweets), encoding="utf-8")
                    raw.add_file(str(path))
                self.run.log_artifact(raw)
            cleaned = wandb.Artifact(
                f"{name}-dataset", type="dataset",
                description="The cleaned tweets, split into training and held-out as this run trained on them.",
                metadata={"authors": counts, "validation_fraction": dataset.validation_fraction, "seed": dataset.seed},
            )
            cleaned.add_file(str(dataset.save(tmp)), name=DATASET)
            self.run.log_artifact(cleaned)

    # --- after training -------------------------------------------------------------------
    def log_result(self, result) -> None:
        """Summary, the config training saved, predictions and the model artifact (not for a stopped run)."""
        if self.run is None:
            return
        folder = ModelFolder(result.output_dir)
        for what, step in (("the summary", self._log_summary), ("the predictions", self._log_predictions), ("the model", self._log_model)):
            if result.stopped and step != self._log_summary:
                continue  # the model is unfinished: the run that resumes it logs these
            try:
                step(folder, result)
            except Exception as err:  # the model is saved: a tracking failure must not undo that
                log.warning("W&B: could not log %s (%s: %s)", what, type(err).__name__, first_line(err))

    def _log_summary(self, folder: ModelFolder, result) -> None:
        saved = folder / TRAIN_CONFIG
        if saved.is_file():  # with "auto" resolved to the model this machine used
            self.run.config.update({"train_config": json.loads(saved.read_text(encoding="utf-8"))}, allow_val_change=True)
        self.run.summary.update({k: result.metrics[k] for k in SUMMARY_KEYS if result.metrics.get(k) is not None})
        if result.voice is not None:  # figures only: the report holds no post
            self.run.summary["voice_score"] = result.voice.get("score")
            self.run.summary["voice"] = {a["handle"]: {k: a.get(k) for k in VOICE_KEYS} for a in result.voice.get("authors", [])}

    def _log_predictions(self, folder: ModelFolder, result) -> None:
        import wandb

        from .generation import load_generator

        sampling = SamplingConfig(n=N_PREDICTIONS, seed=self.config.seed)
        with no_library_bars():  # no "Loading weights" bar here
            tweets = load_generator(folder.path).generate(sampling)
        rows = [[sampling.prompt, t.text, t.nearest, round(float(t.similarity), 4), bool(t.near_copy)] for t in tweets]
        self.run.log({PREDICTIONS: wandb.Table(columns=PREDICTION_COLUMNS, data=rows)})
        self.run.summary["near_copies"] = sum(row[-1] for row in rows)

    def _log_model(self, folder: ModelFolder, result) -> None:
        import wandb

        from .share import shared_files

        metadata = {k: result.metrics[k] for k in SUMMARY_KEYS if result.metrics.get(k) is not None}
        model = wandb.Artifact(f"{slug(folder.path.name)}-model", type="model", metadata=metadata,
                               description="The model folder as huggingtweets shares it: weights, tokenizer, configs, card.")
        for path in shared_files(folder.path):  # the push allow-list: no checkpoints, no dataset.json
            model.add_file(str(path))
        self.run.log_artifact(model)


@contextmanager
def track(config: TrainConfig, dataset: Optional[TweetDataset], resume: bool = False) -> Iterator[Tracker]:
    """Open a W&B run for this training run (when ``config.report_to == "wandb"``) and log its
    data; finish it on the way out. Yields a ``Tracker`` that does nothing when tracking is off."""
    global _run
    if not config.tracked or not distributed.is_main():  # one W&B run, the main process's
        yield Tracker(config)
        return
    if resume:  # the run's own split dataset, as training will read it
        try:
            dataset = TweetDataset.load(ModelFolder(config.output_dir).run_dir)
        except HuggingTweetsError:
            dataset = None  # training says what is wrong with the folder
    elif dataset is not None:
        dataset = dataset.split(config.validation_fraction, config.seed)  # exactly training's split
    run = _start(config, dataset.slug if dataset is not None else Path(config.output_dir).name)
    _run = run
    tracker = Tracker(config, run)
    failed = True
    try:
        if dataset is not None:
            tracker.log_data(dataset)
        yield tracker
        failed = False
    finally:
        _run = None
        try:
            run.finish(exit_code=1 if failed else 0)
        except Exception as err:
            log.warning("W&B: could not finish the run (%s: %s)", type(err).__name__, first_line(err))


def _start(config: TrainConfig, name: str):
    try:
        import wandb
    except ImportError:
        raise HuggingTweetsError("Tracking with Weights & Biases needs wandb: pip install wandb (or set report_to to none).") from None
    try:
        return wandb.init(
            project=config.wandb_project,
            name=name,
            job_type="train",
            config={"train_config": config.to_dict(), "versions": versions()},
            reinit="finish_previous",  # a run left open (a stopped fine_tune, a notebook cell) is closed first
            save_code=False,
        )
    except Exception as err:  # no API key, no network, a bad project name: one line that says what to do
        raise HuggingTweetsError(
            f"Weights & Biases could not start a run ({type(err).__name__}: {first_line(err)}): "
            "run `wandb login` (or set WANDB_API_KEY), set WANDB_MODE=offline to track locally, or turn tracking off."
        ) from None


def run_training(config: TrainConfig, dataset: Optional[TweetDataset], callbacks: Sequence[TrainCallback],
                 stop: StopSignal, resume: bool, overwrite: bool, origin: Optional[dict] = None) -> TrainResult:
    """``fine_tune`` inside its W&B run: one run holds the data, the training and, after it, the
    predictions and the model; without tracking ``track`` does nothing."""
    with track(config, dataset, resume) as tracker:
        # looked up at call time: one name for the training, whoever wraps or replaces it
        result = training.fine_tune(config, dataset, callbacks, stop, resume, overwrite, finish_tracking=False, origin=origin)
        if config.voice_score and not result.stopped and distributed.is_main():
            result.voice = score_voice(result.output_dir, callbacks, stop)
        tracker.log_result(result)
    return result


class _VoiceStopped(Exception):
    pass


def score_voice(folder, callbacks: Sequence[TrainCallback] = (), stop: Optional[StopSignal] = None) -> dict:
    """The voice score of a model just trained (``voice.score_folder``), reported through the
    callbacks' ``on_progress``; a stop asked meanwhile, or any failure, leaves it "not measured"
    (the model is saved: the score must never undo that)."""
    from . import voice

    def progress(done, total, message):
        if stop is not None and stop.requested:
            raise _VoiceStopped
        for cb in callbacks:
            cb.on_progress(done, total, message)

    handles = []
    try:
        handles = TweetDataset.load(folder).handles
        return voice.score_folder(folder, progress).to_dict()
    except _VoiceStopped:
        reason = "scoring was stopped; 'huggingtweets score FOLDER' measures it."
    except Exception as err:
        log.warning("voice score: %s: %s", type(err).__name__, first_line(err))
        reason = f"scoring failed ({first_line(err)[:200]}); 'huggingtweets score FOLDER' tries again."
    report = voice.not_measured(handles, reason)
    try:
        ModelFolder(folder).save_voice_report(report.to_dict())
    except OSError:
        pass
    return report.to_dict()


# --- before a run: can W&B log in? (no network, no wandb import) -----------------------------
WANDB_HOST = "https://api.wandb.ai"
WANDB_LOCAL_MODES = ("offline", "disabled", "dryrun")  # nothing to log in to
WANDB_HOW = "run 'wandb login', set WANDB_API_KEY, or set WANDB_MODE=offline to log the run locally"


def check_tracking(config: TrainConfig) -> None:
    """``report_to="wandb"`` can start: wandb is installed and, unless it logs offline, a key is
    where wandb looks (WANDB_API_KEY, the netrc file, its settings file). No network, no wandb
    import: without this check wandb fails inside the trainer, after the model has loaded."""
    if not config.tracked:
        return
    if importlib.util.find_spec("wandb") is None:
        raise HuggingTweetsError("Tracking with W&B needs the wandb package: pip install wandb, or drop --report-to wandb.")
    if os.environ.get("WANDB_MODE", "").strip().lower() in WANDB_LOCAL_MODES:
        return
    if os.environ.get("WANDB_API_KEY", "").strip() or os.environ.get("WANDB_IDENTITY_TOKEN_FILE", "").strip():
        return
    if not (_wandb_netrc_has_key() or _wandb_settings_has_key()):
        raise HuggingTweetsError(f"W&B is not logged in on this machine: {WANDB_HOW} (or drop --report-to wandb).")


def _wandb_netrc_has_key() -> bool:
    """The netrc file wandb reads ($NETRC, ~/.netrc, ~/_netrc) has an entry for the W&B host."""
    host = urlsplit(os.environ.get("WANDB_BASE_URL", "").strip() or WANDB_HOST).netloc
    named = os.environ.get("NETRC", "").strip()
    paths = [Path(named).expanduser()] if named else [Path("~/.netrc").expanduser(), Path("~/_netrc").expanduser()]
    for path in paths:
        try:
            entry = netrc.netrc(str(path)).authenticators(host)
        except (OSError, netrc.NetrcParseError, UnicodeDecodeError):
            continue
        if entry and entry[2]:
            return True
    return False


def _wandb_settings_has_key() -> bool:
    """wandb's own settings file ($WANDB_CONFIG_DIR/settings, ~/.config/wandb/settings) sets api_key."""
    folder = os.environ.get("WANDB_CONFIG_DIR", "").strip() or "~/.config/wandb"
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(Path(folder).expanduser() / "settings", encoding="utf-8")
        return bool(parser.get("default", "api_key", fallback="").strip())
    except (configparser.Error, OSError, UnicodeDecodeError):
        return False


def _tracking_error(err: BaseException) -> Optional[HuggingTweetsError]:
    """wandb's own failures (a key it rejects, no network) as one line that says how."""
    if type(err).__module__.split(".")[0] != "wandb":
        return None
    reason, key = first_line(err)[:200], os.environ.get("WANDB_API_KEY", "").strip()
    if key:  # wandb's messages should never hold the key; make sure
        reason = reason.replace(key, "***")
    return HuggingTweetsError(f"W&B could not start the run ({reason}): {WANDB_HOW}.")
