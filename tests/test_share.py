"""Sharing a model folder: the files chosen, the Hub push (real client, local fake Hub), errors, the zip."""

import logging
import socket
import sys
import types
import zipfile
from pathlib import Path

import pytest

from fake_hub import TOKEN, FakeHub, Repo
from huggingtweets.card import render_card, retarget_card
from huggingtweets.config import TrainConfig
from huggingtweets.errors import HuggingTweetsError
from huggingtweets.share import SHARED_FILES, export_zip, find_hf_token, push_to_hub, shared_files
from huggingtweets.sources.base import Author

SHARED = {
    "README.md", "config.json", "generation_config.json", "metrics.json", "model.safetensors",
    "tokenizer.json", "tokenizer_config.json", "train_config.json",
}


# --- fixtures ----------------------------------------------------------------------------------
@pytest.fixture
def no_token(monkeypatch, tmp_path):
    """No token anywhere: no environment variable, no Hub login, no Colab."""
    from huggingface_hub import constants

    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf-home" / "stored_tokens"))
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)  # not installed here: as outside Colab
    # huggingface_hub looks things up at constants.ENDPOINT on its own (once a process): keep it local.
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(tmp_path / "hf-home" / "agent_harnesses.json"))


@pytest.fixture
def hub(monkeypatch, no_token):
    """A fake Hub on a free local port; the client online and on plain LFS (no Xet service here)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # conftest sets HF_HUB_OFFLINE=1 for the rest
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    with FakeHub() as fake:
        # As HF_ENDPOINT set before the import would: one client path (create_repo answered 403 on
        # a repo that exists) builds its URL from this constant, not from HfApi(endpoint=...).
        monkeypatch.setattr(constants, "ENDPOINT", fake.url)
        yield fake


@pytest.fixture
def leak_check(caplog, capsys, monkeypatch):
    """Assert afterwards that the token never reached a log record, stdout or stderr (client at its most verbose)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_DEBUG", True)  # the client logs every request as a curl command
    caplog.set_level(logging.DEBUG)
    hf_logger = logging.getLogger("huggingface_hub")  # does not propagate to the root logger
    hf_logger.addHandler(caplog.handler)
    old_level = hf_logger.level
    hf_logger.setLevel(logging.DEBUG)
    yield
    hf_logger.removeHandler(caplog.handler)
    hf_logger.setLevel(old_level)
    out, err = capsys.readouterr()
    assert TOKEN not in caplog.text and TOKEN not in out and TOKEN not in err


def fake_colab(monkeypatch, get):
    """Install a ``google.colab.userdata`` whose ``get`` is ``get``, with Colab's two error types."""
    userdata = types.ModuleType("google.colab.userdata")
    userdata.SecretNotFoundError = type("SecretNotFoundError", (Exception,), {})
    userdata.NotebookAccessError = type("NotebookAccessError", (Exception,), {})
    userdata.get = lambda name: get(userdata, name)
    colab = types.ModuleType("google.colab")
    colab.userdata = userdata
    monkeypatch.setitem(sys.modules, "google", sys.modules.get("google") or types.ModuleType("google"))
    monkeypatch.setattr(sys.modules["google"], "colab", colab, raising=False)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.userdata", userdata)


def assert_one_line_without_token(err):
    text = str(err.value)
    assert "\n" not in text and TOKEN not in text and TOKEN not in repr(err.value)
    assert err.value.__cause__ is None  # no chained request details under it
    assert err.value.__context__ is None or err.value.__suppress_context__


# --- which files ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_shared_files_leave_out_checkpoints_dataset_and_strays(model_dir):
    assert (model_dir / "checkpoints").is_dir() and (model_dir / "dataset.json").is_file()
    assert {p.name for p in shared_files(model_dir)} == SHARED
    assert {p.name for p in shared_files(model_dir, include_dataset=True)} == SHARED | {"dataset.json"}


def test_every_file_training_writes_is_classified(trained_folder):
    """A new file in the folder must be added to SHARED_FILES on purpose, not shared by accident."""
    from fnmatch import fnmatchcase

    for path in trained_folder.iterdir():
        kinds = [k for k, patterns in SHARED_FILES.items() if any(fnmatchcase(path.name, p) for p in patterns)]
        assert kinds, f"{path.name} is in no SHARED_FILES list"


@pytest.mark.parametrize("remove", ["config.json", "model.safetensors"])
def test_unfinished_folder_is_refused(model_dir, remove):
    (model_dir / remove).unlink()
    with pytest.raises(HuggingTweetsError, match="no finished model"):
        shared_files(model_dir)
    with pytest.raises(HuggingTweetsError, match="not a folder"):
        shared_files(model_dir / "missing")


# --- the shared card -------------------------------------------------------------------------------
def test_retarget_card_equals_a_card_rendered_for_the_repo():
    from huggingtweets.cleaning import AuthorStats

    args = ([Author("wren", "Wren")], [AuthorStats("wren", "Wren", 10, 1, 2, 7, 9000)], TrainConfig(), {})
    local = render_card(*args, model_id="/home/me/wren-bot")
    assert retarget_card(local, "me/wren-bot", "https://hub/me/wren-bot/resolve/main/preview.png") == render_card(
        *args, model_id="me/wren-bot", thumbnail="https://hub/me/wren-bot/resolve/main/preview.png"
    )
    assert retarget_card(local, "me/wren-bot") == render_card(*args, model_id="me/wren-bot")  # thumbnail kept
    no_thumb = local.replace("thumbnail:\n", "")
    assert "thumbnail: preview.png\n" in retarget_card(no_thumb, "x", "preview.png").split("---")[1]
    edited = local.split("## How to use")[0]  # a user removed the section: nothing to rewrite
    assert retarget_card(edited, "me/x") == edited


# --- push --------------------------------------------------------------------------------------------
def test_push_creates_the_repo_and_commits_only_shared_files(model_dir, hub, monkeypatch, caplog, leak_check):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    local_card = (model_dir / "README.md").read_text(encoding="utf-8")
    result = push_to_hub(model_dir, "wren-bot", endpoint=hub.url)

    assert result.repo_id == "me/wren-bot" and result.url == f"{hub.url}/me/wren-bot"
    assert set(result.files) == SHARED
    [commit] = hub.commits
    assert commit.repo == "me/wren-bot" and set(commit.files) == SHARED  # no checkpoints, dataset.json, notes.txt
    assert commit.lfs == ["model.safetensors"] and commit.files["model.safetensors"] == (model_dir / "model.safetensors").read_bytes()
    assert not hub.repos["me/wren-bot"].private
    card = commit.files["README.md"].decode("utf-8")
    assert "model='me/wren-bot'" in card and str(model_dir) not in card
    assert 'widget:\n- text: "My dream is"' in card
    assert (model_dir / "README.md").read_text(encoding="utf-8") == local_card  # the local card is untouched
    routes = {route for _, route, _ in hub.requests}
    assert {"create", "preupload", "lfs-batch", "lfs-upload", "commit"} <= routes and not any(r.startswith("unknown") for r in routes)
    assert all(auth == f"Bearer {TOKEN}" for _, route, auth in hub.requests if route in ("create", "preupload", "commit"))
    assert "curl -X POST" in caplog.text  # the leak check below saw the client's request log


def test_push_again_updates_the_same_repo(model_dir, hub):
    push_to_hub(model_dir, "wren-bot", token=TOKEN, endpoint=hub.url)
    with (model_dir / "README.md").open("a", encoding="utf-8") as card:  # the card is the one file a person edits
        card.write("\nTrained on a lighthouse keeper's logbook.\n")
    result = push_to_hub(model_dir, "me/wren-bot", token=TOKEN, endpoint=hub.url, overwrite=True)
    assert result.repo_id == "me/wren-bot" and len(hub.commits) == 2
    assert b"a lighthouse keeper's logbook" in hub.repos["me/wren-bot"].files["README.md"]
    assert hub.commits[1].lfs == ["model.safetensors"]
    assert [route for _, route, _ in hub.requests].count("lfs-upload") == 1  # the weights were stored once


def test_a_push_to_a_repo_that_holds_files_needs_the_word_and_changes_nothing_without_it(model_dir, hub):
    push_to_hub(model_dir, "wren-bot", token=TOKEN, endpoint=hub.url)
    before = {name: bytes(data) for name, data in hub.repos["me/wren-bot"].files.items()}
    (model_dir / "README.md").write_text((model_dir / "README.md").read_text() + "\nanother model\n")
    with pytest.raises(HuggingTweetsError, match=r"me/wren-bot already holds \d+ files \(.*README.md.*\): push with --overwrite") as err:
        push_to_hub(model_dir, "wren-bot", token=TOKEN, endpoint=hub.url)
    assert_one_line_without_token(err)
    assert "nothing was sent" in str(err.value)
    assert len(hub.commits) == 1 and hub.repos["me/wren-bot"].files == before
    assert [route for _, route, _ in hub.requests].count("commit") == 1


def test_push_dataset_only_on_request(model_dir, hub):
    push_to_hub(model_dir, "wren-bot", token=TOKEN, endpoint=hub.url, include_dataset=True)
    assert hub.commits[0].files["dataset.json"] == (model_dir / "dataset.json").read_bytes()


def test_push_without_the_dataset_removes_one_an_earlier_push_sent(model_dir, hub):
    push_to_hub(model_dir, "wren-bot", token=TOKEN, endpoint=hub.url, include_dataset=True)
    hub.repos["me/wren-bot"].files["notes.md"] = b"the owner's own file"
    result = push_to_hub(model_dir, "wren-bot", token=TOKEN, endpoint=hub.url, overwrite=True)
    assert result.removed == ["dataset.json"] and hub.commits[1].deleted == ["dataset.json"]
    assert set(hub.repos["me/wren-bot"].files) == SHARED | {"notes.md"}  # the owner's file stays
    assert push_to_hub(model_dir, "wren-bot", token=TOKEN, endpoint=hub.url, overwrite=True).removed == []


def test_push_with_preview_sets_the_thumbnail(model_dir, hub):
    from huggingtweets.preview import render_preview

    render_preview(["My dream is a lamp that never goes out"], [Author("wren", "Wren")], model_dir)
    push_to_hub(model_dir, "wren-bot", token=TOKEN, endpoint=hub.url)
    files = hub.commits[0].files
    assert files["preview.png"] == (model_dir / "preview.png").read_bytes() and "preview.png" in hub.commits[0].lfs
    assert f"thumbnail: {hub.url}/me/wren-bot/resolve/main/preview.png\n" in files["README.md"].decode("utf-8")


def test_private_push(model_dir, hub):
    push_to_hub(model_dir, "secret-bot", token=TOKEN, endpoint=hub.url, private=True)
    assert hub.repos["me/secret-bot"].private
    push_to_hub(model_dir, "public-bot", token=TOKEN, endpoint=hub.url)
    with pytest.raises(HuggingTweetsError, match="already exists and is public") as err:
        push_to_hub(model_dir, "public-bot", token=TOKEN, endpoint=hub.url, private=True)
    assert_one_line_without_token(err)
    assert len(hub.commits) == 2  # nothing uploaded to the public repo the second time


def test_endpoint_from_the_environment_at_call_time(model_dir, hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert push_to_hub(model_dir, "wren-bot").url == f"{hub.url}/me/wren-bot"


def test_bad_repo_name_is_refused_before_any_request(model_dir, hub):
    with pytest.raises(HuggingTweetsError, match="not a Hub repo name"):
        push_to_hub(model_dir, "a/b/c", token=TOKEN, endpoint=hub.url)
    assert hub.requests == []


# --- the token -----------------------------------------------------------------------------------------
def test_token_order(monkeypatch, no_token, tmp_path):
    from huggingface_hub import constants

    assert find_hf_token() is None
    Path(constants.HF_TOKEN_PATH).parent.mkdir(parents=True)
    Path(constants.HF_TOKEN_PATH).write_text("hf_login\n")
    assert find_hf_token() == "hf_login"  # the Hub login
    fake_colab(monkeypatch, lambda ud, name: "hf_colab" if name == "HF_TOKEN" else None)
    assert find_hf_token() == "hf_colab"  # a Colab secret beats the login
    monkeypatch.setenv("HF_TOKEN", " hf_env ")
    assert find_hf_token() == "hf_env"  # the environment beats Colab
    assert find_hf_token(" hf_arg ") == "hf_arg"  # and an explicit token beats everything


@pytest.mark.parametrize("error", ["SecretNotFoundError", "NotebookAccessError", "TimeoutError"])
def test_colab_secret_errors_fall_through(monkeypatch, no_token, error):
    def get(userdata, name):
        raise getattr(userdata, error, TimeoutError)()

    fake_colab(monkeypatch, get)
    assert find_hf_token() is None


def test_missing_token(model_dir, hub, monkeypatch, leak_check):
    with pytest.raises(HuggingTweetsError, match="No Hugging Face token: set HF_TOKEN") as err:
        push_to_hub(model_dir, "wren-bot", endpoint=hub.url)
    assert_one_line_without_token(err)
    assert hub.requests == []

    def refused(userdata, name):
        raise userdata.NotebookAccessError()

    fake_colab(monkeypatch, refused)
    with pytest.raises(HuggingTweetsError, match="has no access to it: switch it on in the Secrets panel"):
        push_to_hub(model_dir, "wren-bot", endpoint=hub.url)


# --- Hub errors: one line, never the token -------------------------------------------------------------
def test_invalid_token_401(model_dir, hub, leak_check):
    with pytest.raises(HuggingTweetsError, match=r"refused the token \(401\)") as err:
        push_to_hub(model_dir, "wren-bot", token=TOKEN + "x", endpoint=hub.url)
    assert_one_line_without_token(err)
    assert hub.commits == []


def test_read_only_token_403(model_dir, hub, leak_check):
    hub.read_only = True
    with pytest.raises(HuggingTweetsError, match=r"cannot write to wren-bot \(403\)") as err:
        push_to_hub(model_dir, "wren-bot", token=TOKEN, endpoint=hub.url)
    assert_one_line_without_token(err)
    assert hub.commits == [] and "me/wren-bot" not in hub.repos


def test_someone_elses_repo_403(model_dir, hub, leak_check):
    """Create answers 403 (another namespace); the client sees the public repo, then the upload is refused."""
    hub.repos["dril/bot"] = Repo(files={"README.md": b"theirs"})
    with pytest.raises(HuggingTweetsError, match=r"dril/bot already holds 1 file \(README.md\)"):
        push_to_hub(model_dir, "dril/bot", token=TOKEN, endpoint=hub.url)  # their files are seen first
    with pytest.raises(HuggingTweetsError, match=r"cannot write to dril/bot \(403\): the name belongs to another account") as err:
        push_to_hub(model_dir, "dril/bot", token=TOKEN, endpoint=hub.url, overwrite=True)
    assert_one_line_without_token(err)
    assert ("POST", "create", f"Bearer {TOKEN}") in hub.requests and hub.commits == []
    assert hub.repos["dril/bot"].files == {"README.md": b"theirs"}


def test_name_taken_in_an_organization_409(model_dir, hub, leak_check):
    """Create answers 409 (the name exists), the client carries on, and the upload is refused (read role)."""
    hub.orgs["lighthouse"] = "read"
    hub.repos["lighthouse/bot"] = Repo()
    with pytest.raises(HuggingTweetsError, match=r"cannot write to lighthouse/bot \(403\)") as err:
        push_to_hub(model_dir, "lighthouse/bot", token=TOKEN, endpoint=hub.url)
    assert_one_line_without_token(err)
    assert ("POST", "create", f"Bearer {TOKEN}") in hub.requests and hub.commits == []


def test_conflicting_commit_409(model_dir, hub, leak_check):
    hub.fail["commit"] = 409
    with pytest.raises(HuggingTweetsError, match=r"me/wren-bot clashes .* \(409\)") as err:
        push_to_hub(model_dir, "wren-bot", token=TOKEN, endpoint=hub.url)
    assert_one_line_without_token(err)


def test_hub_unreachable(model_dir, no_token, monkeypatch, leak_check):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(HuggingTweetsError, match=f"Cannot reach the Hugging Face Hub at http://127.0.0.1:{port}") as err:
        push_to_hub(model_dir, "wren-bot", token=TOKEN, endpoint=f"http://127.0.0.1:{port}")
    assert_one_line_without_token(err)


def test_offline_mode(model_dir, no_token, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HuggingTweetsError, match="HF_HUB_OFFLINE is set"):
        push_to_hub(model_dir, "wren-bot", token=TOKEN, endpoint="http://127.0.0.1:9")


# --- export ----------------------------------------------------------------------------------------------
def test_export_zip_unzips_to_a_folder_pipeline_loads(model_dir, tmp_path, monkeypatch):
    from transformers import pipeline

    zip_path = export_zip(model_dir, tmp_path / "out" / "wren.zip")
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        assert sorted(names) == sorted(f"wren-bot/{n}" for n in SHARED)
        zf.extractall(tmp_path / "unzipped")
    assert [p.name for p in zip_path.parent.iterdir()] == ["wren.zip"]  # no temporary file left
    card = (tmp_path / "unzipped" / "wren-bot" / "README.md").read_text(encoding="utf-8")
    assert "model='wren-bot'" in card
    monkeypatch.chdir(tmp_path / "unzipped")  # the card's snippet, verbatim, from where it was unzipped
    generator = pipeline("text-generation", model="wren-bot")
    out = generator("My dream is", max_new_tokens=5, do_sample=False)
    assert out[0]["generated_text"].startswith("My dream is")


def test_export_refuses_to_overwrite(model_dir, tmp_path):
    zip_path = tmp_path / "wren.zip"
    zip_path.write_bytes(b"an older export")
    with pytest.raises(HuggingTweetsError, match="already exists"):
        export_zip(model_dir, zip_path)
    assert zip_path.read_bytes() == b"an older export"
    export_zip(model_dir, zip_path, overwrite=True)
    assert zipfile.is_zipfile(zip_path)
    with pytest.raises(HuggingTweetsError, match="is a folder"):
        export_zip(model_dir, tmp_path)


def test_export_is_atomic(model_dir, tmp_path, monkeypatch):
    zip_path = tmp_path / "wren.zip"
    zip_path.write_bytes(b"an older export")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "open", crash)  # every member is written through open(..., "w")
    with pytest.raises(OSError, match="disk full"):
        export_zip(model_dir, zip_path, overwrite=True)
    assert zip_path.read_bytes() == b"an older export"  # the old zip survives a failed export
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_export_with_preview_and_dataset(model_dir, tmp_path):
    from huggingtweets.preview import render_preview

    render_preview(["a lamp"], [Author("wren")], model_dir)
    zip_path = export_zip(model_dir, tmp_path / "wren.zip", include_dataset=True)
    with zipfile.ZipFile(zip_path) as zf:
        assert {"wren-bot/preview.png", "wren-bot/dataset.json"} <= set(zf.namelist())
        assert zf.getinfo("wren-bot/model.safetensors").compress_type == zipfile.ZIP_STORED
        assert "thumbnail: preview.png\n" in zf.read("wren-bot/README.md").decode("utf-8")


def test_push_refused_when_the_repo_changed_since_it_was_read(model_dir, hub, monkeypatch):
    """The deletions are chosen from one state of the repo: a commit in between is a clean 412."""
    push_to_hub(model_dir, "wren-bot", token=TOKEN, endpoint=hub.url, include_dataset=True)
    real_info = hub.info

    def info_then_someone_pushes(repo, **kw):
        answer = real_info(repo, **kw)
        hub.repos[repo].head = "f" * 40  # another push lands between the read and the commit
        return answer

    monkeypatch.setattr(hub, "info", info_then_someone_pushes)
    with pytest.raises(HuggingTweetsError, match=r"changed while this push was being prepared \(412\): push again") as err:
        push_to_hub(model_dir, "wren-bot", token=TOKEN, endpoint=hub.url, overwrite=True)
    assert_one_line_without_token(err)
    assert "dataset.json" in hub.repos["me/wren-bot"].files and len(hub.commits) == 1
