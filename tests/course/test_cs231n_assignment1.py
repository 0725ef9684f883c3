"""CS231n assignment 1 as the notebooks call it, with `cs231n.` renamed to `tinyvision.`.

Each test pastes a notebook's sanity-check cell (knn, svm, softmax, two_layer_net, features) on
small data built here instead of CIFAR-10, and checks what the notebook prints or asserts, with
the notebook's tolerance. Printed expected values are the course's facts.
"""

import math

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from tinyvision.classifiers import *  # noqa: F403 - the notebooks' own import habit
from tinyvision.classifiers import KNearestNeighbor, LinearSVM, Softmax
from tinyvision.classifiers.fc_net import TwoLayerNet
from tinyvision.classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from tinyvision.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
from tinyvision.features import color_histogram_hsv, extract_features, hog_feature
from tinyvision.gradient_check import eval_numerical_gradient, grad_check_sparse, rel_error


def _blobs(seed, num, dim, num_classes, spread=1.0):
    """Class-dependent Gaussian blobs: (num, dim) float64 data and (num,) labels."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((num_classes, dim)) * 3
    y = rng.integers(0, num_classes, num)
    return centres[y] + spread * rng.standard_normal((num, dim)), y


def test_star_import_gives_the_assignment_one_classifiers():
    namespace = {}
    exec("from tinyvision.classifiers import *", namespace)
    for name in ("KNearestNeighbor", "LinearSVM", "Softmax", "LinearClassifier"):
        assert isinstance(namespace[name], type), name
    assert namespace["KNearestNeighbor"] is KNearestNeighbor
    assert namespace["svm_loss_vectorized"] is svm_loss_vectorized


# ------------------------------------------------------------------------------ knn.ipynb


def test_knn_distances_agree_and_predictions_match_sklearn():
    X, y = _blobs(0, 160, 30, 4, spread=3.0)
    X_train, y_train, X_test, y_test = X[:120], y[:120], X[120:], y[120:]
    classifier = KNearestNeighbor()
    classifier.train(X_train, y_train)
    dists = classifier.compute_distances_two_loops(X_test)
    assert dists.shape == (40, 120)

    dists_one = classifier.compute_distances_one_loop(X_test)
    difference = np.linalg.norm(dists - dists_one, ord="fro")
    assert difference < 0.001  # the notebook: "Good! The distance matrices are the same"
    dists_two = classifier.compute_distances_no_loops(X_test)
    assert np.linalg.norm(dists - dists_two, ord="fro") < 0.001

    for k in (1, 5):
        y_test_pred = classifier.predict_labels(dists, k=k)
        sk = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(X_train, y_train)
        np.testing.assert_array_equal(y_test_pred, sk.predict(X_test))
        np.testing.assert_array_equal(classifier.predict(X_test, k=k), y_test_pred)
    num_correct = np.sum(classifier.predict_labels(dists, k=5) == y_test)
    assert float(num_correct) / len(y_test) > 0.5


# --------------------------------------------------------------------- svm.ipynb, softmax


@pytest.mark.parametrize(
    ("naive", "vectorized"),
    [(svm_loss_naive, svm_loss_vectorized), (softmax_loss_naive, softmax_loss_vectorized)],
)
def test_naive_and_vectorized_losses_agree_and_gradient_check(naive, vectorized):
    X_dev, y_dev = _blobs(2, 60, 40, 10)
    X_dev = np.hstack([X_dev, np.ones((60, 1))])  # the bias trick
    np.random.seed(0)
    W = np.random.randn(41, 10) * 0.0001

    loss, grad = naive(W, X_dev, y_dev, 0.000005)
    loss_vectorized, grad_vectorized = vectorized(W, X_dev, y_dev, 0.000005)
    assert abs(loss - loss_vectorized) < 1e-10  # the notebook prints this difference
    assert np.linalg.norm(grad - grad_vectorized, ord="fro") < 1e-10

    for reg in (0.0, 5e1):
        loss, grad = naive(W, X_dev, y_dev, reg)
        f = lambda w: naive(w, X_dev, y_dev, reg)[0]  # noqa: E731, B023 - the notebook's lambda, used at once
        errors = grad_check_sparse(f, W, grad, num_checks=10, seed=1)
        # The SVM's hinge has kinks, so the notebook allows an occasional larger error.
        assert np.median(errors) < 1e-7


def test_softmax_initial_loss_is_close_to_log_ten():
    X_dev, y_dev = _blobs(3, 500, 40, 10)
    np.random.seed(0)
    W = np.random.randn(40, 10) * 0.0001
    loss, _ = softmax_loss_naive(W, X_dev, y_dev, 0.0)
    # "loss should be close to -log(0.1)": ten nearly equal scores.
    assert abs(loss - (-math.log(0.1))) < 0.01


@pytest.mark.parametrize("model_class", [LinearSVM, Softmax])
def test_linear_classifiers_train_as_in_the_notebooks(model_class):
    X, y = _blobs(4, 1000, 20, 5)
    X_train, y_train, X_val, y_val = X[:400], y[:400], X[400:], y[400:]
    np.random.seed(231)
    model = model_class()
    loss_hist = model.train(
        X_train, y_train, learning_rate=1e-3, reg=1e-2, num_iters=300, verbose=False
    )
    assert len(loss_hist) == 300 and np.mean(loss_hist[-20:]) < 0.5 * np.mean(loss_hist[:20])
    y_train_pred = model.predict(X_train)
    assert np.mean(y_train == y_train_pred) > 0.9
    assert np.mean(y_val == model.predict(X_val)) > 0.9
    assert model.W.shape == (20, 5)


# ------------------------------------------------------------------ two_layer_net.ipynb


def test_two_layer_net_toy_model_matches_the_printed_scores_and_losses():
    np.random.seed(231)
    N, D, H, C = 3, 5, 50, 7
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=N)

    std = 1e-3
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=std)
    W1_std = abs(model.params["W1"].std() - std)
    b1 = model.params["b1"]
    W2_std = abs(model.params["W2"].std() - std)
    b2 = model.params["b2"]
    assert W1_std < std / 10, "First layer weights do not seem right"
    assert np.all(b1 == 0), "First layer biases do not seem right"
    assert W2_std < std / 10, "Second layer weights do not seem right"
    assert np.all(b2 == 0), "Second layer biases do not seem right"

    model.params["W1"] = np.linspace(-0.7, 0.3, num=D * H).reshape(D, H)
    model.params["b1"] = np.linspace(-0.1, 0.9, num=H)
    model.params["W2"] = np.linspace(-0.3, 0.4, num=H * C).reshape(H, C)
    model.params["b2"] = np.linspace(-0.9, 0.1, num=C)
    X = np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T
    scores = model.loss(X)
    correct_scores = np.asarray(
        [
            [11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765,
             16.09215096],
            [12.05769098, 12.74614105, 13.43459113, 14.1230412, 14.81149128, 15.49994135,
             16.18839143],
            [12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822, 15.66781506,
             16.2846319],
        ]
    )  # fmt: skip
    scores_diff = np.abs(scores - correct_scores).sum()
    assert scores_diff < 1e-6, "Problem with test-time forward pass"

    y = np.asarray([0, 5, 1])
    loss, grads = model.loss(X, y)
    correct_loss = 3.4702243556
    assert abs(loss - correct_loss) < 1e-10, "Problem with training-time loss"

    model.reg = 1.0
    loss, grads = model.loss(X, y)
    correct_loss = 26.5948426952
    assert abs(loss - correct_loss) < 1e-10, "Problem with regularization loss"

    for reg in [0.0, 0.7]:
        model.reg = reg
        loss, grads = model.loss(X, y)
        for name in sorted(grads):
            f = lambda _: model.loss(X, y)[0]  # noqa: E731, B023 - the notebook's lambda, used at once
            grad_num = eval_numerical_gradient(f, model.params[name], verbose=False)
            # The notebook prints errors up to 2.53e-07 here.
            assert rel_error(grad_num, grads[name]) < 1e-6, (reg, name)


# ----------------------------------------------------------------------- features.ipynb


def test_features_stack_hog_and_hue_histogram_per_image():
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (6, 32, 32, 3)).astype(np.float64)
    num_color_bins = 10
    feature_fns = [hog_feature, lambda img: color_histogram_hsv(img, nbin=num_color_bins)]
    X_feats = extract_features(images, feature_fns, verbose=False)
    # HOG on 8x8 cells of a 32x32 image: 4 x 4 cells x 9 orientations, then 10 hue bins.
    assert X_feats.shape == (6, 4 * 4 * 9 + num_color_bins)
    for image, row in zip(images, X_feats, strict=True):
        np.testing.assert_allclose(row[:144], hog_feature(image), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(row[144:], color_histogram_hsv(image, nbin=10), rtol=1e-12)

    # The notebook's preprocessing: subtract the mean feature, divide by the std, add a bias.
    mean_feat = np.mean(X_feats, axis=0, keepdims=True)
    std_feat = np.std(X_feats, axis=0, keepdims=True)
    X_feats = np.hstack([(X_feats - mean_feat) / std_feat, np.ones((6, 1))])
    np.testing.assert_allclose(X_feats[:, :-1].mean(axis=0), 0, atol=1e-12)
