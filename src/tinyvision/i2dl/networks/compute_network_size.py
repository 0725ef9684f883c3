"""I2DL's network-size helpers (`exercise_code.networks.compute_network_size`).

``compute_network_pass_size(model)`` adds up what a model holds after a forward and backward
pass: each layer's cache (what backward needs) and its gradients. The counting is
`tinyvision.nn.measure_memory`'s: the bytes of the arrays themselves (``nbytes``), each array
once per layer, the layer's own parameters not counted as cache. (The exercise used
``sys.getsizeof``, which adds Python's per-object overhead, so its numbers are slightly larger.)
``GetHumanReadable(size)`` formats a byte count as the exercise prints it, e.g. "1.50KB".
"""

from __future__ import annotations

from typing import Any

from tinyvision.nn import measure_memory

__all__ = ["GetHumanReadable", "compute_network_pass_size"]

_SUFFIXES = ("B", "KB", "MB", "GB", "TB")


def GetHumanReadable(size: float, precision: int = 2) -> str:  # noqa: N802 - the course's name
    """size bytes with a binary-prefix unit: 1536 -> "1.50KB".

    size: a byte count, >= 0
    precision: digits after the decimal point
    returns the number (divided by 1024 while it exceeds 1024, up to TB) and its unit
    """
    index = 0
    while size > 1024 and index < len(_SUFFIXES) - 1:
        size /= 1024
        index += 1
    return f"{size:.{precision}f}{_SUFFIXES[index]}"


def compute_network_pass_size(model: Any, verbose: bool = True) -> int:
    """Bytes of the caches and gradients a model holds now, after its forward and backward pass.

    model: a tinyvision Module, e.g. ClassificationNet after model.backward(model.forward(X))
    verbose: print each layer's cache and gradient bytes, as the exercise does
    returns the total number of bytes (caches plus gradients)
    """
    report = measure_memory(model)
    if verbose:
        print("Adding layer caches for forward pass:")
        for layer in report.layers:
            print(layer.name, layer.layer, layer.cache_bytes)
        print("\nAdding layer gradients for backward pass:")
        for layer in report.layers:
            print(layer.name, layer.layer, layer.grad_bytes)
    return report.total("cache_bytes") + report.total("grad_bytes")
