"""The preview image in every script: Chinese drawn with a font that has its glyphs (not
boxes), Hebrew and Arabic set right to left, lines broken where each script allows, and a
cut never splitting a grapheme cluster."""

import pytest

pytest.importorskip("PIL")
import regex  # noqa: E402
from PIL import Image, ImageChops, ImageDraw, ImageFont  # noqa: E402

from huggingtweets import fonts, preview  # noqa: E402
from huggingtweets.preview import PAD, TEXT_SIZE, WIDTH, render_preview  # noqa: E402
from huggingtweets.sources.base import Author  # noqa: E402

TEXT_WIDTH = WIDTH - 4 * PAD
FIRST_LINE = (2 * PAD, 2 * PAD + preview.AVATAR + 16)  # where the first card's text starts
NOTDEF = "\U000f0000"  # a private-use character no font here has: its glyph is the box
ZH = "今天的晚霞很好看，我在河边走了很久。"  # our own lines, written for these tests
HE = "לקחתי את הכלב לטיול ארוך"
AR = "مرحبا بكم في المدينة"


def line_crop(path, index=0, height=preview.LINE):
    x, y = FIRST_LINE
    with Image.open(path) as im:
        return im.convert("RGB").crop((x, y + index * preview.LINE, x + TEXT_WIDTH, y + (index + 1) * height))


def ink(crop):
    """The bounding box of what is not the card's white."""
    return ImageChops.difference(crop, Image.new("RGB", crop.size, preview.CARD)).getbbox()


def boxes(font, text):
    """The characters of ``text`` that ``font`` draws as its missing-glyph box."""
    box = bytes(font.getmask(NOTDEF))
    return [c for c in set(text) if c.strip() and bytes(font.getmask(c)) == box]


def test_a_chinese_model_draws_its_glyphs_not_boxes(tmp_path):
    chosen = fonts.pick(ZH)
    assert chosen and not fonts.missing(ZH, chosen[0]), (
        "no installed font has Chinese glyphs: pip install --no-deps mplfonts (quickstart.sh test does)")
    font = preview._font(TEXT_SIZE, text=ZH)
    assert boxes(font, ZH) == []
    # The control: the Latin font draws every one of them as the box, so the check can fail.
    latin = ImageFont.truetype(fonts.installed()[0][0], TEXT_SIZE)
    assert set(boxes(latin, ZH)) == {c for c in ZH if c.strip()}

    path = render_preview([ZH], [Author("wanxia", "晚霞")], tmp_path / "zh.png")
    assert preview.notes([ZH], [Author("wanxia", "晚霞")]) == []
    # What the card shows is the line drawn with that font, left-aligned.
    expected = Image.new("RGB", (TEXT_WIDTH, preview.LINE), preview.CARD)
    ImageDraw.Draw(expected).text((0, 0), ZH, font=font, fill=preview.INK, **preview._layout(ZH, font))
    assert ImageChops.difference(line_crop(path), expected).getbbox() is None
    assert ink(line_crop(path))[0] < 5


def test_without_a_chinese_font_the_note_names_the_fix(monkeypatch):
    latin = fonts.installed()[:1]  # DejaVu only
    monkeypatch.setattr(fonts, "installed", lambda: latin)
    (note,) = preview.notes([ZH])
    assert "Chinese" in note and "boxes" in note and "mplfonts" in note
    assert preview.notes(["plain English, and Кириллица"]) == []


@pytest.mark.skipif(not preview._raqm(), reason="this Pillow has no libraqm (the note covers it)")
def test_hebrew_is_set_right_to_left_and_right_aligned(tmp_path):
    font = preview._font(TEXT_SIZE, text=HE)
    assert boxes(font, HE) == []
    path = render_preview([HE], [Author("dana", "דנה")], tmp_path / "he.png")
    left, _, right, _ = ink(line_crop(path))
    assert right > TEXT_WIDTH - 5 and left > TEXT_WIDTH / 3, "a Hebrew post ends at the card's right edge"

    # Letter order: "לק" has lamed (rising above the line) first, qof (falling below) second;
    # read right to left, lamed is on the right. Pillow's basic layout (stored order) puts it
    # on the left: the control that shows the check can fail.
    def lamed_right_of_qof(image):
        pixels = image.convert("L").load()
        rows = [(x, y) for y in range(image.height) for x in range(image.width) if pixels[x, y] < 128]
        top, bottom = min(rows, key=lambda p: p[1]), max(rows, key=lambda p: p[1])
        return top[0] > bottom[0]

    pair = "לק"
    path = render_preview([pair], [Author("dana")], tmp_path / "pair.png")
    assert lamed_right_of_qof(line_crop(path))
    basic = ImageFont.truetype(font.path, TEXT_SIZE, layout_engine=ImageFont.Layout.BASIC)
    stored = Image.new("RGB", (200, preview.LINE), preview.CARD)
    ImageDraw.Draw(stored).text((10, 0), pair, font=basic, fill=preview.INK)
    assert not lamed_right_of_qof(stored)


@pytest.mark.skipif(not preview._raqm(), reason="this Pillow has no libraqm (the note covers it)")
def test_arabic_is_joined_right_to_left_and_right_aligned(tmp_path):
    font = preview._font(TEXT_SIZE, text=AR)
    assert boxes(font, AR) == []
    path = render_preview([AR], [Author("salma")], tmp_path / "ar.png")
    left, _, right, _ = ink(line_crop(path))
    assert right > TEXT_WIDTH - 5 and left > TEXT_WIDTH / 3
    # Joined letters: the shaped word is narrower than its letters drawn apart (isolated forms).
    word = "المدينة"
    assert font.getlength(word, direction="rtl") < sum(font.getlength(c) for c in word)


def test_an_rtl_post_with_a_latin_word_keeps_its_direction():
    assert preview.direction("שלום world") == "rtl"
    assert preview.direction("world שלום") == "ltr"
    assert preview.direction("123 مرحبا") == "rtl"  # digits have no direction of their own
    assert preview.direction("🤖") == "ltr"


def test_chinese_lines_fill_the_width_and_never_start_with_a_closing_mark():
    font = preview._font(TEXT_SIZE, text=ZH)
    text = (ZH + "「好」，" + "我喜欢Python编程。") * 4
    lines = preview._wrap(text, font, TEXT_WIDTH)
    assert len(lines) > 2
    assert "".join(lines) == text  # nothing lost, no spaces added
    for line in lines:
        assert font.getlength(line) <= TEXT_WIDTH
        assert line[0] not in preview.NO_LINE_START, line
        assert line[-1] not in preview.NO_LINE_END, line
    assert all(font.getlength(line) > 0.85 * TEXT_WIDTH for line in lines[:-1]), "a line broke early"
    assert all("Pyth" not in line or "Python" in line for line in lines), "a Latin word was split"


def test_cuts_keep_grapheme_clusters_whole():
    font = preview._font(TEXT_SIZE, text="e")
    family, accented = "👩\u200d👩\u200d👧", "e\u0301"
    text = (family + accented) * 200  # one "word" far wider than a line
    lines = preview._wrap(text, font, TEXT_WIDTH)
    assert len(lines) == preview.MAX_LINES and lines[-1].endswith(" …")
    for line in lines:
        body = line.removesuffix(" …")
        assert regex.fullmatch(rf"(?:{family}|{accented})+", body), "a cluster was split across lines"
    cut = preview._clean(accented * 2000)
    assert cut.endswith("…") and regex.fullmatch(rf"(?:{accented})+…", cut)
    assert preview._fit(family * 50, font, 100).removesuffix("…").count(family) >= 1
    assert regex.fullmatch(rf"(?:{family})+…", preview._fit(family * 50, font, 100))
