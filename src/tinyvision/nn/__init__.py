"""Module API in the style of I2DL and torch.nn: layer objects holding params, grads and mode.

Each module is a thin stateful wrapper around a forward/backward pair from `tinyvision.layers`;
the maths lives there, once. `Sequential` also offers the course model interface
(`params`, `loss(X, y)`), so the same Solver trains course models and Module models alike.
See `tinyvision.nn.module` for how to write a new module.
"""

from .activation import LeakyReLU, Maxout, ReLU, RReLU, Sigmoid, Tanh
from .branches import Branches
from .container import LOSSES, Sequential
from .conv import Conv2d
from .conv_transpose import ConvTranspose2d
from .dropout import Dropout, Dropout2d, VanillaDropout
from .flatten import Flatten
from .linear import Linear
from .losses import PixelCrossEntropy
from .memory import (
    LayerMemory,
    MemoryReport,
    format_memory_report,
    measure_memory,
    memory_report,
)
from .module import Module, ParameterView
from .normalization import BatchNorm1d, LayerNorm
from .padding import ZeroPad2d
from .pooling import AvgPool2d, GlobalAvgPool2d, MaxPool2d
from .residual import ResidualBlock
from .spatial_normalization import BatchNorm2d, GroupNorm, InstanceNorm2d
from .summary import LayerRow, format_summary, summarize, total_parameters
from .unet import UNet

__all__ = [
    "LOSSES",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Branches",
    "Conv2d",
    "ConvTranspose2d",
    "Dropout",
    "Dropout2d",
    "Flatten",
    "GlobalAvgPool2d",
    "GroupNorm",
    "InstanceNorm2d",
    "LayerMemory",
    "LayerNorm",
    "LayerRow",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "Maxout",
    "MemoryReport",
    "Module",
    "ParameterView",
    "PixelCrossEntropy",
    "RReLU",
    "ReLU",
    "ResidualBlock",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "UNet",
    "VanillaDropout",
    "ZeroPad2d",
    "format_memory_report",
    "format_summary",
    "measure_memory",
    "memory_report",
    "summarize",
    "total_parameters",
]
