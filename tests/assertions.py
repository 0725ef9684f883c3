"""assert_close: the tests' one array comparison, with a failure message that says where.

np.testing.assert_allclose reports only the largest differences, and `assert rel_error(a, b) <
tol` reports nothing; a failing gradient check should say which element, which shape and how
far off, so the reader can tell a wrong index from rounding noise.
"""

from __future__ import annotations

import numpy as np


def assert_close(actual, expected, *, rtol: float, atol: float = 0.0, name: str = "") -> None:
    """Assert |actual - expected| <= atol + rtol * |expected| at every element.

    actual: array-like, the value under test
    expected: array-like of actual's shape (or a scalar, compared with every element), the oracle
    rtol: relative tolerance, against |expected| only (as in np.testing.assert_allclose)
    atol: absolute tolerance, 0 by default; give one wherever expected may be (near) zero
    name: what is compared, e.g. "dx", shown in the message
    NaNs must be in the same places in both; infinities must match exactly. On failure raises
    AssertionError naming the worst element (the largest error relative to its allowance): its
    index, both values, the absolute and relative error, how many elements fail, and both shapes
    and dtypes.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this function's
    a, e = np.asarray(actual), np.asarray(expected)
    label = f" ({name})" if name else ""
    shapes = f"actual shape {a.shape} dtype {a.dtype}, expected shape {e.shape} dtype {e.dtype}"
    if a.shape != e.shape and e.ndim != 0:
        raise AssertionError(f"assert_close{label}: shapes differ: {shapes}")
    a64 = a.astype(np.float64)
    e64 = np.broadcast_to(e, a.shape).astype(np.float64)
    # inf - inf, 0 * inf and x / 0 are expected here; the masks below handle them.
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        error = np.abs(a64 - e64)
        allowed = atol + rtol * np.abs(e64)
        same_special = (np.isnan(a64) & np.isnan(e64)) | (np.isinf(a64) & (a64 == e64))
        finite = np.isfinite(a64) & np.isfinite(e64)
        good = ((error <= allowed) & finite) | same_special
        if good.all():
            return
        # How many allowances each failing element is off by; NaN or inf errors are the worst.
        excess = np.where(np.isfinite(error), error / allowed, np.inf)
    excess = np.where(good, -1.0, np.nan_to_num(excess, nan=np.inf))
    index = np.unravel_index(int(np.argmax(excess)), a.shape)
    got, want, err = float(a64[index]), float(e64[index]), float(error[index])
    rel = err / abs(want) if want != 0 else float("inf")
    position = tuple(int(i) for i in index)
    raise AssertionError(
        f"assert_close{label}: {np.count_nonzero(~good)} of {a.size} elements differ by more "
        f"than atol + rtol * |expected| (rtol={rtol:g}, atol={atol:g})\n"
        f"  worst at index {position}: actual {got!r}, expected {want!r}, "
        f"abs error {err:.3g}, rel error {rel:.3g}\n"
        f"  {shapes}"
    )
