"""Many bots at once: a file of lines, one model per line, each trained as ``train`` would.

A line holds the words ``huggingtweets train`` takes (1-3 sources, and any of its flags:
``@jack --epochs 2``), read by the same parser (arguments.py), so a line means what the same
``train`` command would. Its model goes to ``ROOT/NAME``, the published name of its authors, as
the app names folders. Each line runs fetch -> prepare -> train -> card (-> GGUF, -> the Hub)
through the workflow, so every rule of a single run holds: the folder lock, resume, the
refusals, hostile input, bounded memory.

- **Isolated**: on one machine each line runs in a process of its own (a crash, an
  out-of-memory kill or a stray thread ends that line alone, and its memory goes back); on Ray
  each line is a task in a worker. A line that fails is a row with its one-line reason; the
  rest go on.
- **Resumable**: ``ROOT/batch.json`` is written after every line. On a re-run a line whose
  finished model is there is skipped without a download; a line whose folder holds an unfinished
  run resumes it (the same final step as a run never stopped); the others run.
- **Where**: one line after another by default (a fine-tune uses every core already);
  ``parallel`` lines at once where the machine has room (each gets its share of the cores, or a
  GPU of its own), never two lines that name the same source at once (the second reads what the
  first cached); or ``ray``: one task per line on a Ray cluster (``batch_ray.py``).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence, Union

from .batch_line import (FAILED, FINISHED, SKIPPED, STOPPED, WAITING, BatchOptions, Line, Row, Said, finished_before, read_lines,
                         run_line, sources_of)
from .errors import HuggingTweetsError

BATCH_JSON = "batch.json"  # in ROOT: one row per line, rewritten after each


@dataclass
class BatchResult:
    rows: list[Row]
    path: Path  # ROOT/batch.json

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if r.status == FAILED]

    @property
    def stopped(self) -> bool:
        return any(r.status in (STOPPED, WAITING) for r in self.rows)

    @property
    def ok(self) -> bool:
        return all(r.status in FINISHED for r in self.rows)



# --- many lines -----------------------------------------------------------------------------------
def batch(source: Union[str, Path, Sequence[str]], root: Union[str, Path], *, parallel: int = 1, ray: Optional[str] = None,
          export: str = "", quantize: str = "f16", push: bool = False, private: bool = False, cache_dir: Optional[str] = None,
          cpus_per_line: float = 1.0, gpus_per_line: Optional[float] = None, retries: int = 2,
          callbacks: Optional[Callable[[], Sequence]] = None, said: Optional[Said] = None,
          on_row: Optional[Callable[[Row, int, int], None]] = None) -> BatchResult:
    """Train a model per line of ``source`` (a batch file, or its lines) under ``root``.

    ``parallel``: lines at once on this machine; ``ray``: "" or "local" for a Ray started here
    (or the cluster ``RAY_ADDRESS`` names), else a cluster's address; ``retries``: how often Ray
    runs a line again whose worker died. ``callbacks()`` makes each line's training callbacks
    (a progress bar), ``said`` gets one-line news, ``on_row(row, done, total)`` each finished line.
    """
    if export:
        from .workflow import export_formats

        if export not in [k.name for k in export_formats()]:
            raise HuggingTweetsError(f"Unknown export format {export[:20]!r}: use {' or '.join(k.name for k in export_formats())}.")
    if parallel < 1:
        raise HuggingTweetsError(f"--parallel must be 1 or more, got {parallel}.")
    lines = read_lines(source)
    base = Path(source).resolve().parent if isinstance(source, (str, Path)) else Path.cwd()
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    options = BatchOptions(str(root), str(base), export, quantize, push, private, cache_dir)
    path = root / BATCH_JSON
    earlier = _read_rows(path)
    rows = {line.number: Row(line.number, line.text) for line in lines}
    todo = []
    for line in lines:
        before = earlier.get(line.text)
        if finished_before(before):
            rows[line.number] = Row(line.number, line.text, SKIPPED, "finished before: its model is in the folder", before.folder,
                                    before.steps, before.held_out_loss, before.voice, 0.0, [])
        else:
            todo.append(line)
    total, finished = len(lines), len(lines) - len(todo)

    def record(row: Row) -> None:
        nonlocal finished
        rows[row.line] = row
        finished += row.status != WAITING
        _write_rows(path, [rows[line.number] for line in lines])
        if on_row is not None:
            on_row(row, finished, total)

    _write_rows(path, [rows[line.number] for line in lines])
    for row in rows.values():
        if row.status == SKIPPED and on_row is not None:
            on_row(row, finished, total)
    if todo:
        if ray is not None:
            from .batch_ray import run_on_ray

            run_on_ray(todo, options, ray, cpus_per_line, gpus_per_line, retries, callbacks, record, said)
        else:
            run_here(todo, options, parallel, callbacks, record, said)
    return BatchResult([rows[line.number] for line in lines], path)


def _read_rows(path: Path) -> dict[str, Row]:
    """An earlier run's rows, by line text (a line moved in the file is still itself)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {r["text"]: Row.from_dict(r) for r in data.get("rows", []) if isinstance(r, dict) and "text" in r}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def _write_rows(path: Path, rows: Iterable[Row]) -> None:
    from .diskio import atomic_write_json

    atomic_write_json(path, {"rows": [asdict(r) for r in rows]}, indent=1)


# --- on this machine: a process per line ---------------------------------------------------------
def _child(line: Line, options: BatchOptions, callbacks, devices: Optional[str], conn) -> None:
    """One line in a process of its own; its row goes back through ``conn``."""
    _die_with_parent()
    if devices is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = devices
    if options.threads:
        import torch

        torch.set_num_threads(options.threads)
    from .quiet import quiet_libraries

    quiet_libraries()
    row = run_line(line, options, callbacks() if callbacks else (), said=lambda text: print(text, file=sys.stderr, flush=True))
    conn.send(asdict(row))
    conn.close()


def _die_with_parent() -> None:
    """Linux: SIGTERM to this line's process when the batch's own is gone (killed), so a line
    never trains on alone and holds its folder's lock past the batch (SIGTERM saves and stops)."""
    if sys.platform != "linux":
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the batch died before the call
        os.kill(os.getpid(), signal.SIGTERM)


def _gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # no torch build for GPUs: no GPUs
        return 0


def run_here(todo: list[Line], options: BatchOptions, parallel: int, callbacks, record: Callable[[Row], None],
             said: Optional[Said]) -> None:
    """Lines in processes of their own, ``parallel`` at once, two sharing a source never at once.
    Ctrl-C (or SIGTERM): the running lines save and stop, the rest stay not run."""
    context = multiprocessing.get_context("spawn")
    gpus = _gpu_count() if parallel > 1 else 0
    if parallel > 1 and gpus < parallel:
        options.threads = max(1, (os.cpu_count() or 1) // parallel)  # each line its share of the cores
    running: dict = {}  # process -> (line, conn, slot)
    waiting = list(todo)
    stopping = False
    previous = signal.getsignal(signal.SIGTERM) if _main_thread() else None
    if _main_thread():
        signal.signal(signal.SIGTERM, _term_as_interrupt)
    try:
        while waiting or running:
            try:
                if not stopping:
                    _start_lines(context, waiting, running, parallel, gpus, options, callbacks)
                _collect(running, record)
            except KeyboardInterrupt:
                if stopping:
                    for process in running:
                        process.kill()
                    raise
                stopping = True
                if said is not None:
                    said("Stopping: the lines training now save a checkpoint and stop, the others wait for the next run "
                         "(Ctrl-C again to quit without saving).")
                for process in running:
                    if process.is_alive() and process.pid:
                        os.kill(process.pid, signal.SIGTERM)  # a Ctrl-C reached them too; a SIGTERM did not
                for line in waiting:
                    record(Row(line.number, line.text, WAITING, "not started: the batch was stopped"))
                waiting = []
    finally:
        if _main_thread() and previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _term_as_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _start_lines(context, waiting: list[Line], running: dict, parallel: int, gpus: int, options: BatchOptions, callbacks) -> None:
    busy = set().union(*(sources_of(line, options.base) for line, _, _ in running.values())) if running else set()
    slots = sorted(set(range(parallel)) - {slot for _, _, slot in running.values()})
    for line in list(waiting):
        if len(running) >= parallel or not slots:
            return
        if sources_of(line, options.base) & busy:
            continue  # another line is downloading this source: it waits, then reads the cache
        slot = slots.pop(0)
        devices = str(slot) if gpus >= parallel > 1 else None
        ours, theirs = context.Pipe(duplex=False)
        process = context.Process(target=_child, args=(line, options, callbacks, devices, theirs), daemon=False)
        process.start()
        theirs.close()
        running[process] = (line, ours, slot)
        busy |= sources_of(line, options.base)
        waiting.remove(line)


def _collect(running: dict, record: Callable[[Row], None]) -> None:
    """Wait a moment for a line to end; record each that has."""
    from multiprocessing.connection import wait

    wait([conn for _, conn, _ in running.values()], timeout=0.5)
    for process, (line, conn, _) in list(running.items()):
        row = None
        if conn.poll():
            try:
                row = Row.from_dict(conn.recv())
            except (EOFError, OSError):
                row = None
        if row is None and process.is_alive():
            continue
        process.join()
        del running[process]
        if row is None:  # ended without a word: killed (out of memory?) or crashed in C
            code = process.exitcode
            why = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
            row = Row(line.number, line.text, FAILED, f"its process ended without a result ({why}: out of memory?); "
                                                      "run the batch again to resume it")
        record(row)
