"""Run folders under faults: tampered folders, live and reused --out, diverged runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tinyvision.cli import main
from tinyvision.files import load_arrays, save_arrays


@pytest.fixture(scope="module")
def fc_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "fc"
    args = ["-q", "train", "--model", "fc", "--epochs", "1", "--out", str(out)]
    assert main(args) == 0
    return out


def _copy(run, tmp_path):
    target = tmp_path / "copy"
    target.mkdir()
    for path in run.iterdir():
        if path.is_file():
            (target / path.name).write_bytes(path.read_bytes())
    return target


def _drop(key):
    def change(folder):
        arrays = load_arrays(folder / "model.npz")
        del arrays[key]
        save_arrays(folder / "model.npz", arrays)

    return change


def _reshape(key):
    def change(folder):
        arrays = load_arrays(folder / "model.npz")
        arrays[key] = np.zeros((2, 2), dtype=arrays[key].dtype)
        save_arrays(folder / "model.npz", arrays)

    return change


def _config(value):
    return lambda folder: (folder / "config.json").write_text(json.dumps(value))


def _model_name(folder):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model": "nope"}))


@pytest.mark.parametrize(
    "tamper, names",
    [
        (_drop("model/W1"), ["model.npz", "W1"]),
        (_drop("model/bn1/running_mean"), ["model.npz", "bn1/running_mean"]),
        (_drop("prep/mean"), ["model.npz", "mean"]),
        (_reshape("model/W2"), ["model.npz", "W2"]),
        (_config(None), ["config.json", "JSON object"]),
        (_config([1, 2]), ["config.json", "JSON object"]),
        (_model_name, ["config.json", "nope"]),
    ],
)
def test_evaluate_on_a_tampered_folder_is_a_one_line_error(fc_run, tmp_path, capsys, tamper, names):
    folder = _copy(fc_run, tmp_path)
    tamper(folder)
    assert main(["-q", "evaluate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinyvision: error:") and err.count("\n") == 1
    for name in names:
        assert name in err


def test_a_live_folder_is_refused_and_a_finished_one_needs_overwrite(fc_run, tmp_path, capsys):
    folder = _copy(fc_run, tmp_path)
    (folder / ".lock").write_text(str(os.getppid()))  # a live process holds the folder
    args = ["-q", "train", "--epochs", "1", "--out", str(folder)]
    assert main(args) == 2
    assert "another run" in capsys.readouterr().err
    (folder / ".lock").unlink()
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    names = {p.name for p in folder.iterdir()}
    assert "checkpoint.npz" not in names and "best.npz" not in names  # the fc run's files
    assert json.loads((folder / "config.json").read_text())["model"] == "softmax"
    assert main(["-q", "train", "--out", ""]) == 2
    assert "empty string" in capsys.readouterr().err


# The overflow on the way to a non-finite loss is what this test provokes.
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_diverged_run_writes_its_folder_with_status_diverged(tmp_path, capsys):
    out = tmp_path / "diverged"
    args = ["-q", "train", "--model", "two-layer", "--lr", "1e12", "--epochs", "3"]
    assert main([*args, "--out", str(out)]) == 2
    assert "tinyvision: error:" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "diverged"
    assert main(["-q", "evaluate", str(out)]) == 0


def test_two_processes_into_one_out_leave_one_consistent_run(tmp_path):
    out = tmp_path / "shared"
    commands = [
        [sys.executable, "-m", "tinyvision", "-q", "train", "--model", model, "--out", str(out)]
        for model in ("softmax", "svm")
    ]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for command in commands
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in processes]
    for p in processes:
        p.stdout.close()
        p.stderr.close()
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(message for code, message in results if code == 2)
    assert str(out) in refused and "tinyvision: error:" in refused
    assert len(refused.strip().splitlines()) == 1
    winner = json.loads((out / "config.json").read_text())["model"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == winner
    assert main(["-q", "evaluate", str(out)]) == 0
