"""Conv2d, pooling, BatchNorm2d, GroupNorm and ResidualBlock against torch.nn, in float64.

Forward outputs, input gradients and parameter gradients must agree to rtol 1e-10.
"""

import numpy as np
import pytest
import torch
from assertions import assert_close

from tinyvision import nn

TOL = {"rtol": 1e-10, "atol": 1e-12}


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def run_both(module, torch_module, x, dout):
    """Forward and backward through ours and torch's; returns (out, dx) pairs of both."""
    out = module.forward(x)
    dx = module.backward(dout)
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch_module(xt)
    out_t.backward(torch.from_numpy(dout))
    return (out, dx), (out_t.detach().numpy(), xt.grad.numpy())


def assert_same(ours, theirs):
    for name, a, b in zip(("out", "dx"), ours, theirs, strict=True):
        assert_close(a, b, **TOL, name=name)


def copy_conv(ours, theirs):
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.params["W"]))
        if "b" in ours.params:
            theirs.bias.copy_(torch.from_numpy(ours.params["b"]))


def copy_norm(ours, theirs):
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.params["gamma"]))
        theirs.bias.copy_(torch.from_numpy(ours.params["beta"]))


def randomise(module, rng):
    """Random values for every parameter (gamma around 1), so no gradient is trivially zero."""
    for name, value in module.params.items():
        offset = 1.0 if name.endswith("gamma") else 0.0
        module.params[name] = offset + 0.5 * rng.standard_normal(value.shape)


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "padding", "bias"),
    [
        ((2, 3, 7, 7), 3, 1, 1, True),
        ((2, 3, 9, 9), 3, 2, 1, True),
        ((3, 2, 6, 8), (3, 5), 1, 2, False),
        ((1, 4, 5, 5), 1, 2, 0, True),
    ],
)
def test_conv2d_matches_torch_with_the_same_weight_layout(
    rng, shape, kernel, stride, padding, bias
):
    ours = nn.Conv2d(shape[1], 5, kernel, stride=stride, padding=padding, bias=bias, seed=1)
    randomise(ours, rng)
    theirs = torch.nn.Conv2d(shape[1], 5, kernel, stride=stride, padding=padding, bias=bias)
    theirs = theirs.double()
    copy_conv(ours, theirs)
    x = rng.standard_normal(shape)
    out_shape = theirs(torch.tensor(x)).shape
    (out, dx), (out_t, dx_t) = run_both(ours, theirs, x, rng.standard_normal(out_shape))
    assert_same((out, dx), (out_t, dx_t))
    assert_close(ours.grads["W"], theirs.weight.grad.numpy(), **TOL, name="W")
    assert set(ours.grads) == ({"W", "b"} if bias else {"W"})
    if bias:
        assert_close(ours.grads["b"], theirs.bias.grad.numpy(), **TOL, name="b")


def test_conv2d_keeps_float32(rng):
    conv = nn.Conv2d(3, 4, 3, padding=1, seed=0, dtype=np.float32)
    out = conv(rng.standard_normal((2, 3, 5, 5)).astype(np.float32))
    dx = conv.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == conv.grads["W"].dtype == np.float32


@pytest.mark.parametrize(
    ("ours", "theirs", "shape"),
    [
        (nn.MaxPool2d(2), torch.nn.MaxPool2d(2), (2, 3, 8, 6)),
        (nn.MaxPool2d(3, stride=1), torch.nn.MaxPool2d(3, stride=1), (2, 2, 5, 6)),
        (nn.MaxPool2d((2, 3), stride=1), torch.nn.MaxPool2d((2, 3), stride=1), (1, 2, 4, 5)),
        (nn.AvgPool2d(2), torch.nn.AvgPool2d(2), (2, 3, 8, 6)),
        (nn.AvgPool2d(3, stride=2), torch.nn.AvgPool2d(3, stride=2), (2, 2, 7, 9)),
        (
            nn.GlobalAvgPool2d(),
            torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()),
            (3, 4, 5, 6),
        ),
    ],
    ids=["max2", "max3s1", "max2x3", "avg2", "avg3s2", "global"],
)
def test_pooling_matches_torch(rng, ours, theirs, shape):
    x = rng.standard_normal(shape)
    out_shape = theirs(torch.tensor(x)).shape
    assert_same(*run_both(ours, theirs, x, rng.standard_normal(out_shape)))


def test_max_pool_routes_tied_gradients_to_one_position_like_torch():
    x = np.zeros((1, 1, 4, 4))
    dout = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    assert_same(*run_both(nn.MaxPool2d(2), torch.nn.MaxPool2d(2), x, dout))


def make_batchnorm2d_pair(rng, c=4):
    ours = nn.BatchNorm2d(c, eps=1e-5, momentum=0.9)
    randomise(ours, rng)
    theirs = torch.nn.BatchNorm2d(c, eps=1e-5, momentum=0.1).double()
    copy_norm(ours, theirs)
    return ours, theirs


def test_batchnorm2d_train_mode_matches_torch(rng):
    x = 3 + 2 * rng.standard_normal((5, 4, 3, 6))
    ours, theirs = make_batchnorm2d_pair(rng)
    assert_same(*run_both(ours, theirs, x, rng.standard_normal(x.shape)))
    assert_close(ours.grads["gamma"], theirs.weight.grad.numpy(), **TOL, name="gamma")
    assert_close(ours.grads["beta"], theirs.bias.grad.numpy(), **TOL, name="beta")
    # torch's momentum 0.1 is ours 0.9; the running variance follows the course (biased batch
    # variance, torch's is unbiased), so it is checked against the formula.
    assert_close(
        ours.buffers["running_mean"], theirs.running_mean.numpy(), **TOL, name="running_mean"
    )
    expected_var = 0.9 + 0.1 * x.var(axis=(0, 2, 3))
    assert_close(ours.buffers["running_var"], expected_var, **TOL, name="running_var")


def test_batchnorm2d_eval_mode_matches_torch_and_keeps_the_running_statistics(rng):
    x = rng.standard_normal((3, 4, 5, 5))
    ours, theirs = make_batchnorm2d_pair(rng)
    ours.buffers["running_mean"] = rng.standard_normal(4)
    ours.buffers["running_var"] = rng.uniform(0.5, 2.0, 4)
    with torch.no_grad():
        theirs.running_mean.copy_(torch.from_numpy(ours.buffers["running_mean"]))
        theirs.running_var.copy_(torch.from_numpy(ours.buffers["running_var"]))
    before = ours.state_dict()
    assert_same(*run_both(ours.eval(), theirs.eval(), x, rng.standard_normal(x.shape)))
    assert_close(ours.grads["gamma"], theirs.weight.grad.numpy(), **TOL, name="gamma")
    np.testing.assert_array_equal(ours.buffers["running_var"], before["running_var"])


@pytest.mark.parametrize("groups", [1, 2, 6])
def test_groupnorm_matches_torch(rng, groups):
    x = 1 + 2 * rng.standard_normal((3, 6, 4, 5))
    ours = nn.GroupNorm(groups, 6)
    randomise(ours, rng)
    theirs = torch.nn.GroupNorm(groups, 6, eps=1e-5).double()
    copy_norm(ours, theirs)
    assert_same(*run_both(ours, theirs, x, rng.standard_normal(x.shape)))
    assert ours.grads["gamma"].shape == (6,)
    assert_close(ours.grads["gamma"], theirs.weight.grad.numpy(), **TOL, name="gamma")
    assert_close(ours.grads["beta"], theirs.bias.grad.numpy(), **TOL, name="beta")


class TorchBasicBlock(torch.nn.Module):
    """The residual block written directly in torch, for comparison."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(cout, momentum=0.1)
        self.conv2 = torch.nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(cout, momentum=0.1)
        self.projection = stride != 1 or cin != cout
        if self.projection:
            self.proj_conv = torch.nn.Conv2d(cin, cout, 1, stride, 0, bias=False)
            self.proj_bn = torch.nn.BatchNorm2d(cout, momentum=0.1)

    def forward(self, x):
        main = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        shortcut = self.proj_bn(self.proj_conv(x)) if self.projection else x
        return torch.relu(main + shortcut)


def torch_name(name):
    module, _, param = name.rpartition(".")
    return f"{module}.{ {'W': 'weight', 'gamma': 'weight', 'beta': 'bias'}[param] }"


@pytest.mark.parametrize(
    ("cin", "cout", "stride", "size"),
    [(4, 4, 1, 6), (3, 5, 1, 6), (4, 6, 2, 7)],
    ids=["identity", "projection", "strided-projection"],
)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_residual_block_matches_a_torch_block(rng, cin, cout, stride, size, training):
    ours = nn.ResidualBlock(cin, cout, stride=stride, seed=3)
    randomise(ours, rng)
    theirs = TorchBasicBlock(cin, cout, stride).double()
    torch_params = dict(theirs.named_parameters())
    with torch.no_grad():
        for name, value in ours.params.items():
            torch_params[torch_name(name)].copy_(torch.from_numpy(value))
        if not training:
            for name, value in ours.buffers.items():
                new = (
                    rng.uniform(0.5, 1.5, value.shape)
                    if "var" in name
                    else rng.normal(0, 1, value.shape)
                )
                ours.buffers[name] = new
                dict(theirs.named_buffers())[name].copy_(torch.from_numpy(new))
    ours.train(training)
    theirs.train(training)
    x = rng.standard_normal((3, cin, size, size))
    out_size = 1 + (size - 1) // stride
    dout = rng.standard_normal((3, cout, out_size, out_size))
    assert_same(*run_both(ours, theirs, x, dout))
    assert ours.projection == (stride != 1 or cin != cout)
    for name, grad in ours.grads.items():
        assert_close(grad, torch_params[torch_name(name)].grad.numpy(), **TOL, name=name)
    assert set(ours.grads) == set(ours.params)
    if training:
        for name, value in ours.buffers.items():
            if name.endswith("running_mean"):
                expected = dict(theirs.named_buffers())[name].numpy()
                assert_close(value, expected, **TOL, name=name)


def test_modules_list_their_parameters_for_regularisation_and_state():
    block = nn.ResidualBlock(2, 3, seed=0)
    assert sorted(block.regularized_names()) == ["conv1.W", "conv2.W", "proj_conv.W"]
    assert "bn1.running_mean" in block.state_dict()
    assert nn.Conv2d(1, 2, 3).regularized_names() == ["W"]
    assert nn.BatchNorm2d(3).regularized_names() == []


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: nn.Conv2d(0, 4, 3), r"in_channels must be a positive integer, got 0 \(int\)"),
        (lambda: nn.Conv2d(3, 4, (3, 3, 3)), r"kernel_size must be an int or .*\(3, 3, 3\)"),
        (lambda: nn.Conv2d(3, 4, 3, stride=0), r"stride must be a positive integer, got 0 \(int\)"),
        (
            lambda: nn.Conv2d(3, 4, 3, padding=-1),
            r"padding must be a non-negative integer, got -1 \(int\)",
        ),
        (
            lambda: nn.ConvTranspose2d(3, 0),
            r"out_channels must be a positive integer, got 0 \(int\)",
        ),
        (
            lambda: nn.ConvTranspose2d(3, 4, padding=-1),
            r"padding must be a non-negative integer, got -1 \(int\)",
        ),
        (
            lambda: nn.ConvTranspose2d(3, 4, weight_init="gaussian", weight_scale=-0.1),
            r"weight_scale must be .*-0.1",
        ),
        (lambda: nn.MaxPool2d(0), r"kernel_size must be a positive integer, got 0 \(int\)"),
        (lambda: nn.AvgPool2d((2, 3)), r"stride must be given for the non-square .*\(2, 3\)"),
        (lambda: nn.BatchNorm2d(4, momentum=1.5), r"momentum must be in \[0, 1\].*1.5"),
        (
            lambda: nn.BatchNorm2d(2.5),
            r"num_features must be a positive integer, got 2.5 \(float\)",
        ),
        (lambda: nn.GroupNorm(4, 6), "num_groups must divide num_channels, got num_groups=4"),
        (
            lambda: nn.ResidualBlock(3, 4, stride=0),
            r"stride must be a positive integer, got 0 \(int\)",
        ),
    ],
)
def test_bad_constructor_arguments_raise_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_inputs_of_the_wrong_shape_raise_value_error_naming_the_shapes(rng):
    x = rng.standard_normal((2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"needs \(N, 4, H, W\) inputs, got shape \(2, 3, 8, 8\)"):
        nn.Conv2d(4, 2, 3)(x)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(5\) needs \(N, 5, H, W\).*\(2, 3, 8, 8\)"):
        nn.BatchNorm2d(5)(x)
    with pytest.raises(ValueError, match=r"GroupNorm\(1, 4\) needs .*\(2, 3, 8, 8\)"):
        nn.GroupNorm(1, 4)(x)
    with pytest.raises(ValueError, match=r"\(H \+ 2\*pad - HH\) = 10 - 3 = 7 is not divisible by"):
        nn.Conv2d(3, 2, 3, stride=2, padding=1)(x)
    with pytest.raises(ValueError, match="not divisible by stride 2"):
        nn.MaxPool2d(3, stride=2)(x)
    with pytest.raises(ValueError, match="not divisible by stride 2"):
        nn.ResidualBlock(3, 4, stride=2)(x)
