"""The model folder: every file name in it and every question about it.

    FOLDER/
      config.json, model.safetensors, generation_config.json   the weights (names are transformers')
      tokenizer.json, tokenizer_config.json, ...                the tokenizer
      train_config.json   the TrainConfig that made the model
      dataset.json        its tweets, split into training and held-out
      metrics.json        held-out loss before and after, steps, precision, ...
      voice.json          the voice score (voice.py), written after the save (figures only, no posts)
      README.md           the model card
      preview.png         generated tweets drawn as cards (optional; the card's thumbnail once shared)
      huggingtweets_manifest.json  what the final save wrote: name, size, sha256 (a share checks it)
      checkpoints/        a run in progress: its own train_config.json, dataset.json,
                          eval_before.json, checkpoint-N/ folders and the best weights so far
                          (best.safetensors, best.json); removed when the run finishes
                          (unless kept)
      .huggingtweets.lock held while a run writes; says which process
      .incomplete         present only while a final save moves files into place

A folder holds at most one finished model and at most one run in progress. The
final save is atomic as a whole: files are written into ``.staging/``, then moved
into place under the ``.incomplete`` marker, so a folder is the old model, the new
one, or marked incomplete, never a silent mix.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional, Union

from .diskio import atomic_write_json
from .errors import HuggingTweetsError

TRAIN_CONFIG = "train_config.json"
DATASET = "dataset.json"
METRICS = "metrics.json"
CARD = "README.md"
MODEL_CONFIG = "config.json"
CHECKPOINTS = "checkpoints"
EVAL_BEFORE = "eval_before.json"
LOCK = ".huggingtweets.lock"
INCOMPLETE = ".incomplete"
STAGING = ".staging"
SET_ASIDE = ".replaced-run"  # an unfinished run that --overwrite replaces, until the new run has a checkpoint
CHECKPOINT_PREFIX = "checkpoint-"
TRAINER_STATE = "trainer_state.json"
TRAIN_SECONDS = "huggingtweets_time.json"  # in a checkpoint: seconds trained up to it
PREVIEW = "preview.png"
SOURCES = "sources.json"  # in the run area: the sources a run was started with, as typed (resume compares them)
STOPPED_KEY = "stopped"  # in a stopped model's train_config.json: "stopped at step N of M"
VOICE = "voice.json"
BEST_WEIGHTS = "best.safetensors"  # in the run area: the weights of the lowest held-out loss so far (best.py)
BEST_STATE = "best.json"  # ... and its loss, step and epoch
MANIFEST = "huggingtweets_manifest.json"  # written by publish(); see manifest.py
# Files a final save may have written before: removed when a new model replaces them,
# so a folder never mixes two models' weights (a sharded save next to an old single file).
MODEL_FILE = re.compile(
    r"^(config\.json|generation_config\.json|model(-\d+-of-\d+)?\.safetensors|model\.safetensors\.index\.json"
    r"|pytorch_model.*\.bin|tokenizer.*|special_tokens_map\.json|vocab\.json|merges\.txt|chat_template\.jinja"
    r"|added_tokens\.json)$"
)
SLUG = re.compile(r"[^A-Za-z0-9_-]+")

# Which top-level files leave the machine when a folder is shared (share.py; shell patterns,
# case-sensitive). Anything matching no pattern stays home; sub-folders are never shared.
SHARED_ALWAYS = (
    MODEL_CONFIG, "generation_config.json",  # architecture, sampling defaults
    "model.safetensors", "model-*-of-*.safetensors", "model.safetensors.index.json",  # weights
    "pytorch_model.bin", "pytorch_model-*-of-*.bin", "pytorch_model.bin.index.json",  # older weights
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "vocab.json", "merges.txt", "tokenizer.model", "chat_template.jinja",  # tokenizer
    TRAIN_CONFIG, METRICS, VOICE,  # how it was trained, held-out loss, voice score
    CARD, PREVIEW,  # the model card and its image
    "NOTICE", "GEMMA_TERMS.html",  # a base model's terms, which go wherever the model goes (pretrained.LICENCE_FILES)
)
SHARED_ON_REQUEST = (DATASET,)  # the cleaned tweets and their split: personal, only when asked
SHARED_NEVER = (CHECKPOINTS, MANIFEST, ".*", "*.tmp", "*.lock")  # resume state, local bookkeeping, hidden and half-written files

PathLike = Union[str, "os.PathLike[str]"]


def slug(text: str, fallback: str = "model") -> str:
    """A folder name from handles: letters, digits, ``_`` and ``-`` only (never a path)."""
    name = SLUG.sub("-", str(text)).strip("-")[:100]
    return name or fallback


def folder_in(root: PathLike, name: str) -> Path:
    """``root/slug(name)``, always inside ``root``."""
    root = Path(root).resolve()
    path = (root / slug(name)).resolve()
    if path.parent != root:  # cannot happen after slug(); checked all the same
        raise HuggingTweetsError(f"Refusing a model folder outside {root}: {name!r}.")
    return path


def _checkpoint_step(path: Path) -> int:
    tail = path.name[len(CHECKPOINT_PREFIX):]
    return int(tail) if path.name.startswith(CHECKPOINT_PREFIX) and tail.isdigit() else -1


def _safetensors_whole(path: Path) -> bool:
    """The header parses and the file is as long as the tensors it lists."""
    try:
        with path.open("rb") as f:
            size = int.from_bytes(f.read(8), "little")
            if not 0 < size < 100_000_000:
                return False
            header = json.loads(f.read(size))
        end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
        return path.stat().st_size >= 8 + size + end
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return False


def checkpoint_ok(path: Path) -> bool:
    """A checkpoint is usable: its trainer state parses and every weights/state file is whole."""
    try:
        json.loads((path / TRAINER_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = [p for p in path.iterdir() if p.is_file()]
    if not any(p.suffix == ".safetensors" or p.name.endswith(".bin") for p in files):
        return False
    for p in files:
        if p.suffix == ".safetensors" and not _safetensors_whole(p):
            return False
        if p.suffix in (".pt", ".pth", ".bin") and not zipfile.is_zipfile(p):  # torch.save writes a zip
            return False
    return True


def check_folder(path: Union[str, Path], flag: str) -> None:
    """``path`` is a folder, or can be made one: not a file, not under a file."""
    where = Path(path).expanduser()
    if where.exists() and not where.is_dir():
        raise HuggingTweetsError(f"{where} is a file, not a folder: choose another {flag}.")
    for parent in where.parents:
        if parent.exists() and not parent.is_dir():
            raise HuggingTweetsError(f"{where} is inside {parent}, which is a file: choose another {flag}.")


def stopped_note(metrics: dict) -> Optional[str]:
    """"stopped at step N of M" for a run's metrics when it was stopped before its end, else None."""
    if metrics.get("stopped") is not True:
        return None
    step, total = metrics.get("global_step"), metrics.get("max_steps")
    if not isinstance(step, int) or isinstance(step, bool):
        return "stopped before its end"
    return f"stopped at step {step:,} of {total:,}" if isinstance(total, int) and not isinstance(total, bool) and total > 0 \
        else f"stopped at step {step:,}"


class ModelFolder:
    """One model folder. Nothing else in the package spells the names above."""

    def __init__(self, path: PathLike):
        self.path = Path(path).expanduser()

    def __repr__(self) -> str:
        return f"ModelFolder({str(self.path)!r})"

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    # --- what is there -----------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.path / CHECKPOINTS

    def is_empty(self) -> bool:
        """Nothing there but (perhaps) our own lock."""
        return not self.path.exists() or (self.path.is_dir() and all(p.name == LOCK for p in self.path.iterdir()))

    def is_ours(self) -> bool:
        """A huggingtweets model folder (finished, in progress, or interrupted): it has our
        config at the top or in its run area, or our marker; a folder merely named
        ``checkpoints`` is not enough."""
        return self.path.is_dir() and ((self.path / TRAIN_CONFIG).is_file() or self.has_run() or (self.path / INCOMPLETE).exists())

    def has_model(self) -> bool:
        """A saved model is there (finished or stopped early), whole."""
        return (self.path / TRAIN_CONFIG).is_file() and (self.path / MODEL_CONFIG).is_file() and not self.incomplete()

    def incomplete(self) -> bool:
        """A final save was cut off while it moved files into place."""
        return (self.path / INCOMPLETE).exists()

    def has_run(self) -> bool:
        """A run in progress (or stopped, or cut off) that ``resume`` can continue."""
        return (self.run_dir / TRAIN_CONFIG).is_file()

    def checkpoints(self) -> list[Path]:
        """Checkpoint folders, newest first."""
        if not self.run_dir.is_dir():
            return []
        found = [p for p in self.run_dir.iterdir() if p.is_dir() and _checkpoint_step(p) >= 0]
        return sorted(found, key=_checkpoint_step, reverse=True)

    def checkpoint_path(self, step: int) -> Path:
        return self.run_dir / f"{CHECKPOINT_PREFIX}{step}"

    def train_seconds(self, checkpoint: Path) -> float:
        try:
            return float(json.loads((checkpoint / TRAIN_SECONDS).read_text())["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0.0

    def save_train_seconds(self, checkpoint: Path, seconds: float) -> None:
        if checkpoint.is_dir():
            atomic_write_json(checkpoint / TRAIN_SECONDS, {"seconds": seconds})

    def latest_checkpoint(self) -> Optional[Path]:
        """The newest checkpoint that is whole; a damaged newer one is skipped."""
        return next((p for p in self.checkpoints() if checkpoint_ok(p)), None)

    def resume_line(self) -> str:
        """What a resume of the run here starts from: "Resuming the run in DIR from step N of M." """
        latest = self.latest_checkpoint()
        if latest is None:
            return f"Resuming the run in {self.path} from its start (no whole checkpoint was saved)."
        try:
            total = int(json.loads((latest / TRAINER_STATE).read_text(encoding="utf-8"))["max_steps"])
        except (OSError, ValueError, KeyError, TypeError):
            total = 0
        return f"Resuming the run in {self.path} from step {_checkpoint_step(latest)}" + (f" of {total}." if total > 0 else ".")

    def check_usable(self) -> None:
        """For generation: a whole model, or a one-line error that says what to do."""
        if self.incomplete():
            raise HuggingTweetsError(
                f"The model in {self.path} is incomplete (its save was interrupted): "
                f"resume with 'huggingtweets train --output {self.path} --resume', or train again with --overwrite."
            )
        if not (self.path / MODEL_CONFIG).is_file():
            hint = " A run is in progress there: resume or wait for it." if self.has_run() else ""
            raise HuggingTweetsError(f"No model at {self.path}: train one first with 'huggingtweets train'.{hint}")

    # --- the saved run ----------------------------------------------------------------
    def read_json(self, path: Path, what: str) -> dict:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise HuggingTweetsError(f"No {what} in {path.parent} ({path.name} is missing): train again with --overwrite.") from None
        except (OSError, ValueError) as err:
            raise HuggingTweetsError(f"{path} is damaged ({type(err).__name__}): train again with --overwrite.") from None
        if not isinstance(data, dict):
            raise HuggingTweetsError(f"{path} is damaged (not a JSON object): train again with --overwrite.")
        return data

    def eval_before(self) -> Optional[float]:
        path = self.run_dir / EVAL_BEFORE
        if not path.is_file():
            return None
        value = self.read_json(path, "held-out loss").get("eval_loss")
        return float(value) if isinstance(value, (int, float)) else None

    def save_eval_before(self, loss: float) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.run_dir / EVAL_BEFORE, {"eval_loss": loss})

    def metrics(self) -> dict:
        """The saved run's metrics ({} when there are none or they cannot be read)."""
        try:
            data = json.loads((self.path / METRICS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def stopped(self) -> Optional[str]:
        """"stopped at step N of M" when the saved model is a run stopped before its end, else None."""
        return stopped_note(self.metrics())

    def stopped_line(self) -> Optional[str]:
        """What a view says before it uses a stopped model (generation, export, push), or None."""
        note = self.stopped()
        return None if note is None else (f"{self.path.name} was {note}: it has had less training than its settings ask for "
                                          "(the same training command with --resume finishes it).")

    def voices(self) -> list[str]:
        """The handles whose posts carried a voice marker in training (a model of several authors)."""
        voices = self.metrics().get("voices")
        return [v for v in voices if isinstance(v, str)] if isinstance(voices, list) else []

    def voice_report(self) -> Optional[dict]:
        """The saved voice report (voice.py), or None when the voice was never scored."""
        path = self.path / VOICE
        if not path.is_file():
            return None
        return self.read_json(path, "voice report")

    def save_voice_report(self, report: dict) -> None:
        atomic_write_json(self.path / VOICE, report)

    # --- one writer at a time -----------------------------------------------------------
    @contextmanager
    def lock(self, what: str = "training") -> Iterator[None]:
        """Hold the folder's lock while writing; a second run is told which process has it."""
        self.path.mkdir(parents=True, exist_ok=True)
        path = self.path / LOCK
        with _exclusive(path, what):
            yield

    # --- the final save -----------------------------------------------------------------
    def staging(self) -> Path:
        """An empty folder for the next model's files (see ``publish``)."""
        stage = self.path / STAGING
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        return stage

    def publish(self, record: Callable[[Path], None]) -> None:
        """``record`` the staged files (``manifest.write_manifest``: their names, sizes and
        hashes), then move them into place: afterwards the folder is the new model alone."""
        stage = self.path / STAGING
        record(stage)
        names = {p.name for p in stage.iterdir()}
        atomic_write_json(self.path / INCOMPLETE, {"since": time.time()})
        for p in self.path.iterdir():  # the old model's files that the new one does not replace
            if p.is_file() and p.name not in names and (MODEL_FILE.match(p.name) or p.name in (METRICS, CARD, DATASET, TRAIN_CONFIG)):
                p.unlink()
        for name in sorted(names):
            os.replace(stage / name, self.path / name)
        stage.rmdir()
        (self.path / INCOMPLETE).unlink()

    def discard_run(self) -> None:
        """Forget the run in progress (its checkpoints, config and data)."""
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def set_aside_run(self) -> None:
        """``--overwrite`` of an unfinished run: keep it aside until the new run has a
        checkpoint of its own (``drop_set_aside``), or put it back if the new one fails."""
        aside = self.path / SET_ASIDE
        shutil.rmtree(aside, ignore_errors=True)
        if self.run_dir.exists():
            os.replace(self.run_dir, aside)

    def restore_set_aside(self) -> bool:
        """Put the set-aside run back in place of the new one; True if there was one."""
        aside = self.path / SET_ASIDE
        if not aside.exists():
            return False
        shutil.rmtree(self.run_dir, ignore_errors=True)
        os.replace(aside, self.run_dir)
        return True

    def drop_set_aside(self) -> None:
        shutil.rmtree(self.path / SET_ASIDE, ignore_errors=True)

    def finish_run(self, keep_checkpoints: bool) -> None:
        """After a finished run: its checkpoints go unless kept; its run files always go."""
        if not keep_checkpoints:
            self.discard_run()
            return
        for name in (TRAIN_CONFIG, DATASET, EVAL_BEFORE):
            (self.run_dir / name).unlink(missing_ok=True)


# --- the lock ------------------------------------------------------------------------------
try:
    import fcntl
except ImportError:  # Windows: an exclusive create stands in for flock
    fcntl = None


@contextmanager
def _exclusive(path: Path, what: str) -> Iterator[None]:
    info = {"pid": os.getpid(), "what": what, "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    if fcntl is None:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR)
        except FileExistsError:
            raise _busy(path) from None
    else:
        while True:
            fd = os.open(path, os.O_CREAT | os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise _busy(path) from None
            try:  # the holder before us may have removed the file as we opened it: try again
                if os.fstat(fd).st_ino == os.stat(path).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())
        yield
    finally:
        try:
            path.unlink()
        except OSError:
            pass
        os.close(fd)


def _busy(path: Path) -> HuggingTweetsError:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        who = f"process {int(holder['pid'])} ({str(holder.get('what', 'a run'))[:40]}, since {str(holder.get('since', '?'))[:19]})"
    except (OSError, ValueError, KeyError, TypeError):
        who = "another process"
    return HuggingTweetsError(f"{path.parent} is in use by {who}: wait for it to finish or stop it, or choose another folder.")
