"""The workflow under the CLI and the notebook: fetch -> dataset -> train -> generate.

Both views gather input and show results; everything they do goes through here
(as the ipywidgets tutorial's ``gui.py`` sits over its ``model.py``), so the two
cannot drift apart in policy: the same folder rules, the same resume rules, the
same background training with a stop signal, the same cached generator.

    raw = fetch(["@wren"], options, progress=...)        # downloads are on disk first
    dataset = prepare(raw)                                # cleaned and counted
    run = TrainingRun(config, dataset, callbacks).start() # fine_tune in a thread
    run.stop(); run.wait()                                # a checkpoint, then stop
    tweets = Generators().write(folder, SamplingConfig(prompt="My dream is"))
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence, Union

from . import estimate, launch, pretrained
from .cleaning import KEEP_CONTACTS_HELP, AuthorStats, check_enough, stats_table, table_rows
from .config import SamplingConfig, TrainConfig
from .config import demo_config as _demo_config
from .dataset import TweetDataset, build_dataset, load_sources
from .cache import default_cache_dir
from .distributed import device_count, is_main, lost_peer, on_main
from .errors import HuggingTweetsError
from .folder import CARD, DATASET, MODEL_CONFIG, TRAIN_CONFIG, ModelFolder, check_folder, folder_in
from .folder import VOICE as VOICE_FILE
from .folder_state import FolderState, RunLog, folder_state
from .generation import GeneratedTweet, Generator, generate, load_generator
from .exports import Exported, format_named, media_type, option_fields, option_label
from .exports import formats as export_formats
from .gguf_export import GgufExport, export_gguf
from .language import main_language
from .language import name as language_name
from .language import shares as language_shares
from .models import check_model
from .pretrained import AUTO_MODEL, SMOLLM2, default_model, language_warning, model_choices, recipe_for
from .preview import notes as preview_notes, render_preview
from .share import TOKEN_NAME as HF_TOKEN_NAME
from .share import export_zip, push_to_hub
from .sources import Author, AuthorTweets, FetchOptions, NoToken, Progress, SourceKind, avatar_url, kinds, token_for, words_for
from .tracking import _tracking_error, check_tracking, run_training
from .training import NO_HELD_OUT, StopSignal, TrainCallback, TrainResult, resolve_precision
from .voice import NotMeasured, VoiceReport, judge_posts, load_voices, saved_report, score_folder

__all__ = [
    # what a view offers, and this machine
    "choices", "Choices", "machine", "Machine",
    # data
    "FetchOptions", "source_kinds", "token_for", "NoToken", "avatar_url", "fetch", "prepare", "check_enough",
    "stats_table", "table_rows", "AuthorStats", "folder_authors", "language_shares", "model_language_note", "model_for", "recipe_for", "with_model_recipe", "words_of", "words_of_typed", "share_link",
    # training
    "demo_config", "folder_for", "folder_state", "FolderState", "RunLog", "check_folder", "preflight", "check_training", "check_settings", "check_tracking", "check_model", "resume_config",
    "TrainingRun", "TrainCallback", "train", "run_training", "on_main", "is_main",
    # generation and sharing
    "Generators", "load_generator", "generate", "score", "voice_lines", "saved_voice", "export_zip", "export_gguf", "GgufExport", "export", "export_formats", "option_fields", "option_label", "media_type", "Exported", "push_to_hub", "render_preview", "preview_notes",
]


# --- data -------------------------------------------------------------------------------------
def fetch(specs: Sequence[str], options: Optional[FetchOptions] = None, sample: bool = False, progress: Optional[Progress] = None) -> list[AuthorTweets]:
    """Every source's tweets, downloads cached on disk before anything reads them."""
    return load_sources(specs, options, sample=sample, progress=progress)


def prepare(raw: Sequence[AuthorTweets], require_enough: bool = True, keep_contacts: bool = False) -> TweetDataset:
    """Cleaned and counted; training splits off the held-out tweets with its own config.
    Email addresses and phone numbers become ``[email]`` and ``[phone]`` unless ``keep_contacts``
    (``KEEP_CONTACTS_HELP``)."""
    return build_dataset(raw, require_enough=require_enough, keep_contacts=keep_contacts)


def source_kinds() -> tuple[SourceKind, ...]:
    """The kinds of source this tool reads, in the order it recognises them (for help texts)."""
    return kinds()


def folder_authors(folder: Union[str, Path]) -> list[Author]:
    """The authors a model folder was trained on (its dataset copy); ``HuggingTweetsError``
    when the folder holds none."""
    return [a.author for a in TweetDataset.load(folder).authors]


def folder_for(root: Union[str, Path], dataset: TweetDataset) -> Path:
    """The model folder named after the authors (``root/handle-handle``), always inside ``root``."""
    return folder_in(root, dataset.slug)


# --- before anything is downloaded or written --------------------------------------------------
def demo_config(tiny: bool = False, cpu: bool = False, **changes) -> TrainConfig:
    """The demo's recipe for this machine: the pretrained model's preset for the precision it
    will train in here (fp32 where the CPU lacks native bf16: one epoch, half the work, aimed
    at the demo's 180 s there; DESIGN.md, "The demo's recipe"), or ``tiny``'s. ``cpu``: the
    recipe this machine's CPU would train, even where a GPU would take the run."""
    fp32 = not tiny and resolve_precision(changes.get("precision") or "auto", SMOLLM2, on_cpu=cpu) == "fp32"
    return _demo_config(tiny=tiny, fp32=fp32, **changes)


def preflight(config: TrainConfig, resume: bool = False, overwrite: bool = False, progress: Optional[Progress] = None) -> None:
    """Everything a run can be refused for, before a tweet is downloaded or the model loads:
    ``check_training`` (settings, folder policy, precision, W&B login), then the model itself
    (the offline one converted once, with ``progress``). The CLI and the app both call it."""
    check_training(config, resume=resume, overwrite=overwrite)
    check_model(config.model, progress)


def words_of(dataset: Optional[TweetDataset]):
    """The network words (``sources.networks.Words``: post, repost, ...) of the dataset's authors;
    X's (the published huggingtweets words) before any is loaded."""
    return words_for([a.author.source for a in dataset.authors] if dataset is not None else ["x"])


def words_of_typed(texts: Iterable[str]):
    """The network words of the handles typed (by their shape alone: no file or server is looked
    at); X's, the sample's network, when none is typed."""
    typed = [t.strip() for t in texts if t and t.strip()]
    found = [next((k.name for k in kinds() if k.match_text and k.match_text(t) is not None), "file") for t in typed]
    return words_for(found) if found else words_for(["x"])


def share_link(text: str, authors: Sequence[Author]) -> tuple[str, str]:
    """``(address, network)`` of the page that shares ``text`` on the authors' network (its
    ``Words.share``), or ``("", "")`` where there is none (several networks, a text file)."""
    words = words_for(a.source for a in authors)
    url = words.share_url(text, authors[0].handle if len(authors) == 1 else "") if authors else ""
    return (url, words.network) if url else ("", "")


def model_for(dataset: Optional[TweetDataset]) -> str:
    """What ``--model auto`` picks for these posts on this machine (their language, then the machine)."""
    return default_model(language=main_language(dataset.languages) if dataset is not None else "")


def with_model_recipe(config: TrainConfig, dataset: Optional[TweetDataset], chosen: Iterable[str] = ()) -> TrainConfig:
    """``config`` with its model's own recipe (``pretrained.RECIPES``: Gemma 3 trains one epoch)
    for every field not in ``chosen`` (the ones a person set); ``auto`` is the model it picks
    for these posts."""
    model = model_for(dataset) if str(config.model).strip().lower() == AUTO_MODEL else config.model
    keep = set(chosen)
    return config.replace(**{k: v for k, v in recipe_for(model).items() if k not in keep})


def model_language_note(model: str, dataset: Optional[TweetDataset]) -> str:
    """One warning line when the model (``auto``: the one it will pick for these posts) knows
    only English and the posts are mostly in another language; else ""."""
    if dataset is None:
        return ""
    code = main_language(dataset.languages)
    chosen = model_for(dataset) if str(model).strip().lower() == AUTO_MODEL else str(model)
    return language_warning(chosen, language_name(code), code)


def check_training(config: TrainConfig, resume: bool = False, overwrite: bool = False) -> None:
    """What a run can be refused for before a tweet is downloaded or a file written: its
    settings, its folder (``fine_tune`` checks that again under the folder's lock), a
    precision this machine lacks, and a W&B login."""
    check_settings(config)
    check_folder(Path(config.output_dir).expanduser(), "--output")
    folder_state(config.output_dir).check(resume, overwrite)


def check_settings(config: TrainConfig) -> None:
    """``check_training`` without the folder, for a run whose folder is named after the tweets
    it downloads (a batch's line): the settings, a precision this machine lacks, a W&B login."""
    config.validate()
    resolve_precision(config.precision, config.model)
    check_tracking(config)


# --- what a view offers, and what this machine can do ----------------------------------------------
@dataclass(frozen=True)
class Machine:
    """This machine, as the views ask about it."""

    gpus: int  # the GPUs this process can use (0 on a CPU)
    has_gpu: bool
    default_model: str  # what --model auto trains here on English posts


def machine() -> Machine:
    return Machine(device_count(), pretrained.has_gpu(), pretrained.default_model())


@dataclass(frozen=True)
class Choices:
    """The choices a view offers and the words it says about them, each from the module that owns it."""

    auto_model: str  # "auto": the model picked for the posts, then the machine
    offline_model: str  # the pretrained model that needs no download (SmolLM2-135M)
    models: tuple  # (name, label) for the model list: the built-in names, then the Hub's the card knows
    keep_contacts_help: str  # what keeping emails and phone numbers means (the flag's help, the box's tooltip)
    no_held_out: str  # what a run with no held-out posts says
    hub_token_name: str  # the environment variable a Hub token may come from


def choices(gpu: Optional[bool] = None) -> Choices:
    """What the views offer on this machine (``gpu``: as if it had a GPU, or not)."""
    gpu = pretrained.has_gpu() if gpu is None else gpu
    return Choices(AUTO_MODEL, SMOLLM2, tuple(model_choices(gpu)), KEEP_CONTACTS_HELP, NO_HELD_OUT, HF_TOKEN_NAME)


# --- training ---------------------------------------------------------------------------------
def resume_config(output_dir: Union[str, Path], **given) -> TrainConfig:
    """The saved run's config with ``given`` settings applied (``None``: not given).

    ``fine_tune`` then refuses any that would change the run, with a message naming them.
    """
    state = folder_state(output_dir)
    state.check(resume=True)
    folder = state.folder
    saved = TrainConfig.load(folder.run_dir / TRAIN_CONFIG)
    return saved.replace(**{k: v for k, v in given.items() if k != "output_dir"}).replace(output_dir=str(output_dir))


def saved_origin(output_dir: Union[str, Path]) -> Optional[dict]:
    """The sources the run in progress in ``output_dir`` was started with, as given to ``train``
    (``origin``), or None (none recorded, or unreadable)."""
    return folder_state(output_dir).origin()


def saved_run_config(output_dir: Union[str, Path]) -> Optional[TrainConfig]:
    """The config of the run in progress in ``output_dir``, or None (no run, or unreadable)."""
    return folder_state(output_dir).run_config()


class TrainingRun:
    """``fine_tune`` in a background thread: ``start``, ``stop`` (a checkpoint, then stop),
    ``wait``; then ``result`` or ``error``. The kernel (or the CLI's Ctrl-C) stays free.

    ``processes`` > 1 trains in that many processes started from here by accelerate's
    ``notebook_launcher`` (a notebook on a machine with several GPUs): the main one
    sends its progress back through a queue to ``callbacks`` here, and Stop reaches
    every process through a shared event."""

    def __init__(
        self,
        config: TrainConfig,
        dataset: Optional[TweetDataset],
        callbacks: Sequence[TrainCallback] = (),
        resume: bool = False,
        overwrite: bool = False,
        processes: int = 1,
        origin: Optional[dict] = None,
    ):
        self.config, self.dataset, self.callbacks = config, dataset, list(callbacks)
        self.resume, self.overwrite, self.processes, self.origin = resume, overwrite, processes, origin
        self.signal = StopSignal()
        self._launch: Optional[launch.Launch] = None
        self.result: Optional[TrainResult] = None
        self.error: Optional[BaseException] = None
        self._thread: Optional[threading.Thread] = None
        # Waiting uses this event, not Thread.join: a Ctrl-C that interrupts join() can leave
        # CPython taking a live thread for a finished one (python/cpython#90882).
        self._done = threading.Event()
        self._checked = False

    def check(self) -> "TrainingRun":
        """Every refusal ``check_training`` gives (settings, the folder's policy, a precision this
        machine lacks, a W&B login), now, before any model loads: ``start`` calls it too, so no
        view can skip it. Under a launcher the main process checks (the others train beside it)."""
        if not self._checked and is_main():
            check_training(self.config, resume=self.resume, overwrite=self.overwrite)
        self._checked = True
        return self

    def start(self) -> "TrainingRun":
        self.check()
        self._thread = threading.Thread(target=self._run, name="huggingtweets-train", daemon=True)
        try:
            self._thread.start()
        except BaseException:
            self._done.set()  # never started: nothing to wait for
            raise
        return self

    def _run(self) -> None:
        try:
            check_tracking(self.config)  # before the model loads
            if self.processes > 1:
                self._launch = launch.Launch(self.processes, self.callbacks)
                if self.signal.requested:
                    self._launch.stop()
                self.result = self._launch.run(self.config, self.dataset, self.resume, self.overwrite)
            else:
                self.result = run_training(self.config, self.dataset, self.callbacks, self.signal, self.resume, self.overwrite, self.origin)
            _record_rate(self.config, self.result)
        except BaseException as err:  # the caller decides how to show it
            self.error = _tracking_error(err) or err
        finally:
            self._done.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._done.is_set()

    def stop(self) -> None:
        self.signal.request()
        if self._launch is not None:
            self._launch.stop()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """True when the run is over (finished, stopped or failed)."""
        if self._thread is not None:
            self._done.wait(timeout)
        return not self.running


# Said at once on the first Ctrl-C or SIGTERM: the step, the evaluation and the save that follow
# take a while (35 s for SmolLM2 on 2 cores), and silence reads as a hang.
STOPPING = "Stopping after this step, then saving (Ctrl-C again to quit without saving)."


def _record_rate(config: TrainConfig, result: Optional[TrainResult]) -> None:
    """A finished run's seconds per step, for the next estimate on this machine (``estimate``)."""
    m = result.metrics if result is not None else {}
    if m.get("stopped") or not isinstance(m.get("base_model"), str) or not is_main():
        return
    try:
        estimate.record(default_cache_dir(), config, m["base_model"], str(m.get("precision")), int(m.get("block_size") or 0), m)
    except Exception:  # a figure for next time never fails this run
        pass


def estimate_time(config: TrainConfig, dataset: TweetDataset) -> Optional[estimate.Estimate]:
    """How long training ``config`` on ``dataset`` will take here (``estimate``: this machine's
    last run of these settings, else a probe of a few steps); None for the tiny model.

    Worked out in a thread of its own, joined at once, so the model it loads and runs leaves no
    per-thread state behind in the caller's thread: done in the CLI's main thread, the training
    that followed (in its own thread) ran 36 % slower (40 steps of SmolLM2 on the English archive,
    AMX: 78.9 s against 57.9 s without the estimate, 61.7 s with it in its own thread)."""
    found: dict = {}

    def work() -> None:
        try:
            found["estimate"] = estimate.estimate(config, dataset, default_cache_dir())
        except BaseException as err:  # raised again in the caller's thread
            found["error"] = err

    thread = threading.Thread(target=work, name="huggingtweets-estimate", daemon=True)
    thread.start()
    thread.join()
    if "error" in found:
        raise found["error"]
    return found.get("estimate")


def train(
    config: TrainConfig,
    dataset: Optional[TweetDataset],
    callbacks: Sequence[TrainCallback] = (),
    resume: bool = False,
    overwrite: bool = False,
    said: Optional[Callable[[str], None]] = None,
    origin: Optional[dict] = None,
) -> TrainResult:
    """Train and wait. Ctrl-C, or SIGTERM (a job scheduler, ``timeout``, a container stopping),
    asks the run to save a checkpoint and stop, and ``said(STOPPING)`` tells the user at once;
    a second one aborts. ``origin``: the sources as the user gave them, kept with the run so
    that the same command with ``--resume`` can be checked against it (``saved_origin``)."""
    run = TrainingRun(config, dataset, callbacks, resume, overwrite, origin=origin)
    with _sigterm_as_interrupt():
        try:
            run.start()
            while not run.wait(0.5):
                pass
        except KeyboardInterrupt:
            run.stop()
            if said is not None:
                said(STOPPING)
            run.wait()
    if run.error is not None:
        if lost_peer(run.error):  # not this process's fault: one line, not the stack of a collective
            raise HuggingTweetsError(
                f"Another training process of this run ended (killed, out of memory, or its machine lost), so this one "
                f"stopped too: checkpoints so far are kept in {config.output_dir}; add --resume (with --output "
                f"{config.output_dir}) to continue.") from None
        raise run.error
    assert run.result is not None
    return run.result


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While training waits in the main thread, SIGTERM raises KeyboardInterrupt as Ctrl-C does."""
    # Only the main thread may set handlers; None: a handler set outside Python (an embedding
    # host), which could not be put back.
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is None:
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, interrupt)
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- the voice score ----------------------------------------------------------------------------
def score(folder: Union[str, Path], progress: Optional[Progress] = None) -> dict:
    """Measure (again) the voice score of a model folder and keep it there (``voice.json`` and
    the card's paragraph); the report as a dict (``voice.VoiceReport.to_dict()``)."""
    return score_folder(folder, progress).to_dict()


def voice_lines(report: Optional[dict]) -> list[str]:
    """What a view says of a voice report: one line per author ("Voice 64/100: ...")."""
    return VoiceReport.from_dict(report).lines() if report else []


def saved_voice(folder: Union[str, Path]) -> Optional[dict]:
    """The voice report saved in a model folder, or None when it was never measured."""
    report = saved_report(folder)
    return report.to_dict() if report is not None else None


# --- generation -------------------------------------------------------------------------------
def _fingerprint(folder: Path) -> tuple:
    """Changes when a training run writes the folder again, so a cached model is not stale."""
    out = []
    for name in (MODEL_CONFIG, DATASET, CARD):
        try:
            st = (folder / name).stat()
            out.append((name, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((name, None, None))
    return tuple(out)


class Generators:
    """Loaded model folders, kept while they do not change on disk (one at a time: memory), and
    the judges of their voice (the base model among them) once asked for."""

    def __init__(self):
        self._key: Optional[tuple] = None
        self._generator: Optional[Generator] = None
        self._voices_key: Optional[tuple] = None
        self._voices = None

    def get(self, folder: Union[str, Path]) -> Generator:
        path = Path(folder).expanduser().resolve()
        key = (str(path), _fingerprint(path))
        if key != self._key or self._generator is None:
            self._generator = None  # free the stale model before loading the new one
            self._generator = load_generator(Path(folder).expanduser())  # errors name the folder as typed
            self._key = key
        return self._generator

    def loaded(self, folder: Union[str, Path]) -> bool:
        path = Path(folder).expanduser().resolve()
        return self._generator is not None and self._key == (str(path), _fingerprint(path))

    def write(self, folder: Union[str, Path], sampling: Optional[SamplingConfig] = None) -> list[GeneratedTweet]:
        return self.get(folder).generate(sampling)

    def _judges(self, folder: Union[str, Path], progress: Optional[Progress] = None):
        """The folder's voice judges (``voice.load_voices`` with its saved report's thresholds), or
        None when its voice was never measured."""
        path = Path(folder).expanduser().resolve()
        key = (str(path), _fingerprint(path), _stamp(ModelFolder(path) / VOICE_FILE))
        if key != self._voices_key:
            self._voices, self._voices_key = None, None
            saved = saved_report(path)
            if saved is None or saved.score is None:
                return None
            try:
                self._voices = load_voices(path, progress, saved=saved)
            except NotMeasured:
                return None
            self._voices_key = key
        return self._voices

    def judge(self, folder: Union[str, Path], tweets: Sequence[GeneratedTweet], progress: Optional[Progress] = None) -> list[GeneratedTweet]:
        """``tweets`` with each one's voice (0-100) and whether it passes as its author; unchanged
        when the folder's voice was never measured."""
        voices = self._judges(folder, progress)
        return judge_posts(voices, tweets) if voices is not None else list(tweets)

    def write_base(self, folder: Union[str, Path], sampling: SamplingConfig, progress: Optional[Progress] = None) -> list[GeneratedTweet]:
        """What the folder's untuned base model writes for ``sampling``, judged as the trained
        model's posts are: what training bought, side by side. Empty when the voice was never
        measured (no base model is known to compare with)."""
        voices = self._judges(folder, progress)
        if voices is None:
            return []
        generator = self.get(folder)
        author = generator.voice_of(sampling.author) or generator.only_author
        posts = [generator.describe(t, author) for t in voices.base_posts(sampling)]
        return judge_posts(voices, posts)


def _stamp(path: Path) -> tuple:
    try:
        st = path.stat()
        return (st.st_mtime_ns, st.st_size)
    except OSError:
        return (None, None)


# --- export: one call for every format (exports.KINDS) ----------------------------------------
def export(folder: Union[str, Path], format: str, out: Optional[Union[str, Path]] = None, options=None, overwrite: bool = False,
           progress: Optional[Progress] = None) -> Exported:
    """The model folder written as ``format`` (``exports``' registry: "zip", "gguf", ...) to
    ``out`` (default: beside the folder), with that format's ``options`` (its dataclass)."""
    kind = format_named(format)
    return kind.write(Path(folder), Path(out) if out is not None else None, options if options is not None else kind.options(),
                      overwrite=overwrite, progress=progress)
