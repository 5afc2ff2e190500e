"""The languages a corpus is written in, measured on its kept posts.

lingua-language-detector (Rust, its models inside the wheel: nothing is downloaded) names
each post's language; a corpus's languages are the shares of its characters, so a long post
weighs more than a two-word reply, which no detector reads reliably. Its low-accuracy mode
is used: 0.4 s and about 150 MB for 2,000 posts, against 9 s and 1.2 GB in high accuracy
(AMX Xeon, 2 cores), and on the real corpora it names the same main language (figures in
DESIGN.md, "Every language").

A corpus's languages are kept in the data table as ``"ru:0.902,en:0.039,uk:0.023"``
(ISO 639-1 code and share, largest first, each at least ``MIN_SHARE``); ``describe`` turns
that into "Russian 90%, English 4%, Ukrainian 2%".
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import Iterable

MIN_SHARE = 0.02  # a language under 2% of the characters is noise from short posts, not the corpus's
MAX_LANGUAGES = 3


@functools.lru_cache(maxsize=1)
def _detector():
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


def measure(texts: Iterable[str]) -> str:
    """The corpus's languages as ``"code:share,..."``; "" when no post has letters to judge."""
    texts = [t for t in texts if any(c.isalpha() for c in t)]
    if not texts:
        return ""
    found = _detector().detect_languages_in_parallel_of(texts)
    weight: Counter = Counter()
    for text, language in zip(texts, found):
        if language is not None:
            weight[language.iso_code_639_1.name.lower()] += len(text)
    return _written(weight)


def _written(weight: Counter) -> str:
    """Weights per language as ``"code:share,..."``: the largest ``MAX_LANGUAGES``, each at least ``MIN_SHARE``."""
    total = sum(weight.values())
    if not total:
        return ""
    kept = [(code, n / total) for code, n in weight.most_common(MAX_LANGUAGES) if n / total >= MIN_SHARE]
    return ",".join(f"{code}:{share:.3f}" for code, share in kept)


def shares(measured: str) -> list[tuple[str, float]]:
    """``measure``'s string back as ``[(code, share), ...]``; a damaged one gives what it can."""
    out = []
    for part in (measured or "").split(","):
        code, _, share = part.partition(":")
        try:
            out.append((code.strip().lower(), float(share)))
        except ValueError:
            continue
    return out


def name(code: str) -> str:
    """ "ru" -> "Russian"; the code itself when lingua does not know it."""
    from lingua import IsoCode639_1, Language

    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code)).name.title()
    except (ValueError, AttributeError):
        return code


def describe(measured: str) -> str:
    """ "Russian 90%, English 4%, Ukrainian 2%" ("" when unmeasured)."""
    return ", ".join(f"{name(code)} {share:.0%}" for code, share in shares(measured))


def main_language(measured: str) -> str:
    """The code of the largest share ("" when unmeasured)."""
    found = shares(measured)
    return found[0][0] if found else ""


def combine(measured: Iterable[tuple[str, int]]) -> str:
    """Several authors' languages (each ``(measure string, characters)``) as one corpus's."""
    weight: Counter = Counter()
    for one, characters in measured:
        for code, share in shares(one):
            weight[code] += share * max(characters, 0)
    return _written(weight)
