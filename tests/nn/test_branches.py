"""nn.Branches (parallel paths, outputs concatenated on the channels) and nn.ZeroPad2d."""

import numpy as np
import pytest
from assertions import assert_close

from tinyvision import nn
from tinyvision.gradient_check import eval_numerical_gradient_array


def inception_like(seed=0):
    """Four paths as in an Inception block, in float64."""
    return nn.Branches(
        nn.Conv2d(3, 2, 1, seed=seed),
        nn.Sequential(nn.Conv2d(3, 2, 1, seed=seed + 1), nn.ReLU(), nn.Conv2d(2, 3, 3, padding=1)),
        nn.Sequential(nn.Conv2d(3, 1, 5, padding=2, seed=seed + 2), nn.Tanh()),
        nn.Sequential(nn.ZeroPad2d(1), nn.MaxPool2d(3, stride=1), nn.Conv2d(3, 2, 1)),
    )


def test_output_stacks_each_paths_output_in_order():
    rng = np.random.default_rng(0)
    block = inception_like()
    x = rng.standard_normal((2, 3, 5, 5))
    out = block.forward(x)
    assert out.shape == (2, 2 + 3 + 1 + 2, 5, 5)
    expected = np.concatenate([branch.forward(x) for branch in block], axis=1)
    np.testing.assert_array_equal(out, expected)


def test_gradients_of_the_input_and_every_parameter_match_numerical_ones():
    rng = np.random.default_rng(1)
    block = inception_like(seed=5)
    x = rng.standard_normal((2, 3, 4, 4))
    dout = rng.standard_normal((2, 8, 4, 4))
    block.forward(x)
    dx = block.backward(dout)

    def output(_):
        return block.forward(x)

    assert_close(dx, eval_numerical_gradient_array(output, x, dout), rtol=1e-7, atol=1e-9)
    grads = block.grads
    assert set(grads) == set(block.params)
    for name in block.params:
        numeric = eval_numerical_gradient_array(output, block.params[name], dout)
        assert_close(grads[name], numeric, rtol=1e-6, atol=1e-9, name=name)


def test_parameter_names_are_dotted_by_branch():
    names = list(inception_like().params)
    assert names[:2] == ["0.W", "0.b"] and "1.2.W" in names and "3.2.W" in names


def test_branches_refuse_mismatched_sizes_and_fewer_than_two_paths():
    block = nn.Branches(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 1))
    with pytest.raises(ValueError, match="agree in every axis but the channels"):
        block.forward(np.zeros((1, 1, 5, 5)))
    with pytest.raises(ValueError, match="two or more"):
        nn.Branches(nn.ReLU())
    with pytest.raises(ValueError, match="Module instances, got int at position 1"):
        nn.Branches(nn.ReLU(), 3)


def test_zero_pad_puts_zeros_around_and_its_gradient_is_the_centre():
    x = np.arange(6.0).reshape(1, 1, 2, 3)
    pad = nn.ZeroPad2d(1)
    out = pad.forward(x)
    assert out.shape == (1, 1, 4, 5) and out.sum() == x.sum()
    np.testing.assert_array_equal(out[0, 0, 1:3, 1:4], x[0, 0])
    dout = np.arange(20.0).reshape(1, 1, 4, 5)
    np.testing.assert_array_equal(pad.backward(dout), dout[:, :, 1:3, 1:4])
    assert pad.forward(x.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="padding"):
        nn.ZeroPad2d(-1)
