"""The picture beside an author's name, drawn small for the page.

A source that holds the avatar offline (an X archive's own copy, read by the
archive source while the archive is open) hands over its bytes; here they are
checked to be a picture and re-drawn as a small JPEG ``data:`` URI, so the page
shows it with no request and the picture itself never leaves the machine.
"""

from __future__ import annotations

import base64
import io

SIZE = 96  # px: twice the largest circle the app draws
MAX_PIXELS = 40_000_000  # a "picture" bigger than this is not an avatar a network wrote
FORMATS = ("JPEG", "PNG", "GIF", "WEBP")


def to_data_uri(data: bytes) -> str:
    """``data`` re-drawn as a ``SIZE``-pixel JPEG data URI; "" when it is not a picture."""
    if not data:
        return ""
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in FORMATS or image.width * image.height > MAX_PIXELS:
                return ""
            small = ImageOps.fit(image.convert("RGB"), (SIZE, SIZE))
    except Exception:  # a damaged or hostile file: initials are shown
        return ""
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")
