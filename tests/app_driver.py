"""The app as a person drives it, for tests: the verbs (download, set, train, generate,
upload) and what a step says. Tests use these and the steps' public parts
(``step.part(name)``, ``Step.PARTS``); only this module reaches below the widgets (the
browser's side of the upload widget, ipywidgets' own registry), so a step can change its
widgets without rewriting tests. ``test_architecture`` checks that no other test reads a
step's private attributes.
"""

from __future__ import annotations

import html
import re

# A few steps of the tiny model on short blocks: seconds, enough to save and plot.
FAST = dict(max_steps=6, block_size=32, batch_size=8, logging_steps=2, save_steps=4)
SAMPLE_ROWS = {"Tweets downloaded": 377, "Retweets": 20, "Short tweets": 15, "Tweets kept": 342}


# --- what the app shows --------------------------------------------------------------------------
def message(step, where: str = "message") -> str:
    """The HTML of a step's message area (or of another of its parts: ``where``)."""
    return step.part(where).value


def plain(html_text: str) -> str:
    """HTML as a person reads it: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def table_numbers(html_table: str) -> dict:
    """{row label: [numbers...]} from the data table."""
    rows = re.findall(r"<tr><th>([^<]+)</th>(.*?)</tr>", html_table)
    return {label: [int(n) for n in re.findall(r"<td class=\"ht-num\">(\d+)</td>", cells)]
            for label, cells in rows if label not in ("Data", "Language")}


def all_widgets(widget):
    """A widget and everything inside it."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from all_widgets(child)


def live_widgets() -> list:
    """Every widget alive in this process (ipywidgets' registry)."""
    from ipywidgets.widgets import widget as widget_module

    return list(widget_module._instances.values())


def classes(widget) -> list[str]:
    """The CSS classes a widget carries (``add_class``'s)."""
    return list(widget._dom_classes)


# --- step 1 ----------------------------------------------------------------------------------------
def choose(app, *handles: str, sample: bool | None = None, path: str | None = None, token: str | None = None) -> None:
    """Fill step 1 as a person does: handles in the boxes, the sample box, a path, a token."""
    data = app.data
    if sample is not None:
        data.part("sample").value = sample
    for box, handle in zip(data.part("handles"), handles):
        box.value = handle
    if path is not None:
        data.files.path.value = path
    if token is not None:
        data.part("token").value = token


def download(app, *handles: str, **boxes) -> str:
    """Step 1's button (after ``choose``'s boxes, when given): its message."""
    if handles or boxes:
        choose(app, *handles, **boxes)
    app.data.button.click()
    return message(app.data)


class Browser:
    """The front end of step 1's upload widget (``ChunkedUpload``): sends what a page sends
    (``start``, the chunks, ``end``, or anything a hostile page likes) and keeps the kernel's answers."""

    def __init__(self, widget, monkeypatch):
        self.widget, self.answers = widget, []
        monkeypatch.setattr(widget, "send", lambda content, buffers=None: self.answers.append(content))

    def say(self, content, buffers=()):
        self.widget._on_msg(self.widget, content, list(buffers))
        return self.answers[-1] if self.answers else None

    def upload(self, name: str, data: bytes, chunk: int = 7):
        assert self.say({"kind": "start", "name": name, "size": len(data)})["kind"] == "ready"
        for offset in range(0, len(data), chunk):
            answer = self.say({"kind": "chunk", "offset": offset}, [memoryview(data[offset: offset + chunk])])
            assert answer == {"kind": "ack", "received": min(offset + chunk, len(data))}
        return self.say({"kind": "end"})


def upload(app, name: str, data: bytes, monkeypatch):
    """Send a file through step 1's upload button the way the browser does, in chunks."""
    return Browser(app.data.files.upload, monkeypatch).upload(name, data)


# --- step 2 ----------------------------------------------------------------------------------------
def field(app, name: str):
    """Step 2's widget for a TrainConfig field."""
    return app.train.part("fields")[name]


def set_fields(app, **values) -> None:
    for name, value in values.items():
        field(app, name).value = value


def fast(app, fast_fields: dict = FAST, **changes) -> None:
    """Step 2 set for a few seconds' run (``FAST``, then ``changes``)."""
    set_fields(app, **{**fast_fields, **changes})


def train(app, timeout: float = 600, **changes) -> bool:
    """Set ``changes``, press Train, wait for the run: True when it ended in time."""
    set_fields(app, **changes)
    app.train.button.click()
    return app.wait(timeout=timeout)


# --- step 3 ----------------------------------------------------------------------------------------
def generate(app, prompt: str | None = None, n: int | None = None) -> str:
    """Write posts in step 3: its results' HTML."""
    gen = app.generate
    if prompt is not None:
        gen.part("prompt").value = prompt
    if n is not None:
        gen.part("n").value = n
    gen.button.click()
    return gen.part("results").value
