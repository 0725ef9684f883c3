"""`--model gan`: a GAN of the digits, MLP or conv (tinyvision.torch.applications.gan).

Trained with PyTorch Lightning (two Adam optimisers, the non-saturating generator loss) and
scored by the generation task (tinyvision.generation) with a separately trained digits
classifier. Its run folder adds samples/epoch_NNN.png (the same noise after every epoch),
samples.png (that noise through the kept generator, the best epoch's), gan_losses.png (both
players' losses per epoch) and sample_score.png (the sample quality per epoch, see
tinyvision.generation.SampleScore). torch is
imported only when the model is built.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from tinyvision.classification import Prepared
from tinyvision.config import TrainConfig
from tinyvision.generation import GAN_TASK, digits_scorer, sample_score
from tinyvision.models.torch_extra import require_torch
from tinyvision.registry import ModelSpec, register


def build(config: TrainConfig, prepared: Prepared) -> Any:
    from tinyvision.torch.applications.gan import new_gan

    return new_gan(
        config.architecture,
        config.latent_dim,
        hidden_dims=config.hidden_dims,
        channels=config.channels,
        seed=config.seed,
        dtype=config.dtype,
        learning_rate=config.learning_rate,
        lr_decay=config.lr_decay,
    )


def check(config: TrainConfig) -> None:
    require_torch(config.model, ("torch", "pytorch_lightning"))
    if config.update_rule != "adam":
        raise ValueError(
            f"--model gan trains both players with Adam (betas 0.5, 0.999): use --update-rule "
            f"adam, not {config.update_rule}"
        )
    if config.reg:
        raise ValueError("--model gan has no weight decay: leave out --reg")
    if config.architecture == "conv" and len(config.channels) != 2:
        raise ValueError(
            f"--architecture conv takes two widths, --channels NARROW,WIDE (e.g. 32,64); got "
            f"{','.join(map(str, config.channels))}"
        )


def fit(
    model: Any,
    config: TrainConfig,
    prepared: Prepared,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None,
) -> dict[str, Any]:
    from tinyvision.torch.applications.gan import fit_gan

    classify = digits_scorer()

    def quality(images: np.ndarray) -> float:
        return sample_score(classify(images)).quality

    return fit_gan(model, config, prepared, run_dir, verbose, resume, quality)


def artifacts(model: Any, config: TrainConfig, prepared: Prepared, run_dir: Path) -> None:
    """samples.png, gan_losses.png and sample_score.png."""
    from tinyvision.generation_plots import plot_curves, plot_image_grid
    from tinyvision.torch.applications.gan import GRID_SAMPLES, VALIDATION_SEED

    plot_image_grid(
        model.sample(GRID_SAMPLES, seed=VALIDATION_SEED),
        run_dir / "samples.png",
        f"GAN ({config.architecture}): {GRID_SAMPLES} samples of the kept generator",
    )
    if model.history:
        history = model.history
        plot_curves(
            {
                "discriminator": history["train_discriminator_loss_history"],
                "generator (non-saturating)": history["train_generator_loss_history"],
            },
            run_dir / "gan_losses.png",
            "GAN: mean losses of the two players per epoch",
            "epoch",
            "binary cross-entropy",
            # Where D cannot tell real from generated (D = 1/2 everywhere).
            references={
                "equilibrium of D: ln 4": math.log(4),
                "equilibrium of G: ln 2": math.log(2),
            },
        )
        plot_curves(
            {"confident fraction x class entropy / ln 10": history["val_sample_quality_history"]},
            run_dir / "sample_score.png",
            "GAN: quality of 500 samples per epoch (the best is kept)",
            "epoch",
            "sample quality (0 to 1)",
        )


register(
    ModelSpec(
        name="gan",
        task=GAN_TASK,
        build=build,
        description="GAN of the digits (mlp or conv), PyTorch Lightning (torch extra)",
        defaults={
            "digits": {
                "epochs": 200,
                "learning_rate": 2e-4,
                "architecture": "conv",
                "latent_dim": 16,
                "hidden_dims": (128, 256),
                "channels": (32, 64),
            }
        },
        inputs="raw",
        fit=fit,
        check=check,
        artifacts=artifacts,
        checkpoint="checkpoints/last.ckpt",
    )
)
