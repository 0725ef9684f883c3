"""Data for the PyTorch track, over tinyvision's own data layer.

`ImageArrayDataset` serves (N, C, H, W) arrays as tensors, drawing random crops and flips with
the NumPy engine's batch transforms; `ImageDataModule` is the LightningDataModule the runs train
with; `CIFAR10Dataset` and `CIFAR10DataModule` read the standard cifar-10-batches-py folder with
the course's split (49,000 / 1,000 / 10,000), standardised per channel with the training
statistics. Nothing here downloads unless asked to (`CIFAR10DataModule(download=True)`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from tinyvision.data.cifar10 import get_CIFAR10_data
from tinyvision.data.paths import cifar10_root
from tinyvision.data.transforms import random_crop_batch, random_flip_batch

__all__ = [
    "EpochShuffle",
    "CIFAR10DataModule",
    "CIFAR10Dataset",
    "ImageArrayDataset",
    "ImageDataModule",
    "channel_statistics",
    "load_cifar10_splits",
]

SPLITS = ("train", "val", "test")


def channel_statistics(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of (N, C, H, W) images, each shaped (1, C, 1, 1)."""
    return X.mean(axis=(0, 2, 3), keepdims=True), X.std(axis=(0, 2, 3), keepdims=True) + 1e-8


class ImageArrayDataset(Dataset):
    """(N, C, H, W) images and (N,) labels as (image tensor, label tensor) pairs.

    images: float array, already standardised; labels: int array
    augment: random shifts (zero padding of H/8 pixels) and horizontal flips of every batch
    seed: seed of the augmentation's generator; set_epoch(e) restarts it at (seed, e), so an
        epoch's shifts and flips do not depend on the epochs before it (a resumed run draws
        what an uninterrupted one draws)
    A DataLoader fetches whole batches through __getitems__, so augmentation is vectorised.
    """

    def __init__(
        self, images: np.ndarray, labels: np.ndarray, augment: bool = False, seed: int | None = 0
    ) -> None:
        if images.ndim != 4 or len(images) != len(labels):
            raise ValueError(
                f"expected (N, C, H, W) images and N labels, got {images.shape} and "
                f"{np.shape(labels)}"
            )
        self.images = np.ascontiguousarray(images)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.augment = augment
        self.seed = 0 if seed is None else seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.rng = np.random.default_rng([self.seed, epoch])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = self.__getitems__([index])
        return images[0], labels[0]

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        batch = self.images[np.asarray(indices)]
        if self.augment:
            batch = random_crop_batch(batch, batch.shape[2] // 8, self.rng)
            batch = random_flip_batch(batch, self.rng)
        return torch.from_numpy(np.ascontiguousarray(batch)), torch.from_numpy(
            self.labels[np.asarray(indices)]
        )


class EpochShuffle(Sampler[int]):
    """A new order of the dataset's indices each epoch, a function of (seed, epoch) alone.

    Lightning calls set_epoch before every training epoch (after a resume too), so a resumed
    run sees the orders an uninterrupted one sees; set_epoch also restarts the dataset's
    augmentation (ImageArrayDataset.set_epoch).
    num_replicas, rank: in a distributed run, process `rank` of `num_replicas` takes every
        num_replicas-th index of the order from its rank on (the tail that does not divide
        evenly is left out), so the processes' batches k together are batch k of one process
        with num_replicas times the batch size
    weights: None (each index once per epoch, in a random order) or (N,) non-negative
        sampling weights: an epoch is then N indices drawn with replacement with
        probabilities proportional to them, as torch's WeightedRandomSampler draws (e.g.
        tinyvision.imbalance.balanced_sample_weights); the draw is the epoch's order, so
        resuming and sharding behave as without weights
    """

    def __init__(
        self,
        dataset: ImageArrayDataset,
        seed: int | None = 0,
        num_replicas: int = 1,
        rank: int = 0,
        weights: np.ndarray | None = None,
    ) -> None:
        self.dataset = dataset
        self.seed = 0 if seed is None else seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.probabilities = None if weights is None else _probabilities(weights, len(dataset))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.dataset.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.dataset) // self.num_replicas

    def epoch_order(self) -> np.ndarray:
        """(N,) int64: the indices of this epoch, for every process (before sharding)."""
        rng = np.random.default_rng([self.seed, self.epoch])
        size = len(self.dataset)
        if self.probabilities is None:
            return rng.permutation(size)
        return rng.choice(size, size=size, replace=True, p=self.probabilities)

    def __iter__(self) -> Iterator[int]:
        order = self.epoch_order()
        return iter(order[self.rank : len(self) * self.num_replicas : self.num_replicas].tolist())


def _probabilities(weights: np.ndarray, size: int) -> np.ndarray:
    """Sampling weights (size,) checked and scaled to sum to 1, float64."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (size,):
        raise ValueError(
            f"sampling weights must be one per example, shape ({size},), got {weights.shape}"
        )
    if not np.all(np.isfinite(weights)) or weights.min() < 0 or weights.sum() <= 0:
        raise ValueError(
            "sampling weights must be finite, non-negative and not all zero, got min "
            f"{weights.min()!r}, sum {weights.sum()!r}"
        )
    return weights / weights.sum()


def _keep_batch(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """collate_fn for datasets whose __getitems__ already returns the stacked batch."""
    return batch


class ImageDataModule(pl.LightningDataModule):
    """Train, val and test loaders over prepared (N, C, H, W) arrays.

    arrays: {"X_train", "y_train", "X_val", "y_val", "X_test", "y_test"} (test optional)
    batch_size: images per batch; augment: shift and flip the training batches
    seed: seed of the shuffling and the augmentation
    sample_weights: None, or (N_train,) weights with which each epoch draws the training
        examples (EpochShuffle's weights; --sampler balanced)
    """

    def __init__(
        self,
        arrays: Mapping[str, np.ndarray],
        batch_size: int = 128,
        augment: bool = False,
        seed: int | None = 0,
        sample_weights: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.arrays = arrays
        self.batch_size = batch_size
        self.augment = augment
        self.seed = seed
        self.sample_weights = sample_weights

    def _loader(self, split: str, train: bool) -> DataLoader:
        if f"X_{split}" not in self.arrays:
            raise ValueError(f"this data module has no {split} split")
        dataset = ImageArrayDataset(
            self.arrays[f"X_{split}"],
            self.arrays[f"y_{split}"],
            augment=train and self.augment,
            seed=self.seed,
        )
        trainer = self.trainer
        world, rank = (1, 0) if trainer is None else (trainer.world_size, trainer.global_rank)
        sampler = None
        if train:
            sampler = EpochShuffle(dataset, self.seed, world, rank, self.sample_weights)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            collate_fn=_keep_batch,
            # A generator of its own: creating an iterator then leaves torch's global generator
            # (dropout masks) alone, whenever Lightning creates it.
            generator=torch.Generator().manual_seed(0),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", train=False)


def load_cifar10_splits(
    data_dir: str | os.PathLike[str] | None = None,
    num_training: int = 49000,
    num_validation: int = 1000,
    num_test: int = 10000,
    dtype: str = "float32",
) -> dict[str, np.ndarray]:
    """The course's CIFAR-10 splits, standardised per channel with the training statistics.

    data_dir: folder holding cifar-10-batches-py (None: $TINYVISION_DATA_DIR or
        ~/.cache/tinyvision)
    dtype: "float32" or "float64"
    returns X_<split> (N, 3, 32, 32) in dtype and y_<split> (N,) int64, plus "mean" and "std"
        (1, 3, 1, 1)
    """
    data = get_CIFAR10_data(
        num_training=num_training,
        num_validation=num_validation,
        num_test=num_test,
        subtract_mean=False,
        cifar10_dir=cifar10_root(data_dir),
        dtype=dtype,
    )
    mean, std = channel_statistics(data["X_train"])
    out: dict[str, np.ndarray] = {"mean": mean, "std": std}
    for split in SPLITS:
        out[f"X_{split}"] = ((data[f"X_{split}"] - mean) / std).astype(dtype)
        out[f"y_{split}"] = data[f"y_{split}"].astype(np.int64)
    return out


class CIFAR10Dataset(ImageArrayDataset):
    """One split ("train", "val" or "test") of CIFAR-10 as a torch Dataset.

    data_dir: folder holding cifar-10-batches-py; augment: random shifts and flips (train)
    sizes: num_training, num_validation, num_test as load_cifar10_splits takes them
    Images are (3, 32, 32) float32 tensors standardised with the training split's statistics.
    """

    def __init__(
        self,
        split: str = "train",
        data_dir: str | os.PathLike[str] | None = None,
        augment: bool = False,
        seed: int | None = 0,
        **sizes: int,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        arrays = load_cifar10_splits(data_dir, **sizes)
        super().__init__(arrays[f"X_{split}"], arrays[f"y_{split}"], augment=augment, seed=seed)


class CIFAR10DataModule(ImageDataModule):
    """The I2DL-shaped LightningDataModule of CIFAR-10: prepare_data, setup, the three loaders.

    data_dir: folder holding (or to receive) cifar-10-batches-py
    download: let prepare_data download the archive when it is missing (needs the internet)
    sizes: num_training, num_validation, num_test as load_cifar10_splits takes them
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        batch_size: int = 128,
        augment: bool = True,
        seed: int | None = 0,
        download: bool = False,
        **sizes: int,
    ) -> None:
        super().__init__({}, batch_size=batch_size, augment=augment, seed=seed)
        self.data_dir = None if data_dir is None else Path(data_dir)
        self.download = download
        self.sizes = sizes

    def prepare_data(self) -> None:
        if self.download:
            from tinyvision.data.download import download_cifar10

            download_cifar10(self.data_dir)

    def setup(self, stage: str | None = None) -> None:
        if not self.arrays:
            self.arrays = load_cifar10_splits(self.data_dir, **self.sizes)
