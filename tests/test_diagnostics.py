"""The gradient checks behind `tinyvision gradcheck`: complete, non-vacuous, and able to fail."""

import dataclasses
import inspect

import numpy as np
import pytest

import tinyvision.fast_layers
import tinyvision.layer_utils
import tinyvision.layers
import tinyvision.layers.attention
import tinyvision.rnn_layers
import tinyvision.transformer_layers
from tinyvision import diagnostics
from tinyvision.diagnostics import GRADIENT_CHECKS, check_layer, gradient_checks

# Every module whose public functions are layers with a hand-written backward pass.
LAYER_MODULES = (
    tinyvision.layers,
    tinyvision.rnn_layers,
    tinyvision.transformer_layers,
    tinyvision.layers.attention,
    tinyvision.fast_layers,
    tinyvision.layer_utils,
)

# Public backward passes (or losses) deliberately left without a gradient check, as
# "module.name": "reason". Nothing is excluded today; an entry needs a reason why the function
# cannot be checked by centred differences, and must name a function that exists.
EXCLUDED: dict[str, str] = {}

# Inputs whose true gradient is zero, so their numerical gradient is only rounding noise.
ZERO_GRADIENTS = {
    # A batch norm subtracts the batch mean, which cancels the bias of the layer before it.
    ("affine_batchnorm_relu", "b"),
    ("affine_batchnorm_relu_dropout", "b"),
    ("affine_bn_relu", "b"),
    ("conv_bn_relu", "b"),
    # Softmax over the keys ignores q . bk, the same shift for every key of a query.
    ("attention", "bk"),
    ("attention_dropout", "bk"),
}


def _public_functions(kind):
    """(qualified name, function) of every public function of LAYER_MODULES of one kind.

    kind: "backward" (a name with `_backward` in it: relu_backward, conv_backward_fast,
    batchnorm_backward_alt), "loss" (a name ending in `_loss`) or "" for all of them
    """
    found = []
    for module in LAYER_MODULES:
        names = getattr(module, "__all__", [n for n in dir(module) if not n.startswith("_")])
        for name in names:
            value = getattr(module, name)
            if not inspect.isfunction(value):
                continue
            if (
                not kind
                or (kind == "backward" and "_backward" in name)
                or (kind == "loss" and name.endswith("_loss"))
            ):
                found.append((f"{module.__name__}.{name}", value))
    return found


def _covered():
    return [function for check in gradient_checks().values() for function in check.covers]


def test_backward_functions_are_found():
    # Guards the enumeration itself: if it found nothing, the coverage test would pass vacuously.
    names = {name.rsplit(".", 1)[1] for name, _ in _public_functions("backward")}
    for expected in (
        "relu_backward",
        "conv_backward_fast",
        "max_pool_backward_reshape",
        "batchnorm_backward_alt",
        "lstm_step_backward",
        "multihead_attention_backward",
        "conv_bn_relu_backward",
    ):
        assert expected in names
    assert len(names) >= 40
    losses = {name.rsplit(".", 1)[1] for name, _ in _public_functions("loss")}
    assert {"svm_loss", "softmax_loss", "temporal_softmax_loss"} <= losses


@pytest.mark.parametrize("kind", ["backward", "loss"])
def test_every_public_backward_and_loss_has_a_gradient_check(kind):
    covered = _covered()
    # Functions are compared as objects, so an alias (fast_layers.conv_backward_im2col is
    # conv_backward_fast) is covered by the check of the function it names.
    missing = [
        name
        for name, function in _public_functions(kind)
        if not any(function is c for c in covered) and name not in EXCLUDED
    ]
    assert not missing, f"no gradient check in tinyvision.diagnostics for {missing}"


def test_exclusions_name_existing_functions_and_say_why():
    public = dict(_public_functions("backward") + _public_functions("loss"))
    for name, reason in EXCLUDED.items():
        assert name in public, f"{name} is excluded but is not a public backward or loss"
        assert reason.strip()


def test_checks_cover_library_functions_not_adapters():
    public = {id(function) for _, function in _public_functions("")}
    for name, check in gradient_checks().items():
        assert check.covers, name
        for function in check.covers:
            assert function.__name__ != "<lambda>", name
            assert id(function) in public, f"{name} covers {function}, which is not a layer"


def test_names_are_unique_and_include_the_original_eight():
    assert len(set(GRADIENT_CHECKS)) == len(GRADIENT_CHECKS) == len(gradient_checks())
    original = {"affine", "relu", "batchnorm", "layernorm", "dropout", "conv", "max_pool"}
    assert original | {"spatial_batchnorm"} <= set(GRADIENT_CHECKS)


@pytest.mark.parametrize("name", GRADIENT_CHECKS)
def test_gradient_check_passes_and_compares_real_gradients(name):
    check = gradient_checks()[name]
    reports = check_layer(name)
    inputs = check.make_inputs(np.random.default_rng(0))
    assert [r.input for r in reports] == list(inputs)
    for report in reports:
        assert all(np.issubdtype(a.dtype, np.float64) for a in inputs.values())
        assert report.analytic.shape == report.numeric.shape == inputs[report.input].shape
        assert report.error <= check.tolerance, report.worst()
        if (name, report.input) in ZERO_GRADIENTS:
            assert report.zero and np.abs(report.analytic).max() < diagnostics.ZERO_GRADIENT
        else:
            # A check whose numerical gradient vanished would pass whatever the backward did.
            assert not report.zero
            assert np.abs(report.numeric).max() > 1e-3, (name, report.input)


def test_check_layer_is_deterministic_and_restores_the_global_rng():
    np.random.seed(123)
    expected = np.random.rand(3)
    np.random.seed(123)
    first = check_layer("dropout", seed=5)  # seeded dropout reseeds NumPy's global generator
    assert np.array_equal(np.random.rand(3), expected)
    second = check_layer("dropout", seed=5)
    assert np.array_equal(first[0].analytic, second[0].analytic)
    assert not np.array_equal(first[0].analytic, check_layer("dropout", seed=6)[0].analytic)


def _perturbed(check, input_index, delta):
    """check with delta added to the gradient its backward returns for one input."""

    def backward(dout, cache):
        grads = check.backward(dout, cache)
        grads = list(grads) if isinstance(grads, tuple) else [grads]
        grads[input_index] = grads[input_index] + delta
        return tuple(grads)

    return dataclasses.replace(check, backward=backward)


@pytest.mark.parametrize("name", ["affine", "lstm_step", "attention", "svm_loss", "conv_bn_relu"])
def test_a_wrong_gradient_of_any_input_fails_and_is_reported(name):
    check = gradient_checks()[name]
    names = list(check.make_inputs(np.random.default_rng(0)))
    for index, input_name in enumerate(names):
        reports = check_layer(name, check=_perturbed(check, index, 1e-4))
        failing = [r.input for r in reports if r.error > check.tolerance]
        assert failing == [input_name]
        assert input_name in reports[index].worst() and "analytic" in reports[index].worst()


def test_wrong_gradient_shape_is_infinite_error():
    check = gradient_checks()["affine"]

    def backward(dout, cache):
        dx, dw, db = check.backward(dout, cache)
        return dx, dw, db[None, :]  # (1, M) broadcasts against (M,); it must still fail

    reports = check_layer("affine", check=dataclasses.replace(check, backward=backward))
    assert reports[2].error == float("inf") and "shape" in reports[2].worst()


def test_wrong_number_of_gradients_is_an_error():
    check = gradient_checks()["affine"]
    broken = dataclasses.replace(
        check, backward=lambda dout, cache: check.backward(dout, cache)[:2]
    )
    with pytest.raises(ValueError, match="2 gradients for the 3 inputs"):
        check_layer("affine", check=broken)


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="choose from affine, relu"):
        check_layer("no_such_layer")


def test_run_gradient_check_keeps_its_per_input_dict():
    errors = diagnostics.run_gradient_check("affine")
    assert list(errors) == ["x", "w", "b"] and max(errors.values()) < diagnostics.TOLERANCE
