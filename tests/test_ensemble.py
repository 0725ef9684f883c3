"""Model ensembles: `tinyvision evaluate RUN1 RUN2 ...` averages the runs' class probabilities,
checked against an independent average; runs of other data or splits are refused."""

import json

import numpy as np
import pytest
from assertions import assert_close
from scipy.special import softmax

from tinyvision.cli import main
from tinyvision.ensemble import average_probabilities, evaluate_ensemble
from tinyvision.errors import DataError
from tinyvision.pipeline import load_run

FAST = ["--epochs", "2", "--num-test", "120", "--num-val", "60"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ensemble")
    commands = {
        "softmax": ["--model", "softmax", *FAST],
        "fc": ["--model", "fc", "--hidden-dims", "16", *FAST],
        "fc-seed": ["--model", "fc", "--hidden-dims", "16", "--seed", "3", *FAST],
        "other-split": ["--model", "softmax", "--epochs", "2", "--num-test", "100"],
        "spiral": ["--model", "softmax", "--dataset", "spiral", "--epochs", "2"],
    }
    for name, args in commands.items():
        assert main(["-q", "train", *args, "--out", str(root / name)]) == 0
    return root


def test_average_probabilities_is_the_mean_and_checks_shapes():
    a, b = np.array([[0.2, 0.8], [1.0, 0.0]]), np.array([[0.6, 0.4], [0.5, 0.5]])
    assert_close(average_probabilities([a, b]), [[0.4, 0.6], [0.75, 0.25]], rtol=1e-15)
    with pytest.raises(ValueError, match="one shape"):
        average_probabilities([a, np.ones((2, 3)) / 3])
    with pytest.raises(ValueError, match="at least one"):
        average_probabilities([])


def test_ensemble_equals_an_independent_average_of_the_members(runs):
    members = [runs / "softmax", runs / "fc", runs / "fc-seed"]
    result = evaluate_ensemble(members)
    probabilities = []
    for run_dir in members:
        loaded = load_run(run_dir)
        X = loaded.prepared.X["test"]
        # The linear softmax scores X W (X with its bias column); the nets give loss(X).
        scores = X @ loaded.model.W if hasattr(loaded.model, "W") else loaded.model.loss(X)
        probabilities.append(softmax(np.asarray(scores, dtype=np.float64), axis=1))
        recorded = json.loads((run_dir / "metrics.json").read_text())["test_acc"]
        member = next(m for m in result.members if m.run_dir == run_dir)
        assert member.accuracy == pytest.approx(recorded, abs=1e-12)
    labels = load_run(members[0]).prepared.data["y_test"]
    mean = sum(probabilities) / 3
    assert_close(result.probabilities, mean, rtol=1e-6, atol=1e-9)
    assert result.accuracy == pytest.approx(np.mean(mean.argmax(axis=1) == labels), abs=1e-12)
    assert len(result.labels) == 120 and result.dataset == "digits"


def test_evaluate_command_prints_the_ensemble_and_each_member(runs, capsys):
    assert main(["-q", "evaluate", str(runs / "softmax"), str(runs / "fc"), "--split", "val"]) == 0
    out = capsys.readouterr().out
    assert "ensemble of 2 runs on digits, val split (60 examples)" in out
    assert "softmax" in out and "ensemble (mean probability)" in out
    expected = evaluate_ensemble([runs / "softmax", runs / "fc"], split="val")
    assert f"{expected.accuracy:.4f}" in out.splitlines()[-1]


def test_runs_of_other_data_or_splits_are_refused(runs):
    with pytest.raises(DataError, match="dataset"):
        evaluate_ensemble([runs / "softmax", runs / "spiral"])
    with pytest.raises(DataError, match="num_test"):
        evaluate_ensemble([runs / "softmax", runs / "other-split"])
    with pytest.raises(ValueError, match="two or more"):
        evaluate_ensemble([runs / "softmax"])
    with pytest.raises(DataError, match="no config.json"):
        evaluate_ensemble([runs / "softmax", runs])
