"""The picture beside an author's name: the one the source gave.

The X API gives a profile image URL (kept as ``Author.avatar_url``). An X
archive names its avatar in profile.js (``avatarMediaUrl``) and holds a copy in
``data/profile_media/<account id>-<file name>``: that one file is read (never
the header picture or any other media), at most ``MAX_AVATAR_BYTES``, checked
to be an image and shrunk to a small JPEG ``data:`` URI, so the page shows it
offline and the picture itself never leaves the machine.
"""

from __future__ import annotations

import base64
import io
import os
import zipfile
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

from ..sources import limits

MAX_AVATAR_BYTES = 4 * limits.MiB  # X serves avatars of a few hundred kilobytes at most
SIZE = 96  # px: twice the largest circle the app draws
MAX_PIXELS = 40_000_000  # a "picture" bigger than this is not an avatar X wrote
FORMATS = ("JPEG", "PNG", "GIF", "WEBP")


def picture_name(avatar_url: str) -> str:
    """``https://pbs.twimg.com/profile_images/1/AbCd.jpg`` -> ``AbCd.jpg`` ("" when there is none)."""
    name = os.path.basename(urlparse((avatar_url or "").strip()).path)
    return name if name and not name.startswith(".") else ""


def _wanted(member: str, picture: str) -> bool:
    """Is ``member`` the avatar in a profile_media folder (``<id>-<picture>`` or ``<picture>``)?"""
    parent, _, name = member.replace("\\", "/").rpartition("/")
    return parent.rsplit("/", 1)[-1] == "profile_media" and (name == picture or name.endswith("-" + picture))


def _from_zip(path: Path, picture: str) -> Optional[bytes]:
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if _wanted(info.filename, picture):
                if info.file_size > MAX_AVATAR_BYTES:
                    return None
                with zf.open(info) as member:
                    return limits.read_capped(member, MAX_AVATAR_BYTES, info.filename, "not an avatar")
    return None


def _from_folder(path: Path, picture: str) -> Optional[bytes]:
    # The folder an archive unzips to, a folder holding that one, or tweets.js's own folder.
    roots = [path.parent] if path.is_file() else [path, path / "data", *(p / "data" for p in path.iterdir() if p.is_dir())]
    for root in roots:
        media = root / "profile_media"
        if not media.is_dir():
            continue
        for entry in os.scandir(media):
            if entry.is_file() and _wanted(f"profile_media/{entry.name}", picture):
                with open(entry.path, "rb") as f:
                    return limits.read_capped(f, MAX_AVATAR_BYTES, entry.name, "not an avatar")
    return None


def archive_avatar(path: str | os.PathLike, avatar_url: str) -> str:
    """The archive's own copy of its avatar as a small ``data:image/jpeg`` URI, or "".

    Never raises: a missing, damaged or odd picture just means initials are shown.
    """
    picture = picture_name(avatar_url)
    if not picture:
        return ""
    path = Path(path).expanduser()
    try:
        if path.is_file() and path.suffix.lower() == ".zip":
            data = _from_zip(path, picture)
        else:
            data = _from_folder(path, picture)
        return to_data_uri(data) if data else ""
    except Exception:  # zip damage, permissions, a huge member: the avatar is a nicety
        return ""


def to_data_uri(data: bytes) -> str:
    """``data`` re-drawn as a ``SIZE``-pixel JPEG data URI; "" when it is not a picture."""
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in FORMATS or image.width * image.height > MAX_PIXELS:
                return ""
            small = ImageOps.fit(image.convert("RGB"), (SIZE, SIZE))
    except Exception:
        return ""
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")
