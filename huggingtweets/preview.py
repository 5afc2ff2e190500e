"""The preview image: the generated tweets a user picked, drawn as tweet cards in one PNG.

It is the picture people see first: ``share.py`` makes it the model card's ``thumbnail``
when the folder is pushed, and it is easy to post anywhere. It is drawn locally with
Pillow (no browser, no network): avatars come from local files or bytes the caller
already has, and an author without one gets their initials in a coloured circle, as in
the card header. Any text draws without an error. Each text gets the installed font that has
its glyphs (``fonts.py``: DejaVu for Latin, Cyrillic, Greek, Hebrew and Arabic, Noto Sans CJK
for Chinese, Japanese and Korean); what no font here has comes out as boxes, and ``notes``
says so in one line with the fix. Emoji are drawn in outline where the font has them, never
in colour.

Every writing system is laid out as it is read: Pillow's libraqm shapes the text (Arabic
letters joined) and orders it by the Unicode bidirectional algorithm; a post whose first
strong letter is Hebrew or Arabic is right-aligned, its lines set right to left. Lines break
at spaces, and anywhere between Chinese and Japanese characters (never before a closing
mark such as "。" or after an opening one); a cut never splits a grapheme cluster (an accent
from its letter, a flag, an emoji family).

Every card carries a small ``LABEL`` ("AI-generated") beside the author's name, and the footer
says the posts were written by an AI: a card cropped out of the picture still says it.

The width is fixed (``WIDTH``); the height follows the content, up to ``MAX_HEIGHT``:
tweets that would not fit below it are left out, and a very long tweet is cut at
``MAX_LINES`` lines with an ellipsis.
"""

from __future__ import annotations

import functools
import io
import os
import unicodedata
import zlib
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

import regex

from . import fonts
from .names import initials
from .diskio import atomic_write_bytes
from .errors import HuggingTweetsError
from .folder import PREVIEW as PREVIEW_FILE  # in the model folder; the card's thumbnail once shared
from .sources.base import Author

WIDTH = 1200  # px
MAX_HEIGHT = 2400  # px
MAX_LINES = 8  # per tweet
MAX_CHARS = 1000  # per tweet, before wrapping: generated text can run on

PAD = 40  # around everything, and inside each card
GAP = 24  # between cards
AVATAR = 72  # px, the avatar circle in a card
NAME_SIZE, HANDLE_SIZE, TEXT_SIZE, FOOTER_SIZE = 30, 26, 34, 22  # px
LABEL = "AI-generated"  # on every card: the posts are machine-written, not the authors'
LABEL_SIZE, LABEL_PAD = 22, 10  # px: the label's text, and the room around it in its pill
LINE = int(TEXT_SIZE * 1.35)

BACKGROUND, CARD, BORDER = (245, 248, 250), (255, 255, 255), (207, 217, 222)
INK, GREY = (15, 20, 25), (83, 100, 113)
LABEL_FILL = GREY  # white text on it
# Initials circles: one colour per handle, from a palette with white text readable on each.
PALETTE = ((29, 155, 240), (120, 86, 255), (249, 24, 128), (0, 186, 124), (255, 122, 0), (84, 110, 122))

AvatarSource = Union[str, os.PathLike, bytes]


def _pil():
    try:
        from PIL import Image, ImageDraw, ImageFont, ImageOps
    except ImportError:
        raise HuggingTweetsError("The preview image needs Pillow: pip install Pillow") from None
    return Image, ImageDraw, ImageFont, ImageOps


# --- text ------------------------------------------------------------------------------------
_CLUSTER = regex.compile(r"\X")  # a grapheme cluster: what a reader sees as one character
# Scripts written without spaces, where a line may break between any two characters.
_ANYWHERE = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Bopomofo}\u3000-\u303f\uff00-\uffef]")
NO_LINE_START = set("、。，．・：；？！）〕］｝〉》」』】〙〗〟’”ゝゞーァィゥェォッャュョヮヵヶぁぃぅぇぉっゃゅょゎゕゖㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ々〻‐゠–〜～…‥,.:;!?)]}")
NO_LINE_END = set("（〔［｛〈《「『【〘〖〝‘“([{")


def _clusters(text: str) -> list[str]:
    return _CLUSTER.findall(text)


def _clean(text) -> str:
    """One line of drawable text: no lone surrogates, no control characters, at most MAX_CHARS."""
    text = str(getattr(text, "text", text))  # a GeneratedTweet or a plain string
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    text = " ".join(text.split())
    if len(text) <= MAX_CHARS:
        return text
    kept, size = [], 0
    for cluster in _clusters(text):
        if size + len(cluster) > MAX_CHARS - 1:
            break
        kept.append(cluster)
        size += len(cluster)
    return "".join(kept) + "…"


def _key(handle) -> str:
    """A handle as avatars are looked up and colours picked: clean, lower case, no "@"."""
    return _clean(handle).lower().lstrip("@")


def direction(text: str) -> str:
    """"rtl" when the first letter with a direction is Hebrew, Arabic (...), else "ltr"."""
    for c in text:
        kind = unicodedata.bidirectional(c)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


@functools.lru_cache(maxsize=None)
def _raqm() -> bool:
    from PIL import features

    return bool(features.check("raqm"))


@functools.lru_cache(maxsize=None)
def _face(path: Optional[str], size: int):
    _, _, ImageFont, _ = _pil()
    if path is None:
        return ImageFont.load_default(size)  # Pillow's own font: Latin only, boxes for the rest
    return ImageFont.truetype(path, size)


def _font(size: int, bold: bool = False, text: str = ""):
    """The font of ``size`` px that draws ``text`` with the fewest boxes."""
    pair = fonts.pick(text)
    if pair is None:
        return _face(None, size)
    return _face(pair[1] if bold and pair[1] else pair[0], size)


def _layout(text: str, font) -> dict:
    """The keyword arguments that lay ``text`` out in its own direction (libraqm only)."""
    _, _, ImageFont, _ = _pil()
    return {"direction": direction(text)} if getattr(font, "layout_engine", None) == ImageFont.Layout.RAQM else {}


def _units(text: str) -> list[tuple[str, bool]]:
    """The pieces a line may break between, each with whether a space came before it."""
    units: list[tuple[str, bool]] = []
    spaced, last_anywhere = False, False
    for cluster in _clusters(text):
        if cluster == " ":
            spaced = True
            continue
        anywhere = bool(_ANYWHERE.match(cluster))
        glued = units and not spaced and (
            not (anywhere or last_anywhere) or cluster[0] in NO_LINE_START or units[-1][0][-1] in NO_LINE_END)
        if glued:
            units[-1] = (units[-1][0] + cluster, units[-1][1])
        else:
            units.append((cluster, spaced))
        spaced, last_anywhere = False, anywhere
    return units


def _wrap(text: str, font, width: int) -> list[str]:
    """Greedy wrap to ``width`` px at the text's break points; a piece wider than a line is cut
    between grapheme clusters."""
    how = _layout(text, font)
    fits = lambda line: font.getlength(line, **how) <= width  # noqa: E731
    lines: list[str] = []
    line = ""
    for unit, spaced in _units(text):
        candidate = f"{line} {unit}" if line and spaced else line + unit
        if fits(candidate):
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        if fits(unit):
            line = unit
            continue
        for cluster in _clusters(unit):  # only reached for a piece longer than a whole line
            if line and not fits(line + cluster):
                lines.append(line)
                line = ""
            line += cluster
    if line or not lines:
        lines.append(line)
    if len(lines) > MAX_LINES:
        last = _clusters(lines[MAX_LINES - 1])
        while last and not fits("".join(last) + " …"):
            last.pop()
        lines = lines[: MAX_LINES - 1] + ["".join(last).rstrip() + " …"]
    return lines


def _fit(text: str, font, width: int) -> str:
    """``text`` on one line of ``width`` px, cut with an ellipsis (between clusters) if needed."""
    how = _layout(text, font)
    if font.getlength(text, **how) <= width:
        return text
    kept = _clusters(text)
    while kept and font.getlength("".join(kept) + "…", **how) > width:
        kept.pop()
    return "".join(kept) + "…"


def _write(draw, xy, text: str, font, fill) -> None:
    """Draw ``text`` from ``xy``, its letters in their own order (a name, a handle, the footer)."""
    draw.text(xy, text, font=font, fill=fill, **_layout(text, font))


def notes(tweets: Sequence, authors: Sequence[Author] = ()) -> list[str]:
    """One line for each way this machine would draw these posts wrongly (boxes, order)."""
    texts = [_clean(t) for t in tweets] + [_clean(a.name) for a in authors]
    out = [gap] if (gap := fonts.gaps(texts)) else []
    if not _raqm() and any(direction(t) == "rtl" for t in texts):
        out.append("This Pillow has no libraqm: right-to-left posts are drawn unjoined and in stored order. "
                   "For them: reinstall Pillow (its wheels carry libraqm).")
    return out


# --- avatars ---------------------------------------------------------------------------------
def _circle(image, size: int):
    Image, ImageDraw, _, ImageOps = _pil()
    image = ImageOps.fit(image.convert("RGB"), (size, size))
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, size - 1, size - 1), fill=255)
    image.putalpha(mask)
    return image


def _avatar(author: Author, source: Optional[AvatarSource], size: int):
    """The author's picture in a circle, or their initials on a colour of their own."""
    Image, ImageDraw, _, _ = _pil()
    if source is not None:
        try:
            with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as picture:
                return _circle(picture, size)
        except Exception:  # missing, unreadable or not an image: the initials stand in
            pass
    colour = PALETTE[zlib.crc32(_key(author.handle).encode("utf-8")) % len(PALETTE)]
    disc = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(disc)
    draw.ellipse((0, 0, size - 1, size - 1), fill=colour)
    letters = _clean(initials(author.name, author.handle))[:2] or "?"
    font = _font(size * 2 // 5, bold=True, text=letters)
    left, top, right, bottom = draw.textbbox((0, 0), letters, font=font)
    draw.text(((size - (right - left)) / 2 - left, (size - (bottom - top)) / 2 - top), letters, font=font, fill="white")
    return disc


def _group(authors: Sequence[Author], avatars: Mapping[str, AvatarSource], size: int):
    """The authors' circles side by side on a transparent strip."""
    Image, _, _, _ = _pil()
    step = size + 8
    group = Image.new("RGBA", (step * len(authors) - 8, size), (0, 0, 0, 0))
    for i, author in enumerate(authors):
        circle = _avatar(author, avatars.get(_key(author.handle)), size)
        group.alpha_composite(circle, (i * step, 0))
    return group


def _draw_label(draw, font, right: int, top: int) -> int:
    """``LABEL`` in a pill whose right edge is at ``right``; returns the pill's left edge."""
    left, text_top, text_right, text_bottom = draw.textbbox((0, 0), LABEL, font=font)
    width, height = text_right - left + 2 * LABEL_PAD, LABEL_SIZE + LABEL_PAD
    x = right - width
    draw.rounded_rectangle((x, top, right, top + height), radius=height // 2, fill=LABEL_FILL)
    draw.text((x + LABEL_PAD - left, top + (height - (text_bottom - text_top)) / 2 - text_top), LABEL, font=font, fill="white")
    return x


# --- the picture ------------------------------------------------------------------------------
def render_preview(
    tweets: Sequence,
    authors: Sequence[Author],
    path: str | Path,
    avatars: Optional[Mapping[str, AvatarSource]] = None,
) -> Path:
    """Draw ``tweets`` (strings or ``GeneratedTweet``s) as cards by ``authors`` and save a PNG.

    ``avatars`` maps a handle to a local image file or its bytes. ``path`` is the PNG, or a
    folder (the model folder) to write ``preview.png`` in. Returns the path written.
    """
    Image, ImageDraw, _, _ = _pil()
    texts = [t for t in (_clean(t) for t in tweets) if t]
    if not texts:
        raise HuggingTweetsError("Pick at least one tweet for the preview image.")
    if not authors:
        raise HuggingTweetsError("The preview image needs the model's author(s).")
    avatars = {_key(k): v for k, v in (avatars or {}).items()}
    path = Path(path)
    if path.is_dir():
        path = path / PREVIEW_FILE

    group = _group(list(authors), avatars, AVATAR)
    names = " & ".join(_clean(a.name) or _clean(a.handle) for a in authors)
    handles = " · ".join("@" + _clean(a.handle).lstrip("@") for a in authors)
    text_width = WIDTH - 2 * PAD - 2 * PAD  # inside a card
    footer = f"Written by an AI trained on the tweets of {handles.replace(' · ', ' & ')} · made with huggingtweets"
    name_font, handle_font = _font(NAME_SIZE, bold=True, text=names), _font(HANDLE_SIZE, text=handles)
    footer_font, label_font = _font(FOOTER_SIZE, text=footer), _font(LABEL_SIZE, bold=True, text=LABEL)

    # Measure: each card is a name row (as tall as the avatars) and its wrapped lines.
    header_h = AVATAR + 16
    cards, height = [], PAD
    for text in texts:
        text_font = _font(TEXT_SIZE, text=text)
        lines = _wrap(text, text_font, text_width)
        card_h = PAD + header_h + LINE * len(lines) + PAD
        if cards and height + card_h + GAP + FOOTER_SIZE + 2 * PAD > MAX_HEIGHT:
            break  # no room left: the remaining tweets are left out
        cards.append((lines, card_h, text_font, direction(text)))
        height += card_h + GAP
    height = min(height + FOOTER_SIZE + PAD, MAX_HEIGHT)

    # Draw.
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    y = PAD
    for lines, card_h, text_font, way in cards:
        draw.rounded_rectangle((PAD, y, WIDTH - PAD, y + card_h), radius=24, fill=CARD, outline=BORDER, width=2)
        x0, y0 = 2 * PAD, y + PAD
        image.paste(group, (x0, y0), group)
        name_x = x0 + group.width + 20
        label_left = _draw_label(draw, label_font, WIDTH - 2 * PAD, y0 + 4)
        room = label_left - 16 - name_x
        _write(draw, (name_x, y0 + 4), _fit(names, name_font, room), name_font, INK)
        _write(draw, (name_x, y0 + 4 + NAME_SIZE + 8), _fit(handles, handle_font, room), handle_font, GREY)
        for i, line in enumerate(lines):  # a right-to-left post's lines end at the card's right
            how = {"direction": way} if _layout(line, text_font) else {}
            top = y0 + header_h + i * LINE
            if way == "rtl":
                draw.text((x0 + text_width, top), line, font=text_font, fill=INK, anchor="ra", **how)
            else:
                draw.text((x0, top), line, font=text_font, fill=INK, **how)
        y += card_h + GAP
    _write(draw, (PAD, y), _fit(footer, footer_font, WIDTH - 2 * PAD), footer_font, GREY)

    # Save atomically: a half-written preview must not be picked up by a push.
    path.parent.mkdir(parents=True, exist_ok=True)
    png = io.BytesIO()
    image.save(png, format="PNG", optimize=True)
    return atomic_write_bytes(path, png.getvalue())
