"""Every nn module's forward and backward against its torch.nn counterpart, in float64."""

import numpy as np
import pytest
import torch
from assertions import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import dense_sizes

from tinyvision import nn

TOL = {"rtol": 1e-10, "atol": 1e-12}


def run_both(module, torch_module, x, dout):
    """Forward and backward through ours and torch's; returns (ours out, dx), (torch out, dx)."""
    out = module.forward(x)
    dx = module.backward(dout)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out_t = torch_module(xt)
    out_t.backward(torch.from_numpy(dout))
    return (out, dx), (out_t.detach().numpy(), xt.grad.numpy())


def assert_same(ours, theirs):
    for name, a, b in zip(("out", "dx"), ours, theirs, strict=True):
        assert_close(a, b, **TOL, name=name)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_linear_matches_torch_with_weight_transposed(rng):
    x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    ours = nn.Linear(4, 3, seed=1)
    ours.params["b"] = rng.standard_normal(3)
    theirs = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.params["W"].T))
        theirs.bias.copy_(torch.from_numpy(ours.params["b"]))
    assert_same(*run_both(ours, theirs, x, dout))
    assert_close(ours.grads["W"], theirs.weight.grad.numpy().T, **TOL, name="W")
    assert_close(ours.grads["b"], theirs.bias.grad.numpy(), **TOL, name="b")


def test_linear_flattens_image_inputs_like_torch_flatten_then_linear(rng):
    x, dout = rng.standard_normal((2, 3, 2, 2)), rng.standard_normal((2, 5))
    ours = nn.Linear(12, 5, seed=2)
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5)).double()
    with torch.no_grad():
        theirs[1].weight.copy_(torch.from_numpy(ours.params["W"].T))
        theirs[1].bias.zero_()
    (out, dx), (out_t, dx_t) = run_both(ours, theirs, x, dout)
    assert dx.shape == x.shape
    assert_same((out, dx), (out_t, dx_t))


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (nn.ReLU(), torch.nn.ReLU()),
        (nn.LeakyReLU(), torch.nn.LeakyReLU()),
        (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
        (nn.Sigmoid(), torch.nn.Sigmoid()),
        (nn.Tanh(), torch.nn.Tanh()),
        (nn.Flatten(), torch.nn.Flatten()),
    ],
    ids=["relu", "leaky_relu", "leaky_relu_0.2", "sigmoid", "tanh", "flatten"],
)
def test_parameter_free_modules_match_torch(ours, theirs, rng):
    x = 3 * rng.standard_normal((4, 3, 5))
    out_shape = theirs(torch.from_numpy(x)).shape
    dout = rng.standard_normal(tuple(out_shape))
    assert_same(*run_both(ours, theirs, x, dout))
    assert ours.params == {}


def make_batchnorm_pair(rng, d=6):
    ours = nn.BatchNorm1d(d, eps=1e-5, momentum=0.9)
    ours.params["gamma"] = rng.standard_normal(d)
    ours.params["beta"] = rng.standard_normal(d)
    theirs = torch.nn.BatchNorm1d(d, eps=1e-5, momentum=0.1).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.params["gamma"]))
        theirs.bias.copy_(torch.from_numpy(ours.params["beta"]))
    return ours, theirs


def test_batchnorm1d_train_mode_matches_torch(rng):
    x, dout = 2 + 3 * rng.standard_normal((8, 6)), rng.standard_normal((8, 6))
    ours, theirs = make_batchnorm_pair(rng)
    assert_same(*run_both(ours.train(), theirs.train(), x, dout))
    assert_close(ours.grads["gamma"], theirs.weight.grad.numpy(), **TOL, name="gamma")
    assert_close(ours.grads["beta"], theirs.bias.grad.numpy(), **TOL, name="beta")
    # torch's momentum 0.1 is ours 0.9; both start at mean 0 and var 1.
    assert_close(
        ours.buffers["running_mean"], theirs.running_mean.numpy(), **TOL, name="running_mean"
    )
    # The running variance follows the course (biased batch variance); torch uses the unbiased
    # one, so it is checked against the formula instead.
    assert_close(ours.buffers["running_var"], 0.9 + 0.1 * x.var(axis=0), **TOL, name="running_var")


def test_batchnorm1d_eval_mode_matches_torch_with_the_same_running_statistics(rng):
    x, dout = rng.standard_normal((5, 6)), rng.standard_normal((5, 6))
    ours, theirs = make_batchnorm_pair(rng)
    ours.buffers["running_mean"] = rng.standard_normal(6)
    ours.buffers["running_var"] = rng.uniform(0.5, 2.0, 6)
    theirs.running_mean.copy_(torch.from_numpy(ours.buffers["running_mean"]))
    theirs.running_var.copy_(torch.from_numpy(ours.buffers["running_var"]))
    before = ours.state_dict()
    assert_same(*run_both(ours.eval(), theirs.eval(), x, dout))
    assert_close(ours.grads["gamma"], theirs.weight.grad.numpy(), **TOL, name="gamma")
    np.testing.assert_array_equal(ours.buffers["running_mean"], before["running_mean"])
    np.testing.assert_array_equal(ours.buffers["running_var"], before["running_var"])


def test_layernorm_matches_torch(rng):
    x, dout = 1 + 2 * rng.standard_normal((4, 7)), rng.standard_normal((4, 7))
    ours = nn.LayerNorm(7)
    ours.params["gamma"] = rng.standard_normal(7)
    ours.params["beta"] = rng.standard_normal(7)
    theirs = torch.nn.LayerNorm(7, eps=1e-5).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.params["gamma"]))
        theirs.bias.copy_(torch.from_numpy(ours.params["beta"]))
    assert_same(*run_both(ours, theirs, x, dout))
    assert_close(ours.grads["gamma"], theirs.weight.grad.numpy(), **TOL, name="gamma")
    assert_close(ours.grads["beta"], theirs.bias.grad.numpy(), **TOL, name="beta")


def test_dropout_drop_probability_matches_torch_in_expectation(rng):
    # Masks come from different generators, so compare the defining properties: kept units are
    # scaled by 1 / (1 - p), the kept fraction is 1 - p, and dx uses the mask.
    x = np.ones((200, 100))
    ours = nn.Dropout(p=0.2, seed=3)
    out = ours.forward(x)
    theirs = torch.nn.Dropout(p=0.2).train()
    torch.manual_seed(0)
    out_t = theirs(torch.from_numpy(x)).numpy()
    assert set(np.unique(out)) == set(np.unique(out_t)) == {0.0, 1 / 0.8}
    assert abs(np.mean(out > 0) - 0.8) < 0.01
    dout = rng.standard_normal(x.shape)
    np.testing.assert_array_equal(ours.backward(dout), dout * out)


@settings(max_examples=25, deadline=None)
@given(sizes=dense_sizes(), activation=st.sampled_from(["relu", "leaky_relu", "sigmoid", "tanh"]))
def test_linear_activation_stacks_match_torch_for_any_size(sizes, activation):
    n, d_in, d_out, seed = sizes
    rng = np.random.default_rng(seed)
    ours_act, torch_act = {
        "relu": (nn.ReLU(), torch.nn.ReLU()),
        "leaky_relu": (nn.LeakyReLU(0.05), torch.nn.LeakyReLU(0.05)),
        "sigmoid": (nn.Sigmoid(), torch.nn.Sigmoid()),
        "tanh": (nn.Tanh(), torch.nn.Tanh()),
    }[activation]
    ours = nn.Sequential(nn.Linear(d_in, d_out, seed=seed), ours_act)
    ours.params["0.b"] = rng.standard_normal(d_out)
    linear = torch.nn.Linear(d_in, d_out).double()
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(ours.params["0.W"].T))
        linear.bias.copy_(torch.from_numpy(ours.params["0.b"]))
    theirs = torch.nn.Sequential(linear, torch_act)
    x, dout = rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))
    assert_same(*run_both(ours, theirs, x, dout))
    assert_close(ours.grads["0.W"], linear.weight.grad.numpy().T, **TOL, name="0.W")
    assert_close(ours.grads["0.b"], linear.bias.grad.numpy(), **TOL, name="0.b")


def test_zero_pad2d_matches_torch(rng):
    x, dout = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 8, 9))
    assert_same(*run_both(nn.ZeroPad2d(2), torch.nn.ZeroPad2d(2), x, dout))


class _TorchConcat(torch.nn.Module):
    def __init__(self, *branches):
        super().__init__()
        self.branches = torch.nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], dim=1)


def test_branches_match_torch_cat_of_the_same_paths(rng):
    """Three paths of different widths, one of them parameter-free; dx sums the paths'."""
    conv = nn.Conv2d(3, 4, 3, padding=1, seed=3)
    ours = nn.Branches(
        conv, nn.Sequential(nn.ZeroPad2d(1), nn.MaxPool2d(3, stride=1)), nn.Conv2d(3, 2, 1, seed=4)
    )
    theirs = _TorchConcat(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.Sequential(torch.nn.ZeroPad2d(1), torch.nn.MaxPool2d(3, 1)),
        torch.nn.Conv2d(3, 2, 1),
    ).double()
    with torch.no_grad():
        for index, module in ((0, theirs.branches[0]), (2, theirs.branches[2])):
            module.weight.copy_(torch.from_numpy(ours.params[f"{index}.W"]))
            module.bias.copy_(torch.from_numpy(ours.params[f"{index}.b"]))
    x, dout = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((2, 9, 5, 5))
    assert_same(*run_both(ours, theirs, x, dout))
    assert_close(ours.grads["0.W"], theirs.branches[0].weight.grad.numpy(), **TOL, name="0.W")
    assert_close(ours.grads["2.b"], theirs.branches[2].bias.grad.numpy(), **TOL, name="2.b")
