"""Step 3: write tweets with the trained model and show them as tweet cards.

``Run predictions`` loads the model folder of step 2 once (the ``Generator`` is
cached per folder, and reloaded when training rewrites it), samples with the
sliders' ``SamplingConfig``, and puts the new cards on top of earlier ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import ipywidgets as widgets

from ..config import SamplingConfig
from ..dataset import DATASET_FILE, TweetDataset
from ..errors import HuggingTweetsError
from ..generation import load_generator
from . import render
from .style import style_widget
from .train_step import quiet_libraries

MAX_CARDS = 100  # older cards drop off the bottom
WIDE = {"description_width": "initial"}


def _stamp(folder: Path) -> tuple:
    """Changes when training writes the folder again, so a cached model is not stale."""
    files = [folder / "config.json", folder / "model.safetensors", folder / DATASET_FILE]
    return tuple(f.stat().st_mtime_ns if f.exists() else 0 for f in files)


class GenerateStep(widgets.VBox):
    """Prompt and sampling sliders → ``Run predictions`` → tweet cards, newest first."""

    def __init__(self, session, **kwargs):
        super().__init__(**kwargs)
        self._session = session
        self._generators: dict[str, tuple[tuple, object, list]] = {}  # folder -> (stamp, Generator, authors)
        self._cards: list[str] = []
        defaults = SamplingConfig()
        self._prompt = widgets.Text(value=defaults.prompt, description="Start of the tweet", style=WIDE, layout=widgets.Layout(width="460px"))
        self._n = widgets.IntSlider(value=defaults.n, min=1, max=20, description="Tweets", style=WIDE, tooltip="How many tweets to write")
        self._temperature = widgets.FloatSlider(value=defaults.temperature, min=0.1, max=2.0, step=0.05, description="Temperature", style=WIDE, tooltip="Below 1: safer; above 1: wilder")
        self._top_p = widgets.FloatSlider(value=defaults.top_p, min=0.05, max=1.0, step=0.01, description="Top-p", style=WIDE, tooltip="Sample from the most likely words that add up to this probability")
        self.button = widgets.Button(description="Run predictions", icon="magic", button_style="primary", layout=widgets.Layout(width="auto"))
        self._clear = widgets.Button(description="Clear", icon="trash", layout=widgets.Layout(width="auto"))
        self._status = widgets.Label("")
        self._message = widgets.HTML("")
        self._results = widgets.HTML("")
        self._layout()
        self._wire()

    # --- building -------------------------------------------------------------------------
    def _layout(self) -> None:
        row = widgets.Layout(flex_flow="row wrap", align_items="center", grid_gap="4px 8px")
        self.children = [
            style_widget(),
            widgets.HTML(render.step_title(3, "Write tweets", "Start a tweet and let the model finish it. Near copies of training tweets are flagged.")),
            self._prompt,
            widgets.HBox([self._n, self._temperature, self._top_p], layout=row),
            widgets.HBox([self.button, self._clear, self._status], layout=row),
            self._message,
            self._results,
        ]

    def _wire(self) -> None:
        self.button.on_click(self._on_run)
        self._clear.on_click(self._on_clear)
        self._session.observe(self._on_busy, names="busy")

    # --- callbacks --------------------------------------------------------------------------
    def _on_busy(self, change) -> None:
        self.button.disabled = change["new"]

    def _on_clear(self, _=None) -> None:
        self._cards = []
        self._results.value = self._message.value = ""

    def sampling_config(self) -> SamplingConfig:
        config = SamplingConfig(prompt=self._prompt.value, n=self._n.value, temperature=self._temperature.value, top_p=self._top_p.value)
        config.validate()
        return config

    def _on_run(self, _=None) -> None:
        self._message.value = ""
        self.button.disabled, self.button.button_style = True, ""
        try:
            self._run()
            self.button.button_style = "primary"  # ready for another round
        except Exception as err:  # one line for the user, whatever went wrong
            text = str(err) if isinstance(err, HuggingTweetsError) else f"Generation failed ({type(err).__name__}): {render.first_line(err)}"
            self._message.value = render.message("error", text)
            self.button.button_style = "danger"
        finally:
            self._status.value = ""
            self.button.disabled = self._session.busy

    def _run(self) -> None:
        if self._session.busy:
            raise HuggingTweetsError("Training is running: wait for it to finish, or press Stop in step 2.")
        folder = Path(self._session.folder or ".")
        if not (folder / "config.json").is_file():
            raise HuggingTweetsError("Train a model in step 2 first.")
        config = self.sampling_config()
        self._status.value = "Loading the model…" if str(folder) not in self._generators else "Writing tweets…"
        generator, authors = self._generator(folder)
        self._status.value = "Writing tweets…"
        tweets = generator.generate(config)
        cards = [render.tweet_card(t.text, t.nearest, t.similarity, t.near_copy, authors) for t in tweets]
        self._cards = (cards + self._cards)[:MAX_CARDS]
        self._results.value = render.tweet_list(self._cards)

    def _generator(self, folder: Path):
        """The folder's Generator and authors, loaded once per version of the folder."""
        key, stamp = str(folder.resolve()), _stamp(folder)
        cached = self._generators.get(key)
        if cached is None or cached[0] != stamp:
            self._generators.pop(key, None)  # free the stale model before loading the new one
            quiet_libraries()
            generator = load_generator(folder)
            self._generators[key] = (stamp, generator, self._authors(folder))
        return self._generators[key][1], self._generators[key][2]

    def _authors(self, folder: Path) -> list[tuple[str, str, str]]:
        """``[(handle, display name, avatar url)]`` from the folder's dataset, else step 1's."""
        dataset: Optional[TweetDataset] = None
        try:
            if (folder / DATASET_FILE).is_file():
                dataset = TweetDataset.load(folder)
        except (HuggingTweetsError, ValueError, KeyError, TypeError):
            dataset = None
        dataset = dataset or self._session.dataset
        if dataset is None:
            return []
        return [(a.author.handle, a.author.name, a.author.avatar_url) for a in dataset.authors]
