"""The initialisation study and the learning-rate range test: numbers, files and pure helpers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from tinyvision.cli import main
from tinyvision.experiments import (
    experiment_settings,
    run_experiment,
    smooth_losses,
    suggest_learning_rate,
)
from tinyvision.experiments.initialisation import deep_net_statistics
from tinyvision.experiments.lr_range import LossWatch


def _check_png(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width > 300 and image.height > 200


SMALL_INIT = {"batch_size": 200, "input_dim": 200, "hidden_dims": (200,) * 10}


@pytest.fixture(scope="module")
def init_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("init")
    return run_experiment("init", out=out, overrides=SMALL_INIT)


def _std_ratio(results, nonlinearity, scheme):
    stds = results[nonlinearity][scheme]["activation_std"]
    return stds[-1] / stds[0]


def test_init_study_writes_curves_and_histograms_for_both_nonlinearities(init_study):
    names = sorted(p.name for p in init_study.plots)
    assert names == sorted(
        f"init_{n}{suffix}.png" for n in ("tanh", "relu") for suffix in ("", "_histograms")
    )
    for path in init_study.plots:
        _check_png(path)
    saved = json.loads((init_study.run_dir / "results.json").read_text())
    assert saved["experiment"] == "init"
    for nonlinearity in ("tanh", "relu"):
        for scheme in ("gaussian", "lecun", "xavier", "kaiming"):
            stats = saved["results"][nonlinearity][scheme]
            for key in ("activation_mean", "activation_std", "weight_grad_std", "input_grad_std"):
                assert len(stats[key]) == 10
            assert len(stats["histograms"]) == 10
    assert len(saved["rows"]) == 8


def test_xavier_keeps_tanh_activations_while_001_collapses_them(init_study):
    results = init_study.results
    # Each 0.01 layer multiplies the std by about 0.01 * sqrt(200) = 0.14: gone after ten.
    assert _std_ratio(results, "tanh", "gaussian") < 1e-6
    assert _std_ratio(results, "tanh", "xavier") > 0.2
    assert min(results["tanh"]["xavier"]["activation_std"]) > 0.1
    # So do the weight gradients: each is an activation times an upstream gradient.
    assert max(results["tanh"]["gaussian"]["weight_grad_std"]) < 1e-3 * min(
        results["tanh"]["xavier"]["weight_grad_std"]
    )
    # Equal widths: 1/sqrt(n) and Xavier draw the same weights.
    for key in ("activation_std", "weight_grad_std"):
        np.testing.assert_allclose(
            results["tanh"]["lecun"][key], results["tanh"]["xavier"][key], rtol=1e-9
        )


def test_kaiming_keeps_relu_activations_while_xavier_halves_their_variance(init_study):
    results = init_study.results
    assert 0.5 < _std_ratio(results, "relu", "kaiming") < 2.0
    # Xavier loses half the second moment per ReLU: std ratio about sqrt(1/2)**9 = 0.044.
    assert 0.01 < _std_ratio(results, "relu", "xavier") < 0.15
    assert _std_ratio(results, "relu", "gaussian") < 1e-6
    # Half of the ReLU units are zero under any scheme on a symmetric input.
    assert all(0.4 < z < 0.6 for z in results["relu"]["kaiming"]["zero_fraction"])


def test_deep_net_statistics_match_a_forward_and_backward_written_out():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 6))
    weights = [rng.standard_normal((6, 5)), rng.standard_normal((5, 4))]
    dout = rng.standard_normal((30, 4))
    stats = deep_net_statistics(x, weights, "tanh", dout)
    h1 = np.tanh(x @ weights[0])
    h2 = np.tanh(h1 @ weights[1])
    da2 = dout * (1 - h2**2)
    dw2 = h1.T @ da2
    dh1 = da2 @ weights[1].T
    dw1 = x.T @ (dh1 * (1 - h1**2))
    np.testing.assert_allclose(stats["activation_mean"], [h1.mean(), h2.mean()], rtol=1e-12)
    np.testing.assert_allclose(stats["activation_std"], [h1.std(), h2.std()], rtol=1e-12)
    np.testing.assert_allclose(stats["weight_grad_std"], [dw1.std(), dw2.std()], rtol=1e-12)
    np.testing.assert_allclose(stats["input_grad_std"], [dh1.std(), dout.std()], rtol=1e-12)
    counts, _ = np.histogram(h2, bins=30, range=(-1, 1))
    assert stats["histograms"][1]["counts"] == counts.tolist()


def test_smoothing_is_the_normalised_exponential_average():
    losses = np.random.default_rng(1).uniform(1, 3, size=40)
    beta = 0.9
    expected = [
        np.average(losses[: t + 1], weights=beta ** np.arange(t, -1, -1)) for t in range(40)
    ]
    np.testing.assert_allclose(smooth_losses(losses, beta), expected, rtol=1e-12)
    np.testing.assert_array_equal(smooth_losses(losses, 0.0), losses)
    with pytest.raises(ValueError, match="beta must be in \\[0, 1\\)"):
        smooth_losses(losses, 1.0)


def test_suggestion_on_a_synthetic_curve():
    # Falls fastest at lr = 1e-2 (tanh is steepest at 0), bottoms out at lr = 10**-0.5, then
    # rises as a parabola in log(lr).
    lrs = np.logspace(-5, 1, 121)
    u = np.log10(lrs)
    losses = 2 - np.tanh(u + 2) + 10 * np.maximum(0, u + 0.5) ** 2
    suggestion = suggest_learning_rate(lrs, losses)
    assert suggestion["steepest"] == pytest.approx(1e-2, rel=1e-9)
    assert suggestion["min_loss_lr"] == pytest.approx(10**-0.5, rel=1e-9)
    assert suggestion["min_tenth"] == pytest.approx(10**-1.5, rel=1e-9)
    # A curve that only rises has no descent: its first rate is the steepest it has.
    assert suggest_learning_rate(lrs, lrs)["steepest"] == lrs[0]
    # Noise at the start can be skipped: a dip there is not the steepest descent.
    noisy = losses.copy()
    noisy[1] -= 0.5
    assert suggest_learning_rate(lrs, noisy)["steepest"] == pytest.approx(lrs[0])
    assert suggest_learning_rate(lrs, noisy, skip_start=5)["steepest"] == pytest.approx(1e-2)


@pytest.mark.parametrize(
    "lrs, losses, message",
    [
        ([1e-3, 1e-2], [1.0, 0.5], "same length >= 3"),
        ([1e-3, 1e-2, 1e-1], [1.0, 0.5], "same length >= 3"),
        ([1e-3, 1e-4, 1e-1], [1.0, 0.5, 0.4], "positive and increasing"),
        ([1e-3, 1e-2, 1e-1], [1.0, math.nan, 0.4], "must be finite"),
        ([1e-3, 1e-2, 1e-1], [1.0, 0.5, 0.4, -1], "same length"),
    ],
)
def test_suggestion_rejects_bad_curves(lrs, losses, message):
    with pytest.raises(ValueError, match=message):
        suggest_learning_rate(lrs, losses)


def test_loss_watch_stops_once_the_smoothed_loss_exceeds_the_factor():
    class Fake:
        loss_history: list

    fake = Fake()
    fake.loss_history = []
    watch = LossWatch(beta=0.0, explode_factor=4.0)
    stops = []
    for loss in (2.0, 1.0, 3.9, 4.1):
        fake.loss_history.append(loss)
        stops.append(watch(fake))
    assert stops == [False, False, False, True]


def test_lr_range_test_runs_on_digits_and_records_its_suggestion(tmp_path, capsys):
    out = tmp_path / "lr"
    args = ["--quiet", "experiment", "lr-range", "--num-training", "300", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "suggested learning rate" in printed and "steepest descent" in printed
    _check_png(out / "lr_range.png")
    saved = json.loads((out / "results.json").read_text())
    results, settings = saved["results"], saved["settings"]
    lrs, losses = np.array(results["lrs"]), np.array(results["losses"])
    # The rate rises by equal factors from min_lr, one step per update...
    assert lrs[0] == pytest.approx(settings["min_lr"])
    ratio = (settings["max_lr"] / settings["min_lr"]) ** (1 / (settings["num_steps"] - 1))
    np.testing.assert_allclose(lrs[1:] / lrs[:-1], ratio, rtol=1e-9)
    # ...and the loss explodes before max_lr = 10 on the digits, which stops the test.
    assert results["stopped_early"] and len(losses) < settings["num_steps"]
    smoothed = smooth_losses(losses, settings["beta"])
    np.testing.assert_allclose(results["smoothed"], smoothed, rtol=1e-12)
    assert smoothed[-1] > settings["explode_factor"] * smoothed[:-1].min()
    skip = math.ceil(1 / (1 - settings["beta"]))
    assert results["suggestion"] == suggest_learning_rate(lrs[:-1], smoothed[:-1], skip)
    # The suggestion lies where the loss was falling: well below the explosion.
    assert settings["min_lr"] < results["suggestion"]["steepest"] < lrs[-1] / 3
    assert smoothed[:-1].min() < 0.5 * smoothed[0]


def test_experiments_without_epochs_or_data_refuse_those_options():
    with pytest.raises(ValueError, match="experiment 'init' has no num_training setting"):
        experiment_settings("init", num_training=100)
    with pytest.raises(ValueError, match="experiment 'lr-range' has no epochs setting"):
        experiment_settings("lr-range", epochs=3)
