"""PCA and whitening, as the CS231n notes on data preprocessing describe them.

Centre the data, take the eigenvectors of its covariance matrix (the principal components,
sorted by the variance along them) and

- project onto the top K of them: `pca_transform` ("decorrelated" data: diagonal covariance,
  and dimensionality reduction when K < D);
- PCA whitening: also divide each coordinate by sqrt(variance + epsilon), so the covariance
  becomes (nearly) the identity; epsilon keeps directions of (almost) no variance from being
  blown up into noise;
- ZCA whitening: whiten with all D components, then rotate back into the input space, so the
  whitened data looks as much like the input as possible (whitened images still look like
  images, with edges emphasised).

Every transform is a linear map of the centred data, (X - mean) @ P with P from
`projection_matrix`, so a run stores P (and the mean) with its model and applies exactly the
same map at evaluation. The covariance divides by N - 1, as scikit-learn's PCA does, so
`explained_variance` and the whitened scale agree with it. Fit on the training split only.

The `--preprocess` spellings of `tinyvision train` are parsed by `parse_preprocess`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tinyvision.validation import check_all_finite, check_float_array, check_non_negative

__all__ = [
    "DEFAULT_EPSILON",
    "PREPROCESS_MODES",
    "PCAFit",
    "fit_pca",
    "parse_preprocess",
    "pca_transform",
    "projection_matrix",
    "whiten",
    "zca_whiten",
]

# The CS231n notes' epsilon: small against the variance of pixels in [0, 1] or [0, 255].
DEFAULT_EPSILON = 1e-5

# mode -> whether it takes a component count K (pca:K, whiten or whiten:K, zca).
PREPROCESS_MODES = {"none": False, "pca": True, "whiten": True, "zca": False}
_SPELLINGS = "none, pca:K, whiten, whiten:K or zca, with K a positive whole number of components"


class PCAFit(NamedTuple):
    """The principal components of a training set (what `fit_pca` returns).

    mean: (D,) float64, the training mean
    components: (K, D) float64, orthonormal rows, in order of decreasing variance; each row's
        largest-magnitude entry is positive, so the signs do not depend on the solver
    explained_variance: (K,) float64, the variance along each component (divisor N - 1)
    explained_variance_ratio: (K,) float64, that variance over the total variance
    all_variance_ratio: (D,) float64, the ratio of every component, kept or not (for the
        cumulative explained-variance curve)
    """

    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    all_variance_ratio: np.ndarray


def fit_pca(X: np.ndarray, k: int | None = None) -> PCAFit:
    """Principal components of X's rows, from the eigenvectors of its covariance matrix.

    X: (N, D) float32 or float64 data, N >= 2 (fit on the training split only)
    k: components to keep, 1 <= k <= D; None keeps all D
    returns a PCAFit (float64 whatever X's dtype)
    """
    X = check_float_array(X, "X", 2)
    check_all_finite(X, "X")
    num_examples, dim = X.shape
    if num_examples < 2:
        raise ValueError(f"PCA needs at least 2 examples to measure variance, got {num_examples}")
    k = dim if k is None else _check_components(k, dim)
    X = X.astype(np.float64)
    mean = X.mean(axis=0)
    centred = X - mean
    covariance = centred.T @ centred / (num_examples - 1)  # (D, D)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)  # ascending
    order = np.argsort(eigenvalues)[::-1]
    # Rounding can leave the eigenvalues of flat directions slightly negative.
    variance = np.clip(eigenvalues[order], 0.0, None)
    components = eigenvectors[:, order].T  # (D, D), one component per row
    largest = np.argmax(np.abs(components), axis=1)
    components *= np.sign(components[np.arange(dim), largest])[:, None]
    total = variance.sum()
    ratio = variance / total if total > 0 else np.zeros_like(variance)
    return PCAFit(mean, components[:k], variance[:k], ratio[:k], ratio)


def _check_components(k: object, dim: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= dim:
        raise ValueError(
            f"k must be a whole number of components from 1 to the {dim} input dimensions, "
            f"got {k!r}"
        )
    return int(k)


def projection_matrix(
    pca: PCAFit, mode: str = "pca", epsilon: float = DEFAULT_EPSILON
) -> np.ndarray:
    """P such that (X - pca.mean) @ P is the chosen transform of X.

    pca: from fit_pca, with K components
    mode: "pca" (project onto the components), "whiten" (project, then divide each coordinate
        by sqrt(variance + epsilon)) or "zca" (whiten, then rotate back to the input space)
    epsilon: >= 0, added to each variance before whitening
    returns (D, K) float64 for "pca" and "whiten", (D, D) for "zca" (which needs all D
        components)
    """
    epsilon = check_non_negative(epsilon, "epsilon")
    if mode == "pca":
        return pca.components.T
    if mode not in ("whiten", "zca"):
        raise ValueError(f"mode must be 'pca', 'whiten' or 'zca', got {mode!r}")
    if epsilon == 0 and np.any(pca.explained_variance == 0):
        raise ValueError(
            "a component has zero variance, so whitening would divide by zero; pass "
            "epsilon > 0 or keep fewer components"
        )
    whitening = pca.components.T / np.sqrt(pca.explained_variance + epsilon)  # (D, K)
    if mode == "whiten":
        return whitening
    dim = pca.components.shape[1]
    if len(pca.components) != dim:
        raise ValueError(
            f"ZCA whitening rotates back with all {dim} components, but pca keeps "
            f"{len(pca.components)}; fit it with k=None"
        )
    return whitening @ pca.components


def _transform(X: np.ndarray, pca: PCAFit, mode: str, epsilon: float) -> np.ndarray:
    X = check_float_array(X, "X", 2)
    if X.shape[1] != len(pca.mean):
        raise ValueError(
            f"X has {X.shape[1]} features but the PCA was fitted on {len(pca.mean)}; transform "
            "data shaped like the training data"
        )
    projection = projection_matrix(pca, mode, epsilon).astype(X.dtype)
    return (X - pca.mean.astype(X.dtype)) @ projection


def pca_transform(X: np.ndarray, pca: PCAFit) -> np.ndarray:
    """X's coordinates along the kept principal components (decorrelated data).

    X: (N, D) float32 or float64; pca: from fit_pca
    returns (N, K) in X's dtype
    """
    return _transform(X, pca, "pca", 0.0)


def whiten(X: np.ndarray, pca: PCAFit, epsilon: float = DEFAULT_EPSILON) -> np.ndarray:
    """PCA whitening: coordinates along the components, each divided by sqrt(variance + eps).

    X: (N, D) float32 or float64; pca: from fit_pca; epsilon: >= 0
    returns (N, K) in X's dtype; on the training data its covariance is diag(var / (var + eps)),
        the identity up to epsilon
    """
    return _transform(X, pca, "whiten", epsilon)


def zca_whiten(X: np.ndarray, pca: PCAFit, epsilon: float = DEFAULT_EPSILON) -> np.ndarray:
    """ZCA whitening: PCA-whitened data rotated back into the input space.

    X: (N, D) float32 or float64; pca: from fit_pca with all D components; epsilon: >= 0
    returns (N, D) in X's dtype
    """
    return _transform(X, pca, "zca", epsilon)


def parse_preprocess(spec: str, name: str = "--preprocess") -> tuple[str, int | None]:
    """The mode and component count of a --preprocess value.

    spec: "none", "pca:K", "whiten" (all components), "whiten:K" or "zca"
    name: the option, named in the error
    returns (mode, K), K None for all components (and for "none")
    raises ValueError with the accepted spellings
    """
    bad = ValueError(f"{name} must be {_SPELLINGS}; got {spec!r}")
    mode, colon, count = str(spec).strip().partition(":")
    if mode not in PREPROCESS_MODES:
        raise bad
    if not colon:
        if mode == "pca":  # projecting onto all D components would change nothing
            raise bad
        return mode, None
    if not PREPROCESS_MODES[mode] or not (count.isascii() and count.isdigit()) or int(count) < 1:
        raise bad
    return mode, int(count)
