"""`evaluate` reports per-class scores, top-k and confusion.png; `train --preprocess` round-trips.

Every number evaluate prints is checked against scikit-learn on the reloaded model's own
predictions; PCA in a run folder against sklearn's PCA fitted on the training split alone.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier

from tinyvision.classification_evaluation import class_names
from tinyvision.cli import main
from tinyvision.data.cifar10 import CLASS_NAMES
from tinyvision.files import load_arrays, save_arrays
from tinyvision.pipeline import evaluate_run, load_run

PCA_PICTURES = {"pca_scatter.png", "pca_variance.png", "pca_components.png"}


def _train(tmp_path, name, *options):
    out = tmp_path / name
    assert main(["-q", "train", *options, "--out", str(out)]) == 0
    return out


def _flat(images):
    return images.reshape(len(images), -1).astype(np.float64)


def _printed_table(text):
    """{class name: (precision, recall, f1, support)} from evaluate's per-class table."""
    rows = re.findall(r"^  (\S+(?: avg)?)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)$", text, re.M)
    return {name: tuple(map(float, values)) for name, *values in rows}


@pytest.fixture(scope="module")
def softmax_run(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("softmax"), "run")


def test_evaluate_prints_sklearns_per_class_scores_and_top_k(softmax_run, capsys):
    capsys.readouterr()
    assert main(["-q", "evaluate", str(softmax_run)]) == 0
    printed = capsys.readouterr().out
    loaded = load_run(softmax_run)
    X, y = loaded.prepared.X["test"], loaded.prepared.data["y_test"]
    predicted = loaded.model.predict(X)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y, predicted, labels=np.arange(10), zero_division=0
    )
    table = _printed_table(printed)
    for label in range(10):
        expected = (precision[label], recall[label], f1[label], support[label])
        np.testing.assert_allclose(table[str(label)], expected, atol=5e-4)
    for average in ("macro", "weighted"):
        scores = skm.precision_recall_fscore_support(
            y, predicted, labels=np.arange(10), average=average, zero_division=0
        )
        np.testing.assert_allclose(table[f"{average} avg"][:3], scores[:3], atol=5e-4)
    scores = loaded.model.scores(X)
    for k in (1, 3, 5):
        expected = skm.top_k_accuracy_score(y, scores, k=k, labels=np.arange(10))
        assert f"top-{k} accuracy  {expected:.4f}" in printed
    assert "top-10" not in printed
    assert f"confusion matrix: {softmax_run / 'confusion.png'}" in printed
    assert (softmax_run / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_run_returns_the_confusion_matrix_of_the_test_split(softmax_run):
    result = evaluate_run(softmax_run)
    loaded = load_run(softmax_run)
    y = loaded.prepared.data["y_test"]
    predicted = loaded.model.predict(loaded.prepared.X["test"])
    report = result["report"]
    np.testing.assert_array_equal(report.confusion, skm.confusion_matrix(y, predicted))
    assert np.trace(report.confusion) / len(y) == result["value"] == result["recorded"]
    assert report.class_names == tuple("0123456789")


def test_a_net_trained_by_the_solver_gets_top_k_from_its_scores(tmp_path, capsys):
    out = _train(tmp_path, "fc", "--model", "fc", "--epochs", "2", "--hidden-dims", "16")
    loaded = load_run(out)
    X, y = loaded.prepared.X["test"], loaded.prepared.data["y_test"]
    top_k = evaluate_run(out)["report"].top_k
    scores = loaded.model.loss(X)
    for k in (1, 3, 5):
        expected = skm.top_k_accuracy_score(y, scores, k=k, labels=np.arange(10))
        assert top_k[k] == pytest.approx(expected, abs=1e-12)


def test_knn_gets_no_top_k_and_says_why(tmp_path, capsys):
    out = _train(tmp_path, "knn", "--model", "knn")
    capsys.readouterr()
    assert main(["-q", "evaluate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "top-k accuracy  not measured: knn gives labels, not class scores" in printed
    assert "top-1" not in printed and "macro avg" in printed
    assert (out / "confusion.png").is_file()


def test_class_names_are_the_data_sets_own_or_the_label_numbers():
    assert class_names("cifar10", 10) == CLASS_NAMES
    assert class_names("digits", 10) == tuple("0123456789")
    assert class_names("spiral", 3) == ("0", "1", "2")


def test_train_with_pca_fits_on_the_training_split_only_and_evaluate_reproduces_it(
    tmp_path, capsys
):
    out = _train(tmp_path, "pca", "--preprocess", "pca:20")
    assert PCA_PICTURES <= {p.name for p in out.iterdir()}
    assert json.loads((out / "config.json").read_text())["preprocess"] == "pca:20"
    capsys.readouterr()
    assert main(["-q", "evaluate", str(out)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out

    loaded = load_run(out, ("train", "test"))
    data = loaded.prepared.data
    projection = loaded.prepared.prep["projection"]
    assert projection.shape == (64, 20) and projection.dtype == np.float32
    reference = PCA(n_components=20, svd_solver="full").fit(_flat(data["X_train"]))
    signs = np.sign(np.sum(projection.T * reference.components_, axis=1))
    np.testing.assert_allclose(projection.T * signs[:, None], reference.components_, atol=1e-5)
    # The model's inputs are sklearn's transform of each split (plus the bias column).
    for split in ("train", "test"):
        expected = reference.transform(_flat(data[f"X_{split}"])) * signs
        np.testing.assert_allclose(loaded.prepared.X[split][:, :20], expected, atol=1e-4)
    # A PCA fitted on every split would differ: the test above can tell them apart.
    everything = np.concatenate([_flat(data["X_train"]), _flat(data["X_test"])])
    mixed = PCA(n_components=20, svd_solver="full").fit(everything).components_
    assert not np.allclose(np.abs(projection.T), np.abs(mixed), atol=1e-3)


def test_whitened_inputs_have_identity_covariance_on_the_training_split(tmp_path):
    out = _train(tmp_path, "white", "--preprocess", "whiten:30", "--dtype", "float64")
    loaded = load_run(out, ("train",))
    train = loaded.prepared.X["train"][:, :30]  # the bias column comes last
    np.testing.assert_allclose(np.cov(train, rowvar=False), np.eye(30), atol=2e-3)
    # Exactly: epsilon = 1e-5 turns each variance v into v / (v + 1e-5).
    variance = PCA(30, svd_solver="full").fit(_flat(loaded.prepared.data["X_train"]))
    shrink = variance.explained_variance_ / (variance.explained_variance_ + 1e-5)
    np.testing.assert_allclose(np.cov(train, rowvar=False), np.diag(shrink), atol=1e-9)
    assert evaluate_run(out)["value"] == json.loads((out / "metrics.json").read_text())["test_acc"]


def test_knn_on_pca_components_predicts_what_sklearn_predicts(tmp_path):
    out = _train(tmp_path, "knn", "--model", "knn", "--preprocess", "pca:10")
    loaded = load_run(out, ("test",))
    data = loaded.prepared.data
    reference = PCA(n_components=10, svd_solver="full").fit(_flat(data["X_train"]))
    neighbours = KNeighborsClassifier(n_neighbors=1).fit(
        reference.transform(_flat(data["X_train"])), data["y_train"]
    )
    expected = neighbours.predict(reference.transform(_flat(data["X_test"])))
    np.testing.assert_array_equal(loaded.model.predict(loaded.prepared.X["test"]), expected)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_acc"] == evaluate_run(out)["value"] == np.mean(expected == data["y_test"])


def test_two_dimensional_points_get_scatter_and_variance_pictures(tmp_path):
    out = _train(tmp_path, "spiral", "--model", "two-layer", "--dataset", "spiral",
                 "--epochs", "5", "--preprocess", "zca")  # fmt: skip
    names = {p.name for p in out.iterdir()}
    assert {"pca_scatter.png", "pca_variance.png"} <= names
    assert "pca_components.png" not in names  # points are not images


@pytest.mark.parametrize("spec", ["pca:0", "pca:x", "whiten:", "zca:4"])
def test_bad_preprocess_values_are_one_line_errors_naming_the_flag(tmp_path, capsys, spec):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--preprocess", spec, "--out", str(tmp_path / "r")])
    assert exit_info.value.code == 2
    error, hint = capsys.readouterr().err.strip().splitlines()
    assert error.startswith("tinyvision train: error: argument --preprocess:")
    assert f"got {spec!r}" in error
    assert hint == "see `tinyvision train --help`"
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "options, message",
    [
        (["--preprocess", "pca:65"], "--preprocess pca:65 keeps 65 components, but the inputs "
         "have only 64 dimensions; choose K <= 64"),
        (["--model", "cnn", "--preprocess", "whiten"], "--preprocess whiten projects flat rows"),
        (["--model", "fc", "--augment", "--preprocess", "pca:8"], "--model fc --augment"),
    ],
)  # fmt: skip
def test_preprocess_that_cannot_apply_is_a_one_line_error(tmp_path, capsys, options, message):
    assert main(["train", *options, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "r").exists()


def test_a_run_folder_from_before_preprocess_still_evaluates(softmax_run, tmp_path):
    old = shutil.copytree(softmax_run, tmp_path / "old")
    config = json.loads((old / "config.json").read_text())
    del config["preprocess"]
    (old / "config.json").write_text(json.dumps(config))
    result = evaluate_run(old)
    assert result["value"] == result["recorded"]


def test_a_pca_run_whose_projection_is_missing_is_a_one_line_error(tmp_path, capsys):
    out = _train(tmp_path, "pca", "--preprocess", "pca:5")
    arrays = load_arrays(out / "model.npz")
    del arrays["prep/projection"]
    save_arrays(out / "model.npz", arrays)
    capsys.readouterr()
    assert main(["-q", "evaluate", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'projection': (64, 5)" in err


def test_a_linear_model_that_saw_fewer_classes_than_the_test_split_skips_top_k(tmp_path, capsys):
    # The first 40 spiral points are all class 0: W gets one column, the test split has 3.
    out = _train(tmp_path, "few", "--dataset", "spiral", "--num-training", "40")
    capsys.readouterr()
    assert main(["-q", "evaluate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "not measured: the model scores only 1 of the 3 classes" in printed
    report = evaluate_run(out)["report"]
    assert report.confusion.shape == (3, 3) and report.confusion[:, 1:].sum() == 0
