"""More than one process: torchrun and accelerate launch, 2 CPU processes over gloo.

Each test runs the real launcher on the real CLI. An audit hook (``sitecustomize`` put
first on the processes' PYTHONPATH) logs every file each process opens for writing,
renames, removes or creates under the model folder and the cache, with its rank, so the
"one writer per run" rule is checked file by file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from pathlib import Path

import pytest

from fake_networks import FakeNetworks, bluesky_feed
from huggingtweets.cli import main

pytestmark = pytest.mark.subprocess

BIN = Path(sys.executable).parent
TORCHRUN = [str(BIN / "torchrun"), "--standalone", "--nproc_per_node", "2"]
TINY = ["--model", "tiny", "--block-size", "32", "--batch-size", "8", "--logging-steps", "1"]
RUN_S = 300

AUDIT = textwrap.dedent('''
    import os, sys
    _log, _watch = os.environ.get("HT_WRITES_LOG"), os.environ.get("HT_WRITES_WATCH", "")
    if _log and "RANK" in os.environ:
        _rank, _roots = os.environ["RANK"], [os.path.realpath(p) for p in _watch.split(os.pathsep) if p]
        _out = open(f"{_log}.{os.getpid()}", "a", buffering=1)
        _writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

        def _hook(event, args):
            if event == "open":
                path, mode, flags = args
                if not ((isinstance(mode, str) and any(c in mode for c in "wax+")) or (isinstance(flags, int) and flags & _writing)):
                    return
            elif event in ("os.rename", "os.replace"):
                path = args[1]
            elif event in ("os.remove", "os.mkdir", "os.rmdir", "shutil.rmtree"):
                path = args[0]
            else:
                return
            if isinstance(path, int):
                return
            try:
                full = os.path.realpath(os.fsdecode(path))
            except Exception:
                return
            if any(full == r or full.startswith(r + os.sep) for r in _roots):
                _out.write(f"{_rank}\\t{event}\\t{full}\\n")

        sys.addaudithook(_hook)
''')


@pytest.fixture
def world(tmp_path, monkeypatch):
    """An environment for launched processes: audit hook, cache, a local Bluesky, no W&B account."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(AUDIT)
    checkout = str(Path(__file__).resolve().parents[1])
    net = FakeNetworks()
    net.__enter__()
    net.bluesky_account("wren.bsky.social", bluesky_feed(200))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), checkout, os.environ.get("PYTHONPATH", "")]),
        "HUGGINGTWEETS_CACHE": str(tmp_path / "cache"),
        "HUGGINGTWEETS_BLUESKY_API": net.url,
        "HT_WRITES_LOG": str(tmp_path / "writes"),
        "HT_WRITES_WATCH": os.pathsep.join([str(tmp_path / "m"), str(tmp_path / "cache")]),
        "WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1",
    }
    yield {"env": env, "tmp": tmp_path, "net": net}
    net.__exit__(None, None, None)


def run(world, cmd, **kw):
    return subprocess.run(cmd, cwd=world["tmp"], env=world["env"], capture_output=True, text=True, timeout=RUN_S, **kw)


def writers(world) -> dict[str, set[str]]:
    """path -> ranks that wrote it (opened for writing, renamed onto, removed, created)."""
    out = defaultdict(set)
    for log in world["tmp"].glob("writes.*"):
        for line in log.read_text().splitlines():
            rank, _, path = line.split("\t")
            out[path].add(rank)
    return out


def own_lines(text: str) -> list[str]:
    """What our processes printed: the launcher's own log lines and tqdm redraws left out."""
    return [ln for ln in text.splitlines() if ln.startswith("error:") or ln.startswith("warning:")]


def test_torchrun_trains_with_one_writer(world, capsys):
    m = world["tmp"] / "m"
    done = run(world, [*TORCHRUN, "-m", "huggingtweets", "train", "--sample", "@wren.bsky.social", *TINY, "--epochs", "1", "--output", str(m)])
    assert done.returncode == 0, done.stderr[-3000:]
    card = (m / "README.md").read_text()
    assert "| Processes (world size) | 2 |" in card and "| Effective batch (sequences per step) | 16 |" in card
    metrics = json.loads((m / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["global_step"] > 0
    # the sources were read once: one profile lookup, one pass over the feed
    assert world["net"].count("getProfile") == 1 and world["net"].count("getAuthorFeed") == 2
    written = writers(world)
    assert written, "the audit hook saw nothing"
    assert any("/cache/bluesky/" in p for p in written) and any(p.endswith("/m/model.safetensors") or "/m/" in p for p in written)
    shared = {p: r for p, r in written.items() if len(r) > 1}
    assert shared == {}, f"files written by more than one process: {shared}"
    by_others = sorted(p for p, r in written.items() if r != {"0"})
    assert all(Path(p).name == "rng_state_1.pth" for p in by_others), by_others  # each process's own RNG state, for resume
    capsys.readouterr()
    assert main(["generate", str(m), "the lamp", "-n", "2", "--seed", "1", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


def test_refused_while_running_then_sigterm_and_resume(world):
    m = world["tmp"] / "m"
    # a quiet 2-core host stops it near step 60 (the refused launch takes that long): room for a busy one
    steps = ["--max-steps", "160", "--save-steps", "10", "--save-total-limit", "2"]
    # started by `train --processes 2` (torchrun's launch from our own process), so the stop ends in our lines only
    first = subprocess.Popen([sys.executable, "-m", "huggingtweets", "train", "--processes", "2", "--sample", *TINY, *steps,
                              "--output", str(m)], cwd=world["tmp"], env=world["env"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + RUN_S
        while not list((m / "checkpoints").glob("checkpoint-*")):
            assert first.poll() is None, first.stdout.read()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint came"
            time.sleep(0.2)
        second = run(world, [*TORCHRUN, "-m", "huggingtweets", "train", "--sample", *TINY, "--output", str(m), "--overwrite"])
        assert second.returncode != 0
        errors = own_lines(second.stdout + second.stderr)
        assert len(errors) == 1 and "in use by" in errors[0], second.stderr[-2000:]
        os.kill(first.pid, signal.SIGTERM)  # the launcher, as a scheduler or Ctrl-C would reach it
        out, _ = first.communicate(timeout=RUN_S)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert "Stopped at step" in out and first.returncode == 130, out[-3000:]
    assert "Traceback" not in out and "SignalException" not in out and "torch.distributed" not in out, out[-3000:]  # no launcher's report
    stopped = json.loads((m / "metrics.json").read_text())["global_step"]
    assert 0 < stopped < 160
    resumed = run(world, [*TORCHRUN, "-m", "huggingtweets", "train", "--resume", "--output", str(m)])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    metrics = json.loads((m / "metrics.json").read_text())
    assert metrics["global_step"] == 160 and metrics["world_size"] == 2 and not metrics["stopped"]
    assert not (m / "checkpoints").exists()


def test_accelerate_launch_with_a_config_file(world):
    config = world["tmp"] / "two-processes.yaml"
    # On a machine without GPUs accelerate's multi-process launcher runs CPU processes over gloo.
    config.write_text("compute_environment: LOCAL_MACHINE\ndistributed_type: MULTI_GPU\nnum_processes: 2\nnum_machines: 1\n"
                      "machine_rank: 0\nmixed_precision: 'no'\ndynamo_config: {}\nuse_cpu: false\nmain_training_function: main\n")
    m = world["tmp"] / "m"
    done = run(world, [str(BIN / "accelerate"), "launch", "--config_file", str(config), "-m", "huggingtweets", "train", "--sample", *TINY, "--epochs", "1", "--output", str(m)])
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((m / "metrics.json").read_text())["world_size"] == 2
    shared = {p: r for p, r in writers(world).items() if len(r) > 1}
    assert shared == {}


def worker_of_rank(world, rank: int) -> int:
    """The pid of this test's worker process of ``rank`` (found by its environment)."""
    for proc in Path("/proc").iterdir():
        try:
            env = dict(item.split("=", 1) for item in (proc / "environ").read_text().split("\0") if "=" in item)
        except (OSError, ValueError):
            continue
        if env.get("HT_WRITES_LOG") == world["env"]["HT_WRITES_LOG"] and env.get("RANK") == str(rank) and "TORCHELASTIC_RUN_ID" in env:
            return int(proc.name)
    raise AssertionError(f"no worker of rank {rank}")


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the worker through /proc (Linux)")
def test_a_dead_peer_ends_the_run_in_one_line(world):
    """One worker killed (the OOM killer, a lost node): the other stops with one line of ours, no stack."""
    m = world["tmp"] / "m"
    # the peer dies at the first checkpoint (step 10): 150 steps of room before the run could end
    steps = ["--max-steps", "160", "--save-steps", "10", "--save-total-limit", "2"]
    launcher = subprocess.Popen([*TORCHRUN, "-m", "huggingtweets", "train", "--sample", *TINY, *steps, "--output", str(m)],
                                cwd=world["tmp"], env=world["env"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + RUN_S
        while not list((m / "checkpoints").glob("checkpoint-*")):  # training is under way in both
            assert launcher.poll() is None, launcher.stdout.read()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint came"
            time.sleep(0.2)
        peer = worker_of_rank(world, 1)
        os.kill(peer, signal.SIGKILL)
        out, _ = launcher.communicate(timeout=RUN_S)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    assert launcher.returncode != 0
    ours = own_lines(out)
    assert len(ours) == 1, out[-4000:]
    assert "huggingtweets/" not in "\n".join(ln for ln in out.splitlines() if ln.lstrip().startswith("File ")), out[-4000:]
    assert "Another training process" in ours[0] or "interrupted" in ours[0], ours  # (torchrun may SIGTERM it first)


def test_bad_source_is_one_line_from_the_main_process(world):
    done = run(world, [*TORCHRUN, "-m", "huggingtweets", "train", "nosuchfile.zip", *TINY, "--output", str(world["tmp"] / "m")])
    assert done.returncode != 0
    text = done.stdout + done.stderr
    assert own_lines(text) == [own_lines(text)[0]] and own_lines(text)[0].startswith("error: File not found: nosuchfile.zip")
    # torchrun reports a failed process with a traceback of its own; none comes from ours
    assert "huggingtweets/" not in "\n".join(ln for ln in text.splitlines() if ln.lstrip().startswith("File "))
    assert not (world["tmp"] / "m").exists()
    # `train --processes 2`: the same line, and nothing of the launcher's
    done = run(world, [sys.executable, "-m", "huggingtweets", "train", "--processes", "2", "nosuchfile.zip", *TINY,
                       "--output", str(world["tmp"] / "m")])
    text = done.stdout + done.stderr
    assert done.returncode == 1 and "Traceback" not in text and "torch.distributed" not in text, text[-3000:]
    assert [ln for ln in text.splitlines() if ln.strip()] == [own_lines(text)[0]], text[-3000:]
    assert own_lines(text)[0].startswith("error: File not found: nosuchfile.zip")


NOTEBOOK_RUN = textwrap.dedent('''
    """The app's step 2 with "Train on every GPU" on a machine that (we say) has two: accelerate's
    notebook_launcher forks 2 processes (gloo on this CPU); progress comes back to the widgets."""
    import json, sys, time
    import huggingtweets.workflow as workflow
    workflow.device_count = lambda: 2  # what machine() reports
    from huggingtweets.ui import App

    app = App(demo="tiny", output_dir=sys.argv[1])
    app.data.button.click()
    assert app.dataset is not None, app.data.part("message").value
    step = app.train
    assert step.part("all_gpus").value and step.part("all_gpus").layout.display is None
    for name, value in {"block_size": 32, "max_steps": 120, "save_steps": 20, "logging_steps": 1}.items():
        step.part("fields")[name].value = value
    step.button.click()
    deadline = time.monotonic() + 240
    while step.part("progress").value < 4:  # steps counted from the worker processes
        assert step.running and time.monotonic() < deadline, step.part("message").value
        time.sleep(0.1)
    step.stop_button.click()
    assert step.wait(240)
    first = step.result
    assert first is not None and first.stopped, step.part("message").value
    points = step.part("plot").value.count(",")
    step.part("resume").value = True
    step.button.click()
    assert step.wait(300)
    second = step.result
    assert second is not None and not second.stopped, step.part("message").value
    print(json.dumps({"stopped_at": first.metrics["global_step"], "world": second.metrics["world_size"],
                      "final": second.metrics["global_step"], "plot_points": points, "status": step.part("status").value}))
''')


def test_notebook_launcher_trains_the_app_in_two_processes(world):
    script = world["tmp"] / "notebook_run.py"
    script.write_text(NOTEBOOK_RUN)
    done = run(world, [sys.executable, str(script), str(world["tmp"] / "app")])
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print(report)
    assert report["world"] == 2 and 0 < report["stopped_at"] < 120 and report["final"] == 120
    assert report["plot_points"] > 2 and "step" in report["status"]
