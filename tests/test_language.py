"""The corpus's language (issue 27): measured on the kept posts, shown in the data table and the card."""

from pathlib import Path

import pytest

from huggingtweets.cleaning import clean_author, stats_table
from huggingtweets.language import describe, main_language, measure, shares
from huggingtweets.sources.base import Author, AuthorTweets, Tweet

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"

RUSSIAN = ["Сегодня утром туман лежал над гаванью, и чайки кричали громче обычного.",
           "Я снова испёк хлеб, но корка опять получилась слишком тёмной.",
           "Маяк горел всю ночь, а утром лодки вернулись домой целыми."]
UKRAINIAN = ["Сьогодні вранці туман лежав над гаванню, і чайки кричали голосніше, ніж зазвичай."]
CHINESE = ["今天早上港口起了大雾，海鸥叫得比平时更响。", "我又烤了面包，可是外皮还是烤得太黑了。", "灯塔亮了一整夜，早上船都平安回来了。"]
ENGLISH = ["The lamp burned all night and the boats came home at dawn, every one of them."]


@pytest.mark.parametrize("texts, main, said", [
    (RUSSIAN, "ru", "Russian 100%"),
    (CHINESE, "zh", "Chinese 100%"),
    (ENGLISH * 3, "en", "English 100%"),
    (["مرحبا بكم في المنارة، الضوء يعمل طوال الليل والقوارب عادت إلى الميناء."], "ar", "Arabic 100%"),
    (["השמש שקעה מעל הנמל והסירות חזרו הביתה בשלום אחרי יום ארוך בים."], "he", "Hebrew 100%"),
])
def test_one_language(texts, main, said):
    measured = measure(texts)
    assert main_language(measured) == main and describe(measured) == said


def test_shares_are_by_characters_largest_first():
    measured = measure(RUSSIAN * 3 + UKRAINIAN * 2 + ["ok 🎉", "🎉🎉", ""])
    found = shares(measured)
    assert [c for c, _ in found] == ["ru", "uk"] and abs(sum(s for _, s in found) - 1) < 0.01
    assert describe(measured).startswith("Russian ") and ", Ukrainian " in describe(measured)


def test_nothing_to_judge_and_damaged_values():
    assert measure(["🎉🎉", "123 456", ""]) == "" and describe("") == "" and main_language("") == ""
    assert shares("ru:0.9,garbage,uk:x,en:0.1") == [("ru", 0.9), ("en", 0.1)]
    assert describe("zz:1.0") == "zz 100%"  # a code lingua does not know is shown as it is


def test_the_data_table_and_the_card_name_the_language():
    raw = AuthorTweets(Author("wren", "Wren"), [Tweet(str(i), t) for i, t in enumerate(CHINESE * 4)])
    stats = clean_author(raw).stats
    assert stats.language == "Chinese 100%"
    assert "| Language | Chinese 100% |" in stats_table([stats])


@pytest.mark.skipif(not CORPORA.is_dir(), reason="the real archives are not beside this checkout")
@pytest.mark.parametrize("name, main", [("mastodon-zh-outbox.json", "zh"), ("x-archive-ru-uk-tweets.js", "ru"),
                                        ("x-archive-en-tweets.js", "en")])
def test_real_archives(name, main, capsys):
    from huggingtweets.cli import main as cli

    assert cli(["data", str(CORPORA / name)]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("| Language |"))
    assert {"zh": "Chinese", "ru": "Russian", "en": "English"}[main] in line.split("|")[2].split(",")[0], line
