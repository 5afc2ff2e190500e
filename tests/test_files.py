"""TextFileSource: .txt, .csv and .jsonl files of tweets."""

import pytest
from archive_fixtures import write_text_file

from huggingtweets.errors import HuggingTweetsError
from huggingtweets.sources import FetchOptions, detect
from huggingtweets.sources.files import TextFileSource


def fetch(path, **options):
    return TextFileSource(path, FetchOptions(**options)).fetch()


def error_of(path, **options) -> str:
    with pytest.raises(HuggingTweetsError) as info:
        fetch(path, **options)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def pairs(result):
    return [(t.id, t.text) for t in result.tweets]


# --- happy paths -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("a.txt", "first\n\n  second tweet  \r\nthird\n", [("1", "first"), ("3", "second tweet"), ("4", "third")]),
        ("a.txt", "no final newline", [("1", "no final newline")]),
        ("a.txt", "line with \u2028 separator\n", [("1", "line with \u2028 separator")]),
        ("a.csv", "text\nhello\nworld\n", [("1", "hello"), ("2", "world")]),
        ("a.csv", "id,Full_Text,likes\n7,hello,1\n8,,2\n9,world,3\n", [("1", "hello"), ("3", "world")]),
        ("a.csv", "CONTENT\r\nhello\r\n", [("1", "hello")]),
        ("a.jsonl", '{"text": "hello"}\n\n{"full_text": "world", "id": 9}\n', [("1", "hello"), ("3", "world")]),
        ("a.jsonl", '{"text": "caf\u00e9 \u2028 ok"}', [("1", "caf\u00e9 \u2028 ok")]),
    ],
)
def test_reads_each_format(tmp_path, name, content, expected):
    assert pairs(fetch(write_text_file(tmp_path, name, content))) == expected


def test_csv_quoted_commas_and_newlines(tmp_path):
    rows = [["id", "text"], ["1", "bread, jam, and butter"], ["2", 'a "quoted"\nsecond line'], ["3", "plain"]]
    result = fetch(write_text_file(tmp_path, "quoted.csv", rows))
    assert pairs(result) == [("1", "bread, jam, and butter"), ("2", 'a "quoted"\nsecond line'), ("3", "plain")]


@pytest.mark.parametrize(
    "name, content", [("bom.csv", "text\nhello\n"), ("bom.txt", "hello\n"), ("bom.jsonl", '{"text": "hello"}\n')]
)
def test_utf8_bom_is_dropped(tmp_path, name, content):
    # Excel and Notepad write a byte-order mark; it must not end up in the header or the first tweet.
    assert pairs(fetch(write_text_file(tmp_path, name, "\ufeff" + content))) == [("1", "hello")]


def test_text_is_kept_raw(tmp_path):
    # Cleaning decides what to do with entities, links and "RT @": the source passes them through.
    result = fetch(write_text_file(tmp_path, "raw.txt", "fish &amp; chips https://t.co/x\n"))
    assert result.tweets[0].text == "fish &amp; chips https://t.co/x"


@pytest.mark.parametrize(
    "author, expected", [(None, "my_posts"), ("someone", "someone"), ("@someone", "someone"), ("", "my_posts")]
)
def test_author_is_the_option_or_the_file_stem(tmp_path, author, expected):
    result = fetch(write_text_file(tmp_path, "my_posts.txt", "hi\n"), author=author)
    assert result.author.handle == expected and result.author.name == expected and result.author.source == "file"


def test_exclude_retweets_drops_rt_lines(tmp_path):
    result = fetch(write_text_file(tmp_path, "a.txt", "mine\nRT @other: theirs\nalso mine\n"), exclude_retweets=True)
    assert pairs(result) == [("1", "mine"), ("3", "also mine")]


def test_progress_is_called_once(tmp_path):
    calls = []
    TextFileSource(write_text_file(tmp_path, "a.txt", "one\ntwo\n")).fetch(lambda *args: calls.append(args))
    assert calls == [(2, 2, "Read 2 tweets from a.txt")]


@pytest.mark.parametrize("name", ["a.txt", "a.csv", "a.jsonl"])
def test_detect_gives_a_text_file_source(tmp_path, name):
    source = detect(str(write_text_file(tmp_path, name, "text\n")))
    assert isinstance(source, TextFileSource) and source.describe() == f"file {name}"


# --- errors --------------------------------------------------------------------------------------


def test_csv_without_a_text_column_names_what_it_looked_for(tmp_path):
    message = error_of(write_text_file(tmp_path, "posts.csv", "id,body,likes\n1,hello,2\n"))
    assert "posts.csv has no tweet column" in message
    assert "text, full_text, content" in message and "found id, body, likes" in message


@pytest.mark.parametrize(
    "name, content",
    [
        ("empty.txt", ""),
        ("empty.txt", "\n  \n\n"),
        ("empty.csv", ""),
        ("empty.csv", "text\n"),
        ("empty.csv", "text\n,\n"),
        ("empty.jsonl", "\n\n"),
    ],
)
def test_empty_file(tmp_path, name, content):
    assert f"No tweets in {name}" in error_of(write_text_file(tmp_path, name, content))


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"text": "ok"}\nnot json\n', "line 2 is not JSON"),
        ('{"text": "ok"}\n\n{"body": "no text"}\n', 'line 3 has no "text" or "full_text"'),
        ('{"text": 5}\n', 'line 1 has no "text"'),
        ('["text"]\n', 'line 1 has no "text"'),
    ],
)
def test_bad_jsonl_line_names_the_line(tmp_path, content, expected):
    message = error_of(write_text_file(tmp_path, "posts.jsonl", content))
    assert f"posts.jsonl {expected}" in message


@pytest.mark.parametrize("name", ["latin.txt", "latin.csv", "latin.jsonl"])
def test_non_utf8_file(tmp_path, name):
    path = write_text_file(tmp_path, name, "text\ncaf\u00e9 cr\u00e8me\n", encoding="latin-1")
    assert f"{name} is not UTF-8 text" in error_of(path) and "save it as UTF-8" in error_of(path)


def test_csv_with_an_unclosed_quote(tmp_path):
    # A stray quote swallows the rest of the file into one field until csv gives up.
    content = 'text\nfine\n"unclosed\n' + "more words\n" * 20_000
    assert "stray.csv is not a readable CSV" in error_of(write_text_file(tmp_path, "stray.csv", content))


def test_missing_file(tmp_path):
    assert "File not found" in error_of(tmp_path / "gone.txt")
