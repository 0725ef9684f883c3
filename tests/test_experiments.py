"""The course experiments on tiny digits settings: they run, measure and write plots and JSON."""

import json
import math

import numpy as np
import pytest
from PIL import Image

from tinyvision.cli import main
from tinyvision.cli.experiment import format_table
from tinyvision.experiments import (
    EXPERIMENTS,
    experiment_settings,
    load_experiment_data,
    run_experiment,
)

TINY = {"hidden_dims": (16, 16)}


def _check_png(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width > 100 and image.height > 100


def _results(run_dir):
    results = json.loads((run_dir / "results.json").read_text())
    assert {"experiment", "dataset", "seed", "settings", "seconds", "rows", "results"} <= set(
        results
    )
    return results


def _check_curves(run, epochs, iterations_per_epoch):
    assert len(run["loss_history"]) == epochs * iterations_per_epoch
    # One accuracy check after the first update (when an epoch has several), one per epoch.
    checks = epochs + (1 if iterations_per_epoch > 1 else 0)
    assert len(run["train_acc_history"]) == len(run["val_acc_history"]) == checks
    assert run["acc_epochs"][-1] == epochs
    assert all(0.0 <= acc <= 1.0 for acc in run["train_acc_history"] + run["val_acc_history"])


def test_overfit_memorises_50_digits_with_both_depths_via_cli(tmp_path, capsys):
    out = tmp_path / "overfit"
    assert main(["--quiet", "experiment", "overfit", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3-layer" in printed and "5-layer" in printed and str(out) in printed
    _check_png(out / "overfit_loss.png")
    results = _results(out)
    assert results["experiment"] == "overfit" and results["dataset"] == "digits"
    assert results["settings"]["num_training"] == 50
    for label in ("3-layer", "5-layer"):
        run = results["results"][label]
        assert run["final_train_acc"] == 1.0
        assert not run["diverged"]
        # Memorised: the loss ends far below that of guessing, log(10) = 2.30.
        assert run["final_loss"] < 0.2
    assert [row["net"] for row in results["rows"]] == ["3-layer", "5-layer"]


def test_update_rules_share_one_figure_and_record_each_rule(tmp_path):
    rules = {"sgd": 1e-1, "adam": 1e-3}
    result = run_experiment(
        "update-rules",
        out=tmp_path,
        num_training=200,
        epochs=2,
        overrides={**TINY, "rules": rules, "batch_size": 50},
    )
    assert [p.name for p in result.plots] == ["update_rules.png"]
    _check_png(tmp_path / "update_rules.png")
    results = _results(tmp_path)
    assert set(results["results"]) == set(rules)
    for rule in rules:
        _check_curves(results["results"][rule], epochs=2, iterations_per_epoch=4)
    assert [row["update_rule"] for row in result.rows] == list(rules)
    # Same seed, same first batch: both rules start from the same loss.
    first = [results["results"][rule]["loss_history"][0] for rule in rules]
    assert first[0] == pytest.approx(first[1], rel=1e-12)


def test_batchnorm_weight_scale_sweeps_log_spaced_scales(tmp_path):
    result = run_experiment(
        "batchnorm-weight-scale",
        out=tmp_path,
        num_training=200,
        epochs=4,
        overrides={
            "hidden_dims": (16,) * 4,
            "learning_rate": 1e-2,
            "weight_scales": {"low": -4.0, "high": -1.0, "num": 3},
        },
    )
    _check_png(tmp_path / "batchnorm_weight_scale.png")
    results = _results(tmp_path)["results"]
    np.testing.assert_allclose(results["weight_scales"], [1e-4, 10**-2.5, 1e-1])
    for label in ("baseline", "batchnorm"):
        assert set(results[label]) == {"best_val_acc", "best_train_acc", "final_loss", "diverged"}
        assert all(len(values) == 3 for values in results[label].values())
    # At scale 1e-4 the plain deep net's scores are ~0 whatever the input, so its loss stays
    # near log(10) (only the last bias learns the class frequencies); batch norm rescales the
    # activations and learns.
    assert results["baseline"]["final_loss"][0] == pytest.approx(math.log(10), abs=2e-2)
    assert results["batchnorm"]["final_loss"][0] < math.log(10) - 0.3
    assert len(result.rows) == 3 and result.rows[0]["weight_scale"] == pytest.approx(1e-4)


def test_norm_batch_size_runs_every_normalisation_and_batch_size(tmp_path):
    result = run_experiment(
        "norm-batch-size",
        out=tmp_path,
        num_training=100,
        epochs=1,
        overrides={**TINY, "batch_sizes": (10, 50)},
    )
    _check_png(tmp_path / "norm_batch_size.png")
    results = _results(tmp_path)["results"]
    assert set(results) == {"none", "batchnorm", "layernorm"}
    for name in results:
        assert set(results[name]) == {"10", "50"}
        _check_curves(results[name]["10"], epochs=1, iterations_per_epoch=10)
        _check_curves(results[name]["50"], epochs=1, iterations_per_epoch=2)
    assert [(r["normalization"], r["batch_size"]) for r in result.rows] == [
        (n, b) for n in ("none", "batchnorm", "layernorm") for b in (10, 50)
    ]


def test_dropout_compares_drop_probabilities_and_reports_the_gap(tmp_path):
    result = run_experiment(
        "dropout",
        out=tmp_path,
        num_training=100,
        epochs=3,
        overrides={"hidden_dims": (32,), "drop_probabilities": (0.0, 0.5)},
    )
    _check_png(tmp_path / "dropout.png")
    results = _results(tmp_path)["results"]
    assert set(results) == {"0.0", "0.5"}
    for row in result.rows:
        run = results[str(row["dropout"])]
        assert row["gap"] == pytest.approx(
            run["train_acc_history"][-1] - run["val_acc_history"][-1]
        )
    # The masks differ from update to update (the net's dropout seed is not reused per step),
    # so dropout 0.5 trains on a different path than no dropout.
    assert results["0.0"]["loss_history"] != results["0.5"]["loss_history"]


def test_experiment_data_is_flat_and_centred_on_the_training_mean():
    data = load_experiment_data("digits", 300)
    assert data["X_train"].shape == (300, 64) and data["X_train"].dtype == np.float64
    assert data["X_val"].shape[1] == 64 and len(data["y_val"]) == len(data["X_val"])
    np.testing.assert_allclose(data["X_train"].mean(axis=0), 0.0, atol=1e-12)


def test_unknown_experiment_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown experiment 'overfitt'; choose one of overfit"):
        run_experiment("overfitt", out=tmp_path)
    assert main(["experiment", "no-such-thing", "--out", str(tmp_path / "x")]) == 2
    error = capsys.readouterr().err
    assert "unknown experiment 'no-such-thing'" in error
    for name in EXPERIMENTS:
        assert name in error


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dataset": "mnist"}, "unknown dataset 'mnist'"),
        ({"epochs": 0}, "epochs must be an integer >= 1, got 0"),
        ({"num_training": 0}, "num_training must be an integer >= 1, got 0"),
        ({"overrides": {"hiden_dims": (4,)}}, r"no settings \['hiden_dims'\]"),
    ],
)
def test_bad_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        experiment_settings("dropout", **kwargs)


def test_too_many_training_images_and_missing_cifar_are_errors(tmp_path):
    with pytest.raises(ValueError, match="num_training must be between 1 and"):
        load_experiment_data("digits", 100_000)
    with pytest.raises(FileNotFoundError):
        run_experiment("overfit", "cifar10", data_dir=tmp_path, out=tmp_path / "run")


def test_tuned_settings_are_not_modified_by_overrides():
    before = experiment_settings("overfit")
    experiment_settings("overfit", epochs=1, overrides={"batch_size": 5})
    assert experiment_settings("overfit") == before


def test_format_table_aligns_columns():
    table = format_table([{"name": "sgd", "acc": 0.5}, {"name": "adam", "acc": 0.875}])
    lines = table.splitlines()
    assert lines[0].split() == ["name", "acc"]
    assert lines[2].split() == ["sgd", "0.5"] and lines[3].split() == ["adam", "0.875"]
    assert len({len(line) for line in lines}) == 1
    assert format_table([]) == "(no results)"
