"""Confusion matrix, precision / recall / F1 and top-k accuracy against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from assertions import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from sklearn import metrics as skm
from strategies import seeds

from tinyvision.classification_metrics import (
    classification_report,
    confusion_matrix,
    precision_recall_f1,
    top_k_accuracy,
)
from tinyvision.vis_utils import plot_confusion_matrix


def _labels(seed: int, n: int, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, num_classes, n), rng.integers(0, num_classes, n)


def _sklearn_per_class(y_true, y_pred, num_classes, average=None):
    return skm.precision_recall_fscore_support(
        y_true, y_pred, labels=np.arange(num_classes), average=average, zero_division=0
    )


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n=st.integers(1, 60), num_classes=st.integers(2, 7))
def test_confusion_matrix_and_per_class_scores_match_sklearn(seed, n, num_classes):
    y_true, y_pred = _labels(seed, n, num_classes)
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    expected = skm.confusion_matrix(y_true, y_pred, labels=np.arange(num_classes))
    np.testing.assert_array_equal(matrix, expected)
    assert matrix.dtype == np.int64

    ours = precision_recall_f1(y_true, y_pred, num_classes)
    theirs = _sklearn_per_class(y_true, y_pred, num_classes)
    for name, a, b in zip(("precision", "recall", "f1"), ours[:3], theirs[:3], strict=True):
        assert_close(a, b, rtol=1e-12, atol=1e-15, name=name)
    np.testing.assert_array_equal(ours[3], theirs[3])

    report = classification_report(y_true, y_pred, num_classes)
    for average in ("macro", "weighted"):
        precision, recall, f1, _ = _sklearn_per_class(y_true, y_pred, num_classes, average)
        values = getattr(report, average)
        assert_close(
            [values["precision"], values["recall"], values["f1"]],
            [precision, recall, f1],
            rtol=1e-12,
            atol=1e-15,
            name=average,
        )
    assert report.accuracy == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-15)


def test_a_class_never_predicted_has_precision_zero_and_an_absent_class_recall_zero():
    # Class 2 is never predicted (its precision 0/0 -> 0, as zero_division=0); class 3 never
    # occurs in y_true (recall 0/0 -> 0, support 0) but is predicted once; class 4 is in neither.
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 3])
    precision, recall, f1, support = precision_recall_f1(y_true, y_pred, 5)
    theirs = _sklearn_per_class(y_true, y_pred, 5)
    for a, b in zip((precision, recall, f1, support), theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert precision[2] == 0 and recall[3] == 0 and support[3] == 0
    assert precision[4] == recall[4] == f1[4] == 0
    assert recall[2] == 0 and f1[2] == 0
    # The classes seen in neither count in the macro average, as sklearn's labels=range(C).
    report = classification_report(y_true, y_pred, 5)
    assert report.macro["precision"] == pytest.approx(precision.sum() / 5, abs=1e-15)
    assert confusion_matrix(y_true, y_pred, 5)[:, 4].sum() == 0


@settings(max_examples=40, deadline=None)
@given(
    seed=seeds,
    n=st.integers(1, 50),
    num_classes=st.integers(3, 8),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_top_k_accuracy_matches_sklearn_on_tie_free_scores(seed, n, num_classes, dtype):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, num_classes, n)
    # A permutation per row: every score distinct, so no tie decides anything.
    scores = np.argsort(rng.random((n, num_classes)), axis=1).astype(dtype)
    labels = np.arange(num_classes)
    for k in range(1, num_classes):
        expected = skm.top_k_accuracy_score(y_true, scores, k=k, labels=labels)
        assert top_k_accuracy(y_true, scores, k) == pytest.approx(expected, abs=1e-15)
    assert top_k_accuracy(y_true, scores, num_classes) == 1.0
    top1 = top_k_accuracy(y_true, scores, 1)
    assert top1 == pytest.approx(np.mean(np.argmax(scores, axis=1) == y_true), abs=1e-15)


def test_ties_in_top_k_go_to_the_lower_class_index_as_argmax():
    rng = np.random.default_rng(3)
    num_classes = 5
    y_true = rng.integers(0, num_classes, 200)
    # Scores from 3 levels: many ties, including ties at the k-th place.
    scores = rng.integers(0, 3, (200, num_classes)).astype(np.float64)
    assert top_k_accuracy(y_true, scores, 1) == np.mean(np.argmax(scores, axis=1) == y_true)
    # sklearn gives ties to the higher index: on reversed columns and labels its rule is ours.
    labels = np.arange(num_classes)
    for k in range(1, num_classes):
        expected = skm.top_k_accuracy_score(
            num_classes - 1 - y_true, scores[:, ::-1], k=k, labels=labels
        )
        assert top_k_accuracy(y_true, scores, k) == pytest.approx(expected, abs=1e-15)
    # On these ties sklearn's own rule differs from argmax's, so the two above are not the same.
    assert skm.top_k_accuracy_score(y_true, scores, k=1, labels=labels) != top_k_accuracy(
        y_true, scores, 1
    )


def test_all_equal_scores_rank_classes_by_index():
    scores = np.zeros((4, 4))
    y_true = np.array([0, 1, 2, 3])
    assert [top_k_accuracy(y_true, scores, k) for k in (1, 2, 3, 4)] == [0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: confusion_matrix([0, 1, 2], [0, 1], 3), "y_pred has 2 labels but y_true has 3"),
        (lambda: confusion_matrix([0, 1, 3], [0, 1, 2], 3), "y_true holds the label 3"),
        (lambda: confusion_matrix([0, 1, 2], [0, -1, 2], 3), "y_pred holds the label -1"),
        (lambda: confusion_matrix([0.0, 1.0], [0, 1], 2), "must hold integer class indices"),
        (lambda: confusion_matrix([], [], 2), "empty"),
        (lambda: confusion_matrix([0, 1], [0, 1], 0), "num_classes must be"),
        (lambda: precision_recall_f1([0, 1, 5], [0, 1, 2], 3), "only 3 classes"),
        (lambda: top_k_accuracy([0, 1], np.zeros((2, 3)), 4), "k must be at most the 3 classes"),
        (lambda: top_k_accuracy([0, 1], np.zeros((2, 3)), 0), "k must be"),
        (lambda: top_k_accuracy([0, 1, 2], np.zeros((2, 3)), 1), "y_true has 3 labels"),
        (lambda: top_k_accuracy([0, 3], np.zeros((2, 3)), 1), "y_true holds the label 3"),
        (lambda: top_k_accuracy([0, 1], np.zeros(3), 1), "scores must be a non-empty (N, C)"),
        (lambda: top_k_accuracy([0], np.array([[0.0, np.nan]]), 1), "finite"),
    ],
)
def test_bad_inputs_say_what_was_expected(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


def test_confusion_matrix_plot_has_one_cell_per_pair_and_checks_its_input(tmp_path):
    matrix = confusion_matrix([0, 1, 2, 2, 1], [0, 2, 2, 2, 1], 3)
    names = ("cat", "dog", "airplane")
    for normalize in (False, True):
        path = tmp_path / f"confusion-{normalize}.png"
        assert plot_confusion_matrix(matrix, names, path, normalize=normalize) == path
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as image:
            assert min(image.size) > 200
    with pytest.raises(ValueError, match="3 classes but 2 names"):
        plot_confusion_matrix(matrix, names[:2], tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"\(C, C\)"):
        plot_confusion_matrix(matrix[:2], names, tmp_path / "x.png")
