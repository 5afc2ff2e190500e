"""Property tests: whatever bytes or JSON a reader is given, it returns clean tweets or raises
``HuggingTweetsError`` (one line), never anything else.

Needs ``hypothesis`` (the dev extras). Examples are few and the database is off, so the file
runs in seconds and leaves nothing behind.
"""

import io
import json
import tempfile
import zipfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from archive_fixtures import archive_members, edit_first, edit_later, every_post_members  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from huggingtweets.errors import HuggingTweetsError  # noqa: E402
from huggingtweets.sources import FetchOptions  # noqa: E402
from huggingtweets.sources.archive import ArchiveSource  # noqa: E402
from huggingtweets.sources.files import TextFileSource  # noqa: E402
from huggingtweets.sources.limits import post_too_long  # noqa: E402

FEW = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# Text that includes what breaks things: controls, lone surrogates, ellipses, entities, links.
CHARS = st.one_of(
    st.characters(),
    st.sampled_from(["\x00", "\x1b", "\ud800", "\udfff", "…", "&amp;", "https://t.co/x", "RT @", "\n", " "]),
)
TEXT = st.lists(CHARS, max_size=30).map("".join)
IDS = st.one_of(st.sampled_from(["1", "2", "3", "10"]), st.integers(-5, 10**25), TEXT)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
TIMES = st.one_of(st.sampled_from(["Thu Nov 03 10:00:00 +0000 2022", "2022-11-03T10:00:00.000Z",
                                   "0001-01-01T00:00:00+05:00", "Thu Nov 99 99:00:00 +9999 99999"]), TEXT, JSON)


def maybe(**fields):
    """A dict drawing each of ``fields`` or leaving it out."""
    return st.fixed_dictionaries({}, optional=fields)


TWEET = maybe(
    id_str=IDS, id=IDS, full_text=st.one_of(TEXT, JSON), text=TEXT, created_at=TIMES,
    in_reply_to_status_id_str=JSON, retweeted_status=JSON,
    edit_info=st.one_of(
        st.lists(IDS, max_size=4).map(edit_first),
        st.tuples(IDS, st.lists(IDS, max_size=4)).map(lambda a: edit_later(*a)),
        JSON,
    ),
    note_tweet=st.one_of(TEXT.map(lambda t: {"note_tweet_results": {"result": {"text": t}}}), JSON),
)
NOTE = st.one_of(
    maybe(core=maybe(text=st.one_of(TEXT, JSON)), text=TEXT, createdAt=TIMES, tweetId=IDS,
          noteTweetResults=maybe(text=TEXT)).map(lambda n: {"noteTweet": n}),
    JSON,
)
ITEMS = st.lists(st.one_of(TWEET.map(lambda t: {"tweet": t}), TWEET, JSON), max_size=6)


def check(result):
    """What every successful read promises."""
    ids = [t.id for t in result.tweets]
    assert len(ids) == len(set(ids))
    for t in result.tweets:
        assert isinstance(t.text, str) and t.text.strip() and not post_too_long(t.text)
        t.text.encode("utf-8")
        assert not any(c < " " and c not in "\t\n\r" for c in t.text)
    for value in (result.author.handle, result.author.name, result.author.avatar_url):
        value.encode("utf-8")


def read_archive(path: Path):
    try:
        check(ArchiveSource(path, FetchOptions()).fetch())
    except HuggingTweetsError as e:
        assert "\n" not in str(e)


def js(variable: str, value) -> str:
    return f"window.YTD.{variable}.part0 = {json.dumps(value)}"


@pytest.mark.slow
@FEW
@given(tweets=ITEMS, notes=st.lists(NOTE, max_size=4), deleted=ITEMS, account=JSON)
def test_any_json_in_an_archive_folder(tweets, notes, deleted, account):
    files = {"tweets.js": js("tweets", tweets), "note-tweet.js": js("note_tweet", notes),
             "deleted-tweets.js": js("deleted_tweets", deleted), "account.js": js("account", [{"account": account}])}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp, "data")
        data.mkdir()
        for name, text in files.items():
            (data / name).write_text(text, encoding="utf-8")
        read_archive(Path(tmp))


PREFIXED = TEXT.map(lambda t: ("window.YTD.tweets.part0 = " + t).encode("utf-8", "surrogatepass"))


@FEW
@given(content=st.binary(max_size=300) | PREFIXED,
       other=st.sampled_from(["account.js", "note-tweet.js", "deleted-tweets.js", "tweets-part1.js"]),
       other_content=st.binary(max_size=100))
def test_any_bytes_as_tweets_js(content, other, other_content):
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp, "data")
        data.mkdir()
        (data / "tweets.js").write_bytes(content)
        (data / other).write_bytes(other_content)
        read_archive(Path(tmp))


def _valid_zip() -> bytes:
    members, _, _ = every_post_members()
    members.pop("data/tweets_media/1000-InVeNtEd.jpg")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in {**members, **archive_members("2019", [])}.items():
            zf.writestr(name, text)
    return out.getvalue()


VALID_ZIP = _valid_zip()


@FEW
@given(
    flips=st.lists(st.tuples(st.integers(0, len(VALID_ZIP) - 1), st.integers(0, 255)), max_size=8),
    cut=st.none() | st.integers(0, len(VALID_ZIP)),
)
def test_a_damaged_zip(flips, cut):
    data = bytearray(VALID_ZIP)
    for at, value in flips:
        data[at] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "archive.zip")
        path.write_bytes(bytes(data[:cut]))
        read_archive(path)


@FEW
@given(content=st.binary(max_size=400))
def test_any_bytes_as_a_zip(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "archive.zip")
        path.write_bytes(b"PK\x03\x04" + content)
        read_archive(path)


LINES = st.lists(st.one_of(TEXT, JSON.map(json.dumps), st.binary(max_size=40).map(lambda b: b.decode("latin-1"))),
                 max_size=6)


@FEW
@pytest.mark.parametrize("suffix", [".txt", ".csv", ".jsonl"])
@given(content=st.binary(max_size=300) | LINES.map(lambda ls: "\n".join(ls).encode("utf-8", "surrogatepass")))
def test_any_bytes_as_a_text_file(suffix, content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "posts" + suffix)
        path.write_bytes(content)
        try:
            check(TextFileSource(path, FetchOptions()).fetch())
        except HuggingTweetsError as e:
            assert "\n" not in str(e)


GRAILBIRD_CSV = LINES.map(lambda ls: "\n".join(["text,tweet_id,timestamp", *ls]).encode("utf-8", "surrogatepass"))
DETAILS = JSON.map(lambda v: ("var x = " + json.dumps(v)).encode("utf-8", "surrogatepass"))


@FEW
@given(csv_bytes=st.binary(max_size=300) | GRAILBIRD_CSV, details=st.binary(max_size=100) | DETAILS)
def test_any_grailbird_archive(csv_bytes, details):
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "data", "js").mkdir(parents=True)
        Path(tmp, "tweets.csv").write_bytes(csv_bytes)
        Path(tmp, "data", "js", "user_details.js").write_bytes(details)
        read_archive(Path(tmp))
