"""``train --processes N``: torchrun's launch of ``python -m huggingtweets train`` in N
processes, run from the command's own process so that it ends as a one-process run does
(our lines, exit 130 after a stop, 1 after a failure), never with the launcher's traceback.
The command line's alone: the app starts its processes with accelerate's notebook launcher
(``launch.py``)."""

from __future__ import annotations

from typing import Sequence

from .errors import HuggingTweetsError

LAUNCHER_LOGS = ("torch.distributed.elastic", "torch.distributed.run", "torch.distributed.launcher")


def run_processes(argv: Sequence[str], processes: int) -> int:
    """``python -m huggingtweets ARGV`` in ``processes`` processes on this machine, as
    ``torchrun --standalone --nproc_per_node N`` starts them, but launched from this process so
    that it ends as the command does: a stop (Ctrl-C, SIGTERM: every process saves one
    checkpoint and the main one says how to resume) exits 130, a failure (the main process
    has said what went wrong, in one line) exits 1, never with the launcher's own traceback
    and log. Returns the exit status."""
    import logging

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    from . import distributed  # the processes this one was started among, if any

    if distributed.launched():
        raise HuggingTweetsError("--processes starts its own processes: leave it out under torchrun or accelerate launch.")
    args = get_args_parser().parse_args(["--standalone", "--nproc-per-node", str(processes), "--module", "huggingtweets", *argv])
    for name in LAUNCHER_LOGS:  # its log ("Sending process ... SIGTERM", "failed (exitcode: 1)") says what our lines already say
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        run(args)
    except SignalException:
        return 130  # the processes were sent the same signal: they saved their checkpoint and said so
    except ChildFailedError as err:
        codes = {failure.exitcode for failure in err.failures.values()}
        return 130 if codes == {130} else 1
    return 0
