"""The notebook app: four steps as widgets (the only package code that imports ipywidgets).

    from huggingtweets.ui import App
    app = App()          # App(demo=True) for the offline sample + tiny model
    app.header           # title and a GPU check
    app.data             # 1. download tweets
    app.train            # 2. train (in a background thread; app.wait() blocks until done)
    app.generate         # 3. write tweets
    app.share            # 4. preview image, push to the Hub, download a zip
"""

from .app import App, Session
from .data_step import DataStep
from .generate_step import GenerateStep
from .share_step import ShareStep
from .train_step import TrainStep

__all__ = ["App", "DataStep", "GenerateStep", "Session", "ShareStep", "TrainStep"]
