"""Fonts for drawn text (the preview image): which are installed, which characters each has,
and which one draws a given text without boxes.

No single font covers every writing system, so a text gets the first font in ``FAMILIES``
that has a glyph for each of its letters, digits and punctuation (emoji and other symbols
do not count: no font here draws them in colour anyway). When none has them all, the one
missing the fewest is used and ``gaps`` names the scripts drawn as boxes, with the fix, in
one line. Coverage is read from each font's character map with fontTools, once per file.

Where the fonts come from, first found wins (DESIGN.md, "Languages"):
- the system's fonts, by file name (Pillow looks in the usual folders: Debian's
  fonts-dejavu and fonts-noto-cjk, Colab's, macOS's and Windows');
- matplotlib's copy of DejaVu Sans (Latin, Greek, Cyrillic, Hebrew, Arabic);
- the ``mplfonts`` package's Noto Sans CJK SC (the ``[multilingual]`` extra; the SIL Open
  Font License): Chinese, Japanese kana, Korean and Latin. Only that file is read; the
  package is never imported.
"""

from __future__ import annotations

import functools
import importlib.util
import unicodedata
from pathlib import Path
from typing import Optional

# (regular, bold) file names, widest coverage first. A family without a bold file draws its
# bold in the regular face.
FAMILIES = (
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
    ("Arial.ttf", "Arial Bold.ttf"),
    ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc"),  # Debian/Ubuntu fonts-noto-cjk
    ("NotoSansCJKsc-Regular.otf", "NotoSansCJKsc-Bold.otf"),
    ("NotoSansSC-Regular.otf", "NotoSansSC-Bold.otf"),
    ("PingFang.ttc", None),  # macOS
    ("msyh.ttc", "msyhbd.ttc"),  # Windows: Microsoft YaHei
    ("DroidSansFallbackFull.ttf", None),
)
# Packages that carry font files, read in place: package -> its font folder and the files.
PACKAGED = (
    ("matplotlib", "mpl-data/fonts/ttf", ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")),
    ("mplfonts", "fonts", ("NotoSansCJKsc-Regular.otf", None)),
)
FIX = "pip install mplfonts (Noto Sans CJK), or install your system's Noto fonts (apt install fonts-noto-cjk)"
_COUNTED = ("L", "N", "P")  # categories whose glyphs must be there; symbols and emoji are not counted


def _packaged() -> list[tuple[str, Optional[str]]]:
    found = []
    for package, folder, (regular, bold) in PACKAGED:
        spec = importlib.util.find_spec(package)  # found without importing it
        if spec and spec.origin:
            base = Path(spec.origin).parent / folder
            if (base / regular).is_file():
                found.append((str(base / regular), str(base / bold) if bold and (base / bold).is_file() else None))
    return found


@functools.lru_cache(maxsize=None)
def installed() -> tuple[tuple[str, Optional[str]], ...]:
    """The (regular, bold) font paths found here, in order of preference."""
    from PIL import ImageFont

    found: list[tuple[str, Optional[str]]] = []
    for regular, bold in (*FAMILIES, *_packaged()):
        try:
            path = ImageFont.truetype(regular, 10).path
        except OSError:
            continue
        heavy = None
        if bold:
            try:
                heavy = ImageFont.truetype(bold, 10).path
            except OSError:
                pass
        if all(Path(path).name != Path(p).name for p, _ in found):  # the same file found twice
            found.append((path, heavy))
    return tuple(found)


@functools.lru_cache(maxsize=None)
def charset(path: str) -> frozenset:
    """The code points ``path`` has glyphs for (the first face of a collection)."""
    from fontTools.ttLib import TTFont

    try:
        with TTFont(path, fontNumber=0, lazy=True) as font:
            return frozenset(font.getBestCmap() or ())
    except Exception:  # unreadable: treated as having nothing, so another font is preferred
        return frozenset()


def counted(text: str) -> set[str]:
    """The characters of ``text`` whose glyphs must be there for it to read."""
    return {c for c in text if unicodedata.category(c)[0] in _COUNTED}


def missing(text: str, path: str) -> set[str]:
    have = charset(path)
    return {c for c in counted(text) if ord(c) not in have}


def pick(text: str) -> Optional[tuple[str, Optional[str]]]:
    """The (regular, bold) paths that draw ``text`` with the fewest boxes (None: no font here)."""
    fonts = installed()
    if not fonts:
        return None
    need = counted(text)
    best, fewest = fonts[0], None
    for pair in fonts:
        lacking = len({c for c in need if ord(c) not in charset(pair[0])})
        if lacking == 0:
            return pair
        if fewest is None or lacking < fewest:
            best, fewest = pair, lacking
    return best


def script_of(char: str) -> str:
    """A readable name for the writing system of ``char`` (the first word of its Unicode name)."""
    if not unicodedata.category(char).startswith("L"):
        return "some punctuation"
    name = unicodedata.name(char, "")
    if name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC", "FULLWIDTH")):
        return {"HIRAGANA": "Japanese", "KATAKANA": "Japanese", "HANGUL": "Korean"}.get(name.split()[0], "Chinese")
    return name.split()[0].title() if name else "unnamed"


def gaps(texts) -> Optional[str]:
    """One line naming the scripts no installed font draws (they come out as boxes), or None."""
    scripts: dict[str, None] = {}
    for text in texts:
        pair = pick(text)
        # No font at all: Pillow's own draws Latin-1 only.
        lacking = {c for c in counted(text) if ord(c) > 0xFF} if pair is None else missing(text, pair[0])
        for c in text:
            if c in lacking:
                scripts.setdefault(script_of(c))
    if not scripts:
        return None
    return f"No font here has the glyphs for {', '.join(scripts)}: they are drawn as boxes. For them: {FIX}."
