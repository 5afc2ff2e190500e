"""`huggingtweets push` and `export` through the real CLI entry point (the fake Hub, a real zip)."""

import zipfile

import pytest

from fake_hub import TOKEN
from huggingtweets.cli import main
from test_share import SHARED, hub, leak_check, no_token  # noqa: F401  (fixtures)


@pytest.mark.slow
def test_push_uploads_the_folder(model_dir, hub, monkeypatch, capsys, leak_check):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    assert main(["push", str(model_dir), "wren-bot"]) == 0
    out = capsys.readouterr().out
    assert out == f"Pushed {len(SHARED)} files to {hub.url}/me/wren-bot\n"
    [commit] = hub.commits
    assert set(commit.files) == SHARED and not hub.repos["me/wren-bot"].private
    assert commit.files["model.safetensors"] == (model_dir / "model.safetensors").read_bytes()


def test_push_private_with_the_dataset(model_dir, hub, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    assert main(["push", str(model_dir), "me/secret-bot", "--private", "--include-dataset"]) == 0
    assert capsys.readouterr().out.strip().endswith("/me/secret-bot (private)")
    assert hub.repos["me/secret-bot"].private
    assert set(hub.commits[0].files) == SHARED | {"dataset.json"}
    # pushed again without --include-dataset: the tweets leave the repo, and the user is told
    assert main(["push", str(model_dir), "me/secret-bot", "--private"]) == 1  # a repo with files: not without the word
    assert "push with --overwrite" in capsys.readouterr().err
    assert main(["push", str(model_dir), "me/secret-bot", "--private", "--overwrite"]) == 0
    assert "Removed from the repo: dataset.json" in capsys.readouterr().out
    assert "dataset.json" not in hub.repos["me/secret-bot"].files


def test_push_errors_are_one_line(model_dir, hub, monkeypatch, capsys, leak_check):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    assert main(["push", str(model_dir), "wren-bot"]) == 1  # no token anywhere
    err = capsys.readouterr().err
    assert err.startswith("error: No Hugging Face token") and err.count("\n") == 1
    monkeypatch.setenv("HF_TOKEN", TOKEN + "x")
    assert main(["push", str(model_dir), "wren-bot"]) == 1
    assert "refused the token (401)" in capsys.readouterr().err
    assert hub.commits == []


def test_push_has_no_token_flag(model_dir, capsys):
    """A token on the command line ends up in shell history: there is no flag for it."""
    try:
        code = main(["push", str(model_dir), "wren-bot", "--token", TOKEN])
    except SystemExit as exit_:  # argparse's usage error
        code = exit_.code
    assert code == 2
    assert "--token" in capsys.readouterr().err


def test_export_writes_a_zip_and_respects_overwrite(model_dir, tmp_path, capsys):
    target = tmp_path / "out" / "wren.zip"
    assert main(["export", str(model_dir), str(target)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Wrote {target} (") and out.count("\n") == 1
    with zipfile.ZipFile(target) as zf:
        assert sorted(zf.namelist()) == sorted(f"wren-bot/{n}" for n in SHARED)
    assert main(["export", str(model_dir), str(target)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["export", str(model_dir), str(target), "--overwrite", "--include-dataset"]) == 0
    with zipfile.ZipFile(target) as zf:
        assert "wren-bot/dataset.json" in zf.namelist()


def test_export_of_an_unfinished_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["export", str(tmp_path / "empty"), str(tmp_path / "x.zip")]) == 1
    assert "holds no finished model" in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists()


def test_export_defaults_to_a_zip_beside_the_folder(model_dir, capsys):
    assert main(["export", str(model_dir)]) == 0
    target = model_dir.parent / "wren-bot.zip"
    assert capsys.readouterr().out.startswith(f"Wrote {target} (")
    with zipfile.ZipFile(target) as zf:
        assert sorted(zf.namelist()) == sorted(f"wren-bot/{n}" for n in SHARED)


def test_export_gguf_writes_the_file_and_its_modelfile(model_dir, tmp_path, capsys):
    assert main(["export", str(model_dir), "--format", "gguf"]) == 0
    out = capsys.readouterr().out
    gguf_path, modelfile = model_dir.parent / "wren-bot.gguf", model_dir.parent / "wren-bot.Modelfile"
    assert out.startswith(f"Wrote {gguf_path} (") and ", f16) and wren-bot.Modelfile in " in out and out.count("\n") == 1
    assert out.rstrip().endswith(f"ollama create wren-bot -f {modelfile}")
    assert gguf_path.read_bytes()[:4] == b"GGUF" and modelfile.read_text().startswith("# Made by huggingtweets")
    assert main(["export", str(model_dir), "--format", "gguf"]) == 1
    assert "already exists" in capsys.readouterr().err
    # OUT may also follow the options; --quantize picks the GGUF's weights
    target = tmp_path / "small.gguf"
    assert main(["export", str(model_dir), "--format", "gguf", "--quantize", "q8_0", str(target)]) == 0
    assert ", q8_0) and small.Modelfile in " in capsys.readouterr().out
    assert target.stat().st_size < 0.7 * gguf_path.stat().st_size


def test_export_flags_that_do_not_fit_the_format(model_dir, tmp_path, capsys):
    for argv, words in [
        (["--quantize", "q8_0"], "--quantize is for --format gguf"),
        (["--format", "gguf", "--include-dataset"], "--include-dataset is for --format zip"),
        (["--format", "gguf", "--quantize", "q2"], "Unknown GGUF type 'q2'"),
    ]:
        assert main(["export", str(model_dir), str(tmp_path / "x.gguf"), *argv]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and words in err and err.count("\n") == 1
    try:
        code = main(["export", str(model_dir), "--format", "onnx"])
    except SystemExit as exit_:  # argparse's usage error
        code = exit_.code
    assert code == 2 and "invalid choice: 'onnx'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [model_dir]


def test_ctrl_c_in_export_says_what_export_left(model_dir, tmp_path, capsys, monkeypatch):
    """A Ctrl-C names what its own command left behind (export writes nothing half-way), not downloads."""
    import huggingtweets.share as share

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(share, "ship_list", interrupted)
    out = tmp_path / "wren.zip"
    assert main(["export", str(model_dir), str(out)]) == 130
    err = capsys.readouterr().err
    assert "nothing was written" in err and "download" not in err and not out.exists()
