"""Searches on the embedded digits with an SQLite study: the table, the best config, failed
trials, pruning from the Solver's epochs, worker processes, and interrupt-and-continue."""

import json
from pathlib import Path

import pytest

from tinyvision import registry
from tinyvision.cli import main
from tinyvision.config import TrainConfig, resolve_config
from tinyvision.pipeline import fit
from tinyvision.search import StudyOptions, parse_space, search_run
from tinyvision.search.study import STUDY_DB, fold_splits, make_storage

optuna = pytest.importorskip(
    "optuna", reason="the hyperparameter search needs: pip install -e '.[search]'"
)

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _space(sampler="random", pruner="none", epochs=3, **search):
    search = search or {
        "learning_rate": {"type": "log-uniform", "low": 0.05, "high": 1.0},
        "hidden_dims": {"type": "choice", "values": [[16], [32]]},
    }
    return parse_space(
        {
            "model": "two-layer",
            "sampler": sampler,
            "pruner": pruner,
            "fixed": {"epochs": epochs},
            "search": search,
        }
    )


def _study(run_dir):
    url = f"sqlite:///{run_dir / STUDY_DB}"
    return optuna.load_study(study_name="tinyvision-two-layer-digits", storage=make_storage(url))


def test_the_table_is_sorted_and_best_toml_trains_to_the_best_trials_accuracy(tmp_path, capsys):
    out = tmp_path / "tune"
    result = search_run(_space(), StudyOptions(trials=4), out=out, retrain=False)
    study = _study(out)
    assert len(study.trials) == 4 and len(result.rows) == 4
    values = [row.val_acc for row in result.rows]
    assert values == sorted(values, reverse=True)
    assert result.rows[0].number == study.best_trial.number == result.best_number
    assert {row.number: row.val_acc for row in result.rows} == {
        t.number: t.value for t in study.trials
    }
    written = json.loads((out / "trials.json").read_text())
    assert [row["number"] for row in written] == [row.number for row in result.rows]
    for picture in ("val_acc_vs_params.png", "history.png", "importance.png"):
        assert (out / picture).read_bytes().startswith(b"\x89PNG")
    # The best config, trained again by `train --config`, reaches the same validation accuracy.
    assert (
        main(["--quiet", "train", "--config", str(out / "best.toml"), "--out", str(tmp_path / "b")])
        == 0
    )
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert metrics["val_acc"] == pytest.approx(study.best_value)
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert config["learning_rate"] == pytest.approx(study.best_params["learning_rate"])


def test_a_diverging_trial_is_recorded_failed_with_its_reason_and_the_study_goes_on(tmp_path):
    space = _space(
        sampler="grid",
        epochs=4,
        learning_rate={"type": "choice", "values": [0.5, 1e12]},
    )
    result = search_run(space, StudyOptions(trials=10), out=tmp_path / "t", retrain=False)
    rows = {row.params["learning_rate"]: row for row in result.rows}
    assert len(result.rows) == 2  # the grid has two points
    assert rows[1e12].state == "fail" and rows[1e12].reason.startswith("diverged")
    assert rows[0.5].state == "complete" and rows[0.5].val_acc > 0.5
    assert result.best_config.learning_rate == 0.5


def test_a_search_where_every_trial_diverges_says_so(tmp_path):
    space = _space(sampler="grid", learning_rate={"type": "choice", "values": [1e12]})
    with pytest.raises(ValueError, match="no trial of the search completed.*1 fail"):
        search_run(space, StudyOptions(trials=1), out=tmp_path / "t", retrain=False)


class _PruneAfter:
    """A stand-in for an Optuna trial that asks to prune after a given epoch."""

    def __init__(self, epoch):
        self.epoch, self.reports = epoch, []

    def report(self, value, step):
        self.reports.append((step, value))

    def should_prune(self):
        return self.reports[-1][0] >= self.epoch


def test_the_solver_reports_each_epochs_val_accuracy_and_stops_when_pruned():
    config = resolve_config(TrainConfig(model="two-layer", epochs=3, hidden_dims=(16,)))
    spec = registry.get("two-layer")
    prepared = spec.task.prepare(config, spec, False)
    trial = _PruneAfter(epoch=2)
    with pytest.raises(optuna.TrialPruned, match="after epoch 2"):
        fit(spec, spec.build(config, prepared), config, prepared, None, False, trial=trial)
    assert [step for step, _ in trial.reports] == [1, 2]
    # The reported values are the Solver's own per-epoch validation accuracies.
    reference = fit(spec, spec.build(config, prepared), config, prepared, None, False)
    epoch_ends = reference["val_acc_history"][-3:]
    assert [value for _, value in trial.reports] == pytest.approx(epoch_ends[:2])


def test_the_median_pruner_prunes_a_trial_far_below_the_others(tmp_path):
    rates = [0.5, 0.6, 0.7, 0.8, 1e-5]
    space = _space(
        pruner="median",
        epochs=4,
        learning_rate={"type": "choice", "values": rates},
    )
    out = tmp_path / "t"
    options = StudyOptions(trials=len(rates))
    study = optuna.create_study(
        study_name="tinyvision-two-layer-digits",
        storage=make_storage(f"sqlite:///{tmp_path / 'study.db'}"),
        direction="maximize",
    )
    # Four good rates first, then the tiny one, which learns nothing in its first epochs.
    for rate in rates:
        study.enqueue_trial({"learning_rate": rate})
    options = StudyOptions(trials=len(rates), storage=f"sqlite:///{tmp_path / 'study.db'}")
    result = search_run(space, options, out=out, retrain=False)
    states = {row.params["learning_rate"]: row.state for row in result.rows}
    assert states[1e-5] == "pruned"
    assert all(states[r] == "complete" for r in rates[:4])


def test_folds_score_a_trial_by_cross_validation_on_the_training_split(tmp_path):
    """Any model can be cross-validated: each fold of np.array_split is the held-out set once,
    and the trial's value is the mean of the folds' validation accuracies."""
    space = parse_space(
        {
            "model": "softmax",
            "sampler": "grid",
            "pruner": "none",
            "folds": 3,
            "fixed": {"epochs": 2},
            "search": {"learning_rate": {"type": "choice", "values": [0.5]}},
        }
    )
    result = search_run(space, StudyOptions(trials=1), out=tmp_path / "cv", retrain=False)
    trial = result.study.trials[0]
    fold_acc = trial.user_attrs["fold_val_acc"]
    assert len(fold_acc) == 3
    assert trial.value == pytest.approx(sum(fold_acc) / 3)
    config = resolve_config(TrainConfig(model="softmax", epochs=2, learning_rate=0.5))
    spec = registry.get("softmax")
    prepared = spec.task.prepare(config, spec, False)
    folds = list(fold_splits(prepared, 3))
    # The held-out parts cover the training split once, in order, and never overlap training.
    held_out = [fold.data["y_val"] for fold in folds]
    assert sum(len(part) for part in held_out) == len(prepared.data["y_train"])
    first = folds[0]
    assert len(first.data["y_train"]) + len(first.data["y_val"]) == len(prepared.data["y_train"])
    assert (first.X["val"] == prepared.X["train"][: len(first.data["y_val"])]).all()


def test_tune_knn_cross_validates_the_courses_k_choices(tmp_path, capsys):
    out = tmp_path / "knn"
    assert main(["-q", "tune", "--model", "knn", "--out", str(out), "--no-retrain"]) == 0
    rows = json.loads((out / "trials.json").read_text())
    assert sorted(row["params"]["k"] for row in rows) == [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]
    assert "folds = 5" in (out / "space.toml").read_text()
