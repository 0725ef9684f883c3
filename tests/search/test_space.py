"""Search spaces: TOML in, checked before any training, defaults for every classifier."""

import math

import pytest

from tinyvision import registry
from tinyvision.config import resolve_config
from tinyvision.search.space import (
    Param,
    default_space,
    load_space,
    parse_space,
    space_to_toml,
)


def _space(**search):
    return {"model": "two-layer", "search": search}


def test_a_toml_file_parses_into_typed_params_and_round_trips(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(
        'model = "fc"\nsampler = "random"\npruner = "halving"\n'
        '[fixed]\nepochs = 3\nnormalization = "none"\n'
        '[search.learning_rate]\ntype = "log-uniform"\nlow = 1e-4\nhigh = 1e-1\n'
        '[search.hidden_dims]\ntype = "choice"\nvalues = [[64], [128, 64]]\n'
        '[search.dropout]\ntype = "uniform"\nlow = 0\nhigh = 0.5\n'
    )
    space = load_space(path)
    assert (space.model, space.dataset, space.sampler, space.pruner) == (
        "fc",
        "digits",
        "random",
        "halving",
    )
    assert space.fixed == {"epochs": 3, "normalization": "none"}
    params = {p.name: p for p in space.params}
    assert params["learning_rate"] == Param("learning_rate", "log-uniform", 1e-4, 1e-1, log=True)
    assert params["hidden_dims"].values == ((64,), (128, 64))
    assert params["dropout"].low == 0.0 and isinstance(params["dropout"].low, float)
    again = tmp_path / "again.toml"
    again.write_text(space_to_toml(space))
    assert load_space(again) == space


@pytest.mark.parametrize(
    "values, key, problem",
    [
        (
            _space(momentum={"type": "uniform", "low": 0.1, "high": 0.9}),
            "search.momentum",
            "unknown parameter",
        ),
        (_space(out={"type": "choice", "values": ["a"]}), "search.out", "cannot be searched"),
        (_space(data_dir={"type": "choice", "values": ["a"]}), "search.data_dir", "[fixed]"),
        ({"model": "two-layer", "fixed": {"out": "x"}}, "fixed.out", "cannot be set in [fixed]"),
        (_space(reg={"type": "uniform", "low": 0.1, "high": 0.1}), "search.reg", "empty range"),
        (_space(reg={"type": "uniform", "low": 0.5, "high": 0.1}), "search.reg", "empty range"),
        (_space(reg={"type": "choice", "values": []}), "search.reg.values", "non-empty list"),
        (
            _space(reg={"type": "log-uniform", "low": 0, "high": 1}),
            "search.reg.low",
            "positive bounds",
        ),
        (_space(k={"type": "int", "low": -1, "high": 5, "log": True}), "search.k.low", "k must be"),
        (
            _space(learning_rate={"type": "uniform", "low": "a", "high": 1}),
            "search.learning_rate.low",
            "expected a number",
        ),
        (_space(k={"type": "int", "low": 1.5, "high": 5}), "search.k.low", "expected an integer"),
        (_space(k={"type": "uniform", "low": 1, "high": 5}), "search.k.type", "integer setting"),
        (_space(reg={"type": "normal", "low": 1, "high": 5}), "search.reg.type", "choice, uniform"),
        (
            _space(reg={"type": "uniform", "low": 1, "high": 5, "step": 1}),
            "search.reg.step",
            "not a key",
        ),
        (
            _space(dropout={"type": "uniform", "low": 0, "high": 1.5}),
            "search.dropout.high",
            "dropout",
        ),
        (
            _space(update_rule={"type": "choice", "values": ["adam", "newton"]}),
            "search.update_rule.values",
            "newton",
        ),
        (
            # lbfgs is an update rule, but only the linear models' own fit offers it.
            _space(update_rule={"type": "choice", "values": ["adam", "lbfgs"]}),
            "search.update_rule.values",
            "--update-rule lbfgs trains full-batch",
        ),
        (
            _space(hidden_dims={"type": "choice", "values": [[64], ["wide"]]}),
            "search.hidden_dims.values",
            "items must be int",
        ),
        ({"model": "two-layer", "epochs": 3}, "epochs", "unknown key"),
        ({"model": "two-layer", "fixed": {"epochs": "3"}}, "fixed.epochs", "expected int"),
        ({"model": "nope"}, "model", "is not one of"),
        ({"model": "lstm"}, "model", "captioning"),
        ({"model": "knn", "sampler": "bayes"}, "sampler", "grid, random, tpe"),
        ({"model": "softmax", "dataset": "mnist"}, "unknown dataset", "mnist"),
        (
            {
                "model": "two-layer",
                "fixed": {"reg": 0.1},
                "search": {"reg": {"type": "uniform", "low": 0, "high": 1}},
            },
            "search.reg",
            "also in [fixed]",
        ),
    ],
)
def test_a_bad_space_is_refused_naming_the_key_and_the_problem(values, key, problem):
    with pytest.raises(ValueError) as error:
        parse_space(values, source="space.toml")
    message = str(error.value)
    assert message.startswith("space.toml: ")
    assert key in message and problem in message


def test_missing_and_malformed_files_say_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_space(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("model = \n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_space(bad)


@pytest.mark.parametrize("model", registry.names("classification"))
def test_every_classifier_has_a_default_space_its_configs_resolve_in(model):
    if model.startswith("torch"):
        pytest.importorskip("torch", reason="the PyTorch track needs: pip install -e '.[torch]'")
    # The named architectures take only CIFAR-10's 32x32 images.
    dataset = "digits" if "digits" in registry.get(model).defaults else "cifar10"
    space = default_space(model, dataset)
    assert space.params and space.model == model
    for param in space.params:
        # Each end of every range (and every choice) is a setting the model accepts.
        for value in param.grid():
            config_class = space.base_config().__class__
            resolve_config(config_class(model=model, dataset=dataset, **{param.name: value}))


def test_cifar10_linear_defaults_use_the_course_scale_of_rates():
    digits = {p.name: p for p in default_space("svm").params}
    cifar = {p.name: p for p in default_space("svm", "cifar10").params}
    assert cifar["learning_rate"].high < digits["learning_rate"].low
    assert cifar["reg"].low > digits["reg"].high


def test_lbfgs_is_a_choice_for_the_models_that_offer_it():
    space = parse_space(
        {
            "model": "softmax",
            "search": {"update_rule": {"type": "choice", "values": ["sgd", "lbfgs"]}},
        }
    )
    assert space.params[0].values == ("sgd", "lbfgs")


def test_a_space_without_search_table_takes_the_models_defaults():
    space = parse_space({"model": "two-layer", "fixed": {"epochs": 2}})
    assert space.params == default_space("two-layer").params
    assert space.fixed == {"epochs": 2}


def test_grid_points_cover_each_range_inclusively():
    log = Param("learning_rate", "log-uniform", 1e-3, 1.0, log=True).grid()
    assert log[0] == pytest.approx(1e-3) and log[-1] == pytest.approx(1.0)
    ratios = [b / a for a, b in zip(log, log[1:], strict=False)]
    assert all(math.isclose(r, ratios[0]) for r in ratios)
    assert Param("k", "int", 1, 10).grid() == (1, 4, 7, 10)
    assert Param("dropout", "uniform", 0.0, 0.3).grid() == pytest.approx((0.0, 0.1, 0.2, 0.3))
