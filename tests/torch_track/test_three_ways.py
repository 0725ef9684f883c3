"""The course's three ways of writing a network in PyTorch: barebones, nn.Module, nn.Sequential.

Forward passes are checked against NumPy computations of the same formulas (our conv layer for
the convolutions), accuracies against NumPy argmax counts, training on a few batches of tiny
separable data (the loss must fall), and every course name against its documented behaviour.
"""

import logging

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch track needs: pip install -e '.[torch]'")

from assertions import assert_close  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from tinyvision.layers import conv_forward_fast  # noqa: E402
from tinyvision.torch import barebones, modules  # noqa: E402
from tinyvision.torch.barebones import (  # noqa: E402
    check_accuracy_part2,
    flatten,
    random_weight,
    sgd_step,
    three_layer_convnet,
    train_part2,
    two_layer_fc,
    zero_weight,
)
from tinyvision.torch.modules import (  # noqa: E402
    Flatten,
    ThreeLayerConvNet,
    TwoLayerFC,
    check_accuracy,
    sequential_three_layer_convnet,
    train,
)

F64 = {"rtol": 1e-10, "atol": 1e-12}
IMAGE = (3, 6, 6)
CLASSES = 3


def relu(a):
    return np.maximum(a, 0.0)


def numpy_conv(x, w, b, pad):
    return conv_forward_fast(x, w, b, {"stride": 1, "pad": pad})[0]


def separable_data(n=60, seed=0):
    """Noisy images whose channel y is brighter by 1: one class per channel, learnt in a few steps.

    returns x (n, 3, 6, 6) float32, y (n,) int64
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, n)
    x = rng.standard_normal((n, *IMAGE)) + np.eye(CLASSES)[y][:, :, None, None]
    return torch.from_numpy(x).float(), torch.from_numpy(y)


def loader(x, y, batch_size=10):
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False)


def barebones_conv_params(dtype=torch.float64, channel_1=4, channel_2=5):
    h, w = IMAGE[1:]
    return [
        random_weight((channel_1, IMAGE[0], 5, 5), dtype=dtype),
        zero_weight((channel_1,), dtype=dtype),
        random_weight((channel_2, channel_1, 3, 3), dtype=dtype),
        zero_weight((channel_2,), dtype=dtype),
        random_weight((channel_2 * h * w, CLASSES), dtype=dtype),
        zero_weight((CLASSES,), dtype=dtype),
    ]


# --- Part II: barebones ----------------------------------------------------------------------


def test_flatten_keeps_the_batch_and_orders_like_numpy_reshape():
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float64).reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(flatten(x).numpy(), x.numpy().reshape(2, -1))
    np.testing.assert_array_equal(Flatten()(x).numpy(), x.numpy().reshape(2, -1))


@pytest.mark.parametrize(
    ("shape", "fan_in"), [((400, 300), 400), ((64, 8, 5, 5), 200), ((32, 4, 3, 3), 36)]
)
def test_random_weight_is_kaiming_normal_with_the_course_fan_in(shape, fan_in):
    torch.manual_seed(0)
    w = random_weight(shape)
    assert w.shape == shape and w.dtype == torch.float32 and w.requires_grad and w.is_leaf
    values = w.detach().double().numpy()
    # ~12,000+ draws: the sample std is within 3% of sqrt(2 / fan_in), the mean near 0.
    assert values.std() == pytest.approx(np.sqrt(2.0 / fan_in), rel=0.03)
    assert abs(values.mean()) < 4 * np.sqrt(2.0 / fan_in) / np.sqrt(values.size)


def test_random_weight_follows_torch_manual_seed_and_rejects_bias_shapes():
    torch.manual_seed(3)
    first = random_weight((4, 5), dtype=torch.float64)
    torch.manual_seed(3)
    second = random_weight((4, 5), dtype=torch.float64)
    np.testing.assert_array_equal(first.detach().numpy(), second.detach().numpy())
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got \(7,\); biases take"):
        random_weight((7,))


def test_zero_weight_is_zeros_that_require_grad():
    b = zero_weight((3, 2), dtype=torch.float64)
    assert b.requires_grad and b.dtype == torch.float64
    np.testing.assert_array_equal(b.detach().numpy(), np.zeros((3, 2)))


def test_two_layer_fc_is_relu_of_x_w1_times_w2():
    torch.manual_seed(1)
    x = torch.randn(4, *IMAGE, dtype=torch.float64)
    params = [
        random_weight((108, 7), dtype=torch.float64),
        random_weight((7, 5), dtype=torch.float64),
    ]
    w1, w2 = (p.detach().numpy() for p in params)
    expected = relu(x.numpy().reshape(4, -1) @ w1) @ w2
    scores = two_layer_fc(x, params)
    assert scores.shape == (4, 5)
    assert_close(scores.detach().numpy(), expected, **F64, name="scores")


def test_three_layer_convnet_matches_our_numpy_conv_layers():
    torch.manual_seed(2)
    params = barebones_conv_params()
    with torch.no_grad():
        params[1].normal_()  # non-zero biases, so a dropped bias would show
        params[3].normal_()
        params[5].normal_()
    x = torch.randn(3, *IMAGE, dtype=torch.float64)
    w1, b1, w2, b2, fc_w, fc_b = (p.detach().numpy() for p in params)
    h = relu(numpy_conv(x.numpy(), w1, b1, pad=2))
    h = relu(numpy_conv(h, w2, b2, pad=1))
    expected = h.reshape(3, -1) @ fc_w + fc_b
    assert_close(three_layer_convnet(x, params).detach().numpy(), expected, **F64, name="scores")


def test_sgd_step_subtracts_lr_times_grad_and_zeroes_the_grad():
    w = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    (w**2).sum().backward()
    sgd_step([w], lr=0.1)
    np.testing.assert_allclose(w.detach().numpy(), [1.0 - 0.2, -2.0 + 0.4, 3.0 - 0.6], rtol=1e-15)
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros(3))
    assert w.requires_grad and w.is_leaf


def test_check_accuracy_part2_counts_like_numpy_argmax_and_prints_the_course_lines(capsys):
    x, y = separable_data(n=37)
    torch.manual_seed(4)
    params = [random_weight((108, 9)), random_weight((9, CLASSES))]
    w1, w2 = (p.detach().double().numpy() for p in params)
    expected = np.mean((relu(x.double().numpy().reshape(37, -1) @ w1) @ w2).argmax(1) == y.numpy())
    acc = check_accuracy_part2(loader(x, y, batch_size=8), two_layer_fc, params, split="test")
    assert acc == pytest.approx(expected, abs=1e-12)
    lines = capsys.readouterr().out.splitlines()
    correct = round(expected * 37)
    assert lines == [
        "Checking accuracy on the test set",
        f"Got {correct} / 37 correct ({100 * correct / 37:.2f}%)",
    ]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_train_part2_lowers_the_loss_of_both_barebones_nets(dtype, capsys):
    x, y = separable_data()
    batches = list(loader(x, y)) * 8  # eight epochs of six batches, one train_part2 call
    torch.manual_seed(5)
    for model_fn, params, lr in [
        (
            two_layer_fc,
            [random_weight((108, 20), dtype=dtype), random_weight((20, 3), dtype=dtype)],
            5e-2,
        ),
        (three_layer_convnet, barebones_conv_params(dtype), 5e-2),
    ]:
        losses = train_part2(model_fn, params, lr, batches, loader_val=loader(x, y), print_every=20)
        assert len(losses) == 48 and all(np.isfinite(losses))
        assert np.mean(losses[-6:]) < 0.5 * np.mean(losses[:6])
        assert all(p.dtype == dtype and p.grad is not None and not p.grad.any() for p in params)
        assert check_accuracy_part2(loader(x, y), model_fn, params, verbose=False) > 0.8
    printed = capsys.readouterr().out
    assert printed.count("Iteration 0, loss = ") == 2 and "Iteration 40, loss = " in printed
    assert printed.count("Checking accuracy on the val set") == 6


def test_train_part2_is_silent_without_verbose_and_validates_its_arguments(capsys):
    x, y = separable_data(n=20)
    params = [random_weight((108, 4)), random_weight((4, 3))]
    train_part2(two_layer_fc, params, 1e-3, loader(x, y), loader_val=loader(x, y), verbose=False)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="learning_rate must be positive, got -0.1"):
        train_part2(two_layer_fc, params, -0.1, loader(x, y))
    with pytest.raises(ValueError, match="print_every must be a positive int, got 0"):
        train_part2(two_layer_fc, params, 0.1, loader(x, y), print_every=0)
    with pytest.raises(ValueError, match="yields no examples"):
        check_accuracy_part2([], two_layer_fc, params)


# --- Part III: nn.Module ---------------------------------------------------------------------


def test_two_layer_fc_module_is_kaiming_initialised_and_computes_fc_relu_fc():
    torch.manual_seed(6)
    big = TwoLayerFC(500, 400, 10)
    assert big.fc1.weight.std().item() == pytest.approx(np.sqrt(2 / 500), rel=0.03)
    assert big.fc2.weight.std().item() == pytest.approx(np.sqrt(2 / 400), rel=0.1)
    assert not big.fc1.bias.any() and not big.fc2.bias.any()

    model = TwoLayerFC(108, 7, 4).double()
    with torch.no_grad():
        model.fc1.bias.normal_()
        model.fc2.bias.normal_()
    x = torch.randn(5, *IMAGE, dtype=torch.float64)
    p = {name: t.detach().numpy() for name, t in model.named_parameters()}
    expected = relu(x.numpy().reshape(5, -1) @ p["fc1.weight"].T + p["fc1.bias"])
    expected = expected @ p["fc2.weight"].T + p["fc2.bias"]
    assert_close(model(x).detach().numpy(), expected, **F64, name="scores")


def conv_module_params_as_barebones(model):
    """The barebones parameter list holding a ThreeLayerConvNet's weights (fc transposed)."""
    return [
        model.conv1.weight,
        model.conv1.bias,
        model.conv2.weight,
        model.conv2.bias,
        model.fc.weight.T,
        model.fc.bias,
    ]


def test_three_layer_convnet_module_equals_the_barebones_function_on_its_weights():
    torch.manual_seed(7)
    model = ThreeLayerConvNet(3, 4, 5, CLASSES, image_size=IMAGE[1:]).double()
    for conv in (model.conv1, model.conv2):
        fan_in = conv.weight[0].numel()
        assert conv.weight.std().item() == pytest.approx(np.sqrt(2 / fan_in), rel=0.2)
    with torch.no_grad():
        for bias in (model.conv1.bias, model.conv2.bias, model.fc.bias):
            bias.normal_()
    x = torch.randn(2, *IMAGE, dtype=torch.float64)
    expected = three_layer_convnet(x, conv_module_params_as_barebones(model))
    assert model(x).shape == (2, CLASSES)
    assert_close(model(x).detach().numpy(), expected.detach().numpy(), **F64, name="scores")


def test_the_default_convnet_is_sized_for_cifar10():
    model = ThreeLayerConvNet(3, 12, 8, 10)
    assert model.fc.in_features == 8 * 32 * 32
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


# --- Part IV: nn.Sequential ------------------------------------------------------------------


def test_sequential_convnet_equals_the_module_with_the_same_weights():
    torch.manual_seed(8)
    sequential = sequential_three_layer_convnet(3, 4, 5, CLASSES, image_size=IMAGE[1:]).double()
    assert [type(layer).__name__ for layer in sequential] == [
        "Conv2d", "ReLU", "Conv2d", "ReLU", "Flatten", "Linear",
    ]  # fmt: skip
    assert isinstance(sequential[4], Flatten)
    assert not sequential[0].bias.any() and not sequential[5].bias.any()
    module = ThreeLayerConvNet(3, 4, 5, CLASSES, image_size=IMAGE[1:]).double()
    renamed = {"0": "conv1", "2": "conv2", "5": "fc"}
    module.load_state_dict(
        {
            renamed[k.split(".")[0]] + "." + k.split(".")[1]: v
            for k, v in sequential.state_dict().items()
        }
    )
    x = torch.randn(3, *IMAGE, dtype=torch.float64)
    assert_close(sequential(x).detach().numpy(), module(x).detach().numpy(), **F64, name="scores")


# --- the Part III/IV loop ---------------------------------------------------------------------


def test_check_accuracy_counts_like_numpy_argmax_logs_it_and_leaves_eval_mode(caplog):
    x, y = separable_data(n=33)
    torch.manual_seed(9)
    model = TwoLayerFC(108, 6, CLASSES)
    p = {name: t.detach().double().numpy() for name, t in model.named_parameters()}
    hidden = relu(x.double().numpy().reshape(33, -1) @ p["fc1.weight"].T + p["fc1.bias"])
    scores = hidden @ p["fc2.weight"].T + p["fc2.bias"]
    expected = np.mean(scores.argmax(1) == y.numpy())
    with caplog.at_level(logging.INFO, logger="tinyvision.torch.modules"):
        acc = check_accuracy(loader(x, y, batch_size=7), model)
    assert acc == pytest.approx(expected, abs=1e-12)
    assert not model.training
    correct = round(expected * 33)
    assert f"Got {correct} / 33 correct ({100 * correct / 33:.2f}%)" in caplog.text


@pytest.mark.parametrize(
    "build",
    [
        lambda: TwoLayerFC(108, 20, CLASSES),
        lambda: ThreeLayerConvNet(3, 4, 5, CLASSES, image_size=IMAGE[1:]),
        lambda: sequential_three_layer_convnet(3, 4, 5, CLASSES, image_size=IMAGE[1:]),
    ],
    ids=["TwoLayerFC", "ThreeLayerConvNet", "sequential"],
)
def test_train_lowers_the_loss_with_a_torch_optimiser(build, caplog):
    x, y = separable_data()
    torch.manual_seed(10)
    model = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9, nesterov=True)
    with caplog.at_level(logging.INFO, logger="tinyvision.torch.modules"):
        losses = train(
            model, optimizer, loader(x, y), loader(x, y), epochs=8, print_every=3, progress=False
        )
    assert len(losses) == 8 * 6 and all(np.isfinite(losses))
    assert np.mean(losses[-6:]) < 0.5 * np.mean(losses[:6])
    assert check_accuracy(loader(x, y), model) > 0.8
    assert caplog.text.count("iteration 3, loss = ") == 8
    assert caplog.text.count("correct (") == 16


def test_train_in_float64_keeps_the_model_in_float64():
    x, y = separable_data(n=20)
    model = TwoLayerFC(108, 5, CLASSES).double()
    before = model.fc1.weight.detach().clone()
    train(model, torch.optim.SGD(model.parameters(), lr=0.1), loader(x, y), progress=False)
    assert model.fc1.weight.dtype == torch.float64
    assert not torch.equal(before, model.fc1.weight.detach())


def test_the_course_names_are_the_same_functions_and_devices_agree():
    assert modules.check_accuracy_part34 is check_accuracy
    assert modules.train_part34 is train
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert barebones.DEVICE.type == expected and barebones.DTYPE == torch.float32


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TwoLayerFC(0, 5, 3), r"input_size must be a positive int, got 0 \(int\)"),
        (lambda: TwoLayerFC(10, 2.5, 3), r"hidden_size must be a positive int, got 2.5 \(float\)"),
        (lambda: ThreeLayerConvNet(3, 4, 5, -1), r"num_classes must be a positive int, got -1"),
        (
            lambda: sequential_three_layer_convnet(3, 4, 5, 10, image_size=(0, 8)),
            r"image_height must be a positive int, got 0",
        ),
    ],
)
def test_bad_sizes_raise_value_error_naming_the_argument(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_train_rejects_bad_epochs_and_an_empty_loader():
    model = TwoLayerFC(4, 3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs must be a positive int, got 0"):
        train(model, optimizer, [], epochs=0)
    with pytest.raises(ValueError, match="check_accuracy got a loader that yields no examples"):
        check_accuracy([], model)
