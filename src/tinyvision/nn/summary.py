"""The layer table of a network: each layer's output shape, parameters and receptive field.

`summarize(model, input_shape)` walks the top-level layers of a Module network (the children of
a Sequential, or the module itself) and gives one `LayerRow` per layer. Output shapes come from
one forward pass on zeros in evaluation mode; the receptive field from the layers' geometry by
the standard recurrence, per spatial axis, for a kernel k, stride s and padding p:

    rf    += (k - 1) * jump            input pixels one output unit sees
    start += ((k - 1) / 2 - p) * jump  input coordinate of the centre of output unit 0's field
    jump  *= s                         input pixels between neighbouring output units

A composite layer (a ResidualBlock, Branches) has the largest field of its paths. A global
average pool, a Flatten or a Linear of a feature map sees the whole map. The field is the
theoretical one: near the border part of it falls on padding, outside the image.

A UNet is listed by its children in forward order (`UNet.walk`). Its up-sampling makes neighbouring
decoder units see fields of two sizes, which the recurrence cannot express, so its fields come
from following, for every unit of a probe image large enough to have an interior, the first and
last input pixel it depends on through each layer (`_unet_fields`); a row gives the largest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .branches import Branches
from .container import Sequential
from .conv import Conv2d
from .conv_transpose import ConvTranspose2d
from .flatten import Flatten
from .linear import Linear
from .module import Module
from .padding import ZeroPad2d
from .pooling import AvgPool2d, GlobalAvgPool2d, MaxPool2d
from .residual import ResidualBlock
from .unet import UNet

__all__ = ["LayerRow", "format_summary", "summarize", "total_parameters"]


@dataclass(frozen=True)
class Axis:
    """The geometry of one spatial axis of a feature map, in input pixels.

    size: length of the map along the axis; field: receptive field of one unit; jump: input
    pixels between neighbouring units; start: centre of unit 0's field (may be fractional or
    negative, on the padding)
    """

    size: int
    field: int
    jump: int
    start: float

    def window(self, kernel: int, stride: int, padding: int) -> Axis:
        """The axis after a window of side kernel, moving by stride over the padded map."""
        return Axis(
            size=(self.size + 2 * padding - kernel) // stride + 1,
            field=self.field + (kernel - 1) * self.jump,
            jump=self.jump * stride,
            start=self.start + ((kernel - 1) / 2 - padding) * self.jump,
        )

    def span(self, index: int) -> tuple[int, int]:
        """First and last input pixel (inclusive) that unit index sees; outside [0, input
        size) they fall on padding."""
        centre = self.start + index * self.jump
        half = (self.field - 1) / 2
        return int(np.ceil(centre - half)), int(np.floor(centre + half))


Geometry = tuple[Axis, Axis]


@dataclass(frozen=True)
class LayerRow:
    """One top-level layer of a network.

    name: its dotted name in the model ("0", "3"); layer: its type and shape in words
    output_shape: the shape of one example's output (without the batch axis)
    params: number of learned values (buffers such as running statistics not included)
    geometry: (rows, columns) Axis after the layer; None when the input is not an image
    """

    name: str
    layer: str
    output_shape: tuple[int, ...]
    params: int
    geometry: Geometry | None

    @property
    def receptive_field(self) -> tuple[int, int] | None:
        """(rows, columns) of input pixels one output unit sees, None for non-image inputs."""
        if self.geometry is None:
            return None
        return self.geometry[0].field, self.geometry[1].field


def summarize(model: Module, input_shape: Sequence[int]) -> list[LayerRow]:
    """One LayerRow per top-level layer of model, in forward order.

    model: a Module network; a Sequential gives one row per child, any other module one row
    input_shape: one example's shape, (C, H, W) for images or (D,) for vectors
    returns the rows; raises ValueError for a layer whose geometry summarize cannot follow
    (an unknown module that changes the size of the map, or an unknown container)
    """
    shape = tuple(int(v) for v in input_shape)
    if not shape or any(v < 1 for v in shape):
        raise ValueError(f"input_shape must be positive sizes, e.g. (3, 32, 32), got {shape}")
    if isinstance(model, UNet):
        return _unet_rows(model, shape)
    layers = list(model._modules.items()) if isinstance(model, Sequential) else [("", model)]
    geometry = _start(shape)
    x = np.zeros((1, *shape), dtype=_dtype(model))
    modes = [(module, module.training) for _, module in model.named_modules()]
    model.eval()
    rows = []
    try:
        for name, layer in layers:
            x = layer.forward(x)
            if geometry is not None:
                geometry = _through(layer, geometry)
                _check_size(layer, geometry, x.shape)
            params = sum(int(np.size(p)) for _, p in layer.named_parameters())
            rows.append(LayerRow(name, _describe(layer), x.shape[1:], params, geometry))
    finally:
        for module, mode in modes:
            module.training = mode
    return rows


def total_parameters(rows: Sequence[LayerRow]) -> int:
    """The number of learned values of the whole network."""
    return sum(row.params for row in rows)


def format_summary(rows: Sequence[LayerRow], input_shape: Sequence[int]) -> str:
    """The rows as a text table with a totals line (what `tinyvision describe` prints)."""
    name_width = max([6, *(len(row.name) + 2 for row in rows)])
    type_width = max([22, *(len(row.layer) + 2 for row in rows)])
    header = f"{'layer':<{name_width}}{'type':<{type_width}}{'output shape':<16}{'params':>10}"
    lines = [f"{header}  receptive field"]
    shape, field = _shape(tuple(input_shape)), _input_field(rows)
    lines.append(f"{'':<{name_width}}{'input':<{type_width}}{shape:<16}{'':>10}  {field}")
    for row in rows:
        field = "-" if row.receptive_field is None else _square(row.receptive_field)
        shape = _shape(row.output_shape)
        lines.append(
            f"{row.name:<{name_width}}{row.layer:<{type_width}}{shape:<16}{row.params:>10,}  "
            f"{field}"
        )
    last = rows[-1].receptive_field if rows else None
    whole = "" if last is None else f", receptive field {_square(last)} pixels"
    lines.append(f"total: {total_parameters(rows):,} parameters in {len(rows)} layers{whole}")
    return "\n".join(lines)


def _start(shape: tuple[int, ...]) -> Geometry | None:
    """The input's own geometry: every pixel sees itself."""
    if len(shape) != 3:
        return None
    return Axis(shape[1], 1, 1, 0.0), Axis(shape[2], 1, 1, 0.0)


def _window(geometry: Geometry, kernel: tuple[int, int], stride: int, padding: int) -> Geometry:
    rows, cols = geometry
    return rows.window(kernel[0], stride, padding), cols.window(kernel[1], stride, padding)


def _through(module: Module, geometry: Geometry) -> Geometry:
    """The geometry after module, following its paths (largest field of parallel paths)."""
    if isinstance(module, Sequential):
        for child in module:
            geometry = _through(child, geometry)
        return geometry
    if isinstance(module, Branches):
        return _widest([_through(branch, geometry) for branch in module])
    if isinstance(module, ResidualBlock):
        m = module._modules
        main = _through(m["conv2"], _through(m["conv1"], geometry))
        shortcut = _through(m["proj_conv"], geometry) if module.projection else geometry
        return _widest([main, shortcut])
    if isinstance(module, Conv2d):
        return _window(geometry, module.kernel_size, module.stride, module.padding)
    if isinstance(module, (MaxPool2d, AvgPool2d)):
        return _window(geometry, module.kernel_size, module.stride, 0)
    if isinstance(module, ZeroPad2d):
        return _window(geometry, (1, 1), 1, module.padding)
    if isinstance(module, (GlobalAvgPool2d, Flatten, Linear)):
        whole = (geometry[0].size, geometry[1].size)
        return _window(geometry, whole, 1, 0)
    if module._modules:
        raise ValueError(
            f"summarize does not know how {type(module).__name__} routes data through its "
            "children; build the network from Sequential, Branches and ResidualBlock"
        )
    return geometry  # an elementwise layer: activation, normalisation, dropout


def _widest(paths: list[Geometry]) -> Geometry:
    """The path whose field covers the most pixels (the paths share size and jump)."""
    return max(paths, key=lambda g: g[0].field * g[1].field)


def _check_size(module: Module, geometry: Geometry, out_shape: tuple[int, ...]) -> None:
    """The map size the geometry predicts must be the one the forward pass produced."""
    predicted = (geometry[0].size, geometry[1].size)
    spatial = tuple(out_shape[2:]) if len(out_shape) == 4 else (1, 1)
    if predicted != spatial:
        raise ValueError(
            f"cannot follow the receptive field through {type(module).__name__}: its output is "
            f"{spatial[0]}x{spatial[1]}, the known layers predict {predicted[0]}x{predicted[1]}"
        )


def _dtype(model: Module) -> np.dtype:
    """The dtype of the model's parameters (float64 when it has none)."""
    for _, value in model.named_parameters():
        return value.dtype
    return np.dtype(np.float64)


def _describe(module: Module) -> str:
    """The layer's type with its window, e.g. "Conv2d 5x5" or "MaxPool2d 2x2/2"."""
    name = type(module).__name__
    if isinstance(module, Conv2d):
        kh, kw = module.kernel_size
        stride = f"/{module.stride}" if module.stride > 1 else ""
        return f"{name} {kh}x{kw}{stride} ({module.out_channels})"
    if isinstance(module, (MaxPool2d, AvgPool2d)):
        kh, kw = module.kernel_size
        return f"{name} {kh}x{kw}/{module.stride}"
    if isinstance(module, Linear):
        return f"{name} ({module.out_features})"
    if isinstance(module, Sequential):
        convs = [child for child in module if isinstance(child, Conv2d)]
        if convs and len({c.kernel_size for c in convs}) == 1:
            kh, kw = convs[0].kernel_size
            return f"{len(convs)} x Conv2d {kh}x{kw} ({convs[-1].out_channels})"
    return name


def _square(size: tuple[int, int]) -> str:
    return str(size[0]) if size[0] == size[1] else f"{size[0]}x{size[1]}"


def _shape(shape: tuple[int, ...]) -> str:
    return " x ".join(str(v) for v in shape)


def _input_field(rows: Sequence[LayerRow]) -> str:
    """An input pixel sees itself; a vector input has no field."""
    return "1" if rows and rows[0].geometry is not None else "-"


# Per spatial axis and unit of a feature map: the first and last input pixel it depends on.
Spans = tuple[np.ndarray, np.ndarray]


def _unet_rows(model: UNet, shape: tuple[int, ...]) -> list[LayerRow]:
    """A UNet's children in forward order, shapes from a forward pass on zeros."""
    model.check_input(np.zeros((1, *shape)))
    x = np.zeros((1, *shape), dtype=_dtype(model))
    modes = [(module, module.training) for _, module in model.named_modules()]
    model.eval()
    try:
        outputs = list(
            model.walk(
                x, lambda module, value: module(value), lambda a, b: np.concatenate([a, b], 1)
            )
        )
    finally:
        for module, mode in modes:
            module.training = mode
    fields = _unet_fields(model)
    rows = []
    for name, out in outputs:
        child = model._modules[name]
        params = sum(int(np.size(p)) for _, p in child.named_parameters())
        jump = shape[1] // out.shape[2]
        geometry = tuple(
            Axis(size, field, jump, (field - 1) / 2)
            for size, field in zip(out.shape[2:], fields[name], strict=True)
        )
        rows.append(LayerRow(name, _describe(child), out.shape[1:], params, geometry))
    return rows


def _unet_fields(model: UNet) -> dict[str, tuple[int, int]]:
    """The largest receptive field (rows, columns) of each child's output units.

    A probe 8 times the smallest input the UNet takes (at least 64 pixels) leaves units whose
    fields lie inside it, so clipping the spans to the probe does not shrink the largest.
    """
    size = max(64, 8 * model.size_multiple)
    spans = (np.arange(size), np.arange(size))
    start = (spans, spans)
    fields = {}
    for name, (rows, cols) in model.walk(start, _spans_through, _join_spans):
        fields[name] = (int(np.max(rows[1] - rows[0] + 1)), int(np.max(cols[1] - cols[0] + 1)))
    return fields


def _spans_through(module: Module, spans: tuple[Spans, Spans]) -> tuple[Spans, Spans]:
    """The input pixels each unit depends on after module, per axis."""
    if isinstance(module, Sequential):
        for child in module:
            spans = _spans_through(child, spans)
        return spans
    kernel = getattr(module, "kernel_size", None)
    if kernel is None:
        return spans  # an elementwise layer
    stride, padding = module.stride, getattr(module, "padding", 0)
    transposed = isinstance(module, ConvTranspose2d)
    return tuple(
        _transposed_window(axis, k, stride, padding)
        if transposed
        else _window_spans(axis, k, stride, padding)
        for axis, k in zip(spans, kernel, strict=True)
    )


def _window_spans(axis: Spans, kernel: int, stride: int, padding: int) -> Spans:
    """Output unit o of a window (conv, pool) reads units o*stride - padding + t, t < kernel."""
    first, last = axis
    n = first.size
    n_out = (n + 2 * padding - kernel) // stride + 1
    taps = np.arange(n_out)[:, None] * stride - padding + np.arange(kernel)
    inside = (taps >= 0) & (taps < n)
    clipped = np.clip(taps, 0, n - 1)
    big = np.iinfo(np.int64).max
    return (
        np.where(inside, first[clipped], big).min(axis=1),
        np.where(inside, last[clipped], -big).max(axis=1),
    )


def _transposed_window(axis: Spans, kernel: int, stride: int, padding: int) -> Spans:
    """Output unit o of a transposed conv gets input units i with i*stride - padding + t = o."""
    first, last = axis
    n = first.size
    n_out = (n - 1) * stride - 2 * padding + kernel
    sources = np.arange(n)[:, None] * stride - padding + np.arange(kernel)
    big = np.iinfo(np.int64).max
    lo, hi = np.full(n_out, big), np.full(n_out, -big)
    inside = (sources >= 0) & (sources < n_out)
    units = np.broadcast_to(np.arange(n)[:, None], sources.shape)
    np.minimum.at(lo, sources[inside], first[units[inside]])
    np.maximum.at(hi, sources[inside], last[units[inside]])
    return lo, hi


def _join_spans(skip: tuple[Spans, Spans], up: tuple[Spans, Spans]) -> tuple[Spans, Spans]:
    """A concatenation along the channels: each unit sees what either path saw."""
    return tuple(
        (np.minimum(a[0], b[0]), np.maximum(a[1], b[1])) for a, b in zip(skip, up, strict=True)
    )
