"""Tokens typed into the app's boxes: read once, then gone from every widget and from a saved notebook.

A notebook saved with its widget state (Jupyter's "Save widget state", nbclient's
``store_widget_state=True``) holds the last value the kernel sent for every widget; a token
left in its box would be written into the .ipynb.
"""

import json
import uuid
from pathlib import Path

import nbclient
import nbformat
import pytest

pytest.importorskip("ipywidgets")

import ipywidgets as widgets  # noqa: E402
from app_driver import live_widgets  # noqa: E402

from conftest import demo_env  # noqa: E402
from huggingtweets.errors import HuggingTweetsError  # noqa: E402
from huggingtweets.ui import App  # noqa: E402
from huggingtweets.ui import data_step  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "huggingtweets-demo.ipynb"


def tree(widget):
    """The widget, its children, and every widget its state points at (layouts, styles), once each."""
    seen, todo = {}, [widget]
    while todo:
        w = todo.pop()
        if id(w) in seen:
            continue
        seen[id(w)] = w
        todo += list(getattr(w, "children", ()) or ())
        todo += [v for v in (getattr(w, name, None) for name in w.keys) if isinstance(v, widgets.Widget)]
    return list(seen.values())


def holds(state: dict, secret: str) -> bool:
    as_text = lambda v: bytes(v).decode("latin-1") if isinstance(v, (bytes, bytearray, memoryview)) else repr(v)  # noqa: E731
    return secret in json.dumps(state, default=as_text)


def leaks(app, secret: str) -> list[str]:
    """Every widget whose state (what the browser and a saved notebook get) holds ``secret``."""
    everything = [w for w in (app.header, app.data, app.train, app.generate, app.share) for w in tree(w)]
    everything += live_widgets()  # any widget alive in this process
    return [f"{type(w).__name__} {w.model_id}" for w in everything if holds(w.get_state(), secret)]


def test_the_x_token_box_is_emptied_before_the_download_asks_anything(tmp_path, monkeypatch):
    app = App(demo="tiny", output_dir=tmp_path, cache_dir=tmp_path / "cache")
    token = f"xtok-{uuid.uuid4().hex}"
    seen = {}

    def load_sources(specs, options, **_):  # the network, as the app's step 1 reaches it
        seen["box"], seen["token"] = app.data.part("token").value, options.bearer_token
        raise HuggingTweetsError(f"X rejected the bearer token {token}: check it")

    monkeypatch.setattr(data_step, "fetch", load_sources)
    app.data.part("sample").value = False
    app.data.part("handles")[0].value = "@wren"
    app.data.part("token").value = f"  {token} "
    app.data.button.click()
    assert seen == {"box": "", "token": token}  # the value went to the download; the box was already empty
    assert app.data.part("token").value == ""
    assert "X rejected the bearer token ***" in app.data.part("message").value
    assert not leaks(app, token)


@pytest.mark.slow
def test_a_download_with_the_sample_leaves_no_token_in_any_widget(tmp_path):
    app = App(demo="tiny", output_dir=tmp_path, cache_dir=tmp_path / "cache")
    token = f"xtok-{uuid.uuid4().hex}"
    app.data.part("token").value = token
    assert leaks(app, token)  # the walk finds it while it is typed
    app.data.button.click()
    assert app.data.button.button_style == "success", app.data.part("message").value
    assert app.data.part("token").value == ""
    assert not leaks(app, token)


def test_the_hub_token_box_is_emptied_too(tmp_path):
    app = App(demo="tiny", output_dir=tmp_path, cache_dir=tmp_path / "cache")
    token = f"hf_{uuid.uuid4().hex}"
    app.share.part("token").value = token
    app.share.push_button.click()  # no model folder yet: refused before any request
    assert app.share.part("token").value == "" and not leaks(app, token)


# The token is built in the kernel, so the cell's source does not hold it either: the whole
# saved notebook, not only its widget state, must be free of it.
TYPE_AND_DOWNLOAD = """\
app.data.part("token").value = "-".join(["xtok", "{half}", "{other}"])
app.data.button.click()
print(app.data.button.button_style, repr(app.data.part("token").value))
"""


@pytest.mark.kernel
def test_a_notebook_saved_with_its_widget_state_holds_no_token(tmp_path, monkeypatch):
    half, other = uuid.uuid4().hex, uuid.uuid4().hex
    token = f"xtok-{half}-{other}"
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(TYPE_AND_DOWNLOAD.format(half=half, other=other)))
    for key, value in demo_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=300, startup_timeout=120, store_widget_state=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    saved = tmp_path / "saved.ipynb"
    nbformat.write(nb, saved)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    boxes = [m["state"] for m in state.values() if m["model_name"] == "PasswordModel"]
    assert len(boxes) == 2 and all(box["value"] == "" for box in boxes), boxes  # step 1's and step 4's
    assert token not in saved.read_text()
    printed = "".join(out.get("text", "") for out in nb.cells[-1].outputs)
    assert printed.strip() == "success ''", nb.cells[-1].outputs  # the sample downloaded, after the box emptied
