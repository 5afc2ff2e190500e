"""Exports and pushes that must not happen: into the model folder, through symlinks, of files the
save did not write or that changed since. Each is one line, leaves the folder as it was, sends nothing."""

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from fake_hub import TOKEN
from huggingtweets.cli import main
from huggingtweets.errors import HuggingTweetsError
from huggingtweets.folder import INCOMPLETE, MANIFEST
from huggingtweets.generation import load_generator
from huggingtweets.share import export_zip, push_to_hub, shared_files
from test_share import SHARED, hub, no_token  # noqa: F401  (fixtures)


def snapshot(folder: Path) -> dict:
    """Every entry under ``folder``: what a link points to, a file's sha256."""
    out = {}
    for p in sorted(folder.rglob("*")):
        key = str(p.relative_to(folder))
        if p.is_symlink():
            out[key] = "-> " + os.readlink(p)
        elif p.is_file():
            out[key] = hashlib.sha256(p.read_bytes()).hexdigest() if p.stat().st_size < 1 << 28 else p.stat().st_size
    return out


def refused(capsys, argv, *parts) -> str:
    """``main(argv)`` fails with one ``error:`` line holding ``parts``, and no traceback."""
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: ") and captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err and all(part in captured.err for part in parts), captured.err
    return captured.err


def manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text())


@pytest.fixture
def pushing(hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    return hub


def nothing_left_beside(path: Path) -> bool:
    return not any(p.name.endswith(".tmp") for p in path.parent.iterdir())


# --- the manifest -------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_save_records_a_manifest_of_what_it_shipped(trained_folder):
    data = manifest(trained_folder)
    assert data["format"] == 1
    assert set(data["files"]) == SHARED | {"dataset.json"}  # the share list's files, never itself or checkpoints
    for name, entry in data["files"].items():
        raw = (trained_folder / name).read_bytes()
        assert entry["size"] == len(raw) and entry["sha256"] == hashlib.sha256(raw).hexdigest()
        assert entry.get("edit", False) == (name == "README.md")  # the card alone may be edited before sharing


def test_honest_export_and_push_send_exactly_the_manifests_files(model_dir, tmp_path, pushing, capsys):
    before = snapshot(model_dir)
    listed = set(manifest(model_dir)["files"])
    assert main(["export", str(model_dir), str(tmp_path / "wren.zip")]) == 0
    with zipfile.ZipFile(tmp_path / "wren.zip") as zf:
        assert {n.split("/", 1)[1] for n in zf.namelist()} == listed - {"dataset.json"}
        assert zf.read("wren-bot/model.safetensors") == (model_dir / "model.safetensors").read_bytes()
    assert main(["export", str(model_dir), str(tmp_path / "all.zip"), "--include-dataset"]) == 0
    with zipfile.ZipFile(tmp_path / "all.zip") as zf:
        assert {n.split("/", 1)[1] for n in zf.namelist()} == listed
    assert main(["push", str(model_dir), "wren-bot"]) == 0
    assert set(pushing.commits[0].files) == listed - {"dataset.json"}
    assert snapshot(model_dir) == before


# --- the zip inside the folder ------------------------------------------------------------------
@pytest.mark.parametrize("target", ["model.safetensors", "README.md", "new.zip", "checkpoints/new.zip"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_export_into_the_model_folder_is_refused(model_dir, capsys, target, overwrite):
    before = snapshot(model_dir)
    argv = ["export", str(model_dir), str(model_dir / target)] + (["--overwrite"] if overwrite else [])
    refused(capsys, argv, "inside the model folder", "choose a path outside the folder")
    assert snapshot(model_dir) == before


def test_export_into_the_folder_by_another_path_is_refused(model_dir, tmp_path, capsys, monkeypatch):
    """A relative path, a detour through '..', and a link outside that points at the weights."""
    before = snapshot(model_dir)
    link = tmp_path / "looks-outside.zip"
    link.symlink_to(model_dir / "model.safetensors")
    monkeypatch.chdir(model_dir)
    for target in ["model.safetensors", f"../{model_dir.name}/README.md", str(link)]:
        refused(capsys, ["export", ".", target, "--overwrite"], "inside the model folder")
    assert snapshot(model_dir) == before
    generator = load_generator(model_dir)  # the weights still load and generate
    assert len(generator.generate(n=1, seed=0)) == 1


# --- symlinks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["vocab.json", "tokenizer.json"])  # a name the manifest lacks, one it lists
@pytest.mark.parametrize("saved_with_manifest", [True, False])
def test_a_symlink_out_of_the_folder_is_refused(model_dir, tmp_path, pushing, capsys, name, saved_with_manifest):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:not for the Hub")
    if not saved_with_manifest:
        (model_dir / MANIFEST).unlink()
    (model_dir / name).unlink(missing_ok=True)
    (model_dir / name).symlink_to(secret)
    before = snapshot(model_dir)
    zip_path = tmp_path / "out" / "wren.zip"
    refused(capsys, ["export", str(model_dir), str(zip_path)], f"{model_dir / name} is a symbolic link")
    assert not zip_path.exists() and not (tmp_path / "out").exists()
    refused(capsys, ["push", str(model_dir), "wren-bot"], f"{name} is a symbolic link")
    assert pushing.requests == [] and pushing.commits == [] and pushing.lfs == {}  # nothing left the machine
    assert snapshot(model_dir) == before and secret.read_text() == "root:x:0:0:not for the Hub"


def test_a_symlinked_model_folder_is_refused(model_dir, tmp_path, pushing, capsys):
    link = tmp_path / "wren-link"
    link.symlink_to(model_dir, target_is_directory=True)
    refused(capsys, ["export", str(link), str(tmp_path / "w.zip")], "is a symbolic link", str(model_dir))
    refused(capsys, ["push", str(link), "wren-bot"], "is a symbolic link")
    assert pushing.requests == [] and not (tmp_path / "w.zip").exists()


def test_a_symlinked_manifest_is_refused(model_dir, tmp_path):
    outside = tmp_path / "m.json"
    outside.write_text((model_dir / MANIFEST).read_text())
    (model_dir / MANIFEST).unlink()
    (model_dir / MANIFEST).symlink_to(outside)
    with pytest.raises(HuggingTweetsError, match=f"{MANIFEST} is a symbolic link"):
        shared_files(model_dir)


# --- strays and changes -------------------------------------------------------------------------
def test_a_stray_2gb_file_the_save_did_not_write_stays_home(model_dir, tmp_path, pushing):
    os.truncate(_touch(model_dir / "vocab.json"), 2 << 30)  # sparse: no disk, no time
    assert "vocab.json" not in {p.name for p in shared_files(model_dir)}
    with zipfile.ZipFile(export_zip(model_dir, tmp_path / "w.zip")) as zf:
        assert "wren-bot/vocab.json" not in zf.namelist()
    push_to_hub(model_dir, "wren-bot")
    assert set(pushing.commits[0].files) == SHARED
    assert all(len(body) < 1 << 26 for body in pushing.lfs.values())


def test_a_stray_2gb_file_in_a_folder_without_manifest_is_refused(model_dir, tmp_path, pushing, capsys):
    (model_dir / MANIFEST).unlink()
    os.truncate(_touch(model_dir / "vocab.json"), 2 << 30)
    refused(capsys, ["export", str(model_dir), str(tmp_path / "w.zip")], "vocab.json is 2.0 GB, more than a model's vocab.json can be")
    refused(capsys, ["push", str(model_dir), "wren-bot"], "vocab.json is 2.0 GB")
    assert pushing.requests == [] and not (tmp_path / "w.zip").exists()


@pytest.mark.parametrize("how", ["grown to 2 GB", "one byte flipped", "removed"])
def test_a_saved_file_that_changed_is_refused(model_dir, tmp_path, pushing, capsys, how):
    weights = model_dir / "model.safetensors"
    if how == "grown to 2 GB":
        os.truncate(weights, 2 << 30)
        expect = "model.safetensors changed since the model was saved (2.0 GB now"
    elif how == "one byte flipped":
        raw = bytearray(weights.read_bytes())
        raw[-1] ^= 0xFF
        weights.write_bytes(bytes(raw))
        expect = "model.safetensors changed since the model was saved (its contents differ from the saved sha256)"
    else:
        (model_dir / "tokenizer.json").unlink()
        expect = "tokenizer.json is missing from"
    before = snapshot(model_dir)
    zip_path = tmp_path / "w.zip"
    zip_path.write_bytes(b"an older export")
    err = refused(capsys, ["export", str(model_dir), str(zip_path), "--overwrite"], expect)
    assert "train again" in err
    assert zip_path.read_bytes() == b"an older export" and nothing_left_beside(zip_path)
    refused(capsys, ["push", str(model_dir), "wren-bot"], expect)
    assert pushing.commits == [] and pushing.lfs == {} and "me/wren-bot" not in pushing.repos
    assert snapshot(model_dir) == before


def test_a_changed_metrics_file_is_refused_an_edited_card_is_not(model_dir, tmp_path):
    card = model_dir / "README.md"
    card.write_text(card.read_text(encoding="utf-8") + "\nEdited by hand before sharing.\n", encoding="utf-8")
    with zipfile.ZipFile(export_zip(model_dir, tmp_path / "a.zip")) as zf:
        assert "Edited by hand before sharing." in zf.read("wren-bot/README.md").decode("utf-8")
    (model_dir / "metrics.json").write_text("{}")
    with pytest.raises(HuggingTweetsError, match="metrics.json changed since the model was saved"):
        export_zip(model_dir, tmp_path / "b.zip")


@pytest.mark.parametrize("bad", ["card too big", "card not text", "preview too big"])
def test_the_card_and_the_preview_are_held_to_their_limits(model_dir, tmp_path, bad):
    if bad == "card too big":
        os.truncate(model_dir / "README.md", 2 << 30)
        match = "README.md is 2.0 GB, more than a model's README.md can be"
    elif bad == "card not text":
        (model_dir / "README.md").write_bytes(b"\xff\xfe\x00binary")
        match = "is not UTF-8 text"
    else:
        os.truncate(_touch(model_dir / "preview.png"), 2 << 30)
        match = "preview.png is 2.0 GB"
    with pytest.raises(HuggingTweetsError, match=match) as err:
        export_zip(model_dir, tmp_path / "w.zip")
    assert "\n" not in str(err.value) and not (tmp_path / "w.zip").exists() and nothing_left_beside(tmp_path / "w.zip")


def test_a_damaged_manifest_or_an_incomplete_save_is_one_line(model_dir, tmp_path):
    (model_dir / MANIFEST).write_text("{not json")
    with pytest.raises(HuggingTweetsError, match=f"{MANIFEST} is damaged: train again, or delete it"):
        export_zip(model_dir, tmp_path / "w.zip")
    (model_dir / MANIFEST).unlink()
    (model_dir / INCOMPLETE).write_text("{}")
    with pytest.raises(HuggingTweetsError, match="incomplete"):
        export_zip(model_dir, tmp_path / "w.zip")


# --- a folder saved before manifests ---------------------------------------------------------------
def test_a_folder_saved_before_manifests_still_exports_and_pushes(model_dir, tmp_path, pushing, capsys):
    (model_dir / MANIFEST).unlink()
    assert main(["export", str(model_dir), str(tmp_path / "w.zip")]) == 0
    with zipfile.ZipFile(tmp_path / "w.zip") as zf:
        assert sorted(zf.namelist()) == sorted(f"wren-bot/{n}" for n in SHARED)
    assert main(["push", str(model_dir), "wren-bot"]) == 0
    assert set(pushing.commits[0].files) == SHARED


def test_a_folder_without_manifest_refuses_weights_that_are_not_safetensors(model_dir, tmp_path):
    (model_dir / MANIFEST).unlink()
    weights = model_dir / "model.safetensors"
    weights.write_bytes(weights.read_bytes() + b"appended")
    with pytest.raises(HuggingTweetsError, match="is not a whole safetensors file"):
        export_zip(model_dir, tmp_path / "w.zip")


def test_a_safetensors_header_past_its_cap_is_never_parsed(model_dir, tmp_path):
    """A header that says it is 90 MB (safetensors' own limit is 100 MB) is refused unread."""
    import struct

    (model_dir / MANIFEST).unlink()
    weights = model_dir / "model.safetensors"
    size = 90_000_000
    with open(weights, "wb") as f:
        f.write(struct.pack("<Q", size))
        f.write(b"{" + b" " * (size - 2) + b"}")
    with pytest.raises(HuggingTweetsError, match="is not a whole safetensors file"):
        export_zip(model_dir, tmp_path / "w.zip")


def _touch(path: Path) -> Path:
    path.write_bytes(b"")
    return path
