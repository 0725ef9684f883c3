"""tinyvision.init (weight initialisation), as used by nn.Linear and the course models."""

import numpy as np
import pytest

from tinyvision import init, nn
from tinyvision.classifiers.fc_net import FullyConnectedNet, TwoLayerNet


@pytest.mark.parametrize(
    ("shape", "fans"),
    [((30, 20), (30, 20)), ((8, 3, 5, 5), (75, 200)), ((4, 2, 3), (6, 12))],
)
def test_fan_in_and_fan_out(shape, fans):
    assert init.fan_in_and_fan_out(shape) == fans


def test_fan_in_of_a_vector_is_rejected():
    with pytest.raises(ValueError, match="expected \\(D_in, D_out\\)"):
        init.fan_in_and_fan_out((5,))


@pytest.mark.parametrize(
    ("method", "expected_std"),
    [
        ("gaussian", 0.03),
        ("lecun", np.sqrt(1 / 500)),
        ("xavier", np.sqrt(2 / (500 + 400))),
        ("glorot", np.sqrt(2 / (500 + 400))),
        ("kaiming", np.sqrt(2 / 500)),
        ("he", np.sqrt(2 / 500)),
    ],
)
def test_standard_deviations(method, expected_std):
    w = init.init_weight(method, (500, 400), np.random.default_rng(0), weight_scale=0.03)
    assert w.shape == (500, 400)
    assert abs(w.mean()) < 3 * expected_std / np.sqrt(w.size)
    assert w.std() == pytest.approx(expected_std, rel=0.01)


def test_course_alias_names_are_the_same_functions():
    # Their standard deviations are checked above, through init_weight's name lookup.
    assert init.glorot is init.xavier
    assert init.he is init.kaiming


def test_conv_shapes_use_the_receptive_field():
    w = init.kaiming((64, 16, 3, 3), np.random.default_rng(1))
    assert w.std() == pytest.approx(np.sqrt(2 / (16 * 9)), rel=0.02)


def test_functions_are_pure_and_seeded():
    a = init.xavier((5, 4), np.random.default_rng(3))
    b = init.xavier((5, 4), np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert init.init_weight("he", (5, 4), np.random.default_rng(3), dtype=np.float32).dtype == (
        np.float32
    )


def test_linear_uses_the_chosen_scheme_and_seed():
    a = nn.Linear(300, 200, weight_init="xavier", seed=4)
    b = nn.Linear(300, 200, weight_init="xavier", seed=4)
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    assert a.params["W"].std() == pytest.approx(np.sqrt(2 / 500), rel=0.02)
    assert not a.params["b"].any()
    g = nn.Linear(300, 200, weight_init="gaussian", weight_scale=1e-3, seed=4)
    assert g.params["W"].std() == pytest.approx(1e-3, rel=0.02)


def test_unknown_method_lists_the_choices():
    with pytest.raises(ValueError, match="unknown weight_init 'orthogonal'; choose one of"):
        init.init_weight("orthogonal", (2, 2), np.random.default_rng(0))


def test_without_a_seed_models_follow_numpys_global_seed():
    builders = [
        lambda: nn.Linear(5, 4).params["W"],
        lambda: TwoLayerNet(input_dim=5, hidden_dim=4).params["W1"],
        lambda: FullyConnectedNet([4], input_dim=5).params["W1"],
    ]
    for build in builders:
        np.random.seed(231)
        first = build()
        np.random.seed(231)
        np.testing.assert_array_equal(build(), first)
        assert not np.array_equal(build(), first)
    np.testing.assert_array_equal(
        init.make_rng(7).standard_normal(3), np.random.default_rng(7).standard_normal(3)
    )
