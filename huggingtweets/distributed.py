"""More than one process: one writer per run, the others wait for it.

Launchers (``torchrun``, ``python -m torch.distributed.run``, ``accelerate launch``,
accelerate's ``notebook_launcher``) start the same command N times with
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` set. The main process (rank 0) alone
reads sources (a paid X download happens once), writes the cache, the folder's
lock, the run's dataset and config, the model, the card and the W&B run, and
prints; the others get what it made through ``on_main`` and train beside it.
Without a launcher every function here is a plain call: one process is the main.

The process group is accelerate's (``PartialState``), the one the Trainer uses:
gloo on CPUs, NCCL on GPUs; DDP, FSDP or DeepSpeed as ``accelerate config`` says.
"""

from __future__ import annotations

import atexit
import functools
import os
from typing import Callable, TypeVar

from .errors import Elsewhere, first_line

T = TypeVar("T")


def world_size() -> int:
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def launched() -> bool:
    """Started by a launcher with more than one process."""
    return world_size() > 1


# What gloo and NCCL say when the process at the other end is gone (killed, out of memory, its machine lost).
_PEER_GONE = ("connection reset by peer", "connection closed by peer", "broken pipe", "connection refused",
              "socket closed", "nccl communicator was aborted", "remote process exited")


def lost_peer(err: BaseException) -> bool:
    """``err`` says another process of this launched run is gone (this one cannot go on alone)."""
    if not launched():
        return False
    try:
        from torch.distributed import DistNetworkError

        if isinstance(err, DistNetworkError):
            return True
    except ImportError:
        pass
    text = str(err).lower()
    return isinstance(err, RuntimeError) and any(words in text for words in _PEER_GONE)


def is_main() -> bool:
    """This process writes and prints (always true without a launcher)."""
    try:
        return int(os.environ.get("RANK", "0")) == 0
    except ValueError:
        return True


def cpu_has_bf16() -> bool:
    """The CPU runs bf16 matrix work natively (AVX512-BF16 or AMX)."""
    import torch

    cpu = getattr(torch, "cpu", None)
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in probes)


def has_accelerator() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return torch.cuda.is_available() or bool(mps and mps.is_available())


def device_count() -> int:
    """GPUs this process sees (0 on a CPU-only machine)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _state():
    """accelerate's process group, started once (the Trainer finds it started)."""
    from accelerate import PartialState

    state = PartialState(cpu=not has_accelerator())
    _close_at_exit()
    return state


@functools.cache
def _close_at_exit() -> None:
    atexit.register(_close_group)


def _close_group() -> None:
    """At exit, the process group goes before the interpreter does: a gloo group left to the
    interpreter's end could abort the process ("terminate called without an active exception")."""
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    except Exception:  # the peers may be gone already: nothing left to close cleanly
        pass


def barrier() -> None:
    if launched():
        _state().wait_for_everyone()


def on_main(work: Callable[[], T]) -> T:
    """``work()`` on the main process alone; every process returns its result.

    A failure there is raised there as it is (one line from the main process) and as
    ``Elsewhere`` in the others, so no process waits for a result that will not come.
    """
    if not launched():
        return work()
    from accelerate.utils import broadcast_object_list

    state = _state()
    box: list = [None]
    if state.is_main_process:
        try:
            box[0] = ("ok", work())
        except BaseException as err:
            broadcast_object_list([("error", first_line(err))], from_process=0)
            raise
    broadcast_object_list(box, from_process=0)
    kind, value = box[0]
    if kind == "error":
        raise Elsewhere(value)
    return value


def any_process(flag: bool) -> bool:
    """True on every process when ``flag`` is true on any (a stop request): all stop at one step."""
    if not launched():
        return flag
    import torch
    import torch.distributed as dist

    state = _state()
    value = torch.tensor([1 if flag else 0], device=state.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())
