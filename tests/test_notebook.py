"""The demo notebook: its shape (short code cells, no logic, no saved outputs) and an
end-to-end run with nbclient in demo mode (the bundled sample and the CPU "tiny" model).

The notebook is executed as Colab's "Run all" would, then a cell appended here (never
saved) clicks the buttons of the steps, and a later cell reports the widgets' state as JSON:
Output widgets are filled by nbclient (acting as the front end) and synced back to
the kernel once the clicking cell has ended.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

from conftest import demo_env

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "huggingtweets-demo.ipynb"
MAX_LINES = 4
STEPS = ("app.header", "app.data", "app.train", "app.generate", "app.share")

# The sample archive's counts (see `huggingtweets data --sample`).
SAMPLE_DOWNLOADED = 377
SAMPLE_KEPT = 342


def read_notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


def code_sources(nb) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


# --- the notebook's shape ---------------------------------------------------------------
def code_lines(source: str) -> list[str]:
    """The lines that do something (comments are the notebook's instructions; Voila hides them)."""
    return [line for line in source.strip().splitlines() if line.strip() and not line.strip().startswith("#")]


def test_code_cells_are_short_and_logic_free():
    nb = read_notebook()
    sources = code_sources(nb)
    assert sources, "the notebook has no code cells"
    install = sources[0]
    assert "google.colab" in install and "pip" in install, "the first code cell should be the Colab install guard"
    for source in sources:
        lines = code_lines(source)
        assert 1 <= len(lines) <= MAX_LINES, f"code cell longer than {MAX_LINES} lines:\n{source}"
        for keyword in ("def", "for", "while", "class", "lambda", "try", "with"):
            assert not re.search(rf"\b{keyword}\b", "\n".join(lines)), f"code cell has `{keyword}` (logic belongs in huggingtweets.ui):\n{source}"
        if source is not install:
            assert not re.search(r"\bif\b", "\n".join(lines)), f"only the install cell may branch:\n{source}"


def test_steps_in_order_after_a_short_title():
    """Voila shows every markdown cell: one title and one line, then the app; explanations live
    in the widgets' help, titles in the widgets, notebook-only instructions in code comments."""
    nb = read_notebook()
    assert nb.metadata.kernelspec.name == "python3"
    markdown = [cell.source for cell in nb.cells if cell.cell_type == "markdown"]
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# HuggingTweets")
    assert sum(len(m) for m in markdown) < 200, "markdown pushes step 1 down the first screen: move it into the widgets' help"
    for text in markdown:
        for notebook_only in ("Run all", "Run All", "pip install", "colab-badge", "Step "):
            assert notebook_only not in text, f"{notebook_only!r} in markdown (Voila shows it; a code comment would not)"
    assert "Run all" in code_sources(nb)[0] and "Run All Cells" in code_sources(nb)[0]
    positions = []
    for step in STEPS:
        hits = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and step in cell.source]
        assert hits, f"no code cell shows {step}"
        positions.append(hits[0])
    assert positions == sorted(positions), "the steps are out of order"
    assert "from huggingtweets.ui import App" in nb.cells[positions[0]].source


def test_install_source_is_set_in_one_place():
    install = code_sources(read_notebook())[0]
    assigned = re.findall(r'^PACKAGE = "([^"]+)"$', install, flags=re.M)
    assert assigned == ["git+https://github.com/huggingtweets/huggingtweets"]
    assert install.count("git+https://github.com/") == 1 and '"install -q {PACKAGE}"' in install


def test_saved_without_outputs():
    nb = read_notebook()
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "clear all outputs before saving the notebook"
    assert "widgets" not in nb.metadata, "saved widget state: clear outputs before saving"


# --- end to end -------------------------------------------------------------------------
CLICK = """\
app.data.button.click()
app.train.part("fields")["max_steps"].value = 24  # the demo's recipe for 24 steps, not its 120: the same path, a fifth of the time
app.train.button.click()
app.wait()
app.generate.button.click()
app.share.preview_button.click()
app.share.buttons["zip"].click()
"""

# Runs in the kernel after CLICK has ended (when nbclient's Output-widget updates have
# reached the kernel): every step's visible text as one HTML/text string, plus facts.
REPORT = """\
import json as _json, sys as _sys
import ipywidgets as _w
_sys.path.insert(0, %r)
from app_driver import live_widgets as _live

def _text(widget, seen=None):
    seen = set() if seen is None else seen
    if widget is None or id(widget) in seen:
        return []
    seen.add(id(widget))
    parts = []
    if isinstance(widget, _w.Output):
        for out in widget.outputs:
            if "text" in out:
                parts.append(out["text"])
            data = out.get("data", {})
            for mime in ("text/html", "image/svg+xml", "text/markdown", "text/plain"):
                if mime in data:
                    value = data[mime]
                    parts.append("".join(value) if isinstance(value, list) else value)
                    break
            view = data.get("application/vnd.jupyter.widget-view+json")
            if view:
                parts += _text({w.model_id: w for w in _live()}.get(view["model_id"]), seen)
    elif isinstance(getattr(widget, "value", None), str) and isinstance(widget, (_w.HTML, _w.HTMLMath, _w.Label, _w.Textarea, _w.Text)):
        parts.append(widget.value)
    for child in getattr(widget, "children", ()) or ():
        parts += _text(child, seen)
    return parts

def _progress(widget):
    found = []
    if isinstance(widget, (_w.IntProgress, _w.FloatProgress)):
        found.append([widget.value, widget.max, widget.bar_style])
    for child in getattr(widget, "children", ()) or ():
        found += _progress(child)
    return found

import huggingtweets as _ht
print(_json.dumps({
    "prefix": _sys.prefix,
    "package": _ht.__file__,
    "header": "\\n".join(_text(app.header)),
    "data": "\\n".join(_text(app.data)),
    "train": "\\n".join(_text(app.train)),
    "generate": "\\n".join(_text(app.generate)),
    "progress": _progress(app.train),
    "buttons": {name: [getattr(app, name).button.description, getattr(app, name).button.disabled] for name in ("data", "train", "generate")},
    "share": {"messages": app.share.part("preview_message").value + app.share.part("messages")["zip"].value[:2000], "zip": str(app.share.written["zip"][0])},
}))
"""


def _report(nb) -> dict:
    for out in nb.cells[-1].outputs:
        if out.output_type == "stream" and out.name == "stdout":
            return json.loads(out.text.strip().splitlines()[-1])
    raise AssertionError(f"the report cell printed nothing: {nb.cells[-1].outputs}")


def _errors(nb) -> list[str]:
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error" or (out.output_type == "stream" and "Traceback" in out.text):
                found.append(out.get("text") or "\n".join(out.get("traceback", [])))
    return found


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook run top to bottom in demo mode, then the three clicks, in a temporary folder."""
    tmp = tmp_path_factory.mktemp("notebook")
    env = demo_env(tmp)
    nb = read_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(CLICK))
    nb.cells.append(nbformat.v4.new_code_cell(REPORT % str(Path(__file__).resolve().parent)))
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=600,  # the click cell trains the tiny model 24 steps (seconds on 2 idle cores)
        startup_timeout=120,
        resources={"metadata": {"path": str(tmp)}},  # the kernel's working directory
    )
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        client.execute()
    return nb, _report(nb), tmp


def test_runs_in_this_venv(executed):
    _, report, _ = executed
    assert Path(report["prefix"]).resolve() == Path(sys.prefix).resolve(), "the kernel is not this venv's Python"
    assert Path(report["package"]).resolve().is_relative_to(ROOT), f"the kernel imported {report['package']}, not this checkout's package"


def test_run_all_then_three_clicks(executed):
    nb, report, tmp = executed
    assert not _errors(nb), "errors in the executed notebook:\n" + "\n".join(_errors(nb))
    for step in ("header", "data", "train", "generate"):
        shown = re.findall(r'<div class="ht-msg ht-error">(.*?)</div>', report[step])
        assert not shown, f"the {step} step shows an error: {shown}"

    # Step 1: the data table, with the sample's counts.
    data = report["data"]
    for row in ("Tweets downloaded", "Retweets", "Short tweets", "Tweets kept"):
        assert row in data, f"step 1 has no '{row}' row:\n{data[:2000]}"
    assert "<table" in data
    assert re.search(rf"\b{SAMPLE_DOWNLOADED}\b", data) and re.search(rf"\b{SAMPLE_KEPT}\b", data), f"step 1 lacks the sample's counts:\n{data[:2000]}"

    # Step 2: finished, with a loss plot, and a model folder in the working directory.
    train = report["train"]
    assert "<svg" in train, f"step 2 has no loss plot:\n{train[:2000]}"
    assert report["progress"], "step 2 has no progress bar"
    value, maximum, _ = report["progress"][0]
    assert maximum > 0 and value == maximum, f"training progress stopped at {value}/{maximum}"
    assert "Model folder" in train, f"step 2 shows no result summary:\n{train[-2000:]}"
    configs = [p for p in tmp.rglob("config.json") if "checkpoint" not in str(p.relative_to(tmp))]
    assert configs, f"no model folder saved under the kernel's working directory {tmp}"

    # Step 3: generated tweets as cards.
    generate = report["generate"]
    assert re.search(r'class="ht-tweet[" ]', generate), f"step 3 shows no tweet cards:\n{generate[:2000]}"

    # Step 4: a preview image from the ticked tweets, and the zip as a link.
    share = report["share"]
    assert "ht-error" not in share["messages"], f"step 4 shows an error:\n{share['messages']}"
    assert "preview.png" in share["messages"] and 'download="' in share["messages"], share["messages"]
    assert Path(share["zip"]).is_file() and Path(share["zip"]).resolve().parent == (tmp / "huggingtweets-downloads").resolve()  # beside the notebook, in the folder voila.json serves
