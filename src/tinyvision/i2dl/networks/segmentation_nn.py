"""I2DL's `exercise_code/networks/segmentation_nn.py`: `SegmentationNN`.

The exercise's model, here tinyvision's encoder-decoder over the torch-cnn stages
(tinyvision.torch.applications.segmentation.SegmentationNet). Needs torch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch

from tinyvision.torch.applications.segmentation import SegmentationNet

__all__ = ["SegmentationNN"]


class SegmentationNN(SegmentationNet):
    """(N, 3, H, W) images -> (N, num_classes, H, W) scores (H, W multiples of 8).

    num_classes: classes per pixel (23 for MSRC-v2)
    hp: optional settings: "channels" (default (16, 32, 64, 128)), "residual" (True),
        "batchnorm" (True)
    """

    def __init__(self, num_classes: int = 23, hp: Mapping[str, Any] | None = None) -> None:
        hp = dict(hp or {})
        super().__init__(
            num_classes,
            channels=hp.get("channels", (16, 32, 64, 128)),
            residual=hp.get("residual", True),
            batchnorm=hp.get("batchnorm", True),
        )
        self.hp = hp

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save the weights (the state_dict, not a pickled module) to path, as the course
        prints it."""
        print(f"Saving model... {path}")
        torch.save(self.state_dict(), path)
