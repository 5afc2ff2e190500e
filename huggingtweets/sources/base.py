"""What every source returns: an author and their raw tweets.

Raw means as the source gave it (X text is HTML-escaped, retweets still in);
``huggingtweets.cleaning`` turns it into training text and counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Protocol

from ..errors import HuggingTweetsError
from ..posts import Tweet, is_retweet_text  # noqa: F401  (the post type lives below the cache and the sources)
from .limits import scrub
from .networks import ANY, Words


@dataclass
class Author:
    handle: str  # without "@"; used in file names and the model card
    name: str = ""  # display name (user-controlled text: escape when rendering)
    avatar_url: str = ""
    source: str = ""  # the SourceKind.name that read it: "x", "archive", "file", ...

    def __post_init__(self):
        # Handles can come from file names (a non-UTF-8 name decodes to lone surrogates) and
        # names from profiles: scrubbed like tweet text, so every source agrees and both can
        # be saved as UTF-8, printed and put in a card.
        self.handle, self.name = (scrub(v) if isinstance(v, str) else v for v in (self.handle, self.name))
        if not self.name:
            self.name = self.handle


@dataclass
class AuthorTweets:
    author: Author
    tweets: list[Tweet] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the reader guessed, for the person to check
    picture: bytes = b""  # the avatar as the source holds it offline (an archive's own copy), else b""


def named_by_file(author: Author, options: "FetchOptions", where: str) -> tuple[Author, list[str]]:
    """``--author`` names a file's author; without it, say that the handle is a guess from ``where``."""
    given = (options.author or "").strip().lstrip("@")
    if given:
        if author.name == author.handle:  # a name that was only the guessed handle follows it
            author.name = given
        author.handle = given
        return author, []
    return author, [f"@{author.handle} is taken from {where}: name the author with --author if that is not their handle."]


# progress(done, total_or_None, message): called by sources as work advances.
Progress = Callable[[int, Optional[int], str], None]


@dataclass
class FetchOptions:
    """Choices shared by every source (each ignores what does not apply)."""

    exclude_retweets: bool = False
    exclude_replies: bool = False
    cache_dir: Optional[str] = None  # default: ~/.cache/huggingtweets
    refresh: bool = False  # X API: also ask for tweets newer than the cache holds
    bearer_token: Optional[str] = None  # X API; never logged or saved
    author: Optional[str] = None  # plain files: the author's handle (default: file stem)


def apply_options(tweets: list[Tweet], options: FetchOptions) -> list[Tweet]:
    """Leave out what the person excluded, before counting: excluded posts are not "downloaded"."""
    if options.exclude_replies:
        tweets = [t for t in tweets if not t.is_reply]
    if options.exclude_retweets:
        tweets = [t for t in tweets if not (t.is_retweet or is_retweet_text(t.text))]
    return tweets


class Source(Protocol):
    """Where tweets come from: ``fetch`` reports progress and returns one author's tweets."""

    def fetch(self, progress: Optional[Progress] = None) -> AuthorTweets: ...


def escape_plain(text: str) -> str:
    """Plain text (a network's own, or HTML turned to text) in the convention ``Tweet.text`` keeps."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class TokenSpec:
    """A credential a source needs: what the app's box is called and where else it is found."""

    label: str  # the app's box, e.g. "ACME API key"
    env: tuple[str, ...] = ()  # environment variables read when no token is passed
    help: str = ""  # one line: what to do without one


class NoToken(HuggingTweetsError):
    """A source that needs a token found none; ``token`` says which (the app words it for its box)."""

    def __init__(self, message: str, token: TokenSpec):
        super().__init__(message)
        self.token = token


@dataclass(frozen=True)
class SourceKind:
    """One place posts come from, as the registry (``sources.KINDS``) lists it.

    A kind recognises what a person typed (``match_text``: a handle or URL, returning the
    spec ``build`` takes, or None when it is not this kind's) or an existing file or folder
    by its content (``match_path``). ``name`` is ``Author.source`` of what it returns and
    its cache folder. ``profile_url`` links an author's profile in the model card.
    """

    name: str
    label: str  # "NETWORK handle", for help and errors
    takes: str  # what a person gives: handle shapes, URLs, file kinds
    build: Callable[[str, "FetchOptions"], Source]
    example: str = ""  # one example input, for errors and placeholders
    match_text: Optional[Callable[[str], Optional[str]]] = None
    match_path: Optional[Callable[[Path], bool]] = None
    profile_url: Optional[Callable[[Author], str]] = None
    token: Optional[TokenSpec] = None
    limits: str = ""  # what it cannot do, for README's table and help
    # Whether an avatar URL is the network's own (else nothing is fetched: a placeholder shows).
    avatar_ok: Optional[Callable[[Author, str], bool]] = None
    words: Words = ANY  # the network's words for a post and a repost, and its share page
