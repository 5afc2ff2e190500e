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

    def __init__(self, unit: str = "tweets"):
        self.unit = unit
        self.bar = None

    def __call__(self, done: int, total: Optional[int], message: str = "") -> None:
        from tqdm.auto import tqdm

        if self.bar is None or (total is not None and self.bar.total != total):
            self.close()
            self.bar = tqdm(total=total, unit=self.unit, file=sys.stderr, dynamic_ncols=True, leave=False)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="huggingtweets", description="Turn someone's tweets into a language model that writes like them.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("data", help="download, clean and count tweets; optionally save the dataset")
    _add_source_args(p)
    p.add_argument("--out", metavar="DIR", help="save the dataset (dataset.json) to DIR")
    p.add_argument("--json", action="store_true", help="print the counts as JSON on stdout and nothing else there")
    p.set_defaults(func=cmd_data)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except HuggingTweetsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; downloads so far are kept in the cache, run the same command again to continue.", file=sys.stderr)
        return 130
