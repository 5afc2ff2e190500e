"""The ``huggingtweets`` command: a thin shell over the library (parse, call, print).

Every command calls the same functions as the notebook. A ``HuggingTweetsError``
becomes one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Optional, Sequence

from .arguments import add_dataclass_args, add_source_args, add_train_args, fetch_options, given, origin, train_inputs
from .errors import Elsewhere, HuggingTweetsError
from .folder import ModelFolder
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


def _load_dataset(args, require_enough: bool):
    from .workflow import fetch, prepare

    progress = TqdmProgress()
    try:
        raw = fetch(args.sources, fetch_options(args), sample=args.sample, progress=progress)
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


def _train_inputs(args):
    progress = TqdmProgress()
    try:
        return train_inputs(args, progress)
    finally:
        progress.close()


def _say(line: str) -> None:
    """A line on stderr at once, above any progress bar."""
    from tqdm.auto import tqdm

    tqdm.write(shown(line), file=sys.stderr)


def cmd_train(args) -> int:
    from .processes import run_processes
    from .workflow import is_main, on_main, train

    if args.processes != 1:
        if not 1 <= args.processes <= MAX_PROCESSES:
            raise HuggingTweetsError(f"--processes must be between 1 and {MAX_PROCESSES}, got {args.processes}.")
        os.environ[TYPED_ENV] = json.dumps(args.argv)  # for the processes' "To finish it, run: ..." line
        return run_processes(_without_processes(args.argv), args.processes)
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
    if args.resume:
        print(shown(ModelFolder(config.output_dir).resume_line()), file=sys.stderr, flush=True)
    bar = TqdmTraining()
    try:
        result = train(config, dataset, callbacks=[bar], resume=args.resume, overwrite=args.overwrite, said=_say,
                       origin=None if args.resume else origin(args))
    finally:
        bar.close()
    _print_result(result, _resume_command(args))
    return _exit_code(result)


MAX_PROCESSES = 64  # one machine's GPUs; several machines: torchrun's rendezvous flags (README)
TYPED_ENV = "HUGGINGTWEETS_TYPED_COMMAND"  # the command `--processes` was typed in, for the processes it starts


def _without_processes(argv: Sequence[str]) -> list[str]:
    """The typed command less ``--processes N``: what each launched process runs."""
    out, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word == "--processes":
            skip = True
        elif not word.startswith("--processes="):
            out.append(word)
    return out


def _say_estimate(config, dataset, preset: Optional[str] = None) -> None:
    """The run's estimated time, before any long work (a probe of a few steps when this machine
    has not trained these settings yet)."""
    from .workflow import estimate_time

    if config.tiny:
        return  # built during the run, and quick
    print("Estimating the training time (a few steps)...", file=sys.stderr, flush=True)
    found = estimate_time(config, dataset)
    if found is not None:
        offer = found.offer(preset or "best")
        print(shown(found.line() + (f" {offer[:-1]}: add --preset quick." if offer else "")), file=sys.stderr, flush=True)


def _resume_command(args) -> str:
    """The command that finishes this run: the one typed, plus --resume."""
    import shlex

    typed = list(getattr(args, "argv", None) or ["train", "--output", str(getattr(args, "output_dir", None) or "huggingtweets-model")])
    typed = [word for word in typed if word != "--overwrite"]  # the run to finish is the one it made
    return shlex.join(["huggingtweets", *typed, *([] if "--resume" in typed else ["--resume"])])


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
        from .workflow import choices

        print(f"warning: {choices().no_held_out}", file=sys.stderr)
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


# --- batch -------------------------------------------------------------------------
def _line_bar() -> list:
    """Each line's training bar (made in the line's own process)."""
    return [TqdmTraining()]


BATCH_COLUMNS = ("line", "status", "model", "held-out", "voice", "minutes", "why / notes")


def cmd_batch(args) -> int:
    from tqdm.auto import tqdm

    from .batches import batch

    bars = []  # over the lines, from the first line's end: a bad file is one line of error and no bar

    def on_row(row, done, total):
        if not bars:
            bars.append(tqdm(total=total, unit="model", desc="Batch", file=sys.stderr, dynamic_ncols=True))
        bar = bars[0]
        bar.n = done
        bar.set_postfix_str(f"line {row.line}: {row.status}", refresh=False)
        bar.refresh()
        tqdm.write(shown(f"Line {row.line} ({row.text[:60]}): {row.status}" + (f": {row.reason}" if row.reason else "")), file=sys.stderr)

    try:
        result = batch(args.file, args.root, parallel=args.parallel, ray=args.ray, export=args.export or "", quantize=args.quantize,
                       push=args.push, private=args.private, cache_dir=args.cache_dir, cpus_per_line=args.cpus_per_line,
                       gpus_per_line=args.gpus_per_line, retries=args.retries, callbacks=_line_bar, said=_say, on_row=on_row)
    finally:
        for bar in bars:
            bar.close()
    rows = [tuple(shown(c) for c in (str(r.line), r.status, Path(r.folder).name if r.folder else "-",
                                     f"{r.held_out_loss:.3f}" if r.held_out_loss is not None else "-",
                                     f"{r.voice:g}" if r.voice is not None else "-", f"{r.minutes:.1f}",
                                     "; ".join([r.reason] * bool(r.reason) + r.notes))) for r in result.rows]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(BATCH_COLUMNS[:-1])]
    for cells in [BATCH_COLUMNS, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths)) + "  " + cells[-1])
    done = sum(r.status in ("done", "skipped") for r in result.rows)
    print(f"{done} of {len(result.rows)} models in {shown(args.root)}; the table is in {shown(result.path)}")
    if result.stopped:
        print("Stopped: run the same command again to go on (finished models are skipped, unfinished ones resume).", file=sys.stderr)
        return STOPPED_EXIT
    return 0 if result.ok else 1


# --- generate ----------------------------------------------------------------------
def _sampling_config(args, prompt: Optional[str]):
    from .config import SamplingConfig

    return SamplingConfig().replace(**{**given(args, SamplingConfig), "prompt": prompt})


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
    from .workflow import demo_config, fetch, folder_state, generate, preflight, prepare, train

    config = demo_config(tiny=args.tiny, output_dir=args.output)
    # The demo's own earlier output is replaced; anything else in the folder is refused by training.
    overwrite = folder_state(config.output_dir).can_replace
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


def cmd_export(args) -> int:
    from .workflow import export, export_formats, option_fields

    _say_if_stopped(args.folder)
    kind = next(k for k in export_formats() if k.name == args.format)
    mine = {name for name, *_ in option_fields(kind.options)}
    for other in export_formats():  # a flag of another format: one line naming whose it is
        for name, *_ in option_fields(other.options):
            if name not in mine and getattr(args, name, None) not in (None, False):
                raise HuggingTweetsError(f"--{name.replace('_', '-')} is for --format {other.name}: a {kind.name} export does not take it.")
    options = kind.options(**{name: getattr(args, name) for name in mine if getattr(args, name, None) is not None})
    bar = TqdmProgress()
    try:
        result = export(args.folder, kind.name, args.out, options, overwrite=args.overwrite, progress=bar)
    finally:
        bar.close()
    print(shown(result.summary))
    return 0


def _add_export_args(p: argparse.ArgumentParser) -> None:
    """--format from the registry of export formats, and one flag per option any of them takes."""
    from .workflow import export_formats, option_fields

    kinds = export_formats()
    p.add_argument("--format", choices=[k.name for k in kinds], default=kinds[0].name,
                   help="; ".join(f"{k.name}: {k.about}" for k in kinds))
    seen = set()
    for kind in kinds:
        for name, default, hint, text, _, _ in option_fields(kind.options):
            if name in seen:
                continue
            seen.add(name)
            flag = "--" + name.replace("_", "-")
            text = f"{text} ({kind.name} only)".replace("%", "%%")
            if hint is bool:
                p.add_argument(flag, dest=name, action="store_true", default=None, help=text)
            else:
                p.add_argument(flag, dest=name, default=None, metavar=name.split("_")[-1].upper(), type=hint, help=text)


class _Parser(argparse.ArgumentParser):
    """argparse with every usage error as one line on stderr, exit code 2: what is wrong and
    where the help is (subcommands are built with the same class)."""

    def error(self, message: str):
        self.exit(2, f"error: {shown(message)} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from .config import SamplingConfig
    from .workflow import export_formats

    parser = _Parser(prog="huggingtweets", description="Turn someone's tweets into a language model that writes like them.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("data", help="download, clean and count tweets; optionally save the dataset")
    add_source_args(p)
    p.add_argument("--out", metavar="DIR", help="save the dataset (dataset.json) to DIR")
    p.add_argument("--json", action="store_true", help="print the counts as JSON on stdout and nothing else there")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("train", help="fine-tune a model on the sources' tweets (flags map to TrainConfig fields)")
    add_train_args(p)
    p.add_argument("--processes", type=int, default=1, metavar="N",
                   help="train in N processes on this machine, one per GPU (DDP; gloo on a CPU), as torchrun starts them; "
                        "a stop or a failure ends in our own lines")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("batch", help="train a model per line of FILE (each line: what `train` takes), here or on a Ray cluster")
    p.add_argument("file", metavar="FILE", help="one model per line: 1-3 sources and any of train's flags (`@jack --epochs 2`); # comments")
    p.add_argument("--root", default="huggingtweets-models", metavar="DIR",
                   help="each line's model goes to DIR/NAME (its authors' published name), the summary to DIR/batch.json (default: ./huggingtweets-models)")
    p.add_argument("--parallel", type=int, default=1, metavar="N", help="lines at once on this machine (default 1: a fine-tune uses every core already)")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="one Ray task per line: on the cluster at ADDRESS, or without one on RAY_ADDRESS's or a Ray started here (needs ray)")
    p.add_argument("--cpus-per-line", type=float, default=1.0, metavar="N", help="with --ray: CPUs each line's task asks for (default 1)")
    p.add_argument("--gpus-per-line", type=float, default=None, metavar="N",
                   help="with --ray: GPUs each line's task asks for, a fraction shares one (default: 1 on a cluster with GPUs, else 0)")
    p.add_argument("--retries", type=int, default=2, metavar="N", help="with --ray: how often a line whose worker died runs again (default 2)")
    p.add_argument("--export", choices=[k.name for k in export_formats()],
                   help="also export each model beside its folder: gguf writes DIR/NAME.gguf and its Ollama Modelfile, zip DIR/NAME.zip")
    p.add_argument("--quantize", default="f16", metavar="TYPE", help="with --export gguf: f16 (default) or q8_0")
    p.add_argument("--push", action="store_true", help="also push each model to the Hub as NAME (token: HF_TOKEN or `hf auth login`)")
    p.add_argument("--private", action="store_true", help="with --push: new repos are private")
    p.add_argument("--cache-dir", metavar="DIR", help="where downloads are cached (default ~/.cache/huggingtweets); shared by the lines")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("generate", help="generate tweets with a trained model folder")
    p.add_argument("folder", metavar="DIR", help="a model folder written by 'huggingtweets train'")
    p.add_argument("prompt", nargs="?", default=None, metavar="PROMPT", help='the start of the tweet (default: "My dream is")')
    add_dataclass_args(p, SamplingConfig, skip=("prompt",))
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
    _add_export_args(p)
    p.add_argument("--overwrite", action="store_true", help="replace OUT (and its Modelfile) if it exists")
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
    typed = os.environ.get(TYPED_ENV)
    if typed and argv is None:  # a process that `train --processes N` started: the command typed was that one
        try:
            args.argv = [str(word) for word in json.loads(typed)]
        except (ValueError, TypeError):
            pass
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
