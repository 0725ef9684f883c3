"""The named architectures: their layers, gradients, training, validation and registration.

Training is checked on data built here (never CIFAR-10): a few Adam steps on one batch lower
each network's loss, and `tinyvision train --dataset cifar10` runs each registered model end to
end on a small stand-in for CIFAR-10 of the same shape.
"""

import json

import numpy as np
import pytest
from assertions import assert_close

from tinyvision import classification, nn
from tinyvision.classifiers.architectures import (
    VGG,
    VGG_CONFIGURATIONS,
    AlexNetSmall,
    InceptionNet,
    LeNet5,
    ResNet,
)
from tinyvision.cli import main
from tinyvision.optim import adam

NAMES = ["lenet5", "alexnet-small", "vgg", "inception", "resnet"]
TINY_BLOCKS = (None, (1, 2, 2, 1, 2, 1), None, (2, 1, 1, 1, 1, 2))


def kinds(model):
    return [type(m).__name__ for m in model]


def test_lenet5_is_the_papers_sequence_of_layers():
    model = LeNet5(seed=0)
    assert kinds(model) == [
        "Conv2d", "Tanh", "AvgPool2d", "Conv2d", "Tanh", "AvgPool2d", "Flatten",
        "Linear", "Tanh", "Linear", "Tanh", "Linear",
    ]  # fmt: skip
    shapes = [p.shape for p in model.params.values()]
    assert shapes == [
        (6, 3, 5, 5), (6,), (16, 6, 5, 5), (16,), (400, 120), (120,), (120, 84), (84,),
        (84, 10), (10,),
    ]  # fmt: skip


def test_alexnet_small_has_five_convolutions_three_pools_and_two_dropout_layers():
    model = AlexNetSmall(seed=0)
    names = kinds(model)
    assert names.count("Conv2d") == 5 and names.count("MaxPool2d") == 3
    assert names.count("Linear") == 3 and names.count("Dropout") == 2
    assert names.index("Dropout") < names.index("Linear")
    assert "Dropout" not in kinds(AlexNetSmall(dropout=0.0))


@pytest.mark.parametrize("depth", sorted(VGG_CONFIGURATIONS))
def test_vgg_depth_sets_the_convolutions_of_each_stage(depth):
    model = VGG(depth=depth, channels=(2, 2, 2, 2, 2), seed=0)
    names = kinds(model)
    stages = "".join("c" if n == "Conv2d" else "|" if n == "MaxPool2d" else "" for n in names)
    assert [len(s) for s in stages.split("|")[:-1]] == list(VGG_CONFIGURATIONS[depth])
    # the convolutions plus the original's three fully-connected layers
    assert names.count("Conv2d") + 3 == depth


def test_inception_blocks_have_four_paths_and_stack_their_widths():
    model = InceptionNet(seed=0)
    blocks = [m for m in model if isinstance(m, nn.Branches)]
    assert len(blocks) == 4 and all(len(block) == 4 for block in blocks)
    x = np.zeros((1, 3, 32, 32), dtype=np.float32)
    for layer in model:
        x = layer.forward(x)
        if isinstance(layer, nn.Branches):
            assert x.shape[1] in (16 + 32 + 8 + 8, 32 + 48 + 24 + 16, 48 + 52 + 12 + 16)


def test_resnet_stages_of_residual_blocks_project_where_the_width_changes():
    model = ResNet(channels=(4, 8), blocks_per_stage=2, seed=0)
    blocks = [m for m in model if isinstance(m, nn.ResidualBlock)]
    assert [(b.in_channels, b.out_channels, b.projection) for b in blocks] == [
        (4, 4, False), (4, 4, False), (4, 8, True), (8, 8, False),
    ]  # fmt: skip


def tiny(name, **kwargs):
    """A float64 network of each architecture small enough for numerical gradients."""
    options = {"seed": 0, "dtype": np.float64, "num_classes": 3, "reg": 0.1}
    builds = {
        "lenet5": lambda: LeNet5(input_shape=(1, 32, 32), **options),
        "alexnet-small": lambda: AlexNetSmall(
            (2, 2, 2, 2, 2), (3, 3), input_shape=(1, 8, 8), dropout=0.0, **options
        ),
        "vgg": lambda: VGG(11, (1, 2, 2, 2, 2), input_shape=(1, 32, 32), **options),
        "inception": lambda: InceptionNet(TINY_BLOCKS, 2, input_shape=(1, 4, 4), **options),
        "resnet": lambda: ResNet((2, 3), 1, input_shape=(1, 4, 4), **options),
    }
    return builds[name]()


@pytest.mark.parametrize("name", NAMES)
def test_loss_gradients_match_numerical_gradients(name):
    rng = np.random.default_rng(2)
    model = tiny(name)
    X = rng.standard_normal((3, *model.input_shape))
    y = np.array([0, 2, 1])
    for key, value in model.params.items():  # batch norm away from its initial identity
        if key.endswith(("gamma", "beta")):
            model.params[key] = float(key.endswith("gamma")) + 0.3 * rng.standard_normal(
                value.shape
            )
    _, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    # Every parameter, at four random entries (centred differences, h = 1e-5).
    for key, value in model.params.items():
        for flat in rng.choice(value.size, size=min(4, value.size), replace=False):
            index = np.unravel_index(flat, value.shape)
            numeric = centred_difference(lambda: model.loss(X, y)[0], value, index)
            assert_close(grads[key][index], numeric, rtol=1e-6, atol=1e-8, name=f"{key}{index}")


def centred_difference(loss, value, index, h=1e-5):
    """(loss(value[index] + h) - loss(value[index] - h)) / 2h, value restored afterwards."""
    old = value[index]
    value[index] = old + h
    plus = loss()
    value[index] = old - h
    minus = loss()
    value[index] = old
    return (plus - minus) / (2 * h)


# Narrow versions of the architectures at 32x32 (the tests' time goes with the widths).
NARROW = {
    "lenet5": lambda: LeNet5(seed=0),
    "alexnet-small": lambda: AlexNetSmall((8, 8, 8, 8, 8), (16, 16), seed=0),
    "vgg": lambda: VGG(11, (4, 4, 8, 8, 8), seed=0),
    "inception": lambda: InceptionNet(
        (None, (4, 4, 4, 2, 2, 2), None, (4, 4, 4, 2, 2, 2)), 8, seed=0
    ),
    "resnet": lambda: ResNet((4, 8), 1, seed=0),
}


@pytest.mark.parametrize("name", NAMES)
def test_a_few_adam_steps_on_one_batch_lower_the_loss(name):
    """Each architecture on 10 images whose class sets their colour."""
    rng = np.random.default_rng(0)
    y = np.arange(10)
    X = rng.standard_normal((10, 3, 32, 32)).astype(np.float32)
    X[np.arange(10), y % 3] += y[:, None, None] / 5
    model = NARROW[name]()
    states = {}
    first, _ = model.loss(X, y)
    for _ in range(8):
        _, grads = model.loss(X, y)
        for key, value in model.params.items():
            state = states.get(key, {"learning_rate": 1e-2})
            model.params[key], states[key] = adam(value, grads[key], state)
    last, _ = model.loss(X, y)
    assert last < 0.7 * first, f"{name}: loss {first:.3f} -> {last:.3f}"


def test_a_seed_fixes_every_weight_and_none_follows_np_random_seed():
    a, b, c = (InceptionNet(seed=s, blocks=TINY_BLOCKS, input_shape=(3, 4, 4)) for s in (1, 1, 2))
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])
    assert any(not np.array_equal(a.params[k], c.params[k]) for k in a.params)
    np.random.seed(231)
    d = ResNet((2,), 1, input_shape=(3, 4, 4))
    np.random.seed(231)
    e = ResNet((2,), 1, input_shape=(3, 4, 4))
    for key in d.params:
        np.testing.assert_array_equal(d.params[key], e.params[key])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: LeNet5(input_shape=(1, 8, 8)), r"at least 32 pixels.*--dataset cifar10"),
        (lambda: LeNet5(input_shape=(3, 64, 64)), r"lenet5 takes 32x32 images"),
        (lambda: VGG(depth=12), r"depth must be one of \[11, 13, 16, 19\]"),
        (lambda: VGG(input_shape=(3, 16, 16)), r"vgg needs images whose sides are multiples of 32"),
        (lambda: AlexNetSmall(channels=(8, 8)), r"channels must be 5 positive ints"),
        (lambda: AlexNetSmall(hidden_dims=(8, 0)), r"hidden_dims\[1\]"),
        (lambda: AlexNetSmall(dropout=1.0), r"probability of dropping"),
        (lambda: InceptionNet(blocks=((1, 2, 3),)), r"six widths"),
        (lambda: ResNet(channels=()), r"non-empty list of stage widths"),
        (lambda: ResNet(input_shape=(3, 30, 30)), r"multiples of 4"),
    ],
)
def test_bad_arguments_say_what_was_expected(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_images_of_another_shape_are_refused_by_loss():
    model = LeNet5(seed=0)
    with pytest.raises(ValueError, match=r"X must be \(N, 3, 32, 32\) images"):
        model.loss(np.zeros((2, 3, 28, 28)))


@pytest.mark.parametrize("name", NAMES)
def test_the_digits_are_refused_before_any_data_is_read(name, capsys, tmp_path):
    assert main(["train", "--model", name, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"{name} is built for 32x32 images" in err and "--dataset cifar10" in err
    assert not (tmp_path / "r").exists()


def stand_in_for_cifar10(config, dtype):
    """20 train, 10 val and 10 test images of CIFAR-10's shape, raw pixel values."""
    rng = np.random.default_rng(0)
    splits = {}
    for split, count in (("train", 20), ("val", 10), ("test", 10)):
        splits[f"X_{split}"] = rng.uniform(0, 255, (count, 3, 32, 32)).astype(dtype)
        splits[f"y_{split}"] = np.arange(count) % 10
    return splits


@pytest.mark.parametrize(
    ("name", "narrower"),
    [
        ("lenet5", []),
        ("alexnet-small", ["--channels", "4,4,4,4,4", "--hidden-dims", "8,8"]),
        ("vgg", ["--channels", "2,2,2,2,2", "--depth", "13"]),
        ("inception", []),
        ("resnet", ["--channels", "4,8"]),
    ],
)
def test_train_runs_each_model_on_cifar10_with_its_recipe(name, narrower, tmp_path, monkeypatch):
    monkeypatch.setitem(classification.DATASET_LOADERS, "cifar10", stand_in_for_cifar10)
    out = tmp_path / "run"
    argv = ["-q", "train", "--model", name, "--dataset", "cifar10", "--epochs", "1", *narrower]
    assert main([*argv, "--batch-size", "10", "--threads", "1", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["update_rule"], config["schedule"], config["batch_size"]) == (
        "adam",
        "cosine",
        10,
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == name and 0 <= metrics["test_acc"] <= 1
    assert (out / "filters.png").is_file()
