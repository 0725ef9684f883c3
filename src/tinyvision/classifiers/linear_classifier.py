"""Linear classifiers trained by minibatch SGD: the course's LinearSVM and Softmax.

Beside the course's SGD (`train`), `train_lbfgs` minimises the same loss over the whole
training set with L-BFGS (`tinyvision.full_batch`).

`LinearClassifier.train` follows CS231n assignment 1: W is created lazily as
0.001 * randn(D, C) with C = max(y) + 1, minibatches are sampled with replacement, and the
loss history is returned. As the Solver does for the nets, training stops with
`TrainingDivergedError` when the loss stops being finite (a learning rate too large for the
data), with W kept at its last value whose loss was finite. `preprocess_for_linear` applies the
course's preprocessing: flatten, subtract the training mean image, and append a constant-1
column (the bias trick).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np
from numpy.typing import DTypeLike

from tinyvision.classifiers.linear_svm import svm_loss_vectorized
from tinyvision.classifiers.softmax import softmax_loss_vectorized
from tinyvision.errors import TrainingDivergedError
from tinyvision.full_batch import LbfgsHistory
from tinyvision.init import make_rng
from tinyvision.model import Model
from tinyvision.validation import (
    check_float_array,
    check_in_range,
    check_labels,
    check_non_negative,
    check_non_negative_int,
    check_positive,
    check_positive_int,
    check_same_length,
)

__all__ = ["LinearClassifier", "LinearSVM", "Softmax", "preprocess_for_linear"]


class LinearClassifier(Model, ABC):
    """Scores = X @ W; subclasses define the loss. Its one parameter is "W" (once trained).

    seed: seed for the weight initialisation and minibatch sampling; None derives it from
        NumPy's global generator, so np.random.seed makes a run reproducible
    """

    def __init__(self, seed: int | None = None) -> None:
        self.W: np.ndarray | None = None
        self.rng = make_rng(seed)

    @property
    def params(self) -> dict[str, np.ndarray]:
        """{"W": W} once trained, {} before."""
        return {} if self.W is None else {"W": self.W}

    @params.setter
    def params(self, new_params: dict[str, np.ndarray]) -> None:
        self.W = new_params["W"]

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Take W from state; an untrained classifier takes W's shape from it."""
        if self.W is None and set(state) == {"W"} and np.ndim(state["W"]) == 2:
            self.W = np.array(state["W"], copy=True)
            return
        super().load_state_dict(state)

    def train(
        self,
        X: np.ndarray | bool = True,
        y: np.ndarray | None = None,
        learning_rate: float = 1e-3,
        reg: float = 1e-5,
        num_iters: int = 100,
        batch_size: int = 200,
        verbose: bool = False,
        lr_decay: float = 1.0,
    ) -> list[float] | LinearClassifier:
        """Minimise the loss with stochastic gradient descent.

        X: (N, D) float training data (use preprocess_for_linear for images)
        y: (N,) int labels in [0, C); C = max(y) + 1 when W is first created
        learning_rate: SGD step size, > 0
        reg: L2 regularisation strength, >= 0
        num_iters: number of SGD steps, >= 0
        batch_size: examples per step, drawn with replacement
        verbose: print the loss every 100 iterations, as the course does
        lr_decay: factor applied to the learning rate after every epoch, i.e. every
            ceil(N / batch_size) steps; the course's constant rate is 1.0. A decay lets the
            early steps be large and the last ones settle (0.9 with 30 epochs gains about two
            points of CIFAR-10 accuracy over a constant rate)
        returns the loss at every iteration, a list of num_iters floats
        raises ValueError for bad data or settings (naming the argument), and
            TrainingDivergedError when a minibatch loss is NaN or infinite: W is then the last
            W whose loss was finite (the initial W if the very first loss was not)

        Called without data (`train()` / `train(False)`) it is the model contract's mode switch
        and returns the classifier, which behaves the same in both modes.
        """
        if y is None and isinstance(X, bool):
            return super().train(X)
        X = check_float_array(X, "X", 2)
        y = check_labels(y, None if self.W is None else self.W.shape[1])
        check_same_length(X, y)
        if len(X) == 0:
            raise ValueError("X is empty; training needs at least one example")
        learning_rate = check_positive(learning_rate, "learning_rate")
        reg = check_non_negative(reg, "reg")
        check_non_negative_int(num_iters, "num_iters")
        check_positive_int(batch_size, "batch_size")
        check_in_range(lr_decay, "lr_decay", 0, 1, low_open=True)
        num_train = len(X)
        self._init_weights(X, y)

        steps_per_epoch = -(-num_train // batch_size)
        loss_history = []
        # W of the previous step; the update makes a new array, so keeping it costs no copy.
        last_good = self.W
        for it in range(num_iters):
            if it and it % steps_per_epoch == 0:
                learning_rate *= lr_decay
            batch = self.rng.choice(num_train, batch_size, replace=True)
            loss, grad = self.loss(X[batch], y[batch], reg)
            if not math.isfinite(loss):
                self.W = last_good
                kept = (
                    f"W keeps its value from iteration {it}, the last with a finite loss"
                    if it
                    else "W keeps its initial value"
                )
                raise TrainingDivergedError(it + 1, loss, learning_rate, kept=kept)
            loss_history.append(loss)
            last_good = self.W
            self.W = self.W - learning_rate * grad
            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:f}")
        return loss_history

    def _init_weights(self, X: np.ndarray, y: np.ndarray) -> None:
        """Create W as 0.001 * randn(D, max(y) + 1) in X's dtype, or check its D against X's."""
        dim = X.shape[1]
        if self.W is None:
            num_classes = int(y.max()) + 1
            self.W = (0.001 * self.rng.standard_normal((dim, num_classes))).astype(X.dtype)
        elif self.W.shape[0] != dim:
            raise ValueError(
                f"X has {dim} features but the existing W expects {self.W.shape[0]}; "
                "preprocess the data the same way or use a new classifier"
            )

    def train_lbfgs(
        self, X: np.ndarray, y: np.ndarray, reg: float = 1e-5, max_iter: int = 100
    ) -> LbfgsHistory:
        """Minimise the loss over the whole training set with L-BFGS (tinyvision.full_batch).

        Every iteration computes the exact full-batch loss and gradient (one or more passes
        over X), so there is no learning rate or batch size; W starts as for train.
        X: (N, D) float training data (use preprocess_for_linear for images)
        y: (N,) int labels in [0, C)
        reg: L2 regularisation strength, >= 0
        max_iter: most L-BFGS iterations, >= 0
        returns the LbfgsHistory (seconds, loss and passes over X per iteration); W is the
            point where L-BFGS stopped, in X's dtype
        raises ValueError for bad data or settings (naming the argument)
        """
        from tinyvision.full_batch import minimize_lbfgs

        X = check_float_array(X, "X", 2)
        y = check_labels(y, None if self.W is None else self.W.shape[1])
        check_same_length(X, y)
        if len(X) == 0:
            raise ValueError("X is empty; training needs at least one example")
        reg = check_non_negative(reg, "reg")
        check_non_negative_int(max_iter, "max_iter")
        self._init_weights(X, y)

        def objective(params: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
            self.W = params["W"]
            loss, grad = self.loss(X, y, reg)
            return loss, {"W": grad}

        params, history = minimize_lbfgs(objective, self.params, max_iter=max_iter)
        self.W = params["W"]
        return history

    def scores(self, X: np.ndarray) -> np.ndarray:
        """The class scores X @ W of each row of X.

        X: (N, D) float data, preprocessed like the training data
        returns (N, C) scores in the dtype of X @ W
        """
        if self.W is None:
            raise ValueError(f"this {type(self).__name__} is untrained; call train(X, y) first")
        X = check_float_array(X, "X", 2)
        if X.shape[1] != self.W.shape[0]:
            raise ValueError(
                f"X has {X.shape[1]} features but W expects {self.W.shape[0]}; "
                "preprocess test data like the training data (bias column included)"
            )
        return X @ self.W

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Label each row of X with its highest-scoring class.

        X: (N, D) float data, preprocessed like the training data
        returns y_pred, (N,) int64 labels
        """
        return np.argmax(self.scores(X), axis=1).astype(np.int64)

    @abstractmethod
    def loss(
        self, X_batch: np.ndarray, y_batch: np.ndarray, reg: float
    ) -> tuple[float, np.ndarray]:
        """Loss and gradient of the current W on a minibatch.

        X_batch: (N, D) float data
        y_batch: (N,) int labels
        reg: L2 regularisation strength
        returns (loss, gradient with W's shape)
        """


class LinearSVM(LinearClassifier):
    """Linear classifier with the multiclass SVM (hinge) loss."""

    def loss(
        self, X_batch: np.ndarray, y_batch: np.ndarray, reg: float
    ) -> tuple[float, np.ndarray]:
        """Vectorised SVM loss and gradient (see svm_loss_vectorized)."""
        return svm_loss_vectorized(self.W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """Linear classifier with the softmax (cross-entropy) loss."""

    def loss(
        self, X_batch: np.ndarray, y_batch: np.ndarray, reg: float
    ) -> tuple[float, np.ndarray]:
        """Vectorised softmax loss and gradient (see softmax_loss_vectorized)."""
        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)


def preprocess_for_linear(
    X_train: np.ndarray, *X_others: np.ndarray, dtype: DTypeLike = np.float64
) -> tuple[np.ndarray, ...]:
    """Flatten images, subtract the training mean image and append a bias column of ones.

    X_train: (N, ...) training images, e.g. (N, 32, 32, 3); its mean is subtracted from all
    X_others: further sets (validation, test, dev) of the same per-example shape
    dtype: floating dtype of the results
    returns a tuple (X_train, *X_others), each (n, prod(...) + 1) of `dtype`
    """
    X_train = np.asarray(X_train)
    if X_train.ndim < 2 or len(X_train) == 0:
        raise ValueError(
            f"X_train must be a non-empty batch of examples (N, ...), got shape {X_train.shape}"
        )
    example_shape = X_train.shape[1:]
    mean_image = X_train.reshape(len(X_train), -1).mean(axis=0, dtype=np.float64)
    results = []
    for index, X in enumerate((X_train, *X_others)):
        X = np.asarray(X)
        if X.shape[1:] != example_shape:
            raise ValueError(
                f"set {index} has examples of shape {X.shape[1:]} but X_train has "
                f"{example_shape}; all sets must share the per-example shape"
            )
        flat = X.reshape(len(X), -1).astype(dtype) - mean_image.astype(dtype)
        results.append(np.hstack([flat, np.ones((len(X), 1), dtype=dtype)]))
    return tuple(results)
