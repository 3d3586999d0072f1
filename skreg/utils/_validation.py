"""Input checks shared by several subpackages."""

import math
from contextlib import contextmanager

import numpy as np
from sklearn import get_config

__all__ = ["check_clip", "fitted_dense_rows", "restore_state_on_error"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

#: Up to this many entries an element-wise finiteness test is the cheaper;
#: above it, a sum (whose allocation is one number) is tested first.
_SMALL_CHECK = 4096


def fitted_dense_rows(estimator, X):
    """``X`` itself when it is a plain float32/float64 array of the fitted
    width that ``validate_data(estimator, X, reset=False)`` would return
    unchanged, else None (the caller then runs ``validate_data``, which
    converts, warns or raises exactly as scikit-learn does).

    The checks are the ones ``validate_data`` makes of such an array: two
    dimensions, at least one row, ``n_features_in_`` columns, no feature
    names expected (an estimator fitted on a DataFrame warns on arrays, so
    it takes the full path), and every entry finite unless
    ``sklearn.set_config(assume_finite=True)``; finiteness is tested as
    scikit-learn does, an aggregate first (here the sum of squares) and, if
    that is not finite, the entries, so a non-finite ``X`` takes the full
    path and gets scikit-learn's error.  Checking by hand costs about 2 us where
    ``validate_data`` costs 60 (scikit-learn#16653 found input checks to be
    most of a small model's predict time).
    """
    if type(X) is not np.ndarray or X.ndim != 2 or X.dtype not in _FLOATS:
        return None
    n, d = X.shape
    if n < 1 or d != getattr(estimator, "n_features_in_", -1):
        return None
    if "feature_names_in_" in estimator.__dict__:
        return None
    if not get_config()["assume_finite"]:
        flat = X if X.flags.c_contiguous else X.T if X.flags.f_contiguous else None
        if flat is not None:
            # the sum of squares is finite only if every entry is: a NaN
            # makes it NaN, an infinity +inf, and squares cannot cancel; BLAS
            # sums them in one pass with no temporary (0.6 us for one row,
            # isfinite(X).all() 1.4 us).  Overflow of large finite entries
            # falls back to the entries.
            if not math.isfinite(np.vdot(flat, flat)) and not np.isfinite(X).all():
                return None
        elif X.size <= _SMALL_CHECK:
            if not np.isfinite(X).all():
                return None
        else:
            with np.errstate(over="ignore"):
                total = X.sum()
            if not np.isfinite(total) and not np.isfinite(X).all():
                return None
    return X


def check_clip(clip):
    """``clip`` as a float pair ``(min, max)`` with finite ``min < max``, or None.

    Used by adversarial training (``skreg.neural_network``) and the attacks
    of ``skreg.metrics``; raises ``ValueError`` naming the problem.
    """
    if clip is None:
        return None
    try:
        lo, hi = (float(v) for v in clip)
    except (TypeError, ValueError):
        raise ValueError(
            f"clip must be None or a pair (min, max) of numbers; got {clip!r}."
        ) from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo >= hi:
        raise ValueError(f"clip=(min, max) needs finite min < max; got ({lo}, {hi}).")
    return lo, hi


@contextmanager
def restore_state_on_error(estimator):
    """Undo every attribute change of ``estimator`` if the block raises.

    ``validate_data(..., reset=True)`` sets ``n_features_in_`` before any
    work is done, and ``check_is_fitted`` takes any trailing-underscore
    attribute as proof of a fit.  A fit that fails or is interrupted
    (``KeyboardInterrupt``, ``MemoryError``) half-way would otherwise leave
    a model that looks fitted (``transform`` then fails with an
    ``AttributeError`` instead of ``NotFittedError``) or mixes two fits.
    Restoring the instance ``__dict__`` keeps the previous fit, or no fit;
    arrays and lists get their old contents back too (the same objects),
    since a warm-started fit updates some in place (optimizer moments, the
    loss curve).
    """
    previous = dict(vars(estimator))
    # fitted and private state only: constructor parameters are never
    # changed by a fit (and may be large or read-only)
    contents = {
        k: v.copy()
        for k, v in previous.items()
        if (k.endswith("_") or k.startswith("_"))
        and (isinstance(v, list) or (isinstance(v, np.ndarray) and v.flags.writeable))
    }
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(previous)
        for k, saved in contents.items():  # the same objects, their old contents
            if isinstance(saved, np.ndarray):
                previous[k][...] = saved
            else:
                previous[k][:] = saved
        raise
