"""`tinyvision train --model unet`: the NumPy U-Net through the segmentation task and the Solver,
its run folder, `evaluate`, and the settings it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tinyvision.cli import main
from tinyvision.data.segmentation_generator import SceneSizes, write_segmentation_scenes


def _scenes(tmp_path: Path) -> Path:
    data = tmp_path / "scenes"
    write_segmentation_scenes(data, SceneSizes(train=8, val=4, test=4, size=32))
    return data


def _argv(data: Path, out: Path, *flags: str) -> list[str]:
    argv = ["-q", "train", "--model", "unet", "--data-dir", str(data), "--crop-size", "32"]
    argv += ["--channels", "4,8", "--epochs", "2", "--batch-size", "4", "--out", str(out)]
    return [*argv, *flags]


def test_cli_trains_scores_draws_and_evaluates_the_unet(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_argv(_scenes(tmp_path), out)) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "unet" and metrics["num_train"] == 8
    for split in ("train", "val", "test"):
        assert 0.0 <= metrics[f"{split}_pixel_acc"] <= 1.0
    history = json.loads((out / "history.json").read_text())
    assert metrics["epochs_run"] == 2 and len(history["loss_history"]) == 2 * 2
    assert (out / "segmentation.png").is_file() and (out / "checkpoint.npz").is_file()
    assert "test pixel accuracy" in capsys.readouterr().out
    assert main(["-q", "evaluate", str(out)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out
    state = np.load(out / "model.npz")
    assert "model/up0.W" in state.files and state["model/up0.W"].shape == (8, 4, 2, 2)


def test_cli_refuses_a_crop_the_pools_cannot_halve_and_segmentation_only_flags(tmp_path, capsys):
    data = tmp_path / "absent"
    refused = {
        "--crop-size 30 must be a multiple of 4": ("--channels", "4,8,16", "--crop-size", "30"),
        "--residual do not apply to --model unet": ("--residual",),
        "at least two widths": ("--channels", "8"),
    }
    for message, flags in refused.items():
        assert main(_argv(data, tmp_path / "run", *flags)) != 0
        assert message in capsys.readouterr().err
    assert not data.exists()
