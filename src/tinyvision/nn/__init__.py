"""Module API in the style of I2DL and torch.nn: layer objects holding params, grads and mode.

Each module is a thin stateful wrapper around a forward/backward pair from `tinyvision.layers`;
the maths lives there, once. `Sequential` also offers the course model interface
(`params`, `loss(X, y)`), so the same Solver trains course models and Module models alike.
See `tinyvision.nn.module` for how to write a new module.
"""

from .activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .container import LOSSES, Sequential
from .dropout import Dropout
from .flatten import Flatten
from .linear import Linear
from .memory import LayerMemory, MemoryReport, format_memory_report, memory_report
from .module import Module, ParameterView
from .normalization import BatchNorm1d, LayerNorm

__all__ = [
    "LOSSES",
    "BatchNorm1d",
    "Dropout",
    "Flatten",
    "LayerMemory",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "MemoryReport",
    "Module",
    "ParameterView",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "format_memory_report",
    "memory_report",
]
