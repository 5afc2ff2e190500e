"""Step 3: write tweets with the trained model and show them as tweet cards.

``Run predictions`` asks the workflow's ``Generators`` for the model folder of
step 2 (loaded once, reloaded when training rewrites it), samples with the
sliders' ``SamplingConfig``, and puts the new cards on top of earlier ones.
Each card shows the authors' pictures from step 1 (or the URLs saved with the
model), a Copy button, and the nearest training tweet one click away. The cards
belong to one model: another folder, or a new model in it, clears them.
"""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets

from ..config import SamplingConfig
from ..errors import HuggingTweetsError
from ..folder import ModelFolder
from ..quiet import quiet_libraries
from ..workflow import Generators, avatar_url, saved_voice, share_link, voice_lines, words_of
from . import render
from .step import Step, row

MAX_CARDS = 100  # older cards drop off the bottom
WIDE = {"description_width": "initial"}
HELP = (
    "Help: prompt, temperature, near copies, voice",
    "<b>Start of the tweet</b>: the prompt (leave it empty to let the model begin). <b>Temperature</b> below 1 writes safer, "
    "more repetitive tweets, above 1 wilder ones; <b>Top-p</b> keeps only the likeliest words that add up to that probability.",
    "<b>Near copies</b>: each card can show the training tweet nearest to it. A card flagged <i>Near copy</i> shares 8 words in a row "
    "with a training tweet or is at least 0.8 similar to one: the model repeated it rather than wrote something new. "
    "Think twice before sharing it.",
    "<b>Voice</b>: a model scored once trained says how often its posts pass as the author's to a simple style classifier "
    "(100: as often as the author's own held-out posts, 0: as rarely as the untuned base model's imitations); each card's "
    "badge gives that post's voice (50 is the classifier's threshold). It measures style as that classifier sees it, not a "
    "person's judgement. In a model of several authors, <b>Voice</b> writes as one of them or as the blend. <b>Beside the "
    "base model</b> writes the same prompt with the untuned model too: what training bought.",
)
BLEND = ("the blend", "")


class GenerateStep(Step):
    """Prompt and sampling sliders → ``Run predictions`` → tweet cards, newest first."""

    PARTS = (*Step.PARTS, "prompt", "n", "temperature", "top_p", "author", "beside", "clear", "score", "results")

    title = "Write tweets"
    hint = "Start a tweet and let the model finish it. Near copies of training tweets are flagged."
    help = HELP

    # --- building -------------------------------------------------------------------------
    def _build(self) -> None:
        self._generators = Generators()
        self._cards: list[str] = []
        defaults = SamplingConfig()
        self._prompt = widgets.Text(value=defaults.prompt, description="Start of the tweet", style=WIDE, layout=widgets.Layout(width="460px"))
        self._n = widgets.IntSlider(value=defaults.n, min=1, max=20, description="Tweets", style=WIDE, tooltip="How many tweets to write")
        self._temperature = widgets.FloatSlider(value=defaults.temperature, min=0.1, max=2.0, step=0.05, description="Temperature", style=WIDE, tooltip="Below 1: safer; above 1: wilder")
        self._top_p = widgets.FloatSlider(value=defaults.top_p, min=0.05, max=1.0, step=0.01, description="Top-p", style=WIDE, tooltip="Sample from the most likely words that add up to this probability")
        self._author = widgets.Dropdown(options=[BLEND], value="", description="Voice", style=WIDE,
                                        tooltip="Write as one of the model's authors, or as the blend", layout=widgets.Layout(display="none"))
        self._beside = widgets.Checkbox(value=False, description="Beside the base model (untuned)", indent=False,
                                         tooltip="Write the same prompt with the base model before training too", layout=widgets.Layout(width="auto"))
        self.button = widgets.Button(description="Run predictions", icon="magic", button_style="primary", layout=widgets.Layout(width="auto"))
        self._clear = widgets.Button(description="Clear", icon="trash", layout=widgets.Layout(width="auto"))
        self._score = widgets.HTML("")
        self._results = widgets.HTML("")
        self._base_cards: list[str] = []

    def _layout(self) -> None:
        self.frame([
            self._score,
            row(self._prompt, self._author),
            row(self._n, self._temperature, self._top_p),
            row(self.button, self._clear, self._beside, self._progress, self._status),
        ], [self._results])

    def _wire(self) -> None:
        self.button.on_click(self._on_run)
        self._clear.on_click(self._on_clear)
        self._session.observe(self._on_model, names=["folder", "trained"])
        self._session.observe(self._on_words, names="dataset")
        self._show_model()

    def _on_words(self, _=None) -> None:
        """The authors' network's words ("Start of the tweet", "Start of the post", ...)."""
        words = words_of(self._session.dataset)
        self._prompt.description = f"Start of the {words.post}"
        self._n.description, self._n.tooltip = words.posts.capitalize(), f"How many {words.posts} to write"
        self.retitle(f"Write {words.posts}")

    # --- callbacks --------------------------------------------------------------------------
    def _on_model(self, _=None) -> None:
        """Another folder, or a new model in it: the cards were another model's, and an error
        stays only while it is still true (no model to write with)."""
        had_error = "ht-error" in self._message.value
        self._on_clear()
        self.button.button_style = "primary"
        if had_error and not self._has_model():
            self.fail(self._train_first())
        self._show_model()

    def _show_model(self) -> None:
        """The model's voice score above the cards, and its authors in Voice (a model of several)."""
        folder = ModelFolder(self._session.folder or self._session.root)
        report = None
        if folder.has_model():
            try:
                report = saved_voice(folder.path)
            except HuggingTweetsError:
                report = None  # a damaged report: the cards still come, without badges
        self._score.value = render.voice_summary(voice_lines(report))
        voices = folder.voices() if folder.has_model() else []
        self._author.options = [BLEND] + [(f"@{h.lstrip('@')}", h) for h in voices]
        self._author.value = ""
        self._author.layout.display = "" if voices else "none"

    def _has_model(self) -> bool:
        folder = ModelFolder(self._session.folder or self._session.root)
        return folder.has_model() or folder.incomplete()

    def _train_first(self) -> str:
        return f"Train a model in {self.ref('train')} first."

    def _on_clear(self, _=None) -> None:
        self._cards, self._base_cards = [], []
        self._session.tweets = []
        self._results.value = self._message.value = ""

    def sampling_config(self) -> SamplingConfig:
        config = SamplingConfig(prompt=self._prompt.value, n=self._n.value, temperature=self._temperature.value, top_p=self._top_p.value,
                                author=self._author.value or None)
        config.validate()
        return config

    def _on_run(self, _=None) -> None:
        self._message.value = ""
        self.button.disabled, self.button.button_style = True, ""
        if self.attempt("Generation failed", self._run):
            self.button.button_style = "primary"  # ready for another round
        self._status.value = ""
        self.button.disabled = self._session.busy

    def _run(self) -> None:
        if self._session.busy:
            raise HuggingTweetsError(f"Training is running: wait for it to finish, or press Stop in {self.ref('train')}.")
        if not self._has_model():
            raise HuggingTweetsError(self._train_first())
        folder = Path(self._session.folder or self._session.root)
        config = self.sampling_config()
        self._status.value = "Writing tweets…" if self._generators.loaded(folder) else "Loading the model…"
        quiet_libraries()
        generator = self._generators.get(folder)
        self._status.value = "Writing tweets…"
        tweets = generator.generate(config)
        if generator.notes:
            self._message.value = render.messages(("info", note) for note in generator.notes)
        self._status.value = "Judging their voice…"
        tweets = self._generators.judge(folder, tweets, self.show_progress)
        base = []
        if self._beside.value:
            self._status.value = "Writing the same with the base model…"
            base = self._generators.write_base(folder, config, self.show_progress)
            if not base:
                self.say("info", "The base model is known only once the voice was scored (huggingtweets score FOLDER): nothing to compare with.")
        authors = generator.authors or ([a.author for a in self._session.dataset.authors] if self._session.dataset else [])
        pictures = self._session.avatars
        people = {a.handle: (a.handle, a.name, pictures.get(a.handle.lower()) or avatar_url(a)) for a in authors}

        by_handle = {a.handle: a for a in authors}

        def card(t, label="AI") -> str:  # a post written as one author shows that author
            one = t.author in people and len(people) > 1
            who = [people[t.author]] if one else list(people.values())
            share = share_link(t.text, [by_handle[t.author]] if one else authors)
            return render.tweet_card(t.text, t.nearest, t.similarity, t.near_copy, who, t.voice, t.passes, label, share)

        self._cards = ([card(t) for t in tweets] + self._cards)[:MAX_CARDS]
        self._base_cards = ([card(t, "base model") for t in base] + self._base_cards)[:MAX_CARDS] if base else []
        self._session.tweets = (tweets + list(self._session.tweets))[:MAX_CARDS]  # the share step picks from them
        self._results.value = render.side_by_side(self._cards, self._base_cards) if self._base_cards else render.tweet_list(self._cards)
        self.reset_progress()
