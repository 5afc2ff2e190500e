"""The one place that silences library output that is not for our user.

The CLI draws its own tqdm bars and the notebook its own widgets; transformers'
and huggingface_hub's bars, advice and warnings would land in the middle of them
(in a notebook, in whichever cell ran last).
"""

from __future__ import annotations

import os
import sys
import warnings
from contextlib import contextmanager
from typing import Iterator


def quiet_libraries() -> None:
    """For a whole CLI command or notebook session: errors only, no library progress bars."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", message=".*pin_memory.*")
    if "transformers" in sys.modules:  # else the variables above apply when it is imported (not here: it is slow)
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()


@contextmanager
def no_library_bars() -> Iterator[None]:
    """transformers' own progress bars off for a while (ours show what is happening)."""
    from transformers.utils import logging as hf_logging

    were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if were_on:
            hf_logging.enable_progress_bar()
