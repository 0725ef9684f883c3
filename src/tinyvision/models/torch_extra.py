"""The PyTorch track is an optional extra: its models check for it before any data is loaded."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

TORCH_EXTRA_HINT = "install the torch extra: pip install -e '.[torch]'"


def require_torch(model: str, modules: Sequence[str] = ("torch",)) -> None:
    """Raise ValueError naming the missing modules and how to install them.

    model: the --model name, for the message; modules: what the model imports
    """
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise ValueError(f"--model {model} needs {' and '.join(missing)}: {TORCH_EXTRA_HINT}")
