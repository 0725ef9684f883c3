"""A custom autograd function: ReLU with a hand-written backward, as in the course's PyTorch notes.

`torch.autograd.Function` is how torch lets you give an operation your own backward pass: forward
computes the output and saves what backward needs on `ctx`; backward maps the upstream gradient
to the gradient of each input. It is the NumPy layers' (forward, cache) / backward pair in torch's
clothing; `MyReLU.apply` is used like any torch op and autograd chains it with the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from tinyvision.torch.barebones import flatten

__all__ = ["MyReLU", "my_relu_two_layer_fc"]


class MyReLU(torch.autograd.Function):
    """max(x, 0) elementwise; its gradient passes where x > 0 and is 0 elsewhere (also at 0).

    Call it as MyReLU.apply(x): x (any shape), float32 or float64; returns the same shape and dtype.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)  # backward needs only where x was positive
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad_output * (x > 0)


def my_relu_two_layer_fc(x: torch.Tensor, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """barebones.two_layer_fc with MyReLU as its nonlinearity: fc - MyReLU - fc, no biases.

    x: (N, d1, ..., dk), flattened to (N, D)
    params: [w1 (D, H), w2 (H, C)]
    returns scores (N, C)
    """
    w1, w2 = params
    return MyReLU.apply(flatten(x).mm(w1)).mm(w2)
