"""The three-step widget app: ``App().header``, ``.data``, ``.train``, ``.generate``.

The steps share one ``Session`` (plain state with traitlets so steps can observe
it): step 1 puts the dataset there, step 2 the model folder, and step 3 reads
both. Downloads and generation run in the click handler (a notebook cell can
assert right after ``click()``); training runs in a background thread so Stop
works and the kernel stays responsive, and ``App.wait()`` joins it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import ipywidgets as widgets
import traitlets

from . import render
from .data_step import DataStep
from .generate_step import GenerateStep
from .style import CSS
from .train_step import TrainStep

DEMO_ENV = "HUGGINGTWEETS_DEMO"


class Session(traitlets.HasTraits):
    """What the steps share. ``busy`` is True while the training thread runs."""

    demo = traitlets.Bool(False)
    root = traitlets.Unicode(".")  # uploads and model folders go under here
    cache_dir = traitlets.Unicode(None, allow_none=True)
    raw = traitlets.List()  # AuthorTweets from step 1, rebuilt into a dataset with step 2's seed/split
    dataset = traitlets.Any(None)  # the TweetDataset from step 1, None until a download succeeds
    folder = traitlets.Unicode("")  # the model folder (step 2 writes it, step 3 reads it)
    busy = traitlets.Bool(False)


def gpu_note(cuda: bool, colab: bool) -> tuple[str, str]:
    """(kind, one line) about the accelerator; never raises."""
    if cuda:
        return "success", "A GPU is available: training will use it."
    if colab:
        return "warning", (
            "No GPU in this Colab session. Turn one on with Runtime → Change runtime type → "
            "Hardware accelerator: GPU (T4), then run the notebook again; or keep the CPU and "
            "set the model to tiny in step 2 (about a minute)."
        )
    return "info", "Training runs on the CPU here: the tiny model is the fast choice (about a minute); gpt2 takes much longer."


def check_gpu() -> tuple[str, str]:
    try:
        import torch

        cuda = bool(torch.cuda.is_available())
    except Exception:  # a broken CUDA install must not stop the app from showing
        cuda = False
    return gpu_note(cuda, "google.colab" in sys.modules)


class App:
    """Build the widgets; show ``header``, ``data``, ``train`` and ``generate`` in cells."""

    def __init__(self, demo: Optional[bool] = None, output_dir: Optional[str | os.PathLike] = None, cache_dir: Optional[str | os.PathLike] = None):
        if demo is None:
            demo = os.environ.get(DEMO_ENV) == "1"
        self.session = Session(
            demo=bool(demo),
            root=str(Path(output_dir) if output_dir is not None else Path.cwd()),
            cache_dir=str(cache_dir) if cache_dir is not None else None,
        )
        kind, note = check_gpu()
        subtitle = "Train a language model on someone's tweets, then let it write new ones."
        if demo:
            subtitle += " Demo mode: the bundled sample account and the tiny model, offline."
        self.header = widgets.HTML(f"<style>{CSS}</style>" + render.header("HuggingTweets", subtitle, kind, note))
        self.data = DataStep(self.session)
        self.train = TrainStep(self.session)
        self.generate = GenerateStep(self.session)

    @property
    def dataset(self):
        """The TweetDataset from step 1 (None until a download succeeds)."""
        return self.session.dataset

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until background work (the training thread) is done; True if it is."""
        return self.train.wait(timeout)

    def _ipython_display_(self):
        from IPython.display import display

        display(widgets.VBox([self.header, self.data, self.train, self.generate]))
