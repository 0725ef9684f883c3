"""Multiclass SVM (hinge) loss and its gradient for a linear classifier (CS231n assignment 1).

Conventions shared with `softmax.py`: weights W (D, C), data X (N, D), labels y (N,) in [0, C);
the loss is the mean data loss over the N examples plus reg * sum(W * W), and the functions
return (loss, dW) with dW of W's shape. The naive version is the loop-based reference; the
vectorised one is the svm_loss layer applied to the scores X @ W.
"""

from __future__ import annotations

import numpy as np

from tinyvision.layers.losses import _svm_loss
from tinyvision.layers.regularization import l2_regularization
from tinyvision.validation import check_labels

__all__ = ["svm_loss_naive", "svm_loss_vectorized"]


def svm_loss_naive(
    W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, np.ndarray]:
    """Structured SVM loss with margin 1, computed with explicit loops.

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
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return float(loss), dW


def svm_loss_vectorized(
    W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, np.ndarray]:
    """Structured SVM loss with margin 1, vectorised; same inputs and outputs as svm_loss_naive.

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
    data_loss, dscores = _svm_loss(scores, y)  # y checked above
    penalty, dW_reg = l2_regularization(W, reg, scale=1.0)
    dW = X.T @ dscores + dW_reg  # (D, C)
    return float(data_loss + penalty), dW.astype(W.dtype, copy=False)
