"""Input checks for the public boundary: say what was expected, what came, and how to fix it.

Every check raises ValueError with one message shape, `{name} must be {expected}, got {value!r}
({type})`, followed by the caller's hint when it gave one, and returns the value converted
(an int or a float) so a constructor can store what the check returns.

The array checks (`check_labels`, `check_all_finite`, `check_float_array`, ...) also start
their messages with the argument's name and say where the offending value is. They cost one
pass or less over the array (labels: one min and one max), so a loss can run them on every
minibatch without slowing training.
"""

from __future__ import annotations

import math
from typing import Any, NoReturn

import numpy as np

__all__ = [
    "check_all_finite",
    "check_finite",
    "check_float_array",
    "check_in_range",
    "check_int",
    "check_labels",
    "check_non_negative",
    "check_non_negative_int",
    "check_positive",
    "check_positive_int",
    "check_probability",
    "check_same_length",
]


def _fail(name: str, expected: str, value: Any, hint: str | None = None) -> NoReturn:
    """Raise the ValueError every scalar check raises: name, expectation, value and its type."""
    message = f"{name} must be {expected}, got {value!r} ({type(value).__name__})"
    raise ValueError(f"{message}; {hint}" if hint else message)


def _is_real(value: Any) -> bool:
    """True for Python and NumPy ints and floats; bools are flags, not numbers."""
    return not isinstance(value, (bool, np.bool_)) and isinstance(
        value, (int, float, np.integer, np.floating)
    )


def check_int(
    value: Any,
    name: str,
    minimum: int | None = None,
    *,
    allow_none: bool = False,
    allow_float: bool = False,
    hint: str | None = None,
) -> int | None:
    """Return value as an int >= minimum, or raise ValueError.

    value: the argument to check; bools are rejected
    name: the argument's name, used in the message
    minimum: smallest allowed value, or None for no lower bound
    allow_none: accept None (and return it)
    allow_float: accept an integral float such as 3.0
    hint: how to fix it, appended to the message
    returns int(value), or None when value is None and allow_none
    """
    if value is None and allow_none:
        return None
    if minimum == 1:
        expected = "a positive integer"
    elif minimum == 0:
        expected = "a non-negative integer"
    elif minimum is None:
        expected = "an integer"
    else:
        expected = f"an integer >= {minimum}"
    if allow_none:
        expected += " or None"
    integral = _is_real(value) and (
        isinstance(value, (int, np.integer))
        or (allow_float and math.isfinite(value) and float(value).is_integer())
    )
    if not integral or (minimum is not None and value < minimum):
        _fail(name, expected, value, hint)
    return int(value)


def check_positive_int(
    value: Any,
    name: str,
    *,
    allow_none: bool = False,
    allow_float: bool = False,
    hint: str | None = None,
) -> int | None:
    """Return value as an int >= 1 (a size or a count), or raise ValueError; see check_int."""
    return check_int(value, name, 1, allow_none=allow_none, allow_float=allow_float, hint=hint)


def check_non_negative_int(
    value: Any,
    name: str,
    *,
    allow_none: bool = False,
    allow_float: bool = False,
    hint: str | None = None,
) -> int | None:
    """Return value as an int >= 0 (a padding, a seed), or raise ValueError; see check_int."""
    return check_int(value, name, 0, allow_none=allow_none, allow_float=allow_float, hint=hint)


def check_in_range(
    value: Any,
    name: str,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
    hint: str | None = None,
) -> float:
    """Return value as a finite float in the interval from low to high, or raise ValueError.

    value: the argument to check, a Python or NumPy real number (not a bool)
    name: the argument's name, used in the message
    low, high: the bounds; an infinite bound means no bound on that side
    low_open, high_open: exclude the bound itself (low < value rather than low <= value)
    hint: how to fix it, appended to the message
    returns float(value)
    """
    if math.isinf(low) and math.isinf(high):
        expected = "a finite number"
    elif math.isinf(high):
        expected = f"a finite number {'>' if low_open else '>='} {low:g}"
    elif math.isinf(low):
        expected = f"a finite number {'<' if high_open else '<='} {high:g}"
    else:
        expected = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if not _is_real(value):
        _fail(name, expected, value, hint)
    v = float(value)
    above_low = low < v if low_open else low <= v
    below_high = v < high if high_open else v <= high
    if not (math.isfinite(v) and above_low and below_high):
        _fail(name, expected, value, hint)
    return v


def check_finite(value: Any, name: str, *, hint: str | None = None) -> float:
    """Return value as a float, or raise ValueError if it is not a finite real number."""
    return check_in_range(value, name, hint=hint)


def check_non_negative(value: Any, name: str, *, hint: str | None = None) -> float:
    """Return value as a float, or raise ValueError unless it is finite and >= 0 (e.g. reg)."""
    return check_in_range(value, name, 0.0, hint=hint)


def check_positive(value: Any, name: str, *, hint: str | None = None) -> float:
    """Return value as a float, or raise ValueError unless it is finite and > 0."""
    return check_in_range(value, name, 0.0, low_open=True, hint=hint)


def check_probability(
    value: Any,
    name: str,
    *,
    allow_zero: bool = True,
    allow_one: bool = True,
    hint: str | None = None,
) -> float:
    """Return value as a float in [0, 1], or raise ValueError.

    allow_zero, allow_one: whether the end points are allowed; a keep probability, for
        instance, is in (0, 1] and a momentum in [0, 1)
    """
    return check_in_range(
        value, name, 0.0, 1.0, low_open=not allow_zero, high_open=not allow_one, hint=hint
    )


def check_float_array(x: np.ndarray, name: str, ndim: int | tuple[int, ...]) -> np.ndarray:
    """Return x as a floating array, or raise ValueError naming the expected dimensions."""
    x = np.asarray(x)
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if x.ndim not in allowed:
        raise ValueError(
            f"{name} must have {' or '.join(map(str, allowed))} dimensions, got shape {x.shape}"
        )
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x


def _position(index: int, shape: tuple[int, ...]) -> int | tuple[int, ...]:
    """A flat index as the position a user would write: an int for 1-d, else a tuple."""
    if len(shape) == 1:
        return int(index)
    return tuple(int(i) for i in np.unravel_index(index, shape))


def check_labels(
    y: Any,
    num_classes: int | None = None,
    name: str = "y",
    *,
    num_examples: int | None = None,
    examples_name: str = "X",
    ndim: int = 1,
    hint: str | None = None,
) -> np.ndarray:
    """Return y as an int64 array of class indices in [0, num_classes), or raise ValueError.

    Cheap enough for every minibatch: besides the shape and dtype, one min and one max over y
    (the position of a bad label is searched only when there is one).
    y: the labels, an integer array with ndim dimensions ((N,) by default); bools and floats
        are refused, even whole-number floats, because a float label is usually a mistake
        upstream (convert with y.astype(np.int64) when it is not)
    num_classes: C; None checks only that labels are >= 0
    name: the argument's name, used in the messages
    num_examples: N, the number of examples y must label (the rows of X or of the scores),
        or None not to check it
    examples_name: what holds the num_examples examples, named in the message ("X", "x")
    ndim: the number of dimensions y must have (2 for (N, T) sequence targets)
    hint: how to fix a label outside [0, num_classes), appended to that message
    returns y as int64 (the same array when it already is)
    """
    y = np.asarray(y)
    if y.ndim != ndim:
        expected = "a 1-d vector (N,)" if ndim == 1 else f"a {ndim}-d array"
        message = f"{name} must be {expected} of integer class indices, got shape {y.shape}"
        if ndim == 1 and y.ndim == 2 and 1 in y.shape:
            message += f"; flatten it with {name}.ravel()"
        raise ValueError(message)
    if y.size and y.dtype.kind not in "iu":  # signed or unsigned integers
        raise ValueError(
            f"{name} must hold integer class indices, got dtype {y.dtype}; labels are class "
            f"numbers 0, 1, ..., C - 1 (convert whole-number floats with "
            f"{name}.astype(np.int64))"
        )
    if num_examples is not None and y.shape[0] != num_examples:
        raise ValueError(
            f"{name} has {y.shape[0]} labels but {examples_name} has {num_examples} examples; "
            "they must match, one label per example"
        )
    y = y.astype(np.int64, copy=False)
    if not y.size:
        return y
    expected = (
        "labels must be in [0, num_classes)"
        if num_classes is None
        else f"labels must be in [0, {num_classes})"
    )
    low = y.min()
    if low < 0:
        where = _position(int(np.argmin(y)), y.shape)
        message = f"{name} holds the label {low} (at index {where}); {expected}"
        raise ValueError(f"{message}; {hint}" if hint else message)
    if num_classes is not None:
        high = y.max()
        if high >= num_classes:
            where = _position(int(np.argmax(y)), y.shape)
            message = (
                f"{name} holds the label {high} but there are only {num_classes} classes "
                f"(at index {where}); {expected}"
            )
            raise ValueError(f"{message}; {hint}" if hint else message)
    return y


def check_all_finite(x: Any, name: str, *, hint: str | None = None) -> np.ndarray:
    """Return x as an array, or raise ValueError naming the first NaN or infinite element.

    One sum over x decides (NaN and inf propagate through it, so a finite sum means every
    element is finite); only when the sum is not finite are the elements searched, which also
    tells a real NaN/inf from finite values whose sum overflowed.
    x: an array of any shape; integer and bool arrays are finite by construction
    name: the argument's name, used in the message
    hint: how to fix it, appended to the message
    """
    x = np.asarray(x)
    if x.size == 0 or not np.issubdtype(x.dtype, np.inexact):
        return x
    with np.errstate(over="ignore", invalid="ignore"):
        total = x.sum()
    if np.isfinite(total):
        return x
    bad = np.flatnonzero(~np.isfinite(x.ravel()))
    if bad.size:
        where = _position(int(bad[0]), x.shape)
        message = (
            f"{name} must hold finite numbers, got {x.flat[bad[0]]} at index {where} "
            f"({bad.size} non-finite value{'s' if bad.size > 1 else ''} in all)"
        )
        raise ValueError(f"{message}; {hint}" if hint else message)
    return x


def check_same_length(x: np.ndarray, y: np.ndarray, x_name: str = "X", y_name: str = "y") -> None:
    """Raise ValueError when x and y do not describe the same number of examples."""
    if len(x) != len(y):
        raise ValueError(
            f"{x_name} has {len(x)} examples but {y_name} has {len(y)}; they must match"
        )
