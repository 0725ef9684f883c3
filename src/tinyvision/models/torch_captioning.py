"""The PyTorch track's captioning model: `torch-transformer`, the course's PyTorch
CaptioningTransformer (tinyvision.torch), trained by `tinyvision caption train`.

PyTorch is an optional extra: this module registers the model without importing torch, and
checking a config for it says how to install torch when it is missing, so every NumPy model,
`tinyvision --help` and the test suite work without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinyvision.captioning import CAPTIONING, CaptionPrepared
from tinyvision.config import CaptionConfig
from tinyvision.models.captioning import (
    TRANSFORMER_DEFAULTS,
    TRANSFORMER_MAX_LENGTH,
    check_transformer,
)
from tinyvision.models.torch_extra import require_torch
from tinyvision.registry import ModelSpec, register


def check_torch_transformer(config: CaptionConfig) -> None:
    """PyTorch installed, sizes the transformer accepts, and options its trainer has."""
    require_torch(config.model)
    check_transformer(config)
    if config.update_rule != "adam":
        raise ValueError(
            f"--model {config.model} trains with Adam (torch.optim), as the course's "
            f"CaptioningSolverTransformer does; got --update-rule {config.update_rule}. "
            "Leave --update-rule out or pass adam"
        )
    if config.patience is not None:
        raise ValueError(
            f"--model {config.model} has no early stopping (it keeps the best epoch's "
            "parameters); leave --patience out"
        )


def build_torch_transformer(config: CaptionConfig, prepared: CaptionPrepared) -> Any:
    from tinyvision.torch.captioning_run import build_captioner

    return build_captioner(config, prepared, TRANSFORMER_MAX_LENGTH)


def fit_torch_transformer(
    model: Any,
    config: CaptionConfig,
    prepared: CaptionPrepared,
    run_dir: Path | None,
    verbose: bool,
    resume: Path | None,
) -> dict[str, Any]:
    from tinyvision.torch.captioning_run import fit_captioner

    return fit_captioner(model, config, prepared, run_dir, verbose, resume)


register(
    ModelSpec(
        name="torch-transformer",
        task=CAPTIONING,
        build=build_torch_transformer,
        description="CaptioningTransformer in PyTorch (the course's notebook model; torch extra)",
        defaults=TRANSFORMER_DEFAULTS,
        fit=fit_torch_transformer,
        check=check_torch_transformer,
        checkpoint=None,
        schedules=("step", "cosine"),
    )
)
