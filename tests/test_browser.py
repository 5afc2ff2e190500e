"""The demo notebook served by Voila and driven by a real (headless) Chromium.

Demo mode (the CPU "tiny" model): the first screen (1280x800) shows step 1's controls,
in light and in dark mode; upload a generated 100 MB X archive through step 1's chunked
upload, click "Download tweets", wait for the data table; click "Train Neural Network",
wait for training to end (its updates come from a background thread and must still
reach the page) and check the archive's long post was trained on in full; click "Run
predictions", wait for the tweet cards, open a nearest training tweet, copy a tweet; in
step 4 draw the preview image, download the zip through its link (the browser's own
download), and push to a local fake Hub (``fake_hub.py``, whose URL reaches the kernel
through its environment; its fake token is typed into the page). Then switch authors (the sample instead of
the archive): steps 2 to 4 must forget the archive's folder, plot, tweets and preview;
train the sample for a few steps, Stop, Resume, and check that the plot holds every
logged loss. Last, at 600 px wide, no message may be cut off. Voilà serves strangers by
default, so the page works in its own workspace and pushes with a token typed in it; a
second test opens two pages (two visitors) and checks that neither reaches the other's
files. Screenshots go to ``test-artifacts/``.

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
import zipfile
from pathlib import Path

import pytest

from archive_fixtures import AVATAR, archive_members, cut_short, js_text, note_item, note_time, tweet_at
from conftest import demo_env, make_texts
from fake_hub import TOKEN, FakeHub
from fake_networks import FakeNetworks, bluesky_feed

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "huggingtweets-demo.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

SERVER_START_S = 90
UPLOAD_S = 300  # 100 MB in 2 MiB pieces: seconds on an idle machine
PADDING_BYTES = 100 * 1024 * 1024  # media the reader must never load
ARCHIVE_TWEETS = 400
LONG_POST = " ".join(
    f"Entry {i}: the keeper logged the weather, the gulls and the bread, and the lamp burned until dawn."
    for i in range(14)
) + " The last line of this long post says the boats all came home."
PAGE_S = 240  # Voila runs the notebook (imports torch, transformers) before the widgets show
DATA_S = 120
TRAIN_S = 480  # the tiny model, 10 epochs: about a minute on 2 idle cores, minutes on a busy machine
GENERATE_S = 180

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no system Chromium at {CHROMIUM} (apt-get install chromium)")]


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
    shutil.copy(ROOT / "voila.json", tmp / "voila.json")  # started where it is, as README says: its file route
    port = free_port()
    hub = FakeHub()  # step 4 pushes here: the kernel's Hub is this local stand-in, its token a fake one
    hub.__enter__()
    networks = FakeNetworks()  # step 1 reads a Bluesky account here, through the AppView variable
    networks.__enter__()
    networks.bluesky_account("wren.bsky.social", bluesky_feed(150))
    env = {
        **os.environ, **demo_env(tmp), "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config"),  # no user config
        "HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_XET": "1",
        "HUGGINGTWEETS_BLUESKY_API": networks.url,
    }
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
        yield {"url": url, "tmp": tmp, "log": log, "hub": hub, "networks": networks}
    finally:
        hub.__exit__(None, None, None)
        networks.__exit__(None, None, None)
        if proc.poll() is None:
            proc.terminate()  # Voila shuts its kernels down on SIGTERM
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def write_big_archive(folder: Path) -> Path:
    """A 2022-style X archive of invented tweets, one long post (its full text only in
    note-tweet.js), and a ~100 MB media member stored uncompressed (generated, never committed)."""
    import zipfile

    created = "Thu Nov 03 10:00:00 +0000 2022"
    tweets = [tweet_at(str(5000 + i), f"{text} (day {i})", f"Wed Oct 12 09:{i // 60 % 60:02d}:{i % 60:02d} +0000 2022") for i, text in enumerate(make_texts(ARCHIVE_TWEETS - 1, seed=3))]
    tweets.append(tweet_at("9000", cut_short(LONG_POST), created))
    members = archive_members("2022", tweets)
    members["data/note-tweet.js"] = js_text("note_tweet.part0", [note_item(LONG_POST, note_time(created))])
    members["data/profile_media/1-" + AVATAR.rsplit("/", 1)[-1]] = avatar_jpeg()  # the one media file the app reads
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "twitter-2024-01-01-abc123.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
        padding = zipfile.ZipInfo("data/tweets_media/9000-padding.mp4", (2022, 11, 3, 10, 0, 0))
        padding.compress_type = zipfile.ZIP_STORED
        with zf.open(padding, "w", force_zip64=True) as member:
            block = bytes(1024 * 1024)
            for _ in range(PADDING_BYTES // len(block)):
                member.write(block)
    return path


def avatar_jpeg() -> bytes:
    """An invented avatar: a lighthouse-ish drawing (a tower and a lamp on a sky)."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (400, 400), (70, 130, 180))
    draw = ImageDraw.Draw(image)
    draw.polygon([(160, 360), (240, 360), (225, 140), (175, 140)], fill=(245, 245, 245))
    draw.rectangle([165, 100, 235, 140], fill=(250, 200, 40))
    draw.rectangle([0, 360, 400, 400], fill=(30, 60, 90))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


VIEWPORT = {"width": 1280, "height": 800}

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


def inside_viewport(page, locator, what: str) -> None:
    box = locator.bounding_box()
    assert box, f"{what} is not shown"
    assert 0 <= box["y"] and box["y"] + box["height"] <= VIEWPORT["height"] and box["x"] + box["width"] <= VIEWPORT["width"], (
        f"{what} is not on the first screen ({VIEWPORT['width']}x{VIEWPORT['height']}): {box}"
    )


def brightness(css_colour: str) -> float:
    """0 (black) to 255 (white) for an ``rgb(...)``/``rgba(...)`` colour."""
    r, g, b = (float(v) for v in re.findall(r"[\d.]+", css_colour)[:3])
    return 0.299 * r + 0.587 * g + 0.114 * b


PAGE_COLOURS_JS = """() => {
  const background = getComputedStyle(document.body).backgroundColor;
  const title = getComputedStyle(document.querySelector('.ht-step-title')).color;
  return [background, title];
}"""


def shoot_dark(page, name: str, number: int = 0) -> None:
    """The same page with the browser in dark mode (prefers-color-scheme), then back to light."""
    page.emulate_media(color_scheme="dark")
    try:
        background, title = page.evaluate(PAGE_COLOURS_JS)
        assert brightness(background) < 60 and brightness(title) > 180, f"not dark: background {background}, titles {title}"
        if number:
            shoot(page, number, name)
        else:
            page.screenshot(path=str(ARTIFACTS / name))
    finally:
        page.emulate_media(color_scheme="light")


SWITCH_STEPS, SWITCH_LOGGING = 30, 2  # the stop-and-resume run: short, with a loss logged every other step

# Text cut off at the right edge: a single-line label (ipywidgets' Label never wraps) or a
# message box whose content is wider than the box.
CUT_OFF_JS = """() => [...document.querySelectorAll('.widget-label, .ht-msg, .widget-html-content, .ht-note')]
  .filter(e => e.offsetParent !== null && e.innerText.trim() && e.scrollWidth > e.clientWidth + 1)
  .map(e => `${e.className}: ${e.innerText.trim().slice(0, 80)} (${e.scrollWidth} > ${e.clientWidth})`)"""


BIG_ZIP = 50_000_000  # bytes: over what a page can take as a data: URL


def big_model_folder(folder: Path) -> Path:
    """A model folder whose zip is over ``BIG_ZIP``, written by the real training path (one step
    of a 576-wide GPT-2 with the tiny tokenizer: about 16 M weights, 64 MB in fp32)."""
    import torch
    from conftest import make_texts, tweet_dataset
    from transformers import GPT2Config, GPT2LMHeadModel

    from huggingtweets.config import TrainConfig
    from huggingtweets.models import train_tokenizer
    from huggingtweets.training import fine_tune

    tokenizer = train_tokenizer(make_texts(400), vocab_size=300)
    eos = tokenizer.eos_token_id
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=128, n_embd=576, n_layer=4, n_head=4,
                        bos_token_id=eos, eos_token_id=eos)
    torch.manual_seed(0)
    base = folder / "wide-base"
    GPT2LMHeadModel(config).save_pretrained(base)
    tokenizer.save_pretrained(base)
    out = folder / "wide_wren"
    fine_tune(TrainConfig(model=str(base), output_dir=str(out), max_steps=1, epochs=1, batch_size=2, block_size=64,
                          save_steps=100, report_to="none", precision="fp32"), tweet_dataset())
    return out


def logged_steps(max_steps: int, every: int) -> list[int]:
    """The steps the Trainer logs a training loss at (``logging_first_step``, then every ``every``)."""
    return sorted({1} | set(range(every, max_steps + 1, every)))


def train_points(step2) -> int:
    """How many points the training-loss polyline of step 2's plot has."""
    line = step2.locator("svg.ht-loss polyline.ht-loss-train")
    return len(line.get_attribute("points").split()) if line.count() else 0


def workspaces(voila) -> set[Path]:
    base = voila["tmp"] / "huggingtweets-visitors"
    return set(base.iterdir()) if base.is_dir() else set()


def own_workspace(voila, before: set[Path]) -> Path:
    """The workspace the page's kernel made (visitor mode, Voilà's default)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = workspaces(voila) - before
        if len(new) == 1:
            return new.pop()
        time.sleep(0.5)
    raise AssertionError(f"no single new visitor workspace: {sorted(p.name for p in workspaces(voila) - before)}")


def downloads_of(voila, space: Path) -> Path:
    return voila["tmp"] / "huggingtweets-downloads" / space.name


def test_four_steps_in_a_browser(voila, tmp_path):
    import json

    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    for old in [*ARTIFACTS.glob("step*.png"), *ARTIFACTS.glob("first-screen*.png"), ARTIFACTS / "failure.png"]:
        old.unlink(missing_ok=True)
    archive = write_big_archive(tmp_path / "archive")
    assert archive.stat().st_size > PADDING_BYTES
    console: list[str] = []
    before, space = workspaces(voila), None
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh profile
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
            color_scheme="light",
            permissions=["clipboard-read", "clipboard-write"],
        )
        page = context.new_page()
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        try:
            page.goto(voila["url"], timeout=PAGE_S * 1000, wait_until="commit")

            # The first screen: step 1's controls without scrolling, light and dark.
            download = page.get_by_role("button", name=re.compile(r"Download (tweets|posts)"))  # the typed network's word
            download.wait_for(state="visible", timeout=PAGE_S * 1000)
            space = own_workspace(voila, before)  # Voilà serves strangers: this page's kernel has its own folders
            upload_button = page.locator(".ht-upload-button")
            upload_button.wait_for(state="visible", timeout=60_000)  # the upload widget's own script ran
            assert page.locator(".ht-header").count() == 1, "the header (the machine's notes) is not shown"
            assert page.locator(".ht-step-title", has_text="1 · Download tweets").count() == 1
            handle_box = step_box(page, 1).locator("input[type=text]").first
            inside_viewport(page, handle_box, "step 1's first control (the handle box)")
            inside_viewport(page, upload_button, "the upload button")
            inside_viewport(page, download, "the Download tweets button")
            page.screenshot(path=str(ARTIFACTS / "first-screen.png"))
            shoot_dark(page, "first-screen-dark.png")

            # Step 1: a Bluesky handle needs no token (no token box shows); its table comes from the local AppView.
            page.get_by_label("Use the sample archive (a fictional account)").uncheck()
            handle_box.fill("@wren.bsky.social")
            handle_box.press("Tab")
            assert step_box(page, 1).locator("input[type=password]").count() == 0 or not step_box(page, 1).locator("input[type=password]").is_visible()
            download.click()
            table = page.locator("table.ht-data", has_text="@wren.bsky.social").first
            table.wait_for(timeout=DATA_S * 1000)
            assert re.search(r"Posts downloaded\s+150\b", table.inner_text()), table.inner_text()  # Bluesky's words
            shoot(page, 1, "step1-bluesky.png")
            networks = voila["networks"]
            assert networks.count("getAuthorFeed") == 2 and networks.count("getProfile") == 1
            handle_box.fill("")

            # Then upload the 100 MB archive (in pieces) instead, and count it.
            page.locator("input.ht-upload-input").set_input_files(str(archive))
            page.get_by_text(f"Uploaded: {archive.name}").wait_for(timeout=UPLOAD_S * 1000)
            uploaded = space / "uploads" / archive.name
            assert uploaded.stat().st_size == archive.stat().st_size
            download.click()
            # The archive's own table (its handle), not step 1's Bluesky table from before the click reached the kernel.
            table = page.locator("table.ht-data", has_text="@inventedbird").first
            table.wait_for(timeout=DATA_S * 1000)
            table_text = table.inner_text()
            for row in ("Tweets downloaded", "Retweets", "Short tweets", "Tweets kept"):
                assert row in table_text, f"the data table has no '{row}' row:\n{table_text}"
            assert re.search(rf"Tweets downloaded\s+{ARCHIVE_TWEETS}\b", table_text), f"the data table lacks the archive's count:\n{table_text}"
            assert "@inventedbird" in table_text
            picture = table.locator(".ht-avatar img")  # the archive's own avatar file, as a data URI
            assert picture.get_attribute("src").startswith("data:image/jpeg;base64,")
            assert page.evaluate("img => img.complete && img.naturalWidth > 0", picture.element_handle()), "the archive's avatar did not load"
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
            assert re.search(r"elapsed \d+:\d\d · ETA", status), f"no elapsed time beside the ETA: {status!r}"
            assert step2.locator("svg.ht-loss polyline.ht-loss-train").count() == 1, "no training-loss curve"
            assert step2.locator("svg.ht-loss").bounding_box()["width"] >= 600, "the loss plot is too small to read"
            no_error_shown(page, "step 2")
            folder = space / "inventedbird"
            assert (folder / "config.json").exists(), f"no model folder {folder}"
            trained_on = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
            texts = [t for author in trained_on["authors"] for t in author["train"] + author["valid"]]
            assert any(t.endswith("the boats all came home.") and len(t) > 1000 for t in texts), "the long post was not trained on in full"
            shoot(page, 2, "step2-train.png")

            # Step 3: generate; tweets come back as cards with the nearest tweet and a copy button.
            run = page.get_by_role("button", name="Run predictions")
            page.wait_for_function("b => !b.disabled", arg=run.element_handle(), timeout=60_000)
            run.click()
            cards = page.locator(".ht-tweet")
            cards.first.wait_for(timeout=GENERATE_S * 1000)
            card = cards.first
            text = card.locator(".ht-text").inner_text().strip()
            assert text, "an empty tweet card"
            nearest = card.locator("details.ht-nearest")
            nearest.locator("summary").click()
            assert nearest.locator("blockquote").is_visible() and nearest.locator("blockquote").inner_text().strip()
            card.get_by_role("button", name="Copy").click()
            card.get_by_role("button", name="Copied").wait_for(timeout=5_000)
            assert page.evaluate("() => navigator.clipboard.readText()").strip() == text
            no_error_shown(page, "step 3")
            shoot(page, 3, "step3-generate.png")
            shoot_dark(page, "step3-generate-dark.png", 3)

            # Step 4: a preview image from the ticked tweets, the zip as a download, a push to the fake Hub.
            step4 = step_box(page, 4)
            step4.get_by_role("button", name="Draw the preview image").click()
            step4.locator(".ht-msg.ht-success", has_text="preview.png").wait_for(timeout=60_000)
            assert step4.locator("img").count() >= 1, "the preview image is not shown"
            step4.get_by_role("button", name="Download the model (zip)").click()
            save = step4.get_by_role("link", name=re.compile(r"^Save .+\.zip$"))
            save.wait_for(timeout=60_000)
            with page.expect_download(timeout=60_000) as download:
                save.click()
            zip_path = tmp_path / download.value.suggested_filename
            download.value.save_as(zip_path)
            folder = next(space.glob("*/config.json")).parent
            with zipfile.ZipFile(zip_path) as zf:
                names = set(zf.namelist())
            assert {f"{folder.name}/model.safetensors", f"{folder.name}/README.md", f"{folder.name}/preview.png"} <= names, names
            assert not any("checkpoint" in n or n.endswith("dataset.json") for n in names), names
            # Beside it, the model for Ollama / llama.cpp: a GGUF and its Modelfile through the page.
            step4.get_by_role("button", name="Download for Ollama / llama.cpp (GGUF)").click()
            for suffix, head in ((".gguf", b"GGUF"), (".Modelfile", f"FROM ./{folder.name}.gguf".encode())):
                save = step4.get_by_role("link", name=f"Save {folder.name}{suffix}")
                save.wait_for(timeout=120_000)
                with page.expect_download(timeout=60_000) as download:
                    save.click()
                got = tmp_path / download.value.suggested_filename
                download.value.save_as(got)
                assert got.read_bytes().startswith(head) if suffix == ".gguf" else head in got.read_bytes(), suffix
                assert got.read_bytes() == (downloads_of(voila, space) / got.name).read_bytes()
            # The push: a visitor's own token (the server's HF_TOKEN is never used for a visitor).
            step4.get_by_role("button", name="Push to the Hub").click()
            step4.locator(".ht-error", has_text="Type your Hugging Face token").wait_for(timeout=30_000)
            step4.get_by_label("Hugging Face token").fill(TOKEN)
            step4.get_by_role("button", name="Push to the Hub").click()  # repo: the folder's name
            repo_url = f"{voila['hub'].url}/me/{folder.name}"
            step4.locator(f'a[href="{repo_url}"]').wait_for(timeout=120_000)
            [commit] = voila["hub"].commits
            assert commit.files["model.safetensors"] == (folder / "model.safetensors").read_bytes()
            assert "preview.png" in commit.files and "dataset.json" not in commit.files
            no_error_shown(page, "step 4")
            shoot(page, 4, "step4-share.png")

            # Other authors: the sample instead of the archive. Steps 2 to 4 forget the archive's
            # folder, plot, tweets and preview (the sample's folder holds nothing yet).
            page.get_by_role("button", name="Forget uploads").click()
            page.get_by_label("Use the sample archive (a fictional account)").check()
            page.get_by_role("button", name=re.compile(r"Download (tweets|posts)")).click()
            page.locator("table.ht-data", has_text="@wren_lighthouse").first.wait_for(timeout=DATA_S * 1000)
            folder_box = step2.get_by_label("Model folder", exact=True)
            page.wait_for_function("e => e.value.endsWith('/wren_lighthouse')", arg=folder_box.element_handle(), timeout=30_000)
            page.locator(".ht-tweet").first.wait_for(state="detached", timeout=30_000)  # the updates arrive in turn
            step4.get_by_text("Write tweets in step 3 to choose some here.").wait_for(timeout=30_000)
            for number in (2, 3, 4):
                try:  # each step's updates reach the page in turn: give the last of them time to land
                    page.wait_for_function("e => !/inventedbird|Invented Bird/.test(e.innerText)",
                                           arg=step_box(page, number).element_handle(), timeout=30_000, polling=250)
                except Exception:
                    pass  # the assertion below says what is still shown
                shown = step_box(page, number).inner_text()
                assert "inventedbird" not in shown and "Invented Bird" not in shown, f"step {number} still shows the archive's author:\n{shown}"
            assert step2.locator("svg.ht-loss").count() == 0, "step 2 still shows the old run's loss plot"
            assert "Held-out loss" not in step2.inner_text()
            assert not step4.locator("img").first.is_visible(), "step 4 still shows the old preview image"
            no_error_shown(page, "after switching authors")

            # Stop, then Resume: the plot holds every logged step, and the status line says the latest loss.
            step2.locator("span", has_text=re.compile(r"^Advanced$")).click()  # the accordion's header
            for label, value in (("Max steps (-1: all)", SWITCH_STEPS), ("Logging steps", SWITCH_LOGGING)):
                box = step2.get_by_label(label, exact=True)
                box.fill(str(value))
                box.press("Tab")  # number boxes send their value when left
            train.click()
            step2.get_by_text(re.compile(rf"step [1-9]\d*/{SWITCH_STEPS} · epoch")).wait_for(timeout=120_000)
            step2.get_by_role("button", name="Stop").click()
            step2.get_by_text(re.compile("Stopped: a checkpoint is saved")).wait_for(timeout=TRAIN_S * 1000)
            status = step2.get_by_text(re.compile(rf"step \d+/{SWITCH_STEPS} · epoch")).inner_text()
            stopped_at = int(re.search(r"step (\d+)/", status).group(1))
            assert 0 < stopped_at < SWITCH_STEPS, f"the run was not stopped before its end: {status!r}"
            logged = [s for s in logged_steps(SWITCH_STEPS, SWITCH_LOGGING) if s <= stopped_at]
            assert train_points(step2) == len(logged), f"stopped at {stopped_at}: the plot lacks logged losses"
            of_step = re.search(r"loss [\d.]+(?: \(step (\d+)\))?", status)
            assert of_step and int(of_step.group(1) or stopped_at) == logged[-1], f"the status line's loss is not the latest logged: {status!r}"
            assert step2.get_by_label("Resume the unfinished run").is_checked()
            shoot(page, 2, "step2-stopped.png")
            train.click()  # resume
            step2.get_by_text(re.compile(rf"step {SWITCH_STEPS}/{SWITCH_STEPS} · epoch")).wait_for(timeout=TRAIN_S * 1000)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.ht-summary')].some(e => e.innerText.includes('Model folder') && !e.innerText.includes('Stopped'))",
                timeout=TRAIN_S * 1000, polling=500)
            assert train_points(step2) == len(logged_steps(SWITCH_STEPS, SWITCH_LOGGING)), "after Resume the plot lacks steps logged before the Stop"
            no_error_shown(page, "after resuming")
            shoot(page, 2, "step2-resumed.png")

            # A narrow window (600 px): messages wrap, none is cut off.
            page.set_viewport_size({"width": 600, "height": VIEWPORT["height"]})
            try:
                cut = page.evaluate(CUT_OFF_JS)
                assert cut == [], "cut off at 600 px:\n" + "\n".join(cut)
            finally:
                page.set_viewport_size(VIEWPORT)

            # A model whose zip is over 50 MB: through Voilà's file route (voila.json), streamed to the browser.
            wide = big_model_folder(space)
            folder_box = step2.get_by_label("Model folder", exact=True)
            folder_box.fill(str(wide))
            folder_box.press("Tab")
            step4.get_by_role("button", name="Download the model (zip)").click()
            save = step4.get_by_role("link", name=f"Save {wide.name}.zip")
            save.wait_for(timeout=120_000)
            assert f"/voila/files/huggingtweets-downloads/{space.name}/" in save.get_attribute("href")
            with page.expect_download(timeout=120_000) as download:
                save.click()
            big_zip = tmp_path / download.value.suggested_filename
            download.value.save_as(big_zip)
            written = downloads_of(voila, space) / f"{wide.name}.zip"
            assert big_zip.stat().st_size > BIG_ZIP and big_zip.read_bytes() == written.read_bytes()
            with zipfile.ZipFile(big_zip) as zf:
                assert zf.testzip() is None and f"{wide.name}/model.safetensors" in zf.namelist()
            no_error_shown(page, "after the big zip")
            big_zip.unlink()
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
            for big in (archive, *((space / "uploads").glob(archive.name) if space else ())):
                big.unlink(missing_ok=True)


def test_two_visitors_of_one_server_are_kept_apart(voila, tmp_path):
    """Two pages of one Voilà server are two strangers: B can neither read A's upload, nor
    generate from, download or overwrite A's model, by any path typed into the page."""
    import json

    from playwright.sync_api import sync_playwright

    diary = tmp_path / "diary.txt"
    diary.write_text("\n".join(f"visitor a's private diary, line {i}, about the harbour and the boats" for i in range(200)))
    before = workspaces(voila)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            a_page, b_page = browser.new_context(viewport=VIEWPORT).new_page(), browser.new_context(viewport=VIEWPORT).new_page()
            a_page.goto(voila["url"], timeout=PAGE_S * 1000, wait_until="commit")
            a_page.get_by_role("button", name="Download tweets").wait_for(state="visible", timeout=PAGE_S * 1000)
            a_space = own_workspace(voila, before)
            b_page.goto(voila["url"], timeout=PAGE_S * 1000, wait_until="commit")
            b_page.get_by_role("button", name="Download tweets").wait_for(state="visible", timeout=PAGE_S * 1000)
            b_space = own_workspace(voila, before | {a_space})
            assert a_space != b_space

            # A uploads a diary and has a model (its files, as training leaves them).
            a_page.locator(".ht-upload-button").wait_for(state="visible", timeout=60_000)
            a_page.locator("input.ht-upload-input").set_input_files(str(diary))
            a_page.get_by_text("Uploaded: diary.txt").wait_for(timeout=UPLOAD_S * 1000)
            a_model = a_space / "wren"
            a_model.mkdir()
            for name, text in (("train_config.json", "{}"), ("config.json", json.dumps({"model_type": "gpt2"})),
                               ("dataset.json", json.dumps({"authors": [{"train": ["a private post of A's"], "valid": []}]}))):
                (a_model / name).write_text(text)
            before_files = {f: f.stat().st_mtime_ns for f in a_space.rglob("*") if f.is_file()}

            # B types A's paths: every one refused in one line, nothing of A's shown.
            b_page.get_by_label("Use the sample archive (a fictional account)").uncheck()
            path_box = step_box(b_page, 1).get_by_label("or a path", exact=True)
            for typed in (str(a_space / "uploads" / "diary.txt"), f"../{a_space.name}/uploads/diary.txt"):
                path_box.fill(typed)
                path_box.press("Tab")
                b_page.get_by_role("button", name="Download tweets").click()
                step_box(b_page, 1).locator(".ht-msg.ht-error", has_text="inside your own workspace").wait_for(timeout=DATA_S * 1000)
                assert "diary" not in step_box(b_page, 1).locator("table.ht-data").all_inner_texts().__str__()
            step2, step3, step4 = (step_box(b_page, n) for n in (2, 3, 4))
            folder_box = step2.get_by_label("Model folder", exact=True)
            folder_box.fill(str(a_model))
            folder_box.press("Tab")
            step2.locator(".ht-msg.ht-error", has_text="inside your own workspace").wait_for(timeout=30_000)
            step3.get_by_role("button", name="Run predictions").click()
            step3.locator(".ht-msg.ht-error", has_text="Train a model in step 2 first").wait_for(timeout=60_000)
            assert "private post" not in step3.inner_text()
            step4.get_by_role("button", name="Download the model (zip)").click()
            step4.locator(".ht-msg.ht-error", has_text="Train a model in step 2 first").wait_for(timeout=60_000)
            step2.get_by_role("button", name="Train Neural Network").click()  # over A's folder: refused
            step2.locator(".ht-msg.ht-error", has_text="inside your own workspace").wait_for(timeout=30_000)

            assert {f: f.stat().st_mtime_ns for f in a_space.rglob("*") if f.is_file()} == before_files, "A's files changed"
            assert not any(downloads_of(voila, b_space).iterdir()), "B was handed a file"
            assert not (b_space / "uploads").exists() or not any((b_space / "uploads").iterdir())
        except Exception:
            print("\n--- voila log ---\n" + _tail(voila["log"], 8000))
            raise
        finally:
            browser.close()
