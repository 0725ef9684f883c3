"""decision_boundary.png: the regions a model predicts over the plane, for 2-D data sets."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tinyvision.cli import main
from tinyvision.vis_utils import plot_decision_boundary


def test_the_predictor_sees_a_grid_over_the_points_with_a_margin(tmp_path):
    X = np.array([[0.0, 0.0], [1.0, 2.0], [0.5, 1.0]])
    y = np.array([0, 1, 1])
    seen = []

    def predict(points):
        seen.append(points)
        return (points[:, 0] > 0.5).astype(np.int64)

    path = plot_decision_boundary(predict, X, y, tmp_path / "b.png", resolution=11)
    (grid,) = seen
    assert grid.shape == (121, 2)
    np.testing.assert_allclose(grid.min(axis=0), [-0.1, -0.2])
    np.testing.assert_allclose(grid.max(axis=0), [1.1, 2.2])
    with Image.open(path) as image:
        assert image.size[0] > 200 and image.size[1] > 200


def test_only_2d_points_have_a_boundary(tmp_path):
    with pytest.raises(ValueError, match="2-D data only"):
        plot_decision_boundary(lambda p: p[:, 0], np.zeros((4, 3)), np.zeros(4), tmp_path / "x")


def test_spiral_runs_draw_the_boundary_and_the_digits_do_not(tmp_path):
    spiral, digits = tmp_path / "spiral", tmp_path / "digits"
    assert main(["-q", "train", "--dataset", "spiral", "--epochs", "5", "--out", str(spiral)]) == 0
    assert main(["-q", "train", "--epochs", "2", "--out", str(digits)]) == 0
    assert (spiral / "decision_boundary.png").is_file()
    assert not (digits / "decision_boundary.png").exists()
    # The softmax trains in epochs too, so its folder gets accuracy.png with one point each.
    history = json.loads((digits / "history.json").read_text())
    assert len(history["val_acc_history"]) == 2 and (digits / "accuracy.png").is_file()
