"""The Bluesky data export (a CAR v1 repository) as a source: detection, the tree walk, bad files, the CLI."""

import json

import libipld
import pytest
from archive_fixtures import make_tweets, write_archive
from car_fixtures import (
    DID, OTHER_DID, build_car, build_mst, car_bytes, cid_of, encode, like, link, link_facet, post, profile,
    repost, unreached,
)

from huggingtweets import sources
from huggingtweets.cli import main
from huggingtweets.errors import HuggingTweetsError, InputTooLarge
from huggingtweets.sources import FetchOptions, bluesky_car, detect, limits
from huggingtweets.sources.bluesky_car import BlueskyCarSource

LINKED = "read this github.com/bluesky-soci... now please friends"
NON_LATIN = "🐦 パンが焼けた example.com/pa... とても嬉しい"
DELETED_WORD = "zanzibar"
P = "app.bsky.feed.post/"


def repo_records(filler: int = 0) -> dict:
    records = {
        "app.bsky.actor.profile/self": profile("Wren Keeper 🐦"),
        "app.bsky.feed.like/3kl2aaaaaaa22": like(f"at://{OTHER_DID}/{P}3kxyzabcdef22"),
        "app.bsky.feed.like/3kl2bbbbbbb22": like(f"at://{OTHER_DID}/{P}3kxyzabcdeg22"),
        "app.bsky.graph.follow/3kf2aaaaaaa22": {"$type": "app.bsky.graph.follow", "subject": OTHER_DID,
                                               "createdAt": "2024-01-01T00:00:00Z"},
        P + "3kp2aaaaaaa22": post("the lamp is lit and the bread is rising", created="2024-03-01T10:00:00Z"),
        P + "3kp2bbbbbbb22": post(LINKED, facets=[link_facet(LINKED, "github.com/bluesky-soci...",
                                                             "https://github.com/bluesky-social/atproto")]),
        P + "3kp2ccccccc22": post(NON_LATIN, facets=[link_facet(NON_LATIN, "example.com/pa...",
                                                                "https://example.com/path/to/page")]),
        P + "3kp2ddddddd22": post("bread & <jam> for the gulls tonight"),
        P + "3kp2eeeeeee22": post("no, the gulls started it first", reply_to=f"at://{OTHER_DID}/{P}3kxyzabcdef22"),
        P + "3kp2fffffff22": post("and then the tide came in again", reply_to=f"at://{DID}/{P}3kp2aaaaaaa22"),
        P + "3kp2ggggggg22": post("ok 👍"),
        "app.bsky.feed.repost/3kr2aaaaaaa22": repost(f"at://{OTHER_DID}/{P}3kxyzabcdef22"),
    }
    for i in range(filler):
        records[f"{P}3kq{i:010d}"] = post(f"the keeper says {i} bread rises slowly by the lamp at night")
    return records


# Forced levels, so the tree surely has three levels, left and right subtrees, and shared prefixes.
LAYERS = {P + "3kp2ccccccc22": 2, "app.bsky.feed.like/3kl2bbbbbbb22": 1, P + "3kp2fffffff22": 1,
          "app.bsky.actor.profile/self": 0, P + "3kp2aaaaaaa22": 0}


def deleted_blocks() -> list:
    """A deleted post's block and the old tree node that held it: in the file, reached by nothing."""
    cid, data = unreached(post(f"the {DELETED_WORD} ferry leaves at noon"))
    _, old_nodes = build_mst({P + "3kp1zzzzzzz22": cid})
    return [(cid, data)] + old_nodes


@pytest.fixture
def car(tmp_path):
    path = tmp_path / "repo.car"
    path.write_bytes(build_car(repo_records(), layers=LAYERS, extra_blocks=deleted_blocks()))
    return path


def fetch(path, **options):
    return BlueskyCarSource(path, FetchOptions(**options)).fetch()


def error_of(path, **options) -> str:
    with pytest.raises(HuggingTweetsError) as e:
        fetch(path, **options)
    assert "\n" not in str(e.value)
    return str(e.value)


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_libipld_reads_what_the_fixture_writes(car):
    header, blocks = libipld.decode_car(car.read_bytes())
    assert header["version"] == 1 and len(header["roots"]) == 1
    commit = blocks[header["roots"][0]]
    assert commit["did"] == DID and commit["version"] == 3 and commit["prev"] is None
    nodes = [b for b in blocks.values() if isinstance(b, dict) and "e" in b]
    live = [n for n in nodes if all(e["v"] in blocks for e in n["e"])]
    assert any(n["l"] is not None for n in live)  # a left subtree
    assert any(e["t"] is not None for n in live for e in n["e"])  # a right subtree
    assert any(e["p"] > 0 for n in live for e in n["e"])  # keys sharing a prefix
    assert blocks[commit["data"]]["e"][0]["k"] == (P + "3kp2ccccccc22").encode()  # the top level's one key


def test_posts_reposts_and_author(car):
    got = fetch(car)
    assert (got.author.handle, got.author.name, got.author.source) == (DID, "Wren Keeper 🐦", "bluesky-export")
    by_key = {t.id.split("/", 3)[3]: t for t in got.tweets}
    want = sorted(k for k in repo_records() if k.startswith((P, "app.bsky.feed.repost/")))
    assert [t.id for t in got.tweets] == [f"at://{DID}/{k}" for k in want]  # key order; no likes, follows
    assert by_key[P + "3kp2aaaaaaa22"].created_at == "2024-03-01T10:00:00Z"
    assert by_key[P + "3kp2bbbbbbb22"].text == "read this   now please friends"
    assert by_key[P + "3kp2ccccccc22"].text == "🐦 パンが焼けた   とても嬉しい"  # byte offsets, not characters
    assert by_key[P + "3kp2ddddddd22"].text == "bread &amp; &lt;jam&gt; for the gulls tonight"
    assert by_key[P + "3kp2eeeeeee22"].is_reply  # to someone else
    assert not by_key[P + "3kp2fffffff22"].is_reply  # to oneself: a thread
    rt = by_key["app.bsky.feed.repost/3kr2aaaaaaa22"]
    assert rt.is_retweet and rt.text == "" and not any(t.is_retweet for t in got.tweets if t is not rt)
    everything = json.dumps([t.to_dict() for t in got.tweets], ensure_ascii=False)
    assert DELETED_WORD not in everything and "bluesky-soci" not in everything and "example.com" not in everything


def test_options_author_and_exclusions(car):
    got = fetch(car, author="@wren.bsky.social", exclude_replies=True, exclude_retweets=True)
    assert got.author.handle == "wren.bsky.social"
    assert not any(t.is_reply or t.is_retweet for t in got.tweets)
    assert len(got.tweets) == len(fetch(car).tweets) - 2
    assert sources.profile_url(got.author) == "https://bsky.app/profile/wren.bsky.social"
    assert sources.profile_url(fetch(car).author) == f"https://bsky.app/profile/{DID}"
    assert bluesky_car.profile_url(sources.Author("wren keeper", source="bluesky-export")) == ""


def test_whole_tree_in_key_order(tmp_path):
    """Three hundred posts at the levels their hashes give: every one comes back, in order, once."""
    records = {f"{P}3k{i:011d}": post(f"post number {i} about bread") for i in range(300)}
    path = tmp_path / "big.car"
    path.write_bytes(build_car(records))
    _, blocks = libipld.decode_car(path.read_bytes())
    assert sum(1 for b in blocks.values() if "e" in b) > 10  # many nodes, several levels
    seen = []
    got = BlueskyCarSource(path).fetch(lambda done, total, message: seen.append((done, total, message)))
    assert [t.id for t in got.tweets] == [f"at://{DID}/{k}" for k in sorted(records)]
    assert seen[-1] == (300, 300, "Read 300 posts from big.car")


def test_older_version_2_commit(tmp_path):
    path = tmp_path / "old.car"
    path.write_bytes(build_car(repo_records(), version=2))
    assert len(fetch(path).tweets) == 8


def test_detected_by_content(car, tmp_path):
    bare = tmp_path / "export"
    bare.write_bytes(car.read_bytes())
    for path in (car, bare):
        assert isinstance(detect(str(path)), BlueskyCarSource)
    assert sources.detect_kind(str(bare))[0].name == "bluesky-export"
    txt = tmp_path / "posts.txt"
    txt.write_text("the lamp is lit\n", encoding="utf-8")
    zipped = write_archive(tmp_path, generation="2022", tweets=make_tweets(3))
    for path in (txt, zipped, tmp_path):
        assert sources.detect_kind(str(path))[0].name != "bluesky-export"
        assert not bluesky_car.is_repo_car(path)
    assert not bluesky_car.is_repo_car(tmp_path / "missing.car")


def test_garbage_and_truncated(car, tmp_path):
    data = car.read_bytes()
    garbage = tmp_path / "garbage.car"
    garbage.write_bytes(bytes((i * 7919) % 251 for i in range(4000)))
    with pytest.raises(HuggingTweetsError, match="Unsupported file 'garbage.car'"):
        detect(str(garbage))
    assert "is not a CAR file" in error_of(garbage)
    empty = tmp_path / "empty.car"
    empty.write_bytes(b"")
    assert "is not a CAR file" in error_of(empty)
    cut = tmp_path / "cut.car"
    cut.write_bytes(data[: len(data) - 40])
    assert isinstance(detect(str(cut)), BlueskyCarSource)  # the header is whole: it is a CAR
    assert error_of(cut).startswith("cut.car is damaged (")
    cut.write_bytes(data[:20])
    assert "is not a CAR file" in error_of(cut)


def test_not_a_repository(tmp_path):
    record = encode(post("hello there friends"))
    not_commit = car_bytes([cid_of(record)], [(cid_of(record), record)])
    assert "not a Bluesky repository" in error_of(write(tmp_path, "a.car", not_commit))
    assert "is incomplete" in error_of(write(tmp_path, "b.car", car_bytes([cid_of(record)], [])))
    broken = car_bytes([cid_of(record)], [(cid_of(record), b"\xa1")])
    assert error_of(write(tmp_path, "c.car", broken)).startswith("c.car is damaged (")
    newer = build_car(repo_records(), version=99)
    assert "version 99" in error_of(write(tmp_path, "d.car", newer))


def commit_over(node_cid: bytes) -> tuple[bytes, bytes]:
    commit = encode({"did": DID, "version": 3, "data": link(node_cid), "rev": "r", "sig": b"s", "prev": None})
    return cid_of(commit), commit


def test_hostile_trees(tmp_path):
    fake = cid_of(b"a node that names itself")
    loop = encode({"l": link(fake), "e": []})
    c = commit_over(fake)
    assert "loops back" in error_of(write(tmp_path, "loop.car", car_bytes([c[0]], [c, (fake, loop)])))

    chain, below = [], None
    for _ in range(bluesky_car.MAX_TREE_DEPTH + 5):
        node = encode({"l": link(below) if below else None, "e": []})
        below = cid_of(node)
        chain.append((below, node))
    c = commit_over(below)
    assert "levels deep" in error_of(write(tmp_path, "deep.car", car_bytes([c[0]], [c] + chain)))

    missing = commit_over(cid_of(b"a node not in the file"))
    assert "is incomplete" in error_of(write(tmp_path, "gone.car", car_bytes([missing[0]], [missing])))

    bad_key = encode({"l": None, "e": [{"p": 9, "k": b"x", "v": link(fake), "t": None}]})
    c = commit_over(cid_of(bad_key))
    assert "tree key" in error_of(write(tmp_path, "key.car", car_bytes([c[0]], [c, (cid_of(bad_key), bad_key)])))


def test_empty_repo_and_size_cap(tmp_path, monkeypatch, car):
    only_likes = {k: v for k, v in repo_records().items() if not k.startswith((P, "app.bsky.feed.repost/"))}
    message = error_of(write(tmp_path, "quiet.car", build_car(only_likes)))
    assert message.startswith("No posts in quiet.car")
    huge = {P + "3kp2aaaaaaa22": post("bread " * 5000)}  # 30,000 characters: no post is that long
    assert "all 1 of its posts are over 25,000 characters" in error_of(write(tmp_path, "huge.car", build_car(huge)))
    monkeypatch.setattr(limits, "MAX_REPO_FILE_BYTES", 1000)
    with pytest.raises(InputTooLarge, match="over the 1,000 bytes limit"):
        fetch(car)


def test_cli_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HUGGINGTWEETS_CACHE", str(tmp_path / "cache"))
    data = build_car(repo_records(filler=150), layers=LAYERS, extra_blocks=deleted_blocks())
    path = write(tmp_path, "repo.car", data)
    assert main(["data", str(path), "--json", "--author", "wren.bsky.social"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["authors"]
    assert (row["handle"], row["name"]) == ("wren.bsky.social", "Wren Keeper 🐦")
    assert row["downloaded"] == 158 == row["retweets"] + row["short"] + row["kept"]
    assert (row["retweets"], row["short"]) == (1, 1)

    out = tmp_path / "ds"
    assert main(["data", str(path), "--out", str(out), "--author", "wren.bsky.social"]) == 0
    assert "| Posts downloaded | 158 |" in capsys.readouterr().out  # Bluesky's words
    files = [f for f in out.rglob("*") if f.is_file()]
    assert files
    for f in files:
        data = f.read_bytes()
        for fragment in (DELETED_WORD.encode(), b"bluesky-soci", b"github.com", b"example.com"):
            assert fragment not in data, (f, fragment)
