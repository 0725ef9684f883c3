"""Class imbalance: the imbalanced subset, balanced class weights (against scikit-learn), the
balanced sampler (its class frequencies, and an order that resuming and sharding keep), the
weighted loss of the PyTorch track, and `tinyvision train --imbalance ... --class-weights
balanced --sampler balanced` end to end."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.stats import chisquare
from sklearn.utils.class_weight import compute_class_weight

from tinyvision.classification import load_dataset
from tinyvision.cli import main
from tinyvision.config import TrainConfig, resolve_config
from tinyvision.imbalance import (
    balanced_class_weights,
    balanced_sample_weights,
    class_counts,
    imbalanced_subset,
    majority_classes,
    minority_classes,
)
from tinyvision.solver import Solver

torch = pytest.importorskip("torch", reason="the PyTorch track needs: pip install -e '.[torch]'")
pytest.importorskip(
    "pytorch_lightning", reason="the PyTorch track needs: pip install -e '.[torch]'"
)

from tinyvision.torch.data import EpochShuffle, ImageArrayDataset, ImageDataModule  # noqa: E402
from tinyvision.torch.lightning import ClassifierModule  # noqa: E402
from tinyvision.torch.run import train_module  # noqa: E402


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Small convolutions on a busy 2-core machine run far faster on one thread per worker."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _labels(counts: list[int], seed: int = 0) -> np.ndarray:
    """Labels with counts[c] examples of class c, in a shuffled order."""
    y = np.repeat(np.arange(len(counts)), counts)
    return np.random.default_rng(seed).permutation(y)


def _dataset(y: np.ndarray) -> ImageArrayDataset:
    return ImageArrayDataset(np.zeros((len(y), 1, 2, 2), np.float32), y)


# ---------------------------------------------------------------------------- the subset


def test_minority_classes_are_the_last_half():
    assert minority_classes(10) == (5, 6, 7, 8, 9) and majority_classes(10) == (0, 1, 2, 3, 4)
    assert minority_classes(3) == (1, 2) and majority_classes(3) == (0,)


@pytest.mark.parametrize("ratio", [1.0, 2.5, 10.0, 1000.0])
def test_the_subset_keeps_the_first_1_over_ratio_of_each_minority_class(ratio):
    counts = [40, 33, 57, 20, 9, 61]
    y = _labels(counts)
    keep = imbalanced_subset(y, ratio, 6)
    assert np.all(np.diff(keep) > 0)
    expected = [40, 33, 57] + [max(1, round(n / ratio)) for n in counts[3:]]
    np.testing.assert_array_equal(class_counts(y[keep], 6), expected)
    # The kept examples of a minority class are its first ones in the order of y.
    for label in (3, 4, 5):
        members = np.flatnonzero(y == label)
        np.testing.assert_array_equal(keep[y[keep] == label], members[: expected[label]])


def test_the_subset_refuses_a_ratio_below_one_and_bad_labels():
    with pytest.raises(ValueError, match=r"ratio must be a finite number >= 1.*keeps a tenth"):
        imbalanced_subset(np.array([0, 1]), 0.5, 2)
    with pytest.raises(ValueError, match="y"):
        imbalanced_subset(np.array([0, 3]), 2.0, 2)


def test_imbalance_thins_the_training_split_of_the_digits_only():
    full = load_dataset(resolve_config(TrainConfig(model="two-layer")))
    thin = load_dataset(resolve_config(TrainConfig(model="two-layer", imbalance=10)))
    before, after = class_counts(full["y_train"], 10), class_counts(thin["y_train"], 10)
    np.testing.assert_array_equal(after[:5], before[:5])
    np.testing.assert_array_equal(after[5:], np.maximum(1, np.round(before[5:] / 10)))
    for split in ("val", "test"):
        np.testing.assert_array_equal(thin[f"X_{split}"], full[f"X_{split}"])
    # Every kept training image is the image of its own label in the full split.
    keep = imbalanced_subset(full["y_train"], 10, 10)
    np.testing.assert_array_equal(thin["X_train"], full["X_train"][keep])


# ---------------------------------------------------------------------------- the weights


@pytest.mark.parametrize(
    "counts", [[5, 5, 5], [100, 10, 1], [37, 2, 19, 8, 64, 3], [1000, 1000, 100, 100, 100]]
)
def test_balanced_class_weights_are_scikit_learns(counts):
    y = _labels(counts, seed=len(counts))
    expected = compute_class_weight("balanced", classes=np.arange(len(counts)), y=y)
    np.testing.assert_allclose(balanced_class_weights(y, len(counts)), expected, rtol=1e-12)


def test_balanced_class_weights_name_a_class_without_examples():
    with pytest.raises(ValueError, match=r"none of class 2.*--imbalance"):
        balanced_class_weights(np.array([0, 1, 1, 3]), 4)


def test_balanced_sample_weights_give_each_class_the_same_share():
    y = _labels([300, 30, 3, 90])
    weights = balanced_sample_weights(y, 4)
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    shares = np.bincount(y, weights=weights, minlength=4)
    np.testing.assert_allclose(shares, 0.25, rtol=1e-12)


# ---------------------------------------------------------------------------- the sampler

COUNTS = [600, 600, 60, 60, 6]


def _epoch_labels(y: np.ndarray, weights: np.ndarray | None, epochs: int) -> np.ndarray:
    sampler = EpochShuffle(_dataset(y), seed=3, weights=weights)
    drawn = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        drawn.append(y[list(sampler)])
    return np.concatenate(drawn)


def test_the_balanced_sampler_draws_every_class_equally_often():
    y = _labels(COUNTS)
    drawn = _epoch_labels(y, balanced_sample_weights(y, 5), epochs=4)
    assert len(drawn) == 4 * len(y)
    observed = class_counts(drawn, 5)
    # Each of the 5,304 draws is a class with probability 1/5: a chi-square test of that.
    assert chisquare(observed).pvalue > 1e-3, observed
    # The rarest class (6 examples) comes about 1,060 times, its examples over and over.
    assert abs(observed[4] - len(drawn) / 5) < 5 * np.sqrt(len(drawn) * 0.2 * 0.8)
    # Without weights every example comes once per epoch: the classes keep their counts.
    np.testing.assert_array_equal(class_counts(_epoch_labels(y, None, 4), 5), 4 * np.array(COUNTS))


def test_the_sampler_draws_as_torchs_weighted_random_sampler_would():
    """Same distribution, tested on the frequency of every example (not only of classes)."""
    y = _labels([40, 20, 4])
    weights = balanced_sample_weights(y, 3)
    ours = np.bincount(_epoch_labels(np.arange(len(y)), weights, epochs=200), minlength=len(y))
    generator = torch.Generator().manual_seed(1)
    theirs_sampler = torch.utils.data.WeightedRandomSampler(
        torch.as_tensor(weights), num_samples=len(y) * 200, generator=generator
    )
    theirs = np.bincount(np.fromiter(theirs_sampler, int), minlength=len(y))
    expected = weights * len(y) * 200
    assert chisquare(ours, expected).pvalue > 1e-3
    assert chisquare(theirs, expected).pvalue > 1e-3


def test_the_sampler_refuses_weights_of_the_wrong_shape_or_sign():
    dataset = _dataset(np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"one per example, shape \(3,\), got \(2,\)"):
        EpochShuffle(dataset, weights=np.ones(2))
    with pytest.raises(ValueError, match="non-negative"):
        EpochShuffle(dataset, weights=np.array([1.0, -1.0, 1.0]))


def test_a_resumed_sampler_draws_the_epochs_an_uninterrupted_one_draws():
    y = _labels(COUNTS)
    weights = balanced_sample_weights(y, 5)
    uninterrupted = EpochShuffle(_dataset(y), seed=7, weights=weights)
    orders = []
    for epoch in range(4):
        uninterrupted.set_epoch(epoch)
        orders.append(list(uninterrupted))
    resumed = EpochShuffle(_dataset(y), seed=7, weights=weights)  # a new process, at epoch 2
    resumed.set_epoch(2)
    assert list(resumed) == orders[2]
    assert orders[2] != orders[1]  # each epoch draws anew
    other_seed = EpochShuffle(_dataset(y), seed=8, weights=weights)
    other_seed.set_epoch(2)
    assert list(other_seed) != orders[2]


@pytest.mark.parametrize("replicas", [2, 3])
def test_shards_of_the_balanced_sampler_interleave_into_one_processs_order(replicas):
    y = _labels(COUNTS)
    weights = balanced_sample_weights(y, 5)
    one = EpochShuffle(_dataset(y), seed=5, weights=weights)
    shards = [EpochShuffle(_dataset(y), 5, replicas, rank, weights) for rank in range(replicas)]
    for sampler in (one, *shards):
        sampler.set_epoch(1)
    shard_orders = [list(s) for s in shards]
    assert {len(order) for order in shard_orders} == {len(y) // replicas}
    interleaved = [index for step in zip(*shard_orders, strict=True) for index in step]
    assert interleaved == list(one)[: len(interleaved)]


# ---------------------------------------------------------------------------- the losses


def test_class_weights_weight_the_training_loss_only():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3)).double()
    weights = np.array([0.5, 2.0, 4.0])
    module = ClassifierModule(net, class_weights=weights)
    module.log = lambda *args, **kwargs: None  # logging needs a Trainer
    x = torch.randn(6, 1, 2, 2, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 2, 0, 1])
    logp = torch.log_softmax(net(x), dim=1).detach().numpy()
    per_example = -logp[np.arange(6), y.numpy()]
    w = weights[y.numpy()]
    expected = float((w * per_example).sum() / w.sum())
    assert module.training_step((x, y), 0).item() == pytest.approx(expected, rel=1e-12)
    assert module.validation_step((x, y), 0).item() == pytest.approx(per_example.mean(), rel=1e-12)
    assert "class_weights" in module.state_dict()  # checkpoints carry it to a resumed run


def test_the_numpy_solver_draws_balanced_minibatches():
    y = _labels(COUNTS)
    X = np.zeros((len(y), 2))

    class Constant:
        params = {"w": np.zeros(1)}

        def loss(self, X, y=None):
            return np.zeros((len(X), 5)) if y is None else (0.0, {"w": np.zeros(1)})

    data = {"X_train": X, "y_train": y, "X_val": X[:5], "y_val": y[:5]}
    solver = Solver(
        Constant(), data, sample_weights=balanced_sample_weights(y, 5), seed=0, verbose=False
    )
    drawn = np.concatenate([solver._sample_batch()[1] for _ in range(100)])
    assert chisquare(class_counts(drawn, 5)).pvalue > 1e-3
    with pytest.raises(ValueError, match=r"one weight per training example.*got \(3,\)"):
        Solver(Constant(), data, sample_weights=np.ones(3), verbose=False)


# ---------------------------------------------------------------------------- end to end

TINY = ["--model", "torch-cnn", "--channels", "8,16", "--imbalance", "10"]


def test_cli_trains_and_evaluates_with_class_weights_and_the_sampler(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", *TINY, "--epochs", "3", "--class-weights", "balanced", "--sampler", "balanced"]
    assert main(["-q", *args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "test minority" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert (config["imbalance"], config["class_weights"], config["sampler"]) == (
        10.0,
        "balanced",
        "balanced",
    )
    data = load_dataset(resolve_config(TrainConfig(model="fc", imbalance=10)))
    assert metrics["num_train"] == len(data["y_train"])
    per_class = np.array(metrics["test_per_class_acc"])
    assert per_class.shape == (10,)
    assert metrics["test_minority_acc"] == pytest.approx(per_class[5:].mean(), abs=1e-5)
    assert metrics["test_majority_acc"] == pytest.approx(per_class[:5].mean(), abs=1e-5)
    support = class_counts(data["y_test"], 10)
    assert metrics["test_acc"] == pytest.approx(per_class @ support / support.sum(), abs=1e-5)
    history = json.loads((out / "history.json").read_text())
    per_epoch = history["iterations_per_epoch"]
    losses = history["loss_history"]
    assert np.mean(losses[-per_epoch:]) < 0.7 * np.mean(losses[:per_epoch])
    assert main(["evaluate", str(out)]) == 0
    report = capsys.readouterr().out
    assert "reproduced exactly" in report and "test minority acc" in report
    assert (out / "confusion.png").is_file()


def test_the_numpy_solver_takes_the_sampler_but_not_class_weights(tmp_path, capsys):
    base = ["train", "--model", "two-layer", "--epochs", "2", "--imbalance", "5"]
    out = tmp_path / "run"
    assert main(["-q", *base, "--sampler", "balanced", "--out", str(out)]) == 0
    assert "test_minority_acc" in json.loads((out / "metrics.json").read_text())
    capsys.readouterr()
    assert main([*base, "--class-weights", "balanced", "--out", str(tmp_path / "b")]) == 2
    error = capsys.readouterr().err
    assert "--class-weights balanced weights the cross-entropy" in error
    assert "torch-cnn" in error and "--sampler balanced" in error
    assert main(["train", "--model", "softmax", "--sampler", "balanced"]) == 2
    assert "trains in its own way" in capsys.readouterr().err
    assert main(["train", "--model", "fc", "--augment", "--sampler", "balanced"]) == 2
    assert "leave out one of them" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--imbalance", "0.5"])
    assert "imbalance must be a finite number >= 1" in capsys.readouterr().err


def _train(arrays, config, run_dir, resume=None):
    """A ClassifierModule with balanced class weights and sampler, trained as a run trains."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.2),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 8 * 8, 10),
    )
    y = arrays["y_train"]
    module = ClassifierModule(net, learning_rate=1e-2, class_weights=balanced_class_weights(y, 10))
    data = ImageDataModule(
        arrays, batch_size=16, augment=True, seed=3, sample_weights=balanced_sample_weights(y, 10)
    )
    history = train_module(module, data, config, run_dir, False, num_train=len(y), resume=resume)
    return module, history


def test_a_resumed_balanced_run_ends_with_the_uninterrupted_weights(tmp_path):
    digits = load_dataset(resolve_config(TrainConfig(model="fc", imbalance=10)))
    arrays = {
        f"{kind}_{split}": digits[f"{kind}_{split}"][:120]
        for split in ("train", "val")
        for kind in "Xy"
    }
    settings = dict(model="imbalance-test", seed=3, patience=None, devices=None, num_nodes=None)
    settings.update(strategy=None, clip_norm=None, clip_value=None, batch_size=16)
    first = SimpleNamespace(**settings, epochs=1)
    whole = SimpleNamespace(**settings, epochs=2)
    _train(arrays, first, tmp_path / "stopped")
    resumed, _ = _train(
        arrays, whole, tmp_path / "stopped", tmp_path / "stopped/checkpoints/last.ckpt"
    )
    reference, history = _train(arrays, whole, tmp_path / "reference")
    assert history["epoch"] == 2
    ours, theirs = resumed.state_dict(), reference.state_dict()
    assert ours.keys() == theirs.keys() and "class_weights" in ours
    for key in ours:
        torch.testing.assert_close(ours[key], theirs[key], rtol=0, atol=0, msg=key)
