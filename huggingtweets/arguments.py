"""What the ``train`` command's words mean: its flags (one per config field, from the
dataclasses), its sources, and the config, tweets and origin they make. The CLI's ``train``
and every line of a batch (batch_line.py) read the same words through these, so a line of a batch
file is exactly what ``train`` takes and means what ``train`` would.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Callable, Optional, Sequence

from .errors import HuggingTweetsError

Progress = Callable[[int, Optional[int], str], None]


def fetch_options(args):
    from .workflow import FetchOptions

    return FetchOptions(
        exclude_retweets=args.exclude_retweets,
        exclude_replies=args.exclude_replies,
        cache_dir=args.cache_dir,
        refresh=args.refresh,
        author=getattr(args, "author", None),
    )


def add_source_args(p: argparse.ArgumentParser) -> None:
    from .workflow import choices, source_kinds

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
    p.add_argument("--keep-contacts", action="store_true", help=f"{choices().keep_contacts_help}; by default they become [email] and [phone]")


# Config fields whose flag differs from the field's name.
FLAG_NAMES = {"output_dir": "--output", "n": "--num"}
SHORT_FLAGS = {"n": "-n"}


def add_dataclass_args(p: argparse.ArgumentParser, cls, skip: Sequence[str] = ()) -> None:
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
            p.add_argument(*flags, dest=f.name, type=value_of(base), metavar=f.name.split("_")[-1].upper(), help=f"{helps[f.name]} (default: {default})")


def value_of(kind):
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


def given(args, cls) -> dict:
    import dataclasses

    return {f.name: getattr(args, f.name, None) for f in dataclasses.fields(cls) if getattr(args, f.name, None) is not None}


def train_config(args):
    """The TrainConfig the words make: the preset, then the --config file, then the flags (on
    --resume: the saved run's, which fine_tune checks the given ones against)."""
    from .config import PRESETS, TrainConfig
    from .workflow import resume_config

    flags = given(args, TrainConfig)
    if args.resume:
        if args.config:  # the original command's file: fine_tune refuses any setting that would change the run
            flags = {**TrainConfig.load(args.config).to_dict(), **flags}
        return resume_config(flags.pop("output_dir", TrainConfig().output_dir), **flags)
    preset = PRESETS[args.preset] if getattr(args, "preset", None) else {}
    base = TrainConfig.load(args.config) if args.config else TrainConfig()
    file_fields = chosen(args) - set(flags)
    return base.replace(**{k: v for k, v in preset.items() if k not in file_fields}).replace(**flags)


# What a run's data came from, as typed: kept with the run, so the same command plus --resume
# can be told apart from one that names other sources (SOURCE words and the flags that change the tweets).
ORIGIN_FLAGS = {"sample": "--sample", "keep_contacts": "--keep-contacts", "exclude_retweets": "--exclude-retweets",
                "exclude_replies": "--exclude-replies", "author": "--author"}


def origin(args) -> dict:
    return {"sources": list(args.sources), **{name: getattr(args, name, None) for name in ORIGIN_FLAGS}}


def check_resume_sources(args, output: str) -> None:
    """The original command plus --resume: its sources must be the saved run's (it trains on the
    tweets saved then, and downloads nothing); other ones are one line naming what differs."""
    from .workflow import saved_origin

    given = origin(args)
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


def chosen(args) -> set:
    """The TrainConfig fields a person set: by flag, or in the --config file."""
    from .config import TrainConfig

    names = set(given(args, TrainConfig))
    if args.config:
        try:
            names |= set(json.loads(Path(args.config).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            pass  # TrainConfig.load has refused it already, in its own words
    return names


def train_inputs(args, progress: Optional[Progress] = None):
    """The run's config and dataset, every check made before any download or write."""
    from .workflow import preflight

    config = train_config(args)
    if args.resume:
        check_resume_sources(args, config.output_dir)
    preflight(config, resume=args.resume, overwrite=args.overwrite, progress=progress)  # before any (paid) download or write
    if args.resume:
        return config, None
    dataset = load_tweets(args, progress)
    return fitted(args, config, dataset), dataset


def load_tweets(args, progress: Optional[Progress] = None):
    """The sources' tweets, downloaded (or read from the cache), cleaned and counted."""
    from .workflow import fetch, prepare

    return prepare(fetch(args.sources, fetch_options(args), sample=args.sample, progress=progress), keep_contacts=args.keep_contacts)


def fitted(args, config, dataset):
    """``config`` for these tweets: a note where the model does not know their language, and the
    model's own recipe (Gemma 3: one epoch) where no flag or file set those fields."""
    from .workflow import model_language_note, with_model_recipe

    note = model_language_note(config.model, dataset)
    if note:
        dataset.warnings.append(note)
    return with_model_recipe(config, dataset, chosen(args))


def add_train_args(p: argparse.ArgumentParser) -> None:
    """``train``'s words: the sources, one flag per TrainConfig field, --config, --preset, --resume, --overwrite."""
    from .config import PRESET_TRADES, PRESETS, TrainConfig

    add_source_args(p)
    add_dataclass_args(p, TrainConfig)
    p.add_argument("--config", metavar="FILE.json", help="a TrainConfig JSON file; flags override it")
    trades = "; ".join(f"{k}: {v}" for k, v in PRESET_TRADES.items())
    p.add_argument("--preset", choices=list(PRESETS), help=f"{trades} (a --config file and flags override it)".replace("%", "%%"))
    p.add_argument("--resume", action="store_true", help="continue the unfinished run in --output with its own settings and tweets")
    p.add_argument("--overwrite", action="store_true", help="replace the model (or unfinished run) in --output; it stays until the new one is saved")


