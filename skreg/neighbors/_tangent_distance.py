"""Tangent distance: tangent planes and the pairwise distance matrix.

:class:`~skreg.neighbors.TangentDistanceKNN`, which searches with these
planes, is in ``_classification.py``.
"""

import functools
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_array

from ..utils._numba import as_kernel_array, numba_threads
from ..utils._sklearn_compat import (
    Interval,
    StrOptions,
    validate_params,
)
from ..utils._tangent_vectors import (
    IMAGE_TRANSFORMS,
    SIGNAL_TRANSFORMS,
    _check_sigma,
    smooth_images,
    smooth_signals,
)
from ..utils._tangent_vectors import raw_tangents as _raw_tangents
from ..utils._tangent_vectors import resolve_geometry as _resolve_geometry
from ._kernels import (
    image_space,
    orthonormal_planes,
    signal_space,
    tangent_distance_all,
)

__all__ = ["tangent_distance"]

#: Smallest pivot (squared sine of a principal angle between two tangent
#: planes) treated as a genuine direction; smaller ones mean the planes
#: share that direction.  Set from the rounding error of the inner products
#: C = Qy Qx^T in each precision.
_PIVOT_TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-11}

#: Pairs (queries x reference rows) handled per chunk: bounds the memory of
#: the distance block and of the query tangents.  Chunks never depend on
#: n_jobs, so results are bit-identical for any thread count.
_CHUNK_PAIRS = 1 << 20
#: At most this many queries per chunk, so that ``n_jobs`` threads share
#: the work of even a small query set.
_CHUNK_ROWS = 48
#: Queries smoothed and differentiated per scipy call.
_BLOCK_ROWS = 2048

# --------------------------------------------------------------------------
# Tangent planes
# --------------------------------------------------------------------------


def _distance_space(X, image_shape, sigma):
    """The vectors distances are measured between: the smoothed samples.

    Simard et al. take tangents from a smoothed image; measuring the
    distance between the smoothed images too keeps the first-order model
    ``x + T a`` consistent with the tangents and, on load_digits, gives a
    lower error than distances between raw images (see the Notes of
    :class:`TangentDistanceKNN`).
    """
    if image_shape is None:
        return smooth_signals(X, sigma)
    return smooth_images(X, image_shape, sigma)


def _query_space(X, image_shape, transforms, sigma, with_tangents):
    """``(_distance_space(X), raw tangents or None)`` of C-contiguous float
    rows ``X``: what a query block needs, in one kernel call.

    The same numbers as ``_distance_space`` and ``_raw_tangents`` (see
    ``_kernels.image_space``), without scipy.ndimage's per-call overhead
    (about 200 us for one 8 x 8 image, against 2 us); where the kernel is
    not known to agree bit for bit (:func:`_filters` returns None) those
    functions are called instead.
    """
    filters = None
    # a float or an int: scipy computes the same weights from sigma as from
    # float(sigma) (not so for a numpy float32 sigma, which takes scipy)
    if isinstance(sigma, float | int) and not isinstance(sigma, bool):
        names = tuple(transforms) if with_tangents else ()
        filters = _filters(sigma, image_shape, X.shape[1], names, X.dtype)
    if filters is None:
        xb = _distance_space(X, image_shape, sigma)
        if not with_tangents:
            return xb, None
        return xb, _raw_tangents(X, image_shape, transforms, sigma)
    return _apply_filters(filters, X, image_shape)


def _apply_filters(filters, X, image_shape):
    f0, s0, f1, s1, coords, codes = filters
    X = as_kernel_array(X, X.dtype)  # a read-only block: no second variant
    n, n_features = X.shape
    S = np.empty((n, n_features), dtype=X.dtype)
    T = np.empty((n, len(codes), n_features), dtype=X.dtype)
    if image_shape is None:
        signal_space(X, f0, s0, f1, s1, coords[0], codes, S, T)
    else:
        h, w = image_shape
        image_space(X, h, w, f0, s0, f1, s1, coords[0], coords[1], codes, S, T)
    return S, (T if len(codes) else None)


def _passed_weights(sigma, order):
    """The weights ``gaussian_filter1d(sigma, order)`` passes to
    ``correlate1d`` (default truncate 4.0), and scipy's symmetry class of
    them (``NI_Correlate1D``: 1 symmetric, -1 antisymmetric, 0 neither, to
    within ``DBL_EPSILON``)."""
    from scipy.ndimage._filters import _gaussian_kernel1d

    sigma = float(sigma)
    radius = int(4.0 * sigma + 0.5)
    fw = np.ascontiguousarray(_gaussian_kernel1d(sigma, order, radius)[::-1])
    fw = fw.astype(np.float64)
    eps = np.finfo(np.float64).eps
    left, right = fw[:radius][::-1], fw[radius + 1 :]  # fw[-l], fw[+l], l >= 1
    if np.all(np.abs(right - left) <= eps):
        return fw, 1
    if np.all(np.abs(right + left) <= eps):
        return fw, -1
    return fw, 0


def _build_filters(sigma, image_shape, n_features, names, dtype):
    """The arguments of ``_kernels.image_space`` / ``signal_space`` for
    this geometry (weights, symmetry classes, centred coordinates, transform
    codes), or None for a sigma ``gaussian_filter`` treats as zero (it then
    copies the image) or a scipy without ``_gaussian_kernel1d``."""
    dtype = np.dtype(dtype)
    if not (np.isfinite(float(sigma)) and sigma > 1e-15):
        return None
    try:
        (f0, s0), (f1, s1) = _passed_weights(sigma, 0), _passed_weights(sigma, 1)
    except (ImportError, AttributeError, TypeError, ValueError):
        return None

    def centred(n):  # the coordinates of _tangent_vectors, in the dtype
        return (np.arange(n) - (n - 1) / 2).astype(dtype)

    if image_shape is None:
        codes = [SIGNAL_TRANSFORMS.index(name) for name in names]
        coords = (centred(n_features),)
    else:
        codes = [IMAGE_TRANSFORMS.index(name) for name in names]
        coords = (centred(image_shape[1]), centred(image_shape[0]))
    return f0, s0, f1, s1, coords, np.array(codes, dtype=np.int64)


@functools.lru_cache(maxsize=32, typed=True)
def _filters(sigma, image_shape, n_features, names, dtype):
    """:func:`_build_filters`, or None when the kernels do not reproduce
    scipy.ndimage bit for bit on a probe (another scipy, or a build whose
    C loop fuses multiply-adds): queries then go through scipy itself, so
    their results never depend on which path computed them.

    Cached per geometry (and type of ``sigma``): building and checking
    costs about a millisecond.
    """
    filters = _build_filters(sigma, image_shape, n_features, names, dtype)
    if filters is None:
        return None
    # the probe: signed values of several magnitudes, zeros and a blank row
    rng = np.random.default_rng(0)
    probe = rng.standard_normal((3, n_features)) * np.array([[1.0], [1e-3], [0.0]])
    probe[0, ::5] = 0.0
    probe = np.ascontiguousarray(probe, dtype=dtype)
    S, T = _apply_filters(filters, probe, image_shape)
    if not np.array_equal(S, _distance_space(probe, image_shape, sigma)):
        return None
    if names and not np.array_equal(T, _raw_tangents(probe, image_shape, names, sigma)):
        return None
    return filters


def _tangent_planes(X, image_shape, transforms, sigma):
    """Orthonormal bases of the tangent planes of the rows of ``X``.

    Returns ``Q`` of shape (n_samples, n_transforms, n_features) whose first
    ``rank[i]`` rows are an orthonormal basis of ``span(tangents(X[i]))``,
    zero-padded, and ``rank`` (int64).  Rank-revealing (pivoted Gram-
    Schmidt): residual norms below ``16 max(n_transforms, n_features) eps``
    times the largest tangent norm are dropped, so a blank sample (all
    tangents zero) gets rank 0.
    """
    n, n_features = X.shape
    k = len(transforms)
    if k == 0 or n == 0:
        return np.zeros((n, k, n_features), dtype=X.dtype), np.zeros(n, np.int64)
    T = _raw_tangents(X, image_shape, transforms, sigma)
    Q = np.empty_like(T)
    rank = np.empty(n, dtype=np.int64)
    rtol = _rank_rtol(k, n_features, X.dtype)
    orthonormal_planes(T, rtol, Q, rank)
    return Q, rank


def _rank_rtol(n_transforms, n_features, dtype):
    # numpy.linalg.matrix_rank's cut-off (with a safety factor for the
    # Gram-Schmidt residuals), relative to the largest tangent: directions
    # below it are rounding noise.
    return 16 * max(n_transforms, n_features) * float(np.finfo(dtype).eps)


def _no_planes(X):
    return np.zeros((X.shape[0], 0, X.shape[1]), X.dtype), np.zeros(
        X.shape[0], np.int64
    )


def _chunks(n_rows, n_cols, n_features):
    step = min(_CHUNK_ROWS, max(1, _CHUNK_PAIRS // max(n_cols, 8 * n_features, 1)))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


# --------------------------------------------------------------------------
# Public distance
# --------------------------------------------------------------------------


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like", None],
        "image_shape": [tuple, list, None],
        "transforms": [str, list, tuple, None],
        "sided": [StrOptions({"one", "two"})],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def tangent_distance(
    X, Y=None, *, image_shape=None, transforms=None, sided="two", sigma=0.5, n_jobs=None
):
    """Tangent distance between the rows of X and the rows of Y.

    The two-sided tangent distance between ``x`` and ``y`` is the distance
    between their tangent planes, ``min_{a, b} ||x + T_x a - y - T_y b||``;
    the one-sided one uses the tangents of ``x`` only,
    ``min_a ||x + T_x a - y||``.  ``T_x`` holds the tangent vectors of ``x``
    (see :func:`skreg.utils.image_tangents`).  Like
    :func:`sklearn.metrics.pairwise.euclidean_distances` the result is a
    distance, not its square, so it can be fed to any estimator with
    ``metric='precomputed'``.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
        Flattened images (row-major) or 1-D signals.
    Y : array-like of shape (n_samples_Y, n_features), default=None
        If None, ``Y = X``.
    image_shape : tuple of (int, int), default=None
        ``(height, width)`` of the images.  None: square images if
        ``n_features`` is a perfect square, 1-D signals otherwise.
    transforms : str or list of str, default=None
        Image transforms (``'translate_x'``, ``'translate_y'``, ``'rotate'``,
        ``'scale'``, ``'parallel_hyperbolic'``, ``'diagonal_hyperbolic'``,
        ``'thickening'``) or signal transforms (``'shift'``, ``'dilation'``,
        ``'thickening'``).  None: all of the applicable kind.
    sided : {'two', 'one'}, default='two'
        Two-sided (tangent planes of both) or one-sided (tangents of the rows
        of ``X`` only).
    sigma : float, default=0.5
        Width, in pixels, of the Gaussian that smooths the samples; tangents
        are its derivatives and distances are measured between the smoothed
        samples.
    n_jobs : int, default=None
        Threads for the distance kernel (joblib convention).  Results do not
        depend on it.

    Returns
    -------
    distances : ndarray of shape (n_samples_X, n_samples_Y)
        float32 if both inputs are float32, float64 otherwise.

    See Also
    --------
    sklearn.metrics.pairwise.euclidean_distances : The Euclidean counterpart.
    TangentDistanceKNN : Nearest neighbours under this distance.

    Notes
    -----
    The per-pair least-squares problem is solved on orthonormal bases of the
    two tangent planes (computed once per sample, rank-revealing), which
    leaves an ``r x r`` system with ``r`` the number of transforms; it stays
    correct when a tangent set is rank-deficient (a blank image) or when the
    two planes share directions.  Cost: ``O(r^2 n_features)`` per pair.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skreg.neighbors import tangent_distance
    >>> X = load_digits().data[:3] / 16
    >>> D = tangent_distance(X)
    >>> D.shape
    (3, 3)
    >>> bool(abs(D[0, 1] - D[1, 0]) < 1e-8)
    True
    """
    X = check_array(X, dtype=(np.float64, np.float32), input_name="X")
    if Y is None:
        Y = X
    else:
        Y = check_array(Y, dtype=(np.float64, np.float32), input_name="Y")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but Y has {Y.shape[1]}; they must match."
        )
    dtype = np.result_type(X.dtype, Y.dtype)
    X = np.ascontiguousarray(X, dtype=dtype)
    Y = np.ascontiguousarray(Y, dtype=dtype)
    sigma = _check_sigma(sigma)
    image_shape, names = _resolve_geometry(X.shape[1], image_shape, transforms)
    Xd = _distance_space(X, image_shape, sigma)
    Yd = _distance_space(Y, image_shape, sigma)
    out = np.empty((X.shape[0], Y.shape[0]), dtype=dtype)
    tol = _PIVOT_TOL[np.dtype(dtype)]
    with numba_threads(n_jobs):
        QY, rY = (
            _tangent_planes(Y, image_shape, names, sigma)
            if sided == "two"
            else _no_planes(Y)
        )
        for rows in _chunks(X.shape[0], Y.shape[0], X.shape[1]):
            QX, rX = _tangent_planes(X[rows], image_shape, names, sigma)
            tangent_distance_all(Xd[rows], QX, rX, Yd, QY, rY, tol, out[rows])
    return out


def __getattr__(name):
    # models pickled before the estimator moved to _classification.py name
    # this module
    if name == "TangentDistanceKNN":
        from ._classification import TangentDistanceKNN

        return TangentDistanceKNN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
