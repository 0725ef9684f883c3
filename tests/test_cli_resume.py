"""`tinyvision train --resume RUN` after a SIGKILL mid-epoch reaches the parameters of an
uninterrupted run, bit for bit, including augmentation's random crops and flips."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinyvision import registry
from tinyvision.checkpoint import load_checkpoint
from tinyvision.cli import main
from tinyvision.files import load_arrays

NO_TORCH = importlib.util.find_spec("pytorch_lightning") is None

RUNS = {
    "fc": ["--model", "fc", "--epochs", "6", "--batch-size", "10", "--augment"],
    "convnet": [
        "--model", "convnet", "--epochs", "4", "--batch-size", "25", "--augment",
        "--channels", "8,16", "--dropout", "0.2",
    ],
    "torch-cnn": [
        "--model", "torch-cnn", "--epochs", "4", "--batch-size", "32", "--augment",
        "--channels", "8,16,32", "--dropout", "0.2",
    ],
}  # fmt: skip
CASES = [
    pytest.param(
        name,
        marks=pytest.mark.skipif(
            name.startswith("torch") and NO_TORCH,
            reason="the PyTorch track needs: pip install -e '.[torch]'",
        ),
    )
    for name in RUNS
]


def _checkpoint_epoch(path: Path) -> int:
    """The number of finished epochs a run folder's checkpoint holds."""
    if path.suffix == ".ckpt":
        import torch

        return int(torch.load(path, map_location="cpu", weights_only=True)["epoch"]) + 1
    return load_checkpoint(path).epoch


def _kill_mid_run(args: list[str], out: Path, checkpoint: Path) -> None:
    """Start `tinyvision train` in a child process and SIGKILL it after its first checkpoint."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tinyvision", "-q", "train", *args, "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not checkpoint.exists():
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            time.sleep(0.01)
        time.sleep(0.05)
        assert child.poll() is None, "the run finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("name", CASES)
def test_resume_after_sigkill_matches_an_uninterrupted_run(name, tmp_path, capsys):
    args, killed = RUNS[name], tmp_path / "killed"
    checkpoint = killed / registry.get(name).checkpoint
    _kill_mid_run(args, killed, checkpoint)
    stopped_at = _checkpoint_epoch(checkpoint)
    assert not (killed / "metrics.json").exists()
    assert main(["-q", "train", "--resume", str(killed)]) == 0
    reference = tmp_path / "reference"
    assert main(["-q", "train", *args, "--out", str(reference)]) == 0
    ours, theirs = load_arrays(killed / "model.npz"), load_arrays(reference / "model.npz")
    assert ours.keys() == theirs.keys()
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
    history = json.loads((killed / "history.json").read_text())
    assert (
        history["loss_history"]
        == json.loads((reference / "history.json").read_text())["loss_history"]
    )
    assert 1 <= stopped_at < history["epoch"]
    assert not (killed / ".lock").exists()


def test_resume_refuses_what_it_cannot_continue(tmp_path, capsys):
    finished = tmp_path / "finished"
    assert main(["-q", "train", "--model", "fc", "--epochs", "1", "--out", str(finished)]) == 0
    assert main(["-q", "train", "--resume", str(finished)]) == 2
    assert "holds a finished run" in capsys.readouterr().err
    assert main(["-q", "train", "--resume", str(finished), "--epochs", "3"]) == 2
    assert "leave out --epochs" in capsys.readouterr().err
    linear = tmp_path / "linear"
    assert main(["-q", "train", "--out", str(linear)]) == 0
    (linear / "metrics.json").unlink()
    assert main(["-q", "train", "--resume", str(linear)]) == 2
    assert "trains in one go" in capsys.readouterr().err
    assert main(["-q", "train", "--resume", str(tmp_path / "nothing")]) == 2
    assert "is not a run folder" in capsys.readouterr().err
