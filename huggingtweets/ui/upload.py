"""An upload button for files of any size: the browser sends them in chunks.

ipywidgets' ``FileUpload`` sends a whole file in one websocket message. Tornado
(under Jupyter Server and Voilà) closes the socket on a message over 10 MiB, so
a 30 MB archive never arrives and nothing says why; Voilà can only raise that
limit on its command line, and the file would still sit whole in the kernel's
memory. Here the browser slices the ``File`` into ``CHUNK_BYTES`` pieces and
sends each as a custom widget message with a binary buffer; the kernel appends
it to a part file of its own (``.NAME.XXXX.part``) on disk, answers, and only then is the next slice read, so
neither side ever holds more than one chunk. At the end the part file
takes its name (never replacing a file: a different one of that name makes ``NAME-2.EXT``)
and ``on_file(path)`` is called.

Nothing trusts the size the browser announces: each piece is checked before it is
written (``upload_limits``), and the upload stops at the first piece past that size,
past ``HUGGINGTWEETS_UPLOAD_MAX_MB`` (one file), ``HUGGINGTWEETS_UPLOAD_TOTAL_MB``
(the uploads folder) or into ``HUGGINGTWEETS_UPLOAD_KEEP_FREE_MB`` (the free disk
space kept); the part file is deleted and the error says so in one line. Whoever
serves the app sets those variables; the defaults and their reasons are in
``upload_limits``.

Messages (``kind``): browser → kernel ``start`` {name, size}, ``chunk``
{offset} + buffer, ``end``, ``cancel``; kernel → browser ``ready``, ``ack``
{received}, ``done`` {name}, ``error`` {text}. The front end is the ES module
in ``ESM`` below, run by anywidget (Jupyter, Voilà, VS Code).
"""

from __future__ import annotations

import filecmp
import os
import re
import tempfile
from pathlib import Path
from typing import Callable, Optional

import anywidget
import traitlets

from .upload_limits import Budget, Limits, UploadError

CHUNK_BYTES = 2 * 1024 * 1024  # well under Tornado's 10 MiB per message, few enough round trips


def safe_name(name: str) -> str:
    """A file name that stays inside the uploads folder: no folders, no odd characters."""
    name = Path(str(name).replace("\\", "/")).name
    name = re.sub(r"[^\w.\-]+", "_", name).lstrip(".")
    return name or "upload"


ESM = r"""
const ANSWER_S = 120;

function render({ model, el }) {
  const input = document.createElement("input");
  input.type = "file";
  input.multiple = true;
  input.className = "ht-upload-input";
  input.hidden = true;
  const button = document.createElement("button");
  button.className = "jupyter-widgets jupyter-button widget-button ht-upload-button";
  const progress = document.createElement("progress");
  progress.className = "ht-upload-progress";
  progress.hidden = true;
  const note = document.createElement("span");
  note.className = "ht-upload-note";
  el.classList.add("ht-upload");
  el.append(input, button, progress, note);

  const sync = () => {
    button.textContent = "⬆ " + model.get("label");
    button.title = model.get("hint");
    input.accept = model.get("accept");
    button.disabled = model.get("disabled") || busy;
  };
  let busy = false;
  let waiting = null;  // resolves with the kernel's next answer
  const answered = (msg) => { if (waiting) { const w = waiting; waiting = null; w(msg); } };
  model.on("msg:custom", answered);
  // One message at a time; a kernel that stays silent (restarted, or the connection lost)
  // ends the upload with a message instead of a bar that never moves.
  const ask = (content, buffers) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => { waiting = null; reject(new Error(
      `no answer from the app in ${ANSWER_S} s: reload the page, or give the file's path on the machine running the app`)); }, ANSWER_S * 1000);
    waiting = (msg) => { clearTimeout(timer); resolve(msg); };
    model.send(content, undefined, buffers || []);
  });
  const mb = (n) => (n / 1e6).toFixed(1) + " MB";

  async function send(file) {
    let answer = await ask({ kind: "start", name: file.name, size: file.size });
    if (answer.kind !== "ready") return answer;
    const step = model.get("chunk_bytes");
    progress.max = Math.max(file.size, 1);
    progress.value = 0;
    progress.hidden = false;
    for (let offset = 0; offset < file.size; offset += step) {
      const piece = await file.slice(offset, offset + step).arrayBuffer();
      answer = await ask({ kind: "chunk", offset }, [piece]);
      if (answer.kind !== "ack") return answer;
      progress.value = answer.received;
      note.textContent = `${file.name}: ${mb(answer.received)} of ${mb(file.size)}`;
    }
    return await ask({ kind: "end" });
  }

  async function upload(files) {
    busy = true;
    sync();
    try {
      for (const file of files) {
        note.textContent = `${file.name}: starting…`;
        const answer = await send(file);
        if (answer.kind === "error") { note.textContent = ""; break; }
        note.textContent = "";  // the app lists what has arrived
      }
    } catch (err) {
      note.textContent = "Upload failed: " + (err.message || err);
      model.send({ kind: "cancel" });
    } finally {
      busy = false;
      progress.hidden = true;
      input.value = "";
      sync();
    }
  }

  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => { if (input.files.length) upload([...input.files]); });
  el.addEventListener("dragover", (e) => { e.preventDefault(); el.classList.add("ht-drop"); });
  el.addEventListener("dragleave", () => el.classList.remove("ht-drop"));
  el.addEventListener("drop", (e) => {
    e.preventDefault();
    el.classList.remove("ht-drop");
    if (!busy && !model.get("disabled") && e.dataTransfer.files.length) upload([...e.dataTransfer.files]);
  });
  for (const name of ["change:label", "change:disabled", "change:accept", "change:hint"]) model.on(name, sync);
  sync();
  return () => {  // the view is removed: stop listening
    model.off("msg:custom", answered);
    for (const name of ["change:label", "change:disabled", "change:accept", "change:hint"]) model.off(name, sync);
  };
}
export default { render };
"""


class ChunkedUpload(anywidget.AnyWidget):
    """``ChunkedUpload(folder, on_file)``: a button; each chosen file lands in ``folder``."""

    _esm = ESM
    accept = traitlets.Unicode("").tag(sync=True)
    label = traitlets.Unicode("Upload archive or file").tag(sync=True)
    chunk_bytes = traitlets.Int(CHUNK_BYTES).tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)
    hint = traitlets.Unicode("").tag(sync=True)  # the button's tooltip (DOMWidget's own "tooltip" needs a description)

    def __init__(self, folder: Callable[[], Path], on_file: Callable[[Path], None], on_error: Callable[[str], None], **kwargs):
        super().__init__(**kwargs)
        self._folder, self._on_file, self._on_error = folder, on_file, on_error
        self._file = None  # the open part file
        self._part: Optional[Path] = None
        self._budget: Optional[Budget] = None  # what this upload may still write
        self.on_msg(self._on_msg)

    @property
    def received(self) -> int:
        return self._budget.received if self._budget is not None else 0

    # --- the kernel's side of the protocol ---------------------------------------------------
    def _on_msg(self, _widget, content, buffers) -> None:
        kind = content.get("kind") if isinstance(content, dict) else None
        try:
            if kind == "start":
                self._start(str(content.get("name", "")), _number(content, "size", 0))
                self.send({"kind": "ready"})
            elif kind == "chunk":
                self._chunk(_number(content, "offset", -1), _bytes(buffers))
                self.send({"kind": "ack", "received": self.received})
            elif kind == "end":
                path = self._end()
                self.send({"kind": "done", "name": path.name})
                self._on_file(path)
            elif kind == "cancel":
                self._abandon()
        except UploadError as err:
            self._abandon()
            self.send({"kind": "error", "text": str(err)})
            self._on_error(str(err))

    def _start(self, name: str, size: int) -> None:
        self._abandon()  # a new file replaces one left half-sent
        folder = Path(self._folder())
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UploadError(f"Could not save uploads in {folder}: {err.strerror or err}.") from None
        name = safe_name(name)
        try:  # a part file of its own: two uploads of one name never write into each other
            handle, part = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
        except OSError as err:
            raise UploadError(f"Could not save the upload to {folder}: {err.strerror or err}.") from None
        self._file, self._part = os.fdopen(handle, "wb"), Path(part)
        self._budget = Budget(folder, name, max(size, 0), Limits.from_env(), part=self._part.name)
        self._budget.start()

    def _chunk(self, offset: int, data: memoryview) -> None:
        if self._file is None or self._budget is None:
            raise UploadError("The upload was interrupted (the app restarted?): choose the file again.")
        name = self._budget.name
        if offset != self.received:
            raise UploadError(f"{name}: a piece arrived out of order (at byte {offset:,}, expected {self.received:,}): choose the file again.")
        self._budget.take(data.nbytes)  # raises before anything past a limit is written
        try:
            self._file.write(data)
        except OSError as err:
            raise UploadError(f"Could not write {name}: {err.strerror or err}: the part received was deleted.") from None

    def _end(self) -> Path:
        if self._file is None or self._budget is None:
            raise UploadError("The upload was interrupted (the app restarted?): choose the file again.")
        self._file.close()
        self._file = None
        name, received, size = self._budget.name, self._budget.received, self._budget.declared
        if received != size:
            raise UploadError(f"{name} arrived incomplete ({received:,} of {size:,} bytes): choose the file again.")
        try:
            final = keep(self._part, self._part.parent, name)
        except OSError as err:
            raise UploadError(f"Could not save {name}: {err.strerror or err}.") from None
        self._part = None
        return final

    def _abandon(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._part is not None:
            self._part.unlink(missing_ok=True)
            self._part = None


def keep(source: Path, folder: Path, name: str) -> Path:
    """Move ``source`` into ``folder`` as ``name`` without replacing any file: the same bytes
    already there are that file; other bytes of the same name get the next free ``NAME-2.EXT``."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(1, 1000):
        final = folder / (name if n == 1 else f"{stem}-{n}{suffix}")
        if final.is_file() and not final.is_symlink() and filecmp.cmp(source, final, shallow=False):
            source.unlink()
            return final
        try:
            os.close(os.open(final, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # the name is ours now
        except FileExistsError:
            continue
        os.replace(source, final)
        return final
    raise UploadError(f"Too many uploads named {name}: press Forget uploads, or rename the file.")


UNREADABLE = "The upload sent something this app cannot read: reload the page and choose the file again."


def _number(content: dict, key: str, default: int) -> int:
    try:
        return int(content.get(key, default))
    except (TypeError, ValueError, OverflowError):
        raise UploadError(UNREADABLE) from None


def _bytes(buffers) -> memoryview:
    try:
        return memoryview(buffers[0] if buffers else b"").cast("B")
    except (TypeError, ValueError):
        raise UploadError(UNREADABLE) from None
