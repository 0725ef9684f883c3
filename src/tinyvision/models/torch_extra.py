"""The PyTorch track is an optional extra: its models check for it before any data is loaded."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

TORCH_EXTRA_HINT = "install the torch extra: pip install -e '.[torch]'"


def require_torch(model: str, modules: Sequence[str] = ("torch",)) -> None:
    """Raise ValueError naming the missing modules and how to install them.

    model: the --model name, for the message; modules: what the model imports
    """
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise ValueError(f"--model {model} needs {' and '.join(missing)}: {TORCH_EXTRA_HINT}")


def check_lightning_run(config: Any) -> None:
    """What every model trained by tinyvision.torch.run needs of a resolved config.

    raises ValueError when torch or Lightning is missing, or when both --clip-value and
    --clip-norm are given (Lightning clips by one of them)
    """
    require_torch(config.model, ("torch", "pytorch_lightning"))
    if config.clip_value is not None and config.clip_norm is not None:
        raise ValueError(
            "Lightning clips by value or by norm, not both: give --clip-value or --clip-norm"
        )
