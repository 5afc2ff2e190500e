"""Raw tweets to training text, and the per-author counts the model card shows.

The rules are the original huggingtweets ones:
- HTML entities are unescaped (every source keeps ``&amp;`` ``&lt;`` ``&gt;`` as X serves them);
- a retweet (text starting ``RT @``, or flagged by its source) is counted and dropped;
- links are removed; runs of spaces are folded (newlines kept only if asked);
- a "short" tweet has fewer than 3 words that are not links, @mentions or
  #hashtags (in scripts without spaces, a word per few characters: ``content_words``);
  it is counted and dropped.
Every downloaded tweet lands in exactly one of retweets / short / kept, so
``downloaded == retweets + short + kept`` always holds.

Then, unless the owner keeps them (``keep_contacts``: their own archive, a model they will not
publish), email addresses and phone numbers in the kept tweets become ``[email]`` and
``[phone]`` (``mask_contacts``; the rule is documented there), so a public model cannot
repeat them. That is not a drop: the tweet stays kept, and ``contacts_masked`` counts it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import asdict, dataclass, field

from .errors import NotEnoughTweets
from .language import describe
from .language import measure as measure_languages
from .names import visible
from .sources import words_for
from .sources.base import Author, AuthorTweets, is_retweet_text
from .sources.x_names import WORDS as X_WORDS
from .sources.networks import Words

# Below this many characters of kept text there is nothing to learn a voice from;
# below the warning level the model will mostly repeat itself (original thresholds).
MIN_CHARACTERS = 6_000
WARN_CHARACTERS = 40_000
MIN_WORDS = 3

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_NEWLINES = re.compile(r" *\n[ \n]*")


is_retweet = is_retweet_text  # the rule lives with the sources, which apply it too


def clean_text(text: str, keep_newlines: bool = False) -> str:
    """Unescape entities, drop invisible reordering characters (``names.visible``) and links, fold whitespace."""
    text = visible(html.unescape(text))
    text = _URL.sub(" ", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if keep_newlines:
        text = _SPACES.sub(" ", text)
        text = _NEWLINES.sub("\n", text)
    else:
        text = " ".join(text.split())
    return text.strip()


# Scripts written without spaces between words count a word per a few characters (code points):
# Chinese and Japanese words average 1.5 to 2 characters; a Thai, Lao, Khmer or Myanmar word,
# with its vowel and tone marks, about 4. Korean puts spaces between words.
_UNSPACED = (
    (re.compile("[\u3040-\u30FF\u31F0-\u31FF\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\uFF66-\uFF9F"
                "\U00020000-\U0003134F]+"), 2),
    (re.compile("[\u0E00-\u0EFF\u1000-\u109F\u1780-\u17FF]+"), 4),
)


def unspaced_runs(text: str) -> list[tuple[str, int]]:
    """Each run of ``text`` in a script written without spaces, with its characters per word."""
    return [(run, per_word) for script, per_word in _UNSPACED for run in script.findall(text)]


def content_words(text: str) -> int:
    """Words that carry the author's voice: not links, @mentions or #hashtags. A word in a
    script without spaces counts by its characters (``_UNSPACED``); any other word counts once."""
    count = 0
    for w in text.split():
        if w.startswith(("@", "#", "＠", "＃")) or "http" in w.lower():
            continue
        rest, units = w, 0
        for script, per_word in _UNSPACED:
            units += sum(-(-len(run) // per_word) for run in script.findall(rest))
            rest = script.sub(" ", rest)
        if not units:
            count += 1
            continue
        count += units + sum(1 for part in rest.split() if re.search(r"\w", part))
    return count


def is_short(cleaned: str) -> bool:
    return content_words(cleaned) < MIN_WORDS


# --- contacts: email addresses and phone numbers become placeholders ---------------------------
EMAIL, PHONE = "[email]", "[phone]"
KEEP_CONTACTS_HELP = "keep email addresses and phone numbers in the training text (your own archive, a model you will not publish)"

# Letters and digits of scripts written with spaces between words. A number or an address glued
# to one of them is part of that word (v10.15.7, SKU2025550143); Chinese and Japanese write a
# number straight after a word and Korean puts particles right after it, so theirs never glue.
_WORD = "0-9A-Za-z_\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
_LETTER = "A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
_GLUE = re.compile(f"[{_WORD}]")
_EMAIL = re.compile(
    rf"(?<![{_WORD}.%+\-@＠])"  # not inside a word, nor the server of a fediverse handle (@alice@example.social)
    rf"[{_WORD}%+\-]+(?:\.[{_WORD}%+\-]+)*[@＠]"  # the local part
    rf"(?:[{_WORD}](?:[{_WORD}\-]*[{_WORD}])?\.)+[{_LETTER}]{{2,}}(?![{_WORD}\-])"  # domain, a top-level domain of letters
)
# A run of digit groups joined by one separator each (a space, a hyphen or dash, a dot, full-width
# ones too), maybe after a "+" and with a group in parentheses. ``\d`` is any script's digit.
_SEPARATORS = " \u00a0\u2009\u202f\u3000\\-.\u2010-\u2015\u2212\uff0d\uff0e\u30fc"
_RUN = re.compile(rf"[+＋]?[(（]?\d(?:[)）]?(?:[{_SEPARATORS}][(（]?|[(（])?\d)*")
_SPACES_IN_RUN = re.compile("[ \u00a0\u2009\u202f\u3000]")
_GROUP = re.compile(r"\d+")
_ISBN = re.compile(r"isbn(?:[\s:-]*1[03])?[\s:-]*$", re.IGNORECASE)
# National numbers without separators or a trunk 0 come in these group lengths: (202) 555-0143 and
# 1-800-555-0199 (North America), 138 0013 8000 (mobiles in China), 98765 43210 (mobiles in India).
NATIONAL_SHAPES = ((3, 3, 4), (1, 3, 3, 4), (3, 4, 4), (5, 5))
MIN_PHONE_DIGITS = 8  # fewer is a count, a year, a time or a local number (555-0143), never masked
MAX_PIECES = 7  # a phone number written with spaces has at most this many space-separated parts (+33 1 23 45 67 89)


def mask_contacts(text: str) -> tuple[str, int]:
    """``text`` with every email address as ``[email]`` and every phone number as ``[phone]``,
    and how many were replaced.

    An email address is ``local@domain.tld`` (a full-width ＠ too), the top-level domain in
    letters, not glued to a word, and not a fediverse handle's server (``@alice@example.social``
    stays). Phone numbers are runs of digit groups (any script's digits, full-width included)
    joined by single spaces, hyphens, dashes or dots, maybe after ``+`` and with one group in
    parentheses, and are masked when:

    - international, after ``+`` or ``00``: a country code and a length that country's numbering
      plan allows (``phonenumbers``, Google's libphonenumber: +44 20 7946 0958, +1-202-555-0143);
    - with an area code in parentheses: 9 to 13 digits ((020) 7946 0958, 8 (495) 123-45-67);
    - with one kind of separator throughout, 9 to 12 digits, every group after the first of 2 or
      more: starting with a trunk 0 (020 7946 0958, 03-1234-5678, 01 23 45 67 89), or in one of
      ``NATIONAL_SHAPES`` (202-555-0143, 202.555.0143);
    - a bare run of 10 digits starting 0[1-9] or 2-9, or of 11 starting 0[1-9], 1[2-9] or 8
      (2025550143, 02079460958, 13800138000), unless it ends in six zeros (a round number).

    Never masked: a run glued to a Latin, Greek or Cyrillic word or another number (v10.15.7, a
    decimal, 10:30), after a sign, a currency, ``/``, ``#`` or ``@``, or after "ISBN"; 1,234,567
    and 1 234 567 (thousands); groups that are all years (2019 2020 2021); more than 15 digits
    (tweet ids). So years, dates, times, prices, counts, versions, scores and ordinary numbers
    stay. Known gaps: numbers spelt out or with mixed separators and no country code
    (8 916 123-45-67), and 7-digit local numbers (555-0143).
    """
    text, found = _EMAIL.subn(EMAIL, text)

    def phones(match: re.Match) -> str:
        nonlocal found
        spans = _phone_spans(text, match.start(), match.end())
        found += len(spans)
        parts, at = [], match.start()
        for start, end in spans:
            parts += [text[at:start], PHONE]
            at = end
        return "".join(parts + [text[at:match.end()]])

    return _RUN.sub(phones, text), found


def _phone_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The phone numbers in the run ``text[start:end]``: the whole run, else its longest
    space-separated parts, left to right (two numbers side by side, a number and a count)."""
    if sum(c.isdecimal() for c in text[start:end]) < MIN_PHONE_DIGITS:
        return []
    if text[start] in "(（" and not any(c in text[start:end] for c in ")）"):
        start += 1  # a number in brackets: "(202-555-0143)"
    if _is_phone(text, start, end):
        return [(start, end)]
    run = text[start:end]
    if _thousands(run):
        return []
    cuts = [start] + [start + m.start() + 1 for m in _SPACES_IN_RUN.finditer(run)]
    pieces = [(a, b - 1) for a, b in zip(cuts, cuts[1:])] + [(cuts[-1], end)]
    spans, i = [], 0
    while i < len(pieces):
        for j in range(min(len(pieces), i + MAX_PIECES), i, -1):
            a, b = pieces[i][0], pieces[j - 1][1]
            if (i, j) != (0, len(pieces)) and _is_phone(text, a, b):
                spans.append((a, b))
                i = j
                break
        else:
            i += 1
    return spans


def _is_phone(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` (a run of digit groups) is a phone number where it stands."""
    run = text[start:end]
    if not _stands_alone(text, start, end):
        return False
    groups = _GROUP.findall(run)
    digits = "".join(str(unicodedata.decimal(c)) for c in "".join(groups))
    if len(digits) > 17 or digits.endswith("000000") or all(len(g) == 4 and 1900 <= int(g) <= 2099 for g in groups):
        return False  # past E.164's 15 digits after an 00 (a tweet id), a round number, years
    opened = sum(run.count(c) for c in "(（")
    if opened != sum(run.count(c) for c in ")）") or opened > 1:
        return False
    if run[0] in "+＋" or (digits.startswith("00") and digits[2:3] not in ("", "0")):
        return _international("+" + (digits if run[0] in "+＋" else digits[2:]))
    if opened:
        inner = re.search(r"[(（](\d+)[)）]", run)
        before = _GROUP.findall(run[: inner.start()]) if inner else []
        return (inner is not None and 2 <= len(inner.group(1)) <= 5 and len(before) <= 1 and all(len(g) <= 2 for g in before)
                and 9 <= len(digits) <= 13)
    if len(groups) == 1:
        return _bare_phone(digits)
    separators = set(_GROUP.split(run)[1:-1])
    if len(separators) != 1 or not 9 <= len(digits) <= 12:
        return False
    sizes = tuple(len(g) for g in groups)
    if min(sizes[1:]) < 2:
        return False
    if digits[0] == "0" and digits[1] != "0" and sizes[0] >= 2:
        return True  # a trunk prefix: most of the world's national numbers
    return sizes in NATIONAL_SHAPES and (sizes[0] != 1 or digits[0] == "1")


def _stands_alone(text: str, start: int, end: int) -> bool:
    """Not part of a word, a decimal, a time, a sum of money, a path, a tag or an ISBN."""
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if before and (_GLUE.match(before) or before.isdecimal()):
        return False
    if after and (_GLUE.match(after) or after.isdecimal() or after in "%‰"):
        return False
    if text[start] not in "+＋" and before and before in "+＋-−/#@＠$€£¥₹":
        return False
    if before and before in ".,:" and start >= 2 and text[start - 2].isdecimal():
        return False  # 3.14159265358, 3,14159265358, 10:30
    if after and after in ".,:" and end + 1 < len(text) and text[end + 1].isdecimal():
        return False
    return not _ISBN.search(text[max(0, start - 12):start])


def _international(number: str) -> bool:
    """A country code and a whole number's length in its numbering plan (Google's libphonenumber;
    imported on first use, as few posts hold one)."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number_with_reason(parsed) == phonenumbers.ValidationResult.IS_POSSIBLE


def _bare_phone(digits: str) -> bool:
    """10 digits starting 0[1-9] (a trunk prefix) or 2-9 (North America, India's mobiles), or 11
    starting 0[1-9], 1[2-9] (China's mobiles, North America after its 1) or 8 (Russia's trunk)."""
    if len(digits) not in (10, 11):
        return False
    if digits[0] == "0":
        return digits[1] != "0"
    if len(digits) == 10:
        return digits[0] != "1"
    return digits[0] == "8" or (digits[0] == "1" and digits[1] not in "01")


def _thousands(run: str) -> bool:
    """1 234 567 or 1.234.567: a number in groups of three, never a phone number."""
    groups = _GROUP.findall(run)
    return len(groups) > 1 and len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]) and run[0] not in "+＋(（"


@dataclass
class AuthorStats:
    """One column of the model card's data table."""

    handle: str
    name: str
    downloaded: int = 0
    retweets: int = 0
    short: int = 0
    kept: int = 0
    characters: int = 0  # characters of kept text, for the "enough data" check
    # Kept tweets whose email addresses or phone numbers were masked (not a drop: they are kept),
    # and what cleaning did with contacts: "masked", "kept" (the owner's choice), or "" in a
    # dataset cleaned before contacts were masked.
    contacts_masked: int = 0
    contacts: str = ""
    languages: str = ""  # the kept text's languages, "ru:0.902,en:0.039" (``language.measure``); "" unmeasured
    source: str = ""  # the author's ``Author.source`` (their network's words: ``sources.words_for``); "" saved before it was kept

    @property
    def language(self) -> str:
        """ "Russian 90%, English 4%" for the data table."""
        return describe(self.languages)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CleanedAuthor:
    author: Author
    tweets: list[str] = field(default_factory=list)  # kept, cleaned, in source order
    stats: AuthorStats = None  # type: ignore[assignment]


def clean_author(raw: AuthorTweets, keep_newlines: bool = False, keep_contacts: bool = False) -> CleanedAuthor:
    """Sort every tweet into retweet / short / kept and return the kept texts with the counts;
    email addresses and phone numbers in kept tweets are masked unless ``keep_contacts``.
    Whether a tweet is short is decided before masking, so the counts are the same either way."""
    stats = AuthorStats(handle=raw.author.handle, name=raw.author.name, contacts="kept" if keep_contacts else "masked",
                        source=raw.author.source)
    kept: list[str] = []
    for tweet in raw.tweets:
        stats.downloaded += 1
        if tweet.is_retweet or is_retweet(tweet.text):
            stats.retweets += 1
            continue
        text = clean_text(tweet.text, keep_newlines)
        if is_short(text):
            stats.short += 1
            continue
        if not keep_contacts:
            text, found = mask_contacts(text)
            stats.contacts_masked += found > 0
        kept.append(text)
        stats.characters += len(text)
    stats.kept = len(kept)
    stats.languages = measure_languages(kept)
    return CleanedAuthor(author=raw.author, tweets=kept, stats=stats)


def check_enough(stats: list[AuthorStats]) -> list[str]:
    """Raise when an author has too little text to train on; return warnings for thin data."""
    warnings = []
    for s in stats:
        chars = s.characters
        if chars < MIN_CHARACTERS:
            raise NotEnoughTweets(
                f"Not enough tweets to train for @{s.handle}: {s.kept} tweets kept "
                f"({chars} characters, at least {MIN_CHARACTERS} needed). "
                "Use an account with more original posts, or add its archive."
            )
        if chars < WARN_CHARACTERS:
            warnings.append(
                f"Only {chars} characters of tweets kept for @{s.handle} "
                f"(under {WARN_CHARACTERS}): the model may repeat them rather than sound like them."
            )
    return warnings


def count_rows(words: Words) -> tuple[tuple[str, str], ...]:
    """The four counts in a network's words; X's are the published card's rows, exactly."""
    return ((f"{words.posts.capitalize()} downloaded", "downloaded"), (words.reposts.capitalize(), "retweets"),
            (f"Short {words.posts}", "short"), (f"{words.posts.capitalize()} kept", "kept"))


TABLE_ROWS = count_rows(X_WORDS)  # ("Tweets downloaded", ...): the published huggingtweets rows
LANGUAGE_ROW = ("Language", "language")


def masked_row(words: Words) -> tuple[str, str]:
    return (f"{words.posts.capitalize()} with emails/phones masked", "contacts_masked")  # kept posts: not a fifth category


MASKED_ROW = masked_row(X_WORDS)


def table_rows(stats: list[AuthorStats]) -> tuple[tuple[str, str], ...]:
    """The data table's (label, AuthorStats field) rows, in the authors' networks' words: the
    counts, then the masked row when any author had contacts masked, and ``LANGUAGE_ROW`` when
    the languages were measured. Every view of the table (card, CLI, app) asks here."""
    words = words_for(s.source for s in stats)
    return (count_rows(words) + ((masked_row(words),) if any(s.contacts_masked for s in stats) else ())
            + ((LANGUAGE_ROW,) if any(s.languages for s in stats) else ()))


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def markdown_text(text) -> str:
    """User text (a display name, a handle) for Markdown prose, a heading or a table cell: folded
    to one line (a newline would end the row), HTML-escaped (the card is rendered as HTML) and
    Markdown punctuation backslashed, so ``[a](b)`` or ``![a](b)`` in a name stays text, never a
    link or an image, and ``|`` never splits a cell."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(" ".join(visible(str(text)).split()), quote=True))


def stats_table(stats: list[AuthorStats]) -> str:
    """The model card's "Training data" table in Markdown: one column per author.

    With one author the column is headed "Quantity", as in the published cards; the rows are
    ``table_rows``'. Names are user-controlled: each goes through ``markdown_text``.
    """
    if len(stats) == 1:
        header = ["Data", "Quantity"]
    else:
        header = ["Data"] + [markdown_text(s.name) for s in stats]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    for label, attr in table_rows(stats):
        lines.append("| " + " | ".join([label] + [markdown_text(getattr(s, attr)) for s in stats]) + " |")
    return "\n".join(lines)
