"""Smaller command-line edges: bad flag values name the flag, --num-training on every data set,
--data-dir that is a file or an empty folder, and the thread default of a resumed run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinyvision import parallel
from tinyvision.cli import main


@pytest.mark.parametrize(
    "options, flag, shown",
    [
        (["--seed", "-1"], "--seed", "non-negative integer, got -1"),
        (["--num-training", "0"], "--num-training", "positive integer, got 0"),
        (["--epochs", "0"], "--epochs", "positive integer, got 0"),
        (["--hidden-dims", "64,-3"], "--hidden-dims", "positive integer, got -3"),
        (["--dropout", "1.5"], "--dropout", "1.5"),
        (["--dtype", "float16"], "--dtype", "float16"),
    ],
)
def test_a_bad_flag_value_is_refused_naming_the_flag(tmp_path, capsys, options, flag, shown):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *options, "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and shown in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("dataset", ["digits", "spiral"])
def test_num_training_takes_the_first_examples_of_every_data_set(tmp_path, capsys, dataset):
    out = tmp_path / "run"
    argv = ["-q", "train", "--dataset", dataset, "--num-training", "40", "--out", str(out)]
    assert main(argv) == 0
    assert json.loads((out / "metrics.json").read_text())["num_train"] == 40
    assert main(["-q", "evaluate", str(out)]) == 0


def test_num_training_beyond_the_data_set_names_the_flag_and_the_limit(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--num-training", "5000", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--num-training 5000" in err and "1257" in err
    assert len(err.strip().splitlines()) == 1


def test_a_file_given_as_data_dir_is_reported_as_a_file(tmp_path, capsys):
    given = tmp_path / "notes.txt"
    given.write_text("not a folder")
    argv = ["train", "--dataset", "cifar10", "--data-dir", str(given), "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{given} is a file, not a folder" in err
    assert "does not exist" not in err


def test_an_empty_data_dir_says_how_to_fill_that_same_folder(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = ["train", "--dataset", "cifar10", "--data-dir", str(empty), "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"tinyvision data download cifar10 --data-dir {empty}`" in err
    assert f"--data-dir {empty} " in err


def test_data_commands_take_data_dir_and_exit_2_on_missing_data(tmp_path, capsys):
    argv = ["data", "info", "cifar10", "--data-dir", str(tmp_path)]
    assert main(argv) == 0
    assert f"tinyvision data download cifar10 --data-dir {tmp_path}" in capsys.readouterr().out
    url = (tmp_path / "absent.tar.gz").as_uri()
    download = ["data", "download", "cifar10", "--data-dir", str(tmp_path / "d"), "--url", url]
    assert main([*download, "--no-progress"]) == 2
    assert "tinyvision data: error:" in capsys.readouterr().err


def _resume_threads(tmp_path, monkeypatch, dataset):
    run = tmp_path / dataset
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": "fc", "dataset": dataset}))
    calls = []
    monkeypatch.setattr(parallel, "set_num_threads", calls.append)
    assert main(["train", "--resume", str(run)]) == 2
    return calls


def test_resume_takes_the_thread_default_of_the_runs_own_data_set(tmp_path, monkeypatch, capsys):
    restored = parallel.num_threads()
    assert _resume_threads(tmp_path, monkeypatch, "digits") == [1, restored]
    assert _resume_threads(tmp_path, monkeypatch, "cifar10") == [restored]
    assert "no checkpoint.npz" in capsys.readouterr().err


def test_list_flags_parse_into_tuples():
    from tinyvision.cli import build_parser
    from tinyvision.cli.options import config_from_args
    from tinyvision.config import TrainConfig

    args = build_parser().parse_args(["train", "--features", "hog,hsv", "--hidden-dims", "64,32"])
    config = config_from_args(args, TrainConfig)
    assert config.features == ("hog", "hsv") and config.hidden_dims == (64, 32)


def test_an_interrupted_command_exits_even_when_a_library_left_a_thread_running():
    """Exit status 130 (Ctrl-C) ends the process although a non-daemon thread still runs, as
    Optuna's heartbeat thread may when the interruption catches it waiting for a lock."""
    code = (
        "import threading, time\n"
        "from tinyvision import cli\n"
        "threading.Thread(target=time.sleep, args=(600,)).start()\n"
        "cli.main = lambda: 130\n"
        "cli.run()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    finished = subprocess.run([sys.executable, "-c", code], env=env, timeout=60)
    assert finished.returncode == 130


@pytest.mark.parametrize("model", ["torch-cnn", "keypoints", "segmentation"])
def test_lightning_models_refuse_two_kinds_of_clipping(model, capsys):
    pytest.importorskip("pytorch_lightning", reason="the PyTorch track needs the torch extra")
    argv = ["-q", "train", "--model", model, "--clip-value", "1", "--clip-norm", "1"]
    assert main(argv) == 2
    assert "clips by value or by norm, not both" in capsys.readouterr().err
