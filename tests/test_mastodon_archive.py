"""The Mastodon data export (``sources.mastodon_archive``): a zip, its folder or outbox.json.

Every archive here is written by the test from invented posts of a fictional
account, @wren@bread.example, in the shapes Mastodon exports.
Followers-only posts and direct messages carry distinctive words (PRIVATE_WORDS):
they must never reach the tweets, the counts or any file written.
"""

import json
import zipfile
from pathlib import Path

import pytest

from archive_fixtures import read_in_a_child, write_archive, write_deflate_bomb, write_stretched_zip, write_zip
from huggingtweets import sources
from huggingtweets.cleaning import clean_author
from huggingtweets.cli import main
from huggingtweets.errors import HuggingTweetsError, InputTooLarge
from huggingtweets.sources import limits
from huggingtweets.sources.archive import ArchiveSource
from huggingtweets.sources.base import FetchOptions
from huggingtweets.sources.mastodon_archive import KIND, MastodonArchiveSource, is_export

SERVER, USER = "bread.example", "wren"
ACTOR = f"https://{SERVER}/users/{USER}"
FOLLOWERS = f"{ACTOR}/followers"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
BOB = "https://other.example/users/bob"
PRIVATE_WORDS = ("zeppelinmarmalade", "plumtangerine", "quietboostsecret", "mismatchedwhisper")
FILLER = ("the lamp is lit and the bread is rising while gulls argue about crusts on the rail "
          "my dream is a quiet harbour at dawn with warm rye and strong coffee by the sea").split()
N_FILLER = 70

MENTION_BOB = ('<span class="h-card" translate="no"><a href="https://other.example/@bob" class="u-url mention">'
               "@<span>bob</span></a></span>")
LINK = ('<a href="https://example.com/rye/recipe-long" rel="nofollow noopener" target="_blank">'
        '<span class="invisible">https://</span><span class="ellipsis">example.com/rye/reci</span>'
        '<span class="invisible">pe-long</span></a>')
AUDIENCES = {
    "public": ([PUBLIC], [FOLLOWERS]),
    "public-short": (["as:Public"], []),
    "unlisted": ([FOLLOWERS], [PUBLIC]),
    "followers": ([FOLLOWERS], []),
    "direct": ([BOB], []),
}


def note(n: int, content: str, audience: str = "public", *, reply_to=None, summary=None, tags=(),
         object_audience=None) -> dict:
    """A Create activity wrapping a Note, as Mastodon's outbox.json writes it."""
    to, cc = AUDIENCES[audience]
    oto, occ = AUDIENCES[object_audience or audience]
    post = f"{ACTOR}/statuses/{1000 + n}"
    published = f"2024-01-{1 + n % 28:02d}T12:{n % 60:02d}:00Z"
    return {
        "id": f"{post}/activity", "type": "Create", "actor": ACTOR, "published": published, "to": to, "cc": cc,
        "object": {
            "id": post, "type": "Note", "summary": summary, "inReplyTo": reply_to, "published": published,
            "url": f"https://{SERVER}/@{USER}/{1000 + n}", "attributedTo": ACTOR, "to": oto, "cc": occ,
            "sensitive": summary is not None, "atomUri": post, "content": content, "contentMap": {"en": content},
            "attachment": [], "tag": list(tags),
            "replies": {"id": f"{post}/replies", "type": "Collection"},
        },
    }


def boost(n: int, audience: str = "public") -> dict:
    to, cc = AUDIENCES[audience]
    return {"id": f"{ACTOR}/statuses/{5000 + n}/activity", "type": "Announce", "actor": ACTOR,
            "published": "2024-02-01T08:00:00Z", "to": to, "cc": cc + [BOB], "object": f"{BOB}/statuses/{n}"}


def filler(i: int) -> str:
    words = [FILLER[(i * 7 + k * 3) % len(FILLER)] for k in range(22)]
    return f"<p>Day {i}: {' '.join(words)}</p>"


EMOJI_TAG = {"id": f"https://{SERVER}/emojis/1", "type": "Emoji", "name": ":blobcat:",
             "icon": {"type": "Image", "mediaType": "image/png", "url": f"https://{SERVER}/emoji/blobcat.png"}}
HASHTAG_TAG = {"type": "Hashtag", "href": f"https://{SERVER}/tags/baking", "name": "#baking"}

SPECIAL = [
    note(1, "<p>Bread &amp; butter &lt;3 &quot;always&quot; it&#39;s true</p>"),
    note(2, "<p>Unlisted musings about the harbour at dawn again</p>", "unlisted"),
    note(3, "<p>Secret plans for the zeppelinmarmalade tasting next week</p>", "followers"),
    note(4, f"<p>{MENTION_BOB} the door code is plumtangerine, see you there</p>", "direct"),
    boost(1),
    boost(2, "followers") | {"id": f"{ACTOR}/statuses/quietboostsecret/activity"},
    note(5, f"<p>{MENTION_BOB} I think the rye needs more time</p>", reply_to=f"{BOB}/statuses/42",
         tags=[{"type": "Mention", "href": BOB, "name": "@bob@other.example"}]),
    note(6, "<p>Adding to my own thread about the starter</p>", reply_to=f"{ACTOR}/statuses/1001"),
    note(7, '<p class="quote-inline">RE: <a href="https://other.example/@bob/77"><span class="invisible">https://'
         '</span><span class="">other.example/@bob/77</span></a></p><p>This quote is exactly right about crusts</p>'),
    note(8, "<p>The oven finally reached its full heat today</p>", summary="food talk, long"),
    note(9, "<p>:blobcat: loving the new baking tray so much</p>", tags=[EMOJI_TAG, HASHTAG_TAG]),
    note(10, f"<p>Full recipe for the rye loaf is here {LINK}</p>"),
    note(11, "<p>Short-form audience marker still counts as public here</p>", "public-short"),
    note(12, "<p>Looks public outside but mismatchedwhisper is for followers</p>", "public",
         object_audience="followers"),
]
PUBLIC_NOTES = N_FILLER + 9  # notes 1, 2, 5-11
PUBLIC_TOTAL = PUBLIC_NOTES + 1  # and one public boost


def outbox(items=None) -> str:
    items = SPECIAL + [note(100 + i, filler(i)) for i in range(N_FILLER)] if items is None else items
    return json.dumps({"@context": "https://www.w3.org/ns/activitystreams", "id": "outbox.json",
                       "type": "OrderedCollection", "totalItems": len(items), "orderedItems": items})


ACTOR_JSON = json.dumps({
    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
    "id": ACTOR, "type": "Person", "following": f"{ACTOR}/following", "followers": FOLLOWERS,
    "inbox": f"{ACTOR}/inbox", "outbox": "outbox.json", "preferredUsername": USER, "name": "Wren :blobcat:",
    "summary": "<p>Bakes bread. Not a real bird.</p>", "url": f"https://{SERVER}/@{USER}",
    "tag": [EMOJI_TAG], "icon": {"type": "Image", "mediaType": "image/png", "url": "avatar.png"},
})
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def members(**changes) -> dict:
    m = {"outbox.json": outbox(), "actor.json": ACTOR_JSON, "likes.json": '{"orderedItems": []}',
         "bookmarks.json": '{"orderedItems": []}', "avatar.png": PNG,
         "media_attachments/files/000/001/original/bread.jpg": b"\xff\xd8\xff" + b"\x00" * 32}
    m.update(changes)
    return {k: v for k, v in m.items() if v is not None}


def write_export(tmp_path: Path, form: str = "zip", **changes) -> Path:
    """The archive as Mastodon's zip, the folder it unzips to, or outbox.json alone."""
    data = members(**changes)
    if form == "zip":
        return write_zip(tmp_path / "archive-20240201120000-0a1b2c.zip", data)
    root = tmp_path / ("archive-20240201" if form == "folder" else "lone")
    for name, value in data.items():
        if form == "outbox" and name != "outbox.json":
            continue
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(value if isinstance(value, bytes) else value.encode())
    return root if form == "folder" else root / "outbox.json"


def fetch(path, **options):
    return MastodonArchiveSource(path, FetchOptions(**options)).fetch()


# --- what is read -------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["zip", "folder", "outbox"])
def test_public_posts_and_boosts_only(tmp_path, form):
    got = fetch(write_export(tmp_path, form))
    tweets = got.tweets
    assert len(tweets) == PUBLIC_TOTAL
    assert sum(t.is_retweet for t in tweets) == 1
    assert [t.id for t in tweets if t.is_reply] == [f"{ACTOR}/statuses/1005"]  # not the reply to oneself
    everything = json.dumps([t.to_dict() for t in tweets])
    for word in PRIVATE_WORDS:
        assert word not in everything
    assert got.author.handle == "wren@bread.example" and got.author.source == "mastodon-export"
    assert sources.profile_url(got.author) == "https://bread.example/@wren"
    if form == "outbox":
        assert got.author.name == "wren@bread.example"  # no actor.json: the activities' actor
    else:
        assert got.author.name == "Wren" and got.author.avatar_url == ""  # avatar.png is a file, never read


def test_texts(tmp_path):
    by_id = {t.id: t for t in fetch(write_export(tmp_path)).tweets}
    text = lambda n: by_id[f"{ACTOR}/statuses/{1000 + n}"].text  # noqa: E731
    assert text(1) == "Bread &amp; butter &lt;3 \"always\" it's true"
    assert text(5) == "@bob I think the rye needs more time"
    assert text(7) == "This quote is exactly right about crusts"
    assert text(8) == "The oven finally reached its full heat today"  # the content warning is not the post
    assert text(9) == "loving the new baking tray so much"
    assert text(10) == "Full recipe for the rye loaf is here"
    boosted = by_id[f"{ACTOR}/statuses/5001/activity"]
    assert boosted.is_retweet and boosted.text == "" and boosted.created_at == "2024-02-01T08:00:00Z"
    assert by_id[f"{ACTOR}/statuses/1001"].created_at == "2024-01-02T12:01:00Z"
    assert "food talk" not in json.dumps([t.text for t in by_id.values()])


def test_counts_after_cleaning(tmp_path):
    cleaned = clean_author(fetch(write_export(tmp_path)))
    s = cleaned.stats
    assert s.downloaded == PUBLIC_TOTAL == s.retweets + s.short + s.kept
    assert s.retweets == 1 and s.characters >= 6000
    assert not any(w in t for t in cleaned.tweets for w in PRIVATE_WORDS)


def test_only_outbox_and_actor_are_opened(tmp_path, monkeypatch):
    path, opened = write_export(tmp_path), []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(
        getattr(name, "filename", name)) or real_open(self, name, *a, **k))
    got = fetch(path)
    assert sorted(opened) == ["actor.json", "avatar.png", "outbox.json"]  # the avatar actor.json names, nothing else
    assert got.picture == PNG


def test_archive_one_folder_down(tmp_path):
    path = write_zip(tmp_path / "nested.zip", {f"archive/{k}": v for k, v in members().items()})
    assert is_export(path)
    got = fetch(path)
    assert len(got.tweets) == PUBLIC_TOTAL and got.author.name == "Wren"


@pytest.mark.parametrize("options,count,check", [
    ({"exclude_retweets": True}, PUBLIC_TOTAL - 1, lambda t: not t.is_retweet),
    ({"exclude_replies": True}, PUBLIC_TOTAL - 1, lambda t: not t.is_reply),
    ({"exclude_retweets": True, "exclude_replies": True}, PUBLIC_TOTAL - 2, lambda t: not (t.is_reply or t.is_retweet)),
])
def test_exclude_options(tmp_path, options, count, check):
    tweets = fetch(write_export(tmp_path), **options).tweets
    assert len(tweets) == count and all(check(t) for t in tweets)


def test_author_option_names_the_handle(tmp_path):
    assert fetch(write_export(tmp_path), author="@breadbird").author.handle == "breadbird"


def test_progress(tmp_path):
    calls = []
    MastodonArchiveSource(write_export(tmp_path)).fetch(lambda *a: calls.append(a))
    assert calls[-1][:2] == (PUBLIC_TOTAL, PUBLIC_TOTAL) and "outbox.json" in calls[-1][2]


# --- detection -----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["zip", "folder", "outbox"])
def test_detect_picks_the_mastodon_archive(tmp_path, form):
    path = write_export(tmp_path, form)
    assert isinstance(sources.detect(str(path)), MastodonArchiveSource)
    assert sources.detect_kind(str(path))[0] is KIND


def test_an_x_archive_is_not_claimed(tmp_path):
    for form in ("zip", "folder"):
        path = write_archive(tmp_path / form, form=form)
        assert not is_export(path)
        assert isinstance(sources.detect(str(path)), ArchiveSource)


@pytest.mark.parametrize("name,content", [
    ("posts.json", '{"type": "OrderedCollection", "items": []}'),  # no orderedItems
    ("list.json", '[{"orderedItems": []}]'),
    ("notes.json", "not json at all"),
    ("not-a-zip.zip", "PK but not really a zip"),
])
def test_other_files_are_not_claimed(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    assert not is_export(path)


def test_detection_reads_only_the_start(tmp_path):
    """A big outbox.json is recognised from its first bytes, not parsed whole."""
    path = tmp_path / "outbox-copy.json"
    path.write_text(outbox())
    with open(path, "a") as f:
        f.write(" " * (4 << 20) + "broken")  # the whole file would not parse
    assert is_export(path)


# --- bad input -----------------------------------------------------------------------------------


def _one_line_error(path, match, kind=HuggingTweetsError):
    with pytest.raises(kind, match=match) as err:
        fetch(path)
    assert "\n" not in str(err.value)
    for word in PRIVATE_WORDS:
        assert word not in str(err.value)
    return str(err.value)


def test_not_a_zip(tmp_path):
    path = tmp_path / "archive.zip"
    path.write_bytes(b"this is not a zip file")
    _one_line_error(path, "not a valid zip file")


def test_zip_without_outbox(tmp_path):
    path = write_zip(tmp_path / "other.zip", {"actor.json": ACTOR_JSON, "avatar.png": PNG})
    assert not is_export(path)
    _one_line_error(path, "No outbox.json in other.zip")


@pytest.mark.parametrize("broken,match", [
    ('{"orderedItems": [', r"outbox.json in .*is damaged \(not valid JSON at line 1\)"),
    (b'{"orderedItems": ["\xff"]}', r"not UTF-8"),
    ('[1, 2, 3]', "not a Mastodon outbox"),
    ('{"type": "OrderedCollection"}', "not a Mastodon outbox"),
])
def test_broken_outbox(tmp_path, broken, match):
    _one_line_error(write_export(tmp_path, **{"outbox.json": broken}), match)


def test_broken_actor_falls_back_to_the_outbox(tmp_path):
    got = fetch(write_export(tmp_path, **{"actor.json": "{broken"}))
    assert got.author.handle == "wren@bread.example"


@pytest.mark.parametrize("items", [[], [note(3, "<p>zeppelinmarmalade only</p>", "followers"),
                                        note(4, "<p>plumtangerine only</p>", "direct"), boost(3, "followers")]])
def test_no_public_posts(tmp_path, items):
    message = _one_line_error(write_export(tmp_path, **{"outbox.json": outbox(items)}), "No public posts in")
    assert "outbox.json" in message


def test_every_post_too_long(tmp_path):
    items = [note(1, f"<p>{'word ' * limits.MAX_POST_CHARS}</p>")]
    _one_line_error(write_export(tmp_path, **{"outbox.json": outbox(items)}), "over 25,000 characters")


def test_too_long_posts_are_skipped(tmp_path):
    items = [note(1, f"<p>{'word ' * limits.MAX_POST_CHARS}</p>"), note(2, "<p>a normal post here</p>")]
    assert [t.text for t in fetch(write_export(tmp_path, **{"outbox.json": outbox(items)})).tweets] == [
        "a normal post here"]


def test_huge_declared_outbox(tmp_path):
    path = write_deflate_bomb(tmp_path / "bomb.zip", "outbox.json", 1 << 20, declared_size=600 << 20,
                              others={"actor.json": ACTOR_JSON})
    assert is_export(path)
    _one_line_error(path, "over the 512 MiB limit", InputTooLarge)


def test_outbox_that_inflates_past_the_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TWEETS_FILE_BYTES", 2 << 20)
    path = write_deflate_bomb(tmp_path / "bomb.zip", "outbox.json", 8 << 20)
    _one_line_error(path, "over the 2 MiB limit", InputTooLarge)
    lying = write_deflate_bomb(tmp_path / "lying.zip", "outbox.json", 8 << 20, declared_size=100)
    _one_line_error(lying, "damaged")


def test_huge_actor(tmp_path):
    path = write_deflate_bomb(tmp_path / "bomb.zip", "actor.json", 8 << 20, others={"outbox.json": outbox()})
    _one_line_error(path, "actor.json in bomb.zip is 8 MiB, over the 4 MiB limit", InputTooLarge)


# --- the CLI -------------------------------------------------------------------------------------


def test_cli_data_json_leaves_private_posts_out_of_every_file(tmp_path, monkeypatch, capsys):
    cache, out = tmp_path / "cache", tmp_path / "out"
    monkeypatch.setenv("HUGGINGTWEETS_CACHE", str(cache))
    path = write_export(tmp_path)
    assert main(["data", str(path), "--json", "--out", str(out)]) == 0
    table = json.loads(capsys.readouterr().out)
    (row,) = table["authors"]
    assert row["handle"] == "wren@bread.example" and row["name"] == "Wren"
    assert row["downloaded"] == PUBLIC_TOTAL == row["retweets"] + row["short"] + row["kept"]
    assert row["retweets"] == 1
    written = [p for root in (out, cache) if root.exists() for p in root.rglob("*") if p.is_file()]
    assert written  # dataset.json at least
    for p in written:
        data = p.read_bytes()
        assert not any(w.encode() in data for w in PRIVATE_WORDS), p
    assert "Bread &amp; butter" not in (out / "dataset.json").read_text()  # cleaned: unescaped once
    assert "Bread & butter" in (out / "dataset.json").read_text()


def test_other_activitystreams_shapes(tmp_path):
    """A lone value without brackets, contentMap without content, a poll, inReplyTo as an object."""
    lone = note(1, "<p>:blobcat: a lone tag and audience here</p>")
    lone["object"].update(to=PUBLIC, cc=None, tag=EMOJI_TAG)
    mapped = note(2, "")
    del mapped["object"]["content"]
    mapped["object"]["contentMap"] = {"de": "<p>Das Brot ist heute gut</p>"}
    poll = note(3, "<p>Rye or spelt for the weekend loaf?</p>")
    poll["object"]["type"] = "Question"
    reply = note(4, "<p>answering my own question here</p>", reply_to={"id": f"{ACTOR}/statuses/1003"})
    elsewhere = note(5, "<p>not mine at all here</p>", reply_to={"id": f"{ACTOR}x/statuses/1"})
    items = [lone, mapped, poll, reply, elsewhere, {"type": "Like", "object": BOB}, "junk", None]
    tweets = fetch(write_export(tmp_path, **{"outbox.json": outbox(items)})).tweets
    assert [(t.text, t.is_reply) for t in tweets] == [
        ("a lone tag and audience here", False), ("Das Brot ist heute gut", False),
        ("Rye or spelt for the weekend loaf?", False), ("answering my own question here", False),
        ("not mine at all here", True)]


def test_detect_a_folder_holding_the_unzipped_archive(tmp_path):
    root = write_export(tmp_path / "downloads", "folder").parent
    assert isinstance(sources.detect(str(root)), MastodonArchiveSource)
    assert len(sources.detect(str(root)).fetch().tweets) == PUBLIC_TOTAL


# --- bounded memory: the outbox is read as a stream, and what is kept has caps (issue 26) --------


@pytest.mark.slow
def test_a_huge_outbox_is_read_as_a_stream(tmp_path):
    """A zip of well under 1 MB whose outbox.json inflates to 336 MiB (16 MiB of one activity
    repeated, then 320 MiB of blank space between two activities): read whole, that took
    gigabytes; read as a stream, the process grows by a few MiB."""
    head = outbox()[:-2]  # the usual outbox without its closing "]}"
    repeated = "," + json.dumps(note(500, filler(500)))
    mib = 1 << 20
    runs = [(head, 1), (repeated * (mib // len(repeated)), 16), (" " * mib, 320),
            ("," + json.dumps(note(501, filler(501))) + "]}", 1)]
    path = write_stretched_zip(tmp_path / "archive-big.zip", "outbox.json", runs, others={"actor.json": ACTOR_JSON})
    assert path.stat().st_size < 1 << 20
    got = read_in_a_child(path, MastodonArchiveSource)
    assert got["posts"] == PUBLIC_TOTAL + 2 and got["notes"] == []  # the repeated activity counts once
    assert got["growth_mib"] < 100, got


def test_an_outbox_over_the_cap_is_refused_while_streaming(tmp_path):
    """Past the 512 MiB cap (the X archive's for one tweets file): one line, memory still small."""
    runs = [('{"orderedItems": [', 1), (" " * (1 << 20), 600), ("]}", 1)]
    path = write_stretched_zip(tmp_path / "archive-bomb.zip", "outbox.json", runs, others={"actor.json": ACTOR_JSON})
    got = read_in_a_child(path, MastodonArchiveSource)
    assert "outbox.json in archive-bomb.zip is 600 MiB, over the 512 MiB limit" in got["error"], got
    assert got["growth_mib"] < 100, got


def test_only_the_newest_posts_within_the_caps_are_kept(tmp_path, monkeypatch):
    """More public posts than one author keeps: the newest are used (whatever their order in the
    file), the rest left out with one note; a repeated post is one post."""
    monkeypatch.setattr(limits, "MAX_POSTS_PER_AUTHOR", 50)
    items = [note(i, f"<p>post number {i} of many</p>") for i in range(200)]
    for i, item in enumerate(items):
        item["published"] = item["object"]["published"] = f"2023-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}T00:00:00Z"
    items = items[::-1] + items[:5]  # newest first, and five repeated
    got = fetch(write_export(tmp_path, **{"outbox.json": outbox(items)}))
    assert len(got.tweets) == 50
    assert {t.id for t in got.tweets} == {f"{ACTOR}/statuses/{1000 + i}" for i in range(150, 200)}
    (line,) = got.notes
    assert line == ("outbox.json in archive-20240201120000-0a1b2c.zip holds more than 50 posts, the most kept "
                    "for one author: the newest 50 are used and the older ones left out.")

    monkeypatch.setattr(limits, "MAX_POSTS_PER_AUTHOR", 50_000)
    monkeypatch.setattr(limits, "MAX_AUTHOR_BYTES", 1000)
    (tmp_path / "b").mkdir()
    got = fetch(write_export(tmp_path / "b", **{"outbox.json": outbox(items)}))
    assert 0 < len(got.tweets) < 50 and "holds more than 1,000 bytes of text" in got.notes[0]


def test_an_activity_too_long_to_be_a_post(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_STREAMED_ITEM_CHARS", 64 << 10)
    items = [note(1, "<p>fine</p>"), note(2, "<p>" + "x" * (100 << 10) + "</p>")]
    message = _one_line_error(write_export(tmp_path, **{"outbox.json": outbox(items)}), "runs past 64 KiB")
    assert "Mastodon writes each post in a few kilobytes" in message


@pytest.mark.parametrize("broken,match", [
    ('{"orderedItems": [] } trailing', r"more data after the end"),
    ('{"orderedItems": [{"type": "Create"} {"type": "Create"}]}', r"not valid JSON at line 1"),
    ('{"orderedItems": [1, 2]\n\n, "type": }', r"not valid JSON at line 3"),
    ('{"orderedItems": 7}', "not a Mastodon outbox"),
    ("", "not a Mastodon outbox"),
    ('{"orderedItems": [' + "[" * 200_000 + "]" * 200_000 + "]}", "nested too deeply"),
])
def test_broken_outbox_read_as_a_stream(tmp_path, broken, match):
    _one_line_error(write_export(tmp_path, **{"outbox.json": broken}), match)


def test_an_outbox_split_anywhere_reads_the_same(tmp_path, monkeypatch):
    """Chunks of a few bytes cut every value somewhere: the stream gives what a whole read gives."""
    whole = [(t.id, t.text) for t in fetch(write_export(tmp_path)).tweets]
    monkeypatch.setattr(limits, "READ_CHUNK", 7)
    (tmp_path / "small").mkdir()
    assert [(t.id, t.text) for t in fetch(write_export(tmp_path / "small")).tweets] == whole


@pytest.mark.parametrize("form", ["zip", "folder", "outbox"])
def test_the_archives_own_avatar_is_used(tmp_path, form):
    got = fetch(write_export(tmp_path, form))
    assert got.picture == (PNG if form != "outbox" else b"")  # outbox.json alone: no actor.json, no picture


@pytest.mark.parametrize("icon", ["../../etc/passwd.png", "/etc/hosts.png", "https://tracker.example/a.png", "sub/avatar.png", "avatar.exe"])
def test_an_avatar_elsewhere_is_never_followed(tmp_path, icon):
    actor = json.loads(ACTOR_JSON)
    actor["icon"]["url"] = icon
    got = fetch(write_export(tmp_path, "folder", **{"actor.json": json.dumps(actor)}))
    assert got.picture == b""
