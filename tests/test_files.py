"""TextFileSource: .txt, .csv and .jsonl files of tweets."""

from pathlib import Path

import pytest
from archive_fixtures import write_text_file

from huggingtweets.errors import HuggingTweetsError
from huggingtweets.sources import FetchOptions, detect, limits
from huggingtweets.sources import files as files_module
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
    assert isinstance(source, TextFileSource) and source.path.name == name


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


# --- caps and hostile input: one line that names the place, never the content ---------------------


def test_one_huge_line_is_an_error_that_does_not_print_it(tmp_path):
    path = tmp_path / "one-line.txt"
    path.write_bytes(b"first tweet\n" + b"a" * 50_000_000 + b"\nlast tweet\n")
    message = error_of(path)
    assert message == (
        "one-line.txt line 2 holds 50,000,000 characters, more than a post can be (25,000): put one tweet per line."
    )


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("long.csv", "text\nshort\n" + "b" * 30_000 + "\n", "long.csv row 2 holds 30,000 characters"),
        ("long.jsonl", '{"text": "' + "c" * 30_000 + '"}\n', "long.jsonl line 1 holds 30,000 characters"),
        ("long.jsonl", '{"text": "ok", "pad": "' + "d" * 1_100_000 + '"}\n',
         "long.jsonl line 1 holds 1,100,025 characters, more than a line may hold (1,048,576): "
         'put one object like {"text": "..."} per tweet on each line.'),
    ],
)
def test_overlong_tweets_and_lines(tmp_path, name, content, expected):
    assert expected in error_of(write_text_file(tmp_path, name, content))


def test_a_post_of_exactly_the_limit_is_kept(tmp_path):
    text = "e" * limits.MAX_POST_CHARS
    assert pairs(fetch(write_text_file(tmp_path, "edge.txt", text + "\n"))) == [("1", text)]


def test_the_file_size_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TEXT_FILE_BYTES", 1000)
    message = error_of(write_text_file(tmp_path, "big.txt", "a tweet of some words\n" * 100))
    assert message == f"big.txt is 2.1 KiB, over the 1,000 bytes limit: {files_module.TOO_BIG}"


def test_the_size_is_counted_while_reading(tmp_path, monkeypatch):
    if not Path("/dev/zero").exists():
        pytest.skip("needs /dev/zero")
    monkeypatch.setattr(limits, "MAX_TEXT_FILE_BYTES", limits.MiB)
    (tmp_path / "endless.txt").symlink_to("/dev/zero")
    assert error_of(tmp_path / "endless.txt") == f"endless.txt over the 1 MiB limit: {files_module.TOO_BIG}"


def test_non_utf8_names_the_line(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"fine\nalso fine\ncaf\xe9\n")
    assert error_of(path) == "mixed.txt is not UTF-8 text (bad byte on line 3): save it as UTF-8 and try again."


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"text": "ok"}\n{"text": "half an emoji \\ud83d here"}\n', "posts.jsonl line 2 holds a broken character"),
        ('{"text": "\\udc00"}\n', "posts.jsonl line 1 holds a broken character"),
        ("[" * 200_000 + "\n", "posts.jsonl line 1 is not JSON (nested too deeply to be tweets)"),
        ('{"text": "x", "n": ' + "7" * 5000 + "}\n", "posts.jsonl line 1 is not JSON (a number too long to read)"),
    ],
)
def test_hostile_jsonl_names_the_line(tmp_path, content, expected):
    assert expected in error_of(write_text_file(tmp_path, "posts.jsonl", content))


def test_a_whole_escaped_emoji_is_fine(tmp_path):
    result = fetch(write_text_file(tmp_path, "emoji.jsonl", '{"text": "happy \\ud83d\\ude00 jam"}\n'))
    assert pairs(result) == [("1", "happy \U0001F600 jam")]


@pytest.mark.parametrize(
    "name, content",
    [
        ("c.txt", "nul\x00 bell\x07 esc\x1b[2J tab\tkept\n\x00\x01\n"),
        ("c.csv", 'text\n"nul\x00 bell\x07 esc\x1b[2J tab\tkept"\n\x00\x01\n'),
        ("c.jsonl", '{"text": "nul\\u0000 bell\\u0007 esc\\u001b[2J tab\\tkept"}\n{"text": "\\u0000\\u0001"}\n'),
    ],
)
def test_control_characters_are_dropped(tmp_path, name, content):
    assert pairs(fetch(write_text_file(tmp_path, name, content))) == [("1", "nul bell esc[2J tab\tkept")]
