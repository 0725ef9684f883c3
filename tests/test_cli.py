"""The command line end to end: train writes a complete run folder, evaluate reproduces it."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from tinyvision.cli import main

RUN_FILES = {"config.json", "metrics.json", "history.json", "model.npz", "loss.png"}


def _train(tmp_path, *options):
    out = tmp_path / "run"
    code = main(["--quiet", "train", *options, "--out", str(out)])
    assert code == 0
    return out


def test_default_train_writes_run_folder_and_evaluate_reproduces_it(tmp_path, capsys):
    out = _train(tmp_path)
    assert RUN_FILES <= {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    assert {
        "train_acc",
        "val_acc",
        "test_acc",
        "total_seconds",
        "fit_seconds",
        "eval_seconds",
        "model",
        "dataset",
    } <= set(metrics)
    assert metrics["model"] == "softmax" and metrics["dataset"] == "digits"
    # Ten balanced classes: chance is 0.1; a working softmax on the digits is far above it.
    assert metrics["test_acc"] > 0.85
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and str(out) in printed

    assert main(["--quiet", "evaluate", str(out)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out


@pytest.mark.parametrize(
    "options, minimum",
    [
        (["--model", "svm"], 0.85),
        (["--model", "knn"], 0.9),
        (["--model", "two-layer", "--epochs", "10"], 0.85),
        (["--model", "fc", "--epochs", "5", "--hidden-dims", "32,32"], 0.85),
        (["--model", "fc", "--epochs", "10", "--hidden-dims", "32,32", "--augment"], 0.8),
        (["--model", "two-layer", "--dataset", "spiral"], 0.9),
    ],
)
def test_each_model_trains_and_reloads(tmp_path, capsys, options, minimum):
    out = _train(tmp_path, *options)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_acc"] >= minimum
    assert main(["--quiet", "evaluate", str(out)]) == 0


def test_cosine_schedule_anneals_the_learning_rate_per_update(tmp_path, capsys):
    out = _train(tmp_path, "--model", "fc", "--epochs", "4", "--schedule", "cosine", "--lr", "0.01")
    history = json.loads((out / "history.json").read_text())
    steps = history["iterations_per_epoch"]
    # lr_history holds the rate of each epoch's last update, t = e * steps - 1: half a cosine
    # over all 4 * steps updates, reaching 0 after the last one.
    expected = [
        0.01 * 0.5 * (1 + math.cos(math.pi * (e * steps - 1) / (4 * steps))) for e in (1, 2, 3, 4)
    ]
    np.testing.assert_allclose(history["lr_history"], expected, rtol=1e-6)
    assert json.loads((out / "metrics.json").read_text())["test_acc"] >= 0.85


@pytest.mark.parametrize(
    "options, minimum",
    [
        (["--model", "cnn", "--epochs", "3", "--num-filters", "8"], 0.85),
        (["--model", "convnet", "--epochs", "5", "--channels", "8,16"], 0.85),
        (
            [
                "--model",
                "convnet",
                "--epochs",
                "4",
                "--channels",
                "8,16",
                "--residual",
                "--augment",
            ],
            0.5,
        ),
    ],
    ids=["cnn", "convnet", "resnet-augmented"],
)
def test_conv_models_train_on_images_plot_filters_and_reload(tmp_path, capsys, options, minimum):
    out = _train(tmp_path, *options)
    assert RUN_FILES | {"filters.png"} <= {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_acc"] >= minimum
    capsys.readouterr()
    assert main(["--quiet", "evaluate", str(out)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out


def test_bad_option_values_are_reported_without_a_traceback(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--threads", "0", "train", "--out", str(tmp_path / "r")])
    assert exit_info.value.code == 2
    assert "--threads must be at least 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options, message",
    [
        (["--model", "cnn", "--filter-size", "4"], "filter_size must be odd"),
        (["--model", "convnet", "--channels", "8,16,32,64"], "must be multiples of 16"),
    ],
)
def test_bad_conv_options_are_reported_without_a_traceback(tmp_path, capsys, options, message):
    assert main(["train", *options, "--out", str(tmp_path / "r")]) == 2
    assert message in capsys.readouterr().err


def test_evaluate_on_a_missing_folder_says_what_is_missing(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nowhere")]) == 2
    assert "config.json" in capsys.readouterr().err


def test_module_entry_point_prints_help():
    result = subprocess.run(
        [sys.executable, "-m", "tinyvision", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("train", "evaluate", "data", "gradcheck"):
        assert command in result.stdout
