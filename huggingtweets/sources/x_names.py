"""X's handles and profile links: shared by the X API source and the X archive."""

from __future__ import annotations

import re

from ..errors import HuggingTweetsError
from .base import Author
from .networks import Words

# X's words: the published huggingtweets card's ("Tweets downloaded", "Retweets", ...), and its share page.
WORDS = Words("X", "tweet", "retweet", "https://twitter.com/intent/tweet?text={text}")

# X handles: 1 to 15 letters, digits or underscores.
X_HANDLE = re.compile(r"^@?([A-Za-z0-9_]{1,15})$")
# A profile URL as a person copies it from the address bar.
X_URL = re.compile(r"^https?://(?:www\.|mobile\.)?(?:x|twitter)\.com/([A-Za-z0-9_]{1,15})/?(?:[?#].*)?$", re.IGNORECASE)


def x_handle(text: str):
    """``@jack``, ``jack`` or ``https://x.com/jack`` -> ``jack``; None otherwise.

    A word of handle characters that is too long can only have been meant as an X handle
    (the registry asks X last): that is an error of its own, which says what handles look like.
    """
    match = X_HANDLE.match(text) or X_URL.match(text)
    if match:
        return match.group(1)
    if re.match(r"^@?\w{16,}$", text):
        raise HuggingTweetsError(
            f"Invalid X handle '{text}': handles are 1 to 15 letters, digits or underscores, like @jack.")
    return None


AVATAR_HOSTS = ("pbs.twimg.com", "abs.twimg.com")  # where X serves profile pictures


def x_avatar_ok(author: Author, url: str) -> bool:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname in AVATAR_HOSTS


def x_profile_url(author: Author) -> str:
    return f"https://x.com/{author.handle}" if X_HANDLE.match(author.handle) else ""
