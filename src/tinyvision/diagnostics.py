"""Gradient checks of the layer library, runnable from the command line (`tinyvision gradcheck`).

Each check draws small float64 inputs, runs one layer's forward and backward pass, and compares
every analytic gradient with the course's centred differences (`eval_numerical_gradient_array`
of `tinyvision.gradient_check`, h = 1e-5). There is a check for every public `*_backward` of
`tinyvision.layers`, `rnn_layers`, `layers.attention`, `fast_layers` and `layer_utils`, and for
every loss (tests/test_diagnostics.py keeps it that way). Variants whose backward takes another
code path (fast conv at stride 1, overlapping max-pool windows, batch norm in test mode, the tanh
GELU) have a check of their own. Dropout draws its mask from a fixed seed, so every probe of the
numerical gradient sees the same mask; NumPy's global RNG is restored afterwards.

Non-differentiable arguments (labels, word indices, masks, hyperparameters) are fixed constants
of the table below; the gradients are taken with respect to every float argument.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinyvision import layer_utils
from tinyvision import layers as L
from tinyvision.gradient_check import eval_numerical_gradient_array, rel_error
from tinyvision.layers import attention as A
from tinyvision.layers import recurrent as R

__all__ = [
    "GRADIENT_CHECKS",
    "TOLERANCE",
    "ZERO_GRADIENT",
    "GradientCheck",
    "GradientReport",
    "check_layer",
    "gradient_checks",
    "run_gradient_check",
]

# float64 centred differences with h = 1e-5 agree with a correct backward to about 1e-9 on these
# shapes; a wrong formula is off by far more than this.
TOLERANCE = 1e-7
# Some gradients are exactly zero: the bias before a batch norm (the normalisation cancels it) and
# the key bias of attention (softmax ignores a shift of a whole row). Their numerical gradient is
# rounding noise of about 1e-11, which rel_error's 1e-8 floor turns into an error of 1e-3, so below
# this size both gradients are compared by their largest absolute difference instead.
ZERO_GRADIENT = 1e-8


@dataclass(frozen=True)
class GradientCheck:
    """One layer to check.

    make_inputs: rng -> {name: float64 array}, the inputs the gradients are taken with respect to
    forward: (**inputs) -> (out, cache); out is an array, a scalar loss or a tuple of arrays
    backward: (dout, cache) -> one gradient per input, in make_inputs' order (one array when there
        is one input); dout has the structure of out
    covers: the library functions whose gradients this check verifies
    tolerance: largest relative error that passes
    """

    make_inputs: Callable[[np.random.Generator], dict[str, np.ndarray]]
    forward: Callable[..., tuple[Any, Any]]
    backward: Callable[[Any, Any], Any]
    covers: tuple[Callable[..., Any], ...]
    tolerance: float = TOLERANCE


@dataclass(frozen=True)
class GradientReport:
    """How the analytic gradient of one input compares with the numerical one.

    error: rel_error(analytic, numeric), the largest elementwise relative error; for a gradient
        that is zero (both below ZERO_GRADIENT everywhere) the largest absolute difference; inf
        when the backward returned a gradient of the wrong shape
    zero: whether the gradient is zero and error therefore absolute
    """

    layer: str
    input: str
    shape: tuple[int, ...]
    analytic: np.ndarray
    numeric: np.ndarray
    error: float
    zero: bool = False

    def worst(self) -> str:
        """Which element is furthest off and by how much, for a failure message."""
        if self.analytic.shape != self.shape:
            return f"{self.input}: gradient has shape {self.analytic.shape}, input {self.shape}"
        diff = np.abs(self.analytic - self.numeric)
        relative = diff / np.maximum(1e-8, np.abs(self.analytic) + np.abs(self.numeric))
        index = np.unravel_index(int(np.argmax(relative)), self.shape)
        return (
            f"{self.input} {self.shape}: element {tuple(int(i) for i in index)} analytic "
            f"{self.analytic[index]:.6g}, numerical {self.numeric[index]:.6g}"
        )


def _normal(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: rng.standard_normal(shape)


def _inputs(**makers: Callable[[np.random.Generator], np.ndarray]) -> Callable[..., dict]:
    return lambda rng: {name: make(rng) for name, make in makers.items()}


def _pair(make_inputs: Callable[..., dict], forward: Callable, backward: Callable) -> GradientCheck:
    """A check of a library backward that takes (dout, cache) and returns the input gradients."""
    return GradientCheck(make_inputs, forward, backward, (backward,))


def _loss(
    loss: Callable,
    x_shape: tuple[int, ...],
    *constants: np.ndarray,
    make_x: Callable[[np.random.Generator], np.ndarray] | None = None,
) -> GradientCheck:
    """A loss returns (loss, dx): the loss is the output and dx the cache; dx scales by dloss.

    constants: the loss's arguments after x (targets, mask)
    make_x: draws x (default standard normal of x_shape)
    """
    return GradientCheck(
        _inputs(x=make_x or _normal(*x_shape)),
        lambda x: loss(x, *constants),
        lambda dloss, dx: dloss * dx,
        (loss,),
    )


def _conv(stride: int, pad: int) -> dict[str, int]:
    return {"stride": stride, "pad": pad}


def _pool(height: int, width: int, stride: int) -> dict[str, int]:
    return {"pool_height": height, "pool_width": width, "stride": stride}


# Constants of the checks: labels, word indices and masks, with repeats and masked entries.
_LABELS = np.array([0, 2, 1, 3, 2])
_WORDS = np.array([[0, 3, 3], [5, 0, 1]])
_TIME_LABELS = np.array([[1, 0, 3], [2, 2, 0]])
_TIME_MASK = np.array([[True, True, False], [True, False, False]])
_ATTN_MASK = np.tril(np.ones((3, 4)), k=1)  # query i attends to keys 0..i+1
_SOFTMAX_MASK = _ATTN_MASK.astype(bool)
# Labels of a (2, 3, 4) image batch for 3 classes, void (-1) among them.
_PIXEL_LABELS = np.array(
    [[[0, 2, -1, 1], [1, 1, 0, -1], [2, 0, 0, 1]], [[-1, -1, 2, 0], [1, 2, 2, 0], [0, 1, -1, 2]]]
)


def _lstm_step_forward(**inputs: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], Any]:
    next_h, next_c, cache = R.lstm_step_forward(**inputs)
    return (next_h, next_c), cache


def _attention_check(query_len: int, key_len: int, **options: Any) -> GradientCheck:
    """multihead_attention_forward with E = 4 and 2 heads; grads of inputs and every param."""
    params = {
        name: _normal(4, 4) if name[0] == "W" else _normal(4) for name in A.ATTENTION_PARAM_NAMES
    }

    def forward(query, key, value, **weights):
        return A.multihead_attention_forward(query, key, value, weights, 2, **options)

    def backward(dout, cache):
        dquery, dkey, dvalue, grads = A.multihead_attention_backward(dout, cache)
        return (dquery, dkey, dvalue, *(grads[name] for name in A.ATTENTION_PARAM_NAMES))

    make = _inputs(
        query=_normal(2, query_len, 4),
        key=_normal(2, key_len, 4),
        value=_normal(2, key_len, 4),
        **params,
    )
    return GradientCheck(make, forward, backward, (A.multihead_attention_backward,))


def _feedforward_check() -> GradientCheck:
    names = A.FEEDFORWARD_PARAM_NAMES

    def backward(dout, cache):
        dx, grads = A.feedforward_backward(dout, cache)
        return (dx, *(grads[name] for name in names))

    return GradientCheck(
        _inputs(
            x=_normal(2, 3, 4), W1=_normal(4, 6), b1=_normal(6), W2=_normal(6, 4), b2=_normal(4)
        ),
        lambda x, **p: A.feedforward_forward(x, p, dropout_p=0.2, mode="train", seed=0),
        backward,
        (A.feedforward_backward,),
    )


def _norm_relu_check(normalization: str, dropout: bool = False) -> GradientCheck:
    """affine_norm_relu[_dropout] with batch or layer norm; dropout keeps 0.7 with seed 0."""
    make = _inputs(
        x=_normal(6, 2, 2), w=_normal(4, 5), b=_normal(5), gamma=_normal(5), beta=_normal(5)
    )
    param = {"mode": "train"}
    if not dropout:
        return _pair(
            make,
            lambda x, w, b, gamma, beta: layer_utils.affine_norm_relu_forward(
                x, w, b, gamma, beta, dict(param), normalization
            ),
            layer_utils.affine_norm_relu_backward,
        )
    return _pair(
        make,
        lambda x, w, b, gamma, beta: layer_utils.affine_norm_relu_dropout_forward(
            x, w, b, gamma, beta, dict(param), normalization, {"mode": "train", "p": 0.7, "seed": 0}
        ),
        layer_utils.affine_norm_relu_dropout_backward,
    )


def gradient_checks() -> dict[str, GradientCheck]:
    """Every check, by name, in the order of the course (built afresh, reading the layers now)."""
    n = _normal
    x_w_b = _inputs(x=n(4, 2, 3), w=n(6, 5), b=n(5))
    x_gamma_beta = _inputs(x=n(8, 5), gamma=n(5), beta=n(5))
    spatial = _inputs(x=n(3, 3, 3, 4), gamma=n(3), beta=n(3))
    grouped = _inputs(x=n(2, 6, 3, 2), gamma=n(1, 6, 1, 1), beta=n(1, 6, 1, 1))
    images = _inputs(x=n(2, 3, 6, 6))
    conv_inputs = _inputs(x=n(2, 3, 5, 5), w=n(3, 3, 3, 3), b=n(3))
    sequence = _inputs(x=n(2, 3, 4), h0=n(2, 5), Wx=n(4, 5), Wh=n(5, 5), b=n(5))
    bn_test = {"mode": "test", "running_mean": np.linspace(-0.5, 0.5, 5)}
    bn_test["running_var"] = np.linspace(0.5, 2.0, 5)
    return {
        "affine": _pair(x_w_b, L.affine_forward, L.affine_backward),
        "relu": _pair(_inputs(x=n(5, 7)), L.relu_forward, L.relu_backward),
        "leaky_relu": _pair(
            _inputs(x=n(5, 7)), lambda x: L.leaky_relu_forward(x, 0.1), L.leaky_relu_backward
        ),
        "sigmoid": _pair(_inputs(x=n(5, 7)), L.sigmoid_forward, L.sigmoid_backward),
        "tanh": _pair(_inputs(x=n(5, 7)), L.tanh_forward, L.tanh_backward),
        "elu": _pair(_inputs(x=n(5, 7)), lambda x: L.elu_forward(x, 0.7), L.elu_backward),
        "gelu": _pair(_inputs(x=n(5, 7)), L.gelu_forward, L.gelu_backward),
        "gelu_tanh": _pair(
            _inputs(x=n(5, 7)), lambda x: L.gelu_forward(x, "tanh"), L.gelu_backward
        ),
        "svm_loss": _loss(L.svm_loss, (5, 4), _LABELS),
        "softmax_loss": _loss(L.softmax_loss, (5, 4), _LABELS),
        "l1_loss": _loss(L.l1_loss, (3, 4), np.linspace(-1.0, 1.0, 12).reshape(3, 4)),
        "mse_loss": _loss(L.mse_loss, (3, 4), np.linspace(-1.0, 1.0, 12).reshape(3, 4)),
        "bce_loss": _loss(
            L.bce_loss,
            (3, 4),
            np.linspace(0.0, 1.0, 12).reshape(3, 4),
            make_x=lambda rng: rng.uniform(0.1, 0.9, (3, 4)),  # probabilities, away from 0 and 1
        ),
        "bce_with_logits_loss": _loss(
            L.bce_with_logits_loss, (3, 4), np.linspace(0.0, 1.0, 12).reshape(3, 4)
        ),
        "batchnorm": _pair(
            x_gamma_beta,
            lambda x, gamma, beta: L.batchnorm_forward(x, gamma, beta, {"mode": "train"}),
            L.batchnorm_backward,
        ),
        "batchnorm_alt": _pair(
            x_gamma_beta,
            lambda x, gamma, beta: L.batchnorm_forward(x, gamma, beta, {"mode": "train"}),
            L.batchnorm_backward_alt,
        ),
        "batchnorm_test_mode": _pair(
            x_gamma_beta,
            lambda x, gamma, beta: L.batchnorm_forward(x, gamma, beta, dict(bn_test)),
            L.batchnorm_backward,
        ),
        "layernorm": _pair(
            _inputs(x=n(4, 6), gamma=n(6), beta=n(6)),
            lambda x, gamma, beta: L.layernorm_forward(x, gamma, beta, {}),
            L.layernorm_backward,
        ),
        "spatial_batchnorm": _pair(
            spatial,
            lambda x, gamma, beta: L.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"}),
            L.spatial_batchnorm_backward,
        ),
        "spatial_groupnorm": _pair(
            grouped,
            lambda x, gamma, beta: L.spatial_groupnorm_forward(x, gamma, beta, 3, {}),
            L.spatial_groupnorm_backward,
        ),
        "dropout": _pair(
            _inputs(x=n(6, 8)),
            lambda x: L.dropout_forward(x, {"mode": "train", "p": 0.7, "seed": 0}),
            L.dropout_backward,
        ),
        "spatial_dropout": _pair(
            images,
            lambda x: L.spatial_dropout_forward(x, {"mode": "train", "p": 0.6, "seed": 0}),
            L.spatial_dropout_backward,
        ),
        "vanilla_dropout": _pair(
            _inputs(x=n(6, 8)),
            lambda x: L.vanilla_dropout_forward(x, {"mode": "train", "p": 0.7, "seed": 0}),
            L.vanilla_dropout_backward,
        ),
        "vanilla_dropout_test_mode": _pair(
            _inputs(x=n(6, 8)),
            lambda x: L.vanilla_dropout_forward(x, {"mode": "test", "p": 0.7}),
            L.vanilla_dropout_backward,
        ),
        "rrelu": _pair(
            _inputs(x=n(5, 7)),
            lambda x: L.rrelu_forward(x, {"mode": "train", "seed": 0}),
            L.rrelu_backward,
        ),
        "rrelu_test_mode": _pair(
            _inputs(x=n(5, 7)), lambda x: L.rrelu_forward(x, {"mode": "test"}), L.rrelu_backward
        ),
        "maxout": _pair(_inputs(x=n(4, 6)), lambda x: L.maxout_forward(x, 3), L.maxout_backward),
        "maxout_spatial": _pair(
            _inputs(x=n(2, 4, 3, 3)), lambda x: L.maxout_forward(x, 2), L.maxout_backward
        ),
        "instance_norm": _pair(
            spatial,
            lambda x, gamma, beta: L.instance_norm_forward(x, gamma, beta, {}),
            L.instance_norm_backward,
        ),
        "conv": _pair(
            _inputs(x=n(2, 3, 5, 5), w=n(2, 3, 3, 3), b=n(2)),
            lambda x, w, b: L.conv_forward_naive(x, w, b, _conv(2, 1)),
            L.conv_backward_naive,
        ),
        "conv_fast": _pair(
            conv_inputs,
            lambda x, w, b: L.conv_forward_fast(x, w, b, _conv(2, 1)),
            L.conv_backward_fast,
        ),
        "conv_fast_stride1": _pair(
            conv_inputs,
            lambda x, w, b: L.conv_forward_fast(x, w, b, _conv(1, 1)),
            L.conv_backward_fast,
        ),
        # 16 input channels: conv_forward_fast runs Winograd's F(2x2, 3x3); the odd size
        # exercises its border tiles.
        "conv_winograd": _pair(
            _inputs(x=n(1, 16, 3, 3), w=n(2, 16, 3, 3), b=n(2)),
            lambda x, w, b: L.conv_forward_fast(x, w, b, _conv(1, 1)),
            L.conv_backward_fast,
        ),
        "conv_transpose": _pair(
            _inputs(x=n(2, 3, 3, 4), w=n(3, 2, 2, 2), b=n(2)),
            lambda x, w, b: L.conv_transpose_forward(x, w, b, _conv(2, 0)),
            L.conv_transpose_backward,
        ),
        "conv_transpose_overlapping": _pair(
            _inputs(x=n(2, 3, 3, 4), w=n(3, 2, 3, 3), b=n(2)),
            lambda x, w, b: L.conv_transpose_forward(x, w, b, _conv(2, 1)),
            L.conv_transpose_backward,
        ),
        "pixel_softmax_loss": _loss(L.pixel_softmax_loss, (2, 3, 3, 4), _PIXEL_LABELS),
        "max_pool": _pair(
            images,
            lambda x: L.max_pool_forward_naive(x, _pool(2, 2, 2)),
            L.max_pool_backward_naive,
        ),
        "max_pool_fast": _pair(
            images,
            lambda x: L.max_pool_forward_fast(x, _pool(2, 2, 2)),
            L.max_pool_backward_fast,
        ),
        "max_pool_fast_overlapping": _pair(
            _inputs(x=n(2, 2, 5, 7)),
            lambda x: L.max_pool_forward_fast(x, _pool(3, 3, 2)),
            L.max_pool_backward_fast,
        ),
        "avg_pool": _pair(
            _inputs(x=n(2, 3, 5, 6)),
            lambda x: L.avg_pool_forward(x, _pool(3, 2, 2)),
            L.avg_pool_backward,
        ),
        "global_avg_pool": _pair(
            _inputs(x=n(2, 3, 4, 5)), L.global_avg_pool_forward, L.global_avg_pool_backward
        ),
        "zero_pad": _pair(
            _inputs(x=n(2, 3, 3, 4)), lambda x: L.zero_pad_forward(x, 2), L.zero_pad_backward
        ),
        "channel_concat": _pair(
            _inputs(a=n(2, 3, 4, 4), b=n(2, 1, 4, 4), c=n(2, 2, 4, 4)),
            lambda a, b, c: L.channel_concat_forward((a, b, c)),
            L.channel_concat_backward,
        ),
        "affine_relu": _pair(
            x_w_b, layer_utils.affine_relu_forward, layer_utils.affine_relu_backward
        ),
        "affine_batchnorm_relu": _norm_relu_check("batchnorm"),
        "affine_bn_relu": _pair(
            _inputs(x=n(6, 2, 2), w=n(4, 5), b=n(5), gamma=n(5), beta=n(5)),
            lambda x, w, b, gamma, beta: layer_utils.affine_bn_relu_forward(
                x, w, b, gamma, beta, {"mode": "train"}
            ),
            layer_utils.affine_bn_relu_backward,
        ),
        "affine_layernorm_relu": _norm_relu_check("layernorm"),
        "affine_batchnorm_relu_dropout": _norm_relu_check("batchnorm", dropout=True),
        "conv_relu": _pair(
            conv_inputs,
            lambda x, w, b: layer_utils.conv_relu_forward(x, w, b, _conv(1, 1)),
            layer_utils.conv_relu_backward,
        ),
        "conv_relu_pool": _pair(
            _inputs(x=n(2, 3, 6, 6), w=n(3, 3, 3, 3), b=n(3)),
            lambda x, w, b: layer_utils.conv_relu_pool_forward(
                x, w, b, _conv(1, 1), _pool(2, 2, 2)
            ),
            layer_utils.conv_relu_pool_backward,
        ),
        # Batch norm after the conv cancels most of w's gradient: entries near 1e-4 remain whose
        # centred differences carry ~1e-11 of rounding, so their relative error reaches ~3e-7
        # on some CPUs while a wrong gradient (test_diagnostics perturbs by 1e-4) is far above.
        "conv_bn_relu": dataclasses.replace(
            _pair(
                _inputs(x=n(2, 3, 5, 5), w=n(3, 3, 3, 3), b=n(3), gamma=n(3), beta=n(3)),
                lambda x, w, b, gamma, beta: layer_utils.conv_bn_relu_forward(
                    x, w, b, gamma, beta, _conv(1, 1), {"mode": "train"}
                ),
                layer_utils.conv_bn_relu_backward,
            ),
            tolerance=1e-6,
        ),
        "rnn_step": _pair(
            _inputs(x=n(3, 4), prev_h=n(3, 5), Wx=n(4, 5), Wh=n(5, 5), b=n(5)),
            R.rnn_step_forward,
            R.rnn_step_backward,
        ),
        "rnn": _pair(sequence, R.rnn_forward, R.rnn_backward),
        "lstm_step": GradientCheck(
            _inputs(x=n(3, 4), prev_h=n(3, 3), prev_c=n(3, 3), Wx=n(4, 12), Wh=n(3, 12), b=n(12)),
            _lstm_step_forward,
            lambda dout, cache: R.lstm_step_backward(*dout, cache),
            (R.lstm_step_backward,),
        ),
        "lstm": _pair(
            _inputs(x=n(2, 3, 4), h0=n(2, 3), Wx=n(4, 12), Wh=n(3, 12), b=n(12)),
            R.lstm_forward,
            R.lstm_backward,
        ),
        "word_embedding": _pair(
            _inputs(W=n(6, 4)),
            lambda W: R.word_embedding_forward(_WORDS, W),
            R.word_embedding_backward,
        ),
        "temporal_affine": _pair(
            _inputs(x=n(2, 3, 4), w=n(4, 5), b=n(5)),
            R.temporal_affine_forward,
            R.temporal_affine_backward,
        ),
        "temporal_softmax_loss": _loss(
            R.temporal_softmax_loss, (2, 3, 4), _TIME_LABELS, _TIME_MASK
        ),
        "linear": _pair(
            _inputs(x=n(2, 3, 4), w=n(4, 5), b=n(5)), A.linear_forward, A.linear_backward
        ),
        "dropout_p": _pair(
            _inputs(x=n(4, 5)),
            lambda x: A.dropout_p_forward(x, 0.3, "train", seed=0),
            A.dropout_p_backward,
        ),
        "attention_softmax": _pair(
            _inputs(x=n(2, 3, 4)),
            lambda x: A.softmax_forward(x, _SOFTMAX_MASK),
            A.softmax_backward,
        ),
        "attention": _attention_check(3, 4, attn_mask=_ATTN_MASK),
        "attention_dropout": _attention_check(3, 3, dropout_p=0.2, seed=0),
        "feedforward": _feedforward_check(),
    }


GRADIENT_CHECKS: tuple[str, ...] = tuple(gradient_checks())


def _flat(out: Any) -> np.ndarray:
    """All outputs of a forward (an array, a scalar or a tuple of arrays) as one vector."""
    parts = out if isinstance(out, tuple) else (out,)
    return np.concatenate([np.ravel(part) for part in parts])


def _compare(
    layer: str, name: str, shape: tuple[int, ...], analytic: np.ndarray, numeric: np.ndarray
) -> GradientReport:
    if analytic.shape != shape:
        return GradientReport(layer, name, shape, analytic, numeric, float("inf"))
    if max(np.abs(analytic).max(), np.abs(numeric).max()) < ZERO_GRADIENT:
        error = float(np.abs(analytic - numeric).max())
        return GradientReport(layer, name, shape, analytic, numeric, error, zero=True)
    return GradientReport(layer, name, shape, analytic, numeric, rel_error(analytic, numeric))


def check_layer(
    name: str, seed: int = 0, check: GradientCheck | None = None
) -> list[GradientReport]:
    """Compare analytic and numerical gradients of every input of the layer `name`.

    name: one of GRADIENT_CHECKS (or any label when `check` is given)
    seed: seed of the inputs and of the upstream gradient
    check: the check to run instead of gradient_checks()[name]
    returns one GradientReport per differentiable input, in the order backward returns them
    """
    if check is None:
        table = gradient_checks()
        if name not in table:
            raise ValueError(f"no gradient check named {name!r}; choose from {', '.join(table)}")
        check = table[name]
    rng = np.random.default_rng(seed)
    global_state = np.random.get_state()  # seeded dropout reseeds NumPy's global generator
    try:
        values = check.make_inputs(rng)
        out, cache = check.forward(**values)
        parts = out if isinstance(out, tuple) else (out,)
        douts = tuple(rng.standard_normal(np.shape(part)) for part in parts)
        analytic = check.backward(douts if isinstance(out, tuple) else douts[0], cache)
        if not isinstance(analytic, Sequence):
            analytic = (analytic,)
        if len(analytic) != len(values):
            raise ValueError(
                f"{name}: backward returned {len(analytic)} gradients for the "
                f"{len(values)} inputs {', '.join(values)}"
            )
        dflat = _flat(douts)
        reports = []
        for (input_name, array), grad in zip(values.items(), analytic, strict=True):
            grad = np.asarray(grad, dtype=np.float64)
            numeric = eval_numerical_gradient_array(
                lambda _: _flat(check.forward(**values)[0]), array, dflat
            )
            reports.append(_compare(name, input_name, array.shape, grad, numeric))
    finally:
        np.random.set_state(global_state)
    return reports


def run_gradient_check(name: str, seed: int = 0) -> dict[str, float]:
    """Relative error between analytic and numerical gradient, per input of layer `name`."""
    return {report.input: report.error for report in check_layer(name, seed)}
