"""The I2DL autoencoder exercise's models (`exercise_code/models.py`), convolutional.

`Encoder(hparams, input_size, latent_dim)` maps an image to a latent vector, `Decoder(hparams,
latent_dim, output_size)` maps it back, `Autoencoder(hparams, encoder, decoder)` chains them
(trained with the mean squared error between image and reconstruction, no labels needed) and
`Classifier(hparams, encoder)` puts a small fully-connected head on an encoder, pretrained or
fresh. The names, constructor signatures and methods (`set_optimizer`, `training_step(batch,
loss_func)`, `validation_step`, `getReconstructions(loader)`, `getAcc(loader)`) are the
exercise's; the networks are ours: where the exercise's are fully connected on 28x28 MNIST,
these are convolutional so they also suit 32x32 colour CIFAR-10 images.

`input_size` / `output_size` is C*H*W of a square image with 1 or 3 channels (784 is MNIST's
(1, 28, 28), 3072 CIFAR-10's (3, 32, 32)) or the (C, H, W) tuple itself. Inputs may come flat,
(N, C*H*W), as the exercise's loops give them, or as (N, C, H, W) images.
hparams keys read here: "channels" (conv widths, default (32, 64, 128)), "n_hidden" (the
classifier head, default 256), "dropout" (in the head, default 0), "num_classes" (default 10),
"learning_rate" and "weight_decay" (set_optimizer), "device" (default: cuda when available).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["Autoencoder", "Classifier", "Decoder", "Encoder", "image_shape"]

DEFAULT_CHANNELS = (32, 64, 128)


def image_shape(size: int | tuple[int, int, int]) -> tuple[int, int, int]:
    """(C, H, W) of a square 1- or 3-channel image of C*H*W = size values (or size itself).

    raises ValueError when size is neither such a product nor a (C, H, W) tuple
    """
    if isinstance(size, tuple):
        if len(size) != 3 or min(size) < 1:
            raise ValueError(f"an image shape must be (C, H, W) of positive sizes, got {size}")
        return size
    for channels in (1, 3):
        side = math.isqrt(size // channels)
        if size % channels == 0 and side * side * channels == size:
            return (channels, side, side)
    raise ValueError(
        f"input_size {size} is not C*H*W of a square 1- or 3-channel image (784 = 1x28x28, "
        "3072 = 3x32x32); pass the (C, H, W) tuple instead"
    )


def _stage_sides(side: int, stages: int) -> list[int]:
    """Image sides before and after each 3x3 stride-2 convolution with padding 1."""
    sides = [side]
    for _ in range(stages):
        sides.append((sides[-1] - 1) // 2 + 1)
    return sides


def _device(hparams: Mapping[str, Any]) -> torch.device:
    return torch.device(hparams.get("device", "cuda" if torch.cuda.is_available() else "cpu"))


class Encoder(nn.Module):
    """Image -> latent vector: stride-2 conv-batchnorm-ReLU stages, then a linear map.

    hparams: see the module docstring ("channels")
    input_size: C*H*W or (C, H, W) of the images; latent_dim: length of the latent vector
    forward: (N, C*H*W) or (N, C, H, W) -> (N, latent_dim)
    """

    def __init__(
        self,
        hparams: Mapping[str, Any],
        input_size: int | tuple[int, int, int] = 28 * 28,
        latent_dim: int = 20,
    ) -> None:
        super().__init__()
        self.hparams = dict(hparams)
        self.input_size = input_size
        self.latent_dim = latent_dim
        self.image_shape = image_shape(input_size)
        channels = tuple(self.hparams.get("channels", DEFAULT_CHANNELS))
        layers: list[nn.Module] = []
        previous = self.image_shape[0]
        for width in channels:
            layers += [
                nn.Conv2d(previous, width, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(),
            ]
            previous = width
        side = _stage_sides(self.image_shape[1], len(channels))[-1]
        self.encoder = nn.Sequential(
            *layers, nn.Flatten(), nn.Linear(previous * side * side, latent_dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.reshape(len(x), *self.image_shape))


class Decoder(nn.Module):
    """Latent vector -> image: a linear map, then stride-2 transposed convolutions that undo
    the encoder's stages (output_padding picks each stage's exact side, 7 -> 14 -> 28 or
    8 -> 16 -> 32). The last layer has no activation: the images it reconstructs are
    standardised (any real value).

    hparams: see the module docstring ("channels", the encoder's, reversed here)
    latent_dim: length of the latent vector; output_size: C*H*W or (C, H, W) of the images
    forward: (N, latent_dim) -> (N, C, H, W)
    """

    def __init__(
        self,
        hparams: Mapping[str, Any],
        latent_dim: int = 20,
        output_size: int | tuple[int, int, int] = 28 * 28,
    ) -> None:
        super().__init__()
        self.hparams = dict(hparams)
        self.image_shape = image_shape(output_size)
        channels = tuple(self.hparams.get("channels", DEFAULT_CHANNELS))
        sides = _stage_sides(self.image_shape[1], len(channels))
        self.start = (channels[-1], sides[-1], sides[-1])
        widths = [self.image_shape[0], *channels]
        layers: list[nn.Module] = [nn.Linear(latent_dim, math.prod(self.start)), nn.ReLU()]
        layers.append(nn.Unflatten(1, self.start))
        for stage in range(len(channels), 0, -1):
            target, side = sides[stage - 1], sides[stage]
            layers.append(
                nn.ConvTranspose2d(
                    widths[stage],
                    widths[stage - 1],
                    3,
                    stride=2,
                    padding=1,
                    output_padding=target - (2 * side - 1),
                )
            )
            if stage > 1:
                layers += [nn.BatchNorm2d(widths[stage - 1]), nn.ReLU()]
        self.decoder = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(x)


class Autoencoder(nn.Module):
    """Encoder then decoder; the reconstruction has the input's shape (flat in, flat out).

    hparams: "learning_rate" (and "weight_decay", "device") for the exercise's own loop
    """

    def __init__(self, hparams: Mapping[str, Any], encoder: Encoder, decoder: Decoder) -> None:
        super().__init__()
        self.hparams = dict(hparams)
        self.encoder = encoder
        self.decoder = decoder
        self.device = _device(self.hparams)
        self.set_optimizer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x)).reshape(x.shape)

    def set_optimizer(self) -> None:
        """Adam over every parameter, as the exercise's notebook loop steps it."""
        self.optimizer = torch.optim.Adam(
            self.parameters(),
            lr=self.hparams.get("learning_rate", 1e-3),
            weight_decay=self.hparams.get("weight_decay", 0.0),
        )

    def training_step(self, batch: torch.Tensor, loss_func: Any) -> torch.Tensor:
        """One update on a batch of images (labels, if the batch has them, are not used)."""
        images = _images_of(batch).to(self.device)
        self.train()
        self.optimizer.zero_grad()
        loss = loss_func(self(images), images)
        loss.backward()
        self.optimizer.step()
        return loss

    @torch.no_grad()
    def validation_step(self, batch: torch.Tensor, loss_func: Any) -> torch.Tensor:
        """The loss on a batch, in evaluation mode, without updating anything."""
        images = _images_of(batch).to(self.device)
        self.eval()
        return loss_func(self(images), images)

    @torch.no_grad()
    def getReconstructions(self, loader: Iterable[Any] | None = None) -> np.ndarray:
        """(N, C, H, W) reconstructions of every image the loader yields, as NumPy."""
        if loader is None:
            raise ValueError("getReconstructions needs a loader of images to reconstruct")
        self.eval()
        self.to(self.device)
        outputs = []
        for batch in loader:
            images = _images_of(batch).to(self.device)
            outputs.append(self(images).reshape(len(images), *self.encoder.image_shape).cpu())
        return torch.cat(outputs).numpy()


class Classifier(nn.Module):
    """An encoder with a fully-connected head: latent -> n_hidden -> ReLU -> dropout -> classes.

    hparams: "n_hidden", "dropout", "num_classes", "learning_rate", "weight_decay", "device"
    encoder: an Encoder, pretrained by an Autoencoder or freshly initialised
    forward: (N, C*H*W) or (N, C, H, W) -> (N, num_classes) class scores
    """

    def __init__(self, hparams: Mapping[str, Any], encoder: Encoder) -> None:
        super().__init__()
        self.hparams = dict(hparams)
        self.encoder = encoder
        hidden = self.hparams.get("n_hidden", 256)
        self.model = nn.Sequential(
            nn.Linear(encoder.latent_dim, hidden),
            nn.ReLU(),
            nn.Dropout(self.hparams.get("dropout", 0.0)),
            nn.Linear(hidden, self.hparams.get("num_classes", 10)),
        )
        self.device = _device(self.hparams)
        self.set_optimizer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(self.encoder(x))

    def set_optimizer(self) -> None:
        """Adam over encoder and head, as the exercise's notebook loop steps it."""
        self.optimizer = torch.optim.Adam(
            self.parameters(),
            lr=self.hparams.get("learning_rate", 1e-3),
            weight_decay=self.hparams.get("weight_decay", 0.0),
        )

    @torch.no_grad()
    def getAcc(self, loader: Iterable[Any] | None = None) -> tuple[np.ndarray, float]:
        """(predictions (N,), accuracy) over every (images, labels) batch of the loader."""
        if loader is None:
            raise ValueError("getAcc needs a loader of (images, labels) batches")
        self.eval()
        self.to(self.device)
        predictions, labels = [], []
        for images, targets in loader:
            predictions.append(self(images.to(self.device)).argmax(dim=1).cpu())
            labels.append(torch.as_tensor(targets))
        predicted = torch.cat(predictions).numpy()
        return predicted, float(np.mean(predicted == torch.cat(labels).numpy()))


def _images_of(batch: Any) -> torch.Tensor:
    """The images of a batch that is either images alone or (images, labels)."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch
