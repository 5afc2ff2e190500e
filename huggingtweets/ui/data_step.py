"""Step 1: choose whose tweets, download them, and show what will be trained on.

Up to three handles of any registered network, an archive, an export or a text file (``FilesBox``: uploaded in
pieces to disk, or a path on the kernel's machine, or Colab's upload and Drive),
or the bundled sample. The click handler calls ``load_sources`` and
``build_dataset`` and shows the counts table of the model card; the dataset and
the authors' pictures go to the shared session.
"""

from __future__ import annotations

from typing import Optional

import ipywidgets as widgets

from ..cleaning import check_enough
from ..dataset import build_dataset, load_sources
from ..errors import HuggingTweetsError, is_failure
from ..sources import FetchOptions, NoToken, avatar_url, kinds, token_for
from . import render
from .render import esc
from .avatars import archive_avatar
from .files_box import FilesBox
from .style import style_widget

EXAMPLES_PER_AUTHOR = 3
WIDE = {"description_width": "initial"}


def _help() -> tuple[str, ...]:
    """The help box, one paragraph per kind of source, from the registry (trusted HTML: ours)."""
    def para(k) -> str:
        needs = f" Needs a token ({esc(k.token.label)}): it is never printed or saved, and its box empties once Download has read it." if k.token else " No account or key needed."
        limits = f" {esc(k.limits[:1].upper() + k.limits[1:])}." if k.limits else ""
        return f"<b>{esc(k.label)}</b>: {esc(k.takes)}.{needs}{limits}"

    handles = [para(k) for k in kinds() if k.match_text]
    files = [para(k) for k in kinds() if k.match_path]
    return (
        "Up to three authors, each a handle or a file; the posts of all of them train one model. "
        "Downloads are cached as they arrive (<code>~/.cache/huggingtweets/</code>): nothing is asked for twice, "
        "an interrupted download carries on, and a second download asks only for newer posts.",
        *handles,
        "Files are recognised by their content, whatever their name. <i>Upload</i> sends one from your computer in "
        "pieces, whatever its size; a file already on the machine that runs this app needs only its path "
        "(in Colab, a big archive is quickest from Google Drive). Only posts are read, never media.",
        *files,
        "<b>The table</b> counts the posts downloaded, the reposts and short posts set aside, and the posts kept "
        "for training; a few kept posts are shown below it.",
    )


def _handle_kinds() -> str:
    return ", ".join(f"{k.label.split()[0]} ({k.example})" for k in kinds() if k.match_text)


class DataStep(widgets.VBox):
    """Handles / uploads / sample → ``Download tweets`` → counts table and example tweets."""

    def __init__(self, session, **kwargs):
        super().__init__(**kwargs)
        self._session = session

        self._handles = [
            widgets.Text(description=label, placeholder=example, style=WIDE, layout=widgets.Layout(width="250px"))
            for label, example in zip(("Author", "2nd (optional)", "3rd (optional)"),
                                      [k.example for k in kinds() if k.match_text and k.example] * 3)
        ]
        self.files = FilesBox(session)
        self._sample = widgets.Checkbox(value=bool(session.demo), description="Use the sample archive (a fictional account)", indent=False, layout=widgets.Layout(width="auto"))
        self._no_retweets = widgets.Checkbox(description="Exclude retweets", indent=False, layout=widgets.Layout(width="auto"))
        self._no_replies = widgets.Checkbox(description="Exclude replies", indent=False, layout=widgets.Layout(width="auto"))
        # Shown only while a typed handle needs a token (``_on_handles``); its value is cleared once read.
        self._token = widgets.Password(style=WIDE, layout=widgets.Layout(width="460px", display="none"))
        self.button = widgets.Button(description="Download tweets", icon="download", button_style="primary")
        self._progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="260px", visibility="hidden"))
        self._status = widgets.Label("")
        self._message = widgets.HTML("")
        self._table = widgets.HTML("")
        self._examples = widgets.HTML("")
        self._layout()
        self._wire()

    # --- building -------------------------------------------------------------------------
    def _layout(self) -> None:
        row = widgets.Layout(flex_flow="row wrap", align_items="center", grid_gap="4px 8px")
        self.children = [
            style_widget(),
            widgets.HTML(render.step_title(1, "Download tweets", f"Type up to three handles: {_handle_kinds()}; or give an archive, an export or a text file, or use the sample; then press Download tweets.")),
            widgets.HTML(render.help_box("Help: which handles need no key, archives and exports of any size, the table", _help())),
            widgets.HBox(self._handles, layout=row),
            self.files,
            widgets.HBox([self._sample, self._no_retweets, self._no_replies], layout=row),
            self._token,
            widgets.HBox([self.button, self._progress, self._status], layout=row),
            self._message,
            self._table,
            self._examples,
        ]

    def _wire(self) -> None:
        self.button.on_click(self._on_download)
        for box in self._handles:
            box.observe(self._on_handles, names="value")
        self._session.observe(self._on_busy, names="busy")

    # --- callbacks --------------------------------------------------------------------------
    def _on_busy(self, change) -> None:
        self.button.disabled = change["new"]
        self.files.set_disabled(change["new"])

    def _on_handles(self, _=None) -> None:
        """Show the token box only while a typed handle's source needs one, labelled for it."""
        needed = next((t for t in (token_for(h.value) for h in self._handles if h.value.strip()) if t), None)
        if needed is None:
            self._token.layout.display = "none"
            return
        self._token.description = needed.label
        self._token.placeholder = "optional: else " + " or ".join(needed.env[:1] + ("a Colab secret",))
        self._token.layout.display = None

    def _on_progress(self, done: int, total: Optional[int], message: str = "") -> None:
        """The library's ``progress(done, total, message)``: move the bar as pages arrive."""
        self._progress.layout.visibility = "visible"
        if total:
            self._progress.max = max(total, 1)
            self._progress.value = min(done, total)
        else:  # total unknown (a timeline without a post count): the bar fills as a rough guide
            self._progress.max = max(self._progress.max, done + 1)
            self._progress.value = done
        self._status.value = message or f"{done} tweets"

    def _specs(self) -> list[str]:
        return [h.value.strip() for h in self._handles if h.value.strip()] + self.files.paths()

    def _on_download(self, _=None) -> None:
        self.button.disabled, self.button.button_style = True, ""
        self._message.value = self._table.value = self._examples.value = self.files.message.value = ""
        self._progress.value, self._progress.bar_style, self._status.value = 0, "", "Starting…"
        token = self._token.value.strip()
        self._token.value = ""  # read once, before any request: a notebook saved with its widget state never holds it
        try:
            self._download(token or None)
        except NoToken as err:  # the library's words name an environment variable; here there is a box for it
            self._fail(f"No {err.token.label}: {err.token.help}")
        except BaseException as err:  # a library's panic too (pyo3's is no Exception)
            if not (isinstance(err, Exception) or is_failure(err)):
                raise  # a HuggingTweetsError is one line for the user; anything else, its first line
            text = render.error_text(err, "Download failed")
            self._fail(text.replace(token, "***") if token else text)
        finally:
            self.button.disabled = self._session.busy

    def _download(self, token: Optional[str]) -> None:
        self._session.dataset = None  # a failed download must not leave an older dataset behind
        specs = self._specs()
        if not specs and not self._sample.value:
            raise HuggingTweetsError("Nothing to download: type a handle, upload an archive, an export or a text file (or type its path), or tick 'Use the sample archive'.")
        options = FetchOptions(
            exclude_retweets=self._no_retweets.value,
            exclude_replies=self._no_replies.value,
            cache_dir=self._session.cache_dir,
            bearer_token=token,
        )
        raw = load_sources(specs, options, sample=self._sample.value, progress=self._on_progress)
        dataset = build_dataset(raw, require_enough=False)
        pictures = self._pictures(([None] if self._sample.value else []) + specs, raw)
        self._table.value = render.data_table(dataset.stats, pictures)
        self._examples.value = render.example_tweets([(a.author.name, a.train + a.valid) for a in dataset.authors], EXAMPLES_PER_AUTHOR)
        dataset.warnings = check_enough(dataset.stats)  # raises NotEnoughTweets: the table still shows why
        self._session.raw = raw
        self._session.avatars = pictures
        self._session.dataset = dataset
        self._progress.bar_style, self._progress.value = "success", self._progress.max
        self._status.value = f"{sum(s.kept for s in dataset.stats):,} tweets kept from {len(dataset.authors)} author(s)"
        kept = render.message("success", f"Ready: {', '.join('@' + h for h in dataset.handles)}. Go on to step 2.")
        self._message.value = kept + render.messages(("warning", w) for w in dataset.warnings)
        self.button.button_style = "success"

    @staticmethod
    def _pictures(specs: list, raw: list) -> dict:
        """Lower-case handle -> picture: an archive's own avatar file, else the URL the source gave."""
        pictures = {}
        for spec, at in zip(specs, raw):
            author = at.author
            local = archive_avatar(spec, author.avatar_url) if spec and author.source == "archive" else ""
            remote = avatar_url(author)  # only from the author's own network: no request elsewhere
            if local or remote:
                pictures[author.handle.lower()] = local or remote
        return pictures

    def _fail(self, text: str) -> None:
        self._message.value = render.message("error", text)
        self._progress.bar_style = "danger"
        self._status.value = ""
        self.button.button_style = "danger"
