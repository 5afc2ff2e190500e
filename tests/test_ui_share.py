"""Step 4 (share) without a browser: set values, click, assert (as tests/test_ui.py)."""

import base64
import html
import io
import re
import sys
import types
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")

import ipywidgets as widgets  # noqa: E402

from fake_hub import TOKEN  # noqa: E402
from huggingtweets.ui import App  # noqa: E402
from huggingtweets.ui import hand_over  # noqa: E402
from test_share import SHARED, hub, no_token  # noqa: E402,F401  (fixtures)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained(trained_app):
    """The session's app through steps 1 and 2 (conftest's ``trained_app``), then 4 tweets in step 3."""
    app = trained_app
    app.generate.part("clear").click()
    app.generate.part("n").value = 4
    app.generate.button.click()
    assert len(app.session.tweets) == 4, app.generate.part("message").value
    return app


@pytest.fixture
def app(tmp_path):
    return App(demo="tiny", output_dir=tmp_path)


def zip_from_link(html: str) -> tuple[str, zipfile.ZipFile]:
    """(the download attribute, the zip) of the data: link in ``html``."""
    m = re.search(r'<a download="([^"]+)" href="data:application/zip;base64,([A-Za-z0-9+/=]+)"', html)
    assert m, f"no zip link in {html[:300]}"
    return m.group(1), zipfile.ZipFile(io.BytesIO(base64.b64decode(m.group(2))))


# --- the contract ---------------------------------------------------------------------------
def test_contract(app):
    share = app.share
    assert isinstance(share, widgets.VBox)
    assert share.push_button.description == "Push to the Hub"
    assert share.buttons["zip"].description == "Download the model (zip)"
    assert share.preview_button.description == "Draw the preview image"
    assert isinstance(share.part("token"), widgets.Password) and not share.part("include_dataset").value and not share.part("private").value
    assert "Write tweets in step 3" in share.part("picks_box").children[0].value


@pytest.mark.parametrize("button", ["preview_button", "zip", "push_button"])
def test_before_training(app, button):
    (app.share.buttons[button] if button in app.share.buttons else getattr(app.share, button)).click()
    app.share.wait(timeout=30)
    shown = app.share.part("preview_message").value + app.share.part("messages")["zip"].value + app.share.part("push_message").value
    assert "Train a model in step 2 first." in shown and "ht-error" in shown


def test_dataset_warning_only_when_ticked(app):
    app.share.part("include_dataset").value = True
    assert "dataset.json holds the cleaned tweets" in app.share.part("dataset_warning").value
    app.share.part("include_dataset").value = False
    assert app.share.part("dataset_warning").value == ""


# --- preview ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_preview_from_ticked_tweets(trained):
    share = trained.share
    boxes = [box for box, _ in share.part("picks")]
    assert len(boxes) == 4 and [t.text for _, t in share.part("picks")] == [t.text for t in trained.session.tweets]
    assert sum(b.value for b in boxes) == sum(1 for t in trained.session.tweets[:3] if not t.near_copy)
    for box in boxes:
        box.value = False
    share.preview_button.click()
    assert "Tick at least one tweet" in share.part("preview_message").value
    boxes[1].value = True
    share.preview_button.click()
    png = trained.train.result.output_dir / "preview.png"
    assert png.is_file() and share.part("image").value == png.read_bytes() and share.part("image").layout.display == ""
    assert "ht-success" in share.part("preview_message").value and "ht-warning" not in share.part("preview_message").value
    assert share.picked() == [trained.session.tweets[1]]


def test_the_preview_says_when_no_font_has_the_glyphs(trained, monkeypatch):
    from huggingtweets import fonts

    latin = fonts.installed()[:1]  # DejaVu: no Chinese glyphs
    monkeypatch.setattr(fonts, "installed", lambda: latin)
    share = trained.share
    monkeypatch.setattr(share, "picked", lambda: ["晚霞很好看"])
    share.preview_button.click()
    shown = share.part("preview_message").value
    assert "ht-success" in shown and "ht-warning" in shown and "Chinese" in shown and "mplfonts" in shown


@pytest.mark.slow
def test_new_tweets_keep_earlier_choices(trained):
    share = trained.share
    first = share.part("picks")[0][0].value = False
    trained.generate.part("n").value = 1
    trained.generate.button.click()  # one more tweet on top
    assert len(share.part("picks")) == 5 and share.part("picks")[1][0].value is first  # the old newest, as it was left


# --- zip -----------------------------------------------------------------------------------------
def test_zip_link_holds_the_model(trained):
    share = trained.share
    share.buttons["zip"].click()
    folder = trained.train.result.output_dir
    name, zf = zip_from_link(share.part("messages")["zip"].value)
    assert name == f"{folder.name}.zip" and share.written["zip"][0].name == name
    assert {n.split("/", 1)[1] for n in zf.namelist()} == SHARED | {"preview.png", "voice.json"}  # the voice report: "not measured" for tiny
    assert all(n.startswith(f"{folder.name}/") for n in zf.namelist())
    share.buttons["zip"].click()  # again: the earlier zip is ours to replace
    assert "ht-error" not in share.part("messages")["zip"].value


def test_zip_in_colab_is_downloaded_by_colab(trained, monkeypatch):
    downloaded = []
    files = types.SimpleNamespace(download=downloaded.append)
    colab = types.ModuleType("google.colab")
    colab.files = files
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    trained.share.buttons["zip"].click()
    assert downloaded == [str(trained.share.written["zip"][0])]
    assert "Your browser is downloading" in trained.share.part("messages")["zip"].value and "data:" not in trained.share.part("messages")["zip"].value


def test_big_zip_stays_on_disk(trained, monkeypatch):
    monkeypatch.setattr(hand_over, "INLINE_LIMIT", 1000)
    trained.share.buttons["zip"].click()
    shown = html.unescape(trained.share.part("messages")["zip"].value)
    assert "too big to hand to the browser" in shown and "data:" not in shown and trained.share.written["zip"][0].is_file()
    assert trained.share.written["zip"][0].parent.name == hand_over.DOWNLOADS
    assert "Jupyter's file browser" in shown and "Voilà" not in shown


def test_in_voila_without_the_route_a_big_zip_names_no_file_browser(trained, monkeypatch):
    monkeypatch.setattr(hand_over, "INLINE_LIMIT", 1000)
    monkeypatch.setenv("VOILA_BASE_URL", "/")
    monkeypatch.setenv("VOILA_APP_PORT", "1")  # nothing answers there: the route is not offered
    trained.share.buttons["zip"].click()
    shown = html.unescape(trained.share.part("messages")["zip"].value)
    assert "too big to hand to the browser" in shown and "file browser" not in shown
    assert "voila.json" in shown and "href" not in shown


def test_voila_json_allows_the_downloads_folder_only():
    """The repo's voila.json lets Voilà serve what the app writes for the browser, and nothing
    else of ours: not an upload (someone's archive), not a model folder."""
    import json
    import re

    allow = json.loads((REPO / "voila.json").read_text())["VoilaConfiguration"]["file_allowlist"]
    served = lambda path: any(re.fullmatch(p, path, re.IGNORECASE) for p in allow)  # noqa: E731  # Voilà's own test
    assert served(f"{hand_over.DOWNLOADS}/wren.zip") and served(f"sub/{hand_over.DOWNLOADS}/wren.gguf")
    for private in ("uploads/twitter-2024.zip", "twitter-2024.zip", "wren/model.safetensors", "wren/dataset.json",
                    f"{hand_over.DOWNLOADS}/../uploads/a.zip", f"{hand_over.DOWNLOADS}/x/a.zip",
                    # a visitor's upload may have any name: an SVG served from Voilà's origin runs its script there
                    "uploads/page.svg", "uploads/me.png", "uploads/me.JPG", "wren/preview.png"):
        assert not served(private), private


class _Recorder:
    """A local HTTP server that answers every request with ``status`` (and ``location``) and
    keeps each request's path."""

    def __init__(self, status: int = 200, location: str = ""):
        import http.server
        import threading

        seen = self.paths = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self):
                seen.append(self.path)
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_HEAD

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_the_probe_asks_voila_itself_not_a_proxy_nor_where_it_redirects(tmp_path, monkeypatch):
    """The kernel asks 127.0.0.1 at Voilà's port and nothing else: not the http_proxy of its
    environment (Voilà hands the kernel its own), nor a host a redirect names; only the
    route's own 200 offers the link."""
    import socket

    monkeypatch.chdir(tmp_path)
    downloads = hand_over.downloads_folder(tmp_path)
    downloads.mkdir()
    (downloads / "w.zip").write_bytes(b"zip")
    for name in ("VOILA_SERVER_URL", "VOILA_REQUEST_URL", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VOILA_BASE_URL", "/")
    proxy, elsewhere = _Recorder(200), _Recorder(200)
    moved = _Recorder(302, f"http://127.0.0.1:{elsewhere.port}/voila/files/{hand_over.DOWNLOADS}/w.zip")
    voila = _Recorder(200)
    try:
        for name in ("http_proxy", "HTTP_PROXY"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        with socket.socket() as closed:  # a port nothing listens on
            closed.bind(("127.0.0.1", 0))
            monkeypatch.setenv("VOILA_APP_PORT", str(closed.getsockname()[1]))
        assert hand_over.voila_url(downloads / "w.zip") is None
        monkeypatch.setenv("VOILA_APP_PORT", str(moved.port))
        assert hand_over.voila_url(downloads / "w.zip") is None
        assert proxy.paths == [] and elsewhere.paths == []
        monkeypatch.setenv("VOILA_APP_PORT", str(voila.port))
        assert hand_over.voila_url(downloads / "w.zip") == f"/voila/files/{hand_over.DOWNLOADS}/w.zip"
        assert voila.paths == [f"/voila/files/{hand_over.DOWNLOADS}/w.zip"] and proxy.paths == []
    finally:
        for server in (proxy, elsewhere, moved, voila):
            server.close()


# --- GGUF ----------------------------------------------------------------------------------------
def files_from_links(shown: str) -> dict:
    """name -> bytes of every data: link in ``shown``."""
    found = re.findall(r'<a download="([^"]+)" href="data:[^;]+;base64,([A-Za-z0-9+/=]+)"', shown)
    return {name: base64.b64decode(data) for name, data in found}


def test_gguf_links_hold_the_model_and_its_modelfile(trained):
    import gguf

    share = trained.share
    share.part("options")["gguf"]["quantize"].value = "q8_0"
    share.buttons["gguf"].click()
    folder = trained.train.result.output_dir
    files = files_from_links(share.part("messages")["gguf"].value)
    assert set(files) == {f"{folder.name}.gguf", f"{folder.name}.Modelfile"}, share.part("messages")["gguf"].value[:500]
    assert share.written["gguf"][0].parent.name == hand_over.DOWNLOADS and files[f"{folder.name}.gguf"] == share.written["gguf"][0].read_bytes()
    reader = gguf.GGUFReader(share.written["gguf"][0])
    assert reader.fields["general.architecture"].contents() == "gpt2"
    modelfile = files[f"{folder.name}.Modelfile"].decode()
    assert f"FROM ./{folder.name}.gguf" in modelfile and "PARAMETER stop" in modelfile
    assert f"ollama create {folder.name} -f {folder.name}.Modelfile" in html.unescape(share.part("messages")["gguf"].value)
    share.buttons["gguf"].click()  # again: the earlier files are ours to replace
    assert "ht-error" not in share.part("messages")["gguf"].value


def test_gguf_of_a_folder_named_with_spaces(trained, tmp_path, monkeypatch):
    """A Model folder typed by hand may hold spaces, which a Modelfile's FROM line cannot: the
    page has no box for the GGUF's name, so the button names it itself."""
    import shutil

    folder = tmp_path / "my bot"
    shutil.copytree(trained.train.result.output_dir, folder)
    share = trained.share
    monkeypatch.setattr(share, "_model_folder", lambda: folder)
    share.buttons["gguf"].click()
    files = files_from_links(share.part("messages")["gguf"].value)
    assert set(files) == {"my-bot.gguf", "my-bot.Modelfile"}, share.part("messages")["gguf"].value[:500]
    assert "FROM ./my-bot.gguf" in files["my-bot.Modelfile"].decode()


def test_gguf_before_training_says_what_to_do(app):
    app.share.buttons["gguf"].click()
    assert "Train a model in step 2 first." in app.share.part("messages")["gguf"].value


# --- push ----------------------------------------------------------------------------------------
def test_push_to_the_hub(trained, hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    share = trained.share
    share.part("repo").value = "wren-bot"
    share.part("private").value = True
    share.part("include_dataset").value = True
    share.part("token").value = TOKEN
    share.push_button.click()
    assert share.part("token").value == ""  # used for this push, then cleared
    assert share.wait(timeout=120)
    assert "ht-success" in share.part("push_message").value, share.part("push_message").value
    assert f'href="{hub.url}/me/wren-bot"' in share.part("push_message").value and "private repo me/wren-bot" in share.part("push_message").value
    [commit] = hub.commits
    assert set(commit.files) == SHARED | {"preview.png", "dataset.json", "voice.json"} and hub.repos["me/wren-bot"].private
    assert share.push_button.button_style == "success" and not share.push_button.disabled


def test_a_second_push_to_the_same_repo_asks_for_the_tick(trained, hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    share = trained.share
    share.part("repo").value = "wren-bot"
    for tick, outcome in ((False, None), (False, "ht-error"), (True, "ht-success")):
        share.part("replace_repo").value = tick
        share.part("token").value = TOKEN
        share.push_button.click()
        assert share.wait(timeout=120)
        if outcome == "ht-error":
            assert "me/wren-bot already holds" in share.part("push_message").value
            assert html.escape("tick 'Replace what is in the repo' and push again") in share.part("push_message").value
            assert "--overwrite" not in share.part("push_message").value and len(hub.commits) == 1
        elif outcome:
            assert outcome in share.part("push_message").value and len(hub.commits) == 2


def test_push_errors_are_one_line_without_the_token(trained, hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    share = trained.share
    share.part("repo").value = ""  # the folder's name
    share.part("token").value = TOKEN + "x"
    share.push_button.click()
    assert share.wait(timeout=120)
    assert "refused the token (401)" in share.part("push_message").value and TOKEN not in share.part("push_message").value
    share.push_button.click()  # the box was cleared: no token anywhere now
    assert share.wait(timeout=120)
    assert "No Hugging Face token" in share.part("push_message").value
    assert hub.commits == [] and share.push_button.button_style == "danger"


def test_a_new_model_clears_the_results(trained, app):
    app.session.folder = trained.session.folder  # its own app: the shared one's step 2 stays as its run left it
    share = app.share
    share.part("messages")["zip"].value = share.part("push_message").value = "old"
    app.session.folder = trained.session.folder + "-next"
    assert share.part("messages")["zip"].value == share.part("push_message").value == "" and share.part("image").layout.display == "none"
    assert share.part("repo").placeholder.endswith("-next")
