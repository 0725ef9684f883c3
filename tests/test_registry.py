"""One registry and one run function: a model added by a test trains through the CLI, every
config field is a flag, kNN keeps its metric, old run folders load, and no command branches on
a model's name."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from tinyvision import registry
from tinyvision.classification import CLASSIFICATION
from tinyvision.cli import build_parser, main
from tinyvision.config import CaptionConfig, TrainConfig
from tinyvision.errors import DataError
from tinyvision.model import Model
from tinyvision.pipeline import evaluate_run, load_run

SRC = Path(__file__).resolve().parents[1] / "src" / "tinyvision"


class NearestCentroid(Model):
    """A model a user might add: one centroid per class, learned by a closed form."""

    def __init__(self, num_features: int, num_classes: int) -> None:
        self.params = {"centroids": np.zeros((num_classes, num_features))}

    def predict(self, X: np.ndarray) -> np.ndarray:
        distances = ((X[:, None, :] - self.params["centroids"][None]) ** 2).sum(axis=2)
        return np.argmin(distances, axis=1)


def _fit_centroids(model, config, prepared, run_dir, verbose, resume):
    X, y = prepared.X["train"], prepared.data["y_train"]
    model.params = {"centroids": np.stack([X[y == c].mean(axis=0) for c in np.unique(y)])}
    return {}


@pytest.fixture
def centroid_model():
    spec = registry.register(
        registry.ModelSpec(
            name="toy-centroid",
            task=CLASSIFICATION,
            build=lambda config, prepared: NearestCentroid(
                int(np.prod(prepared.input_shape)), prepared.num_classes
            ),
            description="nearest class centroid (registered by a test)",
            fit=_fit_centroids,
        )
    )
    yield spec
    registry.unregister(spec.name)


def test_a_model_registered_in_a_test_trains_and_evaluates_through_the_cli(
    centroid_model, tmp_path, capsys
):
    out = tmp_path / "run"
    assert main(["-q", "train", "--model", "toy-centroid", "--out", str(out)]) == 0
    assert "model toy-centroid on digits" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    loaded = load_run(out)
    X_train, y_train = loaded.prepared.data["X_train"], loaded.prepared.data["y_train"]
    flat = X_train.reshape(len(X_train), -1)
    expected = np.stack([flat[y_train == c].mean(axis=0) for c in range(10)])
    # Inputs are centred by the training mean, so the centroids are shifted by it.
    np.testing.assert_allclose(
        loaded.model.params["centroids"], expected - flat.mean(axis=0), rtol=1e-5, atol=1e-6
    )
    assert 0.85 < metrics["test_acc"] == evaluate_run(out)["value"]
    assert main(["-q", "evaluate", str(out)]) == 0


def test_a_models_own_metrics_reach_metrics_json_and_the_printed_summary(tmp_path, capsys):
    """ModelSpec.metrics adds what the fit learned beside the model (here a centroid spread)."""

    def spread(model, config, prepared, history):
        return {"centroid_spread": float(model.params["centroids"].std())}

    spec = registry.register(
        dataclasses.replace(
            registry.get("softmax"),
            name="toy-spread",
            build=lambda config, prepared: NearestCentroid(
                int(np.prod(prepared.input_shape)), prepared.num_classes
            ),
            fit=_fit_centroids,
            bias_column=False,
            metrics=spread,
        )
    )
    try:
        out = tmp_path / "run"
        assert main(["-q", "train", "--model", "toy-spread", "--out", str(out)]) == 0
    finally:
        registry.unregister(spec.name)
    metrics = json.loads((out / "metrics.json").read_text())
    with np.load(out / "model.npz") as saved:
        centroids = saved[next(k for k in saved.files if k.endswith("centroids"))]
    assert metrics["centroid_spread"] == pytest.approx(float(centroids.std()))
    printed = capsys.readouterr().out
    assert f"test accuracy   {metrics['test_acc']:.4f}" in printed


def _flags(parser: argparse.ArgumentParser, *path: str) -> set[str]:
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return {a.dest for a in parser._actions if a.option_strings and a.dest != "help"}


@pytest.mark.parametrize(
    "path, config_class, extra",
    [
        # --resume and --overwrite say what to do with the run folder; they are not settings.
        # --print-config shows the settings instead of training.
        (("train",), TrainConfig, {"config", "resume", "overwrite", "print_config"}),
        (("caption", "train"), CaptionConfig, {"config", "resume", "overwrite"}),
    ],
)
def test_every_config_field_is_a_flag_and_every_flag_a_field(path, config_class, extra):
    fields = {f.name for f in dataclasses.fields(config_class)}
    # Every command also takes the global options, after its name as before it.
    global_options = {"quiet", "verbose", "threads"}
    assert _flags(build_parser(), *path) == fields | extra | global_options


def test_flags_parse_into_the_typed_config(tmp_path):
    args = build_parser().parse_args(
        ["train", "--model", "fc", "--hidden-dims", "64,32", "--no-augment", "--lr", "0.1",
         "--dropout", "0.25", "--normalization", "none"]
    )  # fmt: skip
    assert args.hidden_dims == (64, 32) and args.augment is False
    assert args.learning_rate == 0.1 and args.dropout == 0.25 and args.normalization == "none"


def test_knn_trains_with_the_configured_metric(tmp_path):
    out = tmp_path / "knn"
    assert main(["-q", "train", "--model", "knn", "--metric", "l1", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["metric"] == "l1" and config["k"] == 1
    loaded = load_run(out, ("test",))
    data = loaded.prepared.data
    flat = {s: data[f"X_{s}"].reshape(len(data[f"X_{s}"]), -1) for s in ("train", "test")}
    reference = KNeighborsClassifier(n_neighbors=1, metric="manhattan").fit(
        flat["train"], data["y_train"]
    )
    ours = loaded.model.predict(loaded.prepared.X["test"])
    np.testing.assert_array_equal(ours, reference.predict(flat["test"]))
    l2 = KNeighborsClassifier(n_neighbors=1).fit(flat["train"], data["y_train"])
    assert not np.array_equal(ours, l2.predict(flat["test"]))


def test_a_version_1_run_folder_loads_with_dropout_as_a_drop_probability(tmp_path):
    out = tmp_path / "fc"
    args = ["-q", "train", "--model", "fc", "--epochs", "2", "--dropout", "0.25"]
    assert main([*args, "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["config_version"] == 2 and config["dropout"] == 0.25
    # Version 1 wrote no config_version and stored the keep probability.
    del config["config_version"]
    config["dropout"] = 0.75
    (out / "config.json").write_text(json.dumps(config))
    loaded = load_run(out)
    assert loaded.config.dropout == 0.25
    assert loaded.model.dropout_param["p"] == 0.75
    assert evaluate_run(out)["value"] == json.loads((out / "metrics.json").read_text())["test_acc"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"config_version": 99}, "newer than this tinyvision"),
        ({"model": "resnet-1000"}, "names model 'resnet-1000'"),
    ],
)
def test_run_folders_this_version_cannot_read_are_refused(tmp_path, change, message):
    out = tmp_path / "run"
    assert main(["-q", "train", "--epochs", "2", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**config, **change}))
    with pytest.raises(DataError, match=message):
        load_run(out)


def _name_comparisons(tree: ast.AST) -> list[int]:
    """Lines comparing an attribute named `model` with a string or a tuple of strings."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        on_model = any(isinstance(s, ast.Attribute) and s.attr == "model" for s in sides)
        constants = [s for s in sides if isinstance(s, (ast.Constant, ast.Tuple, ast.Name))]
        if on_model and constants:
            lines.append(node.lineno)
    return lines


def test_no_code_outside_the_registry_branches_on_a_model_name():
    found = {
        str(path.relative_to(SRC)): lines
        for path in SRC.rglob("*.py")
        if (lines := _name_comparisons(ast.parse(path.read_text())))
    }
    assert found == {}
    # The check itself finds the kind of branch the registry replaced.
    assert _name_comparisons(ast.parse('if config.model == "knn":\n    pass')) == [1]
