"""PCA and whitening against scikit-learn and SciPy, their --preprocess spellings, and pictures."""

from __future__ import annotations

import numpy as np
import pytest
from assertions import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy.linalg import fractional_matrix_power
from sklearn.decomposition import PCA
from strategies import seeds

from tinyvision.pca import (
    fit_pca,
    parse_preprocess,
    pca_transform,
    projection_matrix,
    whiten,
    zca_whiten,
)
from tinyvision.pca_plots import plot_explained_variance, plot_pca_components, plot_pca_scatter


def _correlated(seed: int, n: int, dim: int, dtype=np.float64) -> np.ndarray:
    """Rows with a full-rank, far from isotropic covariance and a non-zero mean."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dim, dim)) * np.geomspace(3.0, 0.3, dim)[:, None]
    return (rng.normal(size=(n, dim)) @ mixing + rng.normal(size=dim) * 5).astype(dtype)


def _match_signs(actual: np.ndarray, expected: np.ndarray, axis: int) -> np.ndarray:
    """actual with each component (row for axis=1, column for axis=0) flipped to expected's sign."""
    signs = np.sign(np.sum(actual * expected, axis=axis, keepdims=True))
    return actual * signs


@settings(max_examples=25, deadline=None)
@given(seed=seeds, n=st.integers(12, 60), dim=st.integers(2, 8), data=st.data())
def test_fit_and_transform_match_sklearn_pca_up_to_sign(seed, n, dim, data):
    k = data.draw(st.integers(1, dim))
    X = _correlated(seed, n, dim)
    ours, theirs = fit_pca(X, k), PCA(n_components=k, svd_solver="full").fit(X)
    assert_close(ours.mean, theirs.mean_, rtol=1e-12, atol=1e-12, name="mean")
    # An eigensolver's error is relative to the largest eigenvalue, so a tiny one (3e-6 beside
    # ~10) may differ by more than 1e-9 of itself: the allowance scales with the largest.
    top = theirs.explained_variance_.max()
    assert_close(
        ours.explained_variance, theirs.explained_variance_, rtol=1e-9, atol=1e-12 * top, name="var"
    )
    assert_close(
        ours.explained_variance_ratio,
        theirs.explained_variance_ratio_,
        rtol=1e-9,
        atol=1e-12,
        name="ratio",
    )
    components = _match_signs(ours.components, theirs.components_, axis=1)
    assert_close(components, theirs.components_, rtol=1e-7, atol=1e-9, name="components")
    transformed = _match_signs(pca_transform(X, ours), theirs.transform(X), axis=0)
    assert_close(transformed, theirs.transform(X), rtol=1e-7, atol=1e-9, name="transform")
    # PCA whitening with epsilon 0 is sklearn's whiten=True.
    white = PCA(n_components=k, svd_solver="full", whiten=True).fit(X).transform(X)
    assert_close(_match_signs(whiten(X, ours, 0.0), white, axis=0), white, rtol=1e-7, atol=1e-8)
    assert ours.all_variance_ratio.shape == (dim,)
    assert ours.all_variance_ratio.sum() == pytest.approx(1.0, abs=1e-12)


def test_signs_are_fixed_by_the_largest_entry_of_each_component():
    pca = fit_pca(_correlated(0, 50, 6))
    largest = pca.components[np.arange(6), np.argmax(np.abs(pca.components), axis=1)]
    assert np.all(largest > 0)
    assert_close(pca.components @ pca.components.T, np.eye(6), rtol=0, atol=1e-12)


@pytest.mark.parametrize("epsilon", [0.0, 1e-5, 0.5])
def test_whitened_training_data_has_identity_covariance(epsilon):
    X = _correlated(1, 400, 5)
    pca, full = fit_pca(X, 4), fit_pca(X)
    # Each whitened coordinate has variance var / (var + eps): exactly 1 when eps = 0.
    white = whiten(X, pca, epsilon)
    shrink = pca.explained_variance / (pca.explained_variance + epsilon)
    assert_close(np.cov(white, rowvar=False), np.diag(shrink), rtol=0, atol=1e-10)
    assert_close(white.mean(axis=0), 0.0, rtol=0, atol=1e-12)
    # ZCA rotates that back: covariance U diag(var / (var + eps)) U^T.
    zca = zca_whiten(X, full, epsilon)
    shrink = full.explained_variance / (full.explained_variance + epsilon)
    expected = full.components.T @ np.diag(shrink) @ full.components
    assert_close(np.cov(zca, rowvar=False), expected, rtol=0, atol=1e-10)
    if epsilon == 0.0:
        assert_close(np.cov(white, rowvar=False), np.eye(4), rtol=0, atol=1e-10)
        assert_close(np.cov(zca, rowvar=False), np.eye(5), rtol=0, atol=1e-10)


def test_zca_is_the_inverse_square_root_of_the_covariance():
    X = _correlated(2, 300, 4)
    centred = X - X.mean(axis=0)
    covariance = np.cov(X, rowvar=False)
    expected = centred @ fractional_matrix_power(covariance, -0.5).real
    assert_close(zca_whiten(X, fit_pca(X), 0.0), expected, rtol=1e-8, atol=1e-10)
    # ZCA's map is symmetric: it rotates back into the input space.
    matrix = projection_matrix(fit_pca(X), "zca")
    assert_close(matrix, matrix.T, rtol=0, atol=1e-12)


def test_every_transform_is_the_centred_data_times_its_projection_matrix_in_the_input_dtype():
    X = _correlated(3, 80, 6, np.float32)
    pca = fit_pca(X, 3)
    assert pca.components.dtype == np.float64
    for mode, transform in (("pca", pca_transform), ("whiten", whiten)):
        out = transform(X, pca)
        assert out.dtype == np.float32 and out.shape == (80, 3)
        expected = (X.astype(np.float64) - pca.mean) @ projection_matrix(pca, mode)
        assert_close(out, expected, rtol=1e-4, atol=1e-4, name=mode)


def test_the_fit_uses_only_the_rows_it_is_given():
    train, other = _correlated(4, 100, 5), _correlated(5, 100, 5) * 3
    pca = fit_pca(train, 2)
    new_rows = pca_transform(other, pca)
    # Transforming other data applies the training mean and components, not other's own.
    assert_close(new_rows, (other - train.mean(axis=0)) @ pca.components.T, rtol=1e-10, atol=1e-10)
    assert not np.allclose(np.abs(fit_pca(other, 2).components), np.abs(pca.components))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda X: fit_pca(X, 0), "k must be a whole number of components from 1 to the 5"),
        (lambda X: fit_pca(X, 6), "from 1 to the 5 input dimensions, got 6"),
        (lambda X: fit_pca(X, 2.0), "got 2.0"),
        (lambda X: fit_pca(X[:1]), "at least 2 examples"),
        (lambda X: fit_pca(X[0]), "X must have 2 dimensions"),
        (lambda X: fit_pca(np.where(X > 2, np.nan, X)), "finite"),
        (lambda X: pca_transform(X[:, :4], fit_pca(X)), "X has 4 features but the PCA"),
        (lambda X: zca_whiten(X, fit_pca(X, 3)), "ZCA whitening rotates back with all 5"),
        (lambda X: projection_matrix(fit_pca(X), "zca", -1.0), "epsilon must be"),
        (lambda X: projection_matrix(fit_pca(X), "rotate"), "mode must be"),
        (
            lambda X: whiten(np.c_[X, np.ones(len(X))], fit_pca(np.c_[X, np.ones(len(X))]), 0.0),
            "zero variance",
        ),
    ],
)
def test_bad_arguments_say_what_was_expected(call, message):
    with pytest.raises(ValueError) as error:
        call(_correlated(6, 30, 5))
    assert message in str(error.value)


@pytest.mark.parametrize(
    "spec, expected",
    [("none", ("none", None)), ("pca:20", ("pca", 20)), ("whiten", ("whiten", None)),
     ("whiten:3", ("whiten", 3)), ("zca", ("zca", None))],
)  # fmt: skip
def test_preprocess_spellings_parse(spec, expected):
    assert parse_preprocess(spec) == expected


@pytest.mark.parametrize(
    "spec", ["pca:0", "pca:x", "pca", "pca:", "pca:-1", "pca:2.5", "zca:3", "none:1", "pcaa:3", ""]
)
def test_bad_preprocess_spellings_name_the_flag_and_the_accepted_ones(spec):
    with pytest.raises(ValueError) as error:
        parse_preprocess(spec)
    message = str(error.value)
    assert message.startswith("--preprocess must be none, pca:K, whiten, whiten:K or zca")
    assert repr(spec) in message and "\n" not in message


def _assert_png(path, returned):
    assert returned == path
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) > 200


def test_pictures_are_written_for_points_and_for_images(tmp_path):
    points = _correlated(7, 200, 2)
    for zca in (False, True):
        path = tmp_path / f"scatter-{zca}.png"
        _assert_png(path, plot_pca_scatter(points, fit_pca(points), path, zca=zca))
    path = tmp_path / "scatter-1.png"
    _assert_png(path, plot_pca_scatter(points, fit_pca(points, 1), path))
    images = _correlated(8, 100, 3 * 4 * 4)
    pca = fit_pca(images, 10)
    _assert_png(tmp_path / "variance.png", plot_explained_variance(pca, tmp_path / "variance.png"))
    path = tmp_path / "components.png"
    _assert_png(path, plot_pca_components(pca, (3, 4, 4), path, max_components=4))
    grey = fit_pca(images[:, :16], 5)
    _assert_png(path, plot_pca_components(grey, (1, 4, 4), path))
    for bad in ((1, 4, 4), (12, 2, 2)):
        with pytest.raises(ValueError, match=r"C = 1 \(grey\) or 3 \(colour\) and C\*H\*W = 48"):
            plot_pca_components(pca, bad, path)
    with pytest.raises(ValueError, match="like the data pca was fitted on"):
        plot_pca_scatter(points, pca, path)
