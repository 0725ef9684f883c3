"""Hypothesis strategies shared by the property tests: sizes, layer geometry and seeds.

Most strategies draw only the shape of a case and a seed; the test then makes its data with
np.random.default_rng(seed), so it can choose a distribution that suits its check (away from
ReLU kinks, tie-free for max pooling, bounded for a numerical gradient). `float_arrays` draws
the values too, for forward checks where hypothesis's favourite values (0, -0.0, the bounds,
repeats) are worth hitting.

Property tests keep their example counts small, `@settings(max_examples=20..40,
deadline=None)`: each example runs real layers (and often a numerical gradient), and the whole
suite has to stay fast.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

# Seeds for np.random.default_rng and for the course's np.random.seed (which needs < 2**32).
seeds = st.integers(0, 2**32 - 1)
float_dtypes = st.sampled_from([np.float32, np.float64])


def small_shapes(min_dims: int = 1, max_dims: int = 4, max_side: int = 5) -> st.SearchStrategy:
    """Array shapes with 1..max_side elements per axis (odd sizes and length-1 axes included)."""
    return array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


@st.composite
def float_arrays(draw, bound: float = 50.0, dtype=None, max_side: int = 5) -> np.ndarray:
    """A float32 or float64 array of a small shape, values in [-bound, bound] drawn by hypothesis.

    dtype: fix the dtype instead of drawing it
    """
    dtype = draw(float_dtypes) if dtype is None else dtype
    width = 32 if dtype == np.float32 else 64
    elements = st.floats(-bound, bound, width=width, allow_subnormal=False)
    return draw(arrays(dtype, small_shapes(max_side=max_side), elements=elements))


# ------------------------------------------------------------------------------ losses


class LinearProblem(NamedTuple):
    """Sizes of a linear classifier's loss: W (dim, num_classes), X (num_train, dim)."""

    num_train: int
    dim: int
    num_classes: int
    reg: float
    seed: int


@st.composite
def linear_problems(draw) -> LinearProblem:
    """Any small linear-classifier problem, a single example or class pair included."""
    return LinearProblem(
        num_train=draw(st.integers(1, 12)),
        dim=draw(st.integers(1, 9)),
        num_classes=draw(st.integers(2, 6)),
        reg=draw(st.floats(0.0, 5.0)),
        seed=draw(seeds),
    )


@st.composite
def scores_and_labels(draw, bound: float = 50.0) -> tuple[np.ndarray, np.ndarray]:
    """Class scores (N, C) drawn by hypothesis, and labels (N,) in [0, C); N <= 6, 2 <= C <= 6."""
    n, c = draw(st.integers(1, 6)), draw(st.integers(2, 6))
    scores = draw(arrays(np.float64, (n, c), elements=st.floats(-bound, bound)))
    labels = draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n))
    return scores, np.array(labels)


# ------------------------------------------------------------------------ dense layers


class DenseSizes(NamedTuple):
    """A batch of n examples through a layer of d_in inputs and d_out outputs."""

    n: int
    d_in: int
    d_out: int
    seed: int


@st.composite
def dense_sizes(draw, max_n: int = 6, max_d: int = 7) -> DenseSizes:
    return DenseSizes(
        draw(st.integers(1, max_n)), draw(st.integers(1, max_d)), draw(st.integers(1, max_d)),
        draw(seeds),
    )  # fmt: skip


class BatchnormCase(NamedTuple):
    """x of shape (n, d) drawn as standard normal times scale."""

    n: int
    d: int
    scale: float
    seed: int


@st.composite
def batchnorm_cases(draw) -> BatchnormCase:
    """At least two examples (one has no variance), features on scales from 0.1 to 100."""
    return BatchnormCase(
        draw(st.integers(2, 20)), draw(st.integers(1, 10)), draw(st.floats(0.1, 100)), draw(seeds)
    )


# ------------------------------------------------------------------ convolution, pooling


class ConvCase(NamedTuple):
    x_shape: tuple[int, int, int, int]  # (N, C, H, W)
    w_shape: tuple[int, int, int, int]  # (F, C, HH, WW)
    stride: int
    pad: int
    seed: int


@st.composite
def conv_cases(draw) -> ConvCase:
    """A valid convolution: any stride and padding, input sizes that the windows tile exactly."""
    stride = draw(st.integers(1, 3))
    pad = draw(st.sampled_from([0, 1, 3]))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sizes = []
    for k in (kh, kw):
        out_size = draw(st.integers(1, 4))
        # Smallest number of outputs that leaves at least one real (unpadded) pixel.
        while (out_size - 1) * stride + k - 2 * pad < 1:
            out_size += 1
        sizes.append((out_size - 1) * stride + k - 2 * pad)
    n, c, f = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return ConvCase((n, c, *sizes), (f, c, kh, kw), stride, pad, draw(seeds))


class PoolCase(NamedTuple):
    shape: tuple[int, int, int, int]  # (N, C, H, W)
    pool_height: int
    pool_width: int
    stride: int
    with_ties: bool  # small integer data, so windows share their maximum
    seed: int


@st.composite
def pool_cases(draw) -> PoolCase:
    """A valid max pool: half tiling windows (pool == stride), half overlapping or with gaps."""
    ph, pw, stride = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    if draw(st.booleans()):
        pw = stride = ph
    out_h, out_w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    shape = (
        draw(st.integers(1, 2)),
        draw(st.integers(1, 3)),
        (out_h - 1) * stride + ph,
        (out_w - 1) * stride + pw,
    )
    return PoolCase(shape, ph, pw, stride, draw(st.booleans()), draw(seeds))


# --------------------------------------------------------------------- recurrent layers


class RecurrentSizes(NamedTuple):
    """Minibatch N, sequence length T, input width D, hidden width H."""

    N: int
    T: int
    D: int
    H: int
    seed: int


@st.composite
def recurrent_sizes(draw, max_n: int = 3, max_t: int = 4, max_d: int = 4, max_h: int = 4):
    return RecurrentSizes(
        draw(st.integers(1, max_n)),
        draw(st.integers(1, max_t)),
        draw(st.integers(1, max_d)),
        draw(st.integers(1, max_h)),
        draw(seeds),
    )


# ---------------------------------------------------------------------------- attention


class AttentionCase(NamedTuple):
    """query (N, S, E), key and value (N, T, E), num_heads dividing E, a mask kind."""

    N: int
    S: int
    T: int
    E: int
    num_heads: int
    mask: str  # "none", "causal" (tril of (S, T)) or "random" (every query keeps a key)
    seed: int


@st.composite
def attention_cases(draw, max_len: int = 4, max_heads: int = 3, max_head_dim: int = 3):
    num_heads = draw(st.integers(1, max_heads))
    head_dim = draw(st.integers(1, max_head_dim))
    return AttentionCase(
        N=draw(st.integers(1, 2)),
        S=draw(st.integers(1, max_len)),
        T=draw(st.integers(1, max_len)),
        E=num_heads * head_dim,
        num_heads=num_heads,
        mask=draw(st.sampled_from(["none", "causal", "random"])),
        seed=draw(seeds),
    )


def attention_mask(kind: str, S: int, T: int, rng: np.random.Generator) -> np.ndarray | None:
    """The (S, T) mask of an AttentionCase; 1 = may attend. Every query may attend to key 0,
    so no row is fully masked (PyTorch gives NaN there; the course's layer gives zeros)."""
    if kind == "none":
        return None
    mask = np.tril(np.ones((S, T))) if kind == "causal" else rng.integers(0, 2, (S, T))
    mask[:, 0] = 1
    return mask


# ------------------------------------------------------------------------------ dropout


class DropoutCase(NamedTuple):
    """A large (rows, cols) input, the course's keep probability p, a dtype and a seed."""

    shape: tuple[int, int]
    p: float
    dtype: type
    seed: int


@st.composite
def dropout_cases(draw, min_side: int = 200, max_side: int = 300) -> DropoutCase:
    """Inputs of 40,000 to 90,000 units, so the kept fraction is within 0.0025 sd of p."""
    shape = (draw(st.integers(min_side, max_side)), draw(st.integers(min_side, max_side)))
    p = draw(st.one_of(st.just(1.0), st.floats(0.05, 1.0)))
    return DropoutCase(shape, p, draw(float_dtypes), draw(seeds))
