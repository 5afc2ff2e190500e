"""The demo notebook served by Voila and driven by a real (headless) Chromium.

Demo mode (the bundled sample, the CPU "tiny" model): click "Download tweets", wait for
the data table; click "Train Neural Network", wait for training to end (its updates come
from a background thread and must still reach the page); click "Run predictions", wait
for the tweet cards. A screenshot of each step goes to ``test-artifacts/``.

Needs the system Chromium at /usr/bin/chromium (Debian: ``apt-get install chromium``);
Playwright's own browser download is not used.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import demo_env

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "huggingtweets-demo.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

SERVER_START_S = 90
PAGE_S = 240  # Voila runs the notebook (imports torch, transformers) before the widgets show
DATA_S = 120
TRAIN_S = 480  # the tiny model, 10 epochs: about a minute on 2 idle cores, minutes on a busy machine
GENERATE_S = 180

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no system Chromium at {CHROMIUM} (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_this_process() -> None:
    """In the Voila child, before exec (Linux): get SIGTERM when the test process dies.

    A pytest killed from outside (``timeout``, Ctrl-C twice, CI cancel) runs no
    finalizers; without this, Voila and its busy kernel would outlive it.
    """
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    """Voila on 127.0.0.1 serving a copy of the notebook in a temporary folder.

    Voila starts the kernel in the notebook's folder, so the notebook is copied to the
    temporary folder: the model folder and everything else the app writes lands there.
    """
    tmp = tmp_path_factory.mktemp("voila")
    notebook = tmp / NOTEBOOK.name
    shutil.copy(NOTEBOOK, notebook)
    port = free_port()
    env = {**os.environ, **demo_env(tmp), "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config")}  # no user config
    log = tmp / "voila.log"
    cmd = [
        sys.executable, "-m", "voila", str(notebook),
        "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
        "--VoilaConfiguration.show_tracebacks=True",
        "--VoilaExecutor.timeout=300",  # per cell, while the page loads (the app's import)
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_this_process if sys.platform.startswith("linux") else None,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"Voila exited with {proc.returncode}:\n{_tail(log)}")
            try:
                # Any HTTP answer will do: the page itself would start a kernel and run the notebook.
                with urllib.request.urlopen(url + "voila/static/", timeout=5):
                    break
            except urllib.error.HTTPError:
                break  # it answers
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Voila did not answer on {url} within {SERVER_START_S}s:\n{_tail(log)}")
            time.sleep(0.5)
        yield {"url": url, "tmp": tmp, "log": log}
    finally:
        if proc.poll() is None:
            proc.terminate()  # Voila shuts its kernels down on SIGTERM
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


VIEWPORT = {"width": 1280, "height": 900}

# Training has ended when step 2 shows its summary (the model folder) and a loss curve.
FINISHED_JS = """() => {
  const summary = [...document.querySelectorAll('.ht-summary')].some(e => e.innerText.includes('Model folder'));
  const curve = document.querySelector('svg.ht-loss polyline.ht-loss-train');
  return summary && !!curve;
}"""


def step_box(page, number: int):
    """The step's VBox: the widget box holding the ``N · title`` heading of huggingtweets.ui."""
    return page.locator(".widget-vbox", has=page.locator(".ht-step-title", has_text=f"{number} ·")).first


def shoot(page, number: int, name: str) -> None:
    """Screenshot step ``number`` whole: Voila scrolls inside #rendered_cells, so grow the viewport to fit first."""
    height = page.evaluate("() => (document.getElementById('rendered_cells') || document.documentElement).scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(max(VIEWPORT["height"], height + 40), 8000)})
    try:
        step_box(page, number).screenshot(path=str(ARTIFACTS / name))
    finally:
        page.set_viewport_size(VIEWPORT)


def no_error_shown(page, where: str) -> None:
    errors = page.locator(".ht-msg.ht-error")
    assert errors.count() == 0, f"{where}: the app shows an error: {errors.first.inner_text()}"


def test_three_steps_in_a_browser(voila, tmp_path):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    for old in [*ARTIFACTS.glob("step*.png"), ARTIFACTS / "failure.png"]:
        old.unlink(missing_ok=True)
    console: list[str] = []
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh profile
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        page = context.new_page()
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        try:
            page.goto(voila["url"], timeout=PAGE_S * 1000, wait_until="commit")

            # Step 1: download (the bundled sample in demo mode) and count.
            download = page.get_by_role("button", name="Download tweets")
            download.wait_for(state="visible", timeout=PAGE_S * 1000)
            assert page.locator(".ht-header").count() == 1, "the header (title and GPU check) is not shown"
            download.click()
            table = page.locator("table.ht-data", has_text="Tweets kept").first
            table.wait_for(timeout=DATA_S * 1000)
            table_text = table.inner_text()
            for row in ("Tweets downloaded", "Retweets", "Short tweets", "Tweets kept"):
                assert row in table_text, f"the data table has no '{row}' row:\n{table_text}"
            assert "377" in table_text and "342" in table_text, f"the data table lacks the sample's counts:\n{table_text}"
            no_error_shown(page, "step 1")
            shoot(page, 1, "step1-data.png")

            # Step 2: training runs in a background thread; its updates must reach the page.
            train = page.get_by_role("button", name="Train Neural Network")
            page.wait_for_function("b => !b.disabled", arg=train.element_handle(), timeout=DATA_S * 1000)
            train.click()
            step2 = step_box(page, 2)
            step2.get_by_text(re.compile(r"step \d+/\d+ · epoch")).wait_for(timeout=120_000)  # set from the thread
            page.wait_for_function(FINISHED_JS, timeout=TRAIN_S * 1000, polling=500)
            status = step2.get_by_text(re.compile(r"step \d+/\d+ · epoch")).inner_text()
            done, total = map(int, re.search(r"step (\d+)/(\d+)", status).groups())
            assert done == total > 0, f"training ended at {status!r}"
            assert step2.locator("svg.ht-loss polyline.ht-loss-train").count() == 1, "no training-loss curve"
            no_error_shown(page, "step 2")
            assert list(voila["tmp"].glob("*/config.json")), f"no model folder in the kernel's working directory {voila['tmp']}"
            shoot(page, 2, "step2-train.png")

            # Step 3: generate; tweets come back as cards.
            run = page.get_by_role("button", name="Run predictions")
            page.wait_for_function("b => !b.disabled", arg=run.element_handle(), timeout=60_000)
            run.click()
            cards = page.locator(".ht-tweet")
            cards.first.wait_for(timeout=GENERATE_S * 1000)
            assert cards.first.locator(".ht-text").inner_text().strip(), "an empty tweet card"
            no_error_shown(page, "step 3")
            shoot(page, 3, "step3-generate.png")
        except Exception:
            try:
                page.screenshot(path=str(ARTIFACTS / "failure.png"))
            except Exception:
                pass
            print("\n--- browser console ---\n" + "\n".join(console[-50:]))
            print("\n--- voila log ---\n" + _tail(voila["log"], 8000))
            raise
        finally:
            context.close()
