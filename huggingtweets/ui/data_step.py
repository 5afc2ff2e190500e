"""Step 1: choose whose tweets, download them, and show what will be trained on.

Up to three handles of any registered network, an archive, an export or a text file (``FilesBox``: uploaded in
pieces to disk, or a path on the kernel's machine, or Colab's upload and Drive),
or the bundled sample. The click handler calls the workflow's ``fetch`` and
``prepare`` and shows the counts table of the model card; the dataset and
the authors' pictures go to the shared session. A file that names no account
(a text file, an archive without account.js) is the author the "Author handle" box
names, else its file name: the library's note under the table says which it was.
"""

from __future__ import annotations

from typing import Optional

import ipywidgets as widgets

from ..errors import HuggingTweetsError
from ..workflow import (FetchOptions, choices, NoToken, avatar_url, check_enough, fetch, prepare, source_kinds, token_for,
                        words_of, words_of_typed)
from . import render
from .avatars import to_data_uri
from .files_box import AUTHOR_BOX, FilesBox
from .render import esc
from .step import Step, row

EXAMPLES_PER_AUTHOR = 3
WIDE = {"description_width": "initial"}
SAMPLE_BOX = "Use the sample archive (a fictional account)"


def _help() -> tuple[str, ...]:
    """The help box, one paragraph per kind of source, from the registry (trusted HTML: ours)."""
    def para(k) -> str:
        needs = f" Needs a token ({esc(k.token.label)}): it is never printed or saved, and its box empties once Download has read it." if k.token else " No account or key needed."
        limits = render.in_app(k.limits)
        limits = f" {esc(limits[:1].upper() + limits[1:])}." if limits else ""
        return f"<b>{esc(k.label)}</b>: {esc(k.takes)}.{needs}{limits}"

    handles = [para(k) for k in source_kinds() if k.match_text]
    files = [para(k) for k in source_kinds() if k.match_path]
    return (
        "Up to three authors, each a handle or a file; the posts of all of them train one model. "
        "Downloads are cached as they arrive (<code>~/.cache/huggingtweets/</code>): nothing is asked for twice, "
        "an interrupted download carries on, and a second download asks only for newer posts.",
        *handles,
        "Files are recognised by their content, whatever their name. <i>Upload</i> sends one from your computer in "
        "pieces, whatever its size; a file already on the machine that runs this app needs only its path "
        "(in Colab, a big archive is quickest from Google Drive). Only posts are read, never media. "
        f"A file that names no account is the author typed in <i>{esc(AUTHOR_BOX)}</i>, else its file name.",
        *files,
        "<b>The table</b> counts the posts downloaded, the reposts and short posts set aside, and the posts kept "
        "for training; a few kept posts are shown below it. Email addresses and phone numbers in the posts become "
        "[email] and [phone] before training, so a model you publish cannot repeat them; tick <i>Keep emails and phone "
        "numbers</i> only for your own archive and a model you keep to yourself.",
    )


def _handle_kinds() -> str:
    return ", ".join(f"{k.label.split()[0]} ({k.example})" for k in source_kinds() if k.match_text)


class DataStep(Step):
    """Handles / uploads / sample → ``Download tweets`` → counts table and example tweets."""

    PARTS = (*Step.PARTS, "handles", "sample", "no_retweets", "no_replies", "keep_contacts", "token", "table", "examples")

    title = "Download tweets"

    # --- building -------------------------------------------------------------------------
    def _build(self) -> None:
        # from the registry of sources, as it is when the step is built
        self.hint = (f"Type up to three handles: {_handle_kinds()}; or give an archive, an export or a text file, "
                     "or use the sample; then press Download.")
        self.help = ("Help: which handles need no key, archives and exports of any size, the table", *_help())
        self._handles = [
            widgets.Text(description=label, placeholder=example, style=WIDE, layout=widgets.Layout(width="250px"))
            for label, example in zip(("Author", "2nd (optional)", "3rd (optional)"),
                                      [k.example for k in source_kinds() if k.match_text and k.example] * 3)
        ]
        self.files = FilesBox(self._session)
        self._sample = widgets.Checkbox(value=bool(self._session.demo), description=SAMPLE_BOX, indent=False, layout=widgets.Layout(width="auto"))
        self._no_retweets = widgets.Checkbox(description="Exclude retweets", indent=False, layout=widgets.Layout(width="auto"))
        self._no_replies = widgets.Checkbox(description="Exclude replies", indent=False, layout=widgets.Layout(width="auto"))
        self._keep_contacts = widgets.Checkbox(description="Keep emails and phone numbers", indent=False,
                                               tooltip=choices().keep_contacts_help, layout=widgets.Layout(width="auto"))
        # Shown only while a typed handle needs a token (``_on_handles``); its value is cleared once read.
        self._token = widgets.Password(style=WIDE, layout=widgets.Layout(width="460px", display="none"))
        self.button = widgets.Button(description="Download tweets", icon="download", button_style="primary")
        self._table = widgets.HTML("")
        self._examples = widgets.HTML("")

    def _layout(self) -> None:
        self.frame([
            row(*self._handles),
            self.files,
            row(self._sample, self._no_retweets, self._no_replies, self._keep_contacts),
            self._token,
            row(self.button, self._progress, self._status),
        ], [self._table, self._examples])

    def _wire(self) -> None:
        self.button.on_click(self._on_download)
        for box in self._handles:
            box.observe(self._on_handles, names="value")

    # --- callbacks --------------------------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        self.button.disabled = busy
        self.files.set_disabled(busy)

    def _on_handles(self, _=None) -> None:
        """The typed handles' network's words on the button and the reposts box; the token box
        only while a typed handle's source needs one, labelled for it."""
        words = words_of_typed(h.value for h in self._handles)
        self.button.description = f"Download {words.posts}"
        self.retitle(self.button.description)
        self._no_retweets.description = f"Exclude {words.reposts}"
        needed = next((t for t in (token_for(h.value) for h in self._handles if h.value.strip()) if t), None)
        if needed is None:
            self._token.layout.display = "none"
            return
        self._token.description = needed.label
        if self._session.workspace is not None:  # a visitor: the server's own token is never theirs
            self._token.placeholder = "your own (this server's is not used for visitors)"
        else:
            self._token.placeholder = "optional: else " + " or ".join(needed.env[:1] + ("a Colab secret",))
        self._token.layout.display = None

    def _specs(self) -> list[str]:
        return [self.files.spec(h.value) for h in self._handles if h.value.strip()] + self.files.paths()

    def _on_download(self, _=None) -> None:
        self.button.disabled, self.button.button_style = True, ""
        self._message.value = self._table.value = self._examples.value = self.files.message.value = ""
        self.reset_progress("Starting…", visible=True)
        token = self._token.value.strip()
        self._token.value = ""  # read once, before any request: a notebook saved with its widget state never holds it
        self._session.dataset = None  # a failed download must not leave an older dataset behind
        if self.attempt("Download failed", lambda: self._download(token or None), secret=token):
            self.button.button_style = "success"
        else:
            self._progress.bar_style, self._status.value = "danger", ""
        self.button.disabled = self._session.busy

    def _download(self, token: Optional[str]) -> None:
        specs = self._specs()
        if not specs and not self._sample.value:
            raise HuggingTweetsError(f"Nothing to download: type a handle, upload an archive, an export or a text file (or type its path), or tick '{SAMPLE_BOX}'.")
        self._session.check_room("downloading more")
        author = self.files.author.value.strip().lstrip("@") or None
        options = FetchOptions(
            exclude_retweets=self._no_retweets.value,
            exclude_replies=self._no_replies.value,
            cache_dir=self._session.cache_dir,
            bearer_token=token,
            author=author,
        )
        try:
            raw = fetch(specs, options, sample=self._sample.value, progress=self.show_progress)
        except NoToken as err:  # the library's words name an environment variable; here there is a box for it
            raise HuggingTweetsError(f"No {err.token.label}: {err.token.help}") from None
        dataset = prepare(raw, require_enough=False, keep_contacts=self._keep_contacts.value)
        pictures = self._pictures(raw)
        self._table.value = render.data_table(dataset.stats, pictures)
        self._examples.value = render.example_tweets([(a.author.name, a.train + a.valid) for a in dataset.authors], EXAMPLES_PER_AUTHOR)
        guessed = [render.in_app(w) for w in dataset.warnings]  # a handle taken from a file name: which box changes it
        dataset.warnings = dataset.warnings + check_enough(dataset.stats)  # raises NotEnoughTweets: the table still shows why
        self._session.avatars = pictures
        self._session.dataset = dataset
        self._progress.bar_style, self._progress.value = "success", self._progress.max
        words = words_of(dataset)
        self.button.description = f"Download {words.posts}"
        self.retitle(self.button.description)
        self._status.value = f"{sum(s.kept for s in dataset.stats):,} {words.posts} kept from {len(dataset.authors)} author(s)"
        kept = render.message("success", f"Ready: {', '.join('@' + h for h in dataset.handles)}. Go on to {self.ref('train')}.")
        few = [render.in_app(w) for w in dataset.warnings[len(guessed):]]
        self._message.value = kept + render.messages([("info", n) for n in guessed] + [("warning", w) for w in few])

    @staticmethod
    def _pictures(raw: list) -> dict:
        """Lower-case handle -> picture: the source's own copy (an archive's avatar), else the
        URL the source gave, only from the author's own network (no request elsewhere)."""
        pictures = {}
        for at in raw:
            picture = to_data_uri(at.picture) or avatar_url(at.author)
            if picture:
                pictures[at.author.handle.lower()] = picture
        return pictures
