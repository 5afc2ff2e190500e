"""The widget app: ``App().header``, then the steps ``.data``, ``.train``, ``.generate``, ``.share``.

``STEPS`` lists the steps in order, each with its name; the App numbers them and
shows each as ``app.<name>``, so a new step is a module and a line there. The steps share
one ``Session`` (plain state with traitlets so steps can observe it), never each
other's widgets: step 1 puts the dataset and the authors' pictures there, step 2
the model folder (named after the authors) and a count of the models it wrote,
step 3 the tweets it wrote. What each step shows follows from that state: other
authors mean another folder, another folder (or a new model in it) means other
tweets, and a step's error is cleared when the step it waited for succeeds. ``where_running()`` tells Colab,
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
from ..workflow import source_kinds
from . import render
from .data_step import DataStep
from .generate_step import GenerateStep
from .hand_over import downloads_folder
from .share_step import ShareStep
from .style import CSS
from .train_step import TrainStep, cpu_note
from .visitors import open_workspace, visitor_mode

DEMO_ENV = "HUGGINGTWEETS_DEMO"
# The steps in order (numbered 1, 2, ...), each as app.<name>; steps name each other by these names.
STEPS = (
    ("data", DataStep),
    ("train", TrainStep),
    ("generate", GenerateStep),
    ("share", ShareStep),
)


class Session(traitlets.HasTraits):
    """What the steps share. ``busy`` is True while the training thread runs."""

    demo = traitlets.Unicode("")  # "": off; "1": the sample and the pretrained model; "tiny": the sample and tiny
    root = traitlets.Unicode(".")  # uploads and model folders go under here
    cache_dir = traitlets.Unicode(None, allow_none=True)
    downloads = traitlets.Unicode("")  # files handed to the browser go here (hand_over)
    workspace = traitlets.Any(None)  # visitors.Workspace where strangers are served, else None
    place = traitlets.Unicode("jupyter")  # where_running()
    numbers = traitlets.Dict()  # step name -> its number ("data" -> 1): how steps name each other
    dataset = traitlets.Any(None)  # the TweetDataset from step 1, None until a download succeeds
    avatars = traitlets.Dict()  # lower-case handle -> picture (http(s) URL or data URI) from step 1
    folder = traitlets.Unicode("")  # the model folder (step 2 names it, steps 3 and 4 read it)
    trained = traitlets.Int(0)  # models step 2 has written (finished or stopped runs): steps 3 and 4 start afresh
    tweets = traitlets.List()  # GeneratedTweets of step 3 from the folder's model, newest first; step 4 picks from them
    busy = traitlets.Bool(False)

    @traitlets.validate("folder")
    def _own_folder(self, proposal):
        """The last guard for every step: a visitor's model folder is one of their own, or none."""
        folder = proposal["value"]
        return "" if folder and self.workspace is not None and not self.workspace.holds(folder) else folder

    def path(self, typed: str, what: str) -> Path:
        """A path the person typed: confined to their workspace for visitors, else under ``root``."""
        if self.workspace is not None:
            return self.workspace.confine(typed, what)
        path = Path(str(typed).strip().strip("'\"")).expanduser()
        return path if path.is_absolute() else Path(self.root) / path

    def check_room(self, doing: str) -> None:
        """A visitor's workspace past its disk cap starts nothing more (no cap for one person)."""
        if self.workspace is not None:
            self.workspace.check_room(doing)


def tokens_in_env() -> tuple[str, ...]:
    """The environment variables where the sources find the server's own tokens."""
    return tuple(name for kind in source_kinds() if kind.token for name in kind.token.env)


def where_running() -> str:
    """ "colab", "voila" or "jupyter" (any other front end: JupyterLab, Notebook, VS Code)."""
    if "google.colab" in sys.modules:
        return "colab"
    if os.environ.get("SERVER_SOFTWARE", "").startswith("voila") or "VOILA_BASE_URL" in os.environ:
        return "voila"  # Voilà starts its kernels with these set
    return "jupyter"


def gpu_note(cuda: bool, colab: bool, train_step: str = "the training step") -> tuple[str, str]:
    """(kind, one line) about the accelerator; never raises. ``train_step``: how to name step 2."""
    if cuda:
        return "success", "A GPU is available: training will use it."
    if colab:
        return "warning", (
            "No GPU in this Colab session. Turn one on with Runtime → Change runtime type → "
            f"Hardware accelerator: GPU (T4), then run the notebook again; or keep the CPU in {train_step}: {cpu_note()}"
        )
    return "info", f"Training runs on the CPU here: {cpu_note()}"


def check_gpu(train_step: str = "the training step") -> tuple[str, str]:
    try:
        import torch

        cuda = bool(torch.cuda.is_available())
    except Exception:  # a broken CUDA install must not stop the app from showing
        cuda = False
    return gpu_note(cuda, "google.colab" in sys.modules, train_step)


class App:
    """Build the widgets; show ``header``, then each step (``data``, ``train``, ``generate``, ``share``) in cells."""

    def __init__(self, demo: Optional[bool | str] = None, output_dir: Optional[str | os.PathLike] = None, cache_dir: Optional[str | os.PathLike] = None):
        if demo is None:
            demo = os.environ.get(DEMO_ENV, "")
        demo = {True: "1", False: "", "0": ""}.get(demo, str(demo or ""))
        if demo not in ("", "1", "tiny"):
            raise HuggingTweetsError(f"{DEMO_ENV} must be 1 (the pretrained demo) or tiny, got {demo!r}.")
        root = Path(output_dir) if output_dir is not None else Path.cwd()
        self.session = Session(demo=demo, root=str(root), cache_dir=str(cache_dir) if cache_dir is not None else None,
                               downloads=str(downloads_folder(root)))
        self.session.place = where_running()
        if visitor_mode(self.session.place):
            # Strangers: a workspace each; the downloads beside the notebook, where Voilà serves them.
            space = open_workspace(Path.cwd(), downloads_folder(Path.cwd()), tokens_in_env())
            self.session.workspace = space
            self.session.root, self.session.cache_dir, self.session.downloads = str(space.root), str(space.cache), str(space.downloads)
        self.session.numbers = {name: number for number, (name, _) in enumerate(STEPS, 1)}
        notes = [check_gpu(f"step {self.session.numbers['train']}")]
        if self.session.workspace is not None:
            notes.append(("info", "Your files stay yours: uploads, models and downloads live in a private workspace that "
                                  "goes when you close this page. Pushes and downloads use only tokens you type here."))
        if demo:
            model = "the tiny model" if demo == "tiny" else "the pretrained SmolLM2-135M"
            notes.append(("info", f"Demo mode: the bundled sample account and {model}, offline."))
        header = render.header(notes, follow_system_theme=self.session.place == "voila")
        self.header = widgets.HTML(f"<style>{CSS}</style>" + header)
        self.steps = []
        for number, (name, kind) in enumerate(STEPS, 1):
            step = kind(self.session, number)
            setattr(self, name, step)
            self.steps.append(step)

    @property
    def dataset(self):
        """The TweetDataset from step 1 (None until a download succeeds)."""
        return self.session.dataset

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until every step's background work (training, a push) is done; True if it is."""
        return all([step.wait(timeout) for step in self.steps])

    def _ipython_display_(self):
        from IPython.display import display

        display(widgets.VBox([self.header, *self.steps]))
