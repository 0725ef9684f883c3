"""The course's vis_grid and vis_nn: grid shapes, each image in its cell, the whole grid scaled
to [0, 1], and both names under `from tinyvision.vis_utils import *`."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinyvision import vis_utils
from tinyvision.vis_utils import vis_grid, vis_nn


@pytest.mark.parametrize("count", [1, 4, 5, 10])
def test_vis_grid_puts_image_n_in_cell_n_of_a_square_grid(count):
    rng = np.random.default_rng(count)
    images = rng.uniform(-2.0, 9.0, size=(count, 5, 7, 3))
    grid = vis_grid(images)
    side = math.ceil(math.sqrt(count))
    assert grid.shape == (side * 5 + side, side * 7 + side, 3)
    low, high = images.min(), images.max()
    cells = np.zeros(grid.shape[:2], dtype=bool)
    for n in range(count):
        row, col = n // side, n % side
        top, left = row * 6, col * 8
        cell = grid[top : top + 5, left : left + 7]
        np.testing.assert_allclose(cell, (images[n] - low) / (high - low), rtol=1e-12)
        cells[top : top + 5, left : left + 7] = True
    # Separators and empty cells hold the minimum, 0 after scaling.
    assert np.all(grid[~cells] == 0.0)
    assert grid.min() == 0.0 and grid.max() == pytest.approx(1.0)


def test_vis_nn_lays_out_rows_of_images_with_separators():
    rng = np.random.default_rng(0)
    rows = [[rng.normal(size=(4, 3, 1)) for _ in range(5)] for _ in range(3)]
    grid = vis_nn(rows)
    assert grid.shape == (3 * 4 + 3, 5 * 3 + 5, 1)
    stacked = np.array(rows)
    low, high = stacked.min(), stacked.max()
    for r in range(3):
        for d in range(5):
            cell = grid[r * 5 : r * 5 + 4, d * 4 : d * 4 + 3]
            np.testing.assert_allclose(cell, (rows[r][d] - low) / (high - low), rtol=1e-12)
    assert np.all(grid[4::5] == 0.0) and np.all(grid[:, 3::4] == 0.0)


def test_constant_images_give_a_black_grid_and_bad_shapes_are_refused():
    assert np.all(vis_grid(np.full((2, 3, 3, 3), 7.0)) == 0.0)
    assert np.all(vis_nn([[np.full((2, 2, 3), 7.0)]]) == 0.0)
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        vis_grid(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="row 0 has 2, row 1 has 1"):
        vis_nn([[np.zeros((2, 2, 1))] * 2, [np.zeros((2, 2, 1))]])
    with pytest.raises(ValueError, match=r"rows\[0\]\[1\] has shape \(3, 2, 1\)"):
        vis_nn([[np.zeros((2, 2, 1)), np.zeros((3, 2, 1))]])
    with pytest.raises(ValueError, match="non-empty"):
        vis_nn([])


def test_the_course_names_come_with_a_star_import():
    namespace: dict[str, object] = {}
    exec("from tinyvision.vis_utils import *", namespace)
    for name in ("visualize_grid", "vis_grid", "vis_nn"):
        assert namespace[name] is getattr(vis_utils, name)
