"""tinyvision.tuning.tune_run: the course's searches (learning rate x reg grid or random pairs,
kNN's k by cross-validation) as trials of an Optuna study; the best config is trained again
into <out>/best."""

import json

import numpy as np
import pytest

pytest.importorskip("optuna", reason="tune_run runs on Optuna: install the search extra")

from tinyvision.cli import main  # noqa: E402
from tinyvision.config import TrainConfig  # noqa: E402
from tinyvision.model_selection import cross_validate_knn  # noqa: E402
from tinyvision.pipeline import load_run  # noqa: E402
from tinyvision.tuning import SearchOptions, tune_run  # noqa: E402


def _tune(out, model, epochs=None, **options):
    config = TrainConfig(model=model, epochs=epochs, out=str(out))
    return tune_run(config, SearchOptions(**options), verbose=False)


def test_grid_search_keeps_the_best_pair_and_evaluate_reproduces_it(tmp_path, capsys):
    out = tmp_path / "tune"
    _tune(out, "softmax", 5, learning_rates=(1e-3, 0.5), regs=(1e-4, 1e-2))
    record = json.loads((out / "search.json").read_text())
    assert len(record["results"]) == 4
    best = max(record["results"], key=lambda row: row["val_acc"])
    assert record["best_val_acc"] == best["val_acc"]
    assert record["best_learning_rate"] == best["learning_rate"]
    # The tiny learning rate barely moves the weights in 5 epochs; the search must see that.
    assert record["best_learning_rate"] == 0.5
    metrics = json.loads((out / "best" / "metrics.json").read_text())
    assert metrics["val_acc"] == pytest.approx(record["best_val_acc"])
    config = json.loads((out / "best" / "config.json").read_text())
    assert (config["learning_rate"], config["reg"]) == (0.5, record["best_reg"])
    assert config["epochs"] == 5
    assert (out / "search.png").read_bytes().startswith(b"\x89PNG")
    capsys.readouterr()
    assert main(["--quiet", "evaluate", str(out / "best")]) == 0


def test_random_search_draws_log_uniform_pairs_inside_the_bounds(tmp_path):
    out = tmp_path / "tune"
    _tune(
        out, "svm", 2, search="random", learning_rates=(1e-3, 1), regs=(1e-5, 1e-1), num_samples=3
    )
    rows = json.loads((out / "search.json").read_text())["results"]
    assert len(rows) == 3
    assert all(1e-3 <= r["learning_rate"] <= 1 and 1e-5 <= r["reg"] <= 1e-1 for r in rows)


def test_knn_cross_validation_picks_the_k_with_best_mean_accuracy(tmp_path):
    out = tmp_path / "tune"
    _tune(out, "knn", k_choices=(1, 5, 200), num_folds=3)
    record = json.loads((out / "search.json").read_text())
    # The study's folds are the course's: the same accuracies as cross_validate_knn's.
    prepared = load_run(out / "best").prepared
    expected = cross_validate_knn(prepared.X["train"], prepared.data["y_train"], [1, 5, 200], 3)
    for k, accuracies in expected.items():
        np.testing.assert_allclose(record["k_to_accuracies"][str(k)], accuracies)
    means = {int(k): sum(v) / len(v) for k, v in record["k_to_accuracies"].items()}
    assert record["best_k"] == max(means, key=means.get)
    assert json.loads((out / "best" / "config.json").read_text())["k"] == record["best_k"]
    assert (out / "knn_cross_validation.png").is_file()


def test_rate_search_without_values_says_what_to_pass(tmp_path):
    with pytest.raises(ValueError, match="learning_rates"):
        _tune(tmp_path / "t", "svm")


@pytest.mark.parametrize("model", ["softmax", "two-layer"])
def test_a_diverging_pair_is_recorded_and_the_search_goes_on(tmp_path, model):
    out = tmp_path / "tune"
    _tune(out, model, 10, learning_rates=(0.5, 1e12), regs=(1e-4,))
    record = json.loads((out / "search.json").read_text())
    rows = {row["learning_rate"]: row for row in record["results"]}
    assert rows[1e12]["diverged"] and rows[1e12]["val_acc"] is None
    assert not rows[0.5]["diverged"] and rows[0.5]["val_acc"] > 0.8
    assert record["best_learning_rate"] == 0.5
    assert (out / "search.png").read_bytes().startswith(b"\x89PNG")


def test_a_search_where_every_pair_diverges_says_so(tmp_path):
    with pytest.raises(ValueError, match="no trial of the search completed"):
        _tune(tmp_path / "t", "two-layer", 2, learning_rates=(1e12,), regs=(1e-4,))
