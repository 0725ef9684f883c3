"""`tinyvision describe`: a registered model's layer table, built without reading any data."""

import numpy as np
import pytest
from assertions import assert_close

from tinyvision import classification
from tinyvision.classifiers.cnn import ThreeLayerConvNet
from tinyvision.classifiers.convnet import ConvNet
from tinyvision.cli import main
from tinyvision.model_summary import describe_model
from tinyvision.nn import total_parameters


@pytest.fixture(autouse=True)
def no_data(monkeypatch):
    """describe must not load a data set: every loader fails the test."""

    def refuse(config, dtype):
        raise AssertionError(f"describe loaded {config.dataset}")

    for name in classification.DATASET_LOADERS:
        monkeypatch.setitem(classification.DATASET_LOADERS, name, refuse)


def test_lenet5_table_rows_and_totals(capsys):
    assert main(["describe", "--model", "lenet5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "model lenet5 on cifar10"
    assert lines[2].split() == ["input", "3", "x", "32", "x", "32", "1"]
    assert lines[3].split() == ["0", "Conv2d", "5x5", "(6)", "6", "x", "28", "x", "28", "456", "5"]
    # C1, C3, C5, F6 and the output layer: weights plus biases, by the paper's sizes.
    total = (3 * 25 + 1) * 6 + (6 * 25 + 1) * 16 + 401 * 120 + 121 * 84 + 85 * 10
    assert lines[-1] == f"total: {total:,} parameters in 12 layers, receptive field 32 pixels"
    assert len(lines) == 2 + 1 + 12 + 1


def test_cnn_is_described_through_its_equivalent_modules(capsys):
    assert main(["describe", "--model", "cnn", "--dataset", "digits"]) == 0
    out = capsys.readouterr().out
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=16, filter_size=3, hidden_dim=100)
    count = sum(value.size for value in model.params.values())
    assert f"total: {count:,} parameters in 6 layers" in out
    assert "MaxPool2d 2x2/2" in out and "16 x 4 x 4" in out


def test_to_modules_computes_the_cnns_scores():
    rng = np.random.default_rng(0)
    model = ThreeLayerConvNet(
        input_dim=(2, 6, 6),
        num_filters=3,
        filter_size=3,
        hidden_dim=5,
        weight_init="kaiming",
        dtype=np.float64,
    )
    model.params["b1"] = rng.standard_normal(3)
    X = rng.standard_normal((4, 2, 6, 6))
    assert_close(model.to_modules().forward(X), model.loss(X), rtol=1e-10, atol=1e-12)


def test_convnet_totals_are_its_parameter_count():
    description = describe_model("convnet", "digits")
    assert description.input_shape == (1, 8, 8)
    model = ConvNet(channels=(16, 32), blocks_per_stage=1, input_shape=(1, 8, 8))
    assert total_parameters(description.rows) == sum(v.size for v in model.params.values())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "knn"], "knn has no layer table"),
        (["--model", "softmax"], "softmax is a model of flat rows"),
        (["--model", "lenet5", "--dataset", "digits"], "train it with --dataset cifar10"),
    ],
)
def test_models_without_layers_or_for_other_images_get_one_line(argv, message, capsys):
    assert main(["describe", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_unknown_model_lists_the_choices(capsys):
    with pytest.raises(SystemExit):
        main(["describe", "--model", "lenet"])
    assert "did you mean lenet5" in capsys.readouterr().err


def test_gradcheck_covers_the_new_layers(capsys):
    assert main(["gradcheck", "zero_pad", "channel_concat"]) == 0
    assert "all 2 layers passed" in capsys.readouterr().out
