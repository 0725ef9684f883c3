"""A variational autoencoder (the notes' generative models) on the 8x8 digits, in PyTorch.

The encoder maps an image x to the mean and log-variance of a diagonal Gaussian q(z | x); a
code is drawn with the reparameterisation trick, z = mean + exp(log_var / 2) * eps with
eps ~ N(0, I), so the gradient flows to mean and log_var through a sample; the decoder maps z
to the logits of independent Bernoulli pixels p(x | z). The loss per image is the negative
evidence lower bound, in nats:

    reconstruction = -log p(x | z) = sum over pixels of binary cross-entropy(logits, x)
    kl = KL(q(z | x) || N(0, I)) = 1/2 * sum_j (exp(log_var_j) + mean_j^2 - 1 - log_var_j)
    loss = reconstruction + kl

Both terms are logged separately (train and val, per epoch). `TorchVAE` is the model contract
around the LightningModule: the scores, samples, reconstructions and interpolations a run
reports and draws.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from tinyvision.torch.lightning import make_optimizer

__all__ = [
    "VAE",
    "TorchVAE",
    "VAEModule",
    "fit_vae",
    "kl_divergence",
    "reconstruction_loss",
    "reparameterize",
    "vae_loss_terms",
]

TERMS = ("reconstruction_loss", "kl", "loss")


def kl_divergence(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, diag(exp(log_var))) || N(0, I)) per row, in closed form.

    mean, log_var: (N, L)
    returns (N,)
    """
    return 0.5 * torch.sum(log_var.exp() + mean.pow(2) - 1.0 - log_var, dim=1)


def reparameterize(
    mean: torch.Tensor, log_var: torch.Tensor, noise: torch.Tensor | None = None
) -> torch.Tensor:
    """A code z ~ N(mean, diag(exp(log_var))) as a differentiable function of mean and log_var.

    mean, log_var: (N, L)
    noise: (N, L) standard normal eps (None: drawn from torch's global generator)
    returns z = mean + exp(log_var / 2) * eps, (N, L)
    """
    if noise is None:
        noise = torch.randn_like(mean)
    return mean + torch.exp(0.5 * log_var) * noise


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x | z) of Bernoulli pixels with the decoder's logits, per image.

    logits, x: (N, C, H, W); x in [0, 1]
    returns (N,) the binary cross-entropy summed over pixels
    """
    per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return per_pixel.flatten(1).sum(dim=1)


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers of the given sizes with a ReLU after each but the last."""
    layers: list[nn.Module] = []
    for index, (size_in, size_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(size_in, size_out))
        if index < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """A fully connected variational autoencoder.

    input_shape: (C, H, W) of the images, values in [0, 1]
    hidden_dims: widths of the encoder's hidden layers (the decoder mirrors them)
    latent_dim: L, the size of the code z
    """

    def __init__(
        self, input_shape: Sequence[int], hidden_dims: Sequence[int], latent_dim: int
    ) -> None:
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.latent_dim = latent_dim
        size = int(np.prod(self.input_shape))
        self.encoder = nn.Sequential(nn.Flatten(), _mlp([size, *hidden_dims]), nn.ReLU())
        self.mean = nn.Linear(hidden_dims[-1], latent_dim)
        self.log_var = nn.Linear(hidden_dims[-1], latent_dim)
        self.decoder = _mlp([latent_dim, *reversed(hidden_dims), size])

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, C, H, W) images -> mean (N, L) and log-variance (N, L) of q(z | x)."""
        hidden = self.encoder(x)
        return self.mean(hidden), self.log_var(hidden)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(N, L) codes -> (N, C, H, W) pixel logits of p(x | z)."""
        return self.decoder(z).view(len(z), *self.input_shape)

    def forward(
        self, x: torch.Tensor, noise: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode, draw z (reparameterised; noise as in `reparameterize`), decode.

        returns logits (N, C, H, W), mean (N, L), log_var (N, L)
        """
        mean, log_var = self.encode(x)
        return self.decode(reparameterize(mean, log_var, noise)), mean, log_var


def vae_loss_terms(
    net: VAE, x: torch.Tensor, noise: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two terms of the negative ELBO per image: reconstruction (N,) and KL (N,)."""
    logits, mean, log_var = net(x, noise)
    return reconstruction_loss(logits, x), kl_divergence(mean, log_var)


class VAEModule(pl.LightningModule):
    """Training of a VAE on the negative ELBO, with the terms logged apart.

    net: the VAE; update_rule, learning_rate, weight_decay: see make_optimizer
    lr_decay: learning-rate factor after each epoch
    Validation draws its codes from a generator seeded the same every epoch, so the val
    loss of two epochs differs only by the weights.
    """

    def __init__(
        self,
        net: VAE,
        *,
        update_rule: str = "adam",
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        lr_decay: float = 1.0,
    ) -> None:
        super().__init__()
        self.net = net
        self.update_rule = update_rule
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.lr_decay = lr_decay
        self._val_generator = torch.Generator()

    def _step(self, x: torch.Tensor, split: str, noise: torch.Tensor | None) -> torch.Tensor:
        reconstruction, kl = vae_loss_terms(self.net, x, noise)
        loss = (reconstruction + kl).mean()
        values = {"reconstruction_loss": reconstruction.mean(), "kl": kl.mean(), "loss": loss}
        for name, value in values.items():
            self.log(
                f"{split}_{name}", value, on_step=False, on_epoch=True, prog_bar=name == "loss"
            )
        return loss

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        return self._step(batch[0], "train", None)

    def on_validation_epoch_start(self) -> None:
        self._val_generator.manual_seed(0)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        x = batch[0]
        noise = torch.randn(
            len(x), self.net.latent_dim, generator=self._val_generator, dtype=torch.float64
        ).to(x.dtype)
        return self._step(x, "val", noise)

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = make_optimizer(
            self.update_rule, self.parameters(), self.learning_rate, self.weight_decay
        )
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=self.lr_decay)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler}}


class TorchVAE(TorchGenerative):
    """The model contract over a VAEModule, with what a run scores and draws."""

    module: VAEModule

    @property
    def net(self) -> VAE:
        return self.module.net

    def _tensor(self, X: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(X), dtype=self._dtype)

    @torch.no_grad()
    def loss_terms(
        self, X: np.ndarray, seed: int = 0, draws: int = 10, batch_size: int = 500
    ) -> dict[str, float]:
        """Mean reconstruction, KL and loss (negative ELBO) per image of (N, C, H, W) images.

        The reconstruction term averages `draws` codes per image from a generator seeded with
        `seed`, so the same weights always give the same numbers.
        """
        self.module.eval()
        generator = torch.Generator().manual_seed(seed)
        totals = {"reconstruction_loss": 0.0, "kl": 0.0}
        x_all = self._tensor(X)
        for start in range(0, len(x_all), batch_size):
            x = x_all[start : start + batch_size]
            mean, log_var = self.net.encode(x)
            totals["kl"] += float(kl_divergence(mean, log_var).sum())
            for _ in range(draws):
                noise = torch.randn(mean.shape, generator=generator, dtype=torch.float64)
                z = reparameterize(mean, log_var, noise.to(mean.dtype))
                error = reconstruction_loss(self.net.decode(z), x)
                totals["reconstruction_loss"] += float(error.sum()) / draws
        terms = {name: value / len(x_all) for name, value in totals.items()}
        terms["loss"] = terms["reconstruction_loss"] + terms["kl"]
        return terms

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n images decoded from codes z ~ N(0, I) (seeded): (n, C, H, W) pixel means in [0, 1]."""
        self.module.eval()
        z = image_grid_noise(n, self.net.latent_dim, seed, self._dtype)
        return torch.sigmoid(self.net.decode(z)).numpy()

    @torch.no_grad()
    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        """(N, C, H, W) images decoded from their mean codes: pixel means in [0, 1]."""
        self.module.eval()
        mean, _ = self.net.encode(self._tensor(X))
        return torch.sigmoid(self.net.decode(mean)).numpy()

    @torch.no_grad()
    def interpolate(self, x_from: np.ndarray, x_to: np.ndarray, steps: int) -> np.ndarray:
        """Decoded points on the line between two images' mean codes.

        x_from, x_to: (C, H, W) images; steps: points including both ends (>= 2)
        returns (steps, C, H, W) pixel means in [0, 1]
        """
        self.module.eval()
        mean, _ = self.net.encode(self._tensor(np.stack([x_from, x_to])))
        weights = torch.linspace(0.0, 1.0, steps, dtype=mean.dtype)[:, None]
        codes = (1 - weights) * mean[0] + weights * mean[1]
        return torch.sigmoid(self.net.decode(codes)).numpy()


def build_vae(
    input_shape: Sequence[int],
    hidden_dims: Sequence[int],
    latent_dim: int,
    *,
    seed: int,
    dtype: str,
    update_rule: str,
    learning_rate: float,
    weight_decay: float,
    lr_decay: float,
) -> TorchVAE:
    """A fresh VAE (weights from torch seeded with seed) in its module and adapter."""
    torch.manual_seed(seed)
    net = VAE(input_shape, hidden_dims, latent_dim).to(getattr(torch, dtype))
    module = VAEModule(
        net,
        update_rule=update_rule,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        lr_decay=lr_decay,
    )
    return TorchVAE(module)


def fit_vae(
    model: TorchVAE,
    config: Any,
    prepared: Any,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None,
) -> dict[str, Any]:
    """Train on the negative ELBO; the best epoch is the one of the lowest val loss.

    returns the history, with per-epoch train_/val_ reconstruction_loss, kl and loss lists
    """
    terms = TermHistory(epoch_keys=[f"{s}_{t}" for s in ("train", "val") for t in TERMS])
    return fit_generative(
        model,
        config,
        prepared,
        run_dir,
        verbose,
        resume,
        monitor="val_loss",
        mode="min",
        terms=terms,
    )
