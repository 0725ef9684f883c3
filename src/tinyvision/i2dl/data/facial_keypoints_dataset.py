"""`exercise_code.data.facial_keypoints_dataset`: the I2DL facial-keypoints dataset.

`FacialKeypointsDataset(*args, train=True, transform=None, **kwargs)` reads `training.csv`
(train=True) or `val.csv` from `root` with tinyvision's reader (tinyvision.data.
facial_keypoints: rows with a missing value dropped, coordinates normalised as (v - 48) / 48,
a wrong row refused naming the file and line). Each item is the exercise's
{"image": (96, 96, 1) uint8 array, or transform(image), "keypoints": (15, 2) float32 torch
tensor}; `transform=torchvision.transforms.ToTensor()` gives (1, 96, 96) floats in [0, 1].
Without the course's files, `tinyvision.data.facial_keypoints_generator.
generate_keypoints_data(root)` writes generated ones.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinyvision.data.facial_keypoints import read_keypoints_csv
from tinyvision.i2dl.data.base_dataset import Dataset

__all__ = ["FacialKeypointsDataset"]


class FacialKeypointsDataset(Dataset):
    """The exercise's dataset over root/training.csv (train=True) or root/val.csv.

    Args:
        train: read training.csv (True) or val.csv (False).
        transform: applied to each (96, 96, 1) uint8 image, e.g. ToTensor(); None: as it is.
        root, download_url, force_download, verbose: as tinyvision.i2dl.data.Dataset.

    Attributes:
        images: (N, 96, 96) uint8; keypoints: (N, 15, 2) float64, normalised; dropped: rows
        of the file left out for a missing value.

    Raises:
        FileNotFoundError: root or the CSV file is missing (the message says what to do).
        DataError: a row of the file is wrong (the message names the file and the line).
    """

    how_to_get_data = (
        "put the course's training.csv and val.csv there, or write generated ones with "
        "tinyvision.data.facial_keypoints_generator.generate_keypoints_data(root)"
    )

    def __init__(
        self,
        *args: Any,
        train: bool = True,
        transform: Callable[[Any], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        root = self.check_root()
        table = read_keypoints_csv(Path(root) / ("training.csv" if train else "val.csv"))
        self.images, self.keypoints, self.dropped = table.images, table.keypoints, table.dropped
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        image = self.images[index][:, :, None]
        if self.transform is not None:
            image = self.transform(image)
        keypoints = torch.from_numpy(self.keypoints[index]).float()
        return {"image": image, "keypoints": keypoints}
