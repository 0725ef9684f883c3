"""Tests for tinyvision.transformer_layers: the course's MultiHeadAttention, PositionalEncoding
and TransformerDecoderLayer classes. Numerical gradients in float64 (rel_error < 1e-7 unless
stated) and a PyTorch re-implementation of the course's modules, loaded through
to_torch_state_dict (forward and autograd backward, rel_error < 1e-10)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from tinyvision.gradient_check import eval_numerical_gradient_array, rel_error
from tinyvision.layers.attention import positional_encoding
from tinyvision.transformer_layers import (
    MultiHeadAttention,
    PositionalEncoding,
    TransformerDecoderLayer,
)


@pytest.fixture(autouse=True)
def single_threaded_blas():
    """These matrices are tiny: multithreaded BLAS on a shared machine only adds contention."""
    with threadpool_limits(limits=1):
        yield


# ------------------------------------------------------------ PyTorch reference (course)


def torch_attention(state, prefix, query, key, value, num_heads, attn_mask=None):
    """The course's MultiHeadAttention.forward written with torch ops and its Linear names."""

    def linear(x, name):
        return F.linear(x, state[f"{prefix}{name}.weight"], state[f"{prefix}{name}.bias"])

    N, S, E = query.shape
    T = key.shape[1]
    D = E // num_heads
    q = linear(query, "query").view(N, S, num_heads, D).transpose(1, 2)
    k = linear(key, "key").view(N, T, num_heads, D).transpose(1, 2)
    v = linear(value, "value").view(N, T, num_heads, D).transpose(1, 2)
    scores = q @ k.transpose(2, 3) / D**0.5
    if attn_mask is not None:
        scores = scores.masked_fill(attn_mask == 0, float("-inf"))
    heads = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(N, S, E)
    return linear(heads, "proj")


def torch_decoder_layer(state, tgt, memory, num_heads, tgt_mask):
    """The course's post-norm TransformerDecoderLayer.forward with dropout off."""
    E = tgt.shape[-1]

    def norm(x, i):
        return F.layer_norm(x, (E,), state[f"norm{i}.weight"], state[f"norm{i}.bias"], 1e-5)

    x = norm(tgt + torch_attention(state, "self_attn.", tgt, tgt, tgt, num_heads, tgt_mask), 1)
    x = norm(x + torch_attention(state, "multihead_attn.", x, memory, memory, num_heads), 2)
    hidden = F.relu(F.linear(x, state["linear1.weight"], state["linear1.bias"]))
    return norm(x + F.linear(hidden, state["linear2.weight"], state["linear2.bias"]), 3)


def torch_leaves(state_dict):
    return {k: torch.tensor(v, requires_grad=True) for k, v in state_dict.items()}


def grads_as_torch_names(layer):
    """Our gradients renamed (and transposed) like to_torch_state_dict renames parameters."""
    params = layer.params
    layer.params = layer.grads
    try:
        return layer.to_torch_state_dict()
    finally:
        layer.params = params


def scaled_error(analytic, numeric):
    """Largest absolute difference relative to the largest gradient entry. Element-wise
    rel_error is dominated by finite-difference noise on near-zero entries once three layer
    norms are stacked, so the decoder-layer checks use this instead (bound 3e-8)."""
    return float(np.max(np.abs(analytic - numeric)) / max(np.max(np.abs(numeric)), 1e-12))


def randomise(layer, rng, scale=0.5):
    layer.params = {k: rng.standard_normal(v.shape) * scale for k, v in layer.params.items()}


# -------------------------------------------------------------------- MultiHeadAttention


def test_multihead_attention_class_gradients_and_torch_parity():
    rng = np.random.default_rng(0)
    N, S, T, E, H = 2, 3, 4, 8, 4
    layer = MultiHeadAttention(E, H, dropout=0.0, dtype=np.float64, seed=1)
    randomise(layer, rng)
    query, key, value = (rng.standard_normal((N, L, E)) for L in (S, T, T))
    mask = np.tril(np.ones((S, T)))
    dout = rng.standard_normal((N, S, E))
    out = layer.forward(query, key, value, attn_mask=mask)
    dquery, dkey, dvalue = layer.backward(dout)

    def f(_):
        return layer.forward(query, key, value, attn_mask=mask)

    assert rel_error(dquery, eval_numerical_gradient_array(f, query, dout)) < 1e-7
    assert rel_error(dvalue, eval_numerical_gradient_array(f, value, dout)) < 1e-7
    assert (
        rel_error(layer.grads["Wq"], eval_numerical_gradient_array(f, layer.params["Wq"], dout))
        < 1e-7
    )

    state = torch_leaves(layer.to_torch_state_dict())
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (query, key, value))
    tout = torch_attention(state, "", tq, tk, tv, H, torch.from_numpy(mask))
    (tout * torch.from_numpy(dout)).sum().backward()
    assert rel_error(out, tout.detach().numpy()) < 1e-10
    assert rel_error(dquery, tq.grad.numpy()) < 1e-10
    assert rel_error(dkey, tk.grad.numpy()) < 1e-10
    assert rel_error(dvalue, tv.grad.numpy()) < 1e-10
    ours = grads_as_torch_names(layer)
    for name, tensor in state.items():
        np.testing.assert_allclose(ours[name], tensor.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_multihead_attention_state_dict_round_trip_and_errors():
    layer = MultiHeadAttention(6, 2, seed=0)
    state = layer.to_torch_state_dict()
    assert set(state) == {
        f"{m}.{p}" for m in ("query", "key", "value", "proj") for p in ("weight", "bias")
    }
    other = MultiHeadAttention(6, 2, seed=1)
    other.load_torch_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    for name, value in layer.params.items():
        np.testing.assert_array_equal(other.params[name], value)
        assert other.params[name].dtype == np.float32
    with pytest.raises(ValueError, match="shape"):
        MultiHeadAttention(4, 2).load_torch_state_dict(state)
    with pytest.raises(ValueError, match="no entry"):
        other.load_torch_state_dict({"query.weight": state["query.weight"]})
    with pytest.raises(ValueError, match="multiple of num_heads"):
        MultiHeadAttention(6, 4)
    with pytest.raises(ValueError, match="dropout"):
        MultiHeadAttention(6, 2, dropout=1.0)


def test_multihead_attention_train_eval_and_seeded_dropout():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, 8)).astype(np.float32)
    layer = MultiHeadAttention(8, 2, dropout=0.5, seed=3)
    first, second = layer(x, x, x), layer(x, x, x)
    np.testing.assert_array_equal(first, second)  # a fixed seed reuses the masks
    layer.eval()
    clean = layer(x, x, x)
    layer.seed = None
    np.testing.assert_array_equal(layer(x, x, x), clean)
    layer.train()
    assert not np.allclose(layer(x, x, x), clean)
    assert clean.dtype == np.float32


# -------------------------------------------------------------------- PositionalEncoding


def test_positional_encoding_module_adds_table_and_checks_length():
    rng = np.random.default_rng(4)
    module = PositionalEncoding(6, dropout=0.1, max_len=10, dtype=np.float64)
    assert module.pe.shape == (1, 10, 6)
    np.testing.assert_array_equal(module.pe[0], positional_encoding(10, 6))
    x = rng.standard_normal((2, 4, 6))
    module.eval()
    np.testing.assert_allclose(module(x), x + positional_encoding(4, 6))
    np.testing.assert_array_equal(module.backward(np.ones_like(x)), np.ones_like(x))
    with pytest.raises(ValueError, match="max_len"):
        module(rng.standard_normal((1, 11, 6)))
    with pytest.raises(ValueError, match="even"):
        PositionalEncoding(5)
    np.testing.assert_array_equal(module.to_torch_state_dict()["pe"], module.pe)


def test_positional_encoding_dropout_backward_uses_the_forward_mask():
    rng = np.random.default_rng(5)
    module = PositionalEncoding(8, dropout=0.5, max_len=6, seed=7, dtype=np.float64)
    x = rng.standard_normal((3, 6, 8))
    dout = rng.standard_normal(x.shape)
    module(x)
    dx = module.backward(dout)
    numeric = eval_numerical_gradient_array(lambda _: module(x), x, dout)
    assert rel_error(dx, numeric) < 1e-7
    assert np.any(dx == 0)


# --------------------------------------------------------------- TransformerDecoderLayer


def decoder_setup(dropout=0.0, seed=None):
    rng = np.random.default_rng(6)
    N, S, T, E, H, Fdim = 2, 4, 2, 6, 2, 5
    layer = TransformerDecoderLayer(
        E, H, dim_feedforward=Fdim, dropout=dropout, seed=seed, dtype=np.float64
    )
    randomise(layer, rng)
    tgt = rng.standard_normal((N, S, E))
    memory = rng.standard_normal((N, T, E))
    mask = np.tril(np.ones((S, S)))
    dout = rng.standard_normal((N, S, E))
    return layer, tgt, memory, mask, dout


@pytest.mark.parametrize("dropout, seed", [(0.0, None), (0.3, 9)])
def test_decoder_layer_backward_matches_numerical_gradients(dropout, seed):
    layer, tgt, memory, mask, dout = decoder_setup(dropout, seed)
    layer.forward(tgt, memory, mask)
    dtgt, dmemory = layer.backward(dout)

    def f(_):
        return layer.forward(tgt, memory, tgt_mask=mask)

    errors = {
        "tgt": scaled_error(dtgt, eval_numerical_gradient_array(f, tgt, dout)),
        "memory": scaled_error(dmemory, eval_numerical_gradient_array(f, memory, dout)),
    }
    assert set(layer.grads) == set(layer.params)
    for name, value in layer.params.items():
        numeric = eval_numerical_gradient_array(f, value, dout)
        if name.endswith(".bk"):
            np.testing.assert_allclose(layer.grads[name], 0, atol=1e-12)
        else:
            errors[name] = scaled_error(layer.grads[name], numeric)
    assert max(errors.values()) < 3e-8, errors


def test_decoder_layer_matches_course_torch_layer():
    layer, tgt, memory, mask, dout = decoder_setup()
    out = layer.forward(tgt, memory, mask)
    dtgt, dmemory = layer.backward(dout)

    state = torch_leaves(layer.to_torch_state_dict())
    ttgt, tmem = (torch.tensor(a, requires_grad=True) for a in (tgt, memory))
    tout = torch_decoder_layer(state, ttgt, tmem, layer.num_heads, torch.from_numpy(mask))
    (tout * torch.from_numpy(dout)).sum().backward()
    assert rel_error(out, tout.detach().numpy()) < 1e-10
    assert rel_error(dtgt, ttgt.grad.numpy()) < 1e-10
    assert rel_error(dmemory, tmem.grad.numpy()) < 1e-10
    ours = grads_as_torch_names(layer)
    assert set(ours) == set(state)
    for name, tensor in state.items():
        np.testing.assert_allclose(
            ours[name], tensor.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name
        )


def test_decoder_layer_torch_names_and_round_trip():
    layer = TransformerDecoderLayer(8, 2, dim_feedforward=16, seed=0)
    state = layer.to_torch_state_dict()
    assert state["linear1.weight"].shape == (16, 8)
    assert state["self_attn.query.weight"].shape == (8, 8)
    assert {"norm1.weight", "norm3.bias", "multihead_attn.proj.bias"} <= set(state)
    other = TransformerDecoderLayer(8, 2, dim_feedforward=16, seed=1)
    other.load_torch_state_dict(state)
    for name, value in layer.params.items():
        np.testing.assert_array_equal(other.params[name], value)


def test_decoder_layer_modes_and_bad_arguments():
    rng = np.random.default_rng(7)
    layer = TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.2)
    tgt = rng.standard_normal((2, 3, 8)).astype(np.float32)
    memory = rng.standard_normal((2, 1, 8)).astype(np.float32)
    layer.eval()
    a = layer(tgt, memory)
    np.testing.assert_array_equal(a, layer(tgt, memory))
    assert a.dtype == np.float32
    layer.train()
    assert not np.allclose(layer(tgt, memory), a)
    with pytest.raises(ValueError, match="multiple of num_heads"):
        TransformerDecoderLayer(8, 3)
    with pytest.raises(ValueError, match="dim_feedforward"):
        TransformerDecoderLayer(8, 2, dim_feedforward=0)
