"""Binary logistic regression (I2DL exercise 4): p(y = 1 | x) = sigmoid(x @ w + bias).

As in I2DL the weights are one (D + 1, 1) column whose last row is the bias (the inputs are
thought of as carrying a constant 1 feature). Training minimises the mean binary cross-entropy
on the logits z = x @ w + bias (`bce_with_logits_loss`), which is stable for any |z|.

The model speaks the course's interface, so the one Solver trains it:

- `loss(X, y)` returns (loss, grads) with grads keyed like `params` ({"W": (D + 1, 1)});
- `loss(X)` returns two-column scores [0, z] (N, 2). Their argmax is 1 exactly when z > 0,
  i.e. when sigmoid(z) > 0.5, so `Solver.check_accuracy` (argmax of the scores) measures the
  accuracy of thresholding the probability at 0.5, the same rule as `predict`.

`demo_breast_cancer` fits it to one feature of scikit-learn's breast-cancer data set and plots
the data with the fitted sigmoid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyvision.init import make_rng
from tinyvision.layers import (
    affine_backward,
    affine_forward,
    bce_with_logits_loss,
    l2_regularization,
    sigmoid_forward,
)
from tinyvision.model import Model
from tinyvision.validation import (
    check_float_array,
    check_labels,
    check_non_negative,
    check_positive_int,
)

__all__ = ["LogisticRegression", "demo_breast_cancer"]


class LogisticRegression(Model):
    """Sigmoid classifier for labels {0, 1}; params {"W": (D + 1, 1)}, last row the bias."""

    def __init__(
        self,
        num_features: int,
        weight_scale: float = 1e-3,
        reg: float = 0.0,
        seed: int | None = None,
    ) -> None:
        """Draw W ~ weight_scale * N(0, 1), as I2DL does.

        num_features: D, features per example (the bias is added on top)
        weight_scale: standard deviation of the initial weights
        reg: L2 strength, 0.5 * reg * sum(w * w) over the weights but not the bias
        seed: seed of the initialisation; None follows np.random.seed
        """
        self.num_features = check_positive_int(num_features, "num_features")
        self.reg = check_non_negative(reg, "reg")
        weight_scale = check_non_negative(weight_scale, "weight_scale")
        rng = make_rng(seed)
        self.params = {"W": weight_scale * rng.standard_normal((self.num_features + 1, 1))}

    def _logits(self, X: np.ndarray) -> tuple[np.ndarray, tuple]:
        """z = X @ w + bias through the affine layer; returns z (N, 1) and the affine cache."""
        W = self.params["W"]
        return affine_forward(X, W[:-1], W[-1])

    def loss(
        self, X: np.ndarray, y: np.ndarray | None = None
    ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
        """Scores for the Solver, or the BCE loss and its gradient.

        X: (N, D) float features
        y: (N,) labels in {0, 1}, or None
        returns scores [0, z] (N, 2) when y is None (argmax = predicted class), else
        (loss, {"W": dW (D + 1, 1)})
        raises ValueError unless y holds one integer label in {0, 1} per row of X
        """
        if y is not None:
            y = check_labels(y, 2, "y", num_examples=len(X))
        z, cache = self._logits(X)
        if y is None:
            return np.concatenate([np.zeros_like(z), z], axis=1)
        targets = y.astype(z.dtype)[:, None]  # (N, 1), like z
        loss, dz = bce_with_logits_loss(z, targets)
        _, dw, db = affine_backward(dz, cache)
        penalty, dw_reg = l2_regularization(self.params["W"][:-1], self.reg, scale=0.5)
        loss += penalty
        dW = np.concatenate([dw + dw_reg, db[None, :]], axis=0)
        self.grads = {"W": dW}
        return float(loss), {"W": dW}

    def _check_features(self, X: np.ndarray) -> np.ndarray:
        X = check_float_array(X, "X", 2)
        if X.shape[1] != self.num_features:
            raise ValueError(
                f"X has {X.shape[1]} features per example but the model was built for "
                f"{self.num_features}"
            )
        return X

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probability of class 1.

        X: (N, D) float features
        returns (N,) float64 probabilities in [0, 1]
        """
        z, _ = self._logits(self._check_features(X))
        probabilities, _ = sigmoid_forward(z[:, 0])
        return probabilities

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class labels by thresholding the probability at 0.5.

        X: (N, D) float features
        returns (N,) int64 labels in {0, 1}
        """
        return (self.predict_proba(X) > 0.5).astype(np.int64)

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """Accuracy of predict(X) against y.

        X: (N, D) float features
        y: (N,) labels in {0, 1}
        returns the fraction of correct predictions
        """
        y = check_labels(y, 2, "y", num_examples=len(X))
        return float(np.mean(self.predict(X) == y))


def _split(
    n: int, rng: np.random.Generator, fractions: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffled indices for train / val / test, the first two of the given fractions."""
    order = rng.permutation(n)
    n_train, n_val = int(fractions[0] * n), int(fractions[1] * n)
    return order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]


def demo_breast_cancer(
    out_dir: str | Path,
    feature: str = "mean radius",
    num_epochs: int = 300,
    learning_rate: float = 1.0,
    seed: int = 0,
) -> dict[str, float | str]:
    """Fit LogisticRegression to one feature of the breast-cancer data and plot the result.

    The data (569 tumours; label 1 = benign, 0 = malignant) ships with scikit-learn, so no
    download is needed. The feature is standardised with the training split's mean and std,
    the model is trained full-batch by the Solver with SGD, and a PNG with the examples and
    the fitted sigmoid p(benign | feature) is written to out_dir.
    out_dir: folder for the plot (created if missing)
    feature: one of sklearn.datasets.load_breast_cancer().feature_names
    num_epochs: full-batch gradient steps
    learning_rate: SGD step size
    seed: seeds the split, the initialisation and the Solver
    returns {"train_accuracy", "val_accuracy", "test_accuracy", "plot_path"}
    """
    # Plotting and the data set are imported here, so importing the model stays light.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from sklearn.datasets import load_breast_cancer

    from tinyvision.solver import Solver

    data = load_breast_cancer()
    names = list(data.feature_names)
    if feature not in names:
        raise ValueError(f"unknown feature {feature!r}; choose one of {names}")
    x = data.data[:, [names.index(feature)]]
    y = data.target.astype(np.int64)
    rng = make_rng(seed)
    train, val, test = _split(len(y), rng, (0.6, 0.2))
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    x = (x - mean) / std

    model = LogisticRegression(num_features=1, seed=seed)
    solver = Solver(
        model,
        {"X_train": x[train], "y_train": y[train], "X_val": x[val], "y_val": y[val]},
        update_rule="sgd",
        optim_config={"learning_rate": learning_rate},
        batch_size=len(train),
        num_epochs=num_epochs,
        num_train_samples=None,
        verbose=False,
        progress=False,
        seed=seed,
    )
    solver.train()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_path = out_dir / "logistic_regression_breast_cancer.png"
    figure = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    for label, colour, name in ((0, "tab:red", "malignant"), (1, "tab:blue", "benign")):
        mask = y == label
        ax.scatter(x[mask, 0], y[mask], s=12, alpha=0.5, color=colour, label=name)
    grid = np.linspace(x.min(), x.max(), 300)[:, None]
    ax.plot(grid[:, 0], model.predict_proba(grid), color="black", label="p(benign | x)")
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel(f"{feature} (standardised)")
    ax.set_ylabel("label / probability")
    ax.set_title("Logistic regression on one breast-cancer feature")
    ax.legend(loc="center right")
    figure.tight_layout()
    figure.savefig(plot_path, dpi=100)

    return {
        "train_accuracy": model.score(x[train], y[train]),
        "val_accuracy": model.score(x[val], y[val]),
        "test_accuracy": model.score(x[test], y[test]),
        "plot_path": str(plot_path),
    }
