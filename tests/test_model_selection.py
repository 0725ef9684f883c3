"""k-fold cross-validation for kNN and grid / random hyperparameter search."""

import math

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from tinyvision.classifiers.k_nearest_neighbor import KNearestNeighbor
from tinyvision.classifiers.linear_classifier import LinearSVM, preprocess_for_linear
from tinyvision.model_selection import SearchResult, cross_validate_knn, search_hyperparameters


def binary_data(seed, n=53, dim=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, dim))
    y = (X[:, 0] + 0.7 * rng.standard_normal(n) > 0).astype(int)
    return X, y


def fold_accuracies_by_hand(X, y, k, num_folds, predict):
    X_folds, y_folds = np.array_split(X, num_folds), np.array_split(y, num_folds)
    accuracies = []
    for i in range(num_folds):
        X_tr = np.concatenate(X_folds[:i] + X_folds[i + 1 :])
        y_tr = np.concatenate(y_folds[:i] + y_folds[i + 1 :])
        accuracies.append(np.mean(predict(X_tr, y_tr, X_folds[i], k) == y_folds[i]))
    return accuracies


def sklearn_predict(X_tr, y_tr, X_te, k):
    return KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(X_tr, y_tr).predict(X_te)


def course_predict(X_tr, y_tr, X_te, k):
    knn = KNearestNeighbor()
    knn.train(X_tr, y_tr)
    return knn.predict(X_te, k=k, num_loops=2)


@pytest.mark.parametrize("num_folds", [2, 5, 7])
def test_cross_validation_matches_fold_by_fold_sklearn(num_folds):
    X, y = binary_data(0)
    result = cross_validate_knn(X, y, [1, 3, 7], num_folds=num_folds)
    assert list(result) == [1, 3, 7]
    for k, accuracies in result.items():
        assert len(accuracies) == num_folds
        expected = fold_accuracies_by_hand(X, y, k, num_folds, sklearn_predict)
        np.testing.assert_allclose(accuracies, expected, rtol=1e-12)


def test_cross_validation_with_vote_ties_matches_the_course_loop():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 3))
    y = rng.integers(0, 4, 40)
    result = cross_validate_knn(X, y, [2, 4, 6], num_folds=4)
    for k, accuracies in result.items():
        expected = fold_accuracies_by_hand(X, y, k, 4, course_predict)
        np.testing.assert_allclose(accuracies, expected, rtol=1e-12)


def test_cross_validation_rejects_bad_arguments():
    X, y = binary_data(2, n=10)
    with pytest.raises(ValueError, match="num_folds must be between 2 and the number of examples"):
        cross_validate_knn(X, y, [1], num_folds=1)
    with pytest.raises(ValueError, match="num_folds must be between 2"):
        cross_validate_knn(X, y, [1], num_folds=11)
    with pytest.raises(ValueError, match="k_choices is empty"):
        cross_validate_knn(X, y, [])
    with pytest.raises(ValueError, match="k=9 exceeds the smallest training split"):
        cross_validate_knn(X, y, [1, 9], num_folds=5)
    with pytest.raises(ValueError, match="positive integer"):
        cross_validate_knn(X, y, [0])
    with pytest.raises(ValueError, match="10 examples but y has 9"):
        cross_validate_knn(X, y[:-1], [1])


class FixedAccuracyModel:
    """Predicts the right label for a fraction of examples that depends on (lr, reg)."""

    def __init__(self, lr, reg, y_train, y_val):
        self.params = (lr, reg)
        self.y_train, self.y_val = y_train, y_val
        # Perfect at lr = 1e-3, reg = 1e2, worse the further away in log space.
        self.quality = 1.0 / (1.0 + abs(math.log10(lr) + 3) + abs(math.log10(reg) - 2))

    def predict(self, X):
        # The training and validation sets of these tests differ in size.
        y = self.y_train if len(X) == len(self.y_train) else self.y_val
        wrong = np.arange(len(y)) >= round(self.quality * len(y))
        return np.where(wrong, y + 1, y)


def test_grid_search_tries_every_pair_and_keeps_the_best():
    X_train, y_train = np.zeros((20, 1)), np.arange(20) % 3
    X_val, y_val = np.zeros((10, 1)), np.arange(10) % 3
    made = []

    def make_and_train(lr, reg):
        made.append((lr, reg))
        return FixedAccuracyModel(lr, reg, y_train, y_val)

    lrs, regs = [1e-4, 1e-3, 1e-2], [1e1, 1e2]
    result = search_hyperparameters(make_and_train, lrs, regs, X_train, y_train, X_val, y_val)
    assert isinstance(result, SearchResult)
    assert made == [(lr, reg) for lr in lrs for reg in regs]
    assert set(result.results) == set(made)
    results, best_val, best_model = result
    for (lr, reg), (train_acc, val_acc) in results.items():
        quality = FixedAccuracyModel(lr, reg, y_train, y_val).quality
        assert train_acc == round(quality * 20) / 20
        assert val_acc == round(quality * 10) / 10
    assert best_val == 1.0 == max(v for _, v in results.values())
    assert best_model.params == (1e-3, 1e2)
    assert result.best_params == (1e-3, 1e2)


def test_failed_pairs_are_recorded_as_nan_and_skipped():
    X_train, y_train = np.zeros((20, 1)), np.arange(20) % 3
    X_val, y_val = np.zeros((10, 1)), np.arange(10) % 3

    def make_and_train(lr, reg):
        # The best pair of FixedAccuracyModel "diverges", so the search must settle for 1e-2.
        return None if lr == 1e-3 else FixedAccuracyModel(lr, reg, y_train, y_val)

    result = search_hyperparameters(
        make_and_train, [1e-3, 1e-2, 1e0], [1e2], X_train, y_train, X_val, y_val
    )
    assert all(math.isnan(v) for v in result.results[1e-3, 1e2])
    assert result.best_params == (1e-2, 1e2)
    with pytest.raises(ValueError, match="failed for every one of the 2 pairs"):
        search_hyperparameters(
            lambda lr, reg: None, [1e-3, 1e-2], [1e2], X_train, y_train, X_val, y_val
        )


def test_random_search_samples_log_uniformly_within_bounds_and_is_seeded():
    y = np.arange(8) % 2
    tried = []

    def make_and_train(lr, reg):
        tried.append((lr, reg))
        return FixedAccuracyModel(lr, reg, y, y)

    args = (make_and_train, (1e-7, 1e-5), (1e2, 1e6), np.zeros((8, 1)), y, np.zeros((8, 1)), y)
    first = search_hyperparameters(*args, search="random", num_samples=200, seed=3)
    lrs, regs = np.array(tried).T
    assert len(first.results) == 200
    assert np.all((lrs >= 1e-7) & (lrs <= 1e-5)) and np.all((regs >= 1e2) & (regs <= 1e6))
    # Log-uniform: a quarter of the samples in each quarter of the log range, roughly.
    counts, _ = np.histogram(np.log10(regs), bins=4, range=(2, 6))
    assert np.all((counts > 30) & (counts < 70))
    tried.clear()
    again = search_hyperparameters(*args, search="random", num_samples=200, seed=3)
    assert list(again.results) == list(first.results)
    other = search_hyperparameters(*args, search="random", num_samples=200, seed=4)
    assert list(other.results) != list(first.results)


def test_search_with_real_linear_svms_returns_the_best_validation_model():
    rng = np.random.default_rng(5)
    centres = np.array([[4.0, 0.0], [0.0, 4.0], [-4.0, -4.0]])
    y = rng.integers(0, 3, 150)
    X = centres[y] + rng.standard_normal((150, 2))
    X_train, X_val = preprocess_for_linear(X[:100], X[100:])

    def make_and_train(lr, reg):
        svm = LinearSVM(seed=0)
        svm.train(X_train, y[:100], learning_rate=lr, reg=reg, num_iters=50, batch_size=20)
        return svm

    results, best_val, best_model = search_hyperparameters(
        make_and_train, [1e-6, 1e-2], [1e-3, 1e3], X_train, y[:100], X_val, y[100:]
    )
    assert best_val == max(v for _, v in results.values())
    assert np.mean(best_model.predict(X_val) == y[100:]) == best_val
    assert best_val > 0.9


def test_search_rejects_bad_arguments():
    y = np.arange(4) % 2
    X = np.zeros((4, 1))

    def make(lr, reg):
        return FixedAccuracyModel(lr, reg, y, y)

    with pytest.raises(ValueError, match="two positive bounds"):
        search_hyperparameters(make, [1e-3, 1e-2, 1e-1], [1, 2], X, y, X, y, search="random")
    with pytest.raises(ValueError, match="two positive bounds"):
        search_hyperparameters(make, [1e-2, 1e-3], [1, 2], X, y, X, y, search="random")
    with pytest.raises(ValueError, match="two positive bounds"):
        search_hyperparameters(make, [0, 1e-3], [1, 2], X, y, X, y, search="random")
    with pytest.raises(ValueError, match="num_samples must be a positive"):
        search_hyperparameters(make, [1e-3, 1e-2], [1, 2], X, y, X, y, "random", num_samples=0)
    with pytest.raises(ValueError, match="search must be 'grid' or 'random'"):
        search_hyperparameters(make, [1e-3], [1], X, y, X, y, search="bayes")
    with pytest.raises(ValueError, match="at least one learning rate"):
        search_hyperparameters(make, [], [1], X, y, X, y)
    with pytest.raises(ValueError, match="validation set is empty"):
        search_hyperparameters(make, [1e-3], [1], X, y, X[:0], y[:0])
    with pytest.raises(ValueError, match="X_val has 4 examples but y_val has 3"):
        search_hyperparameters(make, [1e-3], [1], X, y, X, y[:3])
