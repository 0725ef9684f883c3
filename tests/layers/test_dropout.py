"""Inverted dropout: keep fraction, expectation, test-mode identity, seeding, backward, dtypes,
and the PyTorch twin (torch.nn.functional.dropout) on the mask torch drew."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from assertions import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import dropout_cases, float_arrays, seeds

from tinyvision.gradient_check import eval_numerical_gradient_array
from tinyvision.layers import dropout_backward, dropout_forward


@pytest.mark.parametrize("p", [0.25, 0.5, 0.9])
def test_train_mode_keeps_about_p_and_scales_kept_units_by_1_over_p(p):
    x = np.random.default_rng(0).uniform(1, 2, size=(500, 400))
    out, _ = dropout_forward(x, {"mode": "train", "p": p, "seed": 123})
    kept = out != 0
    assert abs(kept.mean() - p) < 0.01
    assert_close(out[kept], x[kept] / p, rtol=1e-15, name="kept units")


@pytest.mark.parametrize("p", [0.3, 0.8])
def test_train_mode_preserves_the_expectation(p):
    x = np.random.default_rng(1).uniform(1, 3, size=(400, 500))
    out, _ = dropout_forward(x, {"mode": "train", "p": p, "seed": 7})
    assert abs(out.mean() - x.mean()) / x.mean() < 0.01


def test_test_mode_is_the_identity():
    x = np.random.default_rng(2).standard_normal((10, 20))
    out, cache = dropout_forward(x, {"mode": "test", "p": 0.3})
    assert np.array_equal(out, x)
    dout = np.random.default_rng(3).standard_normal((10, 20))
    assert np.array_equal(dropout_backward(dout, cache), dout)


def test_seed_makes_the_mask_reproducible():
    x = np.random.default_rng(4).standard_normal((30, 40))
    first, _ = dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 42})
    second, _ = dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 42})
    other, _ = dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 43})
    assert np.array_equal(first, second)
    assert not np.array_equal(first, other)


def test_backward_is_the_upstream_gradient_times_the_scaled_mask():
    rng = np.random.default_rng(5)
    x, dout = rng.standard_normal((20, 30)), rng.standard_normal((20, 30))
    out, cache = dropout_forward(x, {"mode": "train", "p": 0.6, "seed": 1})
    dx = dropout_backward(dout, cache)
    kept = out != 0
    assert np.array_equal(dx[~kept], np.zeros(np.count_nonzero(~kept)))
    assert_close(dx[kept], dout[kept] / 0.6, rtol=1e-15, name="dx")


def test_backward_matches_numerical_gradient():
    rng = np.random.default_rng(6)
    x, dout = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))
    param = {"mode": "train", "p": 0.7, "seed": 9}
    _, cache = dropout_forward(x, param)
    dx_num = eval_numerical_gradient_array(lambda _: dropout_forward(x, param)[0], x, dout)
    assert_close(dropout_backward(dout, cache), dx_num, rtol=1e-7, atol=1e-10, name="dx")


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_preserves_dtype(mode, dtype):
    x = np.random.default_rng(7).standard_normal((4, 5)).astype(dtype)
    out, cache = dropout_forward(x, {"mode": mode, "p": 0.5, "seed": 0})
    assert out.dtype == dtype
    assert dropout_backward(np.ones_like(x), cache).dtype == dtype


@pytest.mark.parametrize("param", [{"p": 0.5}, {"p": 0.5, "mode": "eval"}])
def test_rejects_a_missing_or_unknown_mode(param):
    with pytest.raises(ValueError, match=r"must be one of \('train', 'test'\)"):
        dropout_forward(np.zeros(3), param)


@pytest.mark.parametrize("p", [0.0, -0.1, 1.5, None])
def test_rejects_a_missing_keep_probability_or_one_outside_0_1(p):
    param = {"mode": "train"} if p is None else {"mode": "train", "p": p}
    with pytest.raises(ValueError, match=r"probability of keeping a unit and must be in \(0, 1\]"):
        dropout_forward(np.zeros(3), param)


def test_keep_probability_one_is_the_identity_in_train_mode():
    x = np.random.default_rng(8).standard_normal((5, 5))
    out, _ = dropout_forward(x, {"mode": "train", "p": 1.0})
    assert np.array_equal(out, x)


# ---------------------------------------------------------------- properties, any input


@settings(max_examples=20, deadline=None)
@given(dropout_cases())
def test_train_mode_keeps_about_p_of_any_large_input_and_backward_reuses_the_mask(case):
    shape, p, dtype, seed = case
    rng = np.random.default_rng(seed)
    x = rng.uniform(1, 2, size=shape).astype(dtype)  # no zeros, so out == 0 means dropped
    out, cache = dropout_forward(x, {"mode": "train", "p": p, "seed": seed})
    assert out.dtype == dtype and out.shape == x.shape
    kept = out != 0
    # The kept fraction is the mean of x.size Bernoulli(p) draws: within 6 standard deviations
    # (at most 0.015 here; a failure by chance is a one-in-a-billion event).
    assert abs(kept.mean() - p) <= 6 * np.sqrt(p * (1 - p) / x.size) + 1e-12
    rtol = 1e-6 if dtype == np.float32 else 1e-15
    assert_close(out[kept], x[kept].astype(np.float64) / p, rtol=rtol, name="kept units")

    # The backward pass lets dout through exactly where the forward kept a unit, scaled alike.
    dout = rng.standard_normal(shape).astype(dtype)
    dx = dropout_backward(dout, cache)
    assert dx.dtype == dtype
    assert not dx[~kept].any()
    assert_close(dx[kept], dout[kept].astype(np.float64) / p, rtol=rtol, name="dx")


@settings(max_examples=20, deadline=None)
@given(x=float_arrays(), p=st.floats(0.05, 1.0), seed=seeds)
def test_test_mode_is_the_identity_for_any_input(x, p, seed):
    out, cache = dropout_forward(x, {"mode": "test", "p": p, "seed": seed})
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out, x)
    dout = np.random.default_rng(seed).standard_normal(x.shape).astype(x.dtype)
    np.testing.assert_array_equal(dropout_backward(dout, cache), dout)


@pytest.mark.parametrize("p", [0.3, 0.8])
def test_matches_torch_dropout_on_the_mask_torch_drew(p):
    """torch's dropout takes the drop probability 1 - p; given the same mask the two agree.

    Neither side accepts the other's random draws, so the twin runs our backward on the mask torch
    drew (its kept units are where its output is non-zero, x having no zeros) and compares our
    forward's scaling of its own kept units with torch's scaling of its.
    """
    rng = np.random.default_rng(8)
    x = rng.uniform(0.5, 2.0, size=(40, 30)) * rng.choice([-1.0, 1.0], size=(40, 30))
    dout = rng.standard_normal(x.shape)
    torch.manual_seed(9)
    xt = torch.tensor(x, requires_grad=True)
    out_t = F.dropout(xt, p=1 - p, training=True)
    out_t.backward(torch.from_numpy(dout))
    kept_t = out_t.detach().numpy() != 0
    assert 0 < kept_t.mean() < 1

    dropout_param = {"mode": "train", "p": p}
    scaled_mask = kept_t / p
    dx = dropout_backward(dout, (dropout_param, scaled_mask))
    assert_close(dx, xt.grad.numpy(), rtol=1e-15, name="dx on torch's mask")

    out, _ = dropout_forward(x, {**dropout_param, "seed": 0})
    kept = out != 0
    assert_close(out[kept] / x[kept], 1 / p, rtol=1e-15, name="our scale of kept units")
    assert_close(out_t.detach().numpy()[kept_t] / x[kept_t], 1 / p, rtol=1e-6, name="torch's scale")
    out_eval = F.dropout(torch.from_numpy(x), p=1 - p, training=False).numpy()
    np.testing.assert_array_equal(dropout_forward(x, {"mode": "test", "p": p})[0], out_eval)
