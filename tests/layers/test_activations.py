"""Activations: numerical gradients, PyTorch agreement, stability at extreme inputs, dtypes."""

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from assertions import assert_close
from hypothesis import given, settings
from scipy.special import expit
from strategies import float_arrays, seeds, small_shapes

from tinyvision.gradient_check import eval_numerical_gradient_array
from tinyvision.layers import (
    bce_with_logits_loss,
    elu_backward,
    elu_forward,
    gelu_backward,
    gelu_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)

# Centred differences (h = 1e-5) of these smooth pieces on O(1) inputs: error ~1e-10.
GRAD_RTOL, GRAD_ATOL = 1e-7, 1e-9
# Against torch: relative 1e-10, plus an absolute floor of 1e-14. The floor is needed because
# torch evaluates GELU as 0.5 x (1 + erf(x / sqrt 2)) and tanh' as 1 - tanh^2, which cancel
# catastrophically in the tails: there both sides agree to ~1e-16 absolutely but not relatively.
# The tails themselves are checked relatively against math.erfc below.
TORCH_RTOL = 1e-10
TORCH_ATOL = 1e-14

# name -> (our forward taking only x, our backward, the torch reference)
ACTIVATIONS = {
    "relu": (relu_forward, relu_backward, F.relu),
    "leaky_relu": (
        lambda x: leaky_relu_forward(x, negative_slope=0.1),
        leaky_relu_backward,
        lambda t: F.leaky_relu(t, negative_slope=0.1),
    ),
    "sigmoid": (sigmoid_forward, sigmoid_backward, torch.sigmoid),
    "tanh": (tanh_forward, tanh_backward, torch.tanh),
    "elu": (lambda x: elu_forward(x, alpha=1.5), elu_backward, lambda t: F.elu(t, alpha=1.5)),
    "gelu": (gelu_forward, gelu_backward, F.gelu),
    "gelu_tanh": (
        lambda x: gelu_forward(x, approximate="tanh"),
        gelu_backward,
        lambda t: F.gelu(t, approximate="tanh"),
    ),
}


def away_from_kinks(rng, shape):
    """Normal samples at least 1e-3 from 0, so centred differences never straddle a kink."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 1e-3, 0.5, x)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_backward_matches_numerical_gradient(name):
    forward, backward, _ = ACTIVATIONS[name]
    rng = np.random.default_rng(0)
    x = away_from_kinks(rng, (5, 7)) * 2
    dout = rng.standard_normal((5, 7))
    _, cache = forward(x)
    dx = backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda _: forward(x)[0], x, dout)
    assert_close(dx, dx_num, rtol=GRAD_RTOL, atol=GRAD_ATOL, name=f"{name} dx")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_matches_torch_forward_and_backward(name):
    forward, backward, reference = ACTIVATIONS[name]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 9)) * 4
    dout = rng.standard_normal((8, 9))
    out, cache = forward(x)
    dx = backward(dout, cache)

    xt = torch.tensor(x, requires_grad=True)
    out_t = reference(xt)
    out_t.backward(torch.tensor(dout))
    assert_close(out, out_t.detach().numpy(), rtol=TORCH_RTOL, atol=TORCH_ATOL, name=f"{name}")
    assert_close(dx, xt.grad.numpy(), rtol=TORCH_RTOL, atol=TORCH_ATOL, name=f"{name} dx")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_preserves_dtype_and_shape(name, dtype):
    forward, backward, _ = ACTIVATIONS[name]
    x = np.random.default_rng(2).standard_normal((3, 2, 4)).astype(dtype)
    out, cache = forward(x)
    dx = backward(np.ones_like(out), cache)
    assert out.dtype == dtype and dx.dtype == dtype
    assert out.shape == x.shape and dx.shape == x.shape


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_are_finite_and_warning_free(name, dtype):
    forward, backward, _ = ACTIVATIONS[name]
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = forward(x)
        dx = backward(np.ones_like(x), cache)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))


def test_sigmoid_saturates_to_exact_limits():
    out, _ = sigmoid_forward(np.array([-1000.0, 0.0, 1000.0]))
    assert out[0] == 0.0 and out[1] == 0.5 and out[2] == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_at_plus_minus_1000_is_exact_and_warning_free(dtype):
    x = np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = sigmoid(x)
    assert out.dtype == dtype
    assert out[0] == 0.0 and out[2] == 0.5 and out[4] == 1.0
    np.testing.assert_allclose(out[[1, 3]], expit(x[[1, 3]].astype(np.float64)), rtol=1e-6)


def test_sigmoid_matches_scipy_expit_in_float64():
    # Down to sigmoid(-700) ~ 1e-304: normal floats, where scipy does not flush to zero.
    x = np.linspace(-700, 700, 5601)
    np.testing.assert_allclose(sigmoid(x), expit(x), rtol=1e-15, atol=0)


def test_sigmoid_of_integers_is_float64_not_truncated():
    out = sigmoid(np.array([-2, 0, 2]))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, expit([-2.0, 0.0, 2.0]), rtol=1e-15)


def test_one_sigmoid_serves_the_lstm_and_the_logistic_loss():
    from tinyvision.layers import recurrent

    # The LSTM gates use this very function (the course's rnn_layers re-exports it) ...
    assert recurrent.sigmoid is sigmoid
    # ... and bce_with_logits_loss's gradient is (sigmoid(x) - y) / size, exact at +-1000.
    x = np.array([1000.0, -1000.0, 1000.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, dx = bce_with_logits_loss(x, np.array([0.0, 1.0, 1.0, 0.0]))
    assert np.array_equal(dx, [0.25, -0.25, 0.0, 0.125])


def test_gelu_matches_math_erf_over_a_wide_range():
    # The exact GELU hinges on our vectorised erf: compare it with the standard library's,
    # densely, including both tails where erf/erfc switch formulas.
    x = np.linspace(-12, 12, 4801)
    expected = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    out, _ = gelu_forward(x)
    assert np.max(np.abs(out - expected)) < 1e-14
    tail = x < -3
    assert np.max(np.abs(out[tail] - expected[tail]) / np.abs(expected[tail])) < 1e-12


def test_gelu_matches_torch_in_the_tails():
    x = np.concatenate([np.linspace(-30, -2, 57), np.linspace(2, 30, 57)])
    xt = torch.tensor(x, requires_grad=True)
    F.gelu(xt).sum().backward()
    out, cache = gelu_forward(x)
    dx = gelu_backward(np.ones_like(x), cache)
    assert_close(out, F.gelu(xt).detach().numpy(), rtol=TORCH_RTOL, atol=TORCH_ATOL, name="gelu")
    assert_close(dx, xt.grad.numpy(), rtol=TORCH_RTOL, atol=TORCH_ATOL, name="gelu dx")


def test_gelu_gradient_matches_closed_form_in_the_tails():
    x = np.linspace(-30, -3, 28)
    _, cache = gelu_forward(x)
    dx = gelu_backward(np.ones_like(x), cache)
    expected = [
        0.5 * math.erfc(-v / math.sqrt(2)) + v * math.exp(-v * v / 2) / math.sqrt(2 * math.pi)
        for v in x
    ]
    assert np.max(np.abs(dx - expected) / np.abs(expected)) < 1e-9


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match=r"approximate must be one of \('none', 'tanh'\)"):
        gelu_forward(np.zeros(3), approximate="erf")


def test_leaky_relu_default_slope_is_one_hundredth():
    out, _ = leaky_relu_forward(np.array([-2.0, 3.0]))
    assert np.array_equal(out, [-0.02, 3.0])


def test_elu_default_alpha_saturates_at_minus_one():
    out, _ = elu_forward(np.array([-1000.0, 2.0]))
    assert np.array_equal(out, [-1.0, 2.0])


# ---------------------------------------------------------------- properties, any shape

# Scalar float64 definitions written from the formulas with the math module, independent of
# the layers' vectorised (and overflow-guarded) NumPy code.
REFERENCES = {
    "relu": lambda v: max(v, 0.0),
    "leaky_relu": lambda v: v if v > 0 else 0.1 * v,
    "sigmoid": lambda v: 1 / (1 + math.exp(-v)),
    "tanh": math.tanh,
    "elu": lambda v: v if v > 0 else 1.5 * math.expm1(v),
    "gelu": lambda v: 0.5 * v * math.erfc(-v / math.sqrt(2)),
    "gelu_tanh": lambda v: (
        0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3)))
    ),
}
# float64: a few roundings, plus an absolute floor for the tails where the values (and torch's
# and our formulas) vanish. float32: its 6e-8 epsilon, and the cancellation in 1 + tanh(...)
# of the tanh GELU, about |x| * 6e-8 absolute.
FORWARD_TOL = {np.dtype(np.float64): (1e-12, 1e-14), np.dtype(np.float32): (1e-5, 1e-6)}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@settings(max_examples=20, deadline=None)
@given(x=float_arrays(bound=50.0))
def test_forward_matches_a_float64_reference_on_any_shape(name, x):
    forward, _, _ = ACTIVATIONS[name]
    out, _ = forward(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    expected = np.vectorize(REFERENCES[name], otypes=[np.float64])(x.astype(np.float64))
    rtol, atol = FORWARD_TOL[x.dtype]
    assert_close(out, expected, rtol=rtol, atol=atol, name=f"{name} of {x.dtype}")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@settings(max_examples=15, deadline=None)
@given(shape=small_shapes(max_dims=3), seed=seeds)
def test_backward_matches_numerical_gradient_on_any_shape(name, shape, seed):
    forward, backward, _ = ACTIVATIONS[name]
    rng = np.random.default_rng(seed)
    # Up to |x| ~ 12, where the saturating functions' slopes are ~1e-6 or smaller.
    x = away_from_kinks(rng, shape) * 3
    dout = rng.standard_normal(shape)
    _, cache = forward(x)
    dx = backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda _: forward(x)[0], x, dout)
    assert_close(dx, dx_num, rtol=GRAD_RTOL, atol=GRAD_ATOL, name=f"{name} dx")
