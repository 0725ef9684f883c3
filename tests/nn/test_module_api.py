"""The Module API: parameter views that write through, modes, state dicts, extension, errors."""

import copy
import pickle
from collections.abc import Mapping

import numpy as np
import pytest
from assertions import assert_close

from tinyvision import nn
from tinyvision.layers import affine_backward, affine_forward


def small_net(seed=0):
    return nn.Sequential(
        nn.Linear(4, 6, seed=seed),
        nn.BatchNorm1d(6),
        nn.ReLU(),
        nn.Dropout(0.5, seed=seed),
        nn.Linear(6, 3, seed=seed + 1),
    )


@pytest.fixture
def X():
    return np.random.default_rng(0).standard_normal((5, 4))


def test_parameter_names_follow_positions():
    model = small_net()
    assert list(model.params) == ["0.W", "0.b", "1.gamma", "1.beta", "4.W", "4.b"]
    assert [name for name, _ in model.named_parameters()] == list(model.params)
    assert list(model.buffers) == ["1.running_mean", "1.running_var"]
    assert model.regularized_names() == ["0.W", "4.W"]
    assert [name for name, _ in model.named_modules()] == ["", "0", "1", "2", "3", "4"]
    assert model.params["0.W"] is model[0].params["W"]


def test_assigning_a_parameter_changes_the_next_forward(X):
    model = small_net().eval()
    before = model.forward(X)
    model.params["4.b"] = model.params["4.b"] + 1.0
    assert_close(model.forward(X), before + 1.0, rtol=1e-12, name="out")
    assert model[4].params["b"] is model.params["4.b"]


def test_solver_style_update_while_iterating_items(X):
    model = small_net().eval()
    params = model.params
    for name, value in params.items():
        params[name] = value * 0
    assert not model.forward(X).any()


def test_assigning_a_saved_copy_restores_the_model(X):
    model = small_net().eval()
    expected = model.forward(X)
    saved = copy.deepcopy(model.params)
    assert type(saved) is dict
    for name, value in model.params.items():
        model.params[name] = value + 1
    assert not np.allclose(model.forward(X), expected)
    model.params = saved
    np.testing.assert_array_equal(model.forward(X), expected)
    saved["0.W"][:] = 0
    assert model.params["0.W"].any(), "params = d must copy d's arrays"


def test_params_is_a_dict_whose_copies_are_detached():
    model = small_net()
    params = model.params
    assert isinstance(params, Mapping)
    for duplicate in (params.copy(), copy.copy(params), pickle.loads(pickle.dumps(params))):
        assert type(duplicate) is dict
        duplicate["0.b"] = np.ones(6)
        assert not model.params["0.b"].any()
    params.update({"0.b": np.full(6, 2.0)})
    np.testing.assert_array_equal(model[0].params["b"], np.full(6, 2.0))


def test_params_names_are_fixed():
    model = small_net()
    with pytest.raises(KeyError, match="'9.W' is not a param"):
        model.params["9.W"] = np.zeros(1)
    with pytest.raises(TypeError, match="fixed"):
        del model.params["0.W"]
    with pytest.raises(TypeError, match="fixed"):
        model.params.pop("0.W")
    saved = model.state_dict()
    with pytest.raises(ValueError, match="missing \\['4.b'\\]"):
        model.params = {k: v for k, v in saved.items() if k in model.params and k != "4.b"}
    with pytest.raises(ValueError, match="'0.W' has shape \\(2, 2\\)"):
        model.params = {**{k: saved[k] for k in model.params}, "0.W": np.zeros((2, 2))}


def test_train_and_eval_switch_batchnorm_and_dropout(X):
    model = small_net()
    assert model.training and all(m.training for _, m in model.named_modules())
    model.eval()
    assert not any(m.training for _, m in model.named_modules())
    out_eval = model.forward(X)
    np.testing.assert_array_equal(model[3].forward(X), X)

    bn = model[1]
    hidden = X @ model.params["0.W"] + model.params["0.b"]
    expected = (hidden - bn.buffers["running_mean"]) / np.sqrt(bn.buffers["running_var"] + 1e-5)
    assert_close(bn.forward(hidden), expected, rtol=1e-12, name="batchnorm in eval mode")

    model.train()
    out_train = model.forward(X)
    assert not np.allclose(out_train, out_eval)
    kept = model[3].forward(np.ones((50, 40)))
    assert set(np.unique(kept)) == {0.0, 2.0}
    z = model[1].forward(hidden)
    assert_close(z.mean(axis=0), 0.0, rtol=0, atol=1e-12, name="batch mean in train mode")


def test_state_dict_round_trip_includes_buffers(X):
    model = small_net(seed=0)
    model.forward(X)
    state = model.state_dict()
    assert set(state) == set(model.params) | {"1.running_mean", "1.running_var"}
    np.testing.assert_array_equal(state["1.running_mean"], model[1].buffers["running_mean"])
    other = small_net(seed=5)
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.eval().forward(X), model.eval().forward(X))
    state["1.running_var"][:] = 7
    assert not np.any(other.buffers["1.running_var"] == 7)
    with pytest.raises(ValueError, match="unexpected \\['extra'\\]"):
        other.load_state_dict({**state, "extra": np.zeros(1)})


def test_nested_sequential_uses_dotted_paths(X):
    model = nn.Sequential(nn.Sequential(nn.Linear(4, 3, seed=0), nn.Tanh()), nn.Linear(3, 2))
    assert list(model.params) == ["0.0.W", "0.0.b", "1.W", "1.b"]
    model.params["0.0.W"] = np.zeros((4, 3))
    assert not model[0][0].params["W"].any()
    assert model.regularized_names() == ["0.0.W", "1.W"]


class Affine2(nn.Module):
    """A module written the way the nn.module docstring describes (used to test extension)."""

    regularized = ("W",)

    def __init__(self):
        super().__init__()
        self._params["W"] = np.eye(3)
        self._params["b"] = np.zeros(3)
        self._buffers["calls"] = np.zeros(1)

    def forward(self, x):
        self._buffers["calls"] = self._buffers["calls"] + 1
        out, self.cache = affine_forward(x, self._params["W"], self._params["b"])
        return out

    def backward(self, dout):
        dx, self._grads["W"], self._grads["b"] = affine_backward(dout, self.cache)
        return dx


def test_a_new_module_plugs_into_sequential():
    model = nn.Sequential(Affine2(), nn.ReLU(), reg=0.5)
    assert list(model.params) == ["0.W", "0.b"]
    assert list(model.buffers) == ["0.calls"]
    X = np.random.default_rng(1).standard_normal((4, 3))
    loss, grads = model.loss(X, np.array([0, 1, 2, 0]))
    assert set(grads) == {"0.W", "0.b"}
    assert model.state_dict()["0.calls"][0] == 1
    assert loss > 0.5 * 0.5 * 3  # the regularisation alone is 0.5 * reg * ||I||^2


def test_module_without_forward_cannot_be_built():
    class Incomplete(nn.Module):
        def backward(self, dout):
            return dout

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()


def test_zero_grad_forgets_gradients(X):
    model = small_net()
    model.loss(X, np.array([0, 1, 2, 0, 1]))
    assert model.grads
    model.zero_grad()
    assert model.grads == {}


def test_repr_lists_the_layers():
    text = repr(small_net())
    assert "(0): Linear(in_features=4, out_features=6)" in text
    assert "Dropout(p=0.5 (drop probability))" in text


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: nn.Linear(0, 3), "in_features must be a positive integer"),
        (lambda: nn.Linear(3, 2.5), "out_features must be a positive integer"),
        (lambda: nn.Linear(3, 2, weight_init="orthogonal"), "unknown weight_init"),
        (lambda: nn.Dropout(1), "probability of dropping a unit"),
        (lambda: nn.Dropout(-0.2), "probability of dropping a unit"),
        (lambda: nn.BatchNorm1d(0), "num_features must be a positive integer"),
        (lambda: nn.BatchNorm1d(3, momentum=2), "momentum must be in \\[0, 1\\]"),
        (lambda: nn.LayerNorm((3, 4)), "normalized_shape must be D or \\(D,\\)"),
        (lambda: nn.Sequential(nn.ReLU), "class ReLU at position 0; write ReLU\\(\\)"),
        (lambda: nn.Sequential(nn.ReLU(), 3), "got int at position 1"),
        (lambda: nn.Sequential(nn.ReLU(), loss="hinge"), "unknown loss 'hinge'"),
        (
            lambda: nn.Sequential(nn.ReLU(), reg=-1),
            r"reg must be a finite number >= 0, got -1 \(int\)",
        ),
    ],
)
def test_constructors_reject_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_linear_keeps_float32(X):
    layer = nn.Linear(4, 2, dtype=np.float32, seed=0)
    out = layer.forward(X.astype(np.float32))
    assert out.dtype == np.float32
    assert layer.backward(np.ones_like(out)).dtype == np.float32
    assert layer.grads["W"].dtype == np.float32
