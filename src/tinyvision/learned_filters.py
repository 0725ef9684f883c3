"""The first convolution of a trained model: its filters, and the feature maps they make.

`first_conv_layer` finds the layer in each kind of conv model we train: the course's
ThreeLayerConvNet (params W1 / b1 and its conv_param), a Module-API net such as ConvNet (the
first `nn.Conv2d`, also inside a residual block) and the PyTorch track's nets (the first
`torch.nn.Conv2d` of the LightningModule's `net`, read as NumPy). `feature_maps` then runs
that layer with our own `conv_forward_fast`, so a torch model's maps come from the same maths
as a NumPy model's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinyvision.layers.conv import conv_forward_fast

__all__ = ["ConvLayer", "feature_maps", "first_conv_layer"]


@dataclass(frozen=True)
class ConvLayer:
    """One convolution's weights and geometry.

    name: where the layer sits in its model (a parameter or module name)
    w: (F, C, HH, WW) filters; b: (F,) biases (zeros for a layer without bias)
    conv_param: {"stride": int, "pad": int}, the course's dict
    """

    name: str
    w: np.ndarray
    b: np.ndarray
    conv_param: dict[str, int]


def _no_conv_layer(model: Any) -> ValueError:
    return ValueError(
        f"{type(model).__name__} has no convolution layer to show; pass a convolutional model "
        "(a run of --model cnn, convnet or torch-cnn)"
    )


def _module_api_conv(model: Any) -> ConvLayer | None:
    from tinyvision.nn import Conv2d

    for name, module in model.named_modules():
        if isinstance(module, Conv2d):
            own = dict(module.named_parameters())  # "W", and "b" unless bias=False
            w = own["W"]
            b = own.get("b", np.zeros(len(w), dtype=w.dtype))
            return ConvLayer(name or "conv", w.copy(), b.copy(), dict(module.conv_param))
    return None


def _torch_conv(net: Any) -> ConvLayer | None:
    import torch

    for name, module in net.named_modules():
        if isinstance(module, torch.nn.Conv2d):
            stride, padding = module.stride, module.padding
            if (
                isinstance(padding, str)
                or len(set(stride)) != 1
                or len(set(padding)) != 1
                or module.groups != 1
                or set(module.dilation) != {1}
                or module.padding_mode != "zeros"
            ):
                raise ValueError(
                    f"the first convolution ({name}: {module}) is not a plain convolution with "
                    "the same stride and zero padding on both axes; only those can be shown"
                )
            w = module.weight.detach().cpu().numpy().copy()
            bias = module.bias
            b = np.zeros(len(w), w.dtype) if bias is None else bias.detach().cpu().numpy().copy()
            return ConvLayer(name, w, b, {"stride": int(stride[0]), "pad": int(padding[0])})
    return None


def first_conv_layer(model: Any) -> ConvLayer:
    """The first convolution of a conv model, as NumPy arrays.

    model: a ThreeLayerConvNet (or any model with a 4-d "W1" and a conv_param), a Module-API
        net holding an nn.Conv2d, or a torch-track model whose `module.net` holds a
        torch.nn.Conv2d
    returns a ConvLayer (copies: changing it leaves the model alone)
    raises ValueError for a model without a convolution
    """
    from tinyvision.nn import Module

    if isinstance(model, Module):
        layer = _module_api_conv(model)
    elif getattr(getattr(model, "module", None), "net", None) is not None:
        layer = _torch_conv(model.module.net)
    elif np.ndim(getattr(model, "params", {}).get("W1")) == 4 and hasattr(model, "conv_param"):
        w = model.params["W1"]
        b = model.params.get("b1", np.zeros(len(w), dtype=w.dtype))
        layer = ConvLayer("W1", w.copy(), b.copy(), dict(model.conv_param))
    else:
        layer = None
    if layer is None:
        raise _no_conv_layer(model)
    return layer


def feature_maps(layer: ConvLayer, x: np.ndarray) -> np.ndarray:
    """The layer's responses to a batch (before any normalisation or non-linearity after it).

    layer: a ConvLayer; x: (N, C, H, W) inputs as the model takes them (preprocessed)
    returns (N, F, H', W') in the common dtype of x and the weights
    """
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[1] != layer.w.shape[1]:
        raise ValueError(
            f"x must be (N, {layer.w.shape[1]}, H, W) inputs for filters of shape "
            f"{layer.w.shape}, got shape {x.shape}"
        )
    out, _ = conv_forward_fast(x, layer.w, layer.b, layer.conv_param)
    return out
