"""Authors from three networks in one model: counts per author, profile links in the card,
and nothing private or half a link in any file written."""

import json
import re

import pytest

from fake_networks import FakeNetworks, bluesky_feed, mastodon_statuses
from huggingtweets.cli import main
from huggingtweets.sources import sample_archive_path
from huggingtweets.sources.bluesky import API_ENV

FAST = ["--model", "tiny", "--block-size", "32", "--max-steps", "2", "--logging-steps", "1", "--save-steps", "100"]
NEVER = ("bluesky-soci", "example.com/bread", "followers only secret", "direct whisper", "someone else's words",
         "a boosted post by someone else")


@pytest.fixture
def net(monkeypatch, tmp_path):
    with FakeNetworks() as n:
        monkeypatch.setenv(API_ENV, n.url)
        monkeypatch.setenv("HUGGINGTWEETS_CACHE", str(tmp_path / "cache"))
        n.bluesky_account("wren.bsky.social", bluesky_feed(260))
        n.mastodon_account("gull", mastodon_statuses(260))
        yield n


def written_text(*folders) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "ignore") for f in folders for p in f.rglob("*") if p.is_file())


@pytest.mark.slow
def test_x_archive_bluesky_and_mastodon_in_one_model(net, tmp_path, capsys):
    specs = [str(sample_archive_path()), "@wren.bsky.social", f"{net.url}/@gull"]
    assert main(["data", *specs, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["authors"]
    host = net.url.split("//")[1]
    assert [r["handle"] for r in rows][1:] == ["wren.bsky.social", f"gull@{host}"]
    for r in rows:
        assert r["downloaded"] == r["retweets"] + r["short"] + r["kept"] and r["kept"] > 100
    assert rows[1]["retweets"] == sum(1 for k in range(260) if k % 9 == 8)
    assert rows[2]["retweets"] == sum(1 for k in range(260) if k % 8 == 7)

    out = tmp_path / "model"
    assert main(["train", *specs, "--output", str(out), *FAST]) == 0
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "](https://x.com/" in card
    assert "](https://bsky.app/profile/wren.bsky.social)" in card
    assert f"](http://{host}/@gull)" in card
    assert "🤖 AI CYBORG 🤖" in card
    table = re.search(r"\| Data \|.*?\n\n", card, re.S).group(0)
    assert "| Posts downloaded |" in table and "| Reposts |" in table and table.count("|") > 20  # three networks: one neutral word
    written = written_text(out, tmp_path / "cache")
    for text in NEVER:
        assert text not in written, text
