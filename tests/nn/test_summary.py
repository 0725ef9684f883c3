"""nn.summary: output shapes, parameter counts and receptive fields of a network's layers.

The receptive field of every layer is checked against an independent, empirical one: the input
pixels on which one output position depends, found as the nonzero pattern of the gradient of
that position (summed over its channels) with respect to the input, through the layers' own
backward passes, united over several random inputs (a max pool passes the gradient to one
pixel per window, so one draw may miss some).
"""

import numpy as np
import pytest

from tinyvision import nn
from tinyvision.classifiers.architectures import VGG, AlexNetSmall, InceptionNet, LeNet5, ResNet
from tinyvision.classifiers.convnet import ConvNet

DRAWS = 10


def positive_weights(shape, rng):
    """Uniform in [0.5, 1) / fan-in: conv (F, C, kh, kw), linear (D, M), else 1."""
    fan_in = np.prod(shape[1:]) if len(shape) == 4 else shape[0] if len(shape) == 2 else 1
    return rng.uniform(0.5, 1, shape) / fan_in


def dependent_pixels(layers, input_shape, position, rng):
    """The (rows, columns) spans of input pixels the output at position depends on."""
    net = nn.Sequential(*layers).eval()
    union = np.zeros(input_shape[1:], dtype=bool)
    for _ in range(DRAWS):
        # Positive weights and inputs keep every ReLU open (a closed one hides a path); fresh
        # ones on every draw move the maxima of the max pools around; divided by the fan-in,
        # so that no tanh saturates (its gradient would round to 0).
        net.params = {name: positive_weights(p.shape, rng) for name, p in net.params.items()}
        out = net.forward(rng.uniform(0.1, 1, (1, *input_shape)))
        dout = np.zeros_like(out)
        if out.ndim == 4:
            dout[0, :, position[0], position[1]] = 1.0
        else:
            dout[0] = 1.0
        union |= net.backward(dout)[0].any(axis=0)
    rows, cols = np.flatnonzero(union.any(axis=1)), np.flatnonzero(union.any(axis=0))
    if rows.size == 0:
        return None  # the unit sees only padding
    assert np.all(np.diff(rows) == 1) and np.all(np.diff(cols) == 1), "field has holes"
    return (rows[0], rows[-1]), (cols[0], cols[-1])


def predicted_pixels(row, input_shape, position):
    """The spans of summarize's field for that position, clipped to the image (None when it
    lies wholly on the padding)."""
    spans = tuple(
        (max(first, 0), min(last, size - 1))
        for (first, last), size in zip(
            (axis.span(index) for axis, index in zip(row.geometry, position, strict=True)),
            input_shape[1:],
            strict=True,
        )
    )
    return None if any(first > last for first, last in spans) else spans


def assert_fields_are_the_dependent_pixels(model, input_shape, seed=0):
    rng = np.random.default_rng(seed)
    model = model.eval()
    layers = list(model)
    rows = nn.summarize(model, input_shape)
    assert len(rows) == len(layers)
    for depth, row in enumerate(rows):
        sizes = (row.geometry[0].size, row.geometry[1].size)
        for position in {(0, 0), (sizes[0] // 2, sizes[1] // 2), (sizes[0] - 1, 0)}:
            found = dependent_pixels(layers[: depth + 1], input_shape, position, rng)
            assert found == predicted_pixels(row, input_shape, position), (
                f"layer {row.name} ({row.layer}) at {position}: gradient reaches {found}, "
                f"summarize says {predicted_pixels(row, input_shape, position)}"
            )


def float64(cls, **kwargs):
    return cls(seed=0, dtype=np.float64, **kwargs)


@pytest.mark.parametrize(
    ("model", "input_shape"),
    [
        (float64(LeNet5, input_shape=(1, 32, 32)), (1, 32, 32)),
        (
            float64(
                AlexNetSmall,
                channels=(2, 2, 2, 2, 2),
                hidden_dims=(3, 3),
                dropout=0.0,
                input_shape=(1, 16, 16),
            ),
            (1, 16, 16),
        ),
        (float64(VGG, depth=13, channels=(2, 2, 2, 2, 2), input_shape=(1, 32, 32)), (1, 32, 32)),
        (
            float64(
                InceptionNet,
                blocks=(None, (1, 1, 2, 1, 1, 1), None, (1, 1, 1, 1, 1, 1)),
                stem_channels=2,
                input_shape=(1, 16, 16),
            ),
            (1, 16, 16),
        ),
        (float64(ResNet, channels=(2, 3), blocks_per_stage=2, input_shape=(1, 8, 8)), (1, 8, 8)),
        (float64(ConvNet, channels=(2, 3), input_shape=(1, 8, 8), use_residual=True), (1, 8, 8)),
    ],
    ids=["lenet5", "alexnet-small", "vgg13", "inception", "resnet", "convnet-residual"],
)
def test_receptive_fields_of_the_architectures_are_the_pixels_the_gradient_reaches(
    model, input_shape
):
    assert_fields_are_the_dependent_pixels(model, input_shape)


def test_strides_paddings_and_overlapping_pools_shift_the_field_as_the_gradient_does():
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, stride=2, padding=1, seed=0),
        nn.ReLU(),
        nn.ZeroPad2d(2),
        nn.AvgPool2d(3, stride=2),
        nn.Conv2d(2, 2, (3, 1), padding=1, seed=1),
        nn.MaxPool2d(2, stride=1),
    )
    assert_fields_are_the_dependent_pixels(model, (1, 17, 13))
    rows = nn.summarize(model, (1, 17, 13))
    # rows 3, 3 + 2 * 2 = 7 (jump 4), 7 + 2 * 4 = 15, 15 + 4 = 19; columns the same but the
    # (3, 1) kernel adds nothing: 3, 7, 7, 11
    assert rows[-1].receptive_field == (19, 11)


def test_the_recurrence_by_hand_for_a_small_net():
    model = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(1, 1, 5))
    fields = [row.receptive_field for row in nn.summarize(model, (1, 12, 12))]
    # 3; then 3 + 1 * 1 = 4 with jump 2; then 4 + 4 * 2 = 12
    assert fields == [(3, 3), (4, 4), (12, 12)]


def test_shapes_and_parameter_counts():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(4 * 3 * 3, 5),
    )
    rows = nn.summarize(model, (3, 6, 6))
    assert [row.output_shape for row in rows] == [
        (4, 6, 6), (4, 6, 6), (4, 6, 6), (4, 3, 3), (36,), (36,), (5,),
    ]  # fmt: skip
    assert [row.params for row in rows] == [4 * 27 + 4, 8, 0, 0, 0, 0, 36 * 5 + 5]
    assert nn.total_parameters(rows) == sum(p.size for p in model.params.values())
    assert [row.name for row in rows] == [str(i) for i in range(7)]


def test_summarize_leaves_modes_and_parameters_as_they_were():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5))
    model.train()
    model[2].eval()
    before = model.state_dict()
    nn.summarize(model, (1, 5, 5))
    assert model[0].training and model[1].training and not model[2].training
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_vector_inputs_have_no_receptive_field_and_a_single_module_is_one_row():
    rows = nn.summarize(nn.Sequential(nn.Linear(6, 4), nn.ReLU()), (6,))
    assert [row.receptive_field for row in rows] == [None, None]
    (row,) = nn.summarize(nn.ResidualBlock(2, 3), (2, 5, 5))
    assert row.output_shape == (3, 5, 5) and row.receptive_field == (5, 5)
    assert row.layer == "ResidualBlock"


def test_unknown_routing_and_unknown_resizing_layers_are_refused():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self._modules = {"a": nn.ReLU(), "b": nn.ReLU()}

        def forward(self, x):
            return self._modules["b"](self._modules["a"](x))

        def backward(self, dout):
            return dout

    with pytest.raises(ValueError, match="does not know how Pair routes data"):
        nn.summarize(nn.Sequential(Pair()), (1, 4, 4))

    class Crop(nn.Module):
        def forward(self, x):
            return x[:, :, 1:, 1:]

        def backward(self, dout):
            return dout

    with pytest.raises(ValueError, match="through Crop: its output is 3x3"):
        nn.summarize(nn.Sequential(Crop()), (1, 4, 4))
    with pytest.raises(ValueError, match="input_shape must be positive"):
        nn.summarize(nn.ReLU(), (0, 4))


def test_format_summary_lists_every_layer_and_the_totals():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.GlobalAvgPool2d(), nn.Linear(2, 3))
    rows = nn.summarize(model, (1, 5, 5))
    lines = nn.format_summary(rows, (1, 5, 5)).splitlines()
    assert lines[1].split() == ["input", "1", "x", "5", "x", "5", "1"]
    assert lines[2].split() == ["0", "Conv2d", "3x3", "(2)", "2", "x", "3", "x", "3", "20", "3"]
    assert lines[-1] == "total: 29 parameters in 3 layers, receptive field 5 pixels"
