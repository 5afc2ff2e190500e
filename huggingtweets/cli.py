"""The ``huggingtweets`` command: a thin shell over the library (parse, call, print).

Every command calls the same functions as the notebook. A ``HuggingTweetsError``
becomes one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

from .errors import HuggingTweetsError

MAX_SHOWN = 3  # tweets shown per author by `data`


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
        if message:
            self.bar.set_description_str(message[:60], refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _fetch_options(args):
    from .sources import FetchOptions

    return FetchOptions(
        exclude_retweets=args.exclude_retweets,
        exclude_replies=args.exclude_replies,
        cache_dir=args.cache_dir,
        refresh=args.refresh,
        author=getattr(args, "author", None),
    )


def _add_source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="@handle, handle, an X archive (.zip, folder, tweets.js) or a .txt/.csv/.jsonl file")
    p.add_argument("--sample", action="store_true", help="use the bundled sample archive (a fictional account)")
    p.add_argument("--exclude-retweets", action="store_true", help="do not download retweets (X API)")
    p.add_argument("--exclude-replies", action="store_true", help="do not download or keep replies")
    p.add_argument("--cache-dir", metavar="DIR", help="where downloads are cached (default ~/.cache/huggingtweets)")
    p.add_argument("--refresh", action="store_true", help="also download tweets newer than the cache holds")
    p.add_argument("--author", metavar="HANDLE", help="author handle for a plain text/CSV/JSONL file (default: its file name)")


def _load_dataset(args, require_enough: bool):
    from .dataset import build_dataset, load_sources

    progress = TqdmProgress()
    try:
        raw = load_sources(args.sources, _fetch_options(args), sample=args.sample, progress=progress)
    finally:
        progress.close()
    return build_dataset(raw, require_enough=require_enough)


def cmd_data(args) -> int:
    from .cleaning import check_enough, stats_table
    from .errors import NotEnoughTweets

    dataset = _load_dataset(args, require_enough=False)
    problems: list[str] = []
    try:
        problems = check_enough(dataset.stats)
    except NotEnoughTweets as err:
        if args.out:
            raise
        problems = [str(err)]
    if args.out:
        path = dataset.save(args.out)
    for line in problems:
        print(f"warning: {line}", file=sys.stderr)
    if args.json:
        out = {"authors": [{k: getattr(s, k) for k in ("handle", "name", "downloaded", "retweets", "short", "kept")} for s in dataset.stats]}
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(stats_table(dataset.stats))
    for a in dataset.authors:
        print(f"\n@{a.author.handle} ({a.author.name}):")
        for text in (a.train + a.valid)[:MAX_SHOWN]:
            print(f"  - {text}")
    if args.out:
        print(f"\nDataset saved to {path}")
    return 0


# --- train ------------------------------------------------------------------------
class TqdmTraining:
    """A ``TrainCallback`` that drives one tqdm bar: step, epoch, loss and ETA."""

    def __init__(self):
        self.bar = None

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

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


# TrainConfig fields whose flag name differs from the field name.
FLAG_NAMES = {"output_dir": "--output"}


def _add_config_args(p: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field (``--learning-rate`` for ``learning_rate``), all defaulting to None."""
    import dataclasses
    import typing

    from .config import TrainConfig, field_help

    helps = field_help(TrainConfig)
    hints = typing.get_type_hints(TrainConfig)
    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        flag = FLAG_NAMES.get(f.name, "--" + f.name.replace("_", "-"))
        default = getattr(defaults, f.name)
        kind = hints[f.name]
        if kind is bool:
            p.add_argument(flag, dest=f.name, action="store_true", default=None, help=f"{helps.get(f.name, '')} (default: off)")
        elif f.name == "lora_targets":
            p.add_argument(flag, dest=f.name, nargs="+", metavar="MODULE", help="LoRA target modules (default: peft's choice)")
        else:
            base = typing.get_args(kind)[0] if typing.get_args(kind) else kind
            p.add_argument(flag, dest=f.name, type=base, metavar=f.name.split("_")[-1].upper(), help=f"{helps.get(f.name, '')} (default: {default})")


def _train_config(args):
    import dataclasses

    from .config import TrainConfig

    base = TrainConfig.load(args.config) if args.config else TrainConfig()
    changes = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}
    return base.replace(**changes)


def cmd_train(args) -> int:
    from .dataset import build_dataset, load_sources
    from .training import fine_tune

    from .models import check_model

    config = _train_config(args)
    check_model(config.model)
    dataset = None
    if args.sources or args.sample or not args.resume:
        progress = TqdmProgress()
        try:
            raw = load_sources(args.sources, _fetch_options(args), sample=args.sample, progress=progress)
        finally:
            progress.close()
        dataset = build_dataset(raw, validation_fraction=config.validation_fraction, seed=config.seed)
        for line in dataset.warnings:
            print(f"warning: {line}", file=sys.stderr)
    bar = TqdmTraining()
    try:
        result = fine_tune(config, dataset, callbacks=[bar], resume=args.resume)
    except KeyboardInterrupt:
        bar.close()
        print(f"error: interrupted; checkpoints are in {config.output_dir}/checkpoints: add --resume to continue.", file=sys.stderr)
        return 130
    finally:
        bar.close()
    _print_result(result)
    return 0


def _print_result(result) -> None:
    m = result.metrics
    if "eval_loss" in m:
        print(f"Held-out loss {m['eval_loss_before']:.3f} -> {m['eval_loss']:.3f} (perplexity {m['perplexity']:.1f}) after {m['global_step']} steps.")
    if result.wandb_url:
        print(f"W&B run: {result.wandb_url}")
    print(f"Model saved to {result.output_dir}")


# --- generate ----------------------------------------------------------------------
def _add_sampling_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--num", dest="n", type=int, help="tweets to generate (default: 5)")
    p.add_argument("--temperature", type=float, help="(default: 1.0)")
    p.add_argument("--top-p", type=float, help="(default: 0.95)")
    p.add_argument("--top-k", type=int, help="(default: 0, off)")
    p.add_argument("--max-new-tokens", type=int, help="(default: 60)")
    p.add_argument("--repetition-penalty", type=float, help="(default: 1.0)")
    p.add_argument("--seed", type=int, help="fix for repeatable tweets")


def _sampling_config(args, prompt: Optional[str]):
    from .config import SamplingConfig

    keys = ("n", "temperature", "top_p", "top_k", "max_new_tokens", "repetition_penalty", "seed")
    return SamplingConfig().replace(prompt=prompt, **{k: getattr(args, k, None) for k in keys})


def _print_tweets(tweets) -> None:
    for i, t in enumerate(tweets, 1):
        flag = f"  [near-copy {t.similarity:.2f} of: {t.nearest}]" if t.near_copy else f"  (nearest similarity {t.similarity:.2f})"
        print(f"{i}. {t.text}\n{flag}")


def cmd_generate(args) -> int:
    from .generation import load_generator

    sampling = _sampling_config(args, args.prompt)
    tweets = load_generator(args.folder).generate(sampling)
    if args.json:
        print(json.dumps([t.to_dict() for t in tweets], ensure_ascii=False))
    else:
        _print_tweets(tweets)
    return 0


# --- demo --------------------------------------------------------------------------
def cmd_demo(args) -> int:
    from .config import SamplingConfig
    from .dataset import build_dataset, load_sources
    from .generation import load_generator
    from .training import DEMO_CONFIG, fine_tune, remove_checkpoints

    config = DEMO_CONFIG.replace(output_dir=args.output)
    remove_checkpoints(config.output_dir)  # the demo folder is the demo's own: always start over
    print("1/3 Reading the bundled sample archive (a fictional account)...", file=sys.stderr)
    dataset = build_dataset(load_sources([], sample=True), validation_fraction=config.validation_fraction, seed=config.seed)
    s = dataset.stats[0]
    print(f"    @{s.handle}: {s.downloaded} downloaded, {s.retweets} retweets, {s.short} short, {s.kept} kept", file=sys.stderr)
    print("2/3 Training the tiny model on the CPU...", file=sys.stderr)
    bar = TqdmTraining()
    try:
        result = fine_tune(config, dataset, callbacks=[bar])
    finally:
        bar.close()
    _print_result(result)
    print("3/3 Generating 5 tweets for \"My dream is\":", file=sys.stderr)
    tweets = load_generator(result.output_dir).generate(SamplingConfig(prompt="My dream is", n=5, seed=args.seed))
    _print_tweets(tweets)
    print(f"\nThe model folder is {result.output_dir} (model card: {result.output_dir}/README.md).")
    print(f"Try: huggingtweets generate {result.output_dir} \"Today's loaf\"")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="huggingtweets", description="Turn someone's tweets into a language model that writes like them.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("data", help="download, clean and count tweets; optionally save the dataset")
    _add_source_args(p)
    p.add_argument("--out", metavar="DIR", help="save the dataset (dataset.json) to DIR")
    p.add_argument("--json", action="store_true", help="print the counts as JSON on stdout and nothing else there")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("train", help="fine-tune a model on the sources' tweets (flags map to TrainConfig fields)")
    _add_source_args(p)
    _add_config_args(p)
    p.add_argument("--config", metavar="FILE.json", help="a TrainConfig JSON file; flags override it")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in the output folder")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("generate", help="generate tweets with a trained model folder")
    p.add_argument("folder", metavar="DIR", help="a model folder written by 'huggingtweets train'")
    p.add_argument("prompt", nargs="?", default=None, metavar="PROMPT", help='the start of the tweet (default: "My dream is")')
    _add_sampling_args(p)
    p.add_argument("--json", action="store_true", help='print [{"text", "nearest", "similarity", "near_copy"}, ...]')
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("demo", help="offline end to end: the sample, the tiny model, 5 tweets")
    p.add_argument("--output", default="huggingtweets-demo", metavar="DIR", help="model folder (default: ./huggingtweets-demo)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    p.set_defaults(func=cmd_demo)
    return parser


def _quiet_libraries() -> None:
    """The CLI shows its own progress: silence library chatter that is not for this user."""
    import os
    import warnings

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", message=".*pin_memory.*")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _quiet_libraries()
    try:
        return args.func(args)
    except HuggingTweetsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; downloads so far are kept in the cache, run the same command again to continue.", file=sys.stderr)
        return 130
