"""A batch on Ray: one task per line, each with its CPU and GPU needs declared.

Ray (an optional extra: ``pip install "huggingtweets[ray]"``) schedules the tasks on the
cluster's nodes, runs a line again whose worker died (killed, out of memory, its node lost) up
to ``retries`` times, and hands each row back here, where batches.py writes ``batch.json``. As on
one machine, two lines that name one source never run at once (the second waits, then reads the
cache the first filled: on a cluster that cache must be shared, ``HUGGINGTWEETS_CACHE``). A line
that fails in its own words (an unknown handle, too few posts) is a row, never a retry: it would
fail the same way again. A retried line finds its folder's checkpoints and resumes from them, so
the root (``--root``) must be one path every node sees (a shared filesystem), or the models go to
the Hub with ``--push``.

Without an address Ray starts here, on this machine's cores (or joins the cluster that
``RAY_ADDRESS`` names), so the same command is tested on one machine.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Callable, Optional

from .batch_line import FAILED, STOPPED, WAITING, BatchOptions, Line, Row, Said, run_line, sources_of
from .errors import HuggingTweetsError

INSTALL_RAY = 'pip install "ray>=2.40"'  # or the [ray] extra of this package
LOCAL = "local"  # --ray without an address: RAY_ADDRESS, else a Ray started here
OBJECT_STORE_BYTES = 100 << 20  # a local Ray's object store: rows are small, models go to disk


def _ray():
    try:
        import ray
    except ImportError:
        raise HuggingTweetsError(f"--ray needs Ray, which is not installed: {INSTALL_RAY} (or leave out --ray to run the batch here).") from None
    return ray


def _line_task(line: Line, options: BatchOptions, callbacks) -> dict:
    """In a Ray worker: one line, its row as a dict."""
    from .quiet import quiet_libraries

    quiet_libraries()
    return asdict(run_line(line, options, callbacks() if callbacks else ()))


def run_on_ray(todo: list[Line], options: BatchOptions, address: Optional[str], cpus: float, gpus: Optional[float], retries: int,
               callbacks, record: Callable[[Row], None], said: Optional[Said]) -> None:
    ray = _ray()
    started = not ray.is_initialized()
    if started:
        local = address in (None, "", LOCAL)
        ray.init(address=None if local else address, include_dashboard=False, log_to_driver=True, logging_level="ERROR",
                 **({"object_store_memory": OBJECT_STORE_BYTES} if local and not _cluster_named() else {}))
    try:
        if gpus is None:  # a GPU a line where the cluster has GPUs; none on a CPU cluster
            gpus = 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0
        if said is not None:
            said(f"Ray: {len(todo)} line(s) as tasks of {cpus:g} CPU{'s' if cpus != 1 else ''}"
                 f"{f' and {gpus:g} GPU' if gpus else ''} each, on {ray.cluster_resources().get('CPU', 0):g} CPUs; "
                 f"a line whose worker dies runs again (up to {retries} times) and resumes.")
        task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=retries, retry_exceptions=False)(_line_task)
        refs: dict = {}
        waiting = list(todo)

        def submit() -> None:
            """Every waiting line whose sources no line in flight names (the second reads the cache)."""
            busy = set().union(*(sources_of(line, options.base) for line in refs.values())) if refs else set()
            for line in list(waiting):
                if not sources_of(line, options.base) & busy:
                    refs[task.remote(line, options, callbacks)] = line
                    busy |= sources_of(line, options.base)
                    waiting.remove(line)

        try:
            submit()
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1)
                for ref in done:
                    record(_row(ray, ref, refs.pop(ref), retries))
                submit()
        except KeyboardInterrupt:
            for line in waiting:
                record(Row(line.number, line.text, WAITING, "not started: the batch was stopped"))
            if said is not None:
                said("Stopping: the lines training now save a checkpoint and stop (Ctrl-C again to quit without saving).")
            for ref in refs:
                ray.cancel(ref)  # a KeyboardInterrupt in the task: it saves and stops
            for ref, line in refs.items():
                try:
                    row = Row.from_dict(ray.get(ref, timeout=300))
                except Exception:  # cancelled before it started, or ended by the cancel
                    row = Row(line.number, line.text, WAITING, "not finished: the batch was stopped")
                record(row if row.status != FAILED else Row(line.number, line.text, STOPPED, "stopped with the batch"))
    finally:
        if started:
            ray.shutdown()


def _cluster_named() -> bool:
    import os

    return bool(os.environ.get("RAY_ADDRESS"))


def _row(ray, ref, line: Line, retries: int) -> Row:
    try:
        return Row.from_dict(ray.get(ref))
    except ray.exceptions.RayError as err:  # the worker died every time it was tried
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return Row(line.number, line.text, FAILED, f"its Ray task failed {retries + 1} time(s) ({type(err).__name__}: {first[:200]}); "
                                                   "run the batch again to resume it")
