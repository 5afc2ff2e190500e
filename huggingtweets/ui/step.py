"""What every step of the app shares: ``Step``, a ``VBox`` the App numbers and stacks.

A step is a title (``N · title`` and a one-line hint), a collapsed help box, its own
controls, a message area, and optionally a progress bar with a status line. It
follows the shared ``Session``: while training runs (``session.busy``) its buttons
are off, and an error that only waited for another step ("download tweets first")
goes when that step succeeds (``waits_for``: the session traits to watch). A failure
anywhere is one line (``attempt``), the same for every step.

A new step is a subclass with ``title``, ``hint`` and ``help``, and three methods the
base calls in order: ``_build`` (its widgets), ``_layout`` (``self.frame(controls,
results)``: the message area goes between them) and ``_wire``; then it is one line in
``app.STEPS``, which names it (``app.<name>``) and numbers it. Steps never touch each
other's widgets: they read and write the session, and name each other with
``self.ref(name)`` ("step 2"), which the App's order decides.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import ipywidgets as widgets

from ..errors import is_failure
from . import render
from .style import style_widget

ROW = dict(flex_flow="row wrap", align_items="center", grid_gap="4px 8px")


def row(*children: widgets.Widget) -> widgets.HBox:
    """Controls side by side, wrapping on a narrow page."""
    return widgets.HBox(list(children), layout=widgets.Layout(**ROW))


class Parts:
    """What a person sees and touches in a view, by name: ``part("message")``. Tests and code
    that embeds a step read these, never the attributes behind them, so a step may rebuild its
    widgets as long as its parts keep their names. ``PARTS`` lists them; each is the attribute
    ``_<name>``."""

    PARTS: Sequence[str] = ()

    def part(self, name: str):
        if name not in self.PARTS:
            raise KeyError(f"{type(self).__name__} has no part {name!r}; its parts: {', '.join(self.PARTS)}")
        return getattr(self, "_" + name)


class Step(Parts, widgets.VBox):
    """The skeleton of a step: title, help, message area, progress, busy state, errors."""

    PARTS = ("title", "message", "progress", "status")
    title = ""
    hint = ""
    help: Sequence[str] = ()  # the help box: its closed line, then paragraphs (trusted HTML: the app's own); none if empty
    waits_for: Sequence[str] = ()  # session traits: when one is set, "do that first" errors go

    def __init__(self, session, number: int = 0, **kwargs):
        super().__init__(**kwargs)
        self._session = session
        self.number = number  # the App's; 0 for a step shown on its own
        self.button: Optional[widgets.Button] = None  # the step's main button, if it has one
        self._message = widgets.HTML("")
        self._progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="260px", visibility="hidden"))
        self._status = widgets.Label("").add_class("ht-line")
        session.observe(self._on_busy_change, names="busy")
        if self.waits_for:
            session.observe(self._on_waited, names=list(self.waits_for))
        self._build()
        self._layout()
        self._wire()

    # --- building: each step's own ---------------------------------------------------------
    def _build(self) -> None:
        """Create the step's widgets."""

    def _layout(self) -> None:
        """Place them: ``self.frame(controls, results)``."""
        self.frame([])

    def _wire(self) -> None:
        """Connect buttons and observers to the callbacks."""

    def frame(self, controls: Sequence[widgets.Widget], results: Sequence[widgets.Widget] = ()) -> None:
        """The step's children: the style, the title and hint, the help box, the controls,
        the message area, then what the step produced."""
        self._title = widgets.HTML(render.step_title(self.number, self.title, self.hint))
        head: list[widgets.Widget] = [style_widget(), self._title]
        if self.help:
            head.append(widgets.HTML(render.help_box(self.help[0], self.help[1:])))
        self.children = head + list(controls) + [self._message] + list(results)

    def retitle(self, title: str) -> None:
        """A new title (the data step's follows the network's words: "Download posts")."""
        self.title = title
        if getattr(self, "_title", None) is not None:
            self._title.value = render.step_title(self.number, title, self.hint)

    def ref(self, name: str) -> str:
        """How this step names another (``name`` in ``app.STEPS``): "step 2", as the App numbers them."""
        number = self._session.numbers.get(name)
        return f"step {number}" if number else f"the {name} step"

    # --- what every step shows -----------------------------------------------------------
    def show_progress(self, done: int, total: Optional[int], text: str = "") -> None:
        """Move the bar (``total`` None: unknown, the bar fills as a rough guide) and say ``text``."""
        bar = self._progress
        bar.layout.visibility = "visible"
        if total:
            bar.max = max(total, 1)
            bar.value = min(done, bar.max)
        else:
            bar.max = max(bar.max, done + 1)
            bar.value = done
        if text:
            self._status.value = text

    def reset_progress(self, text: str = "", visible: bool = False) -> None:
        self._progress.value, self._progress.bar_style = 0, ""
        self._progress.layout.visibility = "visible" if visible else "hidden"
        self._status.value = text

    def say(self, kind: str, text: str, where: Optional[widgets.HTML] = None) -> None:
        (where or self._message).value = render.message(kind, text)

    def fail(self, text: str, where: Optional[widgets.HTML] = None) -> None:
        """One line in red; in the step's own message area it also marks the step's button."""
        self.say("error", text, where)
        if (where is None or where is self._message) and self.button is not None:
            self.button.button_style = "danger"

    def attempt(self, what: str, action: Callable[[], object], where: Optional[widgets.HTML] = None, secret: str = "") -> bool:
        """Run ``action``; any failure (ours, or a library's, pyo3's panics too) is one line in
        ``where`` (``secret`` blanked out of it). True when it worked."""
        try:
            action()
            return True
        except BaseException as err:  # a library's panic too (pyo3's is no Exception)
            if not (isinstance(err, Exception) or is_failure(err)):
                raise
            text = render.error_text(err, what)
            self.fail(text.replace(secret, "***") if secret else text, where)
            return False

    def clear_error(self) -> None:
        """An error that waited for another step no longer applies."""
        if "ht-error" in self._message.value:
            self._message.value = ""
            if self.button is not None:
                self.button.button_style = "primary"

    # --- the session -----------------------------------------------------------------------
    def busy_widgets(self) -> list[widgets.Widget]:
        """What is off while training runs (the training step decides for itself)."""
        return [self.button] if self.button is not None else []

    def set_busy(self, busy: bool) -> None:
        for w in self.busy_widgets():
            w.disabled = busy

    def _on_busy_change(self, change) -> None:
        self.set_busy(change["new"])

    def _on_waited(self, change) -> None:
        if change["new"]:
            self.clear_error()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Until the step's background work is over; True when it is (most steps have none)."""
        return True
