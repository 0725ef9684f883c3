"""The notes' named architectures as classifiers: `--model lenet5`, `alexnet-small`, `vgg`,
`inception` and `resnet` (tinyvision.classifiers.architectures).

Each takes (N, C, H, W) images standardised per channel, accepts --augment and writes
`filters.png`. They are the notes' networks for 32x32 images and train on CIFAR-10; the 8x8
digits are refused before any data is read (LeNet-5 needs 32x32 inputs, VGG five halvings).
Their CIFAR-10 defaults are a few-epoch Adam recipe with a cosine schedule; the widths keep an
epoch on one core of the NumPy engine within minutes (the README's table gives the sizes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinyvision.classification import CLASSIFICATION, DATASET_SHAPES, Prepared
from tinyvision.classifiers.architectures import VGG, AlexNetSmall, InceptionNet, LeNet5, ResNet
from tinyvision.config import TrainConfig
from tinyvision.data.augmentations import DEFAULT_AUGMENTATIONS
from tinyvision.models.conv import plot_filters
from tinyvision.registry import ModelSpec, register

__all__ = ["ARCHITECTURES"]


def _common(config: TrainConfig, prepared: Prepared) -> dict[str, Any]:
    """The arguments every architecture takes, from the config and the data."""
    return {
        "num_classes": prepared.num_classes,
        "input_shape": prepared.input_shape,
        "reg": config.reg,
        "seed": config.seed,
        "dtype": np.dtype(config.dtype),
    }


def build_lenet5(config: TrainConfig, prepared: Prepared) -> LeNet5:
    return LeNet5(**_common(config, prepared))


def build_alexnet_small(config: TrainConfig, prepared: Prepared) -> AlexNetSmall:
    return AlexNetSmall(
        channels=config.channels,
        hidden_dims=config.hidden_dims,
        dropout=config.dropout,
        **_common(config, prepared),
    )


def build_vgg(config: TrainConfig, prepared: Prepared) -> VGG:
    return VGG(
        depth=config.depth,
        channels=config.channels,
        dropout=config.dropout,
        **_common(config, prepared),
    )


def build_inception(config: TrainConfig, prepared: Prepared) -> InceptionNet:
    return InceptionNet(dropout=config.dropout, **_common(config, prepared))


def build_resnet(config: TrainConfig, prepared: Prepared) -> ResNet:
    return ResNet(
        channels=config.channels,
        blocks_per_stage=config.blocks_per_stage,
        **_common(config, prepared),
    )


def refuse_digits(name: str) -> Callable[[TrainConfig], None]:
    """A spec.check that stops a run on the 8x8 digits before any data is read."""

    def check(config: TrainConfig) -> None:
        if config.dataset != "cifar10":
            shape = "x".join(map(str, DATASET_SHAPES[config.dataset][0]))
            raise ValueError(
                f"{name} is built for 32x32 images and cannot run on {config.dataset} (examples "
                f"of shape {shape}); train it with --dataset cifar10"
            )

    return check


# The recipe every architecture starts from on CIFAR-10: Adam, batches of 50, a cosine
# schedule that ends at 0 whatever the number of epochs, flips and crops.
_CIFAR10 = {
    "epochs": 10,
    "batch_size": 50,
    "update_rule": "adam",
    "learning_rate": 1e-3,
    "reg": 5e-4,
    "schedule": "cosine",
    "augment": DEFAULT_AUGMENTATIONS,
}

# name -> (build, description, the CIFAR-10 defaults beyond _CIFAR10)
ARCHITECTURES: dict[str, tuple[Callable[..., Any], str, dict[str, Any]]] = {
    "lenet5": (
        build_lenet5,
        "LeNet-5: conv5 - pool - conv5 - pool - fc120 - fc84 - fc (tanh, average pools)",
        # The smallest network underfits CIFAR-10: neither augmentation nor decay helps it.
        {"reg": 0.0, "augment": ()},
    ),
    "alexnet-small": (
        build_alexnet_small,
        "a small AlexNet: five convolutions, three max pools, two dropout fc layers",
        {"channels": (32, 64, 96, 96, 64), "hidden_dims": (256, 256), "dropout": 0.5},
    ),
    "vgg": (
        build_vgg,
        "VGG: five stages of 3x3 conv - batch norm - relu and max pools (--depth 11/13/16/19)",
        {"depth": 11, "channels": (32, 64, 128, 128, 128), "dropout": 0.3},
    ),
    "inception": (
        build_inception,
        "GoogLeNet-style: Inception blocks of parallel 1x1, 3x3, 5x5 and pool paths",
        {"dropout": 0.2},
    ),
    "resnet": (
        build_resnet,
        "ResNet: a 3x3 stem and stages of basic residual blocks, global average pool",
        {"channels": (16, 32, 64), "blocks_per_stage": 2},
    ),
}

for _name, (_build, _description, _defaults) in ARCHITECTURES.items():
    register(
        ModelSpec(
            name=_name,
            task=CLASSIFICATION,
            build=_build,
            description=_description,
            defaults={"cifar10": {**_CIFAR10, **_defaults}},
            inputs="images",
            augmentable=True,
            check=refuse_digits(_name),
            artifacts=plot_filters,
        )
    )
