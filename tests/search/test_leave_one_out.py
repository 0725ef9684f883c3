"""folds = "loo" in a search space: leave-one-out cross-validation of any model on small data."""

import json

import numpy as np
import pytest
from sklearn.model_selection import LeaveOneOut, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from tinyvision.classification import Prepared
from tinyvision.cli import main
from tinyvision.data_utils import load_spiral_data
from tinyvision.search import StudyOptions, parse_space, search_run
from tinyvision.search.space import LEAVE_ONE_OUT_LIMIT, space_to_toml
from tinyvision.search.study import fold_splits

optuna = pytest.importorskip(
    "optuna", reason="the hyperparameter search needs: pip install -e '.[search]'"
)


def _prepared(num_examples, rng):
    X = rng.standard_normal((num_examples, 3))
    y = rng.integers(0, 2, num_examples)
    return Prepared(
        data={"X_train": X, "y_train": y, "y_val": y[:2]},
        prep={},
        X={"train": X + 1.0, "val": X[:2] + 1.0},
    )


def _knn_space(num_training, **extra):
    return {
        "model": "knn",
        "dataset": "spiral",
        "sampler": "grid",
        "pruner": "none",
        "folds": "loo",
        "fixed": {"num_training": num_training},
        "search": {"k": {"type": "choice", "values": [1, 30]}},
        **extra,
    }


def test_each_example_is_held_out_exactly_once_and_the_others_train():
    prepared = _prepared(7, np.random.default_rng(0))
    folds = list(fold_splits(prepared, "loo"))
    assert len(folds) == 7
    for i, fold in enumerate(folds):
        others = np.delete(np.arange(7), i)
        np.testing.assert_array_equal(fold.X["val"], prepared.X["train"][[i]])
        np.testing.assert_array_equal(fold.data["y_val"], prepared.data["y_train"][[i]])
        np.testing.assert_array_equal(fold.X["train"], prepared.X["train"][others])
        np.testing.assert_array_equal(fold.data["y_train"], prepared.data["y_train"][others])
        np.testing.assert_array_equal(fold.data["X_train"], prepared.data["X_train"][others])


def test_loo_accuracy_of_knn_equals_scikit_learns_leave_one_out(tmp_path, capsys):
    space = parse_space(_knn_space(90))
    assert 'folds = "loo"' in space_to_toml(space)
    result = search_run(space, StudyOptions(trials=2), out=tmp_path / "loo", retrain=False)
    # The spiral's points are continuous, so no two distances tie and the neighbours agree;
    # tied votes go to the smallest label in both.
    X = load_spiral_data()["X_train"][:90]
    y = load_spiral_data()["y_train"][:90]
    by_k = {row.params["k"]: row for row in result.rows}
    for k, row in by_k.items():
        per_example = cross_val_score(
            KNeighborsClassifier(n_neighbors=k, algorithm="brute"), X, y, cv=LeaveOneOut()
        )
        assert 0.5 < row.val_acc < 1.0  # a score with room to disagree
        assert row.val_acc == pytest.approx(per_example.mean(), abs=1e-12)
        assert row.val_acc_std == pytest.approx(per_example.std(), abs=1e-12)
    trial = result.study.trials[0]
    assert len(trial.user_attrs["fold_val_acc"]) == 90
    written = json.loads((tmp_path / "loo" / "trials.json").read_text())
    assert {row["val_acc_std"] for row in written} == {row.val_acc_std for row in result.rows}


def test_leave_one_out_is_refused_on_too_many_examples_with_what_to_do_instead(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"folds: leave-one-out trains one model per training"):
        parse_space(_knn_space(LEAVE_ONE_OUT_LIMIT + 1))
    big = _prepared(LEAVE_ONE_OUT_LIMIT + 1, np.random.default_rng(1))
    with pytest.raises(ValueError) as error:
        next(fold_splits(big, "loo"))
    message = str(error.value)
    assert f"has {LEAVE_ONE_OUT_LIMIT + 1} (at most {LEAVE_ONE_OUT_LIMIT} allowed)" in message
    assert "folds = K" in message
    assert len(list(fold_splits(_prepared(LEAVE_ONE_OUT_LIMIT, np.random.default_rng(2)), "loo")))
    with pytest.raises(ValueError, match="leave-one-out needs at least 2 training examples"):
        next(fold_splits(_prepared(1, np.random.default_rng(3)), "loo"))
    with pytest.raises(ValueError, match=r'folds: expected 0 .* or "loo" .*, got \'LOO\''):
        parse_space(_knn_space(10, folds="LOO"))
    # Without a fixed size the first trial checks the data set: the digits have 1,257 examples.
    space = tmp_path / "space.toml"
    space.write_text('model = "knn"\nfolds = "loo"\n[search.k]\ntype = "choice"\nvalues = [1]\n')
    assert main(["-q", "tune", str(space), "--out", str(tmp_path / "t"), "--no-retrain"]) == 2
    assert "the training split has 1257 (at most 500 allowed)" in capsys.readouterr().err
