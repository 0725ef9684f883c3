"""KNearestNeighbor: distances against torch.cdist, votes, chunking, sklearn parity, errors."""

import tracemalloc

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from tinyvision.classifiers.k_nearest_neighbor import KNearestNeighbor


def make_data(rng, num_train=40, num_test=15, dim=6, num_classes=4):
    X_train = rng.standard_normal((num_train, dim))
    y_train = rng.integers(0, num_classes, num_train)
    X_test = rng.standard_normal((num_test, dim))
    return X_train, y_train, X_test


def trained(X_train, y_train, **kwargs):
    knn = KNearestNeighbor(**kwargs)
    knn.train(X_train, y_train)
    return knn


def reference_predict_labels(dists, y_train, k):
    """The course's per-row rule: k smallest distances, then argmax of the label counts."""
    return np.array([np.argmax(np.bincount(y_train[np.argsort(row)[:k]])) for row in dists])


@pytest.mark.parametrize(("metric", "p"), [("l2", 2.0), ("l1", 1.0)])
def test_three_distance_functions_match_torch_cdist(metric, p):
    X_train, y_train, X_test = make_data(np.random.default_rng(0))
    knn = trained(X_train, y_train, metric=metric)
    expected = torch.cdist(torch.from_numpy(X_test), torch.from_numpy(X_train), p=p).numpy()
    for dists in (
        knn.compute_distances_two_loops(X_test),
        knn.compute_distances_one_loop(X_test),
        knn.compute_distances_no_loops(X_test),
    ):
        assert dists.shape == (15, 40)
        np.testing.assert_allclose(dists, expected, rtol=1e-10, atol=1e-12)


def test_no_loop_distance_is_zero_not_nan_for_identical_points():
    rng = np.random.default_rng(1)
    # A large offset makes ||a||^2 + ||b||^2 - 2ab cancel badly, which can go below zero.
    X_train = 1e4 + rng.standard_normal((30, 5))
    knn = trained(X_train, rng.integers(0, 3, 30))
    dists = knn.compute_distances_no_loops(X_train.copy())
    assert np.all(np.isfinite(dists))
    assert np.all(dists >= 0)
    np.testing.assert_allclose(np.diag(dists), 0, atol=1e-2)


def test_predict_labels_breaks_vote_ties_towards_the_smaller_label():
    knn = trained(np.zeros((4, 2)), np.array([3, 1, 2, 0]))
    # Row 0: neighbours in order labels 3, 1 -> one vote each, 1 wins.
    # Row 1: k=4 gives each label one vote -> 0 wins.
    dists = np.array([[0.1, 0.2, 0.9, 0.8], [0.4, 0.3, 0.2, 0.1]])
    assert knn.predict_labels(dists[:1], k=2).tolist() == [1]
    assert knn.predict_labels(dists[1:], k=4).tolist() == [0]
    assert knn.predict_labels(dists, k=1).tolist() == [3, 0]


def test_predict_labels_matches_the_course_rule_on_random_distances():
    rng = np.random.default_rng(2)
    y_train = rng.integers(0, 5, 50)
    knn = trained(rng.standard_normal((50, 3)), y_train)
    dists = rng.uniform(size=(30, 50))
    for k in (1, 2, 4, 7, 50):
        expected = reference_predict_labels(dists, y_train, k)
        np.testing.assert_array_equal(knn.predict_labels(dists, k=k), expected)


@pytest.mark.parametrize("metric", ["l2", "l1"])
def test_chunked_predict_equals_unchunked_and_looped(metric):
    X_train, y_train, X_test = make_data(np.random.default_rng(3), num_test=23)
    knn = trained(X_train, y_train, metric=metric)
    for k in (1, 3, 8):
        expected = knn.predict(X_test, k=k, num_loops=2)
        np.testing.assert_array_equal(knn.predict(X_test, k=k, num_loops=1), expected)
        for chunk_size in (None, 1, 4, 23, 100):
            np.testing.assert_array_equal(knn.predict(X_test, k=k, chunk_size=chunk_size), expected)
    tiny_budget = trained(X_train, y_train, metric=metric, chunk_bytes=1)
    np.testing.assert_array_equal(tiny_budget.predict(X_test, k=3), knn.predict(X_test, k=3))


def test_kneighbors_are_the_nearest_in_order():
    X_train, y_train, X_test = make_data(np.random.default_rng(4))
    knn = trained(X_train, y_train)
    dists = torch.cdist(torch.from_numpy(X_test), torch.from_numpy(X_train)).numpy()
    np.testing.assert_array_equal(knn.kneighbors(X_test, 5, chunk_size=2), np.argsort(dists)[:, :5])
    np.testing.assert_array_equal(knn.kneighbors(X_test, 40), np.argsort(dists))


@pytest.mark.parametrize(("metric", "sk_metric"), [("l2", "euclidean"), ("l1", "manhattan")])
@pytest.mark.parametrize("k", [1, 5, 9])
def test_predictions_match_sklearn_brute_force(metric, sk_metric, k):
    rng = np.random.default_rng(5)
    # Two classes and odd k: no vote can tie, and continuous data has no distance ties.
    X_train, _, X_test = make_data(rng, num_train=200, num_test=60, dim=10)
    y_train = (X_train[:, 0] + 0.5 * rng.standard_normal(200) > 0).astype(int)
    ours = trained(X_train, y_train, metric=metric).predict(X_test, k=k)
    sk = KNeighborsClassifier(n_neighbors=k, algorithm="brute", metric=sk_metric)
    np.testing.assert_array_equal(ours, sk.fit(X_train, y_train).predict(X_test))


def test_float32_dtype_stores_float32_and_predicts_like_float64():
    X_train, y_train, X_test = make_data(np.random.default_rng(6))
    knn32 = trained(X_train, y_train, dtype=np.float32)
    assert knn32.X_train.dtype == np.float32
    assert knn32.compute_distances_no_loops(X_test).dtype == np.float32
    np.testing.assert_array_equal(
        knn32.predict(X_test, k=3), trained(X_train, y_train).predict(X_test, k=3)
    )


def test_integer_images_are_compared_as_floats():
    rng = np.random.default_rng(7)
    X_train = rng.integers(0, 256, (20, 12), dtype=np.uint8)
    knn = trained(X_train, rng.integers(0, 3, 20))
    # uint8 subtraction would wrap around; distances to itself must be exactly 0.
    dists = knn.compute_distances_two_loops(X_train)
    assert knn.X_train.dtype == np.float64
    np.testing.assert_allclose(np.diag(dists), 0)
    expected = torch.cdist(
        torch.from_numpy(X_train.astype(np.float64)), torch.from_numpy(X_train.astype(np.float64))
    )
    np.testing.assert_allclose(knn.compute_distances_no_loops(X_train), expected.numpy(), atol=1e-6)


def test_predict_memory_stays_within_the_chunk_budget():
    rng = np.random.default_rng(8)
    X_train = rng.standard_normal((20000, 4))
    X_test = rng.standard_normal((1000, 4))
    knn = trained(X_train, rng.integers(0, 10, 20000), chunk_bytes=2 * 2**20)
    full_matrix_bytes = 1000 * 20000 * 8
    tracemalloc.start()
    try:
        knn.predict(X_test, k=5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < full_matrix_bytes / 10


def test_vote_counts_labels_and_prefers_smaller_label():
    labels = np.array([[2, 2, 1], [0, 3, 3], [4, 1, 1], [5, 2, 0]])
    assert KNearestNeighbor.vote(labels).tolist() == [2, 3, 1, 0]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda knn, X, y: knn.predict(X), "call train"),
        (lambda knn, X, y: knn.compute_distances_no_loops(X), "call train"),
        (lambda knn, X, y: knn.predict_labels(np.zeros((2, 3))), "call train"),
    ],
)
def test_using_an_untrained_classifier_raises(call, match):
    X_train, y_train, _ = make_data(np.random.default_rng(9))
    with pytest.raises(ValueError, match=match):
        call(KNearestNeighbor(), X_train, y_train)


def test_train_rejects_bad_inputs():
    rng = np.random.default_rng(10)
    knn = KNearestNeighbor()
    with pytest.raises(ValueError, match="40 examples but y has 39"):
        knn.train(rng.standard_normal((40, 3)), rng.integers(0, 2, 39))
    with pytest.raises(ValueError, match="must be 2-d"):
        knn.train(rng.standard_normal((4, 3, 2)), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="must be 2-d"):
        knn.train(rng.standard_normal(4), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="labels must be in"):
        knn.train(rng.standard_normal((3, 2)), np.array([0, -1, 1]))
    with pytest.raises(ValueError, match="integer class indices"):
        knn.train(rng.standard_normal((3, 2)), np.array([0.5, 1.0, 1.0]))
    with pytest.raises(ValueError, match="empty"):
        knn.train(np.zeros((0, 3)), np.zeros(0, dtype=int))


def test_predict_rejects_bad_inputs():
    X_train, y_train, X_test = make_data(np.random.default_rng(11))
    knn = trained(X_train, y_train)
    with pytest.raises(
        ValueError, match="X has 5 features per example but the training data has 6"
    ):
        knn.predict(X_test[:, :5])
    with pytest.raises(ValueError, match="must be 2-d"):
        knn.predict(X_test[0])
    with pytest.raises(ValueError, match="larger than the training set"):
        knn.predict(X_test, k=41)
    for bad_k in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            knn.predict(X_test, k=bad_k)
    with pytest.raises(ValueError, match="larger than the training set"):
        knn.predict_labels(np.zeros((2, 40)), k=41)
    with pytest.raises(ValueError, match="num_loops must be 0, 1 or 2"):
        knn.predict(X_test, num_loops=3)
    with pytest.raises(ValueError, match="chunk_size must be a positive"):
        knn.predict(X_test, chunk_size=0)
    with pytest.raises(ValueError, match="dists has 3 columns"):
        knn.predict_labels(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="labels must be"):
        KNearestNeighbor.vote(np.zeros(3, dtype=int))


def test_constructor_rejects_bad_options():
    with pytest.raises(ValueError, match="metric must be 'l2' or 'l1'"):
        KNearestNeighbor(metric="cosine")
    with pytest.raises(ValueError, match="floating dtype"):
        KNearestNeighbor(dtype=np.int32)
    with pytest.raises(ValueError, match="chunk_bytes must be a positive"):
        KNearestNeighbor(chunk_bytes=0)
