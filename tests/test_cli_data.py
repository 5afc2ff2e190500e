"""`huggingtweets data`: the table, the --json contract, --out, and one-line errors."""

import json
import re
import subprocess
import sys
import zipfile

import pytest

from huggingtweets.cli import main


def _lines(n, prefix="the keeper says"):
    return "\n".join(f"{prefix} {i} bread rises slowly by the lamp at night" for i in range(n)) + "\n"


@pytest.fixture
def txt(tmp_path):
    p = tmp_path / "wren.txt"
    p.write_text(_lines(200) + "RT @gull: a retweet\nlol\n", encoding="utf-8")
    return p


def test_json_contract(txt, capsys):
    assert main(["data", str(txt), "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)  # stdout is the JSON and nothing else
    assert data == {"authors": [{"handle": "wren", "name": "wren", "downloaded": 202, "retweets": 1, "short": 1, "kept": 200, "contacts_masked": 0, "languages": {"en": 1.0}}]}


def test_table_and_tweets(txt, capsys):
    assert main(["data", str(txt)]) == 0
    out = capsys.readouterr().out
    assert "| Data | Quantity |" in out
    assert "| Posts downloaded | 202 |" in out and "| Posts kept | 200 |" in out  # a text file: no network's words
    assert "@wren" in out and "the keeper says 0" in out


def test_two_authors_and_out(tmp_path, capsys):
    a = tmp_path / "alpha.txt"
    b = tmp_path / "beta.csv"
    a.write_text(_lines(150), encoding="utf-8")
    b.write_text("id,text\n" + "".join(f'{i},"beta, {i} writes about the sea and the wind"\n' for i in range(160)), encoding="utf-8")
    assert main(["data", str(a), str(b), "--out", str(tmp_path / "ds")]) == 0
    out = capsys.readouterr().out
    assert "| Data | alpha | beta |" in out
    saved = json.loads((tmp_path / "ds" / "dataset.json").read_text())
    assert [x["stats"]["handle"] for x in saved["authors"]] == ["alpha", "beta"]


def test_author_override(txt, capsys):
    assert main(["data", str(txt), "--author", "keeper", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["authors"][0]["handle"] == "keeper"


def test_not_enough_is_a_warning_without_out_and_an_error_with(tmp_path, capsys):
    p = tmp_path / "few.txt"
    p.write_text(_lines(5), encoding="utf-8")
    assert main(["data", str(p), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["authors"][0]["kept"] == 5
    assert "Not enough tweets" in err
    assert main(["data", str(p), "--out", str(tmp_path / "ds")]) == 1
    assert "Not enough tweets" in capsys.readouterr().err
    assert not (tmp_path / "ds" / "dataset.json").exists()


def _bad_inputs(tmp_path):
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip")
    no_tweets = tmp_path / "empty-archive.zip"
    with zipfile.ZipFile(no_tweets, "w") as z:
        z.writestr("data/account.js", 'window.YTD.account.part0 = [{"account": {"username": "x"}}]')
    malformed = tmp_path / "tweets.js"
    malformed.write_text("window.YTD.tweets.part0 = [{not json", encoding="utf-8")
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("id,body\n1,hello there friend\n", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    return {
        "missing path": ([str(tmp_path / "nope.zip")], "not found"),
        "corrupt zip": ([str(corrupt)], "zip"),
        "zip without tweets": ([str(no_tweets)], "tweets"),
        "malformed tweets.js": ([str(malformed)], "tweets.js"),
        "csv without text column": ([str(nocol)], "text"),
        "empty file": ([str(empty)], "empty"),
        "invalid handle @@@": (["@@@"], "is not a handle or file this tool reads"),
        "handle of 16 characters": (["a234567890123456"], "Invalid X handle"),
        "no source": ([], "No source"),
    }


@pytest.mark.parametrize(
    "case",
    ["missing path", "corrupt zip", "zip without tweets", "malformed tweets.js", "csv without text column", "empty file", "invalid handle @@@", "handle of 16 characters", "no source"],
)
def test_bad_input_is_one_line(case, tmp_path, capsys):
    argv, needle = _bad_inputs(tmp_path)[case]
    assert main(["data", *argv, "--out", str(tmp_path / "out")]) == 1
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle.lower() in lines[0].lower()
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_x_handle_without_token(tmp_path, monkeypatch, capsys):
    for var in ("X_BEARER_TOKEN", "TWITTER_BEARER_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    assert main(["data", "@jack", "--cache-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "X_BEARER_TOKEN" in err


@pytest.mark.subprocess
def test_python_dash_m_is_the_same_command(txt):
    proc = subprocess.run([sys.executable, "-m", "huggingtweets", "data", str(txt), "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["authors"][0]["kept"] == 200


def test_network_error_is_one_line_and_keeps_the_token_secret(tmp_path, monkeypatch, capsys):
    import requests
    import responses

    import huggingtweets.sources.x_api as x_api

    monkeypatch.setattr(x_api, "BACKOFF_S", (0, 0))  # retries without real waiting
    monkeypatch.setenv("X_BEARER_TOKEN", "tok-SECRET-123")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, re.compile(r"https://api\.(twitter|x)\.com/2/users/by/username/jack.*"), body=requests.ConnectionError("Name or service not known"))
        assert main(["data", "@jack", "--cache-dir", str(tmp_path)]) == 1
        assert len(rsps.calls) == 3  # the first try and two retries
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "connection" in lines[0].lower()
    assert "tok-SECRET-123" not in out + err


def test_author_names_an_archive_without_account_js_and_the_guess_is_said(tmp_path, capsys):
    """An X archive without account.js takes its handle from the file name: said, and --author overrides it."""
    from archive_fixtures import archive_members, make_tweets

    members = {k: v for k, v in archive_members("2022", make_tweets(150)).items() if not k.endswith("account.js")}
    path = tmp_path / "twitter-archive-smithjd.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert main(["data", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["authors"][0]["handle"] == "twitter-archive-smithjd"
    assert "is taken from the file name 'twitter-archive-smithjd.zip'" in err and "--author" in err
    assert main(["data", str(path), "--json", "--author", "@smithjd"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["authors"][0]["handle"] == "smithjd" and "taken from" not in err


def test_a_tweets_js_given_alone_says_its_handle_comes_from_the_folder(tmp_path, capsys):
    """data/tweets.js of an archive without account.js: the guess is the archive's folder name,
    and the note says so (not "the file name 'tweets.js'")."""
    from archive_fixtures import archive_members, make_tweets, write_members

    members = {k: v for k, v in archive_members("2022", make_tweets(150)).items() if not k.endswith("account.js")}
    path = write_members(tmp_path, members, form="js", name="jack-archive")
    assert path.name == "tweets.js"
    assert main(["data", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["authors"][0]["handle"] == "jack-archive"
    assert "@jack-archive is taken from the folder name 'jack-archive' (the archive has no account.js)" in err
    assert "file name 'tweets.js'" not in err


def test_another_file_of_the_archive_says_what_it_holds(tmp_path, capsys):
    """like.js is not empty: it holds likes. One line says so and which file to give."""
    from archive_fixtures import js_text

    likes = tmp_path / "like.js"
    likes.write_text(js_text("like.part0", [{"like": {"tweetId": str(i), "fullText": f"a liked post {i}"}} for i in range(40)]))
    assert main(["data", str(likes)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert err == ("error: No tweets in like.js: it holds 40 'like' records, not tweets. "
                   "Give the archive's data/tweets.js, or the whole archive (its zip or folder).")
