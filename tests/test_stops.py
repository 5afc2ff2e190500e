"""Stops that say so (issue 28), through a real process and real signals: the first Ctrl-C (or
SIGTERM) prints the stopping line at once; the stopped model's card, train_config.json and
metrics say where it stopped, and generate and export name it before using it; the command
the stop message gives (the one typed, plus --resume) finishes the run, while other sources
are one line naming what differs."""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time

import pytest

from huggingtweets.cli import main
from huggingtweets.workflow import STOPPING

pytestmark = pytest.mark.subprocess

STEPS = 80


def start(args, cwd):
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="120")
    return subprocess.Popen([sys.executable, "-m", "huggingtweets", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)


class Reader:
    """stderr as it arrives (tqdm writes with carriage returns), with the time each piece came."""

    def __init__(self, stream):
        self.pieces: list[tuple[float, str]] = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for chunk in iter(lambda: stream.read(1), ""):
            self.pieces.append((time.monotonic(), chunk))

    @property
    def text(self) -> str:
        return "".join(c for _, c in self.pieces)

    def when(self, needle: str) -> float:
        seen = ""
        for at, chunk in self.pieces:
            seen += chunk
            if needle in seen:
                return at
        raise AssertionError(f"{needle!r} never came:\n{self.text[-2000:]}")

    def step(self) -> int:
        found = re.findall(r"(\d+)/" + str(STEPS), self.text)
        return int(found[-1]) if found else 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_says_so_and_the_typed_command_plus_resume_finishes_it(tmp_path, sig, capsys):
    posts = tmp_path / "posts.txt"
    posts.write_text("\n".join(f"the lamp on the pier burned all night long and the gulls said so {i}" for i in range(120)))
    out = tmp_path / "bot"
    typed = ["train", str(posts), "--model", "tiny", "--output", str(out), "--max-steps", str(STEPS), "--save-steps", "5",
             "--block-size", "32", "--batch-size", "2", "--no-voice-score"]
    proc = start(typed, tmp_path)
    reader = Reader(proc.stderr)
    deadline = time.monotonic() + 300
    while reader.step() < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, reader.text[-2000:]
    signalled = time.monotonic()
    proc.send_signal(sig)
    assert proc.wait(timeout=300) == 130
    reader.thread.join(timeout=10)
    assert reader.when(STOPPING) - signalled < 1.0, "the stopping line came late"

    metrics = json.loads((out / "metrics.json").read_text())
    note = f"stopped at step {metrics['global_step']} of {STEPS}"
    assert metrics["stopped"] is True and 3 <= metrics["global_step"] < STEPS
    assert json.loads((out / "train_config.json").read_text())["stopped"] == note
    assert f"This run was {note}" in (out / "README.md").read_text()
    command = shlex.join(["huggingtweets", *typed, "--resume"])
    assert f"{note.capitalize()}, saved in {out}. To finish it, run: {command}" in reader.text

    # In this process (the stop above and the finish below are the ones a real process must show):
    capsys.readouterr()
    assert main(["generate", str(out), "-n", "1", "--no-voice"]) == 0
    assert f"note: bot was {note}" in capsys.readouterr().err

    # Another source with --resume: one line that names it, nothing trained.
    assert main([*typed[:1], "--sample", *typed[2:], "--resume"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "these differ from it: sources" in err and "--sample" in err, err

    words = shlex.split(command)
    assert words[0] == "huggingtweets"
    stopped_step = metrics["global_step"]
    finished = subprocess.run([sys.executable, "-m", "huggingtweets", *words[1:]], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert f"Resuming the run in {out} from step {stopped_step} of {STEPS}." in finished.stderr  # says it resumes, and from where
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["global_step"] == STEPS and metrics["stopped"] is False
    assert "stopped" not in json.loads((out / "train_config.json").read_text())
    assert "This run was stopped" not in (out / "README.md").read_text()
