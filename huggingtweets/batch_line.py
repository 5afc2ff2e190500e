"""One line of a batch: its words read as ``train`` reads them, and its model trained.

A line holds the words ``huggingtweets train`` takes (1-3 sources, and any of its flags:
``@jack --epochs 2``), read by the same parser (arguments.py), so it means what the same
``train`` command would. ``run_line`` runs it in the calling process (a batch's own process for
the line, or a Ray worker): fetch -> prepare -> train -> card (-> GGUF, -> the Hub) through the
workflow, its model in ``ROOT/NAME`` (the authors' published name); a folder holding the line's
finished model is skipped, one holding its unfinished run resumes. Its failure is its row.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

from .errors import HuggingTweetsError

DONE, SKIPPED, FAILED, STOPPED, WAITING = "done", "skipped", "failed", "stopped", "not run"
FINISHED = (DONE, SKIPPED)  # a line whose model is in its folder
MAX_LINES = 10_000
# Words a line may not carry: the batch names each folder and decides resume or skip.
NOT_IN_A_LINE = ("--output", "--resume", "--overwrite", "--cache-dir")
LINE_MARK = ".huggingtweets-batch-line"  # in a folder a line trained: the line, so a re-run knows its own model (never shared)
Said = Callable[[str], None]


@dataclass
class Line:
    number: int  # in the file, from 1
    text: str  # as written
    words: list[str]


@dataclass
class BatchOptions:
    root: str  # each line's model folder is ROOT/NAME
    base: str = "."  # relative paths in a line are read from here (the batch file's folder)
    export: str = ""  # an export format's name (exports.KINDS): "gguf" also writes ROOT/NAME.gguf and its Modelfile
    quantize: str = "f16"
    push: bool = False  # also to the Hub, as NAME under the token's account (HF_TOKEN)
    private: bool = False
    cache_dir: Optional[str] = None
    threads: int = 0  # torch threads per line (0: torch's own choice)


@dataclass
class Row:
    line: int
    text: str
    status: str = WAITING
    reason: str = ""  # why it failed, stopped or was skipped: one line
    folder: str = ""
    steps: Optional[int] = None
    held_out_loss: Optional[float] = None
    voice: Optional[float] = None
    minutes: float = 0.0
    started: float = 0.0  # when the line began (seconds since the epoch)
    notes: list[str] = field(default_factory=list)  # resumed from a step, the GGUF written, the Hub repo

    @classmethod
    def from_dict(cls, data: dict) -> "Row":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


# --- the file -----------------------------------------------------------------------------------
def read_lines(source: Union[str, Path, Sequence[str]]) -> list[Line]:
    """The lines of a batch file (or the lines themselves): blank lines and ``#`` comments left out."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            texts = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise HuggingTweetsError(f"No batch file at {path}: give a text file with one model per line (its sources and flags).") from None
        except UnicodeDecodeError:
            raise HuggingTweetsError(f"{path} is not UTF-8 text: a batch file holds one model per line, as `train` takes its words.") from None
    else:
        texts = list(source)
    lines = []
    for number, text in enumerate(texts, 1):
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        try:
            words = shlex.split(text, comments=True)
        except ValueError as err:
            raise HuggingTweetsError(f"Line {number} of the batch: {err} (quote a path with spaces in it whole).") from None
        if words:
            lines.append(Line(number, text, words))
    if not lines:
        raise HuggingTweetsError("The batch has no lines: write one model per line (e.g. `@jack --epochs 2`, or an archive's path).")
    if len(lines) > MAX_LINES:
        raise HuggingTweetsError(f"The batch has {len(lines):,} lines; split it into files of at most {MAX_LINES:,}.")
    return lines


class _LineParser:
    """``train``'s parser, its usage errors as a HuggingTweetsError naming the line."""

    def __init__(self, number: int):
        import argparse

        from .arguments import add_train_args

        class Parser(argparse.ArgumentParser):
            def error(self, message):
                raise HuggingTweetsError(f"Line {number} of the batch: {message} (a line takes the words `huggingtweets train` takes).")

        self.parser = Parser(prog=f"line {number}", add_help=False)
        add_train_args(self.parser)

    def parse(self, words: list[str]):
        return self.parser.parse_args(words)


def line_args(line: Line, base: Union[str, Path] = "."):
    """The line's words as ``train``'s arguments, relative paths read from ``base``."""
    refused = sorted({w.split("=")[0] for w in line.words if w.split("=")[0] in NOT_IN_A_LINE})
    if refused:
        raise HuggingTweetsError(f"Line {line.number} of the batch: {', '.join(refused)} is the batch's to decide "
                                 "(each model goes to ROOT/NAME; a re-run skips or resumes): leave it out.")
    args = _LineParser(line.number).parse(line.words)
    base = Path(base)
    args.sources = [str(base / s) if _relative_file(base, s) else s for s in args.sources]
    if args.config and _relative_file(base, args.config):
        args.config = str(base / args.config)
    args.resume = args.overwrite = False
    args.output_dir = None
    return args


def _relative_file(base: Path, word: str) -> bool:
    return not Path(word).is_absolute() and (base / word).exists()


def sources_of(line: Line, base: Union[str, Path] = ".") -> set[str]:
    """The line's sources, as keys: two lines sharing one never download at once (a line that
    cannot be read has none: it fails before any download)."""
    try:
        return {s.lower().lstrip("@") for s in line_args(line, base).sources}
    except HuggingTweetsError:
        return set()


# --- one line -----------------------------------------------------------------------------------
def run_line(line: Line, options: BatchOptions, callbacks: Sequence = (), said: Optional[Said] = None) -> Row:
    """One line, in this process: its model trained (or resumed, or skipped when finished), its
    card, GGUF and push as asked. Never raises for the line's own failure: the row says it."""
    from .arguments import check_resume_sources, fitted, load_tweets, origin, train_config
    from .workflow import check_model, check_settings, folder_for, folder_state, preflight, train

    start = time.monotonic()
    row = Row(line.number, line.text, started=round(time.time(), 3))
    try:
        args = line_args(line, options.base)
        args.cache_dir = options.cache_dir
        args.refresh = False
        config = train_config(args)
        check_settings(config)  # before any (paid) download
        check_model(config.model)
        dataset = load_tweets(args)
        folder = folder_for(options.root, dataset)
        row.folder = str(folder)
        state = folder_state(folder)
        resume = state.can_resume
        if state.finished:
            theirs = _marked(folder)
            if theirs != line.text:
                whose = f"the batch line `{theirs}`" if theirs else "another run"
                raise HuggingTweetsError(f"{folder} holds a model {whose} trained for the same authors: this line is left "
                                         "alone; give it another --root, or remove that folder to train it here.")
            _finished(row, folder, "finished before: its model is in the folder")
            _share(row, folder, options)  # what an earlier run did not get to (a failed push)
            return row
        if resume:
            args.resume, args.output_dir = True, str(folder)
            check_resume_sources(args, str(folder))
            config = train_config(args)
            row.notes.append(f"resumed from step {_latest_step(state)}")
            dataset = None
        else:
            config = fitted(args, config.replace(output_dir=str(folder)), dataset)
        preflight(config, resume=resume)
        result = train(config, dataset, callbacks=callbacks, resume=resume, said=said, origin=None if resume else origin(args))
        if result.stopped:
            row.status, row.reason = STOPPED, "stopped: the next run of the batch resumes it"
            _metrics(row, result.metrics)
            return row
        _metrics(row, result.metrics, result.voice)
        (folder / LINE_MARK).write_text(line.text + "\n", encoding="utf-8")
        _share(row, folder, options)
        row.status = DONE
    except HuggingTweetsError as err:
        row.status, row.reason = FAILED, str(err)
    except KeyboardInterrupt:
        row.status, row.reason = STOPPED, "stopped before training"
    except Exception as err:  # one line's crash is its row, never the batch's end
        memory = isinstance(err, MemoryError) or "out of memory" in str(err).lower()
        row.status = FAILED
        row.reason = ("out of memory: lower --batch-size or --block-size, or add --lora, on this line" if memory
                      else f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no message'}")
    finally:
        row.minutes = round((time.monotonic() - start) / 60, 2)
    return row


def _share(row: Row, folder: Path, options: BatchOptions) -> None:
    """The GGUF and the Hub repo, as the batch was asked (both safe to do again)."""
    from .workflow import export, export_formats, option_fields, push_to_hub

    if options.export:
        kind = next(k for k in export_formats() if k.name == options.export)
        takes = {name for name, *_ in option_fields(kind.options)}
        made = export(folder, kind.name, None, kind.options(**({"quantize": options.quantize} if "quantize" in takes else {})), overwrite=True)
        row.notes.append(f"{kind.name}: {', '.join(str(path) for path, _ in made.files)}")
    if options.push:
        pushed = push_to_hub(folder, folder.name, private=options.private)
        row.notes.append(f"Hub: {pushed.url}")


def _marked(folder: Path) -> str:
    """The batch line that trained the model in ``folder`` ("" when none did)."""
    try:
        return (folder / LINE_MARK).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _latest_step(state) -> int:
    latest = state.checkpoint
    return int(latest.name.rsplit("-", 1)[1]) if latest is not None else 0


def _metrics(row: Row, metrics: dict, voice: Optional[dict] = None) -> None:
    row.steps = metrics.get("global_step")
    loss = metrics.get("eval_loss")
    row.held_out_loss = round(loss, 4) if isinstance(loss, (int, float)) else None
    score = (voice or {}).get("score")
    row.voice = score if isinstance(score, (int, float)) else None


def _finished(row: Row, folder: Path, reason: str) -> None:
    from .folder import ModelFolder

    state = ModelFolder(folder)
    row.status, row.reason, row.folder = SKIPPED, reason, str(folder)
    _metrics(row, state.metrics(), state.voice_report())


def finished_before(row: Optional[Row]) -> bool:
    """A row of an earlier run whose model is still whole in its folder: nothing to do, nothing to download."""
    from .workflow import folder_state

    if row is None or row.status not in FINISHED or not row.folder:
        return False
    return folder_state(row.folder).finished
