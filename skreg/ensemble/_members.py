"""One member of a bagged ensemble: its bootstrap draw, its rows and
weights, its training and its predictions (module level, so every joblib
backend can ship them)."""

import numpy as np
from sklearn.base import BaseEstimator, clone

from ..utils._blas import single_threaded_blas
from ..utils._interrupt import stop_event

_MAX_INT = np.iinfo(np.int32).max
_STOCHASTIC_SOLVERS = ("sgd", "adam")


# BLAS is held at one thread while members train and predict: OpenBLAS
# changes the last bits of results with its thread count, so pinning it is
# what makes the ensemble bit-identical for any n_jobs.  The limit is the
# package-wide one (skreg.utils._blas), entered first in the calling thread.


# --- one member -----------------------------------------------------------------
def _draw_member(seed, n_samples, n_drawn, bootstrap):
    """The member's network seed and its in-bag indices (sklearn's layout)."""
    rs = np.random.RandomState(seed)
    net_seed = int(rs.randint(_MAX_INT))
    if bootstrap:
        idx = rs.randint(0, n_samples, n_drawn)
    else:
        idx = np.sort(rs.permutation(n_samples)[:n_drawn])
    return net_seed, idx.astype(np.intp, copy=False)


def _member_rows(counts, y_enc, n_classes, min_per_class):
    """Distinct in-bag rows and their weights (multiplicities).

    A class with fewer than ``min_per_class`` distinct in-bag rows gets
    out-of-bag rows of that class with weight 0: they change neither the
    loss nor the gradient, but the member then knows every class of the
    ensemble (same ``classes_``, same output units), as a member of
    scikit-learn's BaggingClassifier does (it sees all n rows, zeros
    included).
    """
    rows = np.flatnonzero(counts)
    have = np.bincount(y_enc[rows], minlength=n_classes)
    extra = []
    for c in np.flatnonzero(have < min_per_class):
        pool = np.flatnonzero((y_enc == c) & (counts == 0))
        extra.append(pool[: min_per_class - have[c]])
    if extra:
        rows = np.sort(np.concatenate([rows, *extra]))
    return rows, counts[rows].astype(np.float64)


def _clone_template(template, net_seed):
    est = clone(template)
    # clone() would return unfitted copies of estimator-valued parameters
    # (e.g. ``tie_to``); members only read them, so share the originals.
    for name, value in template.get_params(deep=False).items():
        if isinstance(value, BaseEstimator):
            est.set_params(**{name: value})
    return est.set_params(random_state=net_seed, warm_start=False)


def _scaled_batch_size(est, n_drawn, n_weighted, n_rows):
    """Batch size (in distinct rows) that carries the template's batch weight."""
    bs = est.batch_size
    base = min(200, n_drawn) if bs == "auto" else min(int(bs), n_drawn)
    scaled = max(1, int(round(base * n_weighted / n_drawn)))
    n_train = n_rows
    if est.early_stopping:
        n_train = n_rows - int(np.ceil(est.validation_fraction * n_rows))
    return max(1, min(scaled, n_train))


def _fit_member(template, X, y, y_enc, n_classes, seed, n_drawn, bootstrap,
                stop=None):  # fmt: skip
    """Train one member; module level so every joblib backend can ship it.
    ``stop`` is the ensemble's stop token (see ``skreg.utils._interrupt``)."""
    with single_threaded_blas():
        n = X.shape[0]
        net_seed, idx = _draw_member(seed, n, n_drawn, bootstrap)
        counts = np.bincount(idx, minlength=n)
        est = _clone_template(template, net_seed)
        rows, weights = _member_rows(
            counts, y_enc, n_classes, 2 if est.early_stopping else 1
        )
        n_weighted = int(np.count_nonzero(weights))
        if est.solver in _STOCHASTIC_SOLVERS and n_weighted < n_drawn:
            est.set_params(
                batch_size=_scaled_batch_size(est, n_drawn, n_weighted, rows.shape[0])
            )
        est._stop_event = stop_event(stop)
        try:
            est.fit(X[rows], y[rows], sample_weight=weights)
        finally:
            del est._stop_event  # (not picklable, and no fitted state)
    return est


def _member_proba(est, X, classes):
    """Member probabilities in the ensemble's class columns."""
    p = est.predict_proba(X)
    if est.classes_.shape == classes.shape and np.array_equal(est.classes_, classes):
        return p
    out = np.zeros((X.shape[0], classes.shape[0]), dtype=p.dtype)
    out[:, np.searchsorted(classes, est.classes_)] = p
    return out


def _member_oob(est, X, classes, seed, n_drawn, bootstrap):
    with single_threaded_blas():
        n = X.shape[0]
        _, idx = _draw_member(seed, n, n_drawn, bootstrap)
        oob = np.flatnonzero(np.bincount(idx, minlength=n) == 0)
        if oob.shape[0] == 0:
            return oob, None
        return oob, _member_proba(est, X[oob], classes)


def _member_predict(est, X, classes):
    with single_threaded_blas():
        return _member_proba(est, X, classes)
