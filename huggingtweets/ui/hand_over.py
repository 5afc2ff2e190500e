"""Getting a file the app wrote (a model zip, a GGUF) from the kernel's disk into the browser.

Where the app runs decides the way, in this order:
- Colab: its own ``files.download`` (any size).
- Voilà started with the project's ``voila.json`` (the repo root's, or its setting copied into
  your own config): Voilà's file route (``/voila/files/...``) streams the file from
  ``DOWNLOADS`` beside the notebook, any size. Only that folder is allow-listed, never an
  upload or a model folder; the kernel asks the route for the file before it offers the link,
  so a page never shows a link that answers 403.
- Anywhere else (Jupyter, VS Code, a Voilà without the setting): a link holding the file itself
  (a ``data:`` URL: no file server needed), up to ``INLINE_LIMIT``.
- A bigger file there stays on disk; the message says where and names only what the page has
  (Jupyter's file browser exists in Jupyter, not in Voilà).
"""

from __future__ import annotations

import base64
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Optional

from ..diskio import size_text
from ..workflow import media_type
from . import render

DOWNLOADS = "huggingtweets-downloads"  # the folder (beside the notebook) voila.json allow-lists
INLINE_LIMIT = 50_000_000  # bytes: a bigger file is not handed to the browser as a data: URL
PROBE_S = 5  # seconds the kernel waits for Voilà's answer about the file
VOILA_SETTING = f"VoilaConfiguration.file_allowlist with '{DOWNLOADS}/.*' (the repo's voila.json)"


def downloads_folder(root: str | os.PathLike) -> Path:
    """Where the app writes files for the browser: ``root/DOWNLOADS``."""
    return Path(root) / DOWNLOADS


def link(url: str, label: str, download: str = "") -> str:
    """A link in the app's style; ``url`` is an http(s) URL or, with ``download``, one we made
    (a data: URL or Voilà's file route)."""
    href = render.esc(url) if download else render.safe_url(url)
    extra = f' download="{render.esc(download)}"' if download else ' target="_blank" rel="noopener"'
    return f'<div class="ht-summary ht-link"><a{extra} href="{href}">{render.esc(label)}</a></div>'


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the route answers for the file itself; a redirect (elsewhere, perhaps) is no answer


# The probe goes to 127.0.0.1 only: never through the http_proxy the kernel inherits, never where a redirect points.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def in_voila() -> bool:
    """Voilà names its base URL in every kernel it starts."""
    return "VOILA_BASE_URL" in os.environ


def voila_url(path: Path) -> Optional[str]:
    """The page's URL for ``path`` on Voilà's file route, when Voilà serves it; else None."""
    if not in_voila():
        return None
    try:
        rel = path.resolve().relative_to(Path.cwd().resolve())  # the kernel runs in the notebook's folder
    except ValueError:
        return None
    if rel.parts[:1] != (DOWNLOADS,):
        return None
    # Voilà serving a folder renders notebooks at .../voila/render/<path>: its root is above the notebook's folder.
    request = urllib.parse.urlsplit(os.environ.get("VOILA_REQUEST_URL", "")).path
    _, rendered, notebook = request.partition("/voila/render/")
    above = urllib.parse.unquote(notebook).rpartition("/")[0] if rendered else ""
    route = urllib.parse.quote("/".join(part for part in (above, rel.as_posix()) if part))
    base = os.environ.get("VOILA_BASE_URL", "/")
    server = os.environ.get("VOILA_SERVER_URL", base)
    port = os.environ.get("VOILA_APP_PORT", "")
    if not port:
        return None
    probe = urllib.request.Request(f"http://127.0.0.1:{port}{server.rstrip('/')}/voila/files/{route}", method="HEAD")
    try:
        with _DIRECT.open(probe, timeout=PROBE_S) as answer:
            served = answer.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        served = False  # 403 (not allow-listed), a redirect, a server bound elsewhere, a proxy: no link
    return f"{base.rstrip('/')}/voila/files/{route}" if served else None


def hand_over(path: Path, what: str) -> str:
    """The message (and link) that gets ``path`` to the browser; ``what`` says what to do with it."""
    size = path.stat().st_size
    if "google.colab" in sys.modules:
        from google.colab import files  # type: ignore  # only exists inside Colab

        files.download(str(path))
        return render.message("success", f"Your browser is downloading {path.name} ({size_text(size)}).")
    ready = render.message("success", f"{path.name} is ready ({size_text(size)}): {what}")
    routed = voila_url(path)
    if routed:
        return ready + link(routed, f"Save {path.name}", download=path.name)
    if size <= INLINE_LIMIT:
        mime = media_type(path.name)
        data = f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
        return ready + link(data, f"Save {path.name}", download=path.name)
    where = (f"start Voilà with {VOILA_SETTING} to download it here, or push the model to the Hub"
             if in_voila() else "download it from Jupyter's file browser, or push the model to the Hub")
    return render.message("info", f"{path.name} ({size_text(size)}) is saved at {path}: too big to hand to the browser "
                                  f"from this page; {where}.")
