"""A network's own words: what it calls a post and a repost, and where a post is shared. Each
network's module defines its ``Words`` (its ``SourceKind.words``); every view that names posts
(the data table, the card's rows, the app's cards and boxes) asks by the authors' sources
(``sources.words_for``), so each network's model speaks its own words, and a model of several
networks (or of a text file) says "posts" and "reposts" (``ANY``).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

SHARE_TAG = " #huggingtweets"  # after a shared post's text


@dataclass(frozen=True)
class Words:
    network: str  # the network's name, as its people say it; "" for posts of no one network
    post: str  # "tweet", "post"
    repost: str  # "retweet", "repost", "boost"
    share: str = ""  # the network's share page, "{text}" where the post goes ("{server}": the author's); "" none

    @property
    def posts(self) -> str:
        return self.post + "s"

    @property
    def reposts(self) -> str:
        return self.repost + "s"

    def share_url(self, text: str, handle: str = "") -> str:
        """The page that shares ``text`` on this network ("" when it has none, or no server is known)."""
        server = handle.rsplit("@", 1)[1] if "@" in handle.lstrip("@") else ""
        if not self.share or ("{server}" in self.share and not server):
            return ""
        return self.share.format(text=urllib.parse.quote(text + SHARE_TAG), server=urllib.parse.quote(server, safe=".-"))


ANY = Words("", "post", "repost")


def common(words) -> Words:
    """The words of the networks given: theirs when they are one network, else ``ANY``."""
    found = set(words)
    return found.pop() if len(found) == 1 else ANY
