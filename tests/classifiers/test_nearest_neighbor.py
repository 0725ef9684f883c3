"""NearestNeighbor, the L1 1-NN classifier of the CS231n notes, against scikit-learn."""

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from tinyvision.classifiers import KNearestNeighbor, NearestNeighbor


def test_predictions_match_sklearn_manhattan_1nn_in_small_chunks():
    rng = np.random.default_rng(0)
    X_train, y_train = rng.standard_normal((60, 7)), rng.integers(0, 4, 60)
    X_test = rng.standard_normal((25, 7))
    # chunk_bytes this small forces several distance blocks.
    nn = NearestNeighbor(chunk_bytes=60 * 8 * 4)
    nn.train(X_train, y_train)
    sk = KNeighborsClassifier(n_neighbors=1, metric="manhattan", algorithm="brute")
    expected = sk.fit(X_train, y_train).predict(X_test)
    predicted = nn.predict(X_test)
    assert predicted.dtype == np.int64
    np.testing.assert_array_equal(predicted, expected)


def test_uses_l1_not_l2():
    # Nearer to (0, 0) in L2 but not in L1: (1.5, 1.5) has L1 3, L2 2.12; (2.9, 0) L1 2.9.
    X_train = np.array([[1.5, 1.5], [2.9, 0.0]])
    nn = NearestNeighbor()
    nn.train(X_train, np.array([0, 1]))
    assert nn.predict(np.zeros((1, 2)))[0] == 1
    knn = KNearestNeighbor()
    knn.train(X_train, np.array([0, 1]))
    assert knn.predict(np.zeros((1, 2)), k=1)[0] == 0


def test_ties_go_to_the_first_training_example_and_uint8_does_not_wrap():
    nn = NearestNeighbor()
    X_train = np.array([[10, 10], [0, 0], [20, 0]], dtype=np.uint8)
    nn.train(X_train, np.array([2, 1, 0]))
    # (10, 0) is at L1 distance 10 from all three; np.argmin in the notes takes the first.
    assert nn.predict(np.array([[10, 0]], dtype=np.uint8)).tolist() == [2]
    # In uint8, 0 - 255 wraps to 1 and (255, 0) would look nearest to (0, 0); as floats
    # (100, 0) is.
    nn.train(np.array([[255, 0], [100, 0]], dtype=np.uint8), np.array([0, 1]))
    assert nn.predict(np.zeros((1, 2), dtype=np.uint8)).tolist() == [1]


def test_errors_name_the_fix():
    nn = NearestNeighbor()
    with pytest.raises(ValueError, match=r"call train\(X, y\) first"):
        nn.predict(np.zeros((1, 2)))
    nn.train(np.zeros((3, 2)), np.array([0, 1, 0]))
    with pytest.raises(ValueError, match="X has 3 features per example but the training data"):
        nn.predict(np.zeros((1, 3)))
