"""`--model vae`: a variational autoencoder of the digits (tinyvision.torch.applications.vae).

Trained with PyTorch Lightning on the negative ELBO (reconstruction + KL, logged apart) and
scored by the generation task (tinyvision.generation). Its run folder adds samples.png (codes
drawn from the prior), interpolation.png (decoded points between two test digits' codes),
reconstructions.png and vae_terms.png (the two loss terms per epoch). torch is imported only
when the model is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.classification import Prepared
from tinyvision.config import TrainConfig
from tinyvision.generation import VAE_TASK
from tinyvision.models.torch_extra import require_torch
from tinyvision.registry import ModelSpec, register

# Pairs of digit classes the interpolation figure walks between (first test image of each).
INTERPOLATION_PAIRS = ((0, 6), (1, 7), (3, 8), (4, 9), (2, 5))
INTERPOLATION_STEPS = 10


def build(config: TrainConfig, prepared: Prepared) -> Any:
    from tinyvision.torch.applications.vae import build_vae

    return build_vae(
        prepared.input_shape,
        config.hidden_dims,
        config.latent_dim,
        seed=config.seed,
        dtype=config.dtype,
        update_rule=config.update_rule,
        learning_rate=config.learning_rate,
        weight_decay=config.reg,
        lr_decay=config.lr_decay,
    )


def check(config: TrainConfig) -> None:
    require_torch(config.model, ("torch", "pytorch_lightning"))
    if config.architecture != "mlp":
        raise ValueError(
            "--model vae is fully connected: use --architecture mlp (the conv variant is the gan's)"
        )


def fit(
    model: Any,
    config: TrainConfig,
    prepared: Prepared,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None,
) -> dict[str, Any]:
    from tinyvision.torch.applications.vae import fit_vae

    return fit_vae(model, config, prepared, run_dir, verbose, resume)


def _first_of_class(labels: np.ndarray, digit: int) -> int:
    return int(np.flatnonzero(labels == digit)[0])


def artifacts(model: Any, config: TrainConfig, prepared: Prepared, run_dir: Path) -> None:
    """samples.png, interpolation.png, reconstructions.png and vae_terms.png."""
    from tinyvision.generation_plots import plot_curves, plot_image_grid, plot_image_rows

    plot_image_grid(
        model.sample(100, seed=0),
        run_dir / "samples.png",
        f"VAE: 100 samples, z ~ N(0, I) (latent dim {config.latent_dim}), pixel means",
    )
    images, labels = prepared.X["test"], prepared.data["y_test"]
    rows, names = [], []
    for a, b in INTERPOLATION_PAIRS:
        start, end = images[_first_of_class(labels, a)], images[_first_of_class(labels, b)]
        path = model.interpolate(start, end, INTERPOLATION_STEPS)
        rows.append(np.concatenate([start[None], path, end[None]]))
        names.append(f"{a} to {b}")
    columns = ["input", *(f"{t:.2f}" for t in np.linspace(0, 1, INTERPOLATION_STEPS)), "input"]
    plot_image_rows(
        rows,
        names,
        run_dir / "interpolation.png",
        "VAE: decoded codes on the line between two test digits' means (weight of the 2nd)",
        columns,
    )
    firsts = [_first_of_class(labels, d) for d in range(10)]
    plot_image_rows(
        [images[firsts], model.reconstruct(images[firsts])],
        ["test digit", "reconstructed"],
        run_dir / "reconstructions.png",
        "VAE: test digits and their reconstructions (decoded mean codes)",
    )
    if model.history:
        history = model.history
        plot_curves(
            {
                f"{split} {label}": history[f"{split}_{term}_history"]
                for term, label in (("reconstruction_loss", "reconstruction"), ("kl", "KL"))
                for split in ("train", "val")
            },
            run_dir / "vae_terms.png",
            "VAE: the two terms of the loss (negative ELBO)",
            "epoch",
            "nats per image",
        )


register(
    ModelSpec(
        name="vae",
        task=VAE_TASK,
        build=build,
        description="variational autoencoder of the digits, PyTorch Lightning (torch extra)",
        defaults={
            "digits": {
                "epochs": 150,
                "learning_rate": 1e-3,
                "hidden_dims": (256, 128),
                "latent_dim": 8,
                "architecture": "mlp",
            }
        },
        inputs="raw",
        fit=fit,
        check=check,
        artifacts=artifacts,
        checkpoint="checkpoints/last.ckpt",
    )
)
