"""LinearClassifier / LinearSVM / Softmax training, prediction, preprocessing and errors."""

import numpy as np
import pytest
from assertions import assert_close

from tinyvision.classifiers.linear_classifier import (
    LinearClassifier,
    LinearSVM,
    Softmax,
    preprocess_for_linear,
)
from tinyvision.classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from tinyvision.classifiers.softmax import softmax_loss_naive
from tinyvision.gradient_check import eval_numerical_gradient


def blobs(seed, per_class=40, num_classes=3, dim=2, spread=0.3):
    """Gaussian blobs around well-separated centres, offset from the origin (needs a bias)."""
    rng = np.random.default_rng(seed)
    centres = 5 + 4 * np.eye(num_classes, dim)
    X = np.concatenate([c + spread * rng.standard_normal((per_class, dim)) for c in centres])
    y = np.repeat(np.arange(num_classes), per_class)
    return X, y


@pytest.mark.parametrize("cls", [LinearSVM, Softmax])
def test_training_reduces_the_loss(cls):
    X, y = blobs(0)
    (X,) = preprocess_for_linear(X)
    history = cls(seed=0).train(X, y, learning_rate=0.05, reg=1e-4, num_iters=200, batch_size=32)
    assert len(history) == 200
    assert all(isinstance(v, float) for v in history)
    assert np.mean(history[-20:]) < 0.5 * np.mean(history[:5])


@pytest.mark.parametrize("cls", [LinearSVM, Softmax])
def test_learns_a_separable_problem(cls):
    X, y = blobs(1)
    X_train, X_test = preprocess_for_linear(X[::2], X[1::2])
    model = cls(seed=1)
    model.train(X_train, y[::2], learning_rate=0.1, reg=1e-5, num_iters=300, batch_size=20)
    assert np.mean(model.predict(X_train) == y[::2]) == 1.0
    assert np.mean(model.predict(X_test) == y[1::2]) == 1.0


def test_weights_are_initialised_lazily_from_the_data():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((50, 300))
    y = np.array([0, 6] * 25)
    model = LinearSVM(seed=2)
    assert model.W is None
    model.train(X, y, num_iters=0)
    assert model.W.shape == (300, 7)
    assert 0.0009 < np.std(model.W) < 0.0011


def test_same_seed_same_result_different_seed_different():
    X, y = blobs(3)
    runs = []
    for seed in (5, 5, 6):
        model = Softmax(seed=seed)
        runs.append((model.train(X, y, num_iters=20, batch_size=10), model.W))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]


def test_sgd_step_uses_the_minibatch_gradient():
    X, y = blobs(4)
    model = LinearSVM(seed=7)
    model.train(X, y, num_iters=0)
    W_before = model.W.copy()
    # Replay the sampler to know which minibatch the single step draws.
    batch = np.random.default_rng(7)
    batch.standard_normal(W_before.shape)
    indices = batch.choice(len(X), 16, replace=True)
    model.train(X, y, learning_rate=0.01, reg=0.2, num_iters=1, batch_size=16)
    _, grad = svm_loss_vectorized(W_before, X[indices], y[indices], 0.2)
    np.testing.assert_allclose(model.W, W_before - 0.01 * grad, rtol=1e-12)


class _ConstantGradient(LinearSVM):
    """A classifier whose gradient is all ones, so W after training shows every step size."""

    def loss(self, X_batch, y_batch, reg):
        return 0.0, np.ones_like(self.W)


def test_lr_decay_scales_the_step_once_per_epoch():
    X, y = blobs(12)  # 120 examples: 3 steps per epoch at batch 40 (and 4 at batch 32)
    for batch_size, steps_per_epoch in ((40, 3), (32, 4)):
        model = _ConstantGradient(seed=0)
        model.train(X, y, num_iters=0)
        W_before = model.W.copy()
        num_iters = 2 * steps_per_epoch + 1
        model.train(X, y, 0.1, num_iters=num_iters, batch_size=batch_size, lr_decay=0.5)
        rates = [0.1 * 0.5 ** (it // steps_per_epoch) for it in range(num_iters)]
        np.testing.assert_allclose(model.W, W_before - sum(rates), rtol=1e-12)


@pytest.mark.parametrize(
    ("cls", "naive_loss", "loss_at_zero"),
    [(LinearSVM, svm_loss_naive, 2.0), (Softmax, softmax_loss_naive, np.log(3))],
)
def test_loss_method_is_the_loss_of_the_current_weights(cls, naive_loss, loss_at_zero):
    X, y = blobs(8)  # 3 classes
    model = cls(seed=0)
    model.train(X, y, num_iters=1)
    loss, grad = model.loss(X, y, 0.3)
    # Oracles independent of the vectorised code: the loop version, and a numerical gradient
    # of the method itself with respect to the model's W (tiny weights keep every SVM margin
    # near 1, far from the hinge).
    expected_loss, _ = naive_loss(model.W, X, y, 0.3)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    numerical = eval_numerical_gradient(lambda _: model.loss(X, y, 0.3)[0], model.W, verbose=False)
    assert_close(grad, numerical, rtol=1e-7, atol=1e-10, name="dW")
    # Zero weights: every SVM margin is exactly 1, every softmax probability 1/3.
    model.W = np.zeros_like(model.W)
    assert model.loss(X, y, 0.3)[0] == pytest.approx(loss_at_zero, rel=1e-12)


def test_float32_training_keeps_float32_weights():
    X, y = blobs(9)
    model = Softmax(seed=0)
    model.train(X.astype(np.float32), y, num_iters=5, batch_size=8)
    assert model.W.dtype == np.float32
    assert model.predict(X.astype(np.float32)).dtype == np.int64


def test_verbose_prints_progress_like_the_course_without_logging_set_up(capsys):
    X, y = blobs(10)
    LinearSVM(seed=0).train(X, y, num_iters=201, batch_size=4, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "iteration 0 / 201",
        "iteration 100 / 201",
        "iteration 200 / 201",
    ]


def test_quiet_training_prints_nothing(capsys):
    X, y = blobs(10)
    LinearSVM(seed=0).train(X, y, num_iters=201, batch_size=4, verbose=False)
    assert capsys.readouterr().out == ""


def test_base_class_needs_a_loss():
    with pytest.raises(TypeError, match="abstract"):
        LinearClassifier()


def test_bad_inputs_raise():
    X, y = blobs(11)
    model = LinearSVM(seed=0)
    with pytest.raises(ValueError, match="call train"):
        model.predict(X)
    with pytest.raises(ValueError, match="120 examples but y has 119"):
        model.train(X, y[:-1])
    with pytest.raises(ValueError, match="must have 2 dimensions"):
        model.train(X[:, :, None], y)
    with pytest.raises(ValueError, match="labels must be in"):
        model.train(X, y - 1)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        model.train(X, y, batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        model.train(X[:0], y[:0])
    with pytest.raises(ValueError, match=r"lr_decay must be in \(0, 1\], got 1.5 \(float\)"):
        model.train(X, y, lr_decay=1.5)
    model.train(X, y, num_iters=1)
    with pytest.raises(ValueError, match="holds the label 3 but there are only 3 classes"):
        model.train(X, np.where(y == 2, 3, y))
    with pytest.raises(ValueError, match="X has 3 features but the existing W expects 2"):
        model.train(np.hstack([X, X[:, :1]]), y)
    with pytest.raises(ValueError, match="X has 1 features but W expects 2"):
        model.predict(X[:, :1])


def test_preprocess_flattens_centres_and_appends_ones():
    rng = np.random.default_rng(12)
    train = rng.uniform(0, 255, (30, 4, 4, 3))
    val = rng.uniform(0, 255, (7, 4, 4, 3))
    X_train, X_val = preprocess_for_linear(train, val)
    assert X_train.shape == (30, 49) and X_val.shape == (7, 49)
    assert X_train.dtype == np.float64
    np.testing.assert_array_equal(X_train[:, -1], 1)
    np.testing.assert_array_equal(X_val[:, -1], 1)
    np.testing.assert_allclose(X_train[:, :-1].mean(axis=0), 0, atol=1e-10)
    mean_image = train.reshape(30, -1).mean(axis=0)
    np.testing.assert_allclose(X_val[:, :-1], val.reshape(7, -1) - mean_image, rtol=1e-12)
    (X32,) = preprocess_for_linear(train.astype(np.uint8), dtype=np.float32)
    assert X32.dtype == np.float32


def test_preprocess_rejects_mismatched_sets():
    rng = np.random.default_rng(13)
    with pytest.raises(ValueError, match=r"set 1 has examples of shape \(4, 4\)"):
        preprocess_for_linear(rng.standard_normal((5, 4, 4, 3)), rng.standard_normal((2, 4, 4)))
    with pytest.raises(ValueError, match="non-empty batch"):
        preprocess_for_linear(np.zeros(5))
