"""The U-Net's layer table: its children in forward order, their shapes and parameters, and
receptive fields checked against the input pixels the gradient of an output unit reaches."""

import numpy as np
import pytest

from tinyvision.cli import main
from tinyvision.model_summary import describe_model
from tinyvision.nn import UNet, summarize, total_parameters


def positive_unet(channels=(2, 3, 4)):
    """Without batch norm and with positive weights and biases every ReLU passes a positive
    input, so an output unit's gradient reaches exactly the pixels it depends on."""
    model = UNet(num_classes=2, in_channels=1, channels=channels, batchnorm=False, seed=0)
    model.dtype = np.dtype(np.float64)
    for name, value in model.params.items():
        model.params[name] = np.abs(value).astype(np.float64) + 0.01
    return model


def reached_extent(model, size, row, col, axis):
    """First to last input row (axis 0) or column (axis 1) the gradient of unit (row, col)
    of the scores reaches."""
    x = np.random.default_rng(0).uniform(0.5, 1.0, (1, 1, size, size))
    scores = model.forward(x)
    dout = np.zeros_like(scores)
    dout[0, 0, row, col] = 1.0
    dx = model.backward(dout)[0, 0]
    touched = np.flatnonzero(np.abs(dx).sum(axis=1 - axis) > 0)
    return touched[-1] - touched[0] + 1


def test_rows_follow_forward_order_with_shapes_and_parameters():
    model = UNet(num_classes=5, in_channels=3, channels=(4, 8, 16), seed=0)
    rows = summarize(model, (3, 16, 16))
    assert [row.name for row in rows] == [
        "enc0", "pool0", "enc1", "pool1", "bottleneck", "up1", "dec1", "up0", "dec0", "head"
    ]  # fmt: skip
    shapes = {row.name: row.output_shape for row in rows}
    assert shapes["bottleneck"] == (16, 4, 4)
    assert shapes["up1"] == (8, 8, 8) and shapes["dec1"] == (8, 8, 8)
    assert shapes["head"] == (5, 16, 16)
    assert total_parameters(rows) == sum(value.size for value in model.params.values())
    assert rows[-1].params == 4 * 5 + 5


@pytest.mark.parametrize("axis", [0, 1])
def test_the_heads_field_is_the_largest_extent_the_gradient_reaches(axis):
    model = positive_unet()
    rows = summarize(model, (1, 64, 64))
    field = rows[-1].receptive_field[axis]
    # Eight neighbouring units cover every parity of the two up-samplings.
    extents = [
        reached_extent(model, 64, *((unit, 32) if axis == 0 else (32, unit)), axis)
        for unit in range(28, 36)
    ]
    assert max(extents) == field
    # The recurrence for the encoder: two 3x3 convs per stage, 2x2 pools.
    assert [row.receptive_field[axis] for row in rows[:5]] == [5, 6, 14, 16, 32]


def test_describe_unet_uses_the_segmentation_images(capsys):
    description = describe_model("unet")
    assert description.dataset == "segmentation"
    assert description.input_shape[0] == 3
    assert main(["describe", "--model", "unet"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "model unet on segmentation"
    assert f"total: {total_parameters(description.rows):,} parameters in 10 layers" in out
