"""The notebook app: its steps as widgets (the only package code that imports ipywidgets).

    from huggingtweets.ui import App
    app = App()          # App(demo=True) for the offline sample + tiny model
    app.header           # title and a GPU check
    app.data             # 1. download tweets
    app.train            # 2. train (in a background thread; app.wait() blocks until done)
    app.generate         # 3. write tweets
    app.share            # 4. preview image, push to the Hub, download a zip

The steps are ``ui.app.STEPS``, in order; each is a ``Step`` (``step.py``).
"""

from .app import STEPS, App, Session
from .data_step import DataStep
from .generate_step import GenerateStep
from .share_step import ShareStep
from .step import Step
from .train_step import TrainStep

__all__ = ["App", "DataStep", "GenerateStep", "STEPS", "Session", "ShareStep", "Step", "TrainStep"]
