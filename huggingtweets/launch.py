"""Training in several processes started from a notebook (accelerate's ``notebook_launcher``).

A notebook on a machine with several GPUs (Kaggle's 2 x T4) cannot be started under
``torchrun``; accelerate's ``notebook_launcher`` forks the processes from the kernel
instead. Each runs ``run_training`` as a launched process would (``distributed.py``
decides who writes); the main one forwards its progress through a queue to the
kernel's callbacks (the widgets' loss plot and bar), and sends back the result or a
one-line error. Stop sets an event every process sees; the processes then agree on
the step to stop at (``distributed.any_process``), save a checkpoint and end.

    run = Launch(2, callbacks)
    result = run.run(config, dataset, resume=False, overwrite=False)  # blocks; stop() from another thread
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from typing import Optional, Sequence

from .errors import HuggingTweetsError, first_line
from .training import TrainCallback, TrainResult, TrainState

# accelerate refuses to launch once this kernel has set up its own process state.
ALREADY_SET_UP = "Accelerator` should only be initialized"


class _SharedStop:
    """A ``StopSignal`` over an event that forked processes share."""

    def __init__(self, event):
        self._event = event

    def request(self) -> None:
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()


class _Forward(TrainCallback):
    """In the main worker process: every event to the kernel, through the queue."""

    def __init__(self, queue):
        self.queue = queue

    def on_begin(self, state: TrainState) -> None:
        self.queue.put(("on_begin", (state,)))

    def on_step(self, state: TrainState) -> None:
        self.queue.put(("on_step", (state,)))

    def on_log(self, state: TrainState, logs: dict) -> None:
        self.queue.put(("on_log", (state, logs)))

    def on_evaluate(self, state: TrainState, metrics: dict) -> None:
        self.queue.put(("on_evaluate", (state, metrics)))

    def on_save(self, state: TrainState, checkpoint: str) -> None:
        self.queue.put(("on_save", (state, checkpoint)))

    def on_end(self, state: TrainState) -> None:
        self.queue.put(("on_end", (state,)))

    def on_progress(self, done: int, total: Optional[int], message: str) -> None:
        self.queue.put(("on_progress", (done, total, message)))


def _portable(err: BaseException) -> BaseException:
    """An error that survives the trip to the kernel (pickled), else its first line."""
    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:
        return HuggingTweetsError(f"Training failed in a worker process: {first_line(err)}")


def _worker(config, dataset, resume, overwrite, queue, stop_event) -> None:
    """One launched process: train; the main one reports back, the others stay silent."""
    from . import distributed
    from .tracking import _tracking_error, run_training

    main = distributed.is_main()
    try:
        result = run_training(config, dataset, [_Forward(queue)] if main else [], _SharedStop(stop_event), resume, overwrite)
        if main:
            queue.put(("result", result))
    except distributed.Elsewhere:
        pass  # the main process reports
    except BaseException as err:
        if main:
            queue.put(("error", _portable(_tracking_error(err) or err)))


class Launch:
    def __init__(self, processes: int, callbacks: Sequence[TrainCallback] = ()):
        self.processes = processes
        self.callbacks = list(callbacks)
        ctx = multiprocessing.get_context("fork")  # notebook_launcher forks: these are inherited
        self._queue = ctx.Queue()
        self._stop = ctx.Event()
        self._result: Optional[TrainResult] = None
        self._error: Optional[BaseException] = None

    def stop(self) -> None:
        self._stop.set()

    def run(self, config, dataset, resume: bool = False, overwrite: bool = False) -> TrainResult:
        from accelerate import notebook_launcher

        pump = threading.Thread(target=self._pump, name="huggingtweets-launch-events", daemon=True)
        pump.start()
        try:
            notebook_launcher(_worker, args=(config, dataset, resume, overwrite, self._queue, self._stop),
                              num_processes=self.processes)
        except ValueError as err:
            if ALREADY_SET_UP in str(err):
                raise HuggingTweetsError(
                    "This kernel has already trained in its own process, so it cannot start several now: restart the "
                    "kernel and train first, or untick 'Train on every GPU'.") from None
            raise
        except Exception as err:  # a process that died (killed, out of memory): the launcher's own words
            if self._error is None:
                self._error = HuggingTweetsError(f"A training process failed ({first_line(err)[:300]}): "
                                                 "checkpoints so far are kept, tick Resume to continue.")
        finally:
            self._queue.put(("closed", None))
            pump.join()
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise HuggingTweetsError("The training processes ended without a result: run again (tick Resume to continue).")
        return self._result

    def _pump(self) -> None:
        """In the kernel: the main process's events, to the callbacks, in order."""
        while True:
            kind, payload = self._queue.get()
            if kind == "closed":
                return
            if kind == "result":
                self._result = payload
            elif kind == "error":
                self._error = payload
            else:
                for cb in self.callbacks:
                    try:
                        getattr(cb, kind)(*payload)
                    except Exception:  # a widget that fails to draw must not lose the run's result
                        pass

