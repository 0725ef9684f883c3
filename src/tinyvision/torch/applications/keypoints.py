"""Facial keypoints on the PyTorch track: the conv net, its LightningModule and its data.

`KeypointModel(hparams)` is the I2DL exercise's model (a LightningModule, so the course's
`nn.Module` use works too): (N, 1, 96, 96) grey images in [0, 1] -> (N, 30) normalised (x, y)
coordinates of the 15 keypoints, trained with the mean squared error. Its net is `KeypointNet`,
a conv net that draws one heatmap per keypoint and reads the keypoint off as the heatmap's
expected position (soft-argmax), so it learns what a feature looks like once, wherever the face
is, instead of a linear layer per position. The optimiser and schedule are those of every
classifier on the track (`ClassifierModule`, with --update-rule, --schedule, --reg).

`KeypointDataModule` serves the arrays; with `augment` each training batch is mirrored
(x -> -x with the person's left and right keypoints swapped) with probability 1/2, shifted by
up to 4 pixels and given a new contrast and brightness. `TorchKeypointRegressor` puts the model
behind tinyvision's model contract (NumPy state_dict, `predict`) for run folders and evaluate.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from tinyvision.data.facial_keypoints import IMAGE_SIZE, KEYPOINT_NAMES
from tinyvision.torch.contract import TorchModel
from tinyvision.torch.data import EpochShuffle
from tinyvision.torch.lightning import ClassifierModule

__all__ = [
    "DEFAULT_HPARAMS",
    "DummyKeypointModel",
    "KeypointArrays",
    "KeypointDataModule",
    "KeypointModel",
    "KeypointNet",
    "TorchKeypointRegressor",
    "mirror_permutation",
    "soft_argmax",
]

NUM_OUTPUTS = 2 * len(KEYPOINT_NAMES)
# What KeypointModel(hparams) takes for any key hparams leaves out.
DEFAULT_HPARAMS: dict[str, Any] = {
    "channels": (16, 32, 64, 128),
    "dropout": 0.1,
    "batchnorm": True,
    "update_rule": "adam",
    "learning_rate": 1e-3,
    "weight_decay": 0.0,
    "schedule": "cosine",
    "lr_decay": 1.0,
    "epochs": 1,
}
_MAX_SHIFT = 4


def mirror_permutation() -> np.ndarray:
    """(15,) index of each keypoint's mirror image (left <-> right; the nose and lips stay)."""
    swapped = [
        name.replace("left", "@").replace("right", "left").replace("@", "right")
        for name in KEYPOINT_NAMES
    ]
    return np.array([KEYPOINT_NAMES.index(name) for name in swapped])


def _conv(inputs: int, outputs: int, batchnorm: bool, stride: int = 1, dilation: int = 1):
    """A 3x3 conv (5x5 when stride 2) - batch norm - ReLU block that keeps the size / stride."""
    kernel = 5 if stride == 2 else 3
    padding = dilation * (kernel // 2)
    layers: list[nn.Module] = [
        nn.Conv2d(inputs, outputs, kernel, stride, padding, dilation, bias=not batchnorm)
    ]
    if batchnorm:
        layers.append(nn.BatchNorm2d(outputs))
    layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def soft_argmax(heatmaps: torch.Tensor) -> torch.Tensor:
    """Expected (x, y) of each of K heatmaps under its spatial softmax.

    heatmaps: (N, K, h, w) logits over an h x w grid that covers the 96x96 image
    returns (N, K, 2) normalised coordinates of the grid's cell centres, averaged
    """
    n, k, h, w = heatmaps.shape
    weights = torch.softmax(heatmaps.reshape(n, k, h * w), dim=-1).reshape(n, k, h, w)
    xs = (torch.arange(w, dtype=heatmaps.dtype, device=heatmaps.device) + 0.5) * 2 / w - 1
    ys = (torch.arange(h, dtype=heatmaps.dtype, device=heatmaps.device) + 0.5) * 2 / h - 1
    return torch.stack([(weights.sum(2) * xs).sum(-1), (weights.sum(3) * ys).sum(-1)], dim=-1)


class KeypointNet(nn.Module):
    """(N, 1, 96, 96) images -> (N, 30) keypoint coordinates, through one heatmap per keypoint.

    channels: (stem, 24x24 stage, 12x12 stage, context stages...): a 5x5 stride-2 stem, two
        conv + 2x2 pooling stages, then 3x3 convs at 12x12 dilated 2, 4, ... so each cell sees
        the whole face (which eye is the left one depends on the other)
    dropout: channel dropout before the heatmaps; batchnorm: after every conv
    The 12x12 features are upsampled, added to the 24x24 stage's and turned into 15 heatmaps
    of 24x24 cells; each keypoint is the soft-argmax (expected position) of its heatmap, so
    finding a feature anywhere in the image is the same work.
    """

    def __init__(
        self,
        channels: Sequence[int] = (16, 32, 64, 128),
        dropout: float = 0.1,
        batchnorm: bool = True,
    ) -> None:
        super().__init__()
        if len(channels) < 3:
            raise ValueError(
                f"channels needs at least 3 widths (stem, 24x24 and 12x12 stages), got {channels}"
            )
        stem, fine, coarse, *context = channels
        self.stem = _conv(1, stem, batchnorm, stride=2)
        self.fine = nn.Sequential(_conv(stem, fine, batchnorm), nn.MaxPool2d(2))
        blocks: list[nn.Module] = [_conv(fine, coarse, batchnorm), nn.MaxPool2d(2)]
        previous = coarse
        for level, width in enumerate(context, start=1):
            blocks.append(_conv(previous, width, batchnorm, dilation=2**level))
            previous = width
        self.coarse = nn.Sequential(*blocks)
        self.lateral = nn.Conv2d(fine, previous, 1)
        self.dropout = nn.Dropout2d(dropout)
        self.heatmaps = nn.Conv2d(previous, len(KEYPOINT_NAMES), 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fine = self.fine(self.stem(x))  # (N, fine, 24, 24)
        coarse = F.interpolate(self.coarse(fine), scale_factor=2.0, mode="nearest")
        features = self.dropout(F.relu(coarse + self.lateral(fine)))
        return soft_argmax(self.heatmaps(features)).reshape(len(x), NUM_OUTPUTS)


def _images_and_keypoints(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, (N, 30) keypoints) of a batch: ours (a pair) or the course's dicts."""
    if isinstance(batch, Mapping):
        images, keypoints = batch["image"], batch["keypoints"]
    else:
        images, keypoints = batch
    return images.float(), keypoints.reshape(len(keypoints), -1).float()


class KeypointModel(ClassifierModule):
    """The I2DL exercise's KeypointModel: a LightningModule trained with the MSE.

    hparams: a dict; keys it leaves out take DEFAULT_HPARAMS ("channels", "dropout",
        "batchnorm", "update_rule", "learning_rate", "weight_decay", "schedule", "lr_decay",
        "epochs"); kept as self.hparams, as Lightning keeps them
    forward: (N, 1, 96, 96) or one (1, 96, 96) image -> (N, 30) normalised coordinates
    Batches are (images, keypoints) pairs or the course dataset's {"image", "keypoints"} dicts.
    It logs train_mse and val_mse (the epoch values are over every example).
    """

    def __init__(self, hparams: Mapping[str, Any]) -> None:
        # Other keys (a batch size, say) are kept in self.hparams for the caller's own use.
        settings = {k: hparams.get(k, default) for k, default in DEFAULT_HPARAMS.items()}
        net = KeypointNet(settings["channels"], settings["dropout"], settings["batchnorm"])
        # The optimiser and schedule of every classifier on the track; only the loss differs.
        super().__init__(
            net,
            update_rule=settings["update_rule"],
            learning_rate=settings["learning_rate"],
            weight_decay=settings["weight_decay"],
            schedule=settings["schedule"],
            lr_decay=settings["lr_decay"],
            epochs=settings["epochs"],
        )
        self.save_hyperparameters(dict(hparams))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:  # one image, as the course's show_keypoint_predictions passes it
            x = x.unsqueeze(0)
        return self.net(x)

    def _step(self, batch: Any, split: str) -> torch.Tensor:
        images, keypoints = _images_and_keypoints(batch)
        loss = F.mse_loss(self(images), keypoints)
        # batch_size: the epoch value is then the MSE over every example, whatever the batches.
        self.log(
            f"{split}_mse",
            loss,
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            batch_size=len(images),
            sync_dist=True,
        )
        return loss


class DummyKeypointModel(nn.Module):
    """The exercise's baseline: the same keypoints for every image.

    prediction: (30,) normalised coordinates; default the course's (the keypoints of its first
        training face, as the notebook prints them)
    """

    COURSE_PREDICTION = (
        (0.4685, -0.2319, -0.4253, -0.1953, 0.2908, -0.2214, 0.5992, -0.2214, -0.2685, -0.2109)
        + (-0.5873, -0.1900, 0.1967, -0.3827, 0.7656, -0.4295, -0.2035, -0.3758, -0.7389)
        + (-0.3573, 0.0086, 0.2333, 0.4163, 0.6620, -0.3521, 0.6985, 0.0138, 0.6045)
        + (0.0190, 0.9076)
    )

    def __init__(self, prediction: Sequence[float] | None = None) -> None:
        super().__init__()
        values = self.COURSE_PREDICTION if prediction is None else prediction
        self.register_buffer("prediction", torch.tensor([list(values)], dtype=torch.float32))
        if self.prediction.shape != (1, NUM_OUTPUTS):
            raise ValueError(f"prediction must hold {NUM_OUTPUTS} values, got {len(values)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        count = 1 if x.dim() == 3 else len(x)
        return self.prediction.repeat(count, 1)


class KeypointArrays(Dataset):
    """(N, 1, 96, 96) float images and (N, 30) keypoints as (image, keypoints) tensor pairs.

    augment: mirror (probability 1/2, left and right keypoints swapped), shift by up to 4
        pixels (edges repeated) and change contrast (x0.8-1.25) and brightness (+-0.1)
    seed: of the augmentation; set_epoch(e) restarts it at (seed, e), as EpochShuffle expects
    A DataLoader fetches whole batches through __getitems__, so augmentation is vectorised.
    """

    def __init__(
        self, images: np.ndarray, keypoints: np.ndarray, augment: bool = False, seed: int = 0
    ) -> None:
        if images.ndim != 4 or images.shape[1:] != (1, IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"expected (N, 1, 96, 96) images, got {images.shape}")
        if keypoints.shape != (len(images), NUM_OUTPUTS):
            raise ValueError(
                f"expected ({len(images)}, {NUM_OUTPUTS}) keypoints, got {keypoints.shape}"
            )
        self.images = np.ascontiguousarray(images)
        self.keypoints = np.ascontiguousarray(keypoints, dtype=images.dtype)
        self.augment = augment
        self.seed = seed
        self.mirror = mirror_permutation()
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.rng = np.random.default_rng([self.seed, epoch])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        images, keypoints = self.__getitems__([index])
        return images[0], keypoints[0]

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        rows = np.asarray(indices)
        images, keypoints = self.images[rows], self.keypoints[rows]
        if self.augment:
            images, keypoints = self._augment(images, keypoints)
        return torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(keypoints)

    def _augment(self, images: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        count = len(images)
        points = keypoints.reshape(count, len(KEYPOINT_NAMES), 2).copy()
        flip = self.rng.random(count) < 0.5
        images = np.where(flip[:, None, None, None], images[..., ::-1], images)
        points[flip] = points[flip][:, self.mirror]
        points[flip, :, 0] *= -1.0
        shifts = self.rng.integers(-_MAX_SHIFT, _MAX_SHIFT + 1, (count, 2))
        padded = np.pad(images, ((0, 0), (0, 0), (_MAX_SHIFT,) * 2, (_MAX_SHIFT,) * 2), "edge")
        moved = np.empty_like(images)
        for k, (dx, dy) in enumerate(shifts):
            top, left = _MAX_SHIFT - dy, _MAX_SHIFT - dx
            moved[k] = padded[k, :, top : top + IMAGE_SIZE, left : left + IMAGE_SIZE]
        points += (shifts / (IMAGE_SIZE / 2))[:, None, :].astype(points.dtype)
        contrast = self.rng.uniform(0.8, 1.25, (count, 1, 1, 1))
        brightness = self.rng.uniform(-0.1, 0.1, (count, 1, 1, 1))
        mean = moved.mean(axis=(1, 2, 3), keepdims=True)
        moved = ((moved - mean) * contrast + mean + brightness).astype(images.dtype)
        return moved, points.reshape(count, -1)


def _keep_batch(batch: Any) -> Any:
    """collate_fn for datasets whose __getitems__ already returns the stacked batch."""
    return batch


class KeypointDataModule(pl.LightningDataModule):
    """Train and val loaders over {"X_train", "y_train", "X_val", "y_val"} arrays.

    X: (N, 1, 96, 96) images; y: (N, 30) normalised keypoints; augment: of the training batches
    """

    def __init__(
        self, arrays: Mapping[str, np.ndarray], batch_size: int, augment: bool, seed: int = 0
    ) -> None:
        super().__init__()
        self.arrays = arrays
        self.batch_size = batch_size
        self.augment = augment
        self.seed = seed

    def _loader(self, split: str, train: bool) -> DataLoader:
        dataset = KeypointArrays(
            self.arrays[f"X_{split}"],
            self.arrays[f"y_{split}"],
            augment=train and self.augment,
            seed=self.seed,
        )
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=EpochShuffle(dataset, self.seed) if train else None,
            collate_fn=_keep_batch,
            # Its own generator leaves torch's global one (dropout masks) alone.
            generator=torch.Generator().manual_seed(0),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", train=False)


class TorchKeypointRegressor(TorchModel):
    """The model contract (TorchModel) over a KeypointModel: predict(X) gives (N, 30)
    coordinates of NumPy images."""

    module: KeypointModel

    @torch.no_grad()
    def predict(self, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """(N, 30) float64 normalised keypoints of (N, 1, 96, 96) images, in evaluation mode.

        A float64 copy of the net computes them: float32 sums come out a few ulps apart
        between the fit and a later evaluate (other conv algorithms), float64 ones do not.
        """
        net = copy.deepcopy(self.module.net).double().eval()
        outputs = [
            net(torch.as_tensor(X[i : i + batch_size], dtype=torch.float64)).numpy()
            for i in range(0, len(X), batch_size)
        ]
        return np.concatenate(outputs)
