"""The linear classifiers (`--model softmax`, `--model svm`) of assignment 1.

They train with their own minibatch SGD (`LinearClassifier.train`, as in the course) on
mean-centred rows with the bias column appended, or, with `--update-rule lbfgs`, with L-BFGS
on the whole training set (`LinearClassifier.train_lbfgs`; --epochs caps its iterations). On
raw CIFAR-10 pixels the run folder also gets `templates.png`, the learned weights of each
class drawn as an image.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.classification import CLASSIFICATION, Prepared
from tinyvision.classifiers.linear_classifier import LinearClassifier, LinearSVM, Softmax
from tinyvision.config import TrainConfig
from tinyvision.registry import ModelSpec, register

logger = logging.getLogger(__name__)

# Training rows whose accuracy is measured after each epoch (all of them on the small sets).
_ACCURACY_SAMPLE = 5000


def fit(
    model: LinearClassifier,
    config: TrainConfig,
    prepared: Prepared,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None,
) -> dict[str, Any]:
    """config.epochs passes of SGD, one `train` call per epoch so each epoch can be reported;
    with update_rule "lbfgs", up to config.epochs iterations of full-batch L-BFGS instead.

    The learning rate decays between calls exactly as one long call would decay it, and the
    classifier's generator carries on, so the result is the same as a single call.
    returns the loss of every update and the train and val accuracy after every epoch
    """
    if config.update_rule == "lbfgs":
        return _fit_lbfgs(model, config, prepared, verbose)
    X_train, y_train = prepared.X["train"], prepared.data["y_train"]
    steps = math.ceil(len(y_train) / config.batch_size)
    history: dict[str, Any] = {
        "loss_history": [],
        "train_acc_history": [],
        "val_acc_history": [],
        "acc_epochs": list(range(1, config.epochs + 1)),
    }
    learning_rate = config.learning_rate
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        losses = model.train(
            X_train,
            y_train,
            learning_rate=learning_rate,
            reg=config.reg,
            num_iters=steps,
            batch_size=config.batch_size,
            verbose=False,
        )
        history["loss_history"].extend(float(v) for v in losses)
        train_acc, val_acc = _accuracies(model, prepared)
        history["train_acc_history"].append(train_acc)
        history["val_acc_history"].append(val_acc)
        if verbose:
            logger.info(
                "epoch %d / %d: loss %.4f, train acc %.4f, val acc %.4f, lr %.3g, %.1f s",
                epoch,
                config.epochs,
                losses[-1],
                train_acc,
                val_acc,
                learning_rate,
                time.perf_counter() - started,
            )
        learning_rate *= config.lr_decay
    return history


def _accuracies(model: LinearClassifier, prepared: Prepared) -> tuple[float, float]:
    """Accuracy on (the first _ACCURACY_SAMPLE rows of) the training split, and on val."""
    X_train, y_train = prepared.X["train"], prepared.data["y_train"]
    train_acc = np.mean(model.predict(X_train[:_ACCURACY_SAMPLE]) == y_train[:_ACCURACY_SAMPLE])
    val_acc = np.mean(model.predict(prepared.X["val"]) == prepared.data["y_val"])
    return float(train_acc), float(val_acc)


def _fit_lbfgs(
    model: LinearClassifier, config: TrainConfig, prepared: Prepared, verbose: bool
) -> dict[str, Any]:
    """Up to config.epochs L-BFGS iterations on the whole training split.

    returns the full-batch loss after every iteration, with its seconds and passes over the
    data, and the train and val accuracy at the end (recorded at the last iteration)
    """
    lbfgs = model.train_lbfgs(
        prepared.X["train"], prepared.data["y_train"], reg=config.reg, max_iter=config.epochs
    )
    train_acc, val_acc = _accuracies(model, prepared)
    if verbose:
        logger.info(
            "L-BFGS: %d iterations, %d passes, loss %.4f, train acc %.4f, val acc %.4f, "
            "%.1f s (%s)",
            len(lbfgs.losses) - 1,
            lbfgs.passes[-1],
            lbfgs.losses[-1],
            train_acc,
            val_acc,
            lbfgs.seconds[-1],
            lbfgs.message,
        )
    return {
        "loss_history": lbfgs.losses[1:],
        "train_acc_history": [train_acc],
        "val_acc_history": [val_acc],
        "acc_epochs": [max(len(lbfgs.losses) - 1, 1)],
        "lbfgs_seconds": lbfgs.seconds,
        "lbfgs_passes": lbfgs.passes,
        "lbfgs_message": lbfgs.message,
    }


def plot_templates(
    model: LinearClassifier, config: TrainConfig, prepared: Prepared, run_dir: Path
) -> None:
    """templates.png: each class's weights as a 32x32 colour image (raw CIFAR-10 pixels only)."""
    if config.dataset != "cifar10" or config.features:
        return
    from tinyvision.data.cifar10 import CLASS_NAMES
    from tinyvision.vis_utils import plot_class_templates

    # Rows of W follow the flattened (C, H, W) pixels, then the bias row; templates want HWC.
    pixels = model.W[:-1].reshape(3, 32, 32, -1).transpose(1, 2, 0, 3)
    # Each class on its own scale: on a short or small run one class's larger weights would
    # otherwise leave the others as grey noise.
    plot_class_templates(
        pixels.reshape(3072, -1), CLASS_NAMES, run_dir / "templates.png", per_class=True
    )


def check(config: TrainConfig) -> None:
    """The linear models train with their own minibatch SGD or full-batch L-BFGS, nothing else."""
    if config.update_rule not in ("sgd", "lbfgs"):
        raise ValueError(
            f"--model {config.model} trains with its own minibatch SGD (the course's "
            f"LinearClassifier.train) or with full-batch L-BFGS: --update-rule takes sgd or "
            f"lbfgs, got {config.update_rule!r}"
        )


def _register(name: str, model_class: type[LinearClassifier], defaults: dict) -> None:
    register(
        ModelSpec(
            name=name,
            task=CLASSIFICATION,
            build=lambda config, prepared: model_class(seed=config.seed),
            description=model_class.__doc__.splitlines()[0],
            defaults=defaults,
            bias_column=True,
            fit=fit,
            checkpoint=None,
            check=check,
            artifacts=plot_templates,
            scores=LinearClassifier.scores,
            full_batch=True,
        )
    )


_SMALL = {
    "digits": {"epochs": 100, "batch_size": 200, "reg": 1e-4, "lr_decay": 1.0},
    "spiral": {"epochs": 200, "batch_size": 100, "reg": 1e-3, "lr_decay": 1.0},
}

_register(
    "softmax",
    Softmax,
    {
        "digits": {**_SMALL["digits"], "learning_rate": 1.0},
        "spiral": {**_SMALL["spiral"], "learning_rate": 1.0},
        # Chosen on 6,000 held-out training images (lr x reg, 30 epochs at decay 0.9, the
        # course's 0.001 * randn start); the per-epoch decay gained about two points.
        "cifar10": {
            "epochs": 30,
            "batch_size": 200,
            "learning_rate": 1e-5,
            "reg": 1e2,
            "lr_decay": 0.9,
        },
    },
)
_register(
    "svm",
    LinearSVM,
    {
        "digits": {**_SMALL["digits"], "learning_rate": 0.3},
        "spiral": {**_SMALL["spiral"], "learning_rate": 1.0},
        "cifar10": {
            "epochs": 30,
            "batch_size": 200,
            "learning_rate": 5e-7,
            "reg": 1e3,
            "lr_decay": 0.9,
        },
        # On standardised HOG + hue-histogram features (--features hog,hsv).
        "cifar10-features": {"epochs": 10, "learning_rate": 1e-2, "reg": 1e-3, "lr_decay": 1.0},
    },
)
