"""The notes' regularisers and layers: spatial and vanilla dropout, randomized leaky ReLU, Maxout,
instance norm, max-norm and Monte Carlo dropout: gradients, statistics and modes."""

import numpy as np
import pytest
from assertions import assert_close
from scipy.special import softmax

from tinyvision import nn
from tinyvision.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from tinyvision.config import TrainConfig, resolve_config
from tinyvision.gradient_check import eval_numerical_gradient_array
from tinyvision.layers import (
    dropout_forward,
    instance_norm_backward,
    instance_norm_forward,
    leaky_relu_forward,
    max_norm_constraint,
    maxout_backward,
    maxout_forward,
    rrelu_backward,
    rrelu_forward,
    spatial_dropout_backward,
    spatial_dropout_forward,
    spatial_groupnorm_forward,
    vanilla_dropout_backward,
    vanilla_dropout_forward,
)
from tinyvision.model import MonteCarloPrediction
from tinyvision.solver import Solver

GRAD_TOL = 1e-7


def _check_grads(forward, backward, inputs, rng):
    """Analytic gradients of backward against centred differences of forward (float64)."""
    out, cache = forward(**inputs)
    dout = rng.standard_normal(out.shape)
    analytic = backward(dout, cache)
    analytic = analytic if isinstance(analytic, tuple) else (analytic,)
    for (name, value), grad in zip(inputs.items(), analytic, strict=True):
        numeric = eval_numerical_gradient_array(lambda _: forward(**inputs)[0], value, dout)
        assert_close(grad, numeric, rtol=GRAD_TOL, atol=1e-9, name=f"d{name}")


# --- spatial dropout ---------------------------------------------------------------------


def test_spatial_dropout_drops_whole_channels_and_keeps_the_mean():
    x = np.ones((200, 50, 3, 4))
    out, (_, mask) = spatial_dropout_forward(x, {"mode": "train", "p": 0.6, "seed": 1})
    per_channel = out.reshape(200, 50, -1)
    # Every channel is all zeros or all 1/p: the mask is constant over H and W.
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))
    assert set(np.unique(per_channel)) == {0.0, 1 / 0.6}
    kept = np.mean(per_channel[:, :, 0] > 0)
    assert abs(kept - 0.6) < 4 * np.sqrt(0.6 * 0.4 / 10000)  # four binomial standard errors
    assert abs(out.mean() - 1.0) < 0.03
    assert mask.shape == (200, 50, 1, 1)


def test_spatial_dropout_test_mode_dtype_and_gradient():
    rng = np.random.default_rng(0)
    x32 = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    out, cache = spatial_dropout_forward(x32, {"mode": "test", "p": 0.5})
    assert out is x32 and spatial_dropout_backward(x32, cache) is x32
    out, _ = spatial_dropout_forward(x32, {"mode": "train", "p": 0.5, "seed": 0})
    assert out.dtype == np.float32
    _check_grads(
        lambda x: spatial_dropout_forward(x, {"mode": "train", "p": 0.7, "seed": 3}),
        spatial_dropout_backward,
        {"x": rng.standard_normal((3, 4, 2, 3))},
        rng,
    )
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        spatial_dropout_forward(np.ones((2, 3)), {"mode": "train", "p": 0.5})


# --- vanilla dropout ---------------------------------------------------------------------


def test_vanilla_dropout_expected_training_output_equals_the_test_output():
    x = np.random.default_rng(1).standard_normal((4, 5))
    p = 0.3
    draws = np.stack(
        [vanilla_dropout_forward(x, {"mode": "train", "p": p, "seed": s})[0] for s in range(4000)]
    )
    test_out, _ = vanilla_dropout_forward(x, {"mode": "test", "p": p})
    assert_close(test_out, p * x, rtol=1e-15)
    # The mean of 4000 masks has standard error sqrt(p (1 - p) / 4000) |x| ~ 0.007 |x|.
    assert_close(draws.mean(axis=0), test_out, rtol=0, atol=0.04 * np.abs(x).max())


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vanilla_dropout_is_inverted_dropout_times_p(mode, dtype):
    x = np.random.default_rng(2).standard_normal((6, 7)).astype(dtype)
    param = {"mode": mode, "p": 0.6, "seed": 5}
    vanilla, _ = vanilla_dropout_forward(x, dict(param))
    inverted, _ = dropout_forward(x, dict(param))
    assert vanilla.dtype == dtype
    assert_close(vanilla, 0.6 * inverted, rtol=1e-6 if dtype == np.float32 else 1e-15)


@pytest.mark.parametrize("mode", ["train", "test"])
def test_vanilla_dropout_gradient(mode):
    rng = np.random.default_rng(3)
    _check_grads(
        lambda x: vanilla_dropout_forward(x, {"mode": mode, "p": 0.7, "seed": 0}),
        vanilla_dropout_backward,
        {"x": rng.standard_normal((5, 6))},
        rng,
    )


# --- randomized leaky ReLU ---------------------------------------------------------------


def test_rrelu_training_slopes_are_uniform_in_the_range():
    x = -np.ones(20000)
    out, _ = rrelu_forward(x, {"mode": "train", "lower": 0.1, "upper": 0.4, "seed": 0})
    slopes = -out
    assert slopes.min() >= 0.1 and slopes.max() <= 0.4
    assert abs(slopes.mean() - 0.25) < 0.005  # uniform mean, standard error 0.0006
    assert abs(slopes.var() - 0.3**2 / 12) < 5e-4
    positive, _ = rrelu_forward(np.abs(x), {"mode": "train", "seed": 0})
    assert np.all(positive == 1.0)


def test_rrelu_test_mode_is_leaky_relu_with_the_mean_slope():
    x = np.random.default_rng(4).standard_normal((3, 5)).astype(np.float32)
    out, _ = rrelu_forward(x, {"mode": "test", "lower": 0.1, "upper": 0.3})
    expected, _ = leaky_relu_forward(x, 0.2)
    assert out.dtype == np.float32
    assert_close(out, expected, rtol=1e-7)
    with pytest.raises(ValueError, match="lower <= upper"):
        rrelu_forward(x, {"mode": "test", "lower": 0.5, "upper": 0.3})
    with pytest.raises(ValueError, match="mode"):
        rrelu_forward(x, {"mode": "eval"})


@pytest.mark.parametrize("mode", ["train", "test"])
def test_rrelu_gradient(mode):
    rng = np.random.default_rng(5)
    _check_grads(
        lambda x: rrelu_forward(x, {"mode": mode, "seed": 2}),
        rrelu_backward,
        {"x": rng.standard_normal((4, 6))},
        rng,
    )


# --- Maxout ------------------------------------------------------------------------------


def _maxout_naive(x, k):
    out = np.empty((x.shape[0], x.shape[1] // k, *x.shape[2:]), dtype=x.dtype)
    for unit in range(out.shape[1]):
        out[:, unit] = np.max(x[:, unit * k : (unit + 1) * k], axis=1)
    return out


@pytest.mark.parametrize("shape, k", [((4, 6), 3), ((2, 6, 3, 2), 2), ((3, 5), 1)])
def test_maxout_forward_and_gradient(shape, k):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape)
    out, _ = maxout_forward(x, k)
    assert_close(out, _maxout_naive(x, k), rtol=0)
    _check_grads(lambda x: maxout_forward(x, k), maxout_backward, {"x": x}, rng)


def test_maxout_ties_go_to_the_first_piece_and_bad_k_is_refused():
    x = np.array([[1.0, 1.0, 0.0, 2.0]], dtype=np.float32)
    out, cache = maxout_forward(x, 2)
    assert out.dtype == np.float32
    assert_close(maxout_backward(np.ones_like(out), cache), [[1.0, 0.0, 0.0, 1.0]], rtol=0)
    with pytest.raises(ValueError, match="must divide axis 1"):
        maxout_forward(np.ones((2, 5)), 2)


# --- instance norm -----------------------------------------------------------------------


def test_instance_norm_standardises_each_channel_of_each_example():
    x = np.random.default_rng(7).normal(3.0, 2.0, (4, 3, 5, 6))
    out, _ = instance_norm_forward(x, np.ones(3), np.zeros(3), {"eps": 0.0})
    assert_close(out.mean(axis=(2, 3)), np.zeros((4, 3)), rtol=0, atol=1e-12)
    assert_close(out.std(axis=(2, 3)), np.ones((4, 3)), rtol=1e-12)
    gamma, beta = np.array([1.0, 2.0, -1.0]), np.array([0.5, 0.0, 1.0])
    scaled, _ = instance_norm_forward(x, gamma, beta, {})
    grouped, _ = spatial_groupnorm_forward(
        x, gamma.reshape(1, 3, 1, 1), beta.reshape(1, 3, 1, 1), 3, {}
    )
    assert_close(scaled, grouped, rtol=0)


def test_instance_norm_gradient_and_float32():
    rng = np.random.default_rng(8)
    inputs = {
        "x": rng.standard_normal((2, 3, 3, 4)),
        "gamma": rng.standard_normal(3),
        "beta": rng.standard_normal(3),
    }
    _check_grads(
        lambda x, gamma, beta: instance_norm_forward(x, gamma, beta, {}),
        instance_norm_backward,
        inputs,
        rng,
    )
    x32 = inputs["x"].astype(np.float32)
    one, zero = np.ones(3, np.float32), np.zeros(3, np.float32)
    out, cache = instance_norm_forward(x32, one, zero, {})
    dx, dgamma, dbeta = instance_norm_backward(np.ones_like(out), cache)
    assert out.dtype == dx.dtype == dgamma.dtype == np.float32
    assert dgamma.shape == dbeta.shape == (3,)


# --- max-norm ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_norm_clips_each_unit_and_keeps_short_ones(dtype):
    rng = np.random.default_rng(9)
    w = rng.standard_normal((10, 6)).astype(dtype)
    w[:, 0] *= 0.01  # a short column stays as it is
    clipped = max_norm_constraint(w, 1.0)
    norms = np.linalg.norm(clipped.astype(np.float64), axis=0)
    assert clipped.dtype == dtype
    assert np.all(norms <= 1.0 + 1e-6)
    assert_close(clipped[:, 0], w[:, 0], rtol=0)
    long = np.linalg.norm(w.astype(np.float64), axis=0) > 1
    assert_close(norms[long], np.ones(long.sum()), rtol=1e-6)
    # Directions are kept: each column is a positive multiple of the original.
    cosines = np.sum(clipped * w, axis=0) / (norms * np.linalg.norm(w, axis=0))
    assert_close(cosines, np.ones(6), rtol=1e-6)


def test_max_norm_of_conv_filters_bounds_each_filter():
    w = np.random.default_rng(10).standard_normal((4, 3, 3, 3)) * 2
    clipped = max_norm_constraint(w, 0.5)
    assert_close(np.linalg.norm(clipped.reshape(4, -1), axis=1), np.full(4, 0.5), rtol=1e-12)
    assert_close(max_norm_constraint(np.zeros((3, 2)), 1.0), np.zeros((3, 2)), rtol=0)
    with pytest.raises(ValueError, match="axes"):
        max_norm_constraint(np.ones(3), 1.0)


def _toy_data(rng, n=60, d=8, classes=3):
    X = rng.standard_normal((n, d)) * 5
    return X, rng.integers(0, classes, n)


def test_solver_max_norm_bounds_the_weights_after_every_update():
    rng = np.random.default_rng(11)
    X, y = _toy_data(rng)
    data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    model = TwoLayerNet(input_dim=8, hidden_dim=12, num_classes=3, weight_scale=1.0, seed=0)
    norms = []

    def record(solver):
        norms.append(max(np.linalg.norm(model.params[w], axis=0).max() for w in ("W1", "W2")))
        return False

    solver = Solver(
        model, data, optim_config={"learning_rate": 0.5}, num_epochs=2, batch_size=20,
        max_norm=0.8, verbose=False, stop_when=record,
    )  # fmt: skip
    solver.train()
    assert len(norms) == 6 and max(norms) <= 0.8 + 1e-12
    # The same initial weights break the bound, so the constraint did the work.
    unconstrained = TwoLayerNet(input_dim=8, hidden_dim=12, num_classes=3, weight_scale=1.0, seed=0)
    assert np.linalg.norm(unconstrained.params["W1"], axis=0).max() > 0.8


def test_solver_max_norm_on_a_module_net_and_its_validation():
    rng = np.random.default_rng(12)
    X, y = _toy_data(rng)
    data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    net = nn.Sequential(nn.Linear(8, 10, seed=0, weight_scale=1.0, weight_init="gaussian"),
                        nn.ReLU(), nn.Linear(10, 3, seed=1))  # fmt: skip
    Solver(net, data, optim_config={"learning_rate": 0.5}, num_epochs=1, batch_size=20,
           max_norm=0.5, verbose=False).train()  # fmt: skip
    for name in ("0.W", "2.W"):
        assert np.linalg.norm(net.params[name], axis=0).max() <= 0.5 + 1e-12
    with pytest.raises(ValueError, match="max_norm"):
        Solver(net, data, max_norm=0.0)
    assert resolve_config(TrainConfig(model="fc", max_norm=3.0)).max_norm == 3.0
    with pytest.raises(ValueError, match="--max-norm"):
        resolve_config(TrainConfig(model="knn", max_norm=3.0))


# --- Monte Carlo dropout -----------------------------------------------------------------


def _fc_net(**options):
    return FullyConnectedNet(
        [30, 20], input_dim=6, num_classes=4, weight_scale=0.5, dtype=np.float64, seed=0,
        **options,
    )  # fmt: skip


def test_monte_carlo_dropout_of_the_fully_connected_net():
    X = np.random.default_rng(13).standard_normal((9, 6))
    model = _fc_net(dropout_keep_ratio=0.5, normalization="batchnorm")
    model.loss(X, np.zeros(9, dtype=np.int64))  # running statistics away from their start
    before = {name: value.copy() for name, value in model.buffers.items()}
    labels = model.predict(X)
    assert_close(labels, np.argmax(model.loss(X), axis=1), rtol=0)  # the default is unchanged
    np.random.seed(0)
    result = model.predict(X, samples=30)
    assert isinstance(result, MonteCarloPrediction)
    assert result.mean.shape == result.spread.shape == (9, 4)
    assert_close(result.mean.sum(axis=1), np.ones(9), rtol=1e-12)
    assert result.spread.min() >= 0 and result.spread.max() > 1e-3
    assert_close(result.labels, result.mean.argmax(axis=1), rtol=0)
    for name, value in model.buffers.items():  # evaluation mode for batch norm
        assert_close(value, before[name], rtol=0)
    np.random.seed(0)
    again = model.predict(X, samples=30)
    assert_close(again.mean, result.mean, rtol=0)  # np.random.seed repeats the masks
    one = model.predict(X, samples=1)
    assert_close(one.spread, np.zeros((9, 4)), rtol=0)


def test_monte_carlo_dropout_needs_dropout_and_a_positive_count():
    X = np.ones((2, 6))
    with pytest.raises(ValueError, match="needs dropout"):
        _fc_net().predict(X, samples=5)
    with pytest.raises(ValueError, match="samples"):
        _fc_net(dropout_keep_ratio=0.5).predict(X, samples=0)
    with pytest.raises(ValueError, match="needs dropout"):
        nn.Sequential(nn.Linear(6, 2)).predict(X, samples=3)


def test_monte_carlo_dropout_of_a_module_net_is_the_mean_of_sampled_passes():
    X = np.random.default_rng(14).standard_normal((5, 6))
    net = nn.Sequential(
        nn.Linear(6, 16, seed=0), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.4, seed=7),
        nn.Linear(16, 3, seed=1),
    )  # fmt: skip
    net.train()
    np.random.seed(3)
    result = net.predict(X, samples=6)
    # Modes and the fixed seed are restored; the passes themselves used fresh masks.
    assert net.training and net[3].training and net[3].seed == 7
    np.random.seed(3)
    passes = []
    for _ in range(6):
        net.eval()
        net[3].training, net[3].seed = True, None
        passes.append(softmax(net.forward(X), axis=1))
    net[3].seed = 7
    assert_close(result.mean, np.mean(passes, axis=0), rtol=1e-12)
    assert_close(result.spread, np.std(passes, axis=0), rtol=1e-9, atol=1e-15)
    assert result.spread.max() > 1e-3


# --- the Modules -------------------------------------------------------------------------


def test_dropout_modules_follow_torch_conventions():
    x = np.ones((50, 40, 2, 2))
    spatial = nn.Dropout2d(p=0.25, seed=0)
    out = spatial(x)
    assert set(np.unique(out)) == {0.0, 1 / 0.75}
    assert np.all(out.reshape(50, 40, -1).std(axis=2) == 0)
    assert_close(spatial.backward(x), out, rtol=0)
    vanilla = nn.VanillaDropout(p=0.25, seed=0)
    assert set(np.unique(vanilla(x))) == {0.0, 1.0}
    vanilla.eval()
    assert_close(vanilla(x), 0.75 * x, rtol=0)
    assert_close(vanilla.backward(x), 0.75 * x, rtol=0)
    spatial.eval()
    assert spatial(x) is x


def test_activation_and_norm_modules_call_their_layers():
    rng = np.random.default_rng(15)
    x = rng.standard_normal((3, 4, 2, 2))
    rrelu = nn.RReLU(0.1, 0.3, seed=1)
    out = rrelu(x)
    expected, cache = rrelu_forward(x, {"mode": "train", "lower": 0.1, "upper": 0.3, "seed": 1})
    assert_close(out, expected, rtol=0)
    assert_close(rrelu.backward(x), rrelu_backward(x, cache), rtol=0)
    rrelu.eval()
    assert_close(rrelu(x), leaky_relu_forward(x, 0.2)[0], rtol=1e-15)
    maxout = nn.Maxout(2)
    assert maxout(x).shape == (3, 2, 2, 2)
    assert maxout.backward(np.ones((3, 2, 2, 2))).shape == x.shape
    norm = nn.InstanceNorm2d(4)
    norm.params["gamma"] = rng.standard_normal(4)
    out = norm(x)
    assert_close(out, instance_norm_forward(x, norm.params["gamma"], np.zeros(4), {})[0], rtol=0)
    dout = rng.standard_normal(x.shape)
    norm.backward(dout)
    assert norm.grads["gamma"].shape == (4,)
    with pytest.raises(ValueError, match="InstanceNorm2d needs"):
        norm(np.ones((2, 3, 2, 2)))
    with pytest.raises(ValueError, match="lower <= upper"):
        nn.RReLU(0.5, 0.1)


def test_a_module_net_of_the_new_layers_trains_with_checked_gradients():
    rng = np.random.default_rng(16)
    X = rng.standard_normal((4, 2, 4, 4))
    y = np.array([0, 1, 2, 1])
    net = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, seed=0), nn.InstanceNorm2d(4), nn.RReLU(seed=2),
        nn.Dropout2d(0.3, seed=3), nn.Maxout(2), nn.Flatten(), nn.VanillaDropout(0.2, seed=4),
        nn.Linear(32, 3, seed=5),
    )  # fmt: skip
    _, grads = net.loss(X, y)
    for name in ("0.W", "1.gamma", "7.W"):
        param = net.params[name]

        def loss_of(_, name=name):
            return net.loss(X, y)[0]

        numeric = np.zeros_like(param)
        it = np.nditer(param, flags=["multi_index"])
        for _ in it:
            i = it.multi_index
            old = param[i]
            param[i] = old + 1e-6
            plus = loss_of(None)
            param[i] = old - 1e-6
            minus = loss_of(None)
            param[i] = old
            numeric[i] = (plus - minus) / 2e-6
        assert_close(grads[name], numeric, rtol=1e-5, atol=1e-8, name=name)
