"""Step 3: write tweets with the trained model and show them as tweet cards.

``Run predictions`` asks the workflow's ``Generators`` for the model folder of
step 2 (loaded once, reloaded when training rewrites it), samples with the
sliders' ``SamplingConfig``, and puts the new cards on top of earlier ones.
Each card shows the authors' pictures from step 1 (or the URLs saved with the
model), a Copy button, and the nearest training tweet one click away.
"""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets

from ..config import SamplingConfig
from ..errors import HuggingTweetsError, is_failure
from ..folder import ModelFolder
from ..quiet import quiet_libraries
from ..sources import avatar_url
from ..workflow import Generators
from . import render
from .style import style_widget

MAX_CARDS = 100  # older cards drop off the bottom
WIDE = {"description_width": "initial"}
HELP = (
    "<b>Start of the tweet</b>: the prompt (leave it empty to let the model begin). <b>Temperature</b> below 1 writes safer, "
    "more repetitive tweets, above 1 wilder ones; <b>Top-p</b> keeps only the likeliest words that add up to that probability.",
    "<b>Near copies</b>: each card can show the training tweet nearest to it. A card flagged <i>Near copy</i> shares 8 words in a row "
    "with a training tweet or is at least 0.8 similar to one: the model repeated it rather than wrote something new. "
    "Think twice before sharing it.",
)


class GenerateStep(widgets.VBox):
    """Prompt and sampling sliders → ``Run predictions`` → tweet cards, newest first."""

    def __init__(self, session, **kwargs):
        super().__init__(**kwargs)
        self._session = session
        self._generators = Generators()
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
            widgets.HTML(render.help_box("Help: prompt, temperature, near copies", HELP)),
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
        self._session.observe(self._on_trained, names="trained")

    # --- callbacks --------------------------------------------------------------------------
    def _on_busy(self, change) -> None:
        self.button.disabled = change["new"]

    def _on_trained(self, _change) -> None:
        """A model is ready: "train a model first" and the like no longer apply."""
        if "ht-error" in self._message.value:
            self._message.value = ""
            self.button.button_style = "primary"

    def _on_clear(self, _=None) -> None:
        self._cards = []
        self._session.tweets = []
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
        except BaseException as err:  # a library's panic too (pyo3's is no Exception)
            if not (isinstance(err, Exception) or is_failure(err)):
                raise  # one line for the user, whatever went wrong
            text = render.error_text(err, "Generation failed")
            self._message.value = render.message("error", text)
            self.button.button_style = "danger"
        finally:
            self._status.value = ""
            self.button.disabled = self._session.busy

    def _run(self) -> None:
        if self._session.busy:
            raise HuggingTweetsError("Training is running: wait for it to finish, or press Stop in step 2.")
        folder = Path(self._session.folder or ".")
        if not ModelFolder(folder).has_model() and not ModelFolder(folder).incomplete():
            raise HuggingTweetsError("Train a model in step 2 first.")
        config = self.sampling_config()
        self._status.value = "Writing tweets…" if self._generators.loaded(folder) else "Loading the model…"
        quiet_libraries()
        generator = self._generators.get(folder)
        self._status.value = "Writing tweets…"
        tweets = generator.generate(config)
        if generator.notes:
            self._message.value = render.messages(("info", note) for note in generator.notes)
        authors = generator.authors or ([a.author for a in self._session.dataset.authors] if self._session.dataset else [])
        pictures = self._session.avatars
        people = [(a.handle, a.name, pictures.get(a.handle.lower()) or avatar_url(a)) for a in authors]
        cards = [render.tweet_card(t.text, t.nearest, t.similarity, t.near_copy, people) for t in tweets]
        self._cards = (cards + self._cards)[:MAX_CARDS]
        self._session.tweets = (tweets + list(self._session.tweets))[:MAX_CARDS]  # step 4 picks from them
        self._results.value = render.tweet_list(self._cards)
