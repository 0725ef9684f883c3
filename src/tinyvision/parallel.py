"""Run the memory-bound array copies of the fast layers on several cores.

BLAS spreads the matrix multiplies over the cores, but NumPy copies, transposes and strided
additions run on one core, and in the im2col convolution they take about as long as the
multiplies. NumPy releases the GIL inside these loops, so splitting an operation along an axis
of independent slices and handing the slices to a few threads uses the other cores. Every slice
is written by exactly one thread, so results are bit-for-bit those of the one-thread loop.

`set_num_threads(n)` chooses the number of threads (default: the number of CPUs, at most 4);
`num_threads()` reads it. The CLI's `--threads` sets it together with the BLAS threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["copy_in_slices", "num_threads", "run_in_slices", "set_num_threads"]

# Below this many elements a thread hand-off costs more than the copy it would share.
MIN_PARALLEL_SIZE = 1 << 17

_num_threads = max(1, min(os.cpu_count() or 1, 4))
_executor: ThreadPoolExecutor | None = None


def set_num_threads(n: int) -> None:
    """Use n >= 1 threads for the copies of the fast layers (1: no threading)."""
    global _num_threads, _executor
    if int(n) != n or n < 1:
        raise ValueError(f"the number of threads must be an integer >= 1, got {n!r}")
    if int(n) != _num_threads and _executor is not None:
        _executor.shutdown(wait=True)
        _executor = None
    _num_threads = int(n)


def num_threads() -> int:
    """The number of threads the fast layers' copies use."""
    return _num_threads


def run_in_slices(work: Callable[[slice], object], length: int, size: int) -> None:
    """Call work(slice) on consecutive slices covering range(length), in parallel when worth it.

    work: writes the part of its output selected by the slice (along one axis of length
        `length`); slices never overlap, so the threads never write the same element
    length: the size of the axis being split
    size: the number of elements the whole operation touches, to skip threading small work
    """
    global _executor
    parts = min(_num_threads, length)
    if parts < 2 or size < MIN_PARALLEL_SIZE:
        work(slice(0, length))
        return
    if _executor is None:
        _executor = ThreadPoolExecutor(_num_threads, thread_name_prefix="tinyvision")
    bounds = [length * i // parts for i in range(parts + 1)]
    futures = [
        _executor.submit(work, slice(start, stop))
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    for future in futures:
        future.result()


def copy_in_slices(dst: np.ndarray, src: np.ndarray, axis: int = 0) -> np.ndarray:
    """dst[...] = src (same shape, any strides), split along axis over the threads; returns dst."""
    index = [slice(None)] * dst.ndim

    def copy(part: slice) -> None:
        index_part = (*index[:axis], part)
        np.copyto(dst[index_part], src[index_part])

    run_in_slices(copy, dst.shape[axis], dst.size)
    return dst
