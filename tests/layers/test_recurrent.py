"""Recurrent layers: numerical gradients (float64) and PyTorch forward/backward agreement.

Bounds: rel_error < 1e-7 against centred differences (inputs are O(1) and tanh/sigmoid keep
everything well-conditioned); max |difference| < 1e-10 against PyTorch float64.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tinyvision.gradient_check import eval_numerical_gradient_array, rel_error
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

NUM_TOL = 1e-7
TORCH_TOL = 1e-10


def _t(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def _close(ours, theirs):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert np.max(np.abs(ours - theirs)) < TORCH_TOL


def _num_grads(f, arrays, dout):
    """Numerical gradient of sum(f() * dout) with respect to each array (perturbed in place)."""
    return [eval_numerical_gradient_array(lambda _: f(), a, dout) for a in arrays]


# ------------------------------------------------------------------------------- sigmoid


def test_sigmoid_no_overflow_and_matches_definition():
    x = np.array([-1000.0, -50.0, -1.0, 0.0, 2.0, 50.0, 1000.0])
    out = sigmoid(x)
    assert out[0] == 0.0 and out[-1] == 1.0 and out[3] == 0.5
    moderate = x[1:-1]
    np.testing.assert_allclose(out[1:-1], 1 / (1 + np.exp(-moderate)), rtol=1e-15)
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
    for ours, num in zip(grads, expected, strict=True):
        assert rel_error(ours, num) < NUM_TOL


def test_rnn_forward_equals_repeated_steps():
    rng = np.random.default_rng(1)
    x, h0, Wx, Wh, b = _rnn_inputs(rng)
    h, _ = rnn_forward(x, h0, Wx, Wh, b)
    prev = h0
    for t in range(x.shape[1]):
        prev, _ = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        np.testing.assert_allclose(h[:, t], prev, rtol=0, atol=1e-14)


def test_rnn_backward_matches_numerical():
    rng = np.random.default_rng(2)
    x, h0, Wx, Wh, b = _rnn_inputs(rng)
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    dh = rng.standard_normal(h.shape)
    grads = rnn_backward(dh, cache)
    expected = _num_grads(lambda: rnn_forward(x, h0, Wx, Wh, b)[0], [x, h0, Wx, Wh, b], dh)
    for ours, num in zip(grads, expected, strict=True):
        assert rel_error(ours, num) < NUM_TOL


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
    for ours, tensor in zip(grads, (x, h0, Wx, Wh, b), strict=True):
        _close(ours, tensor.grad)


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
    for ours, num in zip(grads, expected, strict=True):
        assert rel_error(ours, num) < NUM_TOL


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
    for ours, theirs in zip((dWx, dWh, db), _torch_param_grads(cell), strict=True):
        _close(ours, theirs)


def test_lstm_forward_equals_repeated_steps():
    rng = np.random.default_rng(7)
    x, h0, Wx, Wh, b = _lstm_inputs(rng)
    h, _ = lstm_forward(x, h0, Wx, Wh, b)
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(x.shape[1]):
        prev_h, prev_c, _ = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        np.testing.assert_allclose(h[:, t], prev_h, rtol=0, atol=1e-14)


def test_lstm_backward_matches_numerical():
    rng = np.random.default_rng(8)
    x, h0, Wx, Wh, b = _lstm_inputs(rng)
    h, cache = lstm_forward(x, h0, Wx, Wh, b)
    dh = rng.standard_normal(h.shape)
    grads = lstm_backward(dh, cache)
    expected = _num_grads(lambda: lstm_forward(x, h0, Wx, Wh, b)[0], [x, h0, Wx, Wh, b], dh)
    for ours, num in zip(grads, expected, strict=True):
        assert rel_error(ours, num) < NUM_TOL


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
    for ours, theirs in zip((dWx, dWh, db), _torch_param_grads(cell), strict=True):
        _close(ours, theirs)


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
    assert rel_error(dW, expected) < NUM_TOL


def test_temporal_affine_matches_numerical_and_torch():
    rng = np.random.default_rng(12)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    out, cache = temporal_affine_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    grads = temporal_affine_backward(dout, cache)
    expected = _num_grads(lambda: temporal_affine_forward(x, w, b)[0], [x, w, b], dout)
    for ours, num in zip(grads, expected, strict=True):
        assert rel_error(ours, num) < NUM_TOL

    tensors = [_t(a) for a in (x, w, b)]
    out_torch = tensors[0] @ tensors[1] + tensors[2]
    (out_torch * torch.from_numpy(dout)).sum().backward()
    _close(out, out_torch)
    for ours, tensor in zip(grads, tensors, strict=True):
        _close(ours, tensor.grad)


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
    assert abs(loss - loss_torch.item()) < TORCH_TOL
    _close(dx, xt.grad)
    assert np.all(dx[~mask] == 0)


def test_temporal_softmax_loss_gradient_is_numerical():
    rng = np.random.default_rng(14)
    x, y, mask = _softmax_case(rng)
    _, dx = temporal_softmax_loss(x, y, mask)
    expected = eval_numerical_gradient_array(
        lambda _: np.array(temporal_softmax_loss(x, y, mask)[0]), x, np.array(1.0)
    )
    assert rel_error(dx, expected) < NUM_TOL


def test_temporal_softmax_loss_is_stable_and_keeps_dtype():
    rng = np.random.default_rng(15)
    x, y, mask = _softmax_case(rng)
    shifted = x + 1e4
    loss, dx = temporal_softmax_loss(x, y, mask)
    loss_big, dx_big = temporal_softmax_loss(shifted, y, mask)
    assert np.isfinite(loss_big)
    assert abs(loss - loss_big) < 1e-9
    np.testing.assert_allclose(dx_big, dx, atol=1e-9)
    loss32, dx32 = temporal_softmax_loss(x.astype(np.float32), y, mask)
    assert dx32.dtype == np.float32
    assert loss32 == pytest.approx(loss, rel=1e-5)


def test_temporal_softmax_loss_uniform_scores_give_log_v_per_unmasked_step():
    N, T, V = 3, 4, 10
    mask = np.zeros((N, T), dtype=bool)
    mask[:, :2] = True
    loss, _ = temporal_softmax_loss(np.zeros((N, T, V)), np.zeros((N, T), dtype=int), mask)
    assert loss == pytest.approx(2 * np.log(V))
