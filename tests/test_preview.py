"""The preview image: size, where it is saved, avatars or initials, and text that must never crash it."""

import io
import zlib

import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

from huggingtweets import preview  # noqa: E402
from huggingtweets.errors import HuggingTweetsError  # noqa: E402
from huggingtweets.generation import GeneratedTweet  # noqa: E402
from huggingtweets.preview import MAX_HEIGHT, PREVIEW_FILE, WIDTH, render_preview  # noqa: E402
from huggingtweets.sources.base import Author  # noqa: E402

WREN = Author("wren", "Wren the Keeper")
TWEET = "My dream is a quiet harbour at dawn, the lamp still lit and the gulls arguing about crusts on the rail."
# Where the first card's first avatar sits, and a point inside its circle above the initials.
AVATAR_TOP = (2 * preview.PAD + preview.AVATAR // 2, 2 * preview.PAD + 6)


def png_bytes(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buf, format="PNG")
    return buf.getvalue()


def size_of(path):
    with Image.open(path) as im:
        return im.size


def pixel(path, xy):
    with Image.open(path) as im:
        return im.convert("RGB").getpixel(xy)


def palette_colour(handle):
    return preview.PALETTE[zlib.crc32(handle.encode()) % len(preview.PALETTE)]


def test_fixed_width_height_grows_with_content_and_is_capped(tmp_path):
    one = render_preview([TWEET], [WREN], tmp_path / "one.png")
    three = render_preview([TWEET] * 3, [WREN], tmp_path / "three.png")
    many = render_preview([TWEET * 5] * 40, [WREN], tmp_path / "many.png")
    (w1, h1), (w3, h3), (wm, hm) = size_of(one), size_of(three), size_of(many)
    assert w1 == w3 == wm == WIDTH
    assert 200 < h1 < h3 < hm <= MAX_HEIGHT


def test_saved_in_the_model_folder_atomically(tmp_path):
    path = render_preview([TWEET], [WREN], tmp_path)
    assert path == tmp_path / PREVIEW_FILE
    with Image.open(path) as im:
        assert im.format == "PNG"
    assert [p.name for p in tmp_path.iterdir()] == [PREVIEW_FILE]  # no temporary file left behind
    render_preview(["again"], [WREN], tmp_path)  # replaces
    assert [p.name for p in tmp_path.iterdir()] == [PREVIEW_FILE]


def test_initials_without_an_avatar_avatar_from_bytes_or_file(tmp_path):
    initials = render_preview([TWEET], [WREN], tmp_path / "initials.png")
    assert pixel(initials, AVATAR_TOP) == palette_colour("wren")
    from_bytes = render_preview([TWEET], [WREN], tmp_path / "bytes.png", avatars={"@Wren": png_bytes((200, 30, 30))})
    assert pixel(from_bytes, AVATAR_TOP) == (200, 30, 30)
    (tmp_path / "avatar.png").write_bytes(png_bytes((30, 200, 30)))
    from_file = render_preview([TWEET], [WREN], tmp_path / "file.png", avatars={"wren": tmp_path / "avatar.png"})
    assert pixel(from_file, AVATAR_TOP) == (30, 200, 30)


@pytest.mark.parametrize("bad", [b"not an image", b"", "/no/such/avatar.png"])
def test_unreadable_avatar_falls_back_to_initials(tmp_path, bad):
    path = render_preview([TWEET], [WREN], tmp_path / "p.png", avatars={"wren": bad})
    assert pixel(path, AVATAR_TOP) == palette_colour("wren")


def test_several_authors_and_generated_tweets(tmp_path):
    authors = [WREN, Author("gull"), Author("SnoopDogg", "Snoop Dogg")]
    tweets = [GeneratedTweet(TWEET, "", 0.1, False), "a plain string"]
    path = render_preview(tweets, authors, tmp_path / "p.png", avatars={"gull": png_bytes((0, 0, 255))})
    step = preview.AVATAR + 8
    assert pixel(path, AVATAR_TOP) == palette_colour("wren")
    assert pixel(path, (AVATAR_TOP[0] + step, AVATAR_TOP[1])) == (0, 0, 255)
    assert pixel(path, (AVATAR_TOP[0] + 2 * step, AVATAR_TOP[1])) == palette_colour("snoopdogg")


NASTY = [
    "emoji 🤖🔥 and a family 👩‍👩‍👧 and flags 🇫🇷",
    "CJK 漢字 かな 한국어, Arabic مرحبا بالعالم, Hebrew שלום, Devanagari नमस्ते",
    "combining e\u0301\u0303, zero width\u200b\u200djoiner, bidi \u202eoverride\u202c",
    "a lone surrogate \ud800 and NUL \x00 and bell \x07 and tab\tand\nnew\r\nlines\u2028\u2029",
    "x" * 5000,
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 \U0010ffff private use \ue000",
]


def test_any_text_renders(tmp_path):
    path = render_preview(NASTY, [Author("x\ud800", "名前 🤖 \x00")], tmp_path / "p.png")
    assert size_of(path)[0] == WIDTH


def test_without_any_system_font(tmp_path, monkeypatch):
    """Pillow's own font stands in (boxes for what it lacks): still no crash, and the note says so."""
    from huggingtweets import fonts

    monkeypatch.setattr(fonts, "installed", lambda: ())
    path = render_preview(NASTY[:2], [WREN], tmp_path / "p.png")
    assert size_of(path)[0] == WIDTH
    (note,) = preview.notes(NASTY[1:2])
    assert note.startswith("No font here has the glyphs for Chinese, Japanese, Korean, Arabic, Hebrew, Devanagari:"), note
    assert "pip install mplfonts" in note


def test_nothing_to_draw():
    with pytest.raises(HuggingTweetsError, match="at least one tweet"):
        render_preview([], [WREN], "p.png")
    with pytest.raises(HuggingTweetsError, match="at least one tweet"):
        render_preview(["  \n\x00 "], [WREN], "p.png")
    with pytest.raises(HuggingTweetsError, match="author"):
        render_preview([TWEET], [], "p.png")


def test_every_card_says_its_post_is_ai_generated(tmp_path, monkeypatch):
    """The label is drawn once per card, in its pill at the card's top right, besides the footer's words."""
    from PIL import ImageDraw

    drawn = []
    real = ImageDraw.ImageDraw.text

    def text(self, xy, content, *args, **kwargs):
        drawn.append(content)
        return real(self, xy, content, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", text)
    path = render_preview([TWEET, "a second post from the lamp", "and a third"], [WREN], tmp_path / "p.png")
    assert drawn.count(preview.LABEL) == 3 and preview.LABEL == "AI-generated"
    assert drawn[-1].startswith("Written by an AI trained on the tweets of @wren")
    pill_edge = (WIDTH - 2 * preview.PAD - 4, 2 * preview.PAD + 4 + (preview.LABEL_SIZE + preview.LABEL_PAD) // 2)
    assert pixel(path, pill_edge) == preview.LABEL_FILL
