"""Each network's own words (issue 28): a Mastodon model's data table, card rows and share links
say posts and boosts (no X link), a Bluesky one reposts, a model of several networks or of a
text file says posts and reposts; an X model keeps the published huggingtweets rows exactly."""

import html

import pytest

from huggingtweets.card import render_card
from huggingtweets.cleaning import TABLE_ROWS, AuthorStats, stats_table, table_rows
from huggingtweets.config import TrainConfig
from huggingtweets.sources.base import Author
from huggingtweets.sources.bluesky import WORDS as BLUESKY
from huggingtweets.sources.mastodon import WORDS as MASTODON
from huggingtweets.sources.networks import ANY
from huggingtweets.sources.x_names import WORDS as X
from huggingtweets.ui import render
from huggingtweets.workflow import share_link

PUBLISHED_ROWS = ["Tweets downloaded", "Retweets", "Short tweets", "Tweets kept"]  # the seeds' card table


def stats(source, handle="wren"):
    return AuthorStats(handle, handle.title(), downloaded=10, retweets=2, short=3, kept=5, source=source)


@pytest.mark.parametrize("sources, rows", [
    (["x"], PUBLISHED_ROWS),
    (["archive"], PUBLISHED_ROWS),
    (["x", "archive"], PUBLISHED_ROWS),  # X's API and X's archive: one network
    (["mastodon"], ["Posts downloaded", "Boosts", "Short posts", "Posts kept"]),
    (["mastodon-export", "mastodon"], ["Posts downloaded", "Boosts", "Short posts", "Posts kept"]),
    (["bluesky"], ["Posts downloaded", "Reposts", "Short posts", "Posts kept"]),
    (["bluesky-export"], ["Posts downloaded", "Reposts", "Short posts", "Posts kept"]),
    (["x", "mastodon"], ["Posts downloaded", "Reposts", "Short posts", "Posts kept"]),  # mixed: one neutral word
    (["file"], ["Posts downloaded", "Reposts", "Short posts", "Posts kept"]),
    ([""], PUBLISHED_ROWS),  # saved before sources were kept: the words its card had
])
def test_the_data_table_in_the_networks_words(sources, rows):
    table = [stats(s, f"a{i}") for i, s in enumerate(sources)]
    assert [label for label, _ in table_rows(table)] == rows
    markdown = stats_table(table)
    assert all(f"| {row} |" in markdown for row in rows)
    shown = render.data_table(table)
    assert all(f"<th>{row}</th>" in shown for row in rows)


def test_an_x_models_card_keeps_the_published_rows_exactly():
    assert [label for label, _ in TABLE_ROWS] == PUBLISHED_ROWS
    card = render_card([Author("wren", "Wren", source="archive")], [stats("archive")], TrainConfig(), {}, "wren-bot")
    assert "| Tweets downloaded | 10 |" in card and "| Retweets | 2 |" in card and "| Short tweets | 3 |" in card
    assert "| Tweets kept | 5 |" in card and "Posts" not in card and "Boosts" not in card


def test_a_mastodon_models_card_says_posts_and_boosts():
    author = Author("wren@lamp.example", "Wren", source="mastodon")
    card = render_card([author], [stats("mastodon", "wren@lamp.example")], TrainConfig(), {}, "wren-bot")
    assert "| Posts downloaded | 10 |" in card and "| Boosts | 2 |" in card and "| Posts kept | 5 |" in card
    assert "Tweets downloaded" not in card and "Retweets" not in card


def test_share_links_go_to_the_authors_network():
    text = "the lamp & the gulls"
    mastodon = Author("wren@lamp.example", "Wren", source="mastodon")
    url, network = share_link(text, [mastodon])
    assert network == "Mastodon" and url == "https://lamp.example/share?text=the%20lamp%20%26%20the%20gulls%20%23huggingtweets"
    assert share_link(text, [Author("wren.bsky.social", source="bluesky")])[0].startswith("https://bsky.app/intent/compose?text=")
    assert share_link(text, [Author("wren", source="archive")])[0].startswith("https://twitter.com/intent/tweet?text=")
    assert share_link(text, [Author("wren", source="file")]) == ("", "")  # no network: no link
    assert share_link(text, [mastodon, Author("gull", source="x")]) == ("", "")
    assert share_link(text, []) == ("", "")
    # a handle cannot steer the link elsewhere
    evil = Author('x@evil.example/"><script>', source="mastodon")
    assert "<script>" not in share_link(text, [evil])[0] and '"' not in share_link(text, [evil])[0]

    card = render.tweet_card(text, "", 0.0, False, [("wren@lamp.example", "Wren", "")], share=share_link(text, [mastodon]))
    assert ">Share on Mastodon</a>" in card and "twitter.com" not in card and "Share on X" not in card
    assert html.escape("https://lamp.example/share?text=") in card
    none = render.tweet_card(text, "", 0.0, False, [("wren", "Wren", "")])
    assert "ht-share" not in none


def test_the_words():
    assert (X.posts, X.reposts, MASTODON.reposts, BLUESKY.reposts, ANY.posts) == ("tweets", "retweets", "boosts", "reposts", "posts")


def test_the_apps_boxes_follow_the_authors_network(tmp_path):
    pytest.importorskip("ipywidgets")
    from huggingtweets.sources.base import AuthorTweets, Tweet
    from huggingtweets.ui.app import App
    from huggingtweets.workflow import prepare

    app = App(demo="tiny", output_dir=tmp_path)
    assert app.generate.part("prompt").description == "Start of the tweet" and app.generate.part("n").description == "Tweets"
    posts = [Tweet(id=str(i), text=f"the harbour lamp was lit again tonight and the gulls were loud {i}") for i in range(200)]
    app.session.dataset = prepare([AuthorTweets(Author("wren@lamp.example", "Wren", source="mastodon"), posts)])
    assert app.generate.part("prompt").description == "Start of the post" and app.generate.part("n").description == "Posts"
    assert "3 · Write posts" in app.generate.part("title").value
    assert app.share.part("include_dataset").description == "Include my cleaned posts (dataset.json)"
    app.session.dataset = None
    assert app.generate.part("prompt").description == "Start of the tweet"


def test_the_download_button_says_the_typed_networks_word(tmp_path):
    pytest.importorskip("ipywidgets")
    from huggingtweets.ui.app import App

    app = App(output_dir=tmp_path)
    data = app.data
    assert data.button.description == "Download tweets" and data.part("no_retweets").description == "Exclude retweets"
    data.part("handles")[0].value = "@wren@lamp.example"
    assert data.button.description == "Download posts" and data.part("no_retweets").description == "Exclude boosts"
    assert "1 · Download posts" in data.part("title").value  # the step's title too
    data.part("handles")[0].value = "wren.bsky.social"
    assert data.part("no_retweets").description == "Exclude reposts"
    data.part("handles")[1].value = "@dril"  # two networks: the neutral words
    assert (data.button.description, data.part("no_retweets").description) == ("Download posts", "Exclude reposts")
    data.part("handles")[0].value = data.part("handles")[1].value = ""
    assert data.button.description == "Download tweets" and "1 · Download tweets" in data.part("title").value


def test_the_data_steps_title_and_status_say_the_loaded_networks_words(tmp_path):
    """A text file typed as a path (no network): after Download the title and the status line say posts."""
    pytest.importorskip("ipywidgets")
    from huggingtweets.ui.app import App

    lines = tmp_path / "wren.txt"
    lines.write_text("\n".join(f"the harbour lamp was lit again tonight and the gulls were loud {i}" for i in range(200)), encoding="utf-8")
    app = App(output_dir=tmp_path / "out")
    app.data.part("handles")[0].value = str(lines)
    app.data.button.click()
    assert app.session.dataset is not None, app.data.part("message").value
    assert "1 · Download posts" in app.data.part("title").value and app.data.part("status").value.startswith("200 posts kept")
