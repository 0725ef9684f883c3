"""The experiment figures a user can trust: labelled axes, log losses, legends off the curves."""

from __future__ import annotations

import numpy as np
import pytest

from tinyvision.experiments.common import finish_axes, new_figure
from tinyvision.vis_utils import spans_decades


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.5, 3e4], True),
        ([0.5, 2.0, 40.0], False),
        ([np.nan, -5.0, 1.0, 150.0], True),
        ([np.inf, 0.0, 1.0], False),
        ([], False),
    ],
)
def test_spans_decades_looks_at_the_finite_positive_values(values, expected):
    assert spans_decades(values) is expected


def test_finish_axes_labels_logs_and_moves_the_legend_below_the_curves():
    figure, (ax,) = new_figure()
    ax.plot([1, 2, 3], [2.3, 1.0, 0.5], label="batchnorm")
    ax.plot([1, 2, 3], [2.3, 40.0, 3e4], label="baseline")
    finish_axes(ax, "weight scale", "training loss", log_if_decades=True)
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "weight scale" and ax.get_ylabel() == "training loss (log scale)"
    figure.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    axes_box = ax.get_window_extent()
    assert legend.y1 <= axes_box.y0  # entirely below the plotting area
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["batchnorm", "baseline"]


def test_finish_axes_keeps_a_linear_axis_for_values_of_one_scale():
    _, (ax,) = new_figure()
    ax.plot([0, 1], [0.2, 0.9])
    finish_axes(ax, "epoch", "accuracy", log_if_decades=True)
    assert ax.get_yscale() == "linear" and ax.get_ylabel() == "accuracy"
    assert ax.get_legend() is None
