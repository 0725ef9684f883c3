"""The threaded copies of the fast layers: every slice once, and results bit-for-bit unchanged."""

import threading

import numpy as np
import pytest

from tinyvision import parallel
from tinyvision.layers.conv import conv_backward_fast, conv_forward_fast
from tinyvision.layers.pooling import (
    avg_pool_backward,
    avg_pool_forward,
    max_pool_backward_fast,
    max_pool_forward_fast,
)


@pytest.fixture
def always_threaded(monkeypatch):
    """Thread even tiny arrays with 3 threads, and restore the setting afterwards."""
    monkeypatch.setattr(parallel, "MIN_PARALLEL_SIZE", 1)
    before = parallel.num_threads()
    parallel.set_num_threads(3)
    yield
    parallel.set_num_threads(before)


def test_slices_cover_the_axis_once_on_several_threads(always_threaded):
    parts, names = [], set()

    def work(part):
        parts.append(part)
        names.add(threading.current_thread().name)

    parallel.run_in_slices(work, 10, 10)
    assert sorted((p.start, p.stop) for p in parts) == [(0, 3), (3, 6), (6, 10)]
    assert all(name.startswith("tinyvision") for name in names)


def test_small_work_stays_on_the_calling_thread(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_PARALLEL_SIZE", 100)
    calls = []
    parallel.run_in_slices(lambda part: calls.append((part, threading.current_thread())), 4, 99)
    assert calls == [(slice(0, 4), threading.current_thread())]


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_copy_in_slices_copies_strided_views(always_threaded, axis):
    src = np.random.default_rng(0).standard_normal((4, 5, 6)).transpose(2, 0, 1)
    dst = np.empty(src.shape)
    assert parallel.copy_in_slices(dst, src, axis=axis) is dst
    np.testing.assert_array_equal(dst, src)


@pytest.mark.parametrize(
    "x_shape, w_shape, stride, pad",
    [
        ((5, 3, 9, 9), (4, 3, 3, 3), 1, 1),
        ((3, 2, 11, 7), (5, 2, 5, 3), 2, 0),
        # Winograd's F(2x2, 3x3), its transforms split over the threads by channel blocks.
        ((5, 16, 9, 9), (4, 16, 3, 3), 1, 1),
    ],
)
def test_threaded_conv_equals_single_threaded_bit_for_bit(
    always_threaded, x_shape, w_shape, stride, pad
):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    conv_param = {"stride": stride, "pad": pad}
    out, cache = conv_forward_fast(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    grads = conv_backward_fast(dout, cache)
    parallel.set_num_threads(1)
    out_1, cache_1 = conv_forward_fast(x, w, b, conv_param)
    np.testing.assert_array_equal(out, out_1)
    for threaded, single in zip(grads, conv_backward_fast(dout, cache_1), strict=True):
        np.testing.assert_array_equal(threaded, single)


@pytest.mark.parametrize("pool, side", [(1, 13), (2, 12), (3, 13)])
@pytest.mark.parametrize(
    "forward, backward",
    [(max_pool_forward_fast, max_pool_backward_fast), (avg_pool_forward, avg_pool_backward)],
)
def test_threaded_pools_equal_single_threaded_bit_for_bit(
    always_threaded, pool, side, forward, backward
):
    # Rounded values make ties, so the max pool's first-maximum rule is exercised too; pool 3
    # with stride 2 overlaps windows, pool 2 tiles the image, pool 1 leaves gaps.
    x = np.round(np.random.default_rng(2).standard_normal((5, 3, side, side)), 1)
    pool_param = {"pool_height": pool, "pool_width": pool, "stride": 2}
    out, cache = forward(x, pool_param)
    dout = np.random.default_rng(3).standard_normal(out.shape)
    dx = backward(dout, cache)
    parallel.set_num_threads(1)
    out_1, cache_1 = forward(x, pool_param)
    np.testing.assert_array_equal(out, out_1)
    np.testing.assert_array_equal(dx, backward(dout, cache_1))


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_thread_count_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="integer >= 1"):
        parallel.set_num_threads(bad)
