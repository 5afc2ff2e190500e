"""The train step's model box: a list of the models this tool knows, then "Other..." for a name.

The list holds the built-in names (what ``--model`` takes: the offline pretrained models, the
tiny one) and the Hub models the card describes, each labelled with what it trades; the best for
this machine comes first. "Other..." opens a text box for any Hub name or local folder. The
picker's ``value`` is the model's name as ``TrainConfig.model`` takes it, whichever way it was
chosen, and setting ``value`` to a name outside the list selects "Other..." with that name typed,
so code that reads or sets the model never needs to know which box holds it.
"""

from __future__ import annotations

import ipywidgets as widgets
import traitlets

OTHER = "<other>"  # the list's last entry: no Hub name can be this (a folder would be typed)


class ModelPicker(widgets.VBox):
    """A Dropdown of ``choices`` ((name, label) pairs) and "Other...", which shows a text box for a name."""

    value = traitlets.Unicode()

    def __init__(self, value: str, choices: list[tuple[str, str]], description: str = "Model", tooltip: str = "",
                 style=None, layout=None):
        self._names = [name for name, _ in choices]
        self.list = widgets.Dropdown(options=[(text, name) for name, text in choices] + [("Other...", OTHER)],
                                     description=description, tooltip=tooltip, style=style or {}, layout=layout)
        self.other = widgets.Text(placeholder="a Hub name or a local folder", description="Name or folder",
                                  tooltip="any causal language model: a Hub name (needs the Hub) or a folder on this machine",
                                  style=style or {}, layout=widgets.Layout(width="470px"))
        super().__init__([self.list, self.other])
        self._syncing = False
        self.list.observe(self._on_list, names="value")
        self.other.observe(self._on_text, names="value")
        self.observe(self._on_value, names="value")
        self.value = value
        self._on_value({"new": value})  # the same value as the trait's default shows too

    @property
    def options(self) -> list[str]:
        """The names the list offers, in order (without "Other...")."""
        return list(self._names)

    @property
    def typing(self) -> bool:
        """True when "Other..." is chosen: the name comes from the text box."""
        return self.list.value == OTHER

    def _show_text(self, shown: bool) -> None:
        self.other.layout.display = "" if shown else "none"

    def _on_list(self, change) -> None:
        if self._syncing:
            return
        self._show_text(change["new"] == OTHER)
        self.value = self.other.value.strip() if change["new"] == OTHER else change["new"]

    def _on_text(self, change) -> None:
        if not self._syncing and self.typing:
            self.value = change["new"].strip()

    def _on_value(self, change) -> None:
        """Set from code: the list's entry for a known name, else "Other..." with it typed."""
        name = (change["new"] or "").strip()
        self._syncing = True
        try:
            if name in self._names:
                self.list.value = name
            elif not (self.typing and self.other.value.strip() == name):
                self.list.value = OTHER
                self.other.value = name
            self._show_text(self.typing)
        finally:
            self._syncing = False
