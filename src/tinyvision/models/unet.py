"""`--model unet`: a small U-Net on the NumPy engine (tinyvision.nn.UNet) for the segmentation
task, trained by the one Solver (tinyvision.segmentation_solver.SegmentationSolver).

Its widths are `--channels` (the encoder stages', then the bottleneck's), `--normalization
batchnorm|none` puts batch norm after each 3x3 convolution or not; the images' side must be a
multiple of 2**(len(channels) - 1). It writes the pictures of `--model segmentation`.
"""

from __future__ import annotations

import numpy as np

from tinyvision.config import TrainConfig
from tinyvision.nn.unet import UNet
from tinyvision.registry import ModelSpec, register
from tinyvision.segmentation import SEGMENTATION, SegmentationPrepared


def build(config: TrainConfig, prepared: SegmentationPrepared) -> UNet:
    return UNet(
        num_classes=prepared.num_classes,
        in_channels=prepared.input_shape[0],
        channels=config.channels,
        batchnorm=config.normalization == "batchnorm",
        reg=config.reg,
        seed=config.seed,
        dtype=np.dtype(config.dtype),
    )


def check(config: TrainConfig) -> None:
    """The settings a UNet has no use for are refused, and the crop must halve evenly."""
    unused = {
        "--backbone": config.backbone is not None,
        "--residual": bool(config.residual),
        f"--dropout {config.dropout}": bool(config.dropout),
        "--normalization layernorm": config.normalization == "layernorm",
    }
    given = [flag for flag, is_set in unused.items() if is_set]
    if given:
        raise ValueError(
            f"{', '.join(given)} do not apply to --model unet (a NumPy U-Net with batch norm "
            "or none); --model segmentation takes them"
        )
    if len(config.channels) < 2:
        raise ValueError(
            f"--channels {config.channels} needs at least two widths for --model unet: the "
            "encoder stages', then the bottleneck's (e.g. 8,16,32)"
        )
    multiple = 2 ** (len(config.channels) - 1)
    if config.crop_size is not None and config.crop_size % multiple:
        raise ValueError(
            f"--crop-size {config.crop_size} must be a multiple of {multiple}: each of the "
            f"{len(config.channels) - 1} encoder stages of --channels {config.channels} halves "
            "the image"
        )


register(
    ModelSpec(
        name="unet",
        task=SEGMENTATION,
        build=build,
        description="small U-Net for semantic segmentation on the NumPy engine (Solver)",
        defaults={
            # On the generated scenes: 15 epochs of 37 updates, about 10 s each on one core,
            # reached 0.800 test pixel accuracy with seed 0 (README, "--model unet").
            "segmentation": {
                "epochs": 15,
                "batch_size": 8,
                "update_rule": "adam",
                "learning_rate": 3e-3,
                "reg": 1e-4,
                "schedule": "cosine",
                "channels": (8, 16, 32),
                "residual": False,
            }
        },
        inputs="images",
        check=check,
    )
)
