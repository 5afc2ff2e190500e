"""Step 1: choose whose tweets, download them, and show what will be trained on.

Up to three X handles, an X archive or a text file (``FilesBox``: uploaded in
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
from ..errors import HuggingTweetsError
from ..sources import FetchOptions
from ..sources.x_api import SECRET_NAME, NoToken
from . import render
from .avatars import archive_avatar
from .files_box import FilesBox
from .style import style_widget

EXAMPLES_PER_AUTHOR = 3
WIDE = {"description_width": "initial"}
NO_TOKEN = (
    "No X API token: paste your bearer token into the 'X bearer token' box above, or add a Colab secret "
    f"named {SECRET_NAME} (with notebook access); or upload the account's X archive instead."
)


HELP = (
    "<b>X handles</b> (with or without <code>@</code>; the tweets of all of them train one model) need an X API bearer token: "
    "paste it into <i>X bearer token</i>, or set <code>X_BEARER_TOKEN</code> (in Colab: a secret of that name, under the key icon). "
    "It is never printed or saved. X bills per post read, so every page is cached as it arrives "
    "(<code>~/.cache/huggingtweets/</code>): nothing is asked for twice, and an interrupted download carries on.",
    "<b>Your X archive</b> costs nothing: on X, <i>Settings → Your account → Download an archive of your data</i>. "
    "Give the .zip as it comes, whatever its size: only its tweets files and your avatar are read, never the other media. "
    "<i>Upload</i> sends it from your computer in pieces; a file already on the machine that runs this app needs only its path "
    "(in Colab, a big archive is quickest from Google Drive). Text files work too: .txt (one tweet per line), .csv (a <code>text</code> column) or .jsonl (a <code>text</code> field).",
    "<b>The table</b> counts the tweets downloaded, the retweets and short tweets set aside, and the tweets kept for training; "
    "a few kept tweets are shown below it.",
)


class DataStep(widgets.VBox):
    """Handles / uploads / sample → ``Download tweets`` → counts table and example tweets."""

    def __init__(self, session, **kwargs):
        super().__init__(**kwargs)
        self._session = session

        self._handles = [
            widgets.Text(description=label, placeholder="@handle", style=WIDE, layout=widgets.Layout(width="230px"))
            for label in ("Author", "2nd (optional)", "3rd (optional)")
        ]
        self.files = FilesBox(session)
        self._sample = widgets.Checkbox(value=bool(session.demo), description="Use the sample archive (a fictional account)", indent=False, layout=widgets.Layout(width="auto"))
        self._no_retweets = widgets.Checkbox(description="Exclude retweets", indent=False, layout=widgets.Layout(width="auto"))
        self._no_replies = widgets.Checkbox(description="Exclude replies", indent=False, layout=widgets.Layout(width="auto"))
        self._token = widgets.Password(
            description="X bearer token", placeholder="optional: else X_BEARER_TOKEN or the Colab secret", style=WIDE, layout=widgets.Layout(width="460px")
        )
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
            widgets.HTML(render.step_title(1, "Download tweets", "Type up to three X handles, give an X archive or a text file, or use the sample; then press Download tweets.")),
            widgets.HTML(render.help_box("Help: handles and the X API, archives of any size, the table", HELP)),
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
        self._session.observe(self._on_busy, names="busy")

    # --- callbacks --------------------------------------------------------------------------
    def _on_busy(self, change) -> None:
        self.button.disabled = change["new"]
        self.files.set_disabled(change["new"])

    def _on_progress(self, done: int, total: Optional[int], message: str = "") -> None:
        """The library's ``progress(done, total, message)``: move the bar as pages arrive."""
        self._progress.layout.visibility = "visible"
        if total:
            self._progress.max = max(total, 1)
            self._progress.value = min(done, total)
        else:  # total unknown (an X timeline): the bar fills as a rough guide
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
        try:
            self._download(token or None)
        except NoToken:  # the library's words name an environment variable; here there is a box for it
            self._fail(NO_TOKEN)
        except Exception as err:  # a HuggingTweetsError is one line for the user; anything else, its first line
            text = render.error_text(err, "Download failed")
            self._fail(text.replace(token, "***") if token else text)
        finally:
            self.button.disabled = self._session.busy

    def _download(self, token: Optional[str]) -> None:
        self._session.dataset = None  # a failed download must not leave an older dataset behind
        specs = self._specs()
        if not specs and not self._sample.value:
            raise HuggingTweetsError("Nothing to download: type an X handle, upload an archive or a text file (or type its path), or tick 'Use the sample archive'.")
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
            if local or author.avatar_url:
                pictures[author.handle.lower()] = local or author.avatar_url
        return pictures

    def _fail(self, text: str) -> None:
        self._message.value = render.message("error", text)
        self._progress.bar_style = "danger"
        self._status.value = ""
        self.button.button_style = "danger"
