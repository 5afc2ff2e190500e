"""A Mastodon status's HTML ``content`` -> training text (``mastodon_text.status_text``).

Every input is HTML in the shape Mastodon serves, written for
these tests; the expected text follows the ``Tweet.text`` convention: plain text with
&, < and > escaped once (``escape_plain``), so cleaning unescapes it once.
"""

import html

import pytest

from huggingtweets.cleaning import clean_text
from huggingtweets.sources.mastodon_text import plain_text, remove_shortcodes, status_text

LINK = (
    '<a href="https://example.com/bread/sourdough-starter-guide" target="_blank" rel="nofollow noopener noreferrer" '
    'translate="no"><span class="invisible">https://</span><span class="ellipsis">example.com/bread/sourdough-st'
    '</span><span class="invisible">arter-guide</span></a>'
)
MENTION = (
    '<span class="h-card" translate="no"><a href="https://other.example/@bob" class="u-url mention">'
    "@<span>bob</span></a></span>"
)
HASHTAG = '<a href="https://bread.example/tags/baking" class="mention hashtag" rel="tag">#<span>baking</span></a>'
QUOTE = (
    '<p class="quote-inline">RE: <a href="https://other.example/@bob/111"><span class="invisible">https://</span>'
    '<span class="">other.example/@bob/111</span></a></p>'
)

CASES = [
    # (id, content, shortcodes, expected)
    ("one paragraph", "<p>The bread is rising slowly today</p>", None, "The bread is rising slowly today"),
    ("paragraphs", "<p>First thought.</p><p>Second thought.</p><p>Third.</p>", None,
     "First thought.\n\nSecond thought.\n\nThird."),
    ("line breaks", "<p>line one<br>line two<br />line three</p>", None, "line one\nline two\nline three"),
    ("paragraphs and breaks", "<p>a<br>b</p><p>c</p>", None, "a\nb\n\nc"),
    ("entities", "<p>Fish &amp; chips &lt;3 &quot;always&quot; it&#39;s &gt; toast</p>", None,
     "Fish &amp; chips &lt;3 \"always\" it's &gt; toast"),
    ("escaped markup stays text", "<p>&lt;script&gt;alert(1)&lt;/script&gt; is not run</p>", None,
     "&lt;script&gt;alert(1)&lt;/script&gt; is not run"),
    ("link dropped whole", f"<p>Read this {LINK} before baking</p>", None, "Read this before baking"),
    ("link-only post", f"<p>{LINK}</p>", None, ""),
    ("link at the end", f"<p>New post on the blog: {LINK}</p>", None, "New post on the blog:"),
    ("plain link text", '<p>see <a href="https://example.com/x">this page here</a> now</p>', None, "see now"),
    ("mention kept", f"<p>{MENTION} thanks for the recipe</p>", None, "@bob thanks for the recipe"),
    ("two mentions", f"<p>{MENTION} {MENTION.replace('bob', 'alice')} lunch?</p>", None, "@bob @alice lunch?"),
    ("hashtag kept", f"<p>Crumb shot {HASHTAG}</p>", None, "Crumb shot #baking"),
    ("pleroma hashtag", '<p>cats <a class="hashtag" data-tag="cats" href="https://p.example/tag/cats" '
     'rel="tag ugc">#cats</a></p>', None, "cats #cats"),
    ("unmarked mention link", '<p>hi <a href="https://m.example/@carol">@carol@m.example</a></p>', None,
     "hi @carol@m.example"),
    ("emoji removed", "<p>Good morning :blobcat: and :wave_hello: everyone</p>", None, "Good morning and everyone"),
    ("adjacent emoji", "<p>yes :blob_yes::blobheart: indeed</p>", None, "yes indeed"),
    ("times are not emoji", "<p>Meet at 10:30:45 or a:b:c</p>", None, "Meet at 10:30:45 or a:b:c"),
    ("listed emoji only", "<p>ratio :blobcat: and :notanemoji: here</p>", ["blobcat"],
     "ratio and :notanemoji: here"),
    ("listed with colons", "<p>:blobcat: done</p>", [":blobcat:"], "done"),
    ("no emoji listed", "<p>keep :this: one</p>", [], "keep :this: one"),
    ("quote post", f"{QUOTE}<p>Strongly agree with this</p>", None, "Strongly agree with this"),
    ("quote unclosed", '<p class="quote-inline">RE: <a href="https://o.example/1">o.example/1</a><p>my words</p>',
     None, "my words"),
    ("quote span", '<p>Quoting this<span class="quote-inline"><br/>RE: <a href="https://o.example/2">'
     "o.example/2</a></span></p>", None, "Quoting this"),
    ("script and style", "<p>before<script>var x = 'secret';</script><style>p{color:red}</style> after</p>",
     None, "before after"),
    ("spaces folded", "<p>  lots   of \t  space&nbsp;&nbsp;here  </p>", None, "lots of space here"),
    ("source newlines", "<p>one\ntwo</p>\n<p>\nthree</p>", None, "one two\n\nthree"),
    ("invisible outside links", '<p>shown<span class="invisible"> hidden</span> text</p>', None, "shown text"),
    ("inline markup kept", "<p>really <strong>very</strong> <em>good</em> <code>code</code></p>", None,
     "really very good code"),
    ("lists and quotes", "<p>list:</p><ul><li>flour</li><li>water</li></ul><blockquote><p>quoted</p></blockquote>",
     None, "list:\n\nflour\nwater\n\nquoted"),
    ("empty paragraphs", "<p></p><p>only this</p><p> </p>", None, "only this"),
    ("control characters", "<p>bell\x07 and \x00null</p>", None, "bell and null"),
    ("empty", "", None, ""),
    ("realistic", f"<p>{MENTION} Bread &amp; jam {HASHTAG} :blobcat:</p><p>recipe: {LINK}</p>", ["blobcat"],
     "@bob Bread &amp; jam #baking\n\nrecipe:"),
]


@pytest.mark.parametrize("content,shortcodes,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_status_text(content, shortcodes, expected):
    assert status_text(content, shortcodes) == expected


@pytest.mark.parametrize("content", [f"<p>x {LINK} y</p>", f"{QUOTE}<p>x y</p>", f"<p>{LINK}{LINK}</p>"])
def test_no_link_fragment_survives(content):
    text = status_text(content)
    for fragment in ("https", "example.com", "sourdough", "arter-guide", "other.example", "RE:", "111"):
        assert fragment not in text


def test_cleaning_unescapes_once():
    """&amp;lt; written by the person stays "&lt;" after cleaning: escaped once, unescaped once."""
    text = status_text("<p>type &amp;lt; for &lt; &amp; that is all</p>")
    assert clean_text(text) == "type &lt; for < & that is all"
    assert html.unescape(text) == plain_text("<p>type &amp;lt; for &lt; &amp; that is all</p>")


def test_none_and_non_text_content():
    assert status_text(None) == ""  # type: ignore[arg-type]
    assert plain_text(123) == ""  # type: ignore[arg-type]


def test_remove_shortcodes_alone():
    assert remove_shortcodes("a :x_y: b", None).split() == ["a", "b"]
    assert remove_shortcodes("a :x_y: b", ["other"]) == "a :x_y: b"
