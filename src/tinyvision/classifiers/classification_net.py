"""I2DL's ClassificationNet: a fully-connected classifier built from the Module API.

ClassificationNet is a `tinyvision.nn.Sequential` of `num_layer` Linear layers with an
activation between consecutive ones:

    Linear(D, H) - act - Linear(H, H) - act - ... - Linear(H, C)

The last Linear outputs raw class scores: unlike a known defect of the course's template, no
activation is applied to the logits, because squashing or clipping them (Sigmoid, ReLU) caps
the confidence softmax can express and stops gradients through negative scores. Being a
Sequential, it offers forward/backward (I2DL style) and params/loss(X, y) (course Solver style),
with params named "0.W", "0.b", "2.W", ... after their position in the stack.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinyvision.nn import LeakyReLU, Linear, Module, ReLU, Sequential, Sigmoid, Tanh
from tinyvision.validation import check_non_negative, check_positive_int

__all__ = ["ACTIVATIONS", "ClassificationNet"]

ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
}


def _activation_factory(
    activation: type[Module] | str | Callable[[], Module],
) -> Callable[[], Module]:
    """What makes one activation Module: a Module class (e.g. ReLU), a name ("relu"), or a
    function of no arguments that returns a Module (e.g. functools.partial(LeakyReLU, 0.1))."""
    if isinstance(activation, str) and activation.lower() in ACTIVATIONS:
        return ACTIVATIONS[activation.lower()]
    if isinstance(activation, type) and issubclass(activation, Module):
        return activation
    # A Module instance is callable too (its forward), but one instance cannot sit in every gap.
    if callable(activation) and not isinstance(activation, (type, Module)):
        return activation
    raise ValueError(
        f"activation must be a Module class such as ReLU or Sigmoid, one of "
        f"{sorted(ACTIVATIONS)}, or a function returning a Module, got {activation!r}"
    )


def _make_activation(factory: Callable[[], Module]) -> Module:
    """A fresh activation Module from factory, or ValueError if factory does not make one."""
    try:
        module = factory()
    except TypeError as error:
        raise ValueError(
            f"activation must be a Module class such as ReLU or Sigmoid, or a function of no "
            f"arguments returning a Module; calling {factory!r}() failed: {error}"
        ) from error
    if not isinstance(module, Module):
        raise ValueError(
            f"activation must be a Module class such as ReLU or Sigmoid, or a function "
            f"returning a Module; {factory!r}() returned {type(module).__name__}"
        )
    return module


class ClassificationNet(Sequential):
    """A Sequential of Linear layers and activations, sized as in I2DL exercise 5."""

    def __init__(
        self,
        activation: type[Module] | str | Callable[[], Module] = Sigmoid,
        num_layer: int = 2,
        input_size: int = 3 * 32 * 32,
        hidden_size: int = 100,
        std: float = 1e-3,
        num_classes: int = 10,
        reg: float = 0,
        loss: str = "softmax",
        weight_init: str = "gaussian",
        seed: int | None = None,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        """Build the layer stack.

        activation: Module class (ReLU, LeakyReLU, Sigmoid, Tanh, ...), its name, or a function
          of no arguments returning a Module; a fresh instance goes between every two Linear
          layers, none after the last
        num_layer: number of Linear layers, >= 1 (1 gives a linear classifier)
        input_size: D, features per (flattened) example
        hidden_size: H, width of every hidden layer
        std: standard deviation of the weights for weight_init="gaussian" (I2DL's default)
        num_classes: C
        reg: L2 regularisation strength, 0.5 * reg * sum(W * W) per weight matrix
        loss: "softmax" or "svm", used by loss(X, y)
        weight_init: "gaussian", "xavier"/"glorot" or "kaiming"/"he"
        seed: seed of the initialisation (layer i uses seed + i); None follows np.random.seed
        dtype: float dtype of the parameters
        """
        act = _activation_factory(activation)
        check_positive_int(num_layer, "num_layer", hint="it counts the Linear layers")
        std = check_non_negative(std, "std", hint="it is the standard deviation of the weights")
        sizes = [input_size, *([hidden_size] * (num_layer - 1)), num_classes]
        modules: list[Module] = []
        for i in range(num_layer):
            if i > 0:
                modules.append(_make_activation(act))
            modules.append(
                Linear(
                    sizes[i],
                    sizes[i + 1],
                    weight_init=weight_init,
                    weight_scale=std,
                    seed=None if seed is None else seed + i,
                    dtype=dtype,
                )
            )
        super().__init__(*modules, loss=loss, reg=reg)
        self.activation = act
        self.num_layer = int(num_layer)
