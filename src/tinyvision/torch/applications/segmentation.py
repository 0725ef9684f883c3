"""Semantic segmentation on the PyTorch track (I2DL): an encoder-decoder over TorchCNN's stages.

`SegmentationNet` is a U-Net-shaped encoder-decoder. Its encoder is exactly the convolution
stages of the registered `torch-cnn` model (`tinyvision.torch.models.TorchCNN.features`: a
stem, then per stage widen - max-pool - residual block), so the weights of a `torch-cnn` run
on CIFAR-10 load into it as a pretrained backbone (`load_backbone`). The decoder goes back up
one stage at a time: a 2x2 transposed convolution with stride 2 doubles the resolution and
narrows to the width of the encoder stage at that resolution, whose output joins by
concatenation (a skip connection) before a 3x3 conv - batch norm - ReLU; a 1x1 convolution
gives the scores of every class at every pixel.

`SegmentationModule` trains it with pixel-wise cross-entropy that ignores void pixels
(`ignore_index=-1`) and logs the pixel accuracy over non-void pixels; `fit` is the fit of the
`segmentation` registration: with a backbone it trains the model twice (from the backbone and
from scratch, same settings), through the one Lightning setup (tinyvision.torch.run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tinyvision.torch.contract import TorchClassifier
from tinyvision.torch.lightning import ClassifierModule
from tinyvision.torch.models import TorchCNN, conv_bn_relu

__all__ = [
    "SegmentationModule",
    "SegmentationNet",
    "TorchSegmenter",
    "build_segmenter",
    "fit",
    "load_backbone",
]

VOID = -1


def _stage_ends(num_stages: int, residual: bool) -> tuple[int, ...]:
    """Index in TorchCNN.features of the last module of the stem and of each stage."""
    per_stage = 3 if residual else 2
    return tuple(k * per_stage for k in range(num_stages + 1))


class SegmentationNet(nn.Module):
    """Encoder (TorchCNN's stages) and decoder with skip connections; scores per pixel.

    num_classes: classes scored at each pixel (23 for MSRC-v2)
    channels, residual, batchnorm: the encoder's TorchCNN settings (a backbone must match)
    in_channels: channels of the input images
    forward: (N, in_channels, H, W) -> (N, num_classes, H, W) scores; H and W must be
        multiples of 2 ** (len(channels) - 1)
    """

    def __init__(
        self,
        num_classes: int = 23,
        channels: Sequence[int] = (16, 32, 64, 128),
        residual: bool = True,
        batchnorm: bool = True,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        channels = tuple(channels)
        # The classifier's head is not used; only its feature stages become the encoder.
        self.encoder = TorchCNN(in_channels, 1, channels, residual, 0.0, batchnorm).features
        self.stage_ends = _stage_ends(len(channels) - 1, residual)
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(wide, narrow, kernel_size=2, stride=2)
            for narrow, wide in zip(channels[-2::-1], channels[:0:-1], strict=True)
        )
        self.fuse = nn.ModuleList(
            conv_bn_relu(2 * narrow, narrow, batchnorm) for narrow in channels[-2::-1]
        )
        self.classify = nn.Conv2d(channels[0], num_classes, kernel_size=1)
        self.reduction = 2 ** (len(channels) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.reduction or x.shape[-2] % self.reduction:
            raise ValueError(
                f"image sides must be multiples of {self.reduction} (one halving per encoder "
                f"stage), got {tuple(x.shape[-2:])}"
            )
        skips = []
        for index, layer in enumerate(self.encoder):
            x = layer(x)
            if index in self.stage_ends:
                skips.append(x)
        x = skips.pop()
        for up, fuse in zip(self.up, self.fuse, strict=True):
            x = fuse(torch.cat([up(x), skips.pop()], dim=1))
        return self.classify(x)


def load_backbone(net: SegmentationNet, state: Mapping[str, np.ndarray]) -> None:
    """Copy a TorchCNN's feature stages (its state_dict, as a torch-cnn run's model.npz holds
    it) into net's encoder; the classifier head is left out.

    raises ValueError naming the first missing or differently shaped weight
    """
    features = {
        name.removeprefix("features."): value
        for name, value in state.items()
        if name.startswith("features.")
    }
    own = net.encoder.state_dict()
    missing = sorted(set(own) - set(features))
    wrong = [n for n in own if n in features and tuple(np.shape(features[n])) != own[n].shape]
    if missing or wrong:
        first = missing[0] if missing else wrong[0]
        got = "is missing" if missing else f"has shape {np.shape(features[first])}"
        raise ValueError(
            f"the backbone does not fit the encoder: features.{first} {got}, the encoder needs "
            f"{tuple(own[first].shape)}; give --channels, --residual and --normalization as "
            "the backbone run was trained with"
        )
    net.encoder.load_state_dict(
        {n: torch.as_tensor(np.asarray(features[n]), dtype=t.dtype) for n, t in own.items()}
    )


class SegmentationModule(ClassifierModule):
    """Pixel-wise cross-entropy over non-void pixels (ignore_index=-1), with the optimiser and
    schedule settings of ClassifierModule; logs {split}_loss and {split}_pixel_acc.

    A batch is (images (N, C, H, W) float, labels (N, H, W) int64 in -1..num_classes-1).
    """

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], split: str) -> torch.Tensor:
        x, y = batch
        scores = self(x)
        loss = F.cross_entropy(scores, y, ignore_index=VOID)
        labelled = y != VOID
        correct = (scores.argmax(dim=1) == y) & labelled
        accuracy = correct.sum() / labelled.sum().clamp(min=1)
        on_step = split == "train"
        self.log(
            f"{split}_loss", loss, on_step=on_step, on_epoch=True, prog_bar=on_step, sync_dist=True
        )
        self.log(
            f"{split}_pixel_acc",
            accuracy,
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            sync_dist=True,
        )
        return loss


class TorchSegmenter(TorchClassifier):
    """The model contract over a SegmentationModule; predict gives (N, H, W) labels.

    scratch: with a backbone, the same model trained from scratch beside it (None otherwise)
    """

    def __init__(self, module: SegmentationModule) -> None:
        super().__init__(module)
        self.scratch: TorchSegmenter | None = None

    def predict(self, X: np.ndarray, batch_size: int = 16) -> np.ndarray:
        """(N, H, W) int64 labels of (N, C, H, W) standardised images, batch by batch."""
        return super().predict(X, batch_size=batch_size)


def build_segmenter(config: Any, num_classes: int, in_channels: int = 3) -> TorchSegmenter:
    """A fresh model of a resolved TrainConfig (seeded with config.seed)."""
    torch.manual_seed(config.seed)
    net = SegmentationNet(
        num_classes,
        config.channels,
        residual=bool(config.residual),
        batchnorm=config.normalization == "batchnorm",
        in_channels=in_channels,
    ).to(dtype=getattr(torch, config.dtype))
    module = SegmentationModule(
        net,
        update_rule=config.update_rule,
        learning_rate=config.learning_rate,
        weight_decay=config.reg,
        schedule=config.schedule,
        lr_decay=config.lr_decay,
        epochs=config.epochs,
    )
    return TorchSegmenter(module)


def _train(
    model: TorchSegmenter,
    config: Any,
    prepared: Any,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None,
) -> dict[str, Any]:
    from tinyvision.torch.data import ImageDataModule
    from tinyvision.torch.run import train_module

    arrays = {
        f"{kind}_{split}": prepared.X[split] if kind == "X" else prepared.data[f"y_{split}"]
        for split in ("train", "val")
        for kind in "Xy"
    }
    data = ImageDataModule(arrays, batch_size=config.batch_size, seed=config.seed)
    history = train_module(
        model.module,
        data,
        config,
        run_dir,
        verbose,
        num_train=len(arrays["y_train"]),
        resume=resume,
        monitor="val_pixel_acc",
        mode="max",
    )
    model.eval()
    return history


def fit(
    model: TorchSegmenter,
    config: Any,
    prepared: Any,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None = None,
) -> dict[str, Any]:
    """Train model; with config.backbone, from that torch-cnn run's stages, then a twin from
    scratch (model.scratch, checkpoints in <run_dir>/scratch) with the same settings and seed.

    prepared.backbone: the backbone's TorchCNN state (NumPy arrays), or None
    resume: the main model's last.ckpt; the twin continues from its own last.ckpt if it has one
    returns the history of the model (the one from the backbone, when there is one)
    """
    backbone = getattr(prepared, "backbone", None)
    if backbone is None:
        return _train(model, config, prepared, run_dir, verbose, resume)
    if resume is None:
        load_backbone(model.module.net, backbone)
    history = _train(model, config, prepared, run_dir, verbose, resume)
    scratch = build_segmenter(config, model.module.net.classify.out_channels)
    scratch_dir = None if run_dir is None else run_dir / "scratch"
    scratch_resume = None
    if resume is not None and scratch_dir is not None:
        last = scratch_dir / "checkpoints" / "last.ckpt"
        scratch_resume = last if last.is_file() else None
    _train(scratch, config, prepared, scratch_dir, verbose, scratch_resume)
    model.scratch = scratch
    return history
