"""Email addresses and phone numbers leave the training text (cleaning.mask_contacts), are
counted, and stay only when the owner keeps them (--keep-contacts): tables of raw -> expected."""

import json

import pytest

from huggingtweets.cleaning import (
    MASKED_ROW,
    TABLE_ROWS,
    AuthorStats,
    clean_author,
    mask_contacts,
    stats_table,
    table_rows,
)
from huggingtweets.cli import main
from huggingtweets.dataset import TweetDataset, build_dataset
from huggingtweets.sources.base import Author, AuthorTweets, Tweet


@pytest.mark.parametrize(
    "raw, expected",
    [
        # international, after + or 00: any separators, a group in brackets
        ("Call +44 20 7946 0958 today", "Call [phone] today"),
        ("ring +1-202-555-0143 now", "ring [phone] now"),
        ("+33 1 23 45 67 89", "[phone]"),
        ("+49 30 12345678", "[phone]"),
        ("WhatsApp +91 98765 43210", "WhatsApp [phone]"),
        ("+44 (0)20 7946 0958", "[phone]"),
        ("0044 20 7946 0958", "[phone]"),
        ("tel:+442079460958", "tel:[phone]"),
        ("(+44 20 7946 0958)", "([phone])"),
        ("+1 202 555 0143 24/7", "[phone] 24/7"),  # the country's plan ends the number: 24 is not in it
        # an area code in brackets
        ("office (020) 7946 0958", "office [phone]"),
        ("(212) 555-0100", "[phone]"),
        ("8 (495) 123-45-67", "[phone]"),
        ("звоните +7 (916) 123-45-67!", "звоните [phone]!"),
        # national, one kind of separator: a trunk 0, or a known shape
        ("cell 202-555-0143 ok", "cell [phone] ok"),
        ("cell 202.555.0143 ok", "cell [phone] ok"),
        ("1-800-555-0199", "[phone]"),
        ("Tel: 020 7946 0958.", "Tel: [phone]."),
        ("call 090-1234-5678", "call [phone]"),
        ("01 23 45 67 89", "[phone]"),
        ("030 12345678", "[phone]"),
        ("138 0013 8000", "[phone]"),
        ("98765 43210", "[phone]"),
        ("call me (202-555-0143)", "call me ([phone])"),
        # bare runs that look like numbers to dial
        ("text me 2025550143 pls", "text me [phone] pls"),
        ("tel 02079460958", "tel [phone]"),
        ("89161234567", "[phone]"),
        # two side by side, and a count after one
        ("202-555-0143 202-555-0144", "[phone] [phone]"),
        ("2025550143 2025550144", "[phone] [phone]"),
        ("call 020 7946 0958 12 times", "call [phone] 12 times"),
        # other scripts: full-width digits and separators, no spaces around words, particles
        ("電話 ０３－１２３４－５６７８ まで", "電話 [phone] まで"),
        ("電話０３－１２３４－５６７８まで", "電話[phone]まで"),
        ("手机13800138000", "手机[phone]"),
        ("010-1234-5678로 연락", "[phone]로 연락"),
        ("رقمي +٩٦٦ ٥٠ ١٢٣ ٤٥٦٧ شكرا", "رقمي [phone] شكرا"),
        # email addresses
        ("mail me at john.doe+tag@example.co.uk!", "mail me at [email]!"),
        ("почта: иван@пример.рф", "почта: [email]"),
        ("連絡はinfo＠example.jpまで", "連絡は[email]まで"),
        ("mailto:a@b.io", "mailto:[email]"),
        ("2025550143@example.com", "[email]"),
        ("write to wren@lighthouse.example or ring 020 7946 0958", "write to [email] or ring [phone]"),
    ],
)
def test_masked(raw, expected):
    text, found = mask_contacts(raw)
    assert text == expected
    assert found == expected.count("[phone]") + expected.count("[email]")


@pytest.mark.parametrize(
    "raw",
    [
        # years, dates, times
        "in 2024 we", "on 2024-01-15 at 10:30", "15.01.2024", "born 19.05.1987", "2024.01.15", "20240115",
        "202401151030", "1/2/2024", "12:30:45", "10:30-11:45", "07:30 08:45 09:15", "01.02.2024 10.30",
        "2019 2020 2021", "the 2010-2020 decade",
        # prices and counts
        "$1,234,567.89", "€1.234.567", "1 234 567 euros", "12 345 678", "100 000 000", "USD 1 500 000",
        "4,000,000,000", "1 012 345 678 people", "count 1000000000", "1700000000", "1234567890",
        "+10000000 views", "+1 for this", "+20% up", "call 911", "room 101",
        # versions, addresses, ids, codes
        "version 1.2.3.4", "v10.15.7", "Windows 10.0.19045", "Ubuntu 22.04.3", "192.168.100.200",
        "tweet 1587654321098765432 lol", "ISBN 0306406152", "978-0-306-40615-7", "9780306406157",
        "order #1234567890", "SKU2025550143", "2025550143th", "-2025550143",
        # scores and other numbers
        "score 3-2", "7-6 6-4 6-3", "0-1 2-0 3-1 1-1 2-2", "101-99 110-105", "10 20 30 40 50",
        "3.14159265358", "3,14159265358", "+/- 5",
        # local numbers are too short to tell from a count
        "555-0143",
        # handles and words with @
        "@alice@mastodon.social hi", "@wren.bsky.social ok", "me@home tonight", "user@localhost",
    ],
)
def test_not_masked(raw):
    assert mask_contacts(raw) == (raw, 0)


def _author(texts):
    return AuthorTweets(Author("wren", "Wren"), [Tweet(str(i), t) for i, t in enumerate(texts)])


POSTS = [
    "RT @gull: call +44 20 7946 0958 for bread",  # a retweet: dropped, not counted as masked
    "lol ok",  # short: dropped
    "ring 020 7946 0958",  # 4 words as written: kept, though "ring [phone]" would be short
    "the lamp shop is on 020 7946 0958 and wren@lighthouse.example, both",
    "bread at dawn, ask at +1-202-555-0143 for a loaf",
    "the sea is loud tonight and the gulls are louder",
]


def test_counted_on_kept_posts_and_not_a_drop():
    out = clean_author(_author(POSTS))
    s = out.stats
    assert (s.downloaded, s.retweets, s.short, s.kept) == (6, 1, 1, 4)
    assert s.downloaded == s.retweets + s.short + s.kept
    assert s.contacts_masked == 3 and s.contacts == "masked"  # posts, not addresses: one holds two
    assert out.tweets == [
        "ring [phone]",
        "the lamp shop is on [phone] and [email], both",
        "bread at dawn, ask at [phone] for a loaf",
        "the sea is loud tonight and the gulls are louder",
    ]
    assert s.characters == sum(map(len, out.tweets))


def test_kept_on_request_with_the_same_counts():
    masked, kept = clean_author(_author(POSTS)), clean_author(_author(POSTS), keep_contacts=True)
    counts = ("downloaded", "retweets", "short", "kept")
    assert [getattr(kept.stats, k) for k in counts] == [getattr(masked.stats, k) for k in counts]
    assert kept.stats.contacts_masked == 0 and kept.stats.contacts == "kept"
    assert "020 7946 0958" in kept.tweets[1] and "wren@lighthouse.example" in kept.tweets[1]


def test_table_shows_the_masked_row_only_when_any_were():
    none = [AuthorStats("a", "A", 3, 1, 1, 1)]
    some = [AuthorStats("a", "A", 3, 1, 1, 1), AuthorStats("b", "B", 5, 0, 0, 5, contacts_masked=3)]
    assert table_rows(none) == TABLE_ROWS and "masked" not in stats_table(none)
    assert table_rows(some) == TABLE_ROWS + (MASKED_ROW,)
    assert stats_table(some).splitlines()[-1] == "| Tweets with emails/phones masked | 0 | 3 |"


def test_the_choice_is_recorded_in_the_saved_dataset(tmp_path):
    for keep, label in ((False, "masked"), (True, "kept")):
        dataset = build_dataset([_author(POSTS)], require_enough=False, keep_contacts=keep)
        dataset.save(tmp_path / label)
        saved = json.loads((tmp_path / label / "dataset.json").read_text(encoding="utf-8"))["authors"][0]["stats"]
        assert saved["contacts"] == label and saved["contacts_masked"] == (0 if keep else 3)
        assert TweetDataset.load(tmp_path / label).stats == dataset.stats


def test_a_dataset_saved_before_masking_still_loads(tmp_path):
    dataset = build_dataset([_author(POSTS)], require_enough=False)
    data = dataset.to_dict()
    for author in data["authors"]:
        del author["stats"]["contacts"], author["stats"]["contacts_masked"]
    (tmp_path / "dataset.json").write_text(json.dumps(data), encoding="utf-8")
    stats = TweetDataset.load(tmp_path).stats[0]
    assert (stats.contacts, stats.contacts_masked) == ("", 0)


# --- through the CLI ---------------------------------------------------------------------------
@pytest.fixture
def posts(tmp_path):
    path = tmp_path / "wren.txt"
    lines = [f"the keeper says {i} bread rises slowly by the lamp at night" for i in range(200)]
    lines[:3] = ["the lamp shop is on 020 7946 0958 so call", "write to wren@lighthouse.example for bread", "my number is +1-202-555-0143 now"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cli_data_counts_masked_posts(posts, capsys):
    assert main(["data", str(posts), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["authors"][0]["contacts_masked"] == 3
    assert main(["data", str(posts)]) == 0
    out = capsys.readouterr().out
    assert "| Posts kept | 200 |" in out and "| Posts with emails/phones masked | 3 |" in out
    assert "[phone]" in out and "020 7946" not in out


def test_cli_keep_contacts(posts, tmp_path, capsys):
    assert main(["data", str(posts), "--keep-contacts", "--out", str(tmp_path / "ds")]) == 0
    out = capsys.readouterr().out
    assert "masked" not in out and "020 7946 0958" in out
    stats = TweetDataset.load(tmp_path / "ds").stats[0]
    assert (stats.contacts, stats.contacts_masked, stats.kept) == ("kept", 0, 200)


def test_cli_help_names_the_flag(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--keep-contacts" in capsys.readouterr().out


@pytest.mark.slow
def test_resume_keeps_the_saved_choice_and_refuses_the_flag(tmp_path, capsys):
    """A run started without --keep-contacts (masked) is not resumed with it: one line naming it."""
    from conftest import tweet_dataset
    from huggingtweets.config import TrainConfig
    from huggingtweets.training import StopSignal, TrainCallback, fine_tune

    stop = StopSignal()

    class StopAt1(TrainCallback):
        def on_step(self, state):
            stop.request()

    out = tmp_path / "m"
    origin = {"sources": ["posts.txt"], "sample": None, "keep_contacts": None, "exclude_retweets": None, "exclude_replies": None, "author": None}
    config = TrainConfig(model="tiny", output_dir=str(out), block_size=32, max_steps=4)
    assert fine_tune(config, tweet_dataset(), callbacks=[StopAt1()], stop=stop, origin=origin).stopped
    assert main(["train", "posts.txt", "--resume", "--keep-contacts", "--model", "tiny", "--output", str(out)]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the training's own warnings above
    assert last.startswith("error: --resume continues the run in") and "these differ from it: --keep-contacts." in last


@pytest.mark.slow
def test_train_records_the_choice_in_the_model_folder_and_its_card(posts, tmp_path):
    out = tmp_path / "kept"
    assert main(["train", str(posts), "--keep-contacts", "--model", "tiny", "--max-steps", "1", "--block-size", "32",
                 "--output", str(out)]) == 0
    stats = TweetDataset.load(out).stats[0]
    assert (stats.contacts, stats.contacts_masked) == ("kept", 0)
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "left in the training text at the owner's request" in card
    assert "machine-generated" in card


def test_the_apps_data_table_shows_the_masked_row_only_when_any_were():
    pytest.importorskip("ipywidgets")
    from huggingtweets.ui import render

    none = render.data_table([AuthorStats("wren", "Wren", 3, 1, 1, 1)])
    some = render.data_table([AuthorStats("wren", "Wren", 3, 1, 1, 1, contacts_masked=1)])
    assert "masked" not in none
    assert '<tr><th>Tweets with emails/phones masked</th><td class="ht-num">1</td></tr>' in some
