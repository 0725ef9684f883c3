"""Softmax (cross-entropy) loss and its gradient for a linear classifier (CS231n assignment 1).

Same conventions as `linear_svm.py`: W (D, C), X (N, D), y (N,), loss = mean cross-entropy
+ reg * sum(W * W), returning (loss, dW). Scores are shifted by their row maximum before
exponentiating, which leaves the softmax unchanged and keeps exp from overflowing.
"""

from __future__ import annotations

import numpy as np

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
    """
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
    """
    num_train = X.shape[0]
    rows = np.arange(num_train)
    scores = X @ W
    scores -= scores.max(axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    sums = exp_scores.sum(axis=1)
    # log p_y = s_y - log sum exp s, which never takes the log of an underflowed probability.
    loss = np.sum(np.log(sums) - scores[rows, y]) / num_train + reg * np.sum(W * W)

    probs = exp_scores / sums[:, None]
    probs[rows, y] -= 1
    dW = X.T @ probs
    dW /= num_train
    dW += 2 * reg * W
    return float(loss), dW.astype(W.dtype, copy=False)
