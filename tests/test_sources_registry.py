"""The source registry: one module per kind, asked in order; nothing else names a network."""

import re
import sys
import types
from pathlib import Path

import pytest

import huggingtweets.sources as sources
from huggingtweets.card import _author_md
from huggingtweets.errors import HuggingTweetsError
from huggingtweets.sources import Author, AuthorTweets, SourceKind, TokenSpec, Tweet, detect_kind, kinds, profile_url

PACKAGE = Path(sources.__file__).resolve().parents[1]


def test_the_registry_lists_one_module_per_kind():
    assert sources.KINDS == ("mastodon_archive", "bluesky_car", "archive", "files", "mastodon", "bluesky", "x_api")
    names = [k.name for k in kinds()]
    assert names == ["mastodon-export", "bluesky-export", "archive", "file", "mastodon", "bluesky", "x"]
    for kind in kinds():
        assert kind.label and kind.takes and (kind.match_text or kind.match_path)
        if kind.match_text:
            assert detect_kind(kind.example)[0] is kind  # each kind's own example is recognised as its own
    assert [k.name for k in kinds() if k.token] == ["x"]


@pytest.mark.parametrize("handle, source, url", [
    ("jack", "x", "https://x.com/jack"),
    ("jack", "archive", "https://x.com/jack"),
    ("wren.bsky.social", "bluesky", "https://bsky.app/profile/wren.bsky.social"),
    ("did:plc:w2rnw2rnw2rnw2rnw2rnw2rn", "bluesky-export", "https://bsky.app/profile/did:plc:w2rnw2rnw2rnw2rnw2rnw2rn"),
    ("wren@fosstodon.org", "mastodon", "https://fosstodon.org/@wren"),
    ("wren@fosstodon.org", "mastodon-export", "https://fosstodon.org/@wren"),
    ("wren", "file", ""),
])
def test_profile_links(handle, source, url):
    assert profile_url(Author(handle, source=source)) == url


NETWORK_WORDS = re.compile(r"bluesky|bsky|mastodon|atproto|activitystreams|tweepy|X_BEARER|x_api|X bearer", re.IGNORECASE)
# The registry names its modules, limits.py says why each cap is its size, and each network's own modules may name it.
OWNERS = re.compile(r"^sources/(__init__|limits|bluesky\w*|mastodon\w*|x_\w+|archive\w*)\.py$")


def test_no_module_outside_a_networks_own_names_it():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if OWNERS.match(rel):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if NETWORK_WORDS.search(line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == []


def test_adding_a_network_is_one_module(monkeypatch, tmp_path):
    """A new kind registered by one module and one line: detect, the card and the token lookup use it."""
    module = types.ModuleType("huggingtweets.sources.quill")

    class QuillSource:
        def __init__(self, spec, options):
            self.spec = spec

        def fetch(self, progress=None):
            return AuthorTweets(Author(self.spec, source="quill"), [Tweet("1", "a quill post about bread and lamps")])

    module.KIND = SourceKind(
        name="quill", label="Quill handle", takes="quill:NAME", example="quill:wren",
        build=lambda spec, options: QuillSource(spec, options),
        match_text=lambda text: text[len("quill:"):] if text.startswith("quill:") else None,
        profile_url=lambda author: f"https://quill.example/{author.handle}",
        token=TokenSpec("Quill key", ("QUILL_KEY",)),
    )
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(sources, "KINDS", ("quill",) + sources.KINDS)
    sources.kinds.cache_clear()
    try:
        assert sources.detect("quill:wren").fetch().author.source == "quill"
        assert sources.token_for("quill:wren").label == "Quill key"
        assert "https://quill.example/wren" in _author_md(Author("wren", "Wren", source="quill"))
        assert "Quill handle like quill:wren" in str(pytest.raises(HuggingTweetsError, detect_kind, "??").value)
    finally:
        monkeypatch.undo()
        sources.kinds.cache_clear()


def test_unknown_input_names_what_works(tmp_path):
    with pytest.raises(HuggingTweetsError) as err:
        detect_kind("not a handle at all")
    message = str(err.value)
    assert "@jack" in message and "name.bsky.social" in message and "@user@mastodon.social" in message
    odd = tmp_path / "notes.bin"
    odd.write_bytes(b"\x00\x01")
    with pytest.raises(HuggingTweetsError, match="Unsupported file 'notes.bin'"):
        detect_kind(str(odd))


@pytest.mark.parametrize("source, handle, url, shown", [
    ("archive", "jack", "https://pbs.twimg.com/profile_images/1/a_400x400.jpg", True),
    ("archive", "jack", "https://tracker.example/pixel.gif?who=you", False),
    ("x", "jack", "http://pbs.twimg.com/profile_images/1/a.jpg", False),  # not over https
    ("bluesky", "wren.bsky.social", "https://cdn.bsky.app/img/avatar/plain/did:plc:x/a@jpeg", True),
    ("bluesky", "wren.bsky.social", "https://bsky.app.evil.example/a.jpg", False),
    ("mastodon", "wren@mastodon.social", "https://files.mastodon.social/accounts/avatars/1.png", True),
    ("mastodon", "wren@mastodon.social", "https://mastodon.social.evil.example/a.png", False),
    ("mastodon-export", "wren@fosstodon.org", "https://cdn.fosstodon.org/a.png", True),
    # a site under a shared public suffix is not the server's own (the public suffix list decides)
    ("mastodon", "wren@mastodon.co.uk", "https://files.mastodon.co.uk/a.png", True),
    ("mastodon", "wren@mastodon.co.uk", "https://tracker.co.uk/pixel.png", False),
    ("mastodon", "wren@social.example.co.uk", "https://evil.co.uk/a.png", False),
    ("mastodon", "wren@wren.github.io", "https://other.github.io/a.png", False),
    ("mastodon", "wren@mastodon.social", "https://social/a.png", False),
    ("mastodon", "wren@127.0.0.1:3000", "https://0.1/a.png", False),
    ("file", "wren", "https://pbs.twimg.com/profile_images/1/a.jpg", False),
])
def test_avatars_come_only_from_the_authors_network(source, handle, url, shown):
    from huggingtweets.card import _avatar
    from huggingtweets.sources import avatar_url

    author = Author(handle, "Wren", avatar_url=url, source=source)
    assert (avatar_url(author) == url) is shown
    assert ("background-image" in _avatar(author, 92)) is shown  # the card fetches nothing else either
