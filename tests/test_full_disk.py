"""A full disk during a checkpoint or the final save is one line and keeps the whole files (a real
small filesystem: tmpfs in a private mount namespace); a write that cannot happen is not a full disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

import huggingtweets
from huggingtweets.cli import main

from bad_input_kit import TINY, error_line

pytestmark = pytest.mark.subprocess


# --- a full disk: a real small filesystem (tmpfs in a private mount namespace) -------------------
FULL_DISK = r"""
set -u
mount -t tmpfs -o size=$HT_SIZE tmpfs "$HT_DISK" || exit 97
if [ -n "${HT_SEED:-}" ]; then cp -r "$HT_SEED" "$HT_DISK/m" || exit 98; fi
"$HT_PY" -m huggingtweets train --sample --model tiny --block-size 32 --output "$HT_DISK/m" $HT_ARGS 2>"$HT_OUT/stderr"
echo $? > "$HT_OUT/rc"
"$HT_PY" - "$HT_DISK/m" > "$HT_OUT/folder.json" <<'PY'
import json, sys
from pathlib import Path
from huggingtweets.folder import ModelFolder, checkpoint_ok
folder = ModelFolder(sys.argv[1])
files = {str(p.relative_to(folder.path)): p.stat().st_size for p in folder.path.rglob("*") if p.is_file()}
print(json.dumps({"files": files, "checkpoints": {p.name: checkpoint_ok(p) for p in folder.checkpoints()},
                  "has_model": folder.has_model(), "incomplete": folder.incomplete()}))
PY
"""


def run_on_small_disk(tmp_path, size: str, args: str, seed: Optional[Path] = None) -> tuple[int, str, dict]:
    """``huggingtweets train`` with its --output on a tmpfs of ``size``; (exit code, stderr, the folder)."""
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    env = {**os.environ, "HT_SIZE": size, "HT_DISK": str(disk), "HT_OUT": str(out), "HT_ARGS": args,
           "HT_PY": sys.executable, "HT_SEED": str(seed or ""), "HUGGINGTWEETS_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": str(Path(huggingtweets.__file__).resolve().parent.parent), "WANDB_MODE": "offline"}
    try:
        proc = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", FULL_DISK], env=env,
                              capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        pytest.skip("no unshare here")
    if proc.returncode in (97, 98) or not (out / "rc").exists():
        pytest.skip(f"cannot mount a small filesystem here: {proc.stderr[-300:]}")
    return int((out / "rc").read_text()), (out / "stderr").read_text(), json.loads((out / "folder.json").read_text())


def test_a_full_disk_during_a_checkpoint_is_one_line_and_keeps_the_whole_ones(tmp_path):
    code, err, folder = run_on_small_disk(tmp_path, "20m", "--max-steps 8 --save-steps 2 --save-total-limit 5")
    assert code == 1 and "Traceback" not in err, err[-3000:]
    line = error_line(err)
    assert "No space left on" in line and "free" in line and "choose another --output" in line and "--resume continues" in line
    assert folder["checkpoints"] and all(folder["checkpoints"].values()), folder  # only whole checkpoints remain
    assert not any(name.endswith(".tmp") for name in folder["files"])


def test_a_full_disk_during_the_final_save_keeps_the_old_model(tmp_path):
    old = tmp_path / "old"
    assert main(["train", "--sample", *TINY, "--output", str(old)]) == 0
    weights = (old / "model.safetensors").stat().st_size
    size = f"{(weights + 2_000_000) // 1024}k"  # the old model fits; a second copy of the weights does not
    code, err, folder = run_on_small_disk(tmp_path, size, "--max-steps 1 --save-steps 100 --overwrite", seed=old)
    assert code == 1 and "Traceback" not in err, err[-3000:]
    assert "No space left on" in error_line(err) and "The model could not be saved" in error_line(err)
    assert folder["has_model"] and not folder["incomplete"]
    assert folder["files"]["model.safetensors"] == weights and ".staging" not in " ".join(folder["files"])


def test_a_write_where_nothing_can_be_written_is_not_a_full_disk(tmp_path):
    """/proc has no size (free 0): a missing folder there, or a denied write, is said as it is,
    never "No space left on /proc"."""
    from huggingtweets.diskio import disk_full

    for where in ("/proc/x.zip", "/proc/nowhere/x.zip"):
        try:
            open(where, "wb").close()
        except OSError as err:
            assert not disk_full(err, where), where
    assert not disk_full(PermissionError(13, "Permission denied"), tmp_path / "x")
    assert disk_full(OSError(28, "No space left on device"), tmp_path / "x")
