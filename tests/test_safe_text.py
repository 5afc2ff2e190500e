"""Text made safe where it goes: escape codes never reach the terminal, a display name never
breaks or injects into the card's Markdown or the data table."""

from __future__ import annotations

import json
import os
import re

import responses

from archive_fixtures import archive_members, make_tweets, write_zip
from huggingtweets.cli import _json_out, main, shown
from huggingtweets.config import TrainConfig

from bad_input_kit import TWEET, lines


# --- text made safe where it goes ---------------------------------------------------------------
HOSTILE = "\x1b[31mred\x1b[0m \x9b2J bell\x07 \u202egnp.exe\u202c lone\ud800 new\nline"


def test_shown_is_one_plain_line():
    text = shown(HOSTILE)
    assert "\n" not in text and not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\ud800-\udfff]", text)
    assert "red" in text and "new line" in text
    assert shown("| a |\n| b |", keep_lines=True) == "| a |\n| b |"


def test_json_output_escapes_what_a_terminal_obeys():
    value = {"text": HOSTILE}
    text = _json_out(value)
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\ud800-\udfff]", text)
    assert json.loads(text) == value


def test_a_file_named_with_escape_codes_prints_safely(work, capsys):
    (work / "\x1b[2J\u202eevil.txt").write_text(lines(200), encoding="utf-8")
    assert main(["data", "\x1b[2J\u202eevil.txt"]) == 0
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\u202e" not in out + err
    assert "[2Jevil" in out


def test_a_file_name_that_is_not_utf8_is_saved_and_shown(work, capsys):
    name = os.fsdecode(b"\xffwren.txt")  # a lone surrogate once decoded: not writable as UTF-8
    (work / name).write_text(lines(200), encoding="utf-8")
    assert main(["data", name, "--out", "ds"]) == 0
    saved = json.loads((work / "ds" / "dataset.json").read_text(encoding="utf-8"))
    assert saved["authors"][0]["author"]["handle"] == "wren"
    out, err = capsys.readouterr()
    assert "@wren" in out and "Traceback" not in err


def test_escape_codes_in_an_x_tweet_and_profile_never_reach_the_terminal(work, monkeypatch, capsys):
    monkeypatch.setenv("X_BEARER_TOKEN", "tok-SECRET-9")
    user = {"id": "42", "username": "evil", "name": "Evil\x1b]0;pwned\x07 Name", "protected": False,
            "public_metrics": {"tweet_count": 200}}
    tweets = [{"id": str(10_000 - i), "edit_history_tweet_ids": [str(10_000 - i)], "text": f"\x1b[2J\x1b[31m{TWEET} {i}\x9b1m \u0000end"} for i in range(200)]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, re.compile(r"https://api\.(twitter|x)\.com/2/users/by/username/evil.*"), json={"data": user})
        rsps.add(responses.GET, re.compile(r"https://api\.(twitter|x)\.com/2/users/42/tweets.*"), json={"data": tweets, "meta": {"result_count": 200}})
        assert main(["data", "@evil"]) == 0
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\x9b" not in out + err and "\x07" not in out + err
    assert "tok-SECRET-9" not in out + err
    assert TWEET in out
    cached = "".join(p.read_text() for p in (work / "cache").rglob("*.jsonl"))
    assert "\\u001b" not in cached and "\x1b" not in cached  # scrubbed before the cache, like every source


def test_x_tweet_text_is_scrubbed_like_every_source():
    from huggingtweets.sources.x_api import _to_tweet

    assert _to_tweet({"id": "1", "text": "a\x1b[31mb\x00c\ud800d\ne"}).text == "a[31mbcd\ne"


HOSTILE_NAME = "Wren\n\n| x | y |\n[click](https://evil.example) ![img](https://evil.example/a.png) <b>bold</b> *em* `code`"


def test_a_hostile_display_name_stays_text_in_the_model_card():
    from huggingtweets.card import render_card
    from huggingtweets.cleaning import AuthorStats
    from huggingtweets.sources.base import Author

    authors = [Author("wren", HOSTILE_NAME, "", "archive"), Author("gull", "Gull", "", "archive")]
    stats = [AuthorStats("wren", HOSTILE_NAME, 10, 1, 1, 8, 9000), AuthorStats("gull", "Gull", 9, 0, 1, 8, 9000)]
    card = render_card(authors, stats, TrainConfig(model="tiny"), {}, model_id="wren-bot")
    assert not re.search(r"(?<!\\)\]\(https://evil", card)  # no link: every "](" is escaped
    assert "![" not in card and "<b>" not in card
    table = card.split("## Training data")[1].split("## ")[0]
    rows = [line for line in table.splitlines() if line.startswith("|")]
    assert len(rows) == 6  # header, rule, 4 rows: the name did not add or break a row
    for row in rows:
        assert len(re.split(r"(?<!\\)\|", row)) == 5  # Data + 2 authors, between the outer bars
    assert "\\[click\\](https://evil.example)" in card  # shown, not linked


def test_a_hostile_display_name_keeps_the_data_table_in_the_terminal(work, capsys):
    members = archive_members("2022", make_tweets(40))
    account = json.loads(members["data/account.js"].split("=", 1)[1])
    account[0]["account"]["accountDisplayName"] = HOSTILE_NAME
    members["data/account.js"] = "window.YTD.account.part0 = " + json.dumps(account)
    write_zip(work / "wren.zip", members)
    (work / "gull.txt").write_text(lines(50), encoding="utf-8")
    assert main(["data", "wren.zip", "gull.txt"]) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert len(table) == 7 and "https://evil.example" in table[0] and "\\[click\\]" in table[0]
    assert table[-1].startswith("| Language | English ")  # the four counts, then the kept text's language


