"""PixelCrossEntropy: the segmentation loss as an object, torch.nn.CrossEntropyLoss's way.

A loss holds no parameters, so it is not a Module (whose forward takes one input): it is
called with the scores and the labels and keeps what its backward needs.
"""

from __future__ import annotations

import numpy as np

from ..layers import pixel_softmax_loss

__all__ = ["PixelCrossEntropy"]


class PixelCrossEntropy:
    """Softmax cross-entropy per pixel, mean over the pixels not labelled ignore_index.

    loss = PixelCrossEntropy()(scores, y); dscores = loss_fn.backward()
    """

    def __init__(self, ignore_index: int = -1) -> None:
        """ignore_index: the label of pixels left out (our segmentation data's void, -1)."""
        self.ignore_index = int(ignore_index)
        self._dscores: np.ndarray | None = None

    def forward(self, scores: np.ndarray, y: np.ndarray) -> float:
        """scores: (N, C, H, W); y: (N, H, W) int labels; returns the mean loss."""
        loss, self._dscores = pixel_softmax_loss(scores, y, self.ignore_index)
        return float(loss)

    __call__ = forward

    def backward(self) -> np.ndarray:
        """The gradient of the last forward's loss with respect to its scores (N, C, H, W)."""
        if self._dscores is None:
            raise ValueError("PixelCrossEntropy.backward needs a forward pass first")
        return self._dscores

    def __repr__(self) -> str:
        return f"PixelCrossEntropy(ignore_index={self.ignore_index})"
