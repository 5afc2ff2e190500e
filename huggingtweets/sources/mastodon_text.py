"""A Mastodon status's ``content`` (HTML) as training text, for the API and the export alike.

Mastodon serves a post as HTML::

    <p>Bread &amp; jam <a href="https://mastodon.example/tags/baking" class="mention hashtag"
    rel="tag">#<span>baking</span></a></p><p>see <a href="https://example.com/long/path"><span
    class="invisible">https://</span><span class="ellipsis">example.com/long</span><span
    class="invisible">/path</span></a> :blobcat:</p>

What is kept: paragraphs (``<p>``) separated by a blank line, ``<br>`` as a line
break, entities unescaped, mentions (``@user``) and hashtags (``#tag``) as their
text. What is dropped: ordinary links whole (the visible part and the invisible
spans alike: a cut-off link is no one's words), a quote post's ``RE: <link>``
paragraph (``quote-inline``), anything marked ``invisible``, script and style
contents, and custom emoji shortcodes (``:blobcat:``). The result follows the
``Tweet.text`` convention: plain text scrubbed and HTML-escaped (``escape_plain``)
so cleaning unescapes once, whatever the network.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Iterable, Optional

from . import limits
from .base import escape_plain

# Elements whose text is never kept, and classes that mark text Mastodon hides or adds.
SKIP_TAGS = frozenset({"script", "style", "template", "noscript"})
SKIP_CLASSES = frozenset({"invisible", "quote-inline"})
# Blocks that start a paragraph, and those that start a line.
PARAGRAPH_TAGS = frozenset({"p", "div", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"})
LINE_TAGS = frozenset({"br", "li"})
# An <a> kept as its text: a mention or a hashtag, by its markup (Mastodon, Pleroma, Misskey) ...
KEEP_LINK_CLASSES = frozenset({"mention", "hashtag", "u-url"})
# ... or, from servers that mark neither, by its text alone: "@user", "@user@server", "#tag".
MENTION_OR_TAG = re.compile(r"[@#][\w.\-]+(?:@[\w.\-]+)?")

# A custom emoji: ":name:" standing alone, not inside "10:30:45" or "a:b" (names of two or
# more letters, digits and underscores, as Mastodon allows); ":a::b:" is two of them.
SHORTCODES = re.compile(r"(?<![\w:])((?::[A-Za-z0-9_]{2,}:)+)(?![\w:])")
ONE_SHORTCODE = re.compile(r":([A-Za-z0-9_]+):")
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")

PARAGRAPH, LINE = "\n\n", "\n"


class _TextParser(HTMLParser):
    """Collects the kept text of one status; ``text()`` once fed and closed."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping: Optional[str] = None  # the tag of the element being skipped
        self.depth = 0  # how many of that tag are open inside it
        self.link: Optional[list[str]] = None  # the visible text of the <a> being read
        self.keep_link = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.skipping:
            if tag == "p" and self.skipping == "p":  # a <p> cannot hold a <p>: the skipped one ended
                self._stop_skipping()
            else:
                self.depth += tag == self.skipping
                return
        classes = set((attrs.get("class") or "").split())
        if tag in SKIP_TAGS or classes & SKIP_CLASSES:
            self.skipping, self.depth = tag, 1
            if tag == "p":
                self._emit(PARAGRAPH)
            return
        if tag == "a":
            self._end_link()  # an <a> inside an <a> (broken HTML) ends the first
            rel = set((attrs.get("rel") or "").split())
            self.link, self.keep_link = [], bool(classes & KEEP_LINK_CLASSES or "tag" in rel)
        elif tag in PARAGRAPH_TAGS:
            self._emit(PARAGRAPH)
        elif tag in LINE_TAGS:
            self._emit(LINE)

    def handle_startendtag(self, tag, attrs):  # <br/>, <span class="invisible"/>: nothing inside
        if self.skipping:
            return
        self.handle_starttag(tag, attrs)
        if self.skipping:
            self._stop_skipping()
        elif tag == "a":
            self._end_link()

    def handle_endtag(self, tag):
        if self.skipping:
            if tag == self.skipping:
                self.depth -= 1
                if not self.depth:
                    self._stop_skipping()
            return
        if tag == "a":
            self._end_link()
        elif tag in PARAGRAPH_TAGS:
            self._emit(PARAGRAPH)

    def handle_data(self, data):
        if not self.skipping:
            self._emit(_HTML_SPACE.sub(" ", data))

    def _emit(self, text: str) -> None:
        (self.link if self.link is not None else self.out).append(text)

    def _stop_skipping(self) -> None:
        if self.skipping == "p":
            self._emit(PARAGRAPH)
        self.skipping, self.depth = None, 0

    def _end_link(self) -> None:
        if self.link is None:
            return
        text = "".join(self.link)
        self.link = None
        if self.keep_link or MENTION_OR_TAG.fullmatch(text.strip()):
            self.out.append(text)
        else:
            self.out.append(" ")  # the words on either side stay apart

    def text(self) -> str:
        self._end_link()  # an <a> never closed: judged like any other
        return "".join(self.out)


def remove_shortcodes(text: str, shortcodes: Optional[Iterable[str]] = None) -> str:
    """``text`` without custom emoji ``:name:``: only ``shortcodes`` (names, with or without
    colons) when given; else any ``:name:`` standing apart from other words."""
    if shortcodes is None:
        return SHORTCODES.sub(" ", text)
    names = {str(s).strip(":") for s in shortcodes if s}
    if not names:
        return text
    return ONE_SHORTCODE.sub(lambda m: " " if m.group(1) in names else m.group(0), text)


def fold(text: str) -> str:
    """Spaces folded within lines, lines trimmed, at most one blank line in a row, ends stripped."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub(PARAGRAPH, "\n".join(lines)).strip()


def plain_text(content: str, shortcodes: Optional[Iterable[str]] = None) -> str:
    """The status's words as plain text (not escaped): what a reader of the post sees, less links and emoji."""
    if not isinstance(content, str) or not content:
        return ""
    parser = _TextParser()
    parser.feed(content)
    parser.close()
    return fold(remove_shortcodes(limits.scrub(parser.text()), shortcodes))


def status_text(content: str, shortcodes: Optional[Iterable[str]] = None) -> str:
    """``content`` HTML as ``Tweet.text``: plain text, scrubbed, HTML-escaped once (``escape_plain``)."""
    return escape_plain(plain_text(content, shortcodes))
