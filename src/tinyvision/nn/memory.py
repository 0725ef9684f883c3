"""Per-layer memory report: the bytes a model holds after one forward and backward pass.

For every leaf module the report counts the bytes of its parameters, their gradients, its
buffers (running statistics) and its cache (what backward needs from the forward pass). The
cache is usually the largest term and grows with the batch size, which is why training needs
far more memory than inference.

Counting rule: the nbytes of every distinct ndarray reachable from a layer's cache (through
tuples, lists, dicts and named tuples), each array object counted once per layer; a view counts
its own size. Caches often hold the layer's own parameters (affine_forward caches w and b):
those are references, not extra memory, so they are counted under params only.
Two layers may cache the same array (a Sigmoid caches its output, which the next
Linear caches as its input), so `MemoryReport.unique_cache_bytes` also gives the total with
each array object counted once across the whole model.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .module import Module

__all__ = [
    "LayerMemory",
    "MemoryReport",
    "format_memory_report",
    "measure_memory",
    "memory_report",
]


@dataclass(frozen=True)
class LayerMemory:
    """Bytes held by one leaf module after a forward and backward pass."""

    name: str
    layer: str
    param_bytes: int
    grad_bytes: int
    buffer_bytes: int
    cache_bytes: int

    @property
    def total_bytes(self) -> int:
        """Sum of the four counts."""
        return self.param_bytes + self.grad_bytes + self.buffer_bytes + self.cache_bytes


@dataclass(frozen=True)
class MemoryReport:
    """One LayerMemory per leaf module, in forward order, plus totals."""

    layers: list[LayerMemory]
    unique_cache_bytes: int

    def total(self, field: str) -> int:
        """Sum of one field ("param_bytes", "grad_bytes", ..., "total_bytes") over the layers."""
        return sum(getattr(layer, field) for layer in self.layers)

    @property
    def total_bytes(self) -> int:
        """Everything the layers hold, summed per layer."""
        return self.total("total_bytes")


def _arrays_in(obj: Any) -> Iterator[np.ndarray]:
    """Every ndarray reachable from obj through tuples, lists and dict values."""
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _arrays_in(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _arrays_in(item)


def _distinct_bytes(arrays: Iterator[np.ndarray]) -> int:
    return sum({id(array): array.nbytes for array in arrays}.values())


def memory_report(model: Module, X: np.ndarray, y: np.ndarray) -> MemoryReport:
    """Run model.loss(X, y) once (forward and backward) and measure what each layer holds.

    model: a Module with the course's loss(X, y) method, e.g. a Sequential
    X: (N, ...) float inputs
    y: (N,) int labels
    returns a MemoryReport with one row per leaf module
    """
    if not isinstance(model, Module) or not callable(getattr(model, "loss", None)):
        raise ValueError(
            f"memory_report needs a Module with a loss(X, y) method (e.g. Sequential), "
            f"got {type(model).__name__}"
        )
    model.loss(X, y)
    return measure_memory(model)


def measure_memory(model: Module) -> MemoryReport:
    """What each leaf module holds now, e.g. after a forward and backward pass of your own.

    model: any Module
    returns a MemoryReport with one row per leaf module, in forward order
    """
    if not isinstance(model, Module):
        raise ValueError(f"measure_memory needs a Module, got {type(model).__name__}")
    rows = []
    all_cached: dict[int, int] = {}
    for name, module in model.named_modules():
        if module._modules:
            continue
        own = {id(array) for array in (*module._params.values(), *module._buffers.values())}
        cached = [array for array in _arrays_in(module.cache) if id(array) not in own]
        all_cached.update((id(array), array.nbytes) for array in cached)
        rows.append(
            LayerMemory(
                name=name,
                layer=type(module).__name__,
                param_bytes=_distinct_bytes(iter(module._params.values())),
                grad_bytes=_distinct_bytes(iter(module._grads.values())),
                buffer_bytes=_distinct_bytes(iter(module._buffers.values())),
                cache_bytes=_distinct_bytes(iter(cached)),
            )
        )
    return MemoryReport(layers=rows, unique_cache_bytes=sum(all_cached.values()))


def _human(n_bytes: int) -> str:
    """Bytes with a binary unit, e.g. 1536 -> "1.5 KiB"."""
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def format_memory_report(report: MemoryReport) -> str:
    """The report as a plain-text table, one row per layer, a total row, and the shared note.

    report: from memory_report
    returns a multi-line string
    """
    fields = ("param_bytes", "grad_bytes", "buffer_bytes", "cache_bytes", "total_bytes")
    header = ("layer", "type", "params", "grads", "buffers", "cache", "total")
    rows = [
        (layer.name, layer.layer, *(_human(getattr(layer, field)) for field in fields))
        for layer in report.layers
    ]
    rows.append(("total", "", *(_human(report.total(field)) for field in fields)))
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        cells = [
            str(cell).ljust(widths[i]) if i < 2 else str(cell).rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(cells).rstrip()

    rule = "-" * len(line(header))
    body = [line(header), rule, *map(line, rows[:-1]), rule, line(rows[-1])]
    body.append(
        f"cache counting each array once across layers: {_human(report.unique_cache_bytes)}"
    )
    return "\n".join(body)
