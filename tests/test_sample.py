"""The bundled sample archive: a fictional lighthouse keeper, @wren_lighthouse.

Read straight out of the zip with zipfile + json, so these checks hold whatever
the archive reader does; the last test ties the reader and the cleaning rules
to the counts worked out by hand when the sample was written.
"""

import html
import json
import re
import zipfile

import pytest

from huggingtweets.sources import FetchOptions, sample_archive_path
from huggingtweets.sources.x_names import X_HANDLE

HANDLE = "wren_lighthouse"
DISPLAY_NAME = "Wren & the Lamp"
PARTS = {"data/tweets.js": "window.YTD.tweets.part0 = [", "data/tweets-part1.js": "window.YTD.tweets.part1 = ["}

# Counted when the sample was written (cleaning: unescape, drop links, fold spaces;
# "short" = fewer than 3 words that are not links, @mentions or #hashtags).
DOWNLOADED = 377
RETWEETS = 20
SHORT = 15
KEPT = 342
CHARACTERS = 44_783


def read_js(zf: zipfile.ZipFile, name: str):
    text = zf.read(name).decode("utf-8")
    return json.loads(text[text.index("=") + 1 :])


@pytest.fixture(scope="module")
def archive():
    path = sample_archive_path()
    assert path.is_file(), f"missing bundled sample: {path}"
    with zipfile.ZipFile(path) as zf:
        yield zf


@pytest.fixture(scope="module")
def tweets(archive):
    return [item["tweet"] for name in PARTS for item in read_js(archive, name)]


def test_zip_has_the_2022_layout(archive):
    names = set(archive.namelist())
    assert {"data/tweets.js", "data/tweets-part1.js", "data/account.js", "data/profile.js"} <= names
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
    for name, first_line in PARTS.items():
        assert archive.read(name).decode("utf-8").splitlines()[0] == first_line
        assert len(read_js(archive, name)) > 0  # both parts hold tweets


def test_sample_is_small():
    assert sample_archive_path().stat().st_size < 150_000


def test_account_and_profile(archive):
    account = read_js(archive, "data/account.js")[0]["account"]
    assert account["username"] == HANDLE and X_HANDLE.match(account["username"])
    assert account["accountDisplayName"] == DISPLAY_NAME
    assert html.escape(account["accountDisplayName"]) != account["accountDisplayName"]  # exercises escaping
    assert account["email"].endswith(".invalid")
    profile = read_js(archive, "data/profile.js")[0]["profile"]
    assert profile["avatarMediaUrl"] == ""  # fictional account: no picture
    assert "Fictional" in profile["description"]["bio"]


def test_tweet_counts_and_ids(tweets):
    assert len(tweets) == DOWNLOADED
    assert sum(t["full_text"].startswith("RT @") for t in tweets) == RETWEETS
    ids = [t["id_str"] for t in tweets]
    assert len(set(ids)) == len(ids) and all(i.isdigit() for i in ids)


def test_tweet_fields_have_the_archive_shape(tweets):
    for t in tweets:
        assert t["retweeted"] is False and t["lang"] == "en"
        assert re.fullmatch(r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} \+0000 20(21|22|23)", t["created_at"])
        assert t["favorite_count"].isdigit() and t["retweet_count"].isdigit()
        assert {"hashtags", "user_mentions", "urls"} <= set(t["entities"])
        for url in t["entities"]["urls"]:
            assert url["url"].startswith("https://t.co/") and url["url"] in t["full_text"]
        assert "<" not in t["full_text"] and ">" not in t["full_text"]  # HTML-escaped, as X serves it
    assert sum("in_reply_to_status_id_str" in t for t in tweets) >= 20
    assert sum(bool(t["entities"]["urls"]) for t in tweets) >= 25
    assert any(re.search(r"&(amp|lt|gt);", t["full_text"]) for t in tweets)
    assert any("\n" in t["full_text"] for t in tweets)


def test_hand_counted_cleaning_stats(tweets):
    """The counts above, recomputed with the rules written out in plain Python."""
    retweets = short = kept = characters = 0
    for t in tweets:
        if t["full_text"].startswith("RT @"):
            retweets += 1
            continue
        text = " ".join(re.sub(r"https?://\S+", " ", html.unescape(t["full_text"])).split())
        if sum(not w.startswith(("http", "@", "#")) for w in text.split()) < 3:
            short += 1
            continue
        kept += 1
        characters += len(text)
    assert (retweets, short, kept, characters) == (RETWEETS, SHORT, KEPT, CHARACTERS)
    assert DOWNLOADED == retweets + short + kept


def test_reader_and_cleaning_agree_with_the_counts():
    archive_mod = pytest.importorskip("huggingtweets.sources.archive")
    cleaning = pytest.importorskip("huggingtweets.cleaning")
    raw = archive_mod.ArchiveSource(sample_archive_path(), FetchOptions()).fetch()
    assert raw.author.handle == HANDLE and raw.author.name == DISPLAY_NAME
    stats = cleaning.clean_author(raw).stats
    assert (stats.downloaded, stats.retweets, stats.short, stats.kept) == (DOWNLOADED, RETWEETS, SHORT, KEPT)
    assert stats.characters == CHARACTERS
    assert cleaning.check_enough([stats]) == []  # above the thin-data warning
