"""A generative adversarial network (the notes' generative models) on the 8x8 digits, in PyTorch.

A generator G maps noise z ~ N(0, I) to an image (tanh, in [-1, 1]; the digits are scaled from
[0, 1] to match) and a discriminator D maps an image to one logit, "real". Each training
batch updates D, then G, each with its own Adam optimiser (Lightning's manual optimisation):

    discriminator loss = -log D(x) - log(1 - D(G(z)))      (binary cross-entropy, both halves)
    generator loss     = -log D(G(z))                       (the non-saturating loss)

The non-saturating generator loss has the minimax game's fixed point but, unlike
log(1 - D(G(z))), a strong gradient while D still rejects G's samples, which is when G most
needs one. Two architectures: `mlp` (fully connected, LeakyReLU discriminator) and `conv` (a
DCGAN-like pair: transposed convolutions 2x2 -> 4x4 -> 8x8 with batch norm, strided
convolutions back down). `TorchGAN` is the model contract around the LightningModule; each
validation epoch scores samples of fixed noise with a separately trained digits classifier
(tinyvision.generation) and `SampleGrids` draws them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from tinyvision.torch.applications.generative import (
    TermHistory,
    TorchGenerative,
    fit_generative,
    image_grid_noise,
)

__all__ = [
    "ConvDiscriminator",
    "ConvGenerator",
    "GANModule",
    "MLPDiscriminator",
    "MLPGenerator",
    "SampleGrids",
    "TorchGAN",
    "build_gan",
    "discriminator_loss",
    "fit_gan",
    "generator_loss",
]

# Adam's first-moment decay of DCGAN: 0.9 lets the two players oscillate.
ADAM_BETAS = (0.5, 0.999)
GRID_SAMPLES = 100
# The noise of the per-epoch grids and of the score that picks the kept epoch, the same every
# epoch; the run's reported scores draw other noise (tinyvision.generation.split_seed: val 2,
# test 3), so the test score is not the one the selection maximised.
VALIDATION_SAMPLES = 500
VALIDATION_SEED = 1


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-mean log D(x) - mean log(1 - D(G(z))), from D's logits on real (N,) and fake (M,)."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss -mean log D(G(z)), from D's logits on fakes (M,)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


class MLPGenerator(nn.Module):
    """z (N, L) -> images (N, C, H, W) in [-1, 1]: hidden layers of hidden_dims, each linear -
    batch norm - ReLU (without the batch norm the MLP generator soon draws one digit only)."""

    def __init__(self, latent_dim: int, hidden_dims: Sequence[int], image_shape: Sequence[int]):
        super().__init__()
        self.image_shape = tuple(image_shape)
        size = int(np.prod(self.image_shape))
        hidden: list[nn.Module] = []
        for size_in, size_out in zip([latent_dim, *hidden_dims[:-1]], hidden_dims, strict=True):
            hidden += [nn.Linear(size_in, size_out), nn.BatchNorm1d(size_out), nn.ReLU()]
        self.net = nn.Sequential(*hidden, nn.Linear(hidden_dims[-1], size), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(len(z), *self.image_shape)


class MLPDiscriminator(nn.Module):
    """images (N, C, H, W) -> (N,) logits through LeakyReLU(0.2) layers of reversed hidden_dims."""

    def __init__(self, hidden_dims: Sequence[int], image_shape: Sequence[int]):
        super().__init__()
        sizes = [int(np.prod(image_shape)), *reversed(hidden_dims)]
        hidden: list[nn.Module] = []
        for size_in, size_out in zip(sizes[:-1], sizes[1:], strict=True):
            hidden += [nn.Linear(size_in, size_out), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(nn.Flatten(), *hidden, nn.Linear(sizes[-1], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class ConvGenerator(nn.Module):
    """z (N, L) -> (N, 1, 8, 8) in [-1, 1]: linear to (wide, 2, 2), two stride-2 transposed convs.

    channels: (narrow, wide) widths; the 4x4 stage has `narrow` channels
    """

    def __init__(self, latent_dim: int, channels: Sequence[int]):
        super().__init__()
        narrow, wide = channels
        self.wide = wide
        self.project = nn.Sequential(
            nn.Linear(latent_dim, wide * 4), nn.BatchNorm1d(wide * 4), nn.ReLU()
        )
        self.net = nn.Sequential(
            nn.ConvTranspose2d(wide, narrow, 4, stride=2, padding=1),  # (narrow, 4, 4)
            nn.BatchNorm2d(narrow),
            nn.ReLU(),
            nn.ConvTranspose2d(narrow, 1, 4, stride=2, padding=1),  # (1, 8, 8)
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(z).view(len(z), self.wide, 2, 2))


class ConvDiscriminator(nn.Module):
    """(N, 1, 8, 8) -> (N,) logits: two stride-2 convs (8 -> 4 -> 2), LeakyReLU(0.2), linear.

    channels: (narrow, wide) widths of the 4x4 and 2x2 stages
    """

    def __init__(self, channels: Sequence[int]):
        super().__init__()
        narrow, wide = channels
        self.net = nn.Sequential(
            nn.Conv2d(1, narrow, 4, stride=2, padding=1),  # (narrow, 4, 4)
            nn.LeakyReLU(0.2),
            nn.Conv2d(narrow, wide, 4, stride=2, padding=1),  # (wide, 2, 2)
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(wide * 4, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class GAN(nn.Module):
    """The two players, in one module so that one state_dict holds both."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, latent_dim: int):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim


def build_gan(
    architecture: str,
    latent_dim: int,
    *,
    hidden_dims: Sequence[int] = (128, 256),
    channels: Sequence[int] = (32, 64),
    image_shape: Sequence[int] = (1, 8, 8),
) -> GAN:
    """The generator and discriminator of an architecture ("mlp" or "conv")."""
    if architecture == "mlp":
        return GAN(
            MLPGenerator(latent_dim, hidden_dims, image_shape),
            MLPDiscriminator(hidden_dims, image_shape),
            latent_dim,
        )
    if architecture == "conv":
        if tuple(image_shape) != (1, 8, 8) or len(channels) != 2:
            raise ValueError(
                f"the conv GAN draws (1, 8, 8) images with two widths (--channels A,B); got "
                f"images {tuple(image_shape)} and channels {tuple(channels)}"
            )
        return GAN(ConvGenerator(latent_dim, channels), ConvDiscriminator(channels), latent_dim)
    raise ValueError(f"architecture must be 'mlp' or 'conv', got {architecture!r}")


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """Generator images in [-1, 1] to the data's [0, 1]."""
    return (images + 1.0) / 2.0


class GANModule(pl.LightningModule):
    """Alternating updates of D and G with two Adam optimisers (manual optimisation).

    net: a GAN; learning_rate: of both optimisers (betas ADAM_BETAS); lr_decay: factor per epoch
    score_samples: (N, 1, 8, 8) images in [0, 1] -> the validation metric of the samples
        ("val_sample_quality", higher is better); set before fitting
    """

    def __init__(self, net: GAN, *, learning_rate: float = 2e-4, lr_decay: float = 1.0) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.net = net
        self.learning_rate = learning_rate
        self.lr_decay = lr_decay
        self.score_samples: Callable[[np.ndarray], float] | None = None

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] of codes z, with the generator in evaluation mode."""
        was_training = self.net.generator.training
        self.net.generator.eval()
        try:
            return to_unit_range(self.net.generator(z))
        finally:
            self.net.generator.train(was_training)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        optimizer_g, optimizer_d = self.optimizers()
        real = batch[0] * 2.0 - 1.0
        z = torch.randn(len(real), self.net.latent_dim, dtype=real.dtype, device=real.device)
        fake = self.net.generator(z)

        d_loss = discriminator_loss(
            self.net.discriminator(real), self.net.discriminator(fake.detach())
        )
        optimizer_d.zero_grad()
        self.manual_backward(d_loss)
        optimizer_d.step()

        g_loss = generator_loss(self.net.discriminator(fake))
        optimizer_g.zero_grad()
        self.manual_backward(g_loss)
        optimizer_g.step()

        self.log("train_discriminator_loss", d_loss, on_step=False, on_epoch=True, prog_bar=True)
        self.log("train_generator_loss", g_loss, on_step=False, on_epoch=True, prog_bar=True)
        # history.json's loss_history (loss.png) is the discriminator's loss.
        return {"loss": d_loss.detach(), "generator_loss": g_loss.detach()}

    def on_train_epoch_end(self) -> None:
        for scheduler in self.lr_schedulers():
            scheduler.step()

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        # D's belief that held-out real digits are real: a diagnostic of the game's balance.
        probability = torch.sigmoid(self.net.discriminator(batch[0] * 2.0 - 1.0)).mean()
        self.log("val_real_probability", probability, on_step=False, on_epoch=True)
        # Once per validation, here rather than in on_validation_epoch_end, which runs after
        # the callbacks (checkpoint, history) have read the epoch's metrics.
        if batch_idx == 0:
            self.log("val_sample_quality", self._sample_score(), on_step=False, on_epoch=True)

    def _sample_score(self) -> float:
        if self.score_samples is None:
            raise ValueError("set GANModule.score_samples (the sample scorer) before fitting")
        z = image_grid_noise(
            VALIDATION_SAMPLES, self.net.latent_dim, VALIDATION_SEED, self.dtype_of_weights
        )
        return float(self.score_samples(self.generate(z).cpu().numpy()))

    @property
    def dtype_of_weights(self) -> torch.dtype:
        return next(self.net.parameters()).dtype

    def configure_optimizers(self) -> tuple[list[Any], list[Any]]:
        optimizers = [
            torch.optim.Adam(player.parameters(), self.learning_rate, betas=ADAM_BETAS)
            for player in (self.net.generator, self.net.discriminator)
        ]
        schedulers = [
            torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=self.lr_decay)
            for optimizer in optimizers
        ]
        return optimizers, schedulers


class SampleGrids(pl.Callback):
    """After each validation, the generator's images of fixed noise as <folder>/epoch_NNN.png."""

    def __init__(self, folder: Path, latent_dim: int, title: str) -> None:
        self.folder = folder
        self.noise = image_grid_noise(GRID_SAMPLES, latent_dim, VALIDATION_SEED, torch.float64)
        self.title = title

    def on_validation_epoch_end(self, trainer: pl.Trainer, module: Any) -> None:
        if trainer.sanity_checking:
            return
        from tinyvision.generation_plots import plot_image_grid

        epoch = trainer.current_epoch + 1
        images = module.generate(self.noise.to(module.dtype_of_weights)).cpu().numpy()
        title = f"{self.title}, epoch {epoch}"
        plot_image_grid(images, self.folder / f"epoch_{epoch:03d}.png", title)


class TorchGAN(TorchGenerative):
    """The model contract over a GANModule: samples for the scores and pictures of a run."""

    module: GANModule

    def loss_terms(self, X: np.ndarray) -> dict[str, float]:
        """None: a GAN has no likelihood to evaluate; its samples are scored instead."""
        return {}

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n generated images of noise seeded with seed: (n, 1, 8, 8) in [0, 1]."""
        z = image_grid_noise(n, self.module.net.latent_dim, seed, self._dtype)
        return self.module.generate(z).cpu().numpy()


def new_gan(
    architecture: str,
    latent_dim: int,
    *,
    hidden_dims: Sequence[int],
    channels: Sequence[int],
    seed: int,
    dtype: str,
    learning_rate: float,
    lr_decay: float,
) -> TorchGAN:
    """A fresh GAN (weights from torch seeded with seed) in its module and adapter."""
    torch.manual_seed(seed)
    net = build_gan(architecture, latent_dim, hidden_dims=hidden_dims, channels=channels)
    module = GANModule(
        net.to(getattr(torch, dtype)), learning_rate=learning_rate, lr_decay=lr_decay
    )
    return TorchGAN(module)


def fit_gan(
    model: TorchGAN,
    config: Any,
    prepared: Any,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None,
    score_samples: Callable[[np.ndarray], float],
) -> dict[str, Any]:
    """Train the two players; the best epoch has the best score of its samples.

    score_samples: (N, 1, 8, 8) images in [0, 1] -> their quality (higher is better)
    returns the history, with generator_loss per step (loss_history is the discriminator's),
        and per epoch the two losses and val_sample_quality
    """
    model.module.score_samples = score_samples
    terms = TermHistory(
        step_keys=["generator_loss"],
        epoch_keys=["train_discriminator_loss", "train_generator_loss", "val_real_probability"],
    )
    callbacks = []
    if run_dir is not None:
        title = f"GAN ({config.architecture}) samples of fixed noise"
        callbacks.append(SampleGrids(run_dir / "samples", model.module.net.latent_dim, title))
    return fit_generative(
        model,
        config,
        prepared,
        run_dir,
        verbose,
        resume,
        monitor="val_sample_quality",
        mode="max",
        terms=terms,
        callbacks=callbacks,
    )
