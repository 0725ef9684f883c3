"""Gradient clipping against torch.nn.utils, and in the Solver's updates."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from tinyvision.cli import main
from tinyvision.clipping import clip_by_global_norm, clip_by_value, global_norm
from tinyvision.solver import Solver


def _grads(dtype, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"W1": (7, 5), "b1": (5,), "W2": (5, 3, 2), "b2": (3,)}
    return {
        name: (scale * rng.standard_normal(shape)).astype(dtype) for name, shape in shapes.items()
    }


def _torch_clip(grads, clip):
    """The gradients after torch's clip function, set on one leaf tensor per gradient."""
    tensors = []
    for g in grads.values():
        t = torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype, requires_grad=True)
        t.grad = torch.from_numpy(g.copy())
        tensors.append(t)
    result = clip(tensors)
    return [t.grad.numpy() for t in tensors], result


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e3])
def test_global_norm_clipping_equals_torch(dtype, max_norm):
    grads = _grads(dtype)
    expected, total = _torch_clip(grads, lambda ts: torch.nn.utils.clip_grad_norm_(ts, max_norm))
    clipped, norm = clip_by_global_norm(grads, max_norm)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    assert norm == pytest.approx(float(total), rel=tol)
    for name, want in zip(grads, expected, strict=True):
        assert clipped[name].dtype == dtype and clipped[name].shape == grads[name].shape
        np.testing.assert_allclose(clipped[name], want, rtol=tol, atol=0)
    # The norm really is the root of the sum of all squares, and clipping bounds it.
    flat = np.concatenate([g.ravel().astype(np.float64) for g in grads.values()])
    assert norm == pytest.approx(math.sqrt(flat @ flat), rel=1e-12)
    assert global_norm(clipped) <= max_norm * (1 + tol) or max_norm > norm


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_value_clipping_equals_torch(dtype):
    grads = _grads(dtype, scale=2.0)
    expected, _ = _torch_clip(grads, lambda ts: torch.nn.utils.clip_grad_value_(ts, 1.5))
    clipped = clip_by_value(grads, 1.5)
    for name, want in zip(grads, expected, strict=True):
        assert clipped[name].dtype == dtype
        np.testing.assert_array_equal(clipped[name], want)
    assert max(np.abs(g).max() for g in clipped.values()) == pytest.approx(1.5)


def test_clipping_leaves_its_input_alone():
    grads = _grads(np.float64, scale=10.0)
    before = {name: g.copy() for name, g in grads.items()}
    clip_by_global_norm(grads, 1.0)
    clip_by_value(grads, 0.1)
    for name, g in grads.items():
        np.testing.assert_array_equal(g, before[name])


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan, "1", True])
def test_bounds_must_be_positive_numbers(bad):
    with pytest.raises(ValueError, match="max_norm must be a finite number > 0"):
        clip_by_global_norm(_grads(np.float64), bad)
    with pytest.raises(ValueError, match="clip_value must be a finite number > 0"):
        clip_by_value(_grads(np.float64), bad)


class ConstantGradient:
    """A model whose loss gradient is always g = (3, 4, 0) (global norm 5), whatever the data."""

    def __init__(self):
        self.params = {"w": np.zeros(3)}

    def loss(self, X, y=None):
        if y is None:
            return np.zeros((len(X), 2))
        return 1.0, {"w": np.array([3.0, 4.0, 0.0])}


ZEROS = {
    "X_train": np.zeros((4, 1)),
    "y_train": np.zeros(4, dtype=np.int64),
    "X_val": np.zeros((2, 1)),
    "y_val": np.zeros(2, dtype=np.int64),
}


def _spy_sgd(seen):
    def spy_sgd(w, dw, config=None):
        seen.append(dw.copy())
        return w - config["learning_rate"] * dw, config

    return spy_sgd


@pytest.mark.parametrize(
    "kwargs, step",
    [
        ({}, [3.0, 4.0, 0.0]),
        ({"clip_norm": 1.0}, [3.0 / (5 + 1e-6), 4.0 / (5 + 1e-6), 0.0]),
        ({"clip_norm": 10.0}, [3.0, 4.0, 0.0]),
        ({"clip_value": 2.0}, [2.0, 2.0, 0.0]),
        # By value first ((2, 2, 0), norm sqrt(8)), then by norm.
        ({"clip_value": 2.0, "clip_norm": 1.0}, [2.0 / (8**0.5 + 1e-6), 2.0 / (8**0.5 + 1e-6), 0]),
    ],
)
def test_solver_update_uses_the_clipped_gradient(kwargs, step):
    seen = []
    solver = Solver(
        ConstantGradient(),
        ZEROS,
        update_rule=_spy_sgd(seen),
        optim_config={"learning_rate": 0.1},
        num_epochs=1,
        batch_size=4,  # one update
        verbose=False,
        **kwargs,
    )
    solver.train()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], step, rtol=1e-12)
    np.testing.assert_allclose(solver.model.params["w"], -0.1 * np.array(step), rtol=1e-12)


def test_norm_clipping_bounds_every_update_of_a_real_training_run():
    from toy_models import SoftmaxRegression, blobs

    X, y = blobs(300, seed=0)
    data = {"X_train": X[:200], "y_train": y[:200], "X_val": X[200:], "y_val": y[200:]}
    norms = {}
    for clip_norm in (None, 0.05):
        seen = []
        solver = Solver(
            SoftmaxRegression(),
            data,
            update_rule=_spy_sgd(seen),
            optim_config={"learning_rate": 0.5},
            num_epochs=2,
            batch_size=40,
            seed=0,
            verbose=False,
            clip_norm=clip_norm,
        )
        solver.train()
        # SoftmaxRegression has two parameters (W, b): the rule sees them in turn.
        norms[clip_norm] = [
            math.sqrt(float(np.sum(w**2) + np.sum(b**2)))
            for w, b in zip(seen[::2], seen[1::2], strict=True)
        ]
    assert max(norms[None]) > 0.05  # without clipping, the gradients are larger...
    assert max(norms[0.05]) <= 0.05  # ...and with it, no update exceeds the bound
    assert norms[0.05][0] == pytest.approx(0.05, rel=1e-4)  # the first update is scaled down


@pytest.mark.parametrize("bad", [{"clip_norm": 0.0}, {"clip_value": -1.0}])
def test_solver_rejects_bad_bounds(bad):
    with pytest.raises(ValueError, match="must be a finite number > 0.*None for no clipping"):
        Solver(ConstantGradient(), ZEROS, optim_config={"learning_rate": 0.1}, **bad)


def test_cli_records_the_clipping_and_refuses_it_for_models_with_their_own_training(
    tmp_path, capsys
):
    out = tmp_path / "run"
    code = main(
        ["--quiet", "train", "--model", "two-layer", "--epochs", "2", "--clip-norm", "0.5"]
        + ["--clip-value", "0.1", "--out", str(out)]
    )
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["clip_norm"] == 0.5 and config["clip_value"] == 0.1
    assert main(["--quiet", "evaluate", str(out)]) == 0
    capsys.readouterr()
    assert main(["--quiet", "train", "--model", "softmax", "--clip-norm", "1"]) == 2
    assert "--clip-norm applies only to models trained by the Solver" in capsys.readouterr().err
