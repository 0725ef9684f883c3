"""Recurrent layers: numerical gradients (float64) and PyTorch forward/backward agreement.

Bounds: rtol 1e-7 (atol 1e-10) against centred differences, whose error is ~1e-10 absolute
here (inputs are O(1) and tanh/sigmoid keep everything well-conditioned); |difference| < 1e-10
against PyTorch float64. The property tests on random sizes allow rtol 1e-6, atol 1e-9.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from assertions import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import recurrent_sizes

from tinyvision.gradient_check import eval_numerical_gradient_array
from tinyvision.layers.recurrent import (
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    sigmoid,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)

NUM = {"rtol": 1e-7, "atol": 1e-10}
TORCH = {"rtol": 0, "atol": 1e-10}


def _t(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def _close(ours, theirs, name=""):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert_close(ours, theirs, **TORCH, name=name)


def _num_grads(f, arrays, dout):
    """Numerical gradient of sum(f() * dout) with respect to each array (perturbed in place)."""
    return [eval_numerical_gradient_array(lambda _: f(), a, dout) for a in arrays]


# ------------------------------------------------------------------------------- sigmoid


def test_sigmoid_no_overflow_and_matches_definition():
    x = np.array([-1000.0, -50.0, -1.0, 0.0, 2.0, 50.0, 1000.0])
    out = sigmoid(x)
    assert out[0] == 0.0 and out[-1] == 1.0 and out[3] == 0.5
    moderate = x[1:-1]
    assert_close(out[1:-1], 1 / (1 + np.exp(-moderate)), rtol=1e-15)
    assert sigmoid(np.array([-1000.0, 3.0], dtype=np.float32)).dtype == np.float32


# ------------------------------------------------------------------------------ vanilla RNN


def _rnn_inputs(rng, N=3, T=4, D=5, H=6):
    return (
        rng.standard_normal((N, T, D)),
        rng.standard_normal((N, H)),
        rng.standard_normal((D, H)) * 0.4,
        rng.standard_normal((H, H)) * 0.4,
        rng.standard_normal(H) * 0.2,
    )


def test_rnn_step_backward_matches_numerical():
    rng = np.random.default_rng(0)
    x, h, Wx, Wh, b = _rnn_inputs(rng)
    x = x[:, 0]
    out, cache = rnn_step_forward(x, h, Wx, Wh, b)
    dnext = rng.standard_normal(out.shape)
    grads = rnn_step_backward(dnext, cache)
    expected = _num_grads(lambda: rnn_step_forward(x, h, Wx, Wh, b)[0], [x, h, Wx, Wh, b], dnext)
    for name, ours, num in zip(("dx", "dprev_h", "dWx", "dWh", "db"), grads, expected, strict=True):
        assert_close(ours, num, **NUM, name=name)


def test_rnn_forward_equals_repeated_steps():
    rng = np.random.default_rng(1)
    x, h0, Wx, Wh, b = _rnn_inputs(rng)
    h, _ = rnn_forward(x, h0, Wx, Wh, b)
    prev = h0
    for t in range(x.shape[1]):
        prev, _ = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        assert_close(h[:, t], prev, rtol=0, atol=1e-14, name=f"h[:, {t}]")


def test_rnn_backward_matches_numerical():
    rng = np.random.default_rng(2)
    x, h0, Wx, Wh, b = _rnn_inputs(rng)
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    dh = rng.standard_normal(h.shape)
    grads = rnn_backward(dh, cache)
    expected = _num_grads(lambda: rnn_forward(x, h0, Wx, Wh, b)[0], [x, h0, Wx, Wh, b], dh)
    for name, ours, num in zip(("dx", "dh0", "dWx", "dWh", "db"), grads, expected, strict=True):
        assert_close(ours, num, **NUM, name=name)


def test_rnn_matches_torch_autograd():
    rng = np.random.default_rng(3)
    arrays = _rnn_inputs(rng)
    h, cache = rnn_forward(*arrays)
    dh = rng.standard_normal(h.shape)
    grads = rnn_backward(dh, cache)

    x, h0, Wx, Wh, b = (_t(a) for a in arrays)
    states, prev = [], h0
    for t in range(x.shape[1]):
        prev = torch.tanh(x[:, t] @ Wx + prev @ Wh + b)
        states.append(prev)
    h_torch = torch.stack(states, dim=1)
    (h_torch * torch.from_numpy(dh)).sum().backward()
    _close(h, h_torch)
    names = ("dx", "dh0", "dWx", "dWh", "db")
    for name, ours, tensor in zip(names, grads, (x, h0, Wx, Wh, b), strict=True):
        _close(ours, tensor.grad, name)


def test_rnn_preserves_float32():
    rng = np.random.default_rng(4)
    arrays = [a.astype(np.float32) for a in _rnn_inputs(rng)]
    h, cache = rnn_forward(*arrays)
    assert h.dtype == np.float32
    assert all(g.dtype == np.float32 for g in rnn_backward(np.ones_like(h), cache))


# ------------------------------------------------------------------------------------ LSTM


def _lstm_inputs(rng, N=3, T=4, D=5, H=4):
    return (
        rng.standard_normal((N, T, D)),
        rng.standard_normal((N, H)),
        rng.standard_normal((D, 4 * H)) * 0.4,
        rng.standard_normal((H, 4 * H)) * 0.4,
        rng.standard_normal(4 * H) * 0.2,
    )


def _to_torch_gate_order(a):
    """Our gate blocks are i, f, o, g along the last axis; torch's are i, f, g, o."""
    i, f, o, g = np.split(a, 4, axis=-1)
    return np.concatenate([i, f, g, o], axis=-1)


def _torch_cell(Wx, Wh, b):
    D, H = Wx.shape[0], Wh.shape[0]
    cell = torch.nn.LSTMCell(D, H, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(_to_torch_gate_order(Wx).T))
        cell.weight_hh.copy_(torch.from_numpy(_to_torch_gate_order(Wh).T))
        cell.bias_ih.copy_(torch.from_numpy(_to_torch_gate_order(b)))
        cell.bias_hh.zero_()
    return cell


def _torch_param_grads(cell):
    # Swapping the last two blocks is its own inverse, so the same map brings grads back.
    return (
        _to_torch_gate_order(cell.weight_ih.grad.numpy().T),
        _to_torch_gate_order(cell.weight_hh.grad.numpy().T),
        _to_torch_gate_order(cell.bias_ih.grad.numpy()),
    )


def test_lstm_step_backward_matches_numerical():
    rng = np.random.default_rng(5)
    x, h, Wx, Wh, b = _lstm_inputs(rng)
    x = x[:, 0]
    c = rng.standard_normal(h.shape)
    next_h, next_c, cache = lstm_step_forward(x, h, c, Wx, Wh, b)
    dh, dc = rng.standard_normal(next_h.shape), rng.standard_normal(next_c.shape)
    grads = lstm_step_backward(dh, dc, cache)

    def both():
        out_h, out_c, _ = lstm_step_forward(x, h, c, Wx, Wh, b)
        return np.stack([out_h, out_c])

    expected = _num_grads(both, [x, h, c, Wx, Wh, b], np.stack([dh, dc]))
    for name, ours, num in zip(
        ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"), grads, expected, strict=True
    ):
        assert_close(ours, num, **NUM, name=name)


def test_lstm_step_matches_torch_lstm_cell():
    rng = np.random.default_rng(6)
    x, h, Wx, Wh, b = _lstm_inputs(rng)
    x = x[:, 0]
    c = rng.standard_normal(h.shape)
    next_h, next_c, cache = lstm_step_forward(x, h, c, Wx, Wh, b)
    dh, dc = rng.standard_normal(next_h.shape), rng.standard_normal(next_c.shape)
    dx, dprev_h, dprev_c, dWx, dWh, db = lstm_step_backward(dh, dc, cache)

    cell = _torch_cell(Wx, Wh, b)
    xt, ht, ct = _t(x), _t(h), _t(c)
    h_torch, c_torch = cell(xt, (ht, ct))
    ((h_torch * torch.from_numpy(dh)).sum() + (c_torch * torch.from_numpy(dc)).sum()).backward()
    _close(next_h, h_torch)
    _close(next_c, c_torch)
    _close(dx, xt.grad)
    _close(dprev_h, ht.grad)
    _close(dprev_c, ct.grad)
    param_grads = zip(("dWx", "dWh", "db"), (dWx, dWh, db), _torch_param_grads(cell), strict=True)
    for name, ours, theirs in param_grads:
        _close(ours, theirs, name)


def test_lstm_forward_equals_repeated_steps():
    rng = np.random.default_rng(7)
    x, h0, Wx, Wh, b = _lstm_inputs(rng)
    h, _ = lstm_forward(x, h0, Wx, Wh, b)
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(x.shape[1]):
        prev_h, prev_c, _ = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        assert_close(h[:, t], prev_h, rtol=0, atol=1e-14, name=f"h[:, {t}]")


def test_lstm_backward_matches_numerical():
    rng = np.random.default_rng(8)
    x, h0, Wx, Wh, b = _lstm_inputs(rng)
    h, cache = lstm_forward(x, h0, Wx, Wh, b)
    dh = rng.standard_normal(h.shape)
    grads = lstm_backward(dh, cache)
    expected = _num_grads(lambda: lstm_forward(x, h0, Wx, Wh, b)[0], [x, h0, Wx, Wh, b], dh)
    for name, ours, num in zip(("dx", "dh0", "dWx", "dWh", "db"), grads, expected, strict=True):
        assert_close(ours, num, **NUM, name=name)


def test_lstm_sequence_matches_torch_lstm_cell():
    rng = np.random.default_rng(9)
    arrays = _lstm_inputs(rng, N=2, T=5, D=3, H=5)
    h, cache = lstm_forward(*arrays)
    dh = rng.standard_normal(h.shape)
    dx, dh0, dWx, dWh, db = lstm_backward(dh, cache)

    x_np, h0_np, Wx, Wh, b = arrays
    cell = _torch_cell(Wx, Wh, b)
    x, h0 = _t(x_np), _t(h0_np)
    prev = (h0, torch.zeros_like(h0))
    states = []
    for t in range(x.shape[1]):
        prev = cell(x[:, t], prev)
        states.append(prev[0])
    h_torch = torch.stack(states, dim=1)
    (h_torch * torch.from_numpy(dh)).sum().backward()
    _close(h, h_torch)
    _close(dx, x.grad)
    _close(dh0, h0.grad)
    param_grads = zip(("dWx", "dWh", "db"), (dWx, dWh, db), _torch_param_grads(cell), strict=True)
    for name, ours, theirs in param_grads:
        _close(ours, theirs, name)


def test_lstm_preserves_float32():
    rng = np.random.default_rng(10)
    arrays = [a.astype(np.float32) for a in _lstm_inputs(rng)]
    h, cache = lstm_forward(*arrays)
    assert h.dtype == np.float32
    assert all(g.dtype == np.float32 for g in lstm_backward(np.ones_like(h), cache))


# ----------------------------------------------------------------- embedding and heads


def test_word_embedding_matches_torch_with_repeated_words():
    rng = np.random.default_rng(11)
    V, D = 6, 4
    W = rng.standard_normal((V, D))
    x = np.array([[0, 3, 3, 5], [3, 1, 0, 0]])
    out, cache = word_embedding_forward(x, W)
    dout = rng.standard_normal(out.shape)
    dW = word_embedding_backward(dout, cache)

    Wt = _t(W)
    out_torch = F.embedding(torch.from_numpy(x), Wt)
    (out_torch * torch.from_numpy(dout)).sum().backward()
    _close(out, out_torch)
    _close(dW, Wt.grad)
    assert np.all(dW[[2, 4]] == 0)
    expected = _num_grads(lambda: word_embedding_forward(x, W)[0], [W], dout)[0]
    assert_close(dW, expected, **NUM, name="dW")


def test_temporal_affine_matches_numerical_and_torch():
    rng = np.random.default_rng(12)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    out, cache = temporal_affine_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    grads = temporal_affine_backward(dout, cache)
    expected = _num_grads(lambda: temporal_affine_forward(x, w, b)[0], [x, w, b], dout)
    for name, ours, num in zip(("dx", "dw", "db"), grads, expected, strict=True):
        assert_close(ours, num, **NUM, name=name)

    tensors = [_t(a) for a in (x, w, b)]
    out_torch = tensors[0] @ tensors[1] + tensors[2]
    (out_torch * torch.from_numpy(dout)).sum().backward()
    _close(out, out_torch)
    for name, ours, tensor in zip(("dx", "dw", "db"), grads, tensors, strict=True):
        _close(ours, tensor.grad, name)


def _softmax_case(rng, N=4, T=5, V=7):
    x = rng.standard_normal((N, T, V))
    y = rng.integers(V, size=(N, T))
    mask = rng.random((N, T)) > 0.4
    return x, y, mask


def test_temporal_softmax_loss_matches_torch_cross_entropy():
    rng = np.random.default_rng(13)
    x, y, mask = _softmax_case(rng)
    loss, dx = temporal_softmax_loss(x, y, mask)
    xt = _t(x)
    per_step = F.cross_entropy(
        xt.reshape(-1, x.shape[2]), torch.from_numpy(y).reshape(-1), reduction="none"
    )
    loss_torch = (per_step * torch.from_numpy(mask.reshape(-1))).sum() / x.shape[0]
    loss_torch.backward()
    _close(loss, loss_torch.item(), name="loss")
    _close(dx, xt.grad, name="dx")
    assert np.all(dx[~mask] == 0)


def test_temporal_softmax_loss_gradient_is_numerical():
    rng = np.random.default_rng(14)
    x, y, mask = _softmax_case(rng)
    _, dx = temporal_softmax_loss(x, y, mask)
    expected = eval_numerical_gradient_array(
        lambda _: np.array(temporal_softmax_loss(x, y, mask)[0]), x, np.array(1.0)
    )
    assert_close(dx, expected, **NUM, name="dx")


def test_temporal_softmax_loss_is_stable_and_keeps_dtype():
    rng = np.random.default_rng(15)
    x, y, mask = _softmax_case(rng)
    shifted = x + 1e4
    loss, dx = temporal_softmax_loss(x, y, mask)
    loss_big, dx_big = temporal_softmax_loss(shifted, y, mask)
    assert np.isfinite(loss_big)
    assert abs(loss - loss_big) < 1e-9
    assert_close(dx_big, dx, rtol=1e-7, atol=1e-9, name="dx of x + 1e4")
    loss32, dx32 = temporal_softmax_loss(x.astype(np.float32), y, mask)
    assert dx32.dtype == np.float32
    assert loss32 == pytest.approx(loss, rel=1e-5)


def test_temporal_softmax_loss_uniform_scores_give_log_v_per_unmasked_step():
    N, T, V = 3, 4, 10
    mask = np.zeros((N, T), dtype=bool)
    mask[:, :2] = True
    loss, _ = temporal_softmax_loss(np.zeros((N, T, V)), np.zeros((N, T), dtype=int), mask)
    assert loss == pytest.approx(2 * np.log(V))


# ------------------------------------------------------- properties, random N, T, D, H

# Centred differences of smooth tanh / sigmoid maps of O(1) values: error ~1e-10 absolute.
GRAD = {"rtol": 1e-6, "atol": 1e-9}


def _torch_rnn_cell(Wx, Wh, b):
    cell = torch.nn.RNNCell(Wx.shape[0], Wx.shape[1], dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(Wx.T))
        cell.weight_hh.copy_(torch.from_numpy(Wh.T))
        cell.bias_ih.copy_(torch.from_numpy(b))
        cell.bias_hh.zero_()
    return cell


def _assert_grads(ours, numerical, names):
    for name, grad, expected in zip(names, ours, numerical, strict=True):
        assert_close(grad, expected, **GRAD, name=name)


@settings(max_examples=20, deadline=None)
@given(recurrent_sizes())
def test_rnn_step_matches_torch_and_numerical_gradients_for_any_sizes(sizes):
    N, _, D, H, seed = sizes
    rng = np.random.default_rng(seed)
    x, h, Wx, Wh, b = _rnn_inputs(rng, N, 1, D, H)
    x = x[:, 0]
    next_h, cache = rnn_step_forward(x, h, Wx, Wh, b)
    expected = _torch_rnn_cell(Wx, Wh, b)(torch.from_numpy(x), torch.from_numpy(h))
    assert_close(next_h, expected.detach().numpy(), **TORCH, name="next_h")
    dnext = rng.standard_normal(next_h.shape)
    arrays = [x, h, Wx, Wh, b]
    numerical = _num_grads(lambda: rnn_step_forward(x, h, Wx, Wh, b)[0], arrays, dnext)
    names = ("dx", "dprev_h", "dWx", "dWh", "db")
    _assert_grads(rnn_step_backward(dnext, cache), numerical, names)


@settings(max_examples=20, deadline=None)
@given(recurrent_sizes())
def test_lstm_step_matches_torch_and_numerical_gradients_for_any_sizes(sizes):
    N, _, D, H, seed = sizes
    rng = np.random.default_rng(seed)
    x, h, Wx, Wh, b = _lstm_inputs(rng, N, 1, D, H)
    x = x[:, 0]
    c = rng.standard_normal(h.shape)
    next_h, next_c, cache = lstm_step_forward(x, h, c, Wx, Wh, b)
    h_torch, c_torch = _torch_cell(Wx, Wh, b)(torch.from_numpy(x), (_t(h), _t(c)))
    assert_close(next_h, h_torch.detach().numpy(), **TORCH, name="next_h")
    assert_close(next_c, c_torch.detach().numpy(), **TORCH, name="next_c")
    dh, dc = rng.standard_normal(next_h.shape), rng.standard_normal(next_c.shape)

    def both():
        out_h, out_c, _ = lstm_step_forward(x, h, c, Wx, Wh, b)
        return np.stack([out_h, out_c])

    numerical = _num_grads(both, [x, h, c, Wx, Wh, b], np.stack([dh, dc]))
    names = ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db")
    _assert_grads(lstm_step_backward(dh, dc, cache), numerical, names)


@settings(max_examples=20, deadline=None)
@given(recurrent_sizes())
def test_temporal_affine_matches_torch_and_numerical_gradients_for_any_sizes(sizes):
    N, T, D, M, seed = sizes
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((N, T, D)), rng.standard_normal((D, M)), rng.standard_normal(M)
    out, cache = temporal_affine_forward(x, w, b)
    expected = F.linear(torch.from_numpy(x), torch.from_numpy(w.T), torch.from_numpy(b))
    assert_close(out, expected.numpy(), **TORCH, name="out")
    dout = rng.standard_normal(out.shape)
    numerical = _num_grads(lambda: temporal_affine_forward(x, w, b)[0], [x, w, b], dout)
    _assert_grads(temporal_affine_backward(dout, cache), numerical, ("dx", "dw", "db"))


@settings(max_examples=15, deadline=None)
@given(recurrent_sizes(), st.sampled_from(["rnn", "lstm"]))
def test_sequences_match_torch_autograd_for_any_sizes(sizes, kind):
    N, T, D, H, seed = sizes
    rng = np.random.default_rng(seed)
    if kind == "rnn":
        arrays = _rnn_inputs(rng, N, T, D, H)
        h, cache = rnn_forward(*arrays)
        cell = _torch_rnn_cell(*arrays[2:])
    else:
        arrays = _lstm_inputs(rng, N, T, D, H)
        h, cache = lstm_forward(*arrays)
        cell = _torch_cell(*arrays[2:])
    dh = rng.standard_normal(h.shape)
    dx, dh0, dWx, dWh, db = (rnn_backward if kind == "rnn" else lstm_backward)(dh, cache)

    x, h0 = _t(arrays[0]), _t(arrays[1])
    state = h0 if kind == "rnn" else (h0, torch.zeros_like(h0))
    states = []
    for t in range(T):
        state = cell(x[:, t], state)
        states.append(state if kind == "rnn" else state[0])
    h_torch = torch.stack(states, dim=1)
    (h_torch * torch.from_numpy(dh)).sum().backward()
    assert_close(h, h_torch.detach().numpy(), **TORCH, name="h")
    assert_close(dx, x.grad.numpy(), **TORCH, name="dx")
    assert_close(dh0, h0.grad.numpy(), **TORCH, name="dh0")
    if kind == "rnn":
        param_grads = (cell.weight_ih.grad.numpy().T, cell.weight_hh.grad.numpy().T)
        param_grads += (cell.bias_ih.grad.numpy(),)
    else:
        param_grads = _torch_param_grads(cell)
    for name, ours, theirs in zip(("dWx", "dWh", "db"), (dWx, dWh, db), param_grads, strict=True):
        assert_close(ours, theirs, **TORCH, name=name)
