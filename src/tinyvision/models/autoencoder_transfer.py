"""`--model autoencoder-transfer`: the I2DL autoencoder exercise on the PyTorch track.

An Autoencoder (tinyvision.torch.applications.autoencoder) is pre-trained on unlabelled
training images, its encoder fine-tuned with a classifier head on `--num-labels` labelled ones,
and the same classifier trained from scratch on the same labels with the same settings
(tinyvision.torch.applications.transfer). The run's model is the fine-tuned classifier, so
`tinyvision evaluate RUN` rescores its test accuracy; metrics.json adds `scratch_test_acc`,
`transfer_gain` (test_acc - scratch_test_acc) and `test_reconstruction_mse` (on standardised
test images: 1.0 is what predicting the mean colour scores), and the run folder gets
`reconstructions.png`. torch is imported only when the model is built or trained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.classification import Prepared
from tinyvision.config import TrainConfig
from tinyvision.models.torch_extra import check_lightning_run
from tinyvision.registry import ModelSpec, register
from tinyvision.transfer_learning import TRANSFER

# The encoder's output: long enough for a 10-class head, short enough to be a bottleneck
# for the 3x32x32 = 3072 values of a CIFAR-10 image.
LATENT_DIM = 256


def hparams_of(config: TrainConfig, prepared: Prepared) -> dict[str, Any]:
    """The exercise's hparams dictionary from a resolved config."""
    return {
        "channels": tuple(config.channels),
        "n_hidden": config.hidden_dims[0],
        "dropout": config.dropout,
        "num_classes": prepared.num_classes,
        "learning_rate": config.learning_rate,
        "weight_decay": config.reg,
        "device": "cpu",
    }


def build(config: TrainConfig, prepared: Prepared) -> Any:
    from tinyvision.torch.applications.transfer import build_transfer

    shape = tuple(int(n) for n in prepared.input_shape)
    return build_transfer(hparams_of(config, prepared), shape, LATENT_DIM, config)


def check(config: TrainConfig) -> None:
    check_lightning_run(config)
    if len(config.hidden_dims) != 1:
        raise ValueError(
            f"--model {config.model} has one hidden layer in its classifier head: give one "
            f"--hidden-dims value, got {','.join(map(str, config.hidden_dims))}"
        )


def fit(
    model: Any,
    config: TrainConfig,
    prepared: Prepared,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None,
) -> dict[str, Any]:
    from tinyvision.torch.applications.transfer import fit_transfer

    return fit_transfer(model, config, prepared, run_dir, verbose, resume)


def metrics(
    model: Any, config: TrainConfig, prepared: Prepared, history: dict[str, Any]
) -> dict[str, Any]:
    """The fit's own results, the gain over training from scratch, the image-set sizes."""
    test_acc = float(np.mean(model.predict(prepared.X["test"]) == prepared.data["y_test"]))
    results = dict(model.results)
    results["transfer_gain"] = test_acc - results["scratch_test_acc"]
    results["num_labels"] = int(len(prepared.data["y_train"]))
    results["num_unlabelled"] = int(len(prepared.data["X_unlabelled"]))
    return results


def plot_reconstructions(
    model: Any, config: TrainConfig, prepared: Prepared, run_dir: Path, count: int = 10
) -> None:
    """reconstructions.png: the first test images over the autoencoder's reconstructions."""
    from tinyvision.reconstruction_plots import plot_reconstruction_grid

    X = prepared.X["test"][:count]
    mean, std = prepared.prep["mean"], prepared.prep["std"]
    plot_reconstruction_grid(
        X * std + mean,
        model.reconstruct(X) * std + mean,
        run_dir / "reconstructions.png",
        title=f"{config.dataset} test images (top) and the autoencoder's reconstructions",
    )


def scores(model: Any, X: Any) -> Any:
    return model.scores(X)


_SHARED = {
    "update_rule": "adam",
    "learning_rate": 1e-3,
    "reg": 5e-4,
    "schedule": "cosine",
    "batch_size": 64,
    "channels": (32, 64, 128),
    "hidden_dims": (256,),
    "dropout": 0.3,
}

register(
    ModelSpec(
        name="autoencoder-transfer",
        task=TRANSFER,
        build=build,
        description="conv autoencoder pre-trained on unlabelled images, fine-tuned on few "
        "labels, beside the same classifier from scratch (torch extra)",
        defaults={
            "cifar10": {
                **_SHARED,
                "num_training": 20000,
                "num_labels": 1000,
                "pretrain_epochs": 4,
                "epochs": 30,
            },
            # The course's files: 100 labelled training images, all unlabelled ones.
            "mnist": {**_SHARED, "num_labels": 100, "pretrain_epochs": 5, "epochs": 30},
        },
        inputs="images",
        augmentable=True,
        fit=fit,
        artifacts=plot_reconstructions,
        checkpoint=None,
        schedules=("step", "cosine"),
        clipping=True,
        scores=scores,
        check=check,
        metrics=metrics,
    )
)
