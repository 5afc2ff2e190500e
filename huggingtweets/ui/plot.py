"""Step 2's loss plot and status line, as plain strings (no widgets, no plotting library).

The plot is an inline SVG that fills the step's width up to ``WIDTH`` pixels,
with labelled axes, round-number ticks and a legend; colours are CSS variables
or ``currentColor`` so it reads in light and dark themes.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 48  # room for tick labels and axis titles
TRAIN_COLOUR = "var(--ht-train, #1d9bf0)"
EVAL_COLOUR = "var(--ht-eval, #f57c00)"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round numbers (1, 2 or 5 times a power of ten apart) covering [lo, hi], about ``count`` of them."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    power = 10 ** math.floor(math.log10((hi - lo) / max(count - 1, 1)))
    steps = [m * power for m in (1, 2, 5, 10, 20)]

    def ticks(step: float) -> list[float]:
        first = math.ceil(lo / step - 1e-9)
        return [round(k * step, 12) for k in range(first, math.floor(hi / step + 1e-9) + 1)]

    return min((ticks(step) for step in steps), key=lambda t: (abs(len(t) - count), len(t)))


def _label(value: float) -> str:
    return f"{value:g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"


def _scale(lo: float, hi: float, a: float, b: float):
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) / span * (b - a)


def loss_svg(train: Sequence[tuple[int, float]], held_out: Sequence[tuple[int, float]], max_steps: int = 0) -> str:
    """Training and held-out loss against the step."""
    points = [p for p in list(train) + list(held_out) if math.isfinite(p[1])]
    if not points:
        return '<div class="ht-hint ht-loss-empty">The loss curve appears here once training starts.</div>'
    x_max = max([max_steps, 1] + [s for s, _ in points])
    y_lo, y_hi = min(v for _, v in points), max(v for _, v in points)
    pad = (y_hi - y_lo) * 0.08 or 0.5
    y_lo, y_hi = max(y_lo - pad, 0.0), y_hi + pad
    fx = _scale(0, x_max, LEFT, WIDTH - RIGHT)
    fy = _scale(y_lo, y_hi, HEIGHT - BOTTOM, TOP)
    base, right = HEIGHT - BOTTOM, WIDTH - RIGHT

    def coords(series):
        return " ".join(f"{fx(s):.1f},{fy(v):.1f}" for s, v in series if math.isfinite(v))

    parts = [
        f'<svg class="ht-loss" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'style="width: 100%; max-width: {WIDTH}px; height: auto" role="img" aria-label="training and held-out loss against the training step">'
    ]
    grid = ['<g class="ht-grid" style="stroke: currentColor; stroke-opacity: 0.12">']
    labels = ['<g class="ht-ticks">']
    for y in nice_ticks(y_lo, y_hi):
        grid.append(f'<line x1="{LEFT}" y1="{fy(y):.1f}" x2="{right}" y2="{fy(y):.1f}"/>')
        labels.append(f'<text x="{LEFT - 8}" y="{fy(y) + 4:.1f}" text-anchor="end">{_label(y)}</text>')
    for x in [t for t in nice_ticks(0, x_max, 6) if t == int(t)]:
        grid.append(f'<line x1="{fx(x):.1f}" y1="{TOP}" x2="{fx(x):.1f}" y2="{base}"/>')
        labels.append(f'<text x="{fx(x):.1f}" y="{base + 18}" text-anchor="middle">{int(x)}</text>')
    parts += grid + ["</g>"] + labels + ["</g>"]
    parts.append(
        f'<g class="ht-axes" style="stroke: currentColor; stroke-opacity: 0.45">'
        f'<line x1="{LEFT}" y1="{base}" x2="{right}" y2="{base}"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}"/></g>'
    )
    parts.append(f'<text class="ht-axis-title" x="{(LEFT + right) / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle">training step</text>')
    parts.append(
        f'<text class="ht-axis-title" transform="translate(16 {(TOP + base) / 2:.0f}) rotate(-90)" text-anchor="middle">loss (cross-entropy)</text>'
    )
    if train:
        parts.append(f'<polyline class="ht-loss-train" fill="none" style="stroke: {TRAIN_COLOUR}; stroke-width: 2.5" points="{coords(train)}"/>')
        s, v = train[-1]  # the latest loss as a dot (and a lone first point stays visible)
        parts.append(f'<circle class="ht-loss-train-point" cx="{fx(s):.1f}" cy="{fy(v):.1f}" r="4" style="fill: {TRAIN_COLOUR}"/>')
    if held_out:
        parts.append(
            f'<polyline class="ht-loss-eval" fill="none" style="stroke: {EVAL_COLOUR}; stroke-width: 2.5; stroke-dasharray: 6 4" points="{coords(held_out)}"/>'
        )
        parts.extend(
            f'<circle class="ht-loss-eval-point" cx="{fx(s):.1f}" cy="{fy(v):.1f}" r="4" style="fill: {EVAL_COLOUR}"/>' for s, v in held_out if math.isfinite(v)
        )
    lx = right - 230
    parts.append(
        f'<g class="ht-legend"><line x1="{lx}" y1="{TOP - 12}" x2="{lx + 24}" y2="{TOP - 12}" style="stroke: {TRAIN_COLOUR}; stroke-width: 2.5"/>'
        f'<text x="{lx + 30}" y="{TOP - 8}">training</text>'
        f'<line x1="{lx + 105}" y1="{TOP - 12}" x2="{lx + 129}" y2="{TOP - 12}" style="stroke: {EVAL_COLOUR}; stroke-width: 2.5; stroke-dasharray: 6 4"/>'
        f'<text x="{lx + 135}" y="{TOP - 8}">held-out</text></g>'
    )
    parts.append("</svg>")
    return "".join(parts)


def mmss(seconds: Optional[float]) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "--:--"
    seconds = int(round(seconds))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}:{seconds:02d}" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def progress_line(step: int, max_steps: int, epoch: float, loss: Optional[float], eta: Optional[float], elapsed: Optional[float] = None,
                  loss_step: Optional[int] = None) -> str:
    """Plain text (for a Label): ``step S/M · epoch E · loss L · elapsed mm:ss · ETA mm:ss``.

    The training loss is logged every few steps: ``loss_step``, when it is not ``step``, says
    which step the loss shown was logged at (``loss 5.063 (step 1)``), so it never looks current when it is not.
    """
    loss_text = f"{loss:.3f}" if loss is not None else "–"
    if loss is not None and loss_step is not None and loss_step != step:
        loss_text += f" (step {loss_step})"
    took = f" · elapsed {mmss(elapsed)}" if elapsed is not None else ""
    return f"step {step}/{max_steps} · epoch {epoch:.2f} · loss {loss_text}{took} · ETA {mmss(eta)}"


def saved_line(step: int, max_steps: int, loss: Optional[float], loss_step: Optional[int], finished: bool) -> str:
    """Plain text for a folder opened rather than trained here: how far its run got."""
    loss_text = f" · loss {loss:.3f}" + (f" (step {loss_step})" if loss_step not in (None, step) else "") if loss is not None else ""
    where = f"finished at step {step}" if finished else f"saved at step {step}/{max_steps}"
    return where + loss_text
