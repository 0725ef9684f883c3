"""Tests for tinyvision.layers.attention: softmax, multi-head attention, the feed-forward block
and positional encodings, against numerical gradients (float64, rel_error < 1e-7 unless stated)
and against PyTorch (forward and autograd backward, rel_error < 1e-10)."""

import math

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from tinyvision.gradient_check import eval_numerical_gradient_array, rel_error
from tinyvision.layers.attention import (
    feedforward_backward,
    feedforward_forward,
    multihead_attention_backward,
    multihead_attention_forward,
    positional_encoding,
    softmax_backward,
    softmax_forward,
)


@pytest.fixture(autouse=True)
def single_threaded_blas():
    """These matrices are tiny: multithreaded BLAS on a shared machine only adds contention."""
    with threadpool_limits(limits=1):
        yield


ATTENTION_NAMES = ("Wq", "bq", "Wk", "bk", "Wv", "bv", "Wp", "bp")


def attention_inputs(rng, N=2, S=3, T=4, E=6):
    query = rng.standard_normal((N, S, E))
    key = rng.standard_normal((N, T, E))
    value = rng.standard_normal((N, T, E))
    params = {
        name: rng.standard_normal((E, E) if name.startswith("W") else (E,)) * 0.5
        for name in ATTENTION_NAMES
    }
    return query, key, value, params


# ----------------------------------------------------------------------------- softmax


def test_softmax_matches_definition_and_is_shift_stable():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 5)) * 3
    out, _ = softmax_forward(x)
    expected = np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)
    assert rel_error(out, expected) < 1e-12
    big, _ = softmax_forward(x + 1000.0)
    assert rel_error(big, expected) < 1e-10


def test_masked_softmax_zeroes_masked_entries_and_survives_fully_masked_rows():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4))
    mask = np.array([[True, False, True, False], [False, False, False, False], [True] * 4])
    out, _ = softmax_forward(x, mask)
    assert np.all(np.isfinite(out))
    assert np.all(out[:, ~mask] == 0)
    np.testing.assert_allclose(out[:, [0, 2]].sum(axis=-1), 1.0)
    # Masked entries behave like -inf scores: same as the softmax over the allowed ones.
    allowed = x[:, 0, [0, 2]]
    expected = np.exp(allowed) / np.exp(allowed).sum(axis=-1, keepdims=True)
    assert rel_error(out[:, 0, [0, 2]], expected) < 1e-12


@pytest.mark.parametrize("use_mask", [False, True])
def test_softmax_backward_matches_numerical_gradient(use_mask):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 5))
    mask = rng.random((3, 5)) < 0.6 if use_mask else None
    dout = rng.standard_normal(x.shape)
    _, cache = softmax_forward(x, mask)
    dx = softmax_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda _: softmax_forward(x, mask)[0], x, dout)
    assert rel_error(dx, dx_num) < 1e-7


# --------------------------------------------------------------------- multi-head attention


def numerical_attention_grads(query, key, value, params, dout, **kwargs):
    def f(_):
        return multihead_attention_forward(query, key, value, params, **kwargs)[0]

    grads = {
        "query": eval_numerical_gradient_array(f, query, dout),
        "key": eval_numerical_gradient_array(f, key, dout),
        "value": eval_numerical_gradient_array(f, value, dout),
    }
    for name in ATTENTION_NAMES:
        grads[name] = eval_numerical_gradient_array(f, params[name], dout)
    return grads


@pytest.mark.parametrize(
    "mask_kind, dropout_p", [("none", 0.0), ("causal", 0.0), ("partial", 0.0), ("causal", 0.3)]
)
def test_attention_backward_matches_numerical_gradients(mask_kind, dropout_p):
    rng = np.random.default_rng(3)
    query, key, value, params = attention_inputs(rng)
    S, T = query.shape[1], key.shape[1]
    masks = {
        "none": None,
        "causal": np.tril(np.ones((S, T))),
        # Row 0 may attend nothing: it must give finite outputs and gradients.
        "partial": np.array([[0, 0, 0, 0], [1, 0, 1, 0], [1, 1, 0, 1]]),
    }
    kwargs = dict(
        num_heads=2, attn_mask=masks[mask_kind], dropout_p=dropout_p, mode="train", seed=11
    )
    dout = rng.standard_normal(query.shape)
    out, cache = multihead_attention_forward(query, key, value, params, **kwargs)
    assert np.all(np.isfinite(out))
    dquery, dkey, dvalue, grads = multihead_attention_backward(dout, cache)
    analytic = {"query": dquery, "key": dkey, "value": dvalue, **grads}
    numeric = numerical_attention_grads(query, key, value, params, dout, **kwargs)
    for name, grad in analytic.items():
        assert grad.shape == numeric[name].shape, name
        if name == "bk":
            # A key bias shifts every score of a query by the same amount; softmax ignores it.
            np.testing.assert_allclose(grad, 0, atol=1e-12)
            np.testing.assert_allclose(numeric[name], 0, atol=1e-8)
        else:
            assert rel_error(grad, numeric[name]) < 1e-7, name


def test_attention_dropout_is_seeded_and_off_in_test_mode():
    rng = np.random.default_rng(4)
    query, key, value, params = attention_inputs(rng)
    args = (query, key, value, params, 2)
    train_a, cache = multihead_attention_forward(*args, dropout_p=0.5, mode="train", seed=5)
    train_b, _ = multihead_attention_forward(*args, dropout_p=0.5, mode="train", seed=5)
    plain, plain_cache = multihead_attention_forward(*args, dropout_p=0.0)
    test, _ = multihead_attention_forward(*args, dropout_p=0.5, mode="test", seed=5)
    np.testing.assert_array_equal(train_a, train_b)
    np.testing.assert_array_equal(test, plain)
    assert not np.allclose(train_a, plain)
    dropped = cache.dropped_probs
    kept = dropped != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(dropped[kept], 2 * plain_cache.probs_cache[kept])


def test_attention_preserves_float32():
    rng = np.random.default_rng(5)
    query, key, value, params = attention_inputs(rng)
    cast = {k: v.astype(np.float32) for k, v in params.items()}
    out, cache = multihead_attention_forward(
        query.astype(np.float32), key.astype(np.float32), value.astype(np.float32), cast, 3,
        np.tril(np.ones((3, 4))),
    )  # fmt: skip
    grads = multihead_attention_backward(np.ones_like(out), cache)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads[:3])
    assert all(g.dtype == np.float32 for g in grads[3].values())


@pytest.mark.parametrize("use_mask", [False, True])
def test_attention_matches_torch_multihead_attention(use_mask):
    rng = np.random.default_rng(6)
    N, S, T, E, H = 3, 4, 5, 8, 2
    query, key, value, params = attention_inputs(rng, N, S, T, E)
    mask = np.tril(np.ones((S, T)), k=1) if use_mask else None
    dout = rng.standard_normal((N, S, E))
    out, cache = multihead_attention_forward(query, key, value, params, H, mask)
    dquery, dkey, dvalue, grads = multihead_attention_backward(dout, cache)

    mha = torch.nn.MultiheadAttention(E, H, dropout=0.0, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(
            torch.from_numpy(np.concatenate([params["Wq"].T, params["Wk"].T, params["Wv"].T]))
        )
        mha.in_proj_bias.copy_(
            torch.from_numpy(np.concatenate([params[n] for n in "bq bk bv".split()]))
        )
        mha.out_proj.weight.copy_(torch.from_numpy(params["Wp"].T))
        mha.out_proj.bias.copy_(torch.from_numpy(params["bp"]))
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (query, key, value))
    # torch's boolean attn_mask marks the *forbidden* positions; ours marks the allowed ones.
    torch_mask = None if mask is None else torch.from_numpy(mask == 0)
    tout, _ = mha(tq, tk, tv, attn_mask=torch_mask, need_weights=False)
    (tout * torch.from_numpy(dout)).sum().backward()

    assert rel_error(out, tout.detach().numpy()) < 1e-10
    assert rel_error(dquery, tq.grad.numpy()) < 1e-10
    assert rel_error(dkey, tk.grad.numpy()) < 1e-10
    assert rel_error(dvalue, tv.grad.numpy()) < 1e-10
    d_in_w = mha.in_proj_weight.grad.numpy()
    d_in_b = mha.in_proj_bias.grad.numpy()
    for i, (w, b) in enumerate((("Wq", "bq"), ("Wk", "bk"), ("Wv", "bv"))):
        assert rel_error(grads[w], d_in_w[i * E : (i + 1) * E].T) < 1e-10, w
        np.testing.assert_allclose(grads[b], d_in_b[i * E : (i + 1) * E], atol=1e-12)
    assert rel_error(grads["Wp"], mha.out_proj.weight.grad.numpy().T) < 1e-10
    assert rel_error(grads["bp"], mha.out_proj.bias.grad.numpy()) < 1e-10


def test_self_attention_gradient_is_the_sum_of_the_three_inputs():
    rng = np.random.default_rng(7)
    x, _, _, params = attention_inputs(rng, S=4, T=4)
    dout = rng.standard_normal(x.shape)
    mask = np.tril(np.ones((4, 4)))
    _, cache = multihead_attention_forward(x, x, x, params, 3, mask)
    dq, dk, dv, _ = multihead_attention_backward(dout, cache)
    numeric = eval_numerical_gradient_array(
        lambda _: multihead_attention_forward(x, x, x, params, 3, mask)[0], x, dout
    )
    assert rel_error(dq + dk + dv, numeric) < 1e-7


# ------------------------------------------------------------------------ feed-forward


@pytest.mark.parametrize("dropout_p", [0.0, 0.4])
def test_feedforward_backward_matches_numerical_gradients(dropout_p):
    rng = np.random.default_rng(8)
    E, F = 4, 7
    x = rng.standard_normal((2, 3, E))
    params = {
        "W1": rng.standard_normal((E, F)),
        "b1": rng.standard_normal(F),
        "W2": rng.standard_normal((F, E)),
        "b2": rng.standard_normal(E),
    }
    dout = rng.standard_normal(x.shape)

    def f(_):
        return feedforward_forward(x, params, dropout_p, "train", seed=3)[0]

    out, cache = feedforward_forward(x, params, dropout_p, "train", seed=3)
    dx, grads = feedforward_backward(dout, cache)
    expected = np.maximum(x @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"]
    if dropout_p == 0:
        assert rel_error(out, expected) < 1e-12
    assert rel_error(dx, eval_numerical_gradient_array(f, x, dout)) < 1e-7
    for name, value in params.items():
        assert rel_error(grads[name], eval_numerical_gradient_array(f, value, dout)) < 1e-7


# ------------------------------------------------------------------ positional encoding


def test_positional_encoding_matches_the_course_formula():
    L, E = 7, 6
    pe = positional_encoding(L, E)
    assert pe.shape == (L, E)
    for i in range(L):
        for j in range(E):
            if j % 2 == 0:
                expected = math.sin(i * 10000 ** (-j / E))
            else:
                expected = math.cos(i * 10000 ** (-(j - 1) / E))
            assert pe[i, j] == pytest.approx(expected, abs=1e-14)
    assert positional_encoding(L, E, np.float32).dtype == np.float32


def test_positional_encoding_rejects_odd_embed_dim():
    with pytest.raises(ValueError, match="even"):
        positional_encoding(5, 3)
