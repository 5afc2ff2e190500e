"""Visitor mode: two strangers served by one app process tree never reach each other's files,
and never the server's own tokens.

Each ``App()`` here is one visitor's kernel (``HUGGINGTWEETS_SINGLE_USER=0`` turns visitor
mode on outside Voilà); the browser test drives the same through a real Voilà server.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")

from huggingtweets.ui import App  # noqa: E402
from huggingtweets.ui import share_step, visitors  # noqa: E402
from huggingtweets.ui.hand_over import DOWNLOADS  # noqa: E402

SECRET = "hf_server_own_secret_token"
X_SECRET = "AAAA-server-x-token"
TOUCHED = ("HF_TOKEN_PATH", "HF_STORED_TOKENS_PATH", "NETRC", "WANDB_CONFIG_DIR", *visitors.SERVER_SECRETS,
           "X_BEARER_TOKEN", "TWITTER_BEARER_TOKEN", visitors.WAIT_ENV)


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A shared server's folder (the notebook's), visitor mode on, the server's own tokens set."""
    from huggingface_hub import constants

    for name in TOUCHED:  # whatever a visitor's kernel changes is put back after the test
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", constants.HF_TOKEN_PATH)
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", constants.HF_STORED_TOKENS_PATH)
    monkeypatch.setenv(visitors.SINGLE_USER_ENV, "0")
    monkeypatch.delenv(visitors.FOLDER_ENV, raising=False)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setenv("X_BEARER_TOKEN", X_SECRET)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "operator-notes.txt").write_text("the operator's own file\n" * 200)
    return tmp_path


def visitor() -> App:
    return App(demo="tiny")


def fake_model(folder: Path) -> Path:
    """What ModelFolder counts as a saved model (nothing here ever loads it)."""
    folder.mkdir(parents=True)
    (folder / "train_config.json").write_text("{}")
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    (folder / "dataset.json").write_text(json.dumps({"authors": [{"train": ["a private post of A's"], "valid": []}]}))
    return folder


def download(app: App, **boxes) -> str:
    app.data.part("sample").value = False
    for name, value in boxes.items():
        if name == "path":
            app.data.files.path.value = value
        else:
            app.data.part("handles")[0].value = value
    app.data.button.click()
    return app.data.part("message").value


def test_each_visitor_has_a_private_unguessable_workspace(served):
    a, b = visitor(), visitor()
    ra, rb = Path(a.session.root), Path(b.session.root)
    assert ra != rb and ra.parent == rb.parent == served / visitors.VISITORS
    for root in (ra, rb):
        assert len(root.name) >= 32 and (root.stat().st_mode & 0o777) == 0o700
    assert Path(a.session.downloads).parent == served / DOWNLOADS and Path(a.session.downloads).name == ra.name
    assert Path(a.session.cache_dir) == ra / "cache"
    assert "private workspace" in a.header.value
    # where the app names a folder itself, it is the visitor's own
    assert Path(a.session.folder).parent == ra


def test_a_visitor_cannot_read_another_visitors_upload_or_the_servers_files(served):
    a, b = visitor(), visitor()
    theirs = Path(a.session.root) / "uploads" / "diary.txt"
    theirs.parent.mkdir()
    theirs.write_text("\n".join(f"a private line number {i} of the diary of visitor a" for i in range(300)))
    link = Path(b.session.root) / "uploads" / "mine.txt"
    link.parent.mkdir()
    link.symlink_to(theirs)
    for typed in (str(theirs), f"../{theirs.parent.parent.name}/uploads/diary.txt", "~/diary.txt",
                  str(served / "operator-notes.txt"), "../../operator-notes.txt", "uploads/mine.txt"):
        shown = download(b, path=typed)
        assert "ht-error" in shown and "inside your own workspace" in shown, (typed, shown)
        assert "private line" not in b.data.part("table").value and b.dataset is None, typed
        b.data.files.path.value = ""
    for typed in (str(theirs), "operator-notes.txt", "../operator-notes.txt"):  # a handle box holding a path
        shown = download(b, handle=typed)
        assert "ht-error" in shown and "private line" not in b.data.part("table").value and b.dataset is None, (typed, shown)
    # their own upload, by its path in the workspace, is read
    own = Path(b.session.root) / "uploads" / "own.txt"
    own.write_text("\n".join(f"my own line number {i} about the weather and the sea today" for i in range(300)))
    download(b, handle="", path="uploads/own.txt")
    assert b.dataset is not None and b.dataset.stats[0].kept == 300


def test_a_visitor_cannot_use_another_visitors_model(served, monkeypatch):
    a, b = visitor(), visitor()
    theirs = fake_model(Path(a.session.root) / "wren")
    before = {p.name: p.stat().st_mtime_ns for p in theirs.iterdir()}
    box = b.train.part("fields")["output_dir"]
    for typed in (str(theirs), f"../{theirs.parent.name}/wren"):
        box.value = typed
        assert b.session.folder == "" and "inside your own workspace" in b.train.part("message").value, typed
        b.generate.button.click()  # Run predictions: no model of theirs to write from
        assert "Train a model in step 2 first" in b.generate.part("message").value and "private post" not in b.generate.part("results").value
        b.share.buttons["zip"].click()  # Download the model: nothing of theirs zipped
        assert "Train a model in step 2 first" in b.share.part("messages")["zip"].value
        b.share.buttons["gguf"].click()
        assert "Train a model in step 2 first" in b.share.part("messages")["gguf"].value
        b.train.part("overwrite").value = True  # Replace: never over their folder
        b.train.button.click()
        assert "inside your own workspace" in b.train.part("message").value and not b.train.running
    # a model path of theirs in the Model box is refused too (a Hub name is not)
    box.value = "mine"
    b.train.part("fields")["model"].value = str(theirs)
    with pytest.raises(Exception, match="inside your own workspace"):
        b.train.config_from_widgets()
    b.train.part("fields")["model"].value = "HuggingFaceTB/SmolLM2-135M"
    assert b.train.config_from_widgets().model == "HuggingFaceTB/SmolLM2-135M"
    # and the session itself never takes a folder outside the workspace, whoever sets it
    b.session.folder = str(theirs)
    assert b.session.folder == ""
    assert {p.name: p.stat().st_mtime_ns for p in theirs.iterdir()} == before
    assert not any(Path(served / DOWNLOADS).rglob("*.zip"))


def test_the_servers_tokens_are_never_used_for_a_visitor(served, monkeypatch):
    app = visitor()
    for name in ("HF_TOKEN", "X_BEARER_TOKEN"):
        assert name not in os.environ
    from huggingface_hub import get_token

    assert get_token() is None  # neither the variable nor the server's login file
    # an X handle with the token box empty: the server's X token is not used
    app.data.part("handles")[0].value = "@jack"
    assert "this server's is not used" in app.data.part("token").placeholder
    shown = download(app, handle="@jack")
    assert "No X bearer token" in shown and X_SECRET not in shown
    # a push with the token box empty asks for the visitor's own, before anything is sent
    pushed = []
    monkeypatch.setattr(share_step, "push_to_hub", lambda *a, **k: pushed.append(k))
    app.share.push_button.click()
    app.share.wait(30)
    assert "Type your Hugging Face token" in app.share.part("push_message").value and pushed == []
    # a stranger's page does not wait out long rate limits (the sources read the same variable)
    from huggingtweets.sources import http

    assert visitors.WAIT_ENV == http.WAIT_ENV and http.wait_cap() == visitors.VISITOR_WAIT_S
    # W&B would log to the server's account
    tracker = app.train.part("fields")["report_to"]
    tracker.value = True
    assert tracker.disabled and app.train.config_from_widgets().report_to == "none"


def test_a_workspace_past_its_cap_starts_nothing_more(served, monkeypatch):
    monkeypatch.setenv(visitors.DISK_ENV, "1")
    app = visitor()
    (Path(app.session.root) / "big.bin").write_bytes(b"\0" * 1_500_000)
    app.data.part("sample").value = True
    app.data.button.click()
    shown = app.data.part("message").value
    assert "ht-error" in shown and "its cap on this server (1.0 MB)" in shown and app.dataset is None


def test_workspaces_of_ended_kernels_are_swept(served):
    base, downloads = served / visitors.VISITORS, served / DOWNLOADS
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    now = time.time()
    cases = {"dead": (int(ended.stdout), now - 3600), "alive": (os.getpid(), now - 3600),
             "old": (os.getpid(), now - 3 * 86400), "young-dead": (int(ended.stdout), now - 5)}
    for name, (pid, started) in cases.items():
        (base / name).mkdir(parents=True)
        (base / name / visitors.OWNER).write_text(json.dumps({"pid": pid, "started": started}))
        (downloads / name).mkdir(parents=True)
    gone = visitors.sweep(base, downloads, max_age_s=86400, now=now)
    assert sorted(gone) == ["dead", "old"]
    assert sorted(p.name for p in base.iterdir()) == ["alive", "young-dead"]
    assert sorted(p.name for p in downloads.iterdir()) == ["alive", "young-dead"]
    # a new visitor sweeps too; its own workspace goes when its kernel ends
    app = visitor()
    root = Path(app.session.root)
    app.session.workspace.remove()
    assert not root.exists() and not Path(app.session.downloads).exists()


def test_one_persons_server_and_jupyter_stay_single_user(served, monkeypatch, tmp_path):
    monkeypatch.setenv(visitors.SINGLE_USER_ENV, "1")
    monkeypatch.setenv("VOILA_BASE_URL", "/")  # under Voilà, but the operator said it is theirs
    app = App(demo="tiny", output_dir=tmp_path)
    assert app.session.workspace is None and os.environ.get("HF_TOKEN") == SECRET
    monkeypatch.delenv(visitors.SINGLE_USER_ENV)
    monkeypatch.delenv("VOILA_BASE_URL")
    monkeypatch.delenv("SERVER_SOFTWARE", raising=False)
    assert App(demo="tiny", output_dir=tmp_path).session.workspace is None  # Jupyter: one person
    assert visitors.visitor_mode("voila") and not visitors.visitor_mode("jupyter")


def test_voila_serves_a_visitors_downloads_folder_only():
    import re

    allow = json.loads((Path(__file__).resolve().parent.parent / "voila.json").read_text())["VoilaConfiguration"]["file_allowlist"]
    served = lambda path: any(re.fullmatch(p, path, re.IGNORECASE) for p in allow)  # noqa: E731
    token = "x" * 32
    assert served(f"{DOWNLOADS}/{token}/wren.zip") and served(f"{DOWNLOADS}/{token}/wren.Modelfile")
    for private in (f"{DOWNLOADS}/{token}/../x/wren.zip", f"{visitors.VISITORS}/{token}/uploads/a.zip",
                    f"{visitors.VISITORS}/{token}/wren/model.safetensors", f"{DOWNLOADS}/short/wren.zip",
                    f"{DOWNLOADS}/{token}/sub/wren.zip"):
        assert not served(private), private
