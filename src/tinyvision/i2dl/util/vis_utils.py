"""`exercise_code.util.vis_utils`: the facial-keypoints exercise's `show_all_keypoints`."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinyvision.data.facial_keypoints import IMAGE_SIZE, denormalise_keypoints

__all__ = ["show_all_keypoints"]


def _array(values: Any) -> np.ndarray:
    """A NumPy copy of an array or a (CPU or GPU) torch tensor."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.array(values, dtype=np.float64)


def show_all_keypoints(image: Any, keypoints: Any, pred_kpts: Any = None) -> None:
    """Show a 96x96 image with its keypoints (magenta) and predicted ones (red), as the
    exercise does: on the current matplotlib axes, then plt.show().

    image: 96 * 96 values in [0, 1] (a (1, 96, 96) tensor, as ToTensor gives it, or any array
        of that size); keypoints, pred_kpts: (15, 2) normalised coordinates
    """
    import matplotlib.pyplot as plt

    pixels = _array(image).reshape(IMAGE_SIZE, IMAGE_SIZE) * 255.0
    plt.imshow(pixels, cmap="gray")
    true = denormalise_keypoints(_array(keypoints).reshape(-1, 2))
    plt.scatter(true[:, 0], true[:, 1], s=200, marker=".", c="m")
    if pred_kpts is not None:
        predicted = denormalise_keypoints(_array(pred_kpts).reshape(-1, 2))
        plt.scatter(predicted[:, 0], predicted[:, 1], s=200, marker=".", c="r")
    plt.show()
