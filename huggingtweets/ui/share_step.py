"""Step 4: share the model of step 2: a preview image, a push to the Hub, files to download.

Each part calls one library function on the model folder: ``render_preview`` (from the
tweets step 3 wrote, ticked here), ``push_to_hub`` (in a thread: an upload can take
minutes) and ``export``, one button per export format (the registry in ``exports``, with its
options' widgets). Each file is written into ``hand_over.DOWNLOADS`` and reaches
the browser as ``hand_over`` decides (Colab's download, Voilà's file route, a ``data:`` link,
or a message saying where it is). What it shows belongs to one model: another folder, or a
new model in it, clears it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

import ipywidgets as widgets

from ..errors import HuggingTweetsError
from ..folder import ModelFolder, slug
from ..workflow import (choices, export, export_formats, folder_authors, option_fields, option_label, preview_notes, push_to_hub,
                        render_preview, words_of)
from . import render
from .hand_over import hand_over, link
from .step import Step, row

MAX_PICKS = 20  # newest tweets offered for the preview
PICKED = 3  # ticked at first
LABEL_CHARS = 110  # of a tweet, in its checkbox label
WIDE = {"description_width": "initial"}
DATASET_WARNING = (
    "dataset.json holds the cleaned tweets the model learned from. Anyone who can see the repo can read them: "
    "share them only if they are yours to share (a private repo keeps them to you)."
)


def _heading(text: str) -> widgets.HTML:
    return widgets.HTML(f'<div class="ht-hint"><b>{render.esc(text)}</b></div>')


HELP = (
    "Help: the preview image, the Hub, the zip, the GGUF",
    "<b>Preview image</b>: the tweets ticked here, drawn as cards into <code>preview.png</code> in the model folder; "
    "a push or a zip takes it along as the model card's picture.",
    "<b>Push to the Hub</b>: the model, its card and its settings go to a repo under your account (a token with write "
    "access: its box empties once read). The cleaned tweets go only if you tick them.",
    "<b>Download the model</b>: a zip of the same files, to load with <code>pipeline(\"text-generation\", model=FOLDER)</code>.",
    "<b>Download for Ollama / llama.cpp</b>: the model as one GGUF file (f16: half the saved size; q8_0: a quarter) "
    "and its Modelfile. Put both in one folder, then <code>ollama create NAME -f NAME.Modelfile</code> and "
    "<code>ollama run NAME \"My dream is\"</code>, or <code>llama-completion -m NAME.gguf -p \"My dream is\"</code>.",
)


class ShareStep(Step):
    """Preview image · Push to the Hub (repo, private, dataset, token) · Download the model (zip, or GGUF)."""

    PARTS = (*Step.PARTS, "picks", "picks_box", "preview_message", "image", "repo", "private", "include_dataset", "replace_repo", "dataset_warning", "token", "push_message", "options", "messages")

    title = "Share the model"
    hint = ("Draw a preview image, then push the model to the Hugging Face Hub, or download it as a zip or as a GGUF for "
            "Ollama / llama.cpp. Checkpoints are never shared.")
    help = HELP

    # --- building -------------------------------------------------------------------------
    def _build(self) -> None:
        self._pusher: Optional[threading.Thread] = None
        self.push_result = None  # the last PushResult

        self._picks: list[tuple[widgets.Checkbox, object]] = []  # (checkbox, GeneratedTweet)
        self._picks_box = widgets.VBox([])
        self.preview_button = widgets.Button(description="Draw the preview image", icon="image", layout=widgets.Layout(width="auto"))
        self._preview_message = widgets.HTML("")
        self._image = widgets.Image(format="png", layout=widgets.Layout(max_width="600px", display="none"))

        self._repo = widgets.Text(description="Repo", placeholder="name, or account/name", style=WIDE, layout=widgets.Layout(width="320px"))
        self._repo.tooltip = "The model's name on the Hub; a name alone goes under the token's account."
        self._private = widgets.Checkbox(description="Private repo", indent=False, layout=widgets.Layout(width="auto"))
        self._include_dataset = widgets.Checkbox(description="Include my cleaned tweets (dataset.json)", indent=False, layout=widgets.Layout(width="auto"))
        self._replace_repo = widgets.Checkbox(description=render.REPLACE_REPO, indent=False, layout=widgets.Layout(width="auto"))
        self._dataset_warning = widgets.HTML("")
        self._token = widgets.Password(
            description="Hugging Face token",
            placeholder="required: yours, with write access" if self._session.workspace is not None
            else f"optional: else {choices().hub_token_name}, the Colab secret or the Hub login",
            style=WIDE, layout=widgets.Layout(width="460px"),
        )
        self._token.tooltip = "A token with write access (huggingface.co/settings/tokens). Used for this push only, then cleared."
        self.push_button = widgets.Button(description="Push to the Hub", icon="cloud-upload", button_style="primary", layout=widgets.Layout(width="auto"))
        self._push_message = widgets.HTML("")

        # One button, its options' widgets and its message per export format (exports.KINDS)
        self.buttons: dict[str, widgets.Button] = {}
        self._options: dict[str, dict[str, widgets.Widget]] = {}
        self._messages: dict[str, widgets.HTML] = {}
        self.written: dict[str, list[Path]] = {}  # format -> the files its last export wrote
        for kind in export_formats():
            self.buttons[kind.name] = widgets.Button(description=kind.button, icon="download", layout=widgets.Layout(width="auto"))
            self._options[kind.name] = {name: _option_widget(option_label(kind.options, name), default, hint, text, choices)
                                        for name, default, hint, text, choices, shown in option_fields(kind.options) if shown}
            self._messages[kind.name] = widgets.HTML("")

    def _layout(self) -> None:
        self.frame([
            _heading(f"Preview image (the model card's picture): tick tweets from {self.ref('generate')}"),
            self._picks_box,
            row(self.preview_button),
            self._preview_message,
            self._image,
            _heading("Push to the Hub"),
            row(self._repo, self._private, self._replace_repo),
            self._include_dataset,
            self._dataset_warning,
            self._token,
            row(self.push_button, self._status),
            self._push_message,
            _heading("Download the model"),
            row(*[w for name, button in self.buttons.items() for w in (button, *self._options[name].values())]),
            *self._messages.values(),
        ])

    def _wire(self) -> None:
        self.preview_button.on_click(self._on_preview)
        self.push_button.on_click(self._on_push)
        for name, button in self.buttons.items():
            button.on_click(lambda _, name=name: self._on_export(name))
        self._include_dataset.observe(self._on_include_dataset, names="value")
        self._session.observe(self._on_folder, names=["folder", "trained"])
        self._session.observe(self._on_tweets, names="tweets")
        self._session.observe(self._on_words, names="dataset")
        self._on_folder()
        self._on_tweets()

    def _on_words(self, _=None) -> None:
        """The authors' network's words in the dataset box."""
        self._include_dataset.description = f"Include my cleaned {words_of(self._session.dataset).posts} (dataset.json)"

    # --- callbacks: state -------------------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        self.preview_button.disabled = busy
        for button in self.buttons.values():
            button.disabled = busy
        self.push_button.disabled = busy or self.pushing

    def _on_folder(self, _=None) -> None:
        """Another model: its name is the default repo; earlier results no longer apply."""
        name = Path(self._session.folder).name if self._session.folder else ""
        self._repo.placeholder = name or "name, or account/name"
        self._preview_message.value = self._push_message.value = ""
        for message in self._messages.values():
            message.value = ""
        self._image.value, self._image.layout.display = b"", "none"

    def _on_tweets(self, _=None) -> None:
        """One checkbox per tweet of step 3, newest first; earlier choices are kept."""
        before = {id(tweet): box.value for box, tweet in self._picks}
        tweets = list(self._session.tweets)[:MAX_PICKS]
        self._picks = []
        for i, tweet in enumerate(tweets):
            text = tweet.text if len(tweet.text) <= LABEL_CHARS else tweet.text[: LABEL_CHARS - 1] + "…"
            label = f"{text}  ⚠ near copy of a training tweet" if tweet.near_copy else text
            box = widgets.Checkbox(value=before.get(id(tweet), i < PICKED and not tweet.near_copy), description=label, indent=False, layout=widgets.Layout(width="auto"))
            self._picks.append((box, tweet))
        self._picks_box.children = [box for box, _ in self._picks] or [widgets.Label(f"Write tweets in {self.ref('generate')} to choose some here.").add_class("ht-line")]

    def _on_include_dataset(self, change) -> None:
        self._dataset_warning.value = render.message("warning", DATASET_WARNING) if change["new"] else ""

    def _model_folder(self) -> Path:
        if self._session.busy:
            raise HuggingTweetsError(f"Training is running: wait for it to finish, or press Stop in {self.ref('train')}.")
        folder = ModelFolder(self._session.folder or self._session.root)
        space = self._session.workspace
        if not self._session.folder or (space is not None and not space.holds(folder.path)) or not folder.has_model():
            raise HuggingTweetsError(f"Train a model in {self.ref('train')} first.")
        return folder.path

    @staticmethod
    def _stopped(folder: Path) -> str:
        """A warning when the model is a run stopped before its end, named before it is used."""
        line = ModelFolder(folder).stopped_line()
        return render.message("warning", line) if line else ""

    # --- callbacks: preview ----------------------------------------------------------------
    def picked(self) -> list:
        return [tweet for box, tweet in self._picks if box.value]

    def _on_preview(self, _=None) -> None:
        self._preview_message.value = ""
        self.attempt("The preview failed", self._preview, self._preview_message)

    def _preview(self) -> None:
        folder = self._model_folder()
        tweets = self.picked()
        if not tweets:
            raise HuggingTweetsError(f"Tick at least one tweet (write some in {self.ref('generate')} first).")
        authors = self._authors(folder)
        path = render_preview(tweets, authors, folder)
        self._image.value, self._image.layout.display = path.read_bytes(), ""
        saved = f"Saved {path.name} in the model folder: a push or a zip includes it as the card's picture."
        self._preview_message.value = render.messages([("success", saved)] + [("warning", n) for n in preview_notes(tweets, authors)])

    def _authors(self, folder: Path) -> list:
        try:
            return folder_authors(folder)
        except HuggingTweetsError:  # no dataset.json beside the model: the accounts downloaded
            dataset = self._session.dataset
            return [a.author for a in dataset.authors] if dataset is not None else []

    # --- callbacks: push ---------------------------------------------------------------------
    @property
    def pushing(self) -> bool:
        return self._pusher is not None and self._pusher.is_alive()

    def _on_push(self, _=None) -> None:
        if self.pushing:
            return
        token = self._token.value.strip() or None
        self._token.value = ""  # used for this push only
        self._push_message.value = ""
        try:
            if token is None and self._session.workspace is not None:
                raise HuggingTweetsError("Type your Hugging Face token (with write access): on a shared server, "
                                         "this server's own token is never used for a visitor's push.")
            folder = self._model_folder()
        except HuggingTweetsError as err:
            self.fail(str(err), self._push_message)
            return
        repo = self._repo.value.strip() or folder.name
        self.push_button.disabled, self.push_button.button_style = True, ""
        self._status.value = f"Uploading to {repo}…"
        self._pusher = threading.Thread(
            target=self._push, args=(folder, repo, self._private.value, self._include_dataset.value, token, self._replace_repo.value),
            name="huggingtweets-push", daemon=True,
        )
        self._pusher.start()

    def _push(self, folder: Path, repo: str, private: bool, include_dataset: bool, token: Optional[str], overwrite: bool = False) -> None:
        def push() -> None:
            result = push_to_hub(folder, repo, private=private, include_dataset=include_dataset, token=token, overwrite=overwrite)
            self.push_result = result
            visibility = "private " if private else ""
            removed = f" Removed {', '.join(result.removed)}, which an earlier push sent." if result.removed else ""
            pushed = render.message("success", f"Pushed {len(result.files)} files to the {visibility}repo {result.repo_id}.{removed}")
            self._push_message.value = self._stopped(folder) + pushed + link(result.url, result.url)

        try:
            worked = self.attempt("The push failed", push, self._push_message, secret=token or "")
            self.push_button.button_style = "success" if worked else "danger"
        finally:
            self._status.value = ""
            self.push_button.disabled = self._session.busy

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Until the push (if any) is over; True when it is."""
        if self._pusher is not None:
            self._pusher.join(timeout)
        return not self.pushing

    # --- callbacks: downloads (one per export format) ------------------------------------------
    def _on_export(self, name: str) -> None:
        kind = next(k for k in export_formats() if k.name == name)

        def write(folder: Path, downloads: Path) -> str:
            options = kind.options(**{k: w.value for k, w in self._options[name].items()})
            downloads.mkdir(parents=True, exist_ok=True)
            # slug: a folder's name may hold spaces or quotes, which a GGUF's Modelfile FROM line cannot carry
            result = export(folder, name, downloads / f"{slug(folder.name)}{kind.suffix}", options, overwrite=True)  # ours: written again each time
            self.written[name] = [path for path, _ in result.files]
            return "".join(hand_over(path, what) for path, what in result.files)

        self._download(self.buttons[name], self._messages[name], kind.failed, write)

    def _download(self, button: widgets.Button, message: widgets.HTML, failed: str, write) -> None:
        """Write a file for the browser into the downloads folder and hand it over; the button is
        off meanwhile (a second click would write the same file)."""
        def run() -> None:
            folder = self._model_folder()
            self._session.check_room("exporting")
            message.value = self._stopped(folder) + write(folder, Path(self._session.downloads))

        message.value = ""
        button.disabled = True
        self.attempt(failed, run, message)
        button.disabled = self._session.busy


def _option_widget(label: str, default, hint: type, text: str, choices: tuple) -> widgets.Widget:
    """An export option's widget: a tick for a yes/no, a list for choices, a box otherwise."""
    if hint is bool:
        box = widgets.Checkbox(value=default, description=label, indent=False, layout=widgets.Layout(width="auto"))
    elif choices:
        box = widgets.Dropdown(options=list(choices), value=default, description=label, layout=widgets.Layout(width="160px"))
    elif hint is int:
        box = widgets.IntText(value=default, description=label, layout=widgets.Layout(width="160px"))
    else:
        box = widgets.Text(value=str(default), description=label, layout=widgets.Layout(width="200px"))
    box.tooltip = text
    return box
