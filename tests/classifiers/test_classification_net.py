"""ClassificationNet: the I2DL builder over nn.Sequential."""

import numpy as np
import pytest

from tinyvision import nn
from tinyvision.classifiers.classification_net import ClassificationNet


def layer_types(model):
    return [type(module).__name__ for module in model]


@pytest.mark.parametrize(
    ("activation", "name"),
    [(nn.ReLU, "ReLU"), (nn.Sigmoid, "Sigmoid"), (nn.Tanh, "Tanh"), ("leaky_relu", "LeakyReLU")],
)
def test_layer_stack_has_no_activation_after_the_last_linear(activation, name):
    model = ClassificationNet(
        activation=activation, num_layer=3, input_size=12, hidden_size=5, num_classes=4, seed=0
    )
    assert layer_types(model) == ["Linear", name, "Linear", name, "Linear"]
    assert isinstance(model[-1], nn.Linear)
    sizes = [(m.in_features, m.out_features) for m in model if isinstance(m, nn.Linear)]
    assert sizes == [(12, 5), (5, 5), (5, 4)]
    assert list(model.params) == ["0.W", "0.b", "2.W", "2.b", "4.W", "4.b"]


def test_logits_are_raw_affine_scores():
    X = np.random.default_rng(0).standard_normal((6, 2, 2, 2))
    model = ClassificationNet(
        activation=nn.ReLU, num_layer=2, input_size=8, hidden_size=5, num_classes=3, std=0.5, seed=1
    )
    hidden = np.maximum(X.reshape(6, -1) @ model.params["0.W"] + model.params["0.b"], 0)
    expected = hidden @ model.params["2.W"] + model.params["2.b"]
    np.testing.assert_allclose(model.loss(X), expected, rtol=1e-12)
    assert (model.loss(X) < 0).any(), "negative scores must survive (no ReLU on the logits)"


def test_defaults_follow_i2dl():
    model = ClassificationNet(seed=0)
    assert layer_types(model) == ["Linear", "Sigmoid", "Linear"]
    assert model.params["0.W"].shape == (3 * 32 * 32, 100)
    assert model.params["2.W"].shape == (100, 10)
    assert model.params["0.W"].std() == pytest.approx(1e-3, rel=0.02)
    assert model.reg == 0 and model.loss_name == "softmax"


def test_one_layer_is_a_linear_classifier_and_each_activation_is_a_fresh_instance():
    assert layer_types(ClassificationNet(num_layer=1, input_size=4, num_classes=2)) == ["Linear"]
    model = ClassificationNet(activation=nn.Tanh, num_layer=3, input_size=4, hidden_size=3)
    assert model[1] is not model[3]


def test_trains_with_forward_backward_and_with_loss():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 3))
    y = (X[:, 0] > 0).astype(int)
    model = ClassificationNet(
        activation=nn.ReLU, input_size=3, hidden_size=8, num_classes=2, std=0.5, reg=1e-3, seed=3
    )
    first, _ = model.loss(X, y)
    for _ in range(200):
        _, grads = model.loss(X, y)
        for name, value in model.params.items():
            model.params[name] = value - 0.5 * grads[name]
    last, _ = model.loss(X, y)
    assert last < 0.5 * first
    assert np.mean(np.argmax(model.loss(X), axis=1) == y) > 0.9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"activation": "swish"}, "activation must be a Module class"),
        ({"activation": np.tanh}, "activation must be a Module class"),
        ({"activation": nn.ReLU()}, "activation must be a Module class"),
        (
            {"num_layer": 0},
            "num_layer must be a positive integer, got 0 .*counts the Linear layers",
        ),
        ({"num_layer": 2.0}, r"num_layer must be a positive integer, got 2.0 \(float\)"),
        ({"hidden_size": 0}, "out_features must be a positive integer"),
        ({"loss": "mse"}, "unknown loss 'mse'"),
        ({"std": 0.1, "weight_init": "normal"}, "unknown weight_init 'normal'"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClassificationNet(input_size=4, **kwargs)
