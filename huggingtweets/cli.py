"""The ``huggingtweets`` command: a thin shell over the library (parse, call, print).

Every command calls the same functions as the notebook. A ``HuggingTweetsError``
becomes one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Optional, Sequence

from .diskio import size_text
from .errors import Elsewhere, HuggingTweetsError
from .names import visible
from .quiet import quiet_libraries

MAX_SHOWN = 3  # tweets shown per author by `data`

# What a terminal acts on rather than shows: C0 controls (ESC opens colour and cursor
# sequences), DEL, C1 controls (U+009B is a one-character CSI) and lone surrogates (not
# printable as UTF-8) become U+FFFD; bidi overrides, isolates and zero-width spaces, which reorder
# or hide what follows on screen, are dropped (names.visible).
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def shown(text, keep_lines: bool = False) -> str:
    """User text (tweets, names, handles, paths, messages) fit for a terminal: whitespace
    folded to one line (or to its own lines with ``keep_lines``), nothing a terminal obeys.
    Every CLI print of text that came from a user, a file or the network goes through it."""
    lines = str(text).split("\n") if keep_lines else [str(text)]
    return "\n".join(_UNSHOWABLE.sub("\ufffd", visible(" ".join(line.split()))) for line in lines)


def _json_out(value) -> str:
    """JSON for stdout: json escapes C0 controls itself; DEL, C1, bidi controls and lone
    surrogates (legal only inside strings) become \\uXXXX escapes, still the same JSON value."""
    text = json.dumps(value, ensure_ascii=False)
    return re.sub("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text)


class TqdmProgress:
    """Adapts the library's ``progress(done, total, message)`` callbacks to a tqdm bar on stderr."""

    def __init__(self):
        self.bar = None  # sources count tweets or files: the message says which

    def __call__(self, done: int, total: Optional[int], message: str = "") -> None:
        from tqdm.auto import tqdm

        if self.bar is None or (total is not None and self.bar.total != total):
            self.close()
            self.bar = tqdm(total=total, unit="", file=sys.stderr, dynamic_ncols=True, leave=False)
        self.bar.n = done
        if message:  # messages name files and handles: user text
            self.bar.set_description_str(shown(message)[:60], refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _fetch_options(args):
    from .workflow import FetchOptions

    return FetchOptions(
        exclude_retweets=args.exclude_retweets,
        exclude_replies=args.exclude_replies,
        cache_dir=args.cache_dir,
        refresh=args.refresh,
        author=getattr(args, "author", None),
    )


def _add_source_args(p: argparse.ArgumentParser) -> None:
    from .workflow import KEEP_CONTACTS_HELP, source_kinds

    handles = ", ".join(k.example for k in source_kinds() if k.match_text and k.example)
    files = "; ".join(f"{k.label} ({k.takes})" for k in source_kinds() if k.match_path)
    p.add_argument("sources", nargs="*", metavar="SOURCE",
                   help=f"up to three: a handle or profile URL ({handles}), or a file: {files}".replace("%", "%%"))
    p.add_argument("--sample", action="store_true", help="use the bundled sample archive (a fictional account)")
    p.add_argument("--exclude-retweets", action="store_true", help="leave out retweets, reposts and boosts (not downloaded where the network can filter them)")
    p.add_argument("--exclude-replies", action="store_true", help="do not download or keep replies")
    p.add_argument("--cache-dir", metavar="DIR", help="where downloads are cached (default ~/.cache/huggingtweets)")
    p.add_argument("--refresh", action="store_true", help="look profiles up again, and where a network bills per post, also download posts newer than the cache holds (free networks always ask for newer posts)")
    p.add_argument("--author", metavar="HANDLE", help="the author's handle for a file that does not name one: a text/CSV/JSONL file (default: its file name) or an export without a handle")
    p.add_argument("--keep-contacts", action="store_true", help=f"{KEEP_CONTACTS_HELP}; by default they become [email] and [phone]")


def _load_dataset(args, require_enough: bool):
    from .workflow import fetch, prepare

    progress = TqdmProgress()
    try:
        raw = fetch(args.sources, _fetch_options(args), sample=args.sample, progress=progress)
    finally:
        progress.close()
    return prepare(raw, require_enough=require_enough, keep_contacts=args.keep_contacts)


def cmd_data(args) -> int:
    from .errors import NotEnoughTweets
    from .workflow import check_enough, check_folder, language_shares, stats_table

    if args.out:
        check_folder(args.out, "--out")  # before anything is downloaded
    dataset = _load_dataset(args, require_enough=False)
    problems: list[str] = list(dataset.warnings)
    try:
        problems += check_enough(dataset.stats)
    except NotEnoughTweets as err:
        if args.out:
            raise
        problems.append(str(err))
    if args.out:
        path = dataset.save(args.out)
    for line in problems:
        print(f"warning: {shown(line)}", file=sys.stderr)
    if args.json:
        out = {"authors": [{**{k: getattr(s, k) for k in ("handle", "name", "downloaded", "retweets", "short", "kept", "contacts_masked")},
                            "languages": dict(language_shares(s.languages))} for s in dataset.stats]}
        print(_json_out(out))
        return 0
    print(shown(stats_table(dataset.stats), keep_lines=True))
    for a in dataset.authors:
        print(f"\n@{shown(a.author.handle)} ({shown(a.author.name)}):")
        for text in (a.train + a.valid)[:MAX_SHOWN]:
            print(f"  - {shown(text)}")
    if args.out:
        print(f"\nDataset saved to {shown(path)}")
    return 0


# --- train ------------------------------------------------------------------------
class TqdmTraining:
    """A ``TrainCallback`` that drives one tqdm bar: step, epoch, loss and ETA."""

    def __init__(self):
        self.bar = None
        self.after = None  # the bar of the work after training

    def on_begin(self, state):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=state.max_steps, initial=state.step, unit="step", file=sys.stderr, dynamic_ncols=True)

    def _post(self, state):
        if self.bar is None:
            return
        self.bar.n = state.step
        parts = {"epoch": f"{state.epoch:.2f}"}
        if state.loss is not None:
            parts["loss"] = f"{state.loss:.3f}"
        if state.eval_loss is not None:
            parts["held-out"] = f"{state.eval_loss:.3f}"
        self.bar.set_postfix(parts, refresh=False)
        self.bar.refresh()

    def on_step(self, state):
        self._post(state)

    def on_log(self, state, logs):
        self._post(state)

    def on_evaluate(self, state, metrics):
        self._post(state)

    def on_save(self, state, checkpoint):
        pass

    def on_end(self, state):
        self.close()

    def on_progress(self, done, total, message):
        """Work after the steps (the voice score): a bar of its own."""
        self.close()
        if self.after is None:
            self.after = TqdmProgress()
        self.after(done, total, message)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.after is not None and self.bar is None:
            self.after.close()


# Config fields whose flag differs from the field's name.
FLAG_NAMES = {"output_dir": "--output", "n": "--num"}
SHORT_FLAGS = {"n": "-n"}


def _add_dataclass_args(p: argparse.ArgumentParser, cls, skip: Sequence[str] = ()) -> None:
    """One flag per field of ``cls`` (``--learning-rate`` for ``learning_rate``), help from the
    field's metadata, every default None so that "not given" can be told from a value."""
    import dataclasses
    import typing

    from .config import field_help

    helps = {name: text.replace("%", "%%") for name, text in field_help(cls).items()}  # argparse formats help with %
    hints = typing.get_type_hints(cls)
    defaults = cls()
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flags = [SHORT_FLAGS[f.name]] if f.name in SHORT_FLAGS else []
        flags.append(FLAG_NAMES.get(f.name, "--" + f.name.replace("_", "-")))
        default = getattr(defaults, f.name)
        kind = hints[f.name]
        base = next((a for a in typing.get_args(kind) if a is not type(None)), kind)
        if kind is bool and default:  # on unless turned off: --keep-best / --no-keep-best
            p.add_argument(*flags, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=f"{helps[f.name]} (default: on)")
        elif kind is bool:
            p.add_argument(*flags, dest=f.name, action="store_true", default=None, help=f"{helps[f.name]} (default: off)")
        elif typing.get_origin(base) is list:
            p.add_argument(*flags, dest=f.name, nargs="+", metavar="NAME", help=f"{helps[f.name]}")
        else:
            p.add_argument(*flags, dest=f.name, type=_value_of(base), metavar=f.name.split("_")[-1].upper(), help=f"{helps[f.name]} (default: {default})")


def _value_of(kind):
    """argparse type for a field of type ``kind``: a whole number for ints, a finite number for
    floats (inf and nan are refused), the text itself for strings; the error says which."""
    if kind is not int and kind is not float:
        return kind

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:  # also int() of more than 4,300 digits
            raise argparse.ArgumentTypeError(f"must be {'a whole number' if kind is int else 'a number'}, got {text[:40]!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text[:40]!r}")
        return value

    return parse


def _given(args, cls) -> dict:
    import dataclasses

    return {f.name: getattr(args, f.name, None) for f in dataclasses.fields(cls) if getattr(args, f.name, None) is not None}


def _train_config(args):
    from .config import PRESETS, TrainConfig
    from .workflow import resume_config

    given = _given(args, TrainConfig)
    if args.resume:
        if args.config:  # the original command's file: fine_tune refuses any setting that would change the run
            given = {**TrainConfig.load(args.config).to_dict(), **given}
        return resume_config(given.pop("output_dir", TrainConfig().output_dir), **given)
    preset = PRESETS[args.preset] if getattr(args, "preset", None) else {}
    base = TrainConfig.load(args.config) if args.config else TrainConfig()
    file_fields = _chosen(args) - set(given)
    return base.replace(**{k: v for k, v in preset.items() if k not in file_fields}).replace(**given)


def _say(line: str) -> None:
    """A line on stderr at once, above any progress bar."""
    from tqdm.auto import tqdm

    tqdm.write(shown(line), file=sys.stderr)


def cmd_train(args) -> int:
    from .workflow import is_main, on_main, train

    # Under torchrun or accelerate launch the main process alone checks, downloads and
    # prints; the others get its dataset (or its refusal) and train beside it.
    config, dataset = on_main(lambda: _train_inputs(args))
    if not is_main():
        result = train(config, dataset, resume=args.resume, overwrite=args.overwrite)
        return _exit_code(result)
    for line in dataset.warnings if dataset else ():
        print(f"warning: {shown(line)}", file=sys.stderr)
    if dataset is not None:
        _say_estimate(config, dataset, getattr(args, "preset", None))
    bar = TqdmTraining()
    try:
        result = train(config, dataset, callbacks=[bar], resume=args.resume, overwrite=args.overwrite, said=_say,
                       origin=None if args.resume else _origin(args))
    finally:
        bar.close()
    _print_result(result, _resume_command(args))
    return _exit_code(result)


def _say_estimate(config, dataset, preset: Optional[str] = None) -> None:
    """The run's estimated time, before any long work (a probe of a few steps when this machine
    has not trained these settings yet)."""
    from .workflow import estimate_time

    if config.model == "tiny":
        return  # built during the run, and quick
    print("Estimating the training time (a few steps)...", file=sys.stderr, flush=True)
    found = estimate_time(config, dataset)
    if found is not None:
        offer = found.offer(preset or "best")
        print(shown(found.line() + (f" {offer[:-1]}: add --preset quick." if offer else "")), file=sys.stderr, flush=True)


# What a run's data came from, as typed: kept with the run, so the same command plus --resume
# can be told apart from one that names other sources (SOURCE words and the flags that change the tweets).
ORIGIN_FLAGS = {"sample": "--sample", "keep_contacts": "--keep-contacts", "exclude_retweets": "--exclude-retweets",
                "exclude_replies": "--exclude-replies", "author": "--author"}


def _origin(args) -> dict:
    return {"sources": list(args.sources), **{name: getattr(args, name, None) for name in ORIGIN_FLAGS}}


def _resume_command(args) -> str:
    """The command that finishes this run: the one typed, plus --resume."""
    import shlex

    typed = list(getattr(args, "argv", None) or ["train", "--output", str(getattr(args, "output_dir", None) or "huggingtweets-model")])
    typed = [word for word in typed if word != "--overwrite"]  # the run to finish is the one it made
    return shlex.join(["huggingtweets", *typed, *([] if "--resume" in typed else ["--resume"])])


def _check_resume_sources(args, output: str) -> None:
    """The original command plus --resume: its sources must be the saved run's (it trains on the
    tweets saved then, and downloads nothing); other ones are one line naming what differs."""
    from .workflow import saved_origin

    given = _origin(args)
    typed = (["the sources"] if args.sources else []) + [flag for name, flag in ORIGIN_FLAGS.items() if given[name]]
    if not typed:
        return  # --resume alone: the saved run as it was
    saved = saved_origin(output)
    if saved is None:
        raise HuggingTweetsError(f"--resume trains on the run's saved tweets, and this run did not record what it was started "
                                 f"with: drop {' and '.join(typed)}.")
    differ = []
    if saved.get("sources") != given["sources"]:
        differ.append(f"sources ({' '.join(given['sources']) or 'none'} here, {' '.join(saved.get('sources') or []) or 'none'} in the run)")
    differ += [ORIGIN_FLAGS[name] for name in ORIGIN_FLAGS if (saved.get(name) or None) != (given[name] or None)]
    if differ:
        raise HuggingTweetsError(f"--resume continues the run in {output} on the tweets it saved, and these differ from it: "
                                 f"{'; '.join(differ)}. Give the original command, or --resume alone, or start over with --overwrite.")


def _chosen(args) -> set:
    """The TrainConfig fields a person set: by flag, or in the --config file."""
    from .config import TrainConfig

    names = set(_given(args, TrainConfig))
    if args.config:
        try:
            names |= set(json.loads(Path(args.config).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            pass  # TrainConfig.load has refused it already, in its own words
    return names


def _train_inputs(args):
    """The run's config and dataset, every check made before any download or write."""
    from .workflow import fetch, model_language_note, preflight, prepare, with_model_recipe

    config = _train_config(args)
    if args.resume:
        _check_resume_sources(args, config.output_dir)
    progress = TqdmProgress()
    try:
        preflight(config, resume=args.resume, overwrite=args.overwrite, progress=progress)  # before any (paid) download or write
        dataset = None if args.resume else prepare(fetch(args.sources, _fetch_options(args), sample=args.sample, progress=progress),
                                                   keep_contacts=args.keep_contacts)
        note = model_language_note(config.model, dataset)
        if note:
            dataset.warnings.append(note)
        if dataset is not None:  # the model's own recipe (Gemma 3: one epoch), where no flag or file set it
            config = with_model_recipe(config, dataset, _chosen(args))
    finally:
        progress.close()
    return config, dataset


# A run stopped before its end (Ctrl-C, SIGTERM) exits as an interrupted command does, so
# `train && push` does not push a half-trained model and a scheduler knows to run it again.
STOPPED_EXIT = 130


def _exit_code(result) -> int:
    return STOPPED_EXIT if result.stopped else 0


def _print_result(result, resume_command: str = "") -> None:
    from .folder import stopped_note

    m = result.metrics
    where = shown(result.output_dir)
    if result.stopped:
        finish = f"run: {shown(resume_command)}" if resume_command else f"add --resume (with --output {where})"
        print(f"{(stopped_note(m) or 'stopped').capitalize()}, saved in {where}. To finish it, {finish}", file=sys.stderr)
    if m.get("eval_tweets") == 0:
        from .workflow import NO_HELD_OUT

        print(f"warning: {NO_HELD_OUT}", file=sys.stderr)
    if "eval_loss" in m:
        print(f"Held-out loss {m['eval_loss_before']:.3f} -> {m['eval_loss']:.3f} (perplexity {m['perplexity']:.1f}) after {m['global_step']} steps.")
    _print_voice(result.voice)
    if result.wandb_url:
        print(f"W&B run: {shown(result.wandb_url)}")
    print(f"Model saved to {where}")


def _print_voice(report) -> None:
    """The voice score's line per author (voice.py), when it was measured or said why not."""
    from .workflow import voice_lines

    for line in voice_lines(report):
        print(shown(line))


# --- generate ----------------------------------------------------------------------
def _sampling_config(args, prompt: Optional[str]):
    from .config import SamplingConfig

    return SamplingConfig().replace(**{**_given(args, SamplingConfig), "prompt": prompt})


def _print_tweets(tweets) -> None:
    for i, t in enumerate(tweets, 1):  # a model can write any byte: its text is user text too
        if t.near_copy:
            flag = f"  [near-copy {t.similarity:.2f} of: {shown(t.nearest)}]"
        else:
            notes = [f"nearest similarity {t.similarity:.2f}"]
            if t.voice is not None:
                who = f"@{shown(t.author.lstrip('@'))}" if t.author else "the author"
                notes.append(f"voice {t.voice}: {'passes' if t.passes else 'does not pass'} as {who}")
            flag = f"  ({'; '.join(notes)})"
        print(f"{i}. {shown(t.text)}\n{flag}")


def cmd_generate(args) -> int:
    from .workflow import Generators

    sampling = _sampling_config(args, args.prompt)  # a bad setting is refused before the model loads
    models = Generators()
    generator = models.get(args.folder)
    for note in generator.notes:
        print(f"note: {shown(note)}", file=sys.stderr)
    tweets = generator.generate(sampling)
    if not args.no_voice:
        progress = TqdmProgress()
        try:
            tweets = models.judge(args.folder, tweets, progress)
        finally:
            progress.close()
    if args.json:
        print(_json_out([t.to_dict() for t in tweets]))
    else:
        _print_tweets(tweets)
    return 0


def cmd_score(args) -> int:
    from .workflow import score

    progress = TqdmProgress()
    try:
        report = score(args.folder, progress)
    finally:
        progress.close()
    if args.json:
        print(_json_out(report))
    else:
        _print_voice(report)
    return 0


# --- demo --------------------------------------------------------------------------
def cmd_demo(args) -> int:
    from .config import SamplingConfig
    from .folder import ModelFolder
    from .workflow import demo_config, fetch, generate, preflight, prepare, train

    config = demo_config(tiny=args.tiny, output_dir=args.output)
    folder = ModelFolder(config.output_dir)
    # The demo's own earlier output is replaced; anything else in the folder is refused by training.
    overwrite = folder.has_model() or folder.has_run() or folder.incomplete()
    print("1/3 Reading the bundled sample archive (a fictional account)...", file=sys.stderr)
    dataset = prepare(fetch([], sample=True))
    s = dataset.stats[0]
    print(f"    @{shown(s.handle)}: {s.downloaded} downloaded, {s.retweets} retweets, {s.short} short, {s.kept} kept", file=sys.stderr)
    what = "the tiny model (from scratch)" if args.tiny else f"the pretrained {config.model}"
    print(f"2/3 Fine-tuning {what} on the CPU...", file=sys.stderr)
    progress = TqdmProgress()
    try:
        preflight(config, overwrite=overwrite, progress=progress)  # the offline model is converted once, with progress
    finally:
        progress.close()
    bar = TqdmTraining()
    try:
        result = train(config, dataset, callbacks=[bar], overwrite=overwrite)
    finally:
        bar.close()
    _print_result(result)
    print("3/3 Generating 5 tweets for \"My dream is\":", file=sys.stderr)
    _print_tweets(generate(result.output_dir, SamplingConfig(prompt="My dream is", n=5, seed=args.seed)))
    where = shown(result.output_dir)
    print(f"\nThe model folder is {where} (model card: {where}/README.md).")
    print(f"Try: huggingtweets generate {where} \"Today's loaf\"")
    return _exit_code(result)


# --- push, export -------------------------------------------------------------------
def _size(path) -> str:
    return size_text(os.path.getsize(path))


def _say_if_stopped(folder) -> None:
    from .folder import ModelFolder

    line = ModelFolder(folder).stopped_line()
    if line:
        print(f"note: {shown(line)}", file=sys.stderr)


def cmd_push(args) -> int:
    from .workflow import push_to_hub

    # The token comes from HF_TOKEN, a Colab secret or `hf auth login`: never a flag (shell history).
    _say_if_stopped(args.folder)
    result = push_to_hub(args.folder, args.repo_id, private=args.private, include_dataset=args.include_dataset, overwrite=args.overwrite)
    print(f"Pushed {len(result.files)} files to {result.url}{' (private)' if args.private else ''}")
    if result.removed:
        print(f"Removed from the repo: {', '.join(result.removed)} (an earlier push sent the tweets; --include-dataset shares them)")
    return 0


def _export_zip(args) -> int:
    from .workflow import export_zip

    if args.quantize:
        raise HuggingTweetsError("--quantize is for --format gguf: a zip holds the weights as they were saved.")
    path = export_zip(args.folder, args.out, overwrite=args.overwrite, include_dataset=args.include_dataset)
    print(f"Wrote {path} ({_size(path)}): unzip it and load the folder inside with pipeline('text-generation', model=...)")
    return 0


def _export_gguf(args) -> int:
    from .workflow import export_gguf

    if args.include_dataset:
        raise HuggingTweetsError("--include-dataset is for --format zip: a GGUF file holds the model and its tokenizer only.")
    bar = TqdmProgress()
    try:
        result = export_gguf(args.folder, args.out, quantize=args.quantize or "f16", overwrite=args.overwrite, progress=bar)
    finally:
        bar.close()
    print(
        f"Wrote {shown(result.gguf)} ({size_text(result.size)}, {result.quantize}) and {shown(result.modelfile.name)} "
        f"in {result.seconds:.1f} s: ollama create {shown(result.name)} -f {shown(result.modelfile)}"
    )
    return 0


EXPORTS = {"zip": _export_zip, "gguf": _export_gguf}  # --format: one line per kind of export


def cmd_export(args) -> int:
    _say_if_stopped(args.folder)
    return EXPORTS[args.format](args)


class _Parser(argparse.ArgumentParser):
    """argparse with every usage error as one line on stderr, exit code 2: what is wrong and
    where the help is (subcommands are built with the same class)."""

    def error(self, message: str):
        self.exit(2, f"error: {shown(message)} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from .config import PRESET_TRADES, PRESETS, SamplingConfig, TrainConfig

    parser = _Parser(prog="huggingtweets", description="Turn someone's tweets into a language model that writes like them.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("data", help="download, clean and count tweets; optionally save the dataset")
    _add_source_args(p)
    p.add_argument("--out", metavar="DIR", help="save the dataset (dataset.json) to DIR")
    p.add_argument("--json", action="store_true", help="print the counts as JSON on stdout and nothing else there")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("train", help="fine-tune a model on the sources' tweets (flags map to TrainConfig fields)")
    _add_source_args(p)
    _add_dataclass_args(p, TrainConfig)
    p.add_argument("--config", metavar="FILE.json", help="a TrainConfig JSON file; flags override it")
    trades = "; ".join(f"{k}: {v}" for k, v in PRESET_TRADES.items())
    p.add_argument("--preset", choices=list(PRESETS), help=f"{trades} (a --config file and flags override it)".replace("%", "%%"))
    p.add_argument("--resume", action="store_true", help="continue the unfinished run in --output with its own settings and tweets")
    p.add_argument("--overwrite", action="store_true", help="replace the model (or unfinished run) in --output; it stays until the new one is saved")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("generate", help="generate tweets with a trained model folder")
    p.add_argument("folder", metavar="DIR", help="a model folder written by 'huggingtweets train'")
    p.add_argument("prompt", nargs="?", default=None, metavar="PROMPT", help='the start of the tweet (default: "My dream is")')
    _add_dataclass_args(p, SamplingConfig, skip=("prompt",))
    p.add_argument("--json", action="store_true", help='print [{"text", "nearest", "similarity", "near_copy", "author", "voice", "passes"}, ...]')
    p.add_argument("--no-voice", action="store_true", help="do not judge each post's voice (which loads the base model; only for a folder whose voice was scored)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("score", help="measure (again) the voice score of a model folder: do its posts read as the author's?")
    p.add_argument("folder", metavar="DIR", help="a model folder written by 'huggingtweets train'")
    p.add_argument("--json", action="store_true", help="print the voice report as JSON on stdout and nothing else there")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("demo", help="offline end to end: the sample, the pretrained smollm2-135m, 5 tweets")
    p.add_argument("--output", default="huggingtweets-demo", metavar="DIR", help="model folder (default: ./huggingtweets-demo)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    p.add_argument("--tiny", action="store_true", help="the tiny model from scratch instead: under a minute, but word salad")
    p.set_defaults(func=cmd_demo)

    dataset_help = "also share dataset.json: the cleaned tweets, which can be personal (default: left out)"
    p = sub.add_parser("push", help="upload a model folder to the Hugging Face Hub (token: HF_TOKEN or `hf auth login`)")
    p.add_argument("folder", metavar="DIR", help="a model folder written by 'huggingtweets train'")
    p.add_argument("repo_id", metavar="REPO_ID", help="NAME (under the token's account) or NAMESPACE/NAME")
    p.add_argument("--private", action="store_true", help="make a new repo private (an existing public one is refused)")
    p.add_argument("--include-dataset", action="store_true", help=dataset_help)
    p.add_argument("--overwrite", action="store_true", help="replace what a repo that already holds files has (refused without it)")
    p.set_defaults(func=cmd_push)

    p = sub.add_parser("export", help="pack a model folder into one zip, or one GGUF file for Ollama and llama.cpp (never checkpoints)")
    p.add_argument("folder", metavar="DIR", help="a model folder written by 'huggingtweets train'")
    p.add_argument("out", nargs="?", default=None, metavar="OUT",
                   help="the file to write, outside DIR (default: DIR.zip or DIR.gguf beside DIR); a zip unpacks to a folder "
                        "named like DIR, a GGUF gets an Ollama Modelfile beside it (OUT with .Modelfile for .gguf)")
    p.add_argument("--format", choices=list(EXPORTS), default="zip", help="zip: the model folder's files (default); gguf: one file for llama.cpp, Ollama, LM Studio")
    p.add_argument("--quantize", metavar="TYPE", default=None, help="GGUF weights: f16 (default; half the saved fp32 size) or q8_0 (a quarter)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT (and its Modelfile) if it exists")
    p.add_argument("--include-dataset", action="store_true", help=dataset_help + " (zip only)")
    p.set_defaults(func=cmd_export)
    return parser


def _replace_unprintable() -> None:
    """A terminal that is not UTF-8 shows '?' for what it cannot print instead of a traceback."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError, OSError):  # not a text stream we may change
            pass


def _parse(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """``parse_args``, except that export's optional OUT may also come after the options
    (``export DIR --format gguf OUT``), which argparse alone does not take."""
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "func", None) is cmd_export and args.out is None and len(extra) == 1 and not extra[0].startswith("-"):
        args.out = extra[0]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _interrupted(command) -> str:
    """What a Ctrl-C left behind, in the words of the command it stopped."""
    if command is cmd_export:
        return "nothing was written (an export replaces its file only once it is whole)."
    if command is cmd_push:
        return "a push sends one commit, so the repo has all of this model or none of it: push again to be sure."
    if command in (cmd_generate, cmd_score):
        return "nothing was changed."
    return "downloads so far are kept in the cache, run the same command again to continue."


def main(argv: Optional[Sequence[str]] = None) -> int:
    _replace_unprintable()
    parser = build_parser()
    args = _parse(parser, argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # as typed: the stop message repeats it with --resume
    quiet_libraries()
    try:
        return args.func(args)
    except Elsewhere:  # under a launcher, the main process has said what went wrong
        return 1
    except HuggingTweetsError as err:
        print(f"error: {shown(err)}", file=sys.stderr)
        return 1
    except OSError as err:  # the machine, not the input: a full disk, a folder we may not write
        where = f" ({shown(err.filename)})" if err.filename else ""
        print(f"error: {shown(err.strerror or err)}{where}: check the path, its permissions and the free space, then run again.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"error: interrupted; {_interrupted(args.func)}", file=sys.stderr)
        return 130
    except (RuntimeError, MemoryError) as err:  # torch reports running out of GPU or CPU memory this way
        if not isinstance(err, MemoryError) and "out of memory" not in str(err).lower():
            raise
        print(
            "error: out of memory: lower --batch-size or --block-size, add --gradient-checkpointing or --lora, "
            "or choose a smaller --model (checkpoints so far are kept: --resume continues).",
            file=sys.stderr,
        )
        return 1
