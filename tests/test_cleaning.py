"""Cleaning rules as tables of raw -> expected."""

from pathlib import Path

import pytest

from huggingtweets.cleaning import (
    AuthorStats,
    check_enough,
    clean_author,
    clean_text,
    content_words,
    is_retweet,
    is_short,
    stats_table,
)
from huggingtweets.errors import NotEnoughTweets
from huggingtweets.sources.base import Author, AuthorTweets, Tweet


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("plain words here", "plain words here"),
        ("fish &amp; chips &lt;3 &gt; salad", "fish & chips <3 > salad"),
        ("read this https://t.co/AbC123 now", "read this now"),
        ("https://t.co/x starts with a link", "starts with a link"),
        ("ends with a link http://example.com/a?b=c", "ends with a link"),
        ("link alone on a line\nhttps://t.co/zzz", "link alone on a line"),
        ("www.example.com is a link too", "is a link too"),
        ("  lots   of\t\tspace  ", "lots of space"),
        ("two\nlines\n\nhere", "two lines here"),
        ("emoji 🐝 stay 🕯️", "emoji 🐝 stay 🕯️"),
        ("&amp;amp; is escaped twice", "&amp; is escaped twice"),
        ("", ""),
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("two\nlines", "two\nlines"),
        ("blank\n\n\nlines fold", "blank\nlines fold"),
        ("trailing space \n next", "trailing space\nnext"),
        ("url on its own line\nhttps://t.co/abc\nafter", "url on its own line\nafter"),
    ],
)
def test_clean_text_keeping_newlines(raw, expected):
    assert clean_text(raw, keep_newlines=True) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("RT @someone: hello there friend", True),
        ("  RT @someone: leading space", True),
        ("RT this is not a retweet", False),
        ("I said RT @x in the middle", False),
        ("rt @lower: lower case is not X's marker", False),
    ],
)
def test_is_retweet(text, expected):
    assert is_retweet(text) is expected


@pytest.mark.parametrize(
    "text, words, short",
    [
        ("good morning", 2, True),
        ("good morning everyone", 3, False),
        ("@a @b #c #d hi", 1, True),
        ("@gull_union stop stealing bread", 3, False),
        ("look http://x.co ok", 2, True),
        ("", 0, True),
        ("🐝 🐝 🐝", 3, False),
        # scripts without spaces count by characters: about two a word in Chinese and Japanese
        ("灯塔今晚很亮", 3, False),
        ("好的", 1, True),
        ("好的！", 1, True),
        ("海鸥又来偷面包了", 4, False),
        ("今日は雨でした", 4, False),
        ("はい", 1, True),
        ("@鸥 #灯塔 你好", 1, True),
        ("看 https://x.co 新书", 2, True),
        ("今天读了 Moby Dick", 4, False),  # mixed scripts: each part counts
        ("ขอบคุณมากครับ", 4, False),  # Thai: about four code points a word, marks included
        ("ครับ", 1, True),
        ("안녕 하세요", 2, True),  # Korean puts spaces between words: counted as words
        ("Привет как дела", 3, False),
    ],
)
def test_short(text, words, short):
    assert content_words(text) == words
    assert is_short(text) is short


def _author(texts, **flags):
    return AuthorTweets(Author("wren"), [Tweet(str(i), t, **flags) for i, t in enumerate(texts)])


def test_clean_author_counts_and_invariant():
    raw = _author(
        [
            "RT @gull: a retweet of a gull",
            "lol",
            "https://t.co/abc",
            "the lamp is lit &amp; the bread is rising https://t.co/q",
            "bees are asleep, the sea is not",
            "@friend ok",
        ]
    )
    out = clean_author(raw)
    s = out.stats
    assert (s.downloaded, s.retweets, s.short, s.kept) == (6, 1, 3, 2)
    assert s.downloaded == s.retweets + s.short + s.kept
    assert out.tweets == ["the lamp is lit & the bread is rising", "bees are asleep, the sea is not"]
    assert s.characters == sum(map(len, out.tweets))


def test_source_flagged_retweet_counts_as_retweet():
    raw = AuthorTweets(Author("a"), [Tweet("1", "a repost without RT marker", is_retweet=True)])
    assert clean_author(raw).stats.retweets == 1


def test_check_enough_error_and_warning():
    with pytest.raises(NotEnoughTweets, match="Not enough tweets to train for @tiny"):
        check_enough([AuthorStats("tiny", "Tiny", 10, 0, 0, 10, characters=500)])
    warnings = check_enough([AuthorStats("mid", "Mid", 100, 0, 0, 100, characters=10_000)])
    assert len(warnings) == 1 and "@mid" in warnings[0]
    assert check_enough([AuthorStats("big", "Big", 1, 0, 0, 1, characters=50_000)]) == []


def test_stats_table_one_and_many_authors():
    one = stats_table([AuthorStats("prawn_meat", "ringworm", 3247, 167, 156, 2924)])
    assert one.splitlines() == [
        "| Data | Quantity |",
        "| --- | --- |",
        "| Tweets downloaded | 3247 |",
        "| Retweets | 167 |",
        "| Short tweets | 156 |",
        "| Tweets kept | 2924 |",
    ]
    many = stats_table([AuthorStats("a", "Lady <b>Gaga</b>", 3, 1, 1, 1), AuthorStats("b", "Snoop | Dogg", 2, 0, 1, 1)])
    assert many.splitlines()[0] == "| Data | Lady &lt;b&gt;Gaga&lt;/b&gt; | Snoop \\| Dogg |"


CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


@pytest.mark.skipif(not (CORPORA / "mastodon-zh-outbox.json").exists(), reason="the real Chinese archive is not beside this checkout")
def test_a_real_chinese_archive_keeps_nine_posts_in_ten():
    """Issue 27: 1,276 of 1,443 posts were 'short' when words were counted by spaces."""
    from huggingtweets.sources import detect

    raw = detect(str(CORPORA / "mastodon-zh-outbox.json")).fetch()
    stats = clean_author(raw).stats
    originals = stats.downloaded - stats.retweets
    assert stats.kept >= 0.9 * originals, (stats.kept, originals)
