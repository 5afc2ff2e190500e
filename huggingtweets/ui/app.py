"""The widget app: ``App().header``, then the steps ``.data``, ``.train``, ``.generate``, ``.share``.

The steps share one ``Session`` (plain state with traitlets so steps can observe
it): step 1 puts the dataset and the authors' pictures there, step 2 the model
folder (and counts finished runs), and step 3 reads them. A step's error is
cleared when the step it waited for succeeds. ``where_running()`` tells Colab,
Voilà and Jupyter apart: Colab gets its own upload and Drive, Voilà a page that
follows the browser's dark mode. Downloads and generation run in the click handler (a notebook cell can
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

from ..errors import HuggingTweetsError
from . import render
from .data_step import DataStep
from .generate_step import GenerateStep
from .share_step import ShareStep
from .style import CSS
from .train_step import TrainStep

DEMO_ENV = "HUGGINGTWEETS_DEMO"


class Session(traitlets.HasTraits):
    """What the steps share. ``busy`` is True while the training thread runs."""

    demo = traitlets.Unicode("")  # "": off; "1": the sample and the pretrained model; "tiny": the sample and tiny
    root = traitlets.Unicode(".")  # uploads and model folders go under here
    cache_dir = traitlets.Unicode(None, allow_none=True)
    raw = traitlets.List()  # AuthorTweets from step 1, rebuilt into a dataset with step 2's seed/split
    dataset = traitlets.Any(None)  # the TweetDataset from step 1, None until a download succeeds
    folder = traitlets.Unicode("")  # the model folder (step 2 writes it, steps 3 and 4 read it)
    tweets = traitlets.List()  # GeneratedTweets of step 3, newest first; step 4 draws the preview from them
    busy = traitlets.Bool(False)
    avatars = traitlets.Dict()  # lower-case handle -> picture (http(s) URL or data URI) from step 1
    trained = traitlets.Int(0)  # finished (or stopped) training runs: step 3 clears its "train first"
    place = traitlets.Unicode("jupyter")  # where_running()


def where_running() -> str:
    """ "colab", "voila" or "jupyter" (any other front end: JupyterLab, Notebook, VS Code)."""
    if "google.colab" in sys.modules:
        return "colab"
    if os.environ.get("SERVER_SOFTWARE", "").startswith("voila") or "VOILA_BASE_URL" in os.environ:
        return "voila"  # Voilà starts its kernels with these set
    return "jupyter"


def gpu_note(cuda: bool, colab: bool) -> tuple[str, str]:
    """(kind, one line) about the accelerator; never raises."""
    if cuda:
        return "success", "A GPU is available: training will use it."
    if colab:
        return "warning", (
            "No GPU in this Colab session. Turn one on with Runtime → Change runtime type → "
            "Hardware accelerator: GPU (T4), then run the notebook again; or "
            "keep the CPU and smollm2-135m in step 2 (a few minutes for a few hundred tweets)."
        )
    return "info", "Training runs on the CPU here: smollm2-135m (pretrained) learns the sample in about 2 minutes; tiny is faster but writes word salad."


def check_gpu() -> tuple[str, str]:
    try:
        import torch

        cuda = bool(torch.cuda.is_available())
    except Exception:  # a broken CUDA install must not stop the app from showing
        cuda = False
    return gpu_note(cuda, "google.colab" in sys.modules)


class App:
    """Build the widgets; show ``header``, ``data``, ``train``, ``generate`` and ``share`` in cells."""

    def __init__(self, demo: Optional[bool | str] = None, output_dir: Optional[str | os.PathLike] = None, cache_dir: Optional[str | os.PathLike] = None):
        if demo is None:
            demo = os.environ.get(DEMO_ENV, "")
        demo = {True: "1", False: "", "0": ""}.get(demo, str(demo or ""))
        if demo not in ("", "1", "tiny"):
            raise HuggingTweetsError(f"{DEMO_ENV} must be 1 (the pretrained demo) or tiny, got {demo!r}.")
        self.session = Session(
            demo=demo,
            root=str(Path(output_dir) if output_dir is not None else Path.cwd()),
            cache_dir=str(cache_dir) if cache_dir is not None else None,
        )
        self.session.place = where_running()
        notes = [check_gpu()]
        if demo:
            model = "the tiny model" if demo == "tiny" else "the pretrained SmolLM2-135M"
            notes.append(("info", f"Demo mode: the bundled sample account and {model}, offline."))
        header = render.header(notes, follow_system_theme=self.session.place == "voila")
        self.header = widgets.HTML(f"<style>{CSS}</style>" + header)
        self.data = DataStep(self.session)
        self.train = TrainStep(self.session)
        self.generate = GenerateStep(self.session)
        self.share = ShareStep(self.session)

    @property
    def dataset(self):
        """The TweetDataset from step 1 (None until a download succeeds)."""
        return self.session.dataset

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until background work (the training thread) is done; True if it is."""
        return self.train.wait(timeout)

    def _ipython_display_(self):
        from IPython.display import display

        display(widgets.VBox([self.header, self.data, self.train, self.generate, self.share]))
