"""Tests for tinyvision.layers.attention: softmax, multi-head attention, the feed-forward block
and positional encodings, against numerical gradients (float64: rtol 1e-7, atol 1e-10 unless
stated) and against PyTorch (forward and autograd backward: rtol 1e-10, atol 1e-12)."""

import math

import numpy as np
import pytest
import torch
from assertions import assert_close
from hypothesis import given, settings
from strategies import attention_cases, attention_mask
from threadpoolctl import threadpool_limits

from tinyvision.gradient_check import eval_numerical_gradient_array
from tinyvision.layers.attention import (
    dropout_p_backward,
    dropout_p_forward,
    feedforward_backward,
    feedforward_forward,
    linear_backward,
    linear_forward,
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
GRAD = {"rtol": 1e-7, "atol": 1e-10}
TORCH = {"rtol": 1e-10, "atol": 1e-12}


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
    assert_close(out, expected, rtol=1e-12, atol=1e-14, name="out")
    big, _ = softmax_forward(x + 1000.0)
    assert_close(big, expected, rtol=1e-10, atol=1e-12, name="softmax of x + 1000")


def test_masked_softmax_zeroes_masked_entries_and_survives_fully_masked_rows():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4))
    mask = np.array([[True, False, True, False], [False, False, False, False], [True] * 4])
    out, _ = softmax_forward(x, mask)
    assert np.all(np.isfinite(out))
    assert np.all(out[:, ~mask] == 0)
    assert_close(out[:, [0, 2]].sum(axis=-1), 1.0, rtol=1e-12, name="row sums")
    # Masked entries behave like -inf scores: same as the softmax over the allowed ones.
    allowed = x[:, 0, [0, 2]]
    expected = np.exp(allowed) / np.exp(allowed).sum(axis=-1, keepdims=True)
    assert_close(out[:, 0, [0, 2]], expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("use_mask", [False, True])
def test_softmax_matches_torch_softmax_of_minus_inf_filled_scores(use_mask):
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 3, 5)) * 2
    mask = np.tril(np.ones((3, 5), dtype=bool), k=1) if use_mask else None
    dout = rng.standard_normal(x.shape)
    out, cache = softmax_forward(x, mask)
    xt = torch.tensor(x, requires_grad=True)
    scores = xt if mask is None else xt.masked_fill(torch.from_numpy(~mask), -math.inf)
    out_t = torch.softmax(scores, dim=-1)
    out_t.backward(torch.from_numpy(dout))
    assert_close(out, out_t.detach().numpy(), **TORCH, name="out")
    assert_close(softmax_backward(dout, cache), xt.grad.numpy(), **TORCH, name="dx")


@pytest.mark.parametrize("use_mask", [False, True])
def test_softmax_backward_matches_numerical_gradient(use_mask):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 5))
    mask = rng.random((3, 5)) < 0.6 if use_mask else None
    dout = rng.standard_normal(x.shape)
    _, cache = softmax_forward(x, mask)
    dx = softmax_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda _: softmax_forward(x, mask)[0], x, dout)
    assert_close(dx, dx_num, **GRAD, name="dx")


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
            assert_close(grad, 0.0, rtol=0, atol=1e-12, name=name)
            assert_close(numeric[name], 0.0, rtol=0, atol=1e-8, name=f"numerical {name}")
        else:
            assert_close(grad, numeric[name], **GRAD, name=name)


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
    assert_close(dropped[kept], 2 * plain_cache.probs_cache[kept], rtol=1e-15, name="kept")


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


def torch_attention(params, num_heads):
    """torch.nn.MultiheadAttention (float64, no dropout) holding our parameters."""
    E = params["Wq"].shape[0]
    mha = torch.nn.MultiheadAttention(
        E, num_heads, dropout=0.0, batch_first=True, dtype=torch.float64
    )
    with torch.no_grad():
        mha.in_proj_weight.copy_(
            torch.from_numpy(np.concatenate([params["Wq"].T, params["Wk"].T, params["Wv"].T]))
        )
        mha.in_proj_bias.copy_(
            torch.from_numpy(np.concatenate([params[n] for n in "bq bk bv".split()]))
        )
        mha.out_proj.weight.copy_(torch.from_numpy(params["Wp"].T))
        mha.out_proj.bias.copy_(torch.from_numpy(params["bp"]))
    return mha


def torch_mask(mask):
    """torch's boolean attn_mask marks the *forbidden* positions; ours marks the allowed ones."""
    return None if mask is None else torch.from_numpy(np.asarray(mask) == 0)


@pytest.mark.parametrize("use_mask", [False, True])
def test_attention_matches_torch_multihead_attention(use_mask):
    rng = np.random.default_rng(6)
    N, S, T, E, H = 3, 4, 5, 8, 2
    query, key, value, params = attention_inputs(rng, N, S, T, E)
    mask = np.tril(np.ones((S, T)), k=1) if use_mask else None
    dout = rng.standard_normal((N, S, E))
    out, cache = multihead_attention_forward(query, key, value, params, H, mask)
    dquery, dkey, dvalue, grads = multihead_attention_backward(dout, cache)

    mha = torch_attention(params, H)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (query, key, value))
    tout, _ = mha(tq, tk, tv, attn_mask=torch_mask(mask), need_weights=False)
    (tout * torch.from_numpy(dout)).sum().backward()

    assert_close(out, tout.detach().numpy(), **TORCH, name="out")
    assert_close(dquery, tq.grad.numpy(), **TORCH, name="dquery")
    assert_close(dkey, tk.grad.numpy(), **TORCH, name="dkey")
    assert_close(dvalue, tv.grad.numpy(), **TORCH, name="dvalue")
    d_in_w = mha.in_proj_weight.grad.numpy()
    d_in_b = mha.in_proj_bias.grad.numpy()
    for i, (w, b) in enumerate((("Wq", "bq"), ("Wk", "bk"), ("Wv", "bv"))):
        assert_close(grads[w], d_in_w[i * E : (i + 1) * E].T, **TORCH, name=w)
        assert_close(grads[b], d_in_b[i * E : (i + 1) * E], **TORCH, name=b)
    assert_close(grads["Wp"], mha.out_proj.weight.grad.numpy().T, **TORCH, name="Wp")
    assert_close(grads["bp"], mha.out_proj.bias.grad.numpy(), **TORCH, name="bp")


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
    assert_close(dq + dk + dv, numeric, **GRAD, name="dq + dk + dv")


@settings(max_examples=20, deadline=None)
@given(attention_cases())
def test_attention_matches_torch_and_numerical_gradients_on_random_shapes(case):
    rng = np.random.default_rng(case.seed)
    query, key, value, params = attention_inputs(rng, case.N, case.S, case.T, case.E)
    mask = attention_mask(case.mask, case.S, case.T, rng)
    kwargs = dict(num_heads=case.num_heads, attn_mask=mask)
    out, cache = multihead_attention_forward(query, key, value, params, **kwargs)
    mha = torch_attention(params, case.num_heads)
    tensors = (torch.from_numpy(a) for a in (query, key, value))
    expected, _ = mha(*tensors, attn_mask=torch_mask(mask), need_weights=False)
    assert_close(out, expected.detach().numpy(), **TORCH, name="out")

    dout = rng.standard_normal(out.shape)
    dquery, dkey, dvalue, grads = multihead_attention_backward(dout, cache)
    analytic = {"query": dquery, "key": dkey, "value": dvalue, **grads}
    numeric = numerical_attention_grads(query, key, value, params, dout, **kwargs)
    # Centred differences of O(1) smooth maps: ~1e-10 absolute. The key bias's gradient is 0
    # (it shifts a query's scores equally), numerically ~1e-11: the atol covers it.
    for name, grad in analytic.items():
        assert_close(grad, numeric[name], rtol=1e-6, atol=1e-8, name=name)


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
        assert_close(out, expected, rtol=1e-12, atol=1e-14, name="out")
    assert_close(dx, eval_numerical_gradient_array(f, x, dout), **GRAD, name="dx")
    for name, value in params.items():
        assert_close(grads[name], eval_numerical_gradient_array(f, value, dout), **GRAD, name=name)


def test_linear_matches_torch_linear_with_the_weight_transposed():
    rng = np.random.default_rng(13)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((2, 3, 5))
    out, cache = linear_forward(x, w, b)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w.T.copy(), b))
    out_t = torch.nn.functional.linear(xt, wt, bt)
    out_t.backward(torch.from_numpy(dout))
    assert_close(out, out_t.detach().numpy(), **TORCH, name="out")
    dx, dw, db = linear_backward(dout, cache)
    assert_close(dx, xt.grad.numpy(), **TORCH, name="dx")
    assert_close(dw, wt.grad.numpy().T, **TORCH, name="dw")
    assert_close(db, bt.grad.numpy(), **TORCH, name="db")


def test_dropout_p_matches_torch_dropout_on_the_mask_torch_drew():
    """Both take the drop probability; neither takes the other's draws, so our backward runs on
    torch's mask, and each side's forward scales its kept units by 1 / (1 - dropout_p)."""
    rng = np.random.default_rng(14)
    x = rng.uniform(0.5, 2.0, size=(3, 4, 10))
    dout = rng.standard_normal(x.shape)
    torch.manual_seed(15)
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.functional.dropout(xt, p=0.3, training=True)
    out_t.backward(torch.from_numpy(dout))
    kept_t = out_t.detach().numpy() != 0
    assert 0 < kept_t.mean() < 1
    _, cache = dropout_p_forward(x, 0.3, "train", seed=0)
    torch_cache = (cache[0], kept_t / 0.7)
    assert_close(dropout_p_backward(dout, torch_cache), xt.grad.numpy(), **TORCH, name="dx")
    out, _ = dropout_p_forward(x, 0.3, "train", seed=0)
    kept = out != 0
    assert_close(out[kept] / x[kept], 1 / 0.7, **TORCH, name="our scale")
    assert_close(out_t.detach().numpy()[kept_t] / x[kept_t], 1 / 0.7, rtol=1e-6, name="torch's")
    np.testing.assert_array_equal(dropout_p_forward(x, 0.3, "test")[0], x)


@pytest.mark.parametrize("dropout_p", [0.0, 0.4])
def test_feedforward_matches_torch_on_the_same_dropout_mask(dropout_p):
    rng = np.random.default_rng(16)
    E, F = 4, 6
    x = rng.standard_normal((2, 3, E))
    params = {
        "W1": rng.standard_normal((E, F)),
        "b1": rng.standard_normal(F),
        "W2": rng.standard_normal((F, E)),
        "b2": rng.standard_normal(E),
    }
    dout = rng.standard_normal(x.shape)
    out, cache = feedforward_forward(x, params, dropout_p, "train", seed=5)
    dx, grads = feedforward_backward(dout, cache)

    xt = torch.tensor(x, requires_grad=True)
    p = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}
    hidden = torch.relu(torch.nn.functional.linear(xt, p["W1"].T, p["b1"]))
    if dropout_p:
        hidden = hidden * torch.from_numpy(cache[2][1])  # the scaled mask ours drew
    out_t = torch.nn.functional.linear(hidden, p["W2"].T, p["b2"])
    out_t.backward(torch.from_numpy(dout))
    assert_close(out, out_t.detach().numpy(), **TORCH, name="out")
    assert_close(dx, xt.grad.numpy(), **TORCH, name="dx")
    for name, tensor in p.items():
        assert_close(grads[name], tensor.grad.numpy(), **TORCH, name=name)


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
