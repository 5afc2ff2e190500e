"""HTML for the widget app: messages, the data table, the loss plot, tweet cards.

Plain functions from data to strings, no widgets, so each is easy to test. Every
piece of text that came from a person or a source (handles, display names,
tweets, prompts, error messages, file names) goes through ``esc``; URLs are
kept only when they are http(s). Colours come from CSS (``style.py``) or
``currentColor`` so the output reads in light and dark themes alike.
"""

from __future__ import annotations

import html
import math
import urllib.parse
from typing import Iterable, Optional, Sequence

from ..cleaning import TABLE_ROWS, AuthorStats

SHARE_URL = "https://twitter.com/intent/tweet?text="
ICONS = {"error": "✖", "warning": "⚠", "success": "✔", "info": "ℹ"}


def esc(text: object) -> str:
    """Escape for HTML text and attribute values (quotes included)."""
    return html.escape(str(text), quote=True)


def safe_url(url: Optional[str]) -> str:
    """``url`` escaped when it is http(s); "" otherwise (no ``javascript:`` links)."""
    url = (url or "").strip()
    return esc(url) if url.lower().startswith(("https://", "http://")) else ""


# --- messages ------------------------------------------------------------------------
def first_line(err: BaseException) -> str:
    """The first line of an unexpected error, for a one-line message."""
    lines = str(err).strip().splitlines()
    return lines[0] if lines else "no details"


def message(kind: str, text: str) -> str:
    """One line for the user: kind is error, warning, success or info."""
    kind = kind if kind in ICONS else "info"
    return f'<div class="ht-msg ht-{kind}"><span class="ht-icon">{ICONS[kind]}</span> {esc(text)}</div>'


def messages(items: Iterable[tuple[str, str]]) -> str:
    return "".join(message(kind, text) for kind, text in items)


def step_title(number: int, title: str, hint: str) -> str:
    return f'<div class="ht-step-title">{number} · {esc(title)}</div><div class="ht-hint">{esc(hint)}</div>'


def header(title: str, subtitle: str, kind: str, note: str) -> str:
    return f'<div class="ht-header"><div class="ht-title">{esc(title)}</div><div class="ht-hint">{esc(subtitle)}</div>{message(kind, note)}</div>'


# --- step 1: the data ------------------------------------------------------------------
def data_table(stats: Sequence[AuthorStats]) -> str:
    """Rows Tweets downloaded / Retweets / Short tweets / Tweets kept, a column per author."""
    head = "".join(f'<th class="ht-num">{esc(s.name)}<br><span class="ht-handle">@{esc(s.handle)}</span></th>' for s in stats)
    rows = []
    for label, attr in TABLE_ROWS:
        cells = "".join(f'<td class="ht-num">{getattr(s, attr)}</td>' for s in stats)
        rows.append(f"<tr><th>{esc(label)}</th>{cells}</tr>")
    return f'<table class="ht-table ht-data"><thead><tr><th>Data</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def example_tweets(authors: Sequence[tuple[str, Sequence[str]]], per_author: int = 3) -> str:
    """A few kept tweets per author: ``[(display name, tweets), ...]``."""
    rows = [
        f'<tr><td class="ht-author">{esc(name)}</td><td>{esc(text)}</td></tr>'
        for name, tweets in authors
        for text in list(tweets)[:per_author]
    ]
    if not rows:
        return ""
    return f'<table class="ht-table ht-examples"><thead><tr><th>Author</th><th>Tweet (cleaned)</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'


# --- step 2: the loss plot -------------------------------------------------------------
def _scale(lo: float, hi: float, a: float, b: float):
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) / span * (b - a)


def loss_svg(train: Sequence[tuple[int, float]], held_out: Sequence[tuple[int, float]], max_steps: int = 0, width: int = 520, height: int = 220) -> str:
    """Training and held-out loss against the step, as an inline SVG (no plotting library)."""
    points = [p for p in list(train) + list(held_out) if math.isfinite(p[1])]
    if not points:
        return '<div class="ht-hint ht-loss-empty">The loss curve appears here once training starts.</div>'
    left, right, top, bottom = 48, 12, 12, 30
    x_max = max([max_steps, 1] + [s for s, _ in points])
    y_lo, y_hi = min(v for _, v in points), max(v for _, v in points)
    pad = (y_hi - y_lo) * 0.08 or 0.5
    y_lo, y_hi = y_lo - pad, y_hi + pad
    fx = _scale(0, x_max, left, width - right)
    fy = _scale(y_lo, y_hi, height - bottom, top)

    def coords(series):
        return " ".join(f"{fx(s):.1f},{fy(v):.1f}" for s, v in series if math.isfinite(v))

    parts = [
        f'<svg class="ht-loss" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="loss against step">',
        f'<g class="ht-axes" style="stroke: currentColor; stroke-opacity: 0.35"><line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}"/><line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}"/></g>',
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end">{y_hi:.2f}</text>',
        f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end">{y_lo:.2f}</text>',
        f'<text x="{left}" y="{height - 10}">0</text>',
        f'<text x="{width - right}" y="{height - 10}" text-anchor="end">{x_max} steps</text>',
    ]
    if train:
        parts.append(f'<polyline class="ht-loss-train" fill="none" style="stroke: var(--ht-train, #1d9bf0); stroke-width: 2" points="{coords(train)}"/>')
        s, v = train[-1]  # the latest loss as a dot (and a lone first point stays visible)
        parts.append(f'<circle class="ht-loss-train-point" cx="{fx(s):.1f}" cy="{fy(v):.1f}" r="3" style="fill: var(--ht-train, #1d9bf0)"/>')
    if held_out:
        parts.append(f'<polyline class="ht-loss-eval" fill="none" style="stroke: var(--ht-eval, #f57c00); stroke-width: 2; stroke-dasharray: 5 3" points="{coords(held_out)}"/>')
        parts.extend(f'<circle class="ht-loss-eval-point" cx="{fx(s):.1f}" cy="{fy(v):.1f}" r="3" style="fill: var(--ht-eval, #f57c00)"/>' for s, v in held_out if math.isfinite(v))
    legend_x = width - right - 190
    parts.append(
        f'<g class="ht-legend"><line x1="{legend_x}" y1="{top + 6}" x2="{legend_x + 18}" y2="{top + 6}" style="stroke: var(--ht-train, #1d9bf0); stroke-width: 2"/>'
        f'<text x="{legend_x + 22}" y="{top + 10}">training</text>'
        f'<line x1="{legend_x + 85}" y1="{top + 6}" x2="{legend_x + 103}" y2="{top + 6}" style="stroke: var(--ht-eval, #f57c00); stroke-width: 2; stroke-dasharray: 5 3"/>'
        f'<text x="{legend_x + 107}" y="{top + 10}">held-out</text></g>'
    )
    parts.append("</svg>")
    return "".join(parts)


def mmss(seconds: Optional[float]) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "--:--"
    seconds = int(round(seconds))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}:{seconds:02d}" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def progress_line(step: int, max_steps: int, epoch: float, loss: Optional[float], eta: Optional[float]) -> str:
    """Plain text (for a Label): ``step S/M · epoch E · loss L · ETA mm:ss``."""
    loss_text = f"{loss:.3f}" if loss is not None else "–"
    return f"step {step}/{max_steps} · epoch {epoch:.2f} · loss {loss_text} · ETA {mmss(eta)}"


def train_summary(metrics: dict, folder: str, stopped: bool, wandb_url: Optional[str]) -> str:
    parts = []
    if "eval_loss" in metrics and "eval_loss_before" in metrics:
        parts.append(
            f'<div>Held-out loss <b>{metrics["eval_loss_before"]:.3f} → {metrics["eval_loss"]:.3f}</b>'
            f' (perplexity {metrics.get("perplexity", float("nan")):.1f}) after {metrics.get("global_step", 0)} steps.</div>'
        )
    parts.append(f'<div>Model folder: <code>{esc(folder)}</code> (model card: README.md)</div>')
    url = safe_url(wandb_url)
    if url:
        parts.append(f'<div>W&amp;B run: <a href="{url}" target="_blank" rel="noopener">{url}</a></div>')
    if stopped:
        parts.append(message("info", "Stopped: a checkpoint is saved. Press Train Neural Network with 'Resume from checkpoint' ticked to continue."))
    return f'<div class="ht-summary">{"".join(parts)}</div>'


# --- step 3: tweet cards --------------------------------------------------------------
def initials(name: str) -> str:
    words = [w for w in name.replace("_", " ").split() if w[:1].isalnum()]
    words = [w for w in words if w[0].isupper()] or words  # "Wren & the Lamp" -> WL
    return "".join(w[0] for w in words[:2]).upper() or "?"


def avatar(name: str, url: str = "") -> str:
    src = safe_url(url)
    if src:
        return f'<img class="ht-avatar" src="{src}" alt="{esc(name)}" referrerpolicy="no-referrer">'
    return f'<span class="ht-avatar ht-initials" title="{esc(name)}">{esc(initials(name))}</span>'


def share_url(text: str) -> str:
    return SHARE_URL + urllib.parse.quote(text + " #huggingtweets")


def tweet_card(text: str, nearest: str, similarity: float, near_copy: bool, authors: Sequence[tuple[str, str, str]]) -> str:
    """One generated tweet; ``authors`` is ``[(handle, display name, avatar url), ...]``."""
    avatars = "".join(avatar(name, url) for _, name, url in authors[:3])
    names = " &amp; ".join(esc(name) for _, name, _ in authors) or "HuggingTweets"
    handles = " ".join(f"@{esc(h)}" for h, _, _ in authors)
    if near_copy:
        note = f'<div class="ht-flag">⚠ Near copy of a training tweet (similarity {similarity:.2f}): <q>{esc(nearest)}</q></div>'
    else:
        note = f'<div class="ht-sim" title="{esc(nearest)}">closest training tweet: similarity {similarity:.2f}</div>'
    return (
        f'<div class="ht-tweet"><div class="ht-who"><span class="ht-avatars">{avatars}</span>'
        f'<span class="ht-names"><b>{names}</b> <span class="ht-badge">AI</span><br><span class="ht-handle">{handles}</span></span></div>'
        f'<div class="ht-text">{esc(text)}</div>{note}'
        f'<div class="ht-share"><a href="{esc(share_url(text))}" target="_blank" rel="noopener">Share on X</a></div></div>'
    )


def tweet_list(cards: Sequence[str]) -> str:
    return f'<div class="ht-tweets">{"".join(cards)}</div>' if cards else ""
