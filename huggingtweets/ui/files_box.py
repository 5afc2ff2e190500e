"""Step 1's files: an archive, an export or a text file, of any size, by upload or by path.

Every route ends with a file on the disk of the machine that runs the kernel,
handed to the readers as a path (they read only the tweets files, never media):

- Jupyter and Voilà: ``ChunkedUpload`` (the browser sends the file in pieces,
  so a 100 MB or 2 GB archive arrives like a small one), or the path of a
  file already on that machine.
- Colab: Colab's own uploader (``google.colab.files.upload``, which writes the
  files to disk), or a path in Google Drive once it is mounted (the fast route
  for big archives).

Each route fails with one line that says what to do instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import ipywidgets as widgets

from ..errors import HuggingTweetsError
from ..workflow import source_kinds
from . import render
from .step import Parts
from .upload import ChunkedUpload, keep, safe_name

ACCEPT = ".zip,.js,.json,.car,.txt,.csv,.jsonl"
UPLOADS = "uploads"
DRIVE = "/content/drive"
WIDE = {"description_width": "initial"}
FILE_KINDS = "; ".join(f"{k.label}: {k.takes}" for k in source_kinds() if k.match_path)
AUTHOR_BOX = "Author handle (for a file without one)"


class FilesBox(Parts, widgets.VBox):
    """Upload (or Colab's upload and Drive) + a path box; ``paths()`` is what step 1 reads."""

    PARTS = ("listed", "forget")

    def __init__(self, session, **kwargs):
        super().__init__(**kwargs)
        self._session = session
        self.uploads: list[Path] = []  # files written to ROOT/uploads, in the order they came
        colab = session.place == "colab"
        visitor = session.workspace is not None
        example = f"{DRIVE}/MyDrive/archive.zip" if colab else "uploads/archive.zip" if visitor else "~/Downloads/archive.zip"
        self.path = widgets.Text(
            description="or a path" if not colab else "or a path in Drive",
            placeholder=example,
            tooltip="A file in your own workspace on this server (what you uploaded)" if visitor else
                    "A file or folder on the machine that runs this app (the kernel), not your browser's computer",
            style=WIDE,
            layout=widgets.Layout(width="420px"),
        )
        # FetchOptions(author=...): a text file or an archive without account.js is this author, else its file name.
        self.author = widgets.Text(
            description=AUTHOR_BOX, placeholder="the file's name", style=WIDE, layout=widgets.Layout(width="470px"),
            tooltip="The handle of a file's author when the file names no account (a text file, an archive without account.js)",
        )
        self.upload: Optional[ChunkedUpload] = None
        self.colab_upload = self.drive_button = None
        if colab:
            self.colab_upload = widgets.Button(description="Upload archive or file", icon="upload", tooltip=FILE_KINDS, layout=widgets.Layout(width="auto"))
            self.drive_button = widgets.Button(description="Mount Google Drive", icon="hdd-o", tooltip=f"Make your Drive readable at {DRIVE}", layout=widgets.Layout(width="auto"))
        else:
            self.upload = ChunkedUpload(self._folder, self._on_file, self._on_error, accept=ACCEPT, hint=FILE_KINDS)
        self._listed = widgets.Label("").add_class("ht-line")
        self._forget = widgets.Button(description="Forget uploads", layout=widgets.Layout(width="auto"))
        self.message = widgets.HTML("")
        # Colab's uploader draws its file chooser here (Jupyter and Voilà never show it).
        self._colab_output = widgets.Output(layout=widgets.Layout(display=None if colab else "none"))
        row = dict(flex_flow="row wrap", align_items="center", grid_gap="4px 8px")
        first = [self.colab_upload, self.drive_button] if colab else [self.upload]
        self._listed_row = widgets.HBox([self._listed, self._forget], layout=widgets.Layout(display="none", **row))
        self.children = [
            widgets.HBox([*first, self.path, self.author], layout=widgets.Layout(**row)),
            self._listed_row,
            self._colab_output,
            self.message,
        ]
        self._forget.on_click(self._on_forget)
        if colab:
            self.colab_upload.on_click(self._on_colab_upload)
            self.drive_button.on_click(self._on_drive)

    # --- what step 1 reads --------------------------------------------------------------------
    def paths(self) -> list[str]:
        """Uploaded files, then the path box's file; a path that is not there is a one-line error."""
        found = [str(p) for p in self.uploads]
        typed = self.path.value.strip().strip("'\"")
        if typed:
            path = self._session.path(typed, "The path")
            if not path.exists():
                raise HuggingTweetsError(self._missing(typed, path))
            found.append(str(path))
        return found

    def spec(self, text: str) -> str:
        """A handle box's text as a source: a path there is confined like the path box's (visitors)."""
        text = text.strip()
        if self._session.workspace is None or "://" in text:
            return text
        shaped = any(c in text for c in "/\\~") or Path(text).suffix.lower() in ACCEPT.split(",") or Path(text).exists()
        return str(self._session.path(text, "A file")) if shaped else text

    def _missing(self, typed: str, path: Path) -> str:
        if self._session.workspace is not None:
            return f"Nothing at {typed} in your workspace: use Upload for a file on your own computer."
        where = "on the machine that runs this app (the kernel's, not your browser's computer)"
        if self._session.place == "colab":
            if str(path).startswith(DRIVE) and not Path(DRIVE).is_dir():
                return f"Nothing at {typed}: Google Drive is not mounted yet. Press Mount Google Drive, then try again."
            return f"Nothing at {typed} {where}. Press Mount Google Drive for a file in your Drive, or Upload for one on your computer."
        return f"Nothing at {typed} {where}. Use Upload for a file on your own computer."

    def set_disabled(self, disabled: bool) -> None:
        for w in (self.upload, self.colab_upload, self.drive_button, self.path, self.author, self._forget):
            if w is not None:
                w.disabled = disabled

    # --- uploads --------------------------------------------------------------------------------
    def _folder(self) -> Path:
        return Path(self._session.root) / UPLOADS

    def _on_file(self, path: Path) -> None:
        """A file is on disk: list it (replacing an earlier one of the same name)."""
        self.uploads = [p for p in self.uploads if p != path] + [path]
        self.message.value = ""
        self._show()

    def _on_error(self, text: str) -> None:
        self.message.value = render.message("error", text)

    def _on_forget(self, _=None) -> None:
        self.uploads = []
        self._show()

    def _show(self) -> None:
        names = ", ".join(p.name for p in self.uploads)
        self._listed.value = f"Uploaded: {names}" if self.uploads else ""
        self._listed_row.layout.display = None if self.uploads else "none"

    # --- Colab ----------------------------------------------------------------------------------
    def _on_colab_upload(self, _=None) -> None:
        """Colab's uploader writes into the working folder; the new files move to ROOT/uploads."""
        self.message.value = ""
        folder = self._folder()
        cwd = Path.cwd()
        before = set(os.listdir(cwd))
        try:
            from google.colab import files

            folder.mkdir(parents=True, exist_ok=True)
            with self._colab_output:
                files.upload()
        except Exception as err:  # Colab's messages vary: say what always works instead
            self._colab_output.clear_output()
            self._on_error(
                f"Colab's upload did not finish ({render.first_line(err)}). For a big archive put it in Google Drive, "
                "press Mount Google Drive and type its path; or drop the file into Colab's Files panel (left) and type /content/ and its name."
            )
            return
        self._colab_output.clear_output()
        for name in sorted(set(os.listdir(cwd)) - before):
            self._on_file(keep(cwd / name, folder, safe_name(name)))

    def _on_drive(self, _=None) -> None:
        self.message.value = ""
        try:
            from google.colab import drive

            with self._colab_output:
                drive.mount(DRIVE)
        except Exception as err:
            self._on_error(
                f"Google Drive did not mount ({render.first_line(err)}). Run `from google.colab import drive; drive.mount('{DRIVE}')` "
                "in a new cell, then type the path here."
            )
            return
        self.message.value = render.message("success", f"Drive is mounted: type the path of your archive, such as {DRIVE}/MyDrive/archive.zip.")
