"""Softmax (cross-entropy) loss and its gradient for a linear classifier (CS231n assignment 1).

Same conventions as `linear_svm.py`: W (D, C), X (N, D), y (N,), loss = mean cross-entropy
+ reg * sum(W * W), returning (loss, dW). Scores are shifted by their row maximum before
exponentiating, which leaves the softmax unchanged and keeps exp from overflowing. The
vectorised version is the softmax_loss layer applied to the scores X @ W.
"""

from __future__ import annotations

import numpy as np

from tinyvision.layers.losses import _softmax_loss
from tinyvision.layers.regularization import l2_regularization
from tinyvision.validation import check_labels

__all__ = ["softmax_loss_naive", "softmax_loss_vectorized"]


def softmax_loss_naive(
    W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, np.ndarray]:
    """Softmax loss computed with explicit loops over examples and classes.

    W: (D, C) float weights
    X: (N, D) float minibatch
    y: (N,) int labels in [0, C)
    reg: L2 regularisation strength
    returns (loss as a float, dW of shape (D, C) and W's dtype)
    raises ValueError unless y holds one integer label in [0, C) per row of X
    """
    y = check_labels(y, W.shape[1], "y", num_examples=X.shape[0])
    dW = np.zeros_like(W)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        shift = np.max(scores)
        exp_scores = np.zeros(num_classes, dtype=scores.dtype)
        total = 0.0
        for j in range(num_classes):
            exp_scores[j] = np.exp(scores[j] - shift)
            total += exp_scores[j]
        loss += -(scores[y[i]] - shift) + np.log(total)
        for j in range(num_classes):
            prob = exp_scores[j] / total
            dW[:, j] += (prob - (j == y[i])) * X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return float(loss), dW


def softmax_loss_vectorized(
    W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, np.ndarray]:
    """Softmax loss, vectorised; same inputs and outputs as softmax_loss_naive.

    W: (D, C) float weights
    X: (N, D) float minibatch
    y: (N,) int labels in [0, C)
    reg: L2 regularisation strength
    returns (loss as a float, dW of shape (D, C) and W's dtype)
    raises ValueError unless y holds one integer label in [0, C) per row of X
    """
    y = check_labels(y, W.shape[1], "y", num_examples=X.shape[0])
    # The loss layer gives the data loss and dscores; the chain rule through X @ W gives dW.
    scores = X @ W  # (N, C)
    data_loss, dscores = _softmax_loss(scores, y)  # y checked above
    penalty, dW_reg = l2_regularization(W, reg, scale=1.0)
    dW = X.T @ dscores + dW_reg  # (D, C)
    return float(data_loss + penalty), dW.astype(W.dtype, copy=False)
