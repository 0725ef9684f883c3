"""`--model torch-cnn`: the PyTorch track's open-ended CIFAR-10 model (tinyvision.torch.models).

It is registered like every NumPy model (same data, preprocessing, run folder, evaluate), but
trains through PyTorch Lightning (tinyvision.torch.run). torch is imported only when the model
is built, so without the torch extra everything else works and this model says how to get it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinyvision.classification import CLASSIFICATION, Prepared, training_class_weights
from tinyvision.config import TrainConfig
from tinyvision.data.augmentations import DEFAULT_AUGMENTATIONS
from tinyvision.models.conv import plot_filters
from tinyvision.models.torch_extra import check_lightning_run
from tinyvision.registry import ModelSpec, register


def build(config: TrainConfig, prepared: Prepared) -> Any:
    import torch

    from tinyvision.torch.contract import TorchClassifier
    from tinyvision.torch.lightning import ClassifierModule
    from tinyvision.torch.models import TorchCNN

    class_weights = training_class_weights(config, prepared)

    torch.manual_seed(config.seed)
    net = TorchCNN(
        in_channels=prepared.input_shape[0],
        num_classes=prepared.num_classes,
        channels=config.channels,
        residual=bool(config.residual),
        dropout=config.dropout,
        batchnorm=config.normalization == "batchnorm",
    ).to(dtype=getattr(torch, config.dtype), memory_format=torch.channels_last)
    module = ClassifierModule(
        net,
        update_rule=config.update_rule,
        learning_rate=config.learning_rate,
        weight_decay=config.reg,
        schedule=config.schedule,
        lr_decay=config.lr_decay,
        epochs=config.epochs,
        class_weights=class_weights,
    )
    return TorchClassifier(module)


def check(config: TrainConfig) -> None:
    check_lightning_run(config)
    if config.normalization == "layernorm":
        raise ValueError("--model torch-cnn takes --normalization batchnorm or none")


def scores(model: Any, X: Any) -> Any:
    return model.scores(X)


def fit(
    model: Any,
    config: TrainConfig,
    prepared: Prepared,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None,
    trial: Any = None,
) -> dict[str, Any]:
    from tinyvision.torch.run import fit as lightning_fit

    return lightning_fit(model, config, prepared, run_dir, verbose, resume, trial=trial)


register(
    ModelSpec(
        name="torch-cnn",
        task=CLASSIFICATION,
        build=build,
        description="a small ResNet in PyTorch, trained with PyTorch Lightning (torch extra)",
        defaults={
            "digits": {
                "epochs": 8,
                "batch_size": 64,
                "update_rule": "adam",
                "learning_rate": 2e-3,
                "reg": 5e-4,
                "schedule": "cosine",
                "channels": (16, 32, 64),
                "residual": True,
                "normalization": "batchnorm",
            },
            "cifar10": {
                "epochs": 10,
                "batch_size": 128,
                "update_rule": "nesterov_momentum",
                "learning_rate": 0.05,
                "reg": 5e-4,
                "schedule": "cosine",
                "channels": (16, 32, 64, 128),
                "residual": True,
                "normalization": "batchnorm",
                "augment": DEFAULT_AUGMENTATIONS,
            },
        },
        inputs="images",
        augmentable=True,
        fit=fit,
        artifacts=plot_filters,
        checkpoint="checkpoints/last.ckpt",
        distributed=True,
        schedules=("step", "cosine"),
        clipping=True,
        scores=scores,
        pruning=True,
        check=check,
        balancing=True,
    )
)
