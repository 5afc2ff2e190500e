"""The model card (README.md) written beside every trained model.

Same layout as the published huggingtweets cards, section for section: YAML front
matter, an HTML header (avatars, BOT or CYBORG, names, handles), then "How does it
work?", "Training data", "Training procedure", "How to use", "Limitations and bias"
and "About". Added to that layout, never in its place: a line under the header saying
that the model's posts are machine-generated, not the authors'. Display names, handles and URLs are user-controlled: every one is
HTML-escaped, avatar and W&B URLs are kept only with an http(s) scheme and are
percent-encoded so they cannot leave their CSS string or Markdown link.

``metrics`` may hold any of: ``eval_loss_before``, ``eval_loss``, ``perplexity_before``,
``perplexity``, ``train_loss``, ``epoch``, ``global_step``, ``train_runtime`` (seconds),
``train_tweets`` and ``eval_tweets`` (held-out tweet counts) and ``precision`` (the
precision "auto" resolved to). Only the keys present are shown.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import shlex
from pathlib import Path
from typing import Optional, Sequence

from .cleaning import EMAIL, PHONE, AuthorStats, markdown_text, stats_table
from .config import TrainConfig
from .dataset import voice_marker
from .diskio import atomic_write_text
from .errors import HuggingTweetsError
from .folder import CARD, stopped_note
from .language import combine, main_language
from .manifest import cap, open_nofollow, record_edit
from .names import initials
from .names import published_name, safe_url
from .pretrained import GEMMA3, GEMMA3_HUB
from .sources import avatar_url, profile_url
from .sources.base import Author

CARD_FILE = CARD  # the folder module owns the name
PROMPT = "My dream is"
SECTIONS = ("How does it work?", "Training data", "Training procedure", "How to use", "Limitations and bias", "About")
LOCAL_RUN = "Run it locally"  # added after "How to use" once the model is exported to GGUF (add_local_run)

_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
_YAML_PLAIN = re.compile(r"^[A-Za-z0-9][\w./:%?=&~+,-]*$")


# --- escaping ------------------------------------------------------------------------
def _one_line(text) -> str:
    return " ".join(str(text).split())


# Markdown punctuation as character references: inert whether a renderer treats the header's
# HTML block as raw HTML or (some do) still parses Markdown inside it.
_MD_IN_HTML = str.maketrans({c: f"&#{ord(c)};" for c in "[]()!*`~|\\"})


def _h(text) -> str:
    """Text for HTML: one line, every special character escaped, Markdown's link, image and
    emphasis punctuation as character references."""
    return html.escape(_one_line(text), quote=True).translate(_MD_IN_HTML)


def _md(text) -> str:
    """Text for Markdown (prose or a table cell): one line, HTML-escaped, Markdown punctuation and ``|`` backslashed."""
    return markdown_text(text)


def _code_span(text) -> str:
    """Text as a Markdown code span: shown as typed (Markdown and HTML are not read inside one),
    so only what could end the span or the line goes (backticks, line breaks)."""
    return "`" + _one_line(str(text)).replace("`", "") + "`"


def _yaml_scalar(value: str) -> str:
    value = _one_line(value)
    if not value:
        return ""
    return value if _YAML_PLAIN.match(value) else json.dumps(value)  # a JSON string is a YAML double-quoted scalar


# --- pieces ----------------------------------------------------------------------------
def _handle(author: Author) -> str:
    return author.handle if author.handle.startswith("@") else "@" + author.handle


def _slug(authors: Sequence[Author]) -> str:
    return published_name(a.handle for a in authors)


def _avatar(author: Author, size: int) -> str:
    style = f"display:inherit; margin-left: 4px; margin-right: 4px; width: {size}px; height:{size}px; border-radius: 50%;"
    url = safe_url(avatar_url(author))  # only from the author's own network
    if url:
        style += f" background-size: cover; background-image: url('{url}')"
        return f'        <div style="{html.escape(style, quote=True)}">\n        </div>'
    style += (
        " background-color: #8a9ba8; color: white; align-items: center; justify-content: center;"
        f" font-size: {size // 3}px; font-weight: 800"
    )
    return f'        <div style="{html.escape(style, quote=True)}">{_h(initials(author.name, author.handle))}</div>'


def _header(authors: Sequence[Author]) -> str:
    size = 132 if len(authors) == 1 else 92
    title = "🤖 AI BOT 🤖" if len(authors) == 1 else "🤖 AI CYBORG 🤖"
    names = " & ".join(_h(a.name) for a in authors)
    return "\n".join(
        [
            '<div class="inline-flex flex-col" style="line-height: 1.5;">',
            '    <div class="flex">',
            *[_avatar(a, size) for a in authors],
            "    </div>",
            f'    <div style="text-align: center; margin-top: 3px; font-size: 16px; font-weight: 800">{title}</div>',
            f'    <div style="text-align: center; font-size: 16px; font-weight: 800">{names}</div>',
            f'    <div style="text-align: center; font-size: 14px;">@{_h(_slug(authors))}</div>',
            "</div>",
        ]
    )


def _author_md(author: Author) -> str:
    """``Name (@handle)``, the handle linked to the author's profile on their network when known."""
    handle = _md(_handle(author))
    url = safe_url(profile_url(author))
    if url:
        handle = f"[{handle}]({url})"
    if _one_line(author.name).lower() in ("", author.handle.lower(), _handle(author).lower()):
        return handle
    return f"{_md(author.name)} ({handle})"


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _base_model(config: TrainConfig, metrics: Optional[dict] = None) -> str:
    """The base model in Markdown: a Hub link for Hub names, the escaped path for local folders.

    ``metrics["base_model"]`` (written by training) names what a named model such as
    ``smollm2-135m`` resolved to.
    """
    model = str((metrics or {}).get("base_model") or config.model).strip()
    if config.tiny:
        return "a small GPT-2 trained from scratch"
    if _HUB_NAME.match(model) and not os.path.exists(model):
        return f"[{_md(model)}](https://huggingface.co/{model})"
    return _md(model)


def _number(value, digits: int) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return _md(value)
    if math.isnan(v) or math.isinf(v):
        return str(v)
    return f"{v:.{digits}g}" if abs(v) >= 1e6 else f"{v:.{digits}f}"


def _duration(value) -> str:
    try:
        s = float(value)
    except (TypeError, ValueError):
        return _md(value)
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(round(s), 60)
    return f"{m} min {s:02d} s" if m < 60 else f"{m // 60} h {m % 60:02d} min"


METRIC_ROWS = (
    ("eval_loss_before", "Held-out loss before training", lambda v: _number(v, 4)),
    ("eval_loss", "Held-out loss after training", lambda v: _number(v, 4)),
    ("best_epoch", "Epoch of the lowest held-out loss (the weights saved)", lambda v: f"{float(v):g}" if isinstance(v, (int, float)) else _md(v)),
    ("last_eval_loss", "Held-out loss at the last evaluation (higher: not kept)", lambda v: _number(v, 4)),
    ("perplexity_before", "Held-out perplexity before training", lambda v: _number(v, 2)),
    ("perplexity", "Held-out perplexity after training", lambda v: _number(v, 2)),
    ("train_loss", "Average training loss", lambda v: _number(v, 4)),
    ("epoch", "Epochs run", lambda v: f"{float(v):g}" if isinstance(v, (int, float)) else _md(v)),
    ("global_step", "Optimizer steps", lambda v: str(int(v)) if isinstance(v, (int, float)) else _md(v)),
    ("train_runtime", "Training time", _duration),
)


def hyperparameters(config: TrainConfig, metrics: Optional[dict] = None) -> list[tuple[str, str]]:
    """The (label, value) rows of the hyper-parameter table, straight from ``config``."""
    metrics = metrics or {}
    if config.warmup == 0:
        warmup = "0"
    elif config.warmup < 1:
        warmup = f"{config.warmup:g} of all steps"
    else:
        warmup = f"{int(config.warmup)} steps"
    precision = config.precision
    if precision == "auto" and metrics.get("precision"):
        precision = f"auto ({_md(metrics['precision'])} used)"
    lora = (
        f"rank {config.lora_rank}, alpha {config.lora_alpha}, dropout {config.lora_dropout:g} (merged into the weights)"
        if config.lora
        else "not used (all weights trained)"
    )
    rows = [
        ("Base model", "tiny (GPT-2 from scratch)" if config.tiny else _base_model(config, metrics)),
        ("Learning rate (peak)", f"{config.learning_rate:g}"),
        ("Learning-rate schedule", config.lr_scheduler),
        ("Warm-up", warmup),
        ("Epochs", f"{config.epochs:g}"),
    ]
    if config.max_steps != -1:
        rows.append(("Max steps", str(config.max_steps)))
    rows += [
        ("Batch size (per device)", str(config.batch_size)),
        ("Gradient accumulation", str(config.gradient_accumulation)),
        ("Processes (world size)", str(metrics.get("world_size", 1))),
        ("Effective batch (sequences per step)", str(metrics.get("effective_batch", config.batch_size * config.gradient_accumulation))),
        ("Block size (tokens)", str(config.block_size)),
        ("Weight decay", f"{config.weight_decay:g}"),
        ("Precision", precision),
        ("Gradient checkpointing", "yes" if config.gradient_checkpointing else "no"),
        ("LoRA", lora),
        ("Held-out fraction", f"{config.validation_fraction:g}"),
        ("Seed", str(config.seed)),
    ]
    return rows


def _table(header: tuple[str, str], rows: Sequence[tuple[str, str]]) -> str:
    lines = [f"| {header[0]} | {header[1]} |", "| --- | --- |"]
    return "\n".join(lines + [f"| {a} | {b} |" for a, b in rows])


def _code_block(code: str, language: str = "python") -> str:
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code}\n{fence}"


# --- sections ----------------------------------------------------------------------------
def _how_it_works(authors: Sequence[Author], config: TrainConfig) -> str:
    steps = ["The tweets were collected and cleaned: retweets, links and tweets of fewer than three words were dropped."]
    if config.validation_fraction > 0:
        steps.append("A share of each author's distinct tweets was set aside to measure how well the model predicts tweets it never saw.")
    if config.tiny:
        steps.append("A small GPT-2 and its tokenizer were trained from scratch on the remaining tweets, each tweet followed by an end-of-text token.")
    else:
        steps.append("The base language model was fine-tuned to predict the next token of the remaining tweets, each tweet followed by an end-of-text token.")
    if len(authors) > 1:
        steps.append("Each author's tweets were repeated up to the largest author's count, so every voice weighs the same in the mix.")
    return (
        "The model learns what these tweets sound like, then writes new ones from a prompt.\n\n"
        + "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
        + "\n\nGiven the start of a sentence, it continues it one token at a time, sampling each next token "
        "from what it learned, until it writes the end-of-text token."
    )


def _training_data(authors: Sequence[Author], stats: Sequence[AuthorStats], metrics: dict) -> str:
    parts = [f"The model was trained on tweets by {_join([_author_md(a) for a in authors])}.", stats_table(list(stats))]
    contacts = _contacts(stats)
    if contacts:
        parts.append(contacts)
    held, train = metrics.get("eval_tweets"), metrics.get("train_tweets")
    if held == 0:
        parts.append(f"All {int(train or 0)} tweets kept were used for training: too few distinct tweets to hold any out, "
                     "so the held-out loss was not measured.")
    elif held is not None:
        sentence = f"Of the tweets kept, {int(held)} were held out to measure the loss"
        sentence += f" and {int(train)} were used for training." if train is not None else "."
        parts.append(sentence)
    return "\n\n".join(parts)


def _contacts(stats: Sequence[AuthorStats]) -> str:
    """What cleaning did with email addresses and phone numbers, when there is something to say."""
    if any(s.contacts == "kept" for s in stats):
        return ("Email addresses and phone numbers were left in the training text at the owner's request: "
                "the model may repeat them, so it is not meant to be shared.")
    masked = sum(s.contacts_masked for s in stats)
    if masked:
        return (f"Email addresses and phone numbers in {masked} of the tweets kept were replaced by {_code_span(EMAIL)} "
                f"and {_code_span(PHONE)} before training: the model never saw them.")
    return ""


def _machine_written(authors: Sequence[Author]) -> str:
    """The card's line, near the top, that says the model's posts are not the authors'."""
    handles = [_md(_handle(a)) for a in authors]
    whom = handles[0] if len(handles) == 1 else ", ".join(handles[:-1]) + " or " + handles[-1]
    return f"**Every post this model writes is machine-generated: written by a machine learning model, not by {whom}.**"


def _training_procedure(authors, config: TrainConfig, metrics: dict, wandb_url: Optional[str], voice: Optional[dict] = None) -> str:
    who = _md("@" + _slug(authors))
    if config.tiny:
        intro = (
            f"The model is {_base_model(config, metrics)} on {who}'s tweets, with a byte-level BPE tokenizer "
            "learned from the same tweets: it starts with no pre-trained knowledge."
        )
    else:
        how = " with LoRA adapters, merged into the weights on save" if config.lora else ""
        intro = f"The model is based on the pre-trained {_base_model(config, metrics)}, fine-tuned{how} on {who}'s tweets."
    parts = [intro]
    note = stopped_note(metrics)
    if note:
        parts.append(f"**This run was {note}**: it was interrupted before its end, so the model has had less training "
                     "than the settings below ask for. The same training command with `--resume` finishes it.")
    parts += ["Hyper-parameters:", _table(("Hyper-parameter", "Value"), hyperparameters(config, metrics))]
    rows = [(label, fmt(metrics[key])) for key, label, fmt in METRIC_ROWS if metrics.get(key) is not None]
    if rows:
        measured = metrics.get("eval_loss") is not None or metrics.get("eval_loss_before") is not None
        title = "Results (the held-out tweets were never trained on):" if measured else \
            "Results (no held-out loss: no tweet could be held out):"
        parts += [title, _table(("Metric", "Value"), rows)]
    parts.append(voice_block(voice))
    url = safe_url(wandb_url)
    if url:
        parts.append(f"Training was tracked in [this Weights & Biases run]({url}).")
    return "\n\n".join(parts)


# --- the voice score (voice.py), set again whenever it is measured --------------------------------
VOICE_START, VOICE_END = "<!-- huggingtweets:voice -->", "<!-- /huggingtweets:voice -->"
VOICE_HOW = (
    "How to read it: a simple style classifier (character and word n-grams) learned to tell the author's posts "
    "from what the untuned base model writes when shown a few of them. 100 means the model's posts pass as the "
    "author as often as the author's own held-out posts do; 0, as rarely as the base model's imitations. Near "
    "copies of training posts are left out and a fluency check turns word salad away. It measures style as that "
    "classifier sees it, not what a person would judge."
)


def voice_block(report: Optional[dict]) -> str:
    """The card's voice score paragraph (between markers, so ``with_voice`` can set it again)."""
    if report is None:
        body = "Voice score: not measured (`huggingtweets score FOLDER` measures it)."
    else:
        lines = []
        for a in report.get("authors", []):
            who = _md("@" + str(a.get("handle", "")).lstrip("@"))
            if a.get("score") is None:
                lines.append(f"Voice score of {who}: not measured: {_md(a.get('reason', ''))}")
            else:
                lines.append(
                    f"Voice score of {who}: **{float(a['score']):.0f}/100**: {int(a['passed'])} of {int(a['counted'])} posts "
                    f"written by the model pass as {who}; of the author's real held-out posts {100 * float(a['real_rate']):.0f}% "
                    f"pass, of the base model's imitations {100 * float(a['base_rate']):.0f}%.")
        measured = any(a.get("score") is not None for a in report.get("authors", []))
        body = "\n\n".join(lines + ([VOICE_HOW] if measured else []))
    return f"{VOICE_START}\n{body}\n{VOICE_END}"


def with_voice(text: str, report: Optional[dict]) -> str:
    """``text`` (a card) with its voice paragraph set to ``report``'s: replaced between the markers,
    else put at the end of "Training procedure" (a card written before the score existed)."""
    block = voice_block(report)
    start, end = text.find(VOICE_START), text.find(VOICE_END)
    if 0 <= start < end:
        return text[:start] + block + text[end + len(VOICE_END):]
    return _after_section(text, "Training procedure", block)


def set_card_voice(folder: str | Path, report: Optional[dict]) -> bool:
    """Set the voice paragraph of the folder's card and record the card in its manifest; False
    when there is no card to edit (deleted, or not UTF-8 text)."""
    return _edit_card(Path(folder), lambda text: with_voice(text, report))


def _how_to_use(model_id: str, voices: Sequence[str] = ()) -> str:
    lines = [
        "from transformers import pipeline",
        f"generator = pipeline('text-generation', model={model_id!r})",
        f"generator({json.dumps(PROMPT)}, num_return_sequences=5)",
    ]
    text = "Load the model in a text-generation pipeline and give it the start of a tweet:\n\n"
    if voices:
        lines.append(f"generator({json.dumps(voice_marker(voices[0]) + PROMPT)}, num_return_sequences=5)  # as one author")
        markers = _join([_code_span(voice_marker(v).strip()) for v in voices])
        text = ("Load the model in a text-generation pipeline and give it the start of a tweet. Each author is a voice "
                f"of its own: start the prompt with {markers} to write as that author, or leave the marker out for "
                "the blend (`huggingtweets generate FOLDER --author @handle` does the same):\n\n")
    return text + _code_block("\n".join(lines))


def _limitations(authors: Sequence[Author], config: TrainConfig, metrics: Optional[dict] = None) -> str:
    whose = "this author's" if len(authors) == 1 else "these authors'"
    if config.tiny:
        first = (
            "This is a very small model that learned language only from these tweets: expect odd grammar, "
            "lost context and phrases lifted straight from the training data."
        )
    else:
        first = (
            f"The model keeps the limitations and biases of its base model, {_base_model(config, metrics)} "
            "(see that model's card): it can write false, offensive or nonsensical text."
        )
    return "\n\n".join(
        [
            first,
            f"It also carries whatever is in {whose} tweets: their opinions, topics, slang and blind spots, "
            "sometimes exaggerated. Its tweets are not the author's words and should not be presented as such.",
            "With few tweets to learn from, a generated tweet can repeat a training tweet almost word for word. "
            "huggingtweets flags generated tweets that are near-copies of a training tweet: check them before sharing.",
        ]
    )


def _about() -> str:
    return (
        "Made with huggingtweets, an open-source tool that turns someone's tweets into a language model "
        "that writes like them."
    )


# A model fine-tuned from Gemma is a "Model Derivative" under the Gemma Terms of Use (section 3.1):
# it says it was modified, names the terms and their use restrictions, and carries NOTICE and the terms.
GEMMA_TERMS_PARAGRAPH = (
    f"**Terms of use.** This model was fine-tuned (modified) from Google's Gemma 3 270M ({GEMMA3_HUB}) and is "
    "provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms, including the use "
    "restrictions of its section 3.2 and the Gemma Prohibited Use Policy (ai.google.dev/gemma/prohibited_use_policy), "
    "which bind anyone who uses or shares it. `NOTICE` and `GEMMA_TERMS.html` in this folder go with every copy."
)


# --- public API ------------------------------------------------------------------------------
def render_card(
    authors: list[Author],
    stats: list[AuthorStats],
    config: TrainConfig,
    metrics: dict,
    model_id: str,
    wandb_url: Optional[str] = None,
    thumbnail: str = "",
    voice: Optional[dict] = None,
) -> str:
    """The model card as Markdown text. ``model_id`` is what the "How to use" snippet loads;
    ``voice``: the voice report (``voice.VoiceReport.to_dict()``), when measured."""
    if not authors:
        raise HuggingTweetsError("A model card needs at least one author.")
    if len(stats) != len(authors):
        raise HuggingTweetsError(f"Got {len(authors)} author(s) but {len(stats)} stats column(s): give one per author.")
    metrics = dict(metrics or {})
    gemma = str(metrics.get("base_model") or config.model) in (GEMMA3_HUB, GEMMA3)
    spoken = main_language(combine((s.languages, s.characters) for s in stats)) or "en"
    front = "\n".join(
        [
            "---",
            f"language: {spoken}",
            *(["license: gemma", f"base_model: {GEMMA3_HUB}"] if gemma else []),
            f"thumbnail: {_yaml_scalar(thumbnail)}".rstrip(),
            "tags:",
            "- huggingtweets",
            "widget:",
            f"- text: {json.dumps(PROMPT)}",
            "library_name: transformers",
            "pipeline_tag: text-generation",
            "---",
        ]
    )
    names = _join([_md(a.name) for a in authors])
    intro = f"A language model trained on the tweets of {names}. It writes new tweets in their voice."
    bodies = [
        _how_it_works(authors, config),
        _training_data(authors, stats, metrics),
        _training_procedure(authors, config, metrics, wandb_url, voice),
        _how_to_use(str(model_id), metrics.get("voices") or []),
        _limitations(authors, config, metrics),
        _about(),
    ]
    sections = [f"## {title}\n\n{body}" for title, body in zip(SECTIONS, bodies)]
    terms = [GEMMA_TERMS_PARAGRAPH] if gemma else []
    return "\n\n".join([front, _header(authors), intro, _machine_written(authors), *terms, *sections]) + "\n"


def write_card(
    folder: str | Path,
    authors: list[Author],
    stats: list[AuthorStats],
    config: TrainConfig,
    metrics: dict,
    model_id: str,
    wandb_url: Optional[str] = None,
    thumbnail: str = "",
) -> Path:
    """Render the card and write ``folder/README.md`` atomically."""
    text = render_card(authors, stats, config, metrics, model_id, wandb_url, thumbnail)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(folder / CARD_FILE, text)


__all__ = ["render_card", "write_card", "retarget_card", "hyperparameters", "safe_url", "add_local_run"]


def retarget_card(text: str, model_id: str, thumbnail: Optional[str] = None, voices: Sequence[str] = ()) -> str:
    """The same card for another copy of the model: its "How to use" snippet loads ``model_id``
    (``voices``: the model's voice markers, as the folder's metrics name them) and, when
    ``thumbnail`` is given, its front matter's ``thumbnail`` is that URL or path.

    For the copies that are pushed to the Hub or packed in a zip; the README.md in the model
    folder keeps naming the folder. Parts a user has removed from the card are left as they are.
    """
    front = re.match(r"---\n(.*?\n)---\n", text, re.S)
    if front and thumbnail is not None:
        line = f"thumbnail: {_yaml_scalar(thumbnail)}".rstrip()
        lines = front.group(1).splitlines()
        if any(old.startswith("thumbnail:") for old in lines):
            lines = [line if old.startswith("thumbnail:") else old for old in lines]
        else:  # where render_card puts it: after "language:"
            lines.insert(1 if lines and lines[0].startswith("language:") else 0, line)
        text = "---\n" + "\n".join(lines) + "\n---\n" + text[front.end():]
    return _set_section(text, "How to use", _how_to_use(str(model_id), voices)) or text



def _set_section(text: str, title: str, body: str) -> Optional[str]:
    """``text`` with the body of its "## title" section (up to the next section or the end) set
    to ``body``; None when it has no such section."""
    head = f"## {title}\n\n"
    start = text.find(head)
    if start < 0:
        return None
    begin = start + len(head)
    end = text.find("\n\n## ", begin)
    end = len(text.rstrip("\n")) if end < 0 else end
    return text[:begin] + body + text[end:]


def _after_section(text: str, title: str, block: str) -> str:
    """``text`` with ``block`` put at the end of its "## title" section (before the next one),
    else at the end of the text."""
    start = text.find(f"## {title}\n\n")
    end = text.find("\n\n## ", start + 1) if start >= 0 else -1
    if end < 0:
        return text.rstrip("\n") + f"\n\n{block}\n"
    return text[:end] + f"\n\n{block}" + text[end:]


# --- after a GGUF export ---------------------------------------------------------------------
def _local_run(folder_name: str, name: str, gguf_file: str, modelfile: str, quantize: str, max_new_tokens: int, named: bool) -> str:
    """Commands that make the GGUF copy again and run it with Ollama or llama.cpp: true for the
    folder's card, the zipped one and the pushed one alike (the GGUF is in none of them)."""
    export = f"huggingtweets export {shlex.quote(folder_name)}{' ' + shlex.quote(gguf_file) if named else ''} --format gguf"
    commands = "\n".join(
        [
            export + (f" --quantize {quantize}" if quantize != "f16" else ""),
            f"ollama create {shlex.quote(name)} -f {shlex.quote(modelfile)}",
            f"ollama run {shlex.quote(name)} {shlex.quote(PROMPT)}",
            f"llama-completion -m {shlex.quote(gguf_file)} -p {shlex.quote(PROMPT)} -n {int(max_new_tokens)}",
        ]
    )
    return (
        f"The model was also exported to GGUF ({_md(gguf_file)}, {_md(quantize)}) with an Ollama Modelfile "
        f"({_md(modelfile)}), beside the model folder and not part of it. Either runs it on a laptop without "
        "Python: the Modelfile carries the model's sampling settings and stops at the end-of-text token, and "
        "llama.cpp reads the same settings from the GGUF file (`llama-completion` is llama.cpp's plain "
        "completion tool, called `llama-cli` before December 2025).\n\n" + _code_block(commands, "bash")
    )


def with_local_run(text: str, body: str) -> str:
    """``text`` with its "Run it locally" section set to ``body``: replaced where there is one,
    else put after "How to use" (before the next section), else at the end."""
    replaced = _set_section(text, LOCAL_RUN, body)
    if replaced is not None:
        return replaced
    return _after_section(text, "How to use", f"## {LOCAL_RUN}\n\n{body}")


def add_local_run(
    folder: str | Path, name: str, gguf_file: str, modelfile: str, quantize: str, max_new_tokens: int, named: bool = False
) -> bool:
    """Add (or update) the "Run it locally" section of the folder's card after a GGUF export,
    and record the new card in the folder's manifest. ``named``: the GGUF is not the default
    ``FOLDER.gguf``, so the export command names it. False when there is no card to edit
    (deleted, or not UTF-8 text): the export stands without it."""
    folder = Path(folder)
    body = _local_run(folder.name, name, gguf_file, modelfile, quantize, max_new_tokens, named)
    return _edit_card(folder, lambda text: with_local_run(text, body))


def _edit_card(folder: Path, edit) -> bool:
    """Rewrite the folder's card with ``edit(text)`` and record it in the manifest; False when
    there is no card to edit (deleted, too large, or not UTF-8 text)."""
    path = folder / CARD_FILE
    limit = cap(CARD_FILE)  # a card is a few KB
    try:
        with open_nofollow(path) as f:
            raw = f.read(limit + 1)
        text = raw.decode("utf-8") if len(raw) <= limit else None
    except (HuggingTweetsError, UnicodeDecodeError):
        return False
    if text is None:
        return False
    atomic_write_text(path, edit(text))
    record_edit(folder, CARD_FILE)
    return True
