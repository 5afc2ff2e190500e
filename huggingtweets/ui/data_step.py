"""Step 1: choose whose tweets, download them, and show what will be trained on.

Up to three X handles, uploaded archives or text files (written to disk as soon
as they arrive, then read from there like any path), or the bundled sample.
The click handler calls ``load_sources`` and ``build_dataset`` and shows the
counts table of the model card; the dataset goes to the shared session.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import ipywidgets as widgets

from ..cleaning import check_enough
from ..dataset import build_dataset, load_sources
from ..errors import HuggingTweetsError
from ..sources import FetchOptions
from . import render
from .style import style_widget

ACCEPT = ".zip,.js,.txt,.csv,.jsonl"
UPLOADS = "uploads"
EXAMPLES_PER_AUTHOR = 3
WIDE = {"description_width": "initial"}


def safe_name(name: str) -> str:
    """A file name that stays inside the uploads folder: no folders, no odd characters."""
    name = Path(str(name).replace("\\", "/")).name
    name = re.sub(r"[^\w.\-]+", "_", name).lstrip(".")
    return name or "upload"


class DataStep(widgets.VBox):
    """Handles / uploads / sample → ``Download tweets`` → counts table and example tweets."""

    def __init__(self, session, **kwargs):
        super().__init__(**kwargs)
        self._session = session
        self._uploads: list[Path] = []  # files written to disk, passed to load_sources as paths

        self._handles = [
            widgets.Text(description=label, placeholder="@handle", style=WIDE, layout=widgets.Layout(width="230px"))
            for label in ("Author", "2nd (optional)", "3rd (optional)")
        ]
        self._upload = widgets.FileUpload(accept=ACCEPT, multiple=True, description="Upload archive or file", layout=widgets.Layout(width="auto"))
        self._upload.tooltip = "An X archive (.zip or tweets.js) or a .txt (one tweet per line), .csv or .jsonl file"
        self._uploaded = widgets.Label("")
        self._forget = widgets.Button(description="Forget uploads", layout=widgets.Layout(width="auto", display="none"))
        self._sample = widgets.Checkbox(value=session.demo, description="Use the sample archive (a fictional account)", indent=False, layout=widgets.Layout(width="auto"))
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
            widgets.HTML(render.step_title(1, "Download tweets", "Type up to three X handles, upload an X archive or a text file, or use the sample.")),
            widgets.HBox(self._handles, layout=row),
            widgets.HBox([self._upload, self._uploaded, self._forget], layout=row),
            widgets.HBox([self._sample, self._no_retweets, self._no_replies], layout=row),
            self._token,
            widgets.HBox([self.button, self._progress, self._status], layout=row),
            self._message,
            self._table,
            self._examples,
        ]

    def _wire(self) -> None:
        self.button.on_click(self._on_download)
        self._upload.observe(self._on_upload, names="value")
        self._forget.on_click(self._on_forget)
        self._session.observe(self._on_busy, names="busy")

    # --- callbacks --------------------------------------------------------------------------
    def _on_busy(self, change) -> None:
        self.button.disabled = change["new"]

    def _on_upload(self, change) -> None:
        """Write each uploaded file to ROOT/uploads/NAME before anything reads it."""
        files = change["new"] or ()
        if not files:
            return
        folder = Path(self._session.root) / UPLOADS
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for f in files:
                path = folder / safe_name(f["name"])
                path.write_bytes(bytes(f["content"]))
                self._uploads = [p for p in self._uploads if p != path] + [path]
        except OSError as err:
            self._message.value = render.message("error", f"Could not save the upload to {folder}: {err.strerror or err}.")
            return
        self._upload.value = ()  # the bytes are on disk now: free the kernel's copy
        self._show_uploads()

    def _on_forget(self, _=None) -> None:
        self._uploads = []
        self._show_uploads()

    def _show_uploads(self) -> None:
        self._uploaded.value = "Uploaded: " + ", ".join(p.name for p in self._uploads) if self._uploads else ""
        self._forget.layout.display = None if self._uploads else "none"

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
        return [h.value.strip() for h in self._handles if h.value.strip()] + [str(p) for p in self._uploads]

    def _on_download(self, _=None) -> None:
        self.button.disabled, self.button.button_style = True, ""
        self._message.value = self._table.value = self._examples.value = ""
        self._progress.value, self._progress.bar_style, self._status.value = 0, "", "Starting…"
        token = self._token.value.strip()
        try:
            self._download(token or None)
        except Exception as err:  # a HuggingTweetsError is one line for the user; anything else, its first line
            text = str(err) if isinstance(err, HuggingTweetsError) else f"Download failed ({type(err).__name__}): {render.first_line(err)}"
            self._fail(text.replace(token, "***") if token else text)
        finally:
            self.button.disabled = self._session.busy

    def _download(self, token: Optional[str]) -> None:
        self._session.dataset = None  # a failed download must not leave an older dataset behind
        specs = self._specs()
        if not specs and not self._sample.value:
            raise HuggingTweetsError("Nothing to download: type an X handle, upload an archive or a text file, or tick 'Use the sample archive'.")
        options = FetchOptions(
            exclude_retweets=self._no_retweets.value,
            exclude_replies=self._no_replies.value,
            cache_dir=self._session.cache_dir,
            bearer_token=token,
        )
        raw = load_sources(specs, options, sample=self._sample.value, progress=self._on_progress)
        dataset = build_dataset(raw, require_enough=False)
        self._table.value = render.data_table(dataset.stats)
        self._examples.value = render.example_tweets([(a.author.name, a.train + a.valid) for a in dataset.authors], EXAMPLES_PER_AUTHOR)
        dataset.warnings = check_enough(dataset.stats)  # raises NotEnoughTweets: the table still shows why
        self._session.raw = raw
        self._session.dataset = dataset
        self._progress.bar_style, self._progress.value = "success", self._progress.max
        self._status.value = f"{sum(s.kept for s in dataset.stats):,} tweets kept from {len(dataset.authors)} author(s)"
        kept = render.message("success", f"Ready: {', '.join('@' + h for h in dataset.handles)}. Go on to step 2.")
        self._message.value = kept + render.messages(("warning", w) for w in dataset.warnings)
        self.button.button_style = "success"

    def _fail(self, text: str) -> None:
        self._message.value = render.message("error", text)
        self._progress.bar_style = "danger"
        self._status.value = ""
        self.button.button_style = "danger"
