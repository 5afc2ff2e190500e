"""``huggingtweets batch``: a model per line, here or on Ray, resumable, one failure never
stopping the rest. Every run here trains the tiny model for a few steps, through the real CLI
in processes of its own (a batch is killed in one test, as a person or a scheduler would)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from huggingtweets.batch_line import LINE_MARK, Line, line_args, read_lines, sources_of
from huggingtweets.batches import batch
from huggingtweets.cli import main
from huggingtweets.errors import HuggingTweetsError

pytestmark = pytest.mark.subprocess

TINY = "--model tiny --block-size 32 --batch-size 2 --no-voice-score"
LONG_STEPS = 40  # the line that is killed part-way: long enough to be caught between checkpoints


def posts(path: Path, word: str, n: int = 120) -> Path:
    path.write_text("\n".join(f"the {word} on the pier watched the boats all night and said so {i}" for i in range(n)), encoding="utf-8")
    return path


def env(tmp_path: Path) -> dict:
    return {**os.environ, "HUGGINGTWEETS_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline",
            "TOKENIZERS_PARALLELISM": "false"}


def rows(root: Path) -> dict:
    data = json.loads((root / "batch.json").read_text(encoding="utf-8"))
    return {r["line"]: r for r in data["rows"]}


def three_lines(tmp_path: Path, long_steps: int = LONG_STEPS, save_steps: int = 4) -> Path:
    """The sample, a text file (the long one), and a line that must fail (three posts)."""
    posts(tmp_path / "wren.txt", "lamp")
    posts(tmp_path / "few.txt", "gull", 3)
    lines = tmp_path / "lines.txt"
    lines.write_text(
        "# three models, one of which cannot be made\n"
        f"--sample {TINY} --max-steps 6\n"
        "\n"
        f"wren.txt {TINY} --max-steps {long_steps} --save-steps {save_steps}\n"
        f"few.txt {TINY}\n", encoding="utf-8")
    return lines


def run_batch(tmp_path: Path, *extra: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "huggingtweets", "batch", "lines.txt", "--root", "out", *extra],
                          cwd=tmp_path, env=env(tmp_path), capture_output=True, text=True, timeout=timeout)


def wait_for(check, what: str, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert proc.poll() is None, f"the batch ended before {what}: {proc.stderr.read()[-3000:] if proc.stderr else ''}"
        assert time.monotonic() < deadline, f"no {what} in {timeout} s"
        time.sleep(0.1)


def checkpoints(folder: Path) -> list[Path]:
    return sorted((folder / "checkpoints").glob("checkpoint-*")) if (folder / "checkpoints").is_dir() else []


def assert_summary(root: Path, resumed: bool, long_steps: int = LONG_STEPS) -> None:
    found = rows(root)
    assert [found[n]["status"] for n in (2, 4, 5)] == ["skipped" if resumed else "done", "done", "failed"], found
    assert found[5]["reason"].startswith("Not enough tweets to train for @few"), found[5]["reason"]
    assert "\n" not in found[5]["reason"]
    for n, steps in ((2, 6), (4, long_steps)):
        folder = Path(found[n]["folder"])
        assert folder.parent == root.resolve() and found[n]["steps"] == steps and found[n]["held_out_loss"] > 0
        assert (folder / "README.md").is_file() and (folder / "model.safetensors").is_file()
        assert json.loads((folder / "metrics.json").read_text())["global_step"] == steps
        assert (folder / LINE_MARK).read_text(encoding="utf-8").strip() == found[n]["text"]
    assert {Path(found[n]["folder"]).name for n in (2, 4)} == {"wren_lighthouse", "wren"}


# --- the file --------------------------------------------------------------------------------------
def test_lines_are_trains_words_with_comments_and_quoted_paths(tmp_path):
    (tmp_path / "my posts.txt").write_text("x", encoding="utf-8")
    lines = read_lines(["# a comment", "", "  @jack --epochs 2  # why", "'my posts.txt' --preset quick", "--sample"])
    assert [(l.number, l.words) for l in lines] == [(3, ["@jack", "--epochs", "2"]), (4, ["my posts.txt", "--preset", "quick"]),
                                                   (5, ["--sample"])]
    args = line_args(lines[1], tmp_path)
    assert args.sources == [str(tmp_path / "my posts.txt")] and args.preset == "quick"  # read from the batch file's folder
    assert line_args(lines[0], tmp_path).epochs == 2.0 and line_args(lines[0], tmp_path).sources == ["@jack"]
    assert sources_of(lines[0], tmp_path) == {"jack"} and sources_of(lines[2], tmp_path) == set()  # a flag's value is no source


@pytest.mark.parametrize("text, says", [
    ("@jack --output elsewhere", "--output is the batch's to decide"),
    ("@jack --resume", "--resume is the batch's to decide"),
    ("@jack --epochs two", "Line 1 of the batch: argument --epochs: must be a number"),
    ("@jack --no-such-flag", "Line 1 of the batch: unrecognized arguments: --no-such-flag"),
])
def test_a_bad_line_is_one_line_naming_it(text, says):
    with pytest.raises(HuggingTweetsError) as err:
        line_args(Line(1, text, text.split()))
    assert says in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("text, says", [("", "has no lines"), ("@a 'unclosed", "Line 1 of the batch: No closing quotation")])
def test_a_bad_file_is_one_line(tmp_path, capsys, text, says):
    (tmp_path / "lines.txt").write_text(text, encoding="utf-8")
    assert main(["batch", str(tmp_path / "lines.txt"), "--root", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1
    assert main(["batch", str(tmp_path / "none.txt"), "--root", str(tmp_path / "out")]) == 1
    assert "No batch file at" in capsys.readouterr().err


def test_ray_missing_is_one_line_with_the_install(tmp_path, capsys, monkeypatch):
    (tmp_path / "lines.txt").write_text("--sample --model tiny\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "ray", None)  # as where the extra is not installed
    assert main(["batch", str(tmp_path / "lines.txt"), "--root", str(tmp_path / "out"), "--ray"]) == 1
    err = capsys.readouterr().err
    assert "--ray needs Ray" in err and "pip install" in err and err.count("error:") == 1


# --- on this machine ---------------------------------------------------------------------------------
def test_a_batch_trains_each_line_records_the_failure_and_a_killed_one_resumes(tmp_path):
    """Killed mid-way (the whole process group, as a crash or an OOM kill of the machine would),
    then run again: the finished model is skipped without a download, the unfinished one resumes
    to the step an uninterrupted run ends at, the failure is recorded again, the exit status says so."""
    three_lines(tmp_path)
    root = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "huggingtweets", "batch", "lines.txt", "--root", "out"], cwd=tmp_path,
                            env=env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        long_folder = root / "wren"
        wait_for(lambda: (root / "batch.json").is_file() and rows(root)[2]["status"] == "done", "the first model", proc)
        wait_for(lambda: len(checkpoints(long_folder)) >= 1, "a checkpoint of the second", proc)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stdout.close()
        proc.stderr.close()
    assert rows(root)[4]["status"] == "not run" and not (long_folder / "metrics.json").exists()
    stopped_at = int(checkpoints(long_folder)[-1].name.split("-")[1])
    assert 0 < stopped_at < LONG_STEPS

    again = run_batch(tmp_path)
    assert again.returncode == 1, again.stderr[-3000:]  # one line failed
    assert_summary(root, resumed=True)
    found = rows(root)
    assert found[2]["reason"].startswith("finished before") and found[2]["minutes"] == 0.0  # nothing downloaded or loaded
    assert any(n.startswith("resumed from step ") for n in found[4]["notes"]), found[4]
    table = again.stdout
    assert "skipped" in table and "failed" in table and "2 of 3 models in out" in table

    third = run_batch(tmp_path)  # all finished: only the failed line runs again
    assert third.returncode == 1 and [rows(root)[n]["status"] for n in (2, 4, 5)] == ["skipped", "skipped", "failed"]


@pytest.mark.parametrize("way", ["--parallel 2", "--ray"])
def test_lines_run_side_by_side_but_never_two_on_one_source_and_the_api_is_the_same_call(tmp_path, way):
    """--parallel 2 (or Ray's tasks on 2 CPUs) through the Python API: the two lines that share
    wren.txt never run at once (the second reads what the first cached); the one with its own
    source runs beside."""
    if way == "--ray":
        pytest.importorskip("ray")
    for name, word in (("wren.txt", "lamp"), ("gull.txt", "rope"), ("heron.txt", "tide")):
        posts(tmp_path / name, word)
    (tmp_path / "lines.txt").write_text(
        f"wren.txt {TINY} --max-steps 10\nwren.txt gull.txt {TINY} --max-steps 4\nheron.txt {TINY} --max-steps 10\n", encoding="utf-8")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    seen = []
    result = batch(tmp_path / "lines.txt", tmp_path / "out", parallel=2, ray="local" if way == "--ray" else None, cache_dir=str(tmp_path / "cache"),
                   on_row=lambda row, done, total: seen.append((row.line, row.status, done, total)))
    assert result.ok and [r.status for r in result.rows] == ["done", "done", "done"], [r.reason for r in result.rows]
    assert sorted(n for n, *_ in seen) == [1, 2, 3] and [done for *_, done, _ in seen] == [1, 2, 3]
    first, shared, alone = result.rows
    assert {Path(r.folder).name for r in result.rows} == {"wren", "gull-wren", "heron"}
    assert shared.started >= first.started + first.minutes * 60 - 1.0  # waited for the line on the same source
    assert alone.started < first.started + first.minutes * 60  # ran beside it
    assert json.loads((tmp_path / "out" / "batch.json").read_text())["rows"][1]["folder"] == shared.folder


def test_a_folder_of_another_runs_model_is_left_alone(tmp_path, capsys):
    """The line's folder holds a model it did not train (another line, or a hand-made run): the
    line fails in one line and the folder is untouched."""
    posts(tmp_path / "wren.txt", "lamp")
    assert main(["train", str(tmp_path / "wren.txt"), *TINY.split(), "--max-steps", "2", "--output", str(tmp_path / "out" / "wren")]) == 0
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "out" / "wren").rglob("*")}
    (tmp_path / "lines.txt").write_text(f"wren.txt {TINY} --max-steps 3\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["batch", str(tmp_path / "lines.txt"), "--root", str(tmp_path / "out")]) == 1
    row = rows(tmp_path / "out")[1]
    assert row["status"] == "failed" and "holds a model another run trained" in row["reason"]
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out" / "wren").rglob("*")} == before


# --- on Ray ---------------------------------------------------------------------------------------------
def ray_workers() -> list[int]:
    """The pids of Ray workers running a line now (their process title names the task)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(b"ray::_line_task"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_the_same_batch_on_a_local_ray_with_a_worker_killed_mid_line(tmp_path):
    pytest.importorskip("ray")
    # Ray may start the long line first, beside the sample (two tasks at once): it is long enough
    # to be still running, with a checkpoint, once the other two lines are over.
    long_steps = 400
    three_lines(tmp_path, long_steps, save_steps=50)
    root = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "huggingtweets", "batch", "lines.txt", "--root", "out", "--ray"], cwd=tmp_path,
                            env=env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        long_folder = root / "wren"
        others_over = lambda: (root / "batch.json").is_file() and [rows(root).get(n, {}).get("status") for n in (2, 5)] == ["done", "failed"]  # noqa: E731
        wait_for(others_over, "the other two lines", proc)
        wait_for(lambda: len(checkpoints(long_folder)) >= 1 and ray_workers(), "a checkpoint of the long line", proc)
        killed = ray_workers()
        for pid in killed:  # only the long line's task is running now
            os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 1, err[-3000:]
    assert killed and "Ray: 3 line(s) as tasks of 1 CPU each" in err
    assert_summary(root, resumed=False, long_steps=long_steps)
    assert any(n.startswith("resumed from step ") for n in rows(root)[4]["notes"]), rows(root)[4]  # its retry resumed


def test_each_model_exported_and_pushed_as_asked_and_the_token_never_written(tmp_path, monkeypatch, capsys):
    """--export gguf --push: each line's model also becomes ROOT/NAME.gguf and a Hub repo NAME
    (a local stand-in for the Hub, reached from the line's own process)."""
    from fake_hub import TOKEN, FakeHub

    with FakeHub() as hub:
        for name, value in (("HF_ENDPOINT", hub.url), ("HF_TOKEN", TOKEN), ("HF_HUB_OFFLINE", "0"), ("HF_HUB_DISABLE_XET", "1"),
                            ("HF_HOME", str(tmp_path / "hf-home"))):
            monkeypatch.setenv(name, value)
        (tmp_path / "lines.txt").write_text(f"--sample {TINY} --max-steps 2\n", encoding="utf-8")
        code = main(["batch", str(tmp_path / "lines.txt"), "--root", str(tmp_path / "out"), "--export", "gguf", "--push",
                     "--cache-dir", str(tmp_path / "cache")])
        out = capsys.readouterr()
        assert code == 0, out.err[-3000:]
        row = rows(tmp_path / "out")[1]
        gguf = tmp_path / "out" / "wren_lighthouse.gguf"
        assert row["status"] == "done" and f"gguf: {gguf}, {gguf.with_suffix('.Modelfile')}" in row["notes"] and gguf.read_bytes()[:4] == b"GGUF"
        assert (tmp_path / "out" / "wren_lighthouse.Modelfile").is_file()
        assert [c.repo for c in hub.commits] == ["me/wren_lighthouse"] and "model.safetensors" in hub.commits[0].files
        assert any(n.startswith("Hub: ") and "me/wren_lighthouse" in n for n in row["notes"])
    assert TOKEN not in out.out + out.err + (tmp_path / "out" / "batch.json").read_text()
