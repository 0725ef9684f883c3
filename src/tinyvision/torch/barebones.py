"""Part II of the course's PyTorch notebook: networks as functions of explicit weight tensors.

No nn.Module and no optimiser: the parameters are a list of tensors with requires_grad, the
forward pass is a plain function `model_fn(x, params) -> scores`, autograd gives the gradients
and `sgd_step` applies them by hand. The course reads global loaders and a global device; here
the loaders are arguments and the device and dtype follow the parameters, so the same code runs
in float32 on a GPU and in float64 on the CPU for gradient checks.

Functions print only where the course prints (train_part2 / check_accuracy_part2 with
verbose=True, their default).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "check_accuracy_part2",
    "DEVICE",
    "DTYPE",
    "flatten",
    "random_weight",
    "sgd_step",
    "three_layer_convnet",
    "train_part2",
    "two_layer_fc",
    "zero_weight",
]

# What the course's notebook sets globally: the first CUDA device when there is one, and float32.
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
DTYPE = torch.float32

ModelFn = Callable[[torch.Tensor, Sequence[torch.Tensor]], torch.Tensor]


def flatten(x: torch.Tensor) -> torch.Tensor:
    """Each example of a batch as one row.

    x: (N, d1, ..., dk)
    returns (N, d1 * ... * dk), a view of x when its memory allows
    """
    return x.reshape(x.shape[0], -1)


def random_weight(
    shape: Sequence[int], *, dtype: torch.dtype | None = None, device: torch.device | None = None
) -> torch.Tensor:
    """Kaiming normal weights N(0, 2 / fan_in) that require gradients, as the course draws them.

    shape: (fan_in, fan_out) for a fully-connected weight; (F, C, HH, WW) for a convolution,
        whose fan_in is C * HH * WW
    dtype, device: default to DTYPE (float32) and DEVICE (CUDA when present, else CPU)
    Draws from torch's global generator (torch.manual_seed makes it reproducible).
    """
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(
            f"random_weight needs a weight shape with at least 2 dimensions, got {shape}; "
            "biases take zero_weight"
        )
    fan_in = shape[0] if len(shape) == 2 else math.prod(shape[1:])
    w = torch.randn(shape, dtype=dtype or DTYPE, device=device or DEVICE)
    w *= math.sqrt(2.0 / fan_in)
    return w.requires_grad_()


def zero_weight(
    shape: Sequence[int], *, dtype: torch.dtype | None = None, device: torch.device | None = None
) -> torch.Tensor:
    """Zeros of `shape` that require gradients (biases); dtype and device as random_weight."""
    return torch.zeros(
        tuple(shape),
        dtype=dtype or DTYPE,
        device=device or DEVICE,
        requires_grad=True,
    )


def two_layer_fc(x: torch.Tensor, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """fc - relu - fc without biases, the course's first barebones network.

    x: (N, d1, ..., dk), flattened to (N, D)
    params: [w1 (D, H), w2 (H, C)]
    returns scores (N, C)
    """
    w1, w2 = params
    return F.relu(flatten(x).mm(w1)).mm(w2)


def three_layer_convnet(x: torch.Tensor, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """conv 5x5 pad 2 - relu - conv 3x3 pad 1 - relu - fc, the course's barebones convnet.

    x: (N, C, H, W)
    params: [conv_w1 (F1, C, 5, 5), conv_b1 (F1,), conv_w2 (F2, F1, 3, 3), conv_b2 (F2,),
        fc_w (F2 * H * W, num_classes), fc_b (num_classes,)]
    returns scores (N, num_classes)
    """
    conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b = params
    h = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=2))
    h = F.relu(F.conv2d(h, conv_w2, conv_b2, padding=1))
    return flatten(h).mm(fc_w) + fc_b


def sgd_step(params: Iterable[torch.Tensor], lr: float) -> None:
    """w -= lr * w.grad for every parameter, outside autograd, then zero the gradients."""
    with torch.no_grad():
        for w in params:
            w -= lr * w.grad
            w.grad.zero_()


def _batch_to(x: torch.Tensor, y: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Images in the dtype and on the device of the parameters, labels as int64 beside them."""
    return x.to(device=like.device, dtype=like.dtype), y.to(device=like.device, dtype=torch.int64)


def check_accuracy_part2(
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    model_fn: ModelFn,
    params: Sequence[torch.Tensor],
    *,
    split: str = "val",
    verbose: bool = True,
) -> float:
    """Fraction of the loader's examples whose highest score is their label.

    loader: yields (x, y) batches, x (N, ...) images and y (N,) integer labels
    model_fn, params: scores = model_fn(x, params)
    split: the name the printed line gives the data ("val" or "test")
    verbose: print the course's two lines
    """
    num_correct = num_samples = 0
    with torch.no_grad():
        for x, y in loader:
            x, y = _batch_to(x, y, params[0])
            preds = model_fn(x, params).argmax(dim=1)
            num_correct += int((preds == y).sum())
            num_samples += preds.shape[0]
    if num_samples == 0:
        raise ValueError("check_accuracy_part2 got a loader that yields no examples")
    acc = num_correct / num_samples
    if verbose:
        print(f"Checking accuracy on the {split} set")
        print(f"Got {num_correct} / {num_samples} correct ({100 * acc:.2f}%)")
    return acc


def train_part2(
    model_fn: ModelFn,
    params: Sequence[torch.Tensor],
    learning_rate: float,
    loader_train: Iterable[tuple[torch.Tensor, torch.Tensor]],
    *,
    loader_val: Iterable[tuple[torch.Tensor, torch.Tensor]] | None = None,
    print_every: int = 100,
    verbose: bool = True,
) -> list[float]:
    """One epoch of plain SGD on softmax cross-entropy, the course's barebones training loop.

    model_fn, params: scores = model_fn(x, params); params are updated in place
    learning_rate: the SGD step size (positive)
    loader_train: yields (x, y) batches
    loader_val: checked every print_every iterations when given (the course always checks)
    verbose: print the loss and the validation accuracy as the course does
    returns the loss of every iteration
    """
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
    if print_every < 1:
        raise ValueError(f"print_every must be a positive int, got {print_every!r}")
    losses = []
    for t, (x, y) in enumerate(loader_train):
        x, y = _batch_to(x, y, params[0])
        loss = F.cross_entropy(model_fn(x, params), y)
        loss.backward()
        sgd_step(params, learning_rate)
        losses.append(loss.item())
        if t % print_every == 0:
            if verbose:
                print(f"Iteration {t}, loss = {loss.item():.4f}")
            if loader_val is not None:
                check_accuracy_part2(loader_val, model_fn, params, verbose=verbose)
            if verbose:
                print()
    return losses
