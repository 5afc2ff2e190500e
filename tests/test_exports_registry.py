"""Export formats are a registry (huggingtweets.exports): one registered from this test module
alone shows in the CLI's --format, its flags and help, and the Share step's buttons; the
built-in ones' files are what Voilà's allow-list lets through and what the hand-over labels."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from huggingtweets import exports
from huggingtweets.cli import main
from huggingtweets.exports import Exported, ExportFormat, option

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class CardOptions:
    upper: bool = option(False, "the card in capital letters", label="Capitals")


def write_card(folder: Path, out, options: CardOptions, overwrite: bool = False, progress=None) -> Exported:
    out = Path(out) if out is not None else folder.parent / f"{folder.name}.card.txt"
    if out.exists() and not overwrite:
        from huggingtweets.errors import HuggingTweetsError

        raise HuggingTweetsError(f"{out} exists: add --overwrite to replace it.")
    text = (folder / "README.md").read_text(encoding="utf-8")
    out.write_text(text.upper() if options.upper else text, encoding="utf-8")
    return Exported([(out, "read it anywhere.")], f"Wrote {out}")


CARD = ExportFormat(name="card", button="Download the card (text)", about="the model card as plain text",
                    files={".card.txt": "text/plain"}, options=CardOptions, write=write_card, failed="The card failed")


@pytest.fixture
def card_format():
    exports.register(CARD)
    yield CARD
    exports.unregister("card")


@pytest.mark.slow
def test_a_format_from_a_test_module_shows_in_the_cli(card_format, model_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps its help
    assert "{zip,gguf,card}" in shown and "card: the model card as plain text" in shown and "--upper" in shown
    out = tmp_path / "wren.card.txt"
    assert main(["export", str(model_dir), str(out), "--format", "card", "--upper"]) == 0
    assert out.read_text(encoding="utf-8").isupper() and f"Wrote {out}" in capsys.readouterr().out
    assert main(["export", str(model_dir), str(tmp_path / "x.zip"), "--upper"]) == 1  # its flag with another format
    assert "--upper is for --format card" in capsys.readouterr().err


def test_a_format_from_a_test_module_shows_in_the_share_step(card_format, model_dir, tmp_path):
    from huggingtweets.ui import App

    app = App(output_dir=tmp_path / "out")
    share = app.share
    assert list(share.buttons) == ["zip", "gguf", "card"] and share.buttons["card"].description == "Download the card (text)"
    assert share.part("options")["card"]["upper"].description == "Capitals" and share.part("options")["zip"] == {}  # the dataset stays off the app
    app.session.folder = str(model_dir)
    share.part("options")["card"]["upper"].value = True
    share.buttons["card"].click()
    message = html.unescape(share.part("messages")["card"].value)
    assert "ht-error" not in message and "read it anywhere." in message, message[:500]
    written = share.written["card"][0]
    assert written.name == "wren-bot.card.txt" and written.read_text(encoding="utf-8").isupper()
    assert "data:text/plain;base64," in message  # the hand-over's type from the registry


def test_voilas_allow_list_lets_through_exactly_what_the_formats_write():
    pattern = json.loads((ROOT / "voila.json").read_text())["VoilaConfiguration"]["file_allowlist"][0]
    allowed = re.search(r"\\\.\(\?:([^)]*)\)", pattern).group(1).split("|")
    assert sorted("." + a for a in allowed) == sorted(exports.suffixes()) == [".Modelfile", ".gguf", ".zip"]
    for suffix in exports.suffixes():
        assert re.fullmatch(pattern, f"/srv/huggingtweets-downloads/{'a' * 32}/bot{suffix}")
    assert not re.fullmatch(pattern, "/srv/huggingtweets-downloads/bot.safetensors")


def test_gguf_architectures_are_a_table():
    from huggingtweets.gguf_export import ARCHITECTURES

    assert {"gpt2", "llama", "gemma3_text"} <= set(ARCHITECTURES)
    assert "arch ==" not in (ROOT / "huggingtweets" / "gguf_export.py").read_text(encoding="utf-8")
