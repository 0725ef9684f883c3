"""The convolutional nets: `--model cnn` (assignment 2's ThreeLayerConvNet) and `--model
convnet` (a deeper net of conv stages on the Module API, optionally residual).

Both take (N, C, H, W) images standardised per channel and write `filters.png`, the learned
first-layer filters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.classification import CLASSIFICATION, Prepared
from tinyvision.classifiers.cnn import ThreeLayerConvNet
from tinyvision.classifiers.convnet import ConvNet
from tinyvision.config import TrainConfig
from tinyvision.data.augmentations import DEFAULT_AUGMENTATIONS
from tinyvision.registry import ModelSpec, register


def build_cnn(config: TrainConfig, prepared: Prepared) -> ThreeLayerConvNet:
    return ThreeLayerConvNet(
        input_dim=prepared.input_shape,
        num_filters=config.num_filters,
        filter_size=config.filter_size,
        hidden_dim=config.hidden_dims[0],
        num_classes=prepared.num_classes,
        weight_scale=config.weight_scale,
        reg=config.reg,
        dtype=np.dtype(config.dtype),
        seed=config.seed,
        weight_init=config.weight_init,
    )


def build_convnet(config: TrainConfig, prepared: Prepared) -> ConvNet:
    return ConvNet(
        channels=config.channels,
        blocks_per_stage=config.blocks_per_stage,
        num_classes=prepared.num_classes,
        input_shape=prepared.input_shape,
        use_residual=config.residual,
        dropout=config.dropout,
        reg=config.reg,
        seed=config.seed,
        dtype=np.dtype(config.dtype),
    )


def plot_filters(model: Any, config: TrainConfig, prepared: Prepared, run_dir: Path) -> None:
    """filters.png: the first convolution's filters as small images."""
    from tinyvision.vis_utils import plot_first_layer_filters

    first_filters = next(w for _, w in model.named_parameters() if np.ndim(w) == 4)
    plot_first_layer_filters(first_filters, run_dir / "filters.png")


register(
    ModelSpec(
        name="cnn",
        task=CLASSIFICATION,
        build=build_cnn,
        description="conv - relu - pool - affine - relu - affine (ThreeLayerConvNet)",
        defaults={
            "digits": {
                "epochs": 10,
                "batch_size": 50,
                "update_rule": "adam",
                "learning_rate": 1e-3,
                "reg": 1e-3,
                "num_filters": 16,
                "filter_size": 3,
                "hidden_dims": (100,),
                "weight_init": "kaiming",
            },
            # One epoch (--epochs 1) reached 0.602 test accuracy with seed 0 at batch 25 (1960
            # Adam updates annealed by a cosine); a constant rate in that epoch gave 0.550.
            "cifar10": {
                "epochs": 5,
                "batch_size": 25,
                "update_rule": "adam",
                "learning_rate": 1e-3,
                "reg": 1e-3,
                "schedule": "cosine",
                "num_filters": 64,
                "filter_size": 5,
                "hidden_dims": (500,),
                "weight_scale": 1e-2,
            },
        },
        inputs="images",
        augmentable=True,
        artifacts=plot_filters,
    )
)

register(
    ModelSpec(
        name="convnet",
        task=CLASSIFICATION,
        build=build_convnet,
        description="stages of 3x3 conv - batch norm - relu (or residual blocks) and pooling",
        defaults={
            "digits": {
                "epochs": 10,
                "batch_size": 50,
                "update_rule": "adam",
                "learning_rate": 3e-3,
                "reg": 1e-4,
                "channels": (16, 32),
                "blocks_per_stage": 1,
            },
            # 18 epochs fit in an hour on both cores of an idle machine (about 3 min per
            # epoch); the cosine schedule ends at a learning rate of 0 whatever the number
            # of epochs.
            "cifar10": {
                "epochs": 18,
                "batch_size": 50,
                "update_rule": "adam",
                "learning_rate": 1e-3,
                "reg": 5e-4,
                "schedule": "cosine",
                "channels": (32, 64, 128),
                "blocks_per_stage": 2,
                "augment": DEFAULT_AUGMENTATIONS,
            },
        },
        inputs="images",
        augmentable=True,
        artifacts=plot_filters,
    )
)
