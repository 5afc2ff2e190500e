"""HTML for the widget app: messages, help, the data table, the result, tweet cards.

Plain functions from data to strings, no widgets, so each is easy to test. Every
piece of text that came from a person or a source (handles, display names,
tweets, prompts, error messages, file names) goes through ``esc``; picture and
link URLs are kept only when they are http(s) (or, for pictures, a base64 JPEG/PNG
``data:`` URI, which is how archive avatars come). The loss plot is in ``plot.py``. Colours come from CSS (``style.py``) or
``currentColor`` so the output reads in light and dark themes alike.
"""

from __future__ import annotations

import html
import re
from typing import Iterable, Optional, Sequence

from .. import errors, names
from ..workflow import AuthorStats, table_rows

ICONS = {"error": "✖", "warning": "⚠", "success": "✔", "info": "ℹ"}
DATA_PICTURE = re.compile(r"data:image/(?:jpeg|png);base64,[A-Za-z0-9+/]+={0,2}")
# The copy button's whole script: it reads the card's own text from the page, so no
# generated text is ever placed inside JavaScript. Where the clipboard API is not
# allowed (plain http, some iframes) it selects the text and asks for a copy.
COPY_JS = (
    "const b=this;const t=b.closest('.ht-tweet').querySelector('.ht-text');"
    "const done=()=>{b.textContent='Copied';setTimeout(()=>{b.textContent='Copy'},1500)};"
    "const select=()=>{const r=document.createRange();r.selectNodeContents(t);const s=window.getSelection();"
    "s.removeAllRanges();s.addRange(r);if(document.execCommand('copy'))done()};"
    "if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(t.innerText).then(done,select)}else{select()}"
)


def esc(text: object) -> str:
    """Escape for HTML text and attribute values (quotes included), without the invisible
    characters that would reorder or hide what follows (``names.visible``)."""
    return html.escape(names.visible(str(text)), quote=True)


def safe_url(url: Optional[str]) -> str:
    """``url`` ready for an HTML attribute when it is an http(s) link (names.safe_url's rule); "" otherwise."""
    return esc(names.safe_url(url))


def picture_src(src: Optional[str]) -> str:
    """A picture's ``src`` (not yet escaped): an http(s) URL or a base64 JPEG/PNG data URI; "" otherwise."""
    src = (src or "").strip()
    return src if DATA_PICTURE.fullmatch(src) else names.safe_url(src)


# --- messages ------------------------------------------------------------------------
first_line = errors.first_line  # the one rule, for the steps' messages

# The library's messages say what to do in the CLI's words (``--resume``); the app has a
# box or a checkbox for each. Whole phrases first (so the sentence still reads), then each
# flag alone. A flag the library names must have a line here (tests/test_ui_state.py).
RESUME, REPLACE = "'Resume the unfinished run'", "'Replace what is in the folder'"
REPLACE_REPO = "Replace what is in the repo"  # step 4's tick beside the repo name
AUTHOR, SAMPLE, WANDB = "'Author handle (for a file without one)'", "'Use the sample archive'", "'Track with Weights & Biases'"
APP_PHRASES = (
    (r"resume with 'huggingtweets train[^']*--resume'", f"tick {RESUME} and press Train Neural Network"),
    (r"add --resume to continue it, or --overwrite to start over", f"tick {RESUME} to continue it, or {REPLACE} to start over"),
    (r"--resume continues the saved run, --overwrite starts over: choose one", f"{RESUME} continues the saved run, {REPLACE} starts over: tick one"),
    (r"(?:start over|train again|train it again) with '?(?:huggingtweets train )?--overwrite'?", f"tick {REPLACE} and train again"),
    (r"push with --overwrite", f"tick '{REPLACE_REPO}' and push again"),
    (r"add --overwrite", f"tick {REPLACE}"),
    (r"leave --author out", f"leave {AUTHOR} empty"),
    (r"name the author with --author", f"type their handle in {AUTHOR} and download again"),
    (r"give one file at a time with --author(?: HANDLE)?", f"download one file at a time with its author in {AUTHOR}"),
    (r"run 'huggingtweets data[^']*' first", "download tweets first"),
    (r"(?:with|run) 'huggingtweets train'", "with Train Neural Network"),
    (r"(?:use )?--sample", f"tick {SAMPLE}"),
    (r"--model tiny", "the model tiny"),
    (r"use --precision auto or fp32", "set Precision to auto or fp32 (Advanced)"),
    (r"drop --report-to wandb", f"untick {WANDB}"),
    (r"drop --lora", "untick 'LoRA (train small adapters)'"),
    (r"another --output", "Model folder"),
)
APP_FLAGS = {  # a flag the phrases above did not cover
    "--resume": RESUME,
    "--overwrite": REPLACE,
    "--author": AUTHOR,
    "--output": "the Model folder",
    "--out": "the Model folder",
    "--model": "the Model box",
    "--precision": "Precision (Advanced)",
    "--report-to": WANDB,
    "--lora": "'LoRA'",
    "--sample": SAMPLE,
    "--format": "'Download for Ollama / llama.cpp (GGUF)'",
    "--quantize": "'Weights' beside it",
}
NOT_APP_FLAGS = {"--no-deps"}  # pip's, in an install command the app shows as it is
_PHRASES = [(re.compile(p), r) for p, r in APP_PHRASES]
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def in_app(text: str) -> str:
    """A library message in the app's words: its controls, not the CLI's flags."""
    for pattern, words in _PHRASES:
        text = pattern.sub(words, text)
    return _FLAG.sub(lambda m: APP_FLAGS.get(m.group(0), m.group(0)), text)


def error_text(err: BaseException, what: str) -> str:
    """A step's failure as one line: our own errors as they are (they say what to do, in the
    app's words); anything else as ``what (Type): its first line``."""
    if isinstance(err, errors.HuggingTweetsError):
        return in_app(str(err))
    return f"{what} ({type(err).__name__}): {first_line(err)}"


def message(kind: str, text: str) -> str:
    """One line for the user: kind is error, warning, success or info."""
    kind = kind if kind in ICONS else "info"
    return f'<div class="ht-msg ht-{kind}"><span class="ht-icon">{ICONS[kind]}</span> {esc(text)}</div>'


def messages(items: Iterable[tuple[str, str]]) -> str:
    return "".join(message(kind, text) for kind, text in items)


def step_title(number: int, title: str, hint: str) -> str:
    """``N · title`` and the hint under it (a step shown outside the App has no number)."""
    numbered = f"{number} · " if number else ""
    return f'<div class="ht-step-title">{numbered}{esc(title)}</div><div class="ht-hint">{esc(hint)}</div>'


def header(notes: Iterable[tuple[str, str]], follow_system_theme: bool = False) -> str:
    """The app's first lines: what this machine can do (the title is the notebook's)."""
    follow = " ht-follow-system" if follow_system_theme else ""
    return f'<div class="ht-header{follow}">{messages(notes)}</div>'


def help_box(summary: str, paragraphs: Iterable[str]) -> str:
    """Collapsed help: ``summary`` until opened. ``paragraphs`` are trusted HTML (the app's own)."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f'<details class="ht-help"><summary>{esc(summary)}</summary>{body}</details>'


# --- step 1: the data ------------------------------------------------------------------
def data_table(stats: Sequence[AuthorStats], pictures: Optional[dict] = None) -> str:
    """Rows Tweets downloaded / Retweets / Short tweets / Tweets kept (and, when any were, tweets
    with emails/phones masked: ``workflow.table_rows``), a column per author.

    ``pictures`` maps a lower-case handle to the author's avatar (see ``avatar``).
    """
    pictures = pictures or {}
    head = "".join(
        f'<th class="ht-num">{avatar(s.name, pictures.get(s.handle.lower(), ""), small=True)}{esc(s.name)}'
        f'<br><span class="ht-handle">@{esc(s.handle)}</span></th>'
        for s in stats
    )
    rows = []
    for label, attr in table_rows(stats):
        cells = "".join(f'<td class="ht-num">{esc(getattr(s, attr))}</td>' for s in stats)
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


# --- step 2: the result ----------------------------------------------------------------
def train_summary(metrics: dict, folder: str, stopped: bool, wandb_url: Optional[str], note: str = "") -> str:
    parts = [message("warning", note)] if note else []
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
        parts.append(message("info", "Stopped: a checkpoint is saved. Press Train Neural Network with 'Resume the unfinished run' ticked to continue."))
    return f'<div class="ht-summary">{"".join(parts)}</div>'


# --- step 3: tweet cards --------------------------------------------------------------
initials = names.initials  # "Wren & the Lamp" -> WL, as in the model card


def avatar(name: str, src: str = "", small: bool = False) -> str:
    """The author's initials in a circle, covered by their picture (http(s) or a data URI)
    when there is one; a picture that does not load (offline, deleted) removes itself."""
    size = " ht-avatar-sm" if small else ""
    src = picture_src(src)
    picture = f'<img src="{esc(src)}" alt="" referrerpolicy="no-referrer" onerror="this.remove()">' if src else ""
    return f'<span class="ht-avatar ht-initials{size}" title="{esc(name)}">{esc(initials(name))}{picture}</span>'


def voice_badge(voice: Optional[int], passes: Optional[bool], handle: str = "") -> str:
    """A post's voice (voice.py) as a small badge: its 0-100, and whether it passes as ``handle``."""
    if voice is None:
        return ""
    who = f"@{esc(handle.lstrip('@'))}" if handle else "the author"
    verdict = f"✔ passes as {who}" if passes else f"does not pass as {who}"
    tip = "The voice classifier's 0-100 for this post (50: its threshold); it passes when it is also fluent and no near copy."
    return f'<span class="ht-voice{" ht-pass" if passes else ""}" title="{esc(tip)}">voice {int(voice)} · {verdict}</span>'


def voice_summary(lines: Sequence[str]) -> str:
    """The model's voice score, one line per author, above the cards."""
    return "".join(f'<div class="ht-voice-score">{esc(line)}</div>' for line in lines)


def tweet_card(text: str, nearest: str, similarity: float, near_copy: bool, authors: Sequence[tuple[str, str, str]],
               voice: Optional[int] = None, passes: Optional[bool] = None, label: str = "AI", share: tuple[str, str] = ("", "")) -> str:
    """One generated tweet; ``authors`` is ``[(handle, display name, picture), ...]`` (the one it was
    written as, or all of them). ``voice``/``passes``: its voice badge, when judged; ``label``: the
    badge after the names ("AI", or "base model" for the untuned model's posts); ``share``: the
    ``(address, network)`` of the authors' network's share page (``workflow.share_link``), or none.

    The nearest training tweet is one click away (a ``<details>``), open already
    when the tweet is a near copy of it.
    """
    avatars = "".join(avatar(name, src) for _, name, src in authors[:3])
    names = " &amp; ".join(esc(name) for _, name, _ in authors) or "HuggingTweets"
    handles = " ".join(f"@{esc(h)}" for h, _, _ in authors)
    flag = f'<div class="ht-flag">⚠ Near copy of a training tweet (similarity {similarity:.2f})</div>' if near_copy else ""
    badge = "" if near_copy else voice_badge(voice, passes, authors[0][0] if len(authors) == 1 else "")
    nearest_box = (
        f'<details class="ht-nearest"{" open" if near_copy else ""}><summary>Nearest training tweet · similarity {similarity:.2f}</summary>'
        f'<blockquote>{esc(nearest)}</blockquote></details>'
    )
    return (
        f'<div class="ht-tweet"><div class="ht-who"><span class="ht-avatars">{avatars}</span>'
        f'<span class="ht-names"><b>{names}</b> <span class="ht-badge">{esc(label)}</span><br><span class="ht-handle">{handles}</span></span></div>'
        f'<div class="ht-text">{esc(text)}</div>{flag}{nearest_box}'
        f'<div class="ht-actions"><button type="button" class="ht-copy" title="Copy the tweet\'s text" onclick="{esc(COPY_JS)}">Copy</button>'
        f'{share_anchor(*share)}{badge}</div></div>'
    )


def share_anchor(url: str, network: str) -> str:
    """"Share on NETWORK", linking its share page; nothing when there is none."""
    if not url or not network:
        return ""
    return f'<a class="ht-share" href="{esc(url)}" target="_blank" rel="noopener">Share on {esc(network)}</a>'


def tweet_list(cards: Sequence[str]) -> str:
    return f'<div class="ht-tweets">{"".join(cards)}</div>' if cards else ""


def side_by_side(trained: Sequence[str], base: Sequence[str]) -> str:
    """The trained model's cards beside the untuned base model's, for the same prompt."""
    return ('<div class="ht-compare"><div><div class="ht-col-title">Trained model</div>'
            f'{tweet_list(trained)}</div><div><div class="ht-col-title">Base model, untuned</div>{tweet_list(base)}</div></div>')
