"""One member of a bagged ensemble: its bootstrap draw, its rows and
weights, its training and its predictions (module level, so every joblib
backend can ship them)."""

from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.utils.random import sample_without_replacement
from sklearn.utils.validation import has_fit_parameter

from ..neural_network._base import BaseMultilayerPerceptron
from ..neural_network._engine import predict_members
from ..utils._blas import single_threaded_blas
from ..utils._interrupt import stop_event
from ..utils._sklearn_compat import _check_method_params

_MAX_INT = np.iinfo(np.int32).max
_STOCHASTIC_SOLVERS = ("sgd", "adam")


# BLAS is held at one thread while members train and predict: OpenBLAS
# changes the last bits of results with its thread count, so pinning it is
# what makes the ensemble bit-identical for any n_jobs.  The limit is the
# package-wide one (skreg.utils._blas), entered first in the calling thread.


# --- the draw ---------------------------------------------------------------------
class DrawSpec(NamedTuple):
    """How every member's columns and rows are drawn (fixed at the first fit)."""

    n_samples: int
    n_features: int
    n_drawn: int
    n_features_drawn: int
    bootstrap: bool
    bootstrap_features: bool
    sample_weight: np.ndarray | None  # None: uniform draws

    def draw(self, seed):
        """The member's network seed, its columns and its in-bag rows.

        The same random streams as scikit-learn's ``BaggingClassifier`` and
        ``BaggingRegressor`` (``_set_random_states`` and
        ``_generate_bagging_indices`` in ``sklearn/ensemble/_bagging.py``):
        the network's ``random_state`` is the first draw of
        ``RandomState(seed)``, the columns then the rows come from a fresh
        ``RandomState(seed)``, rows by ``randint`` /
        ``sample_without_replacement`` or, with sample weights, by
        ``choice`` with probabilities proportional to the weights.  So
        ``estimators_features_`` and ``estimators_samples_`` equal
        scikit-learn's for the same ``random_state`` and data.

        Returns ``(net_seed, features, indices)``.
        """
        net_seed = int(np.random.RandomState(seed).randint(_MAX_INT))
        rs = np.random.RandomState(seed)
        d, d_drawn = self.n_features, self.n_features_drawn
        if self.bootstrap_features:
            features = rs.randint(0, d, d_drawn)
        else:
            features = sample_without_replacement(d, d_drawn, random_state=rs)
        n, n_drawn = self.n_samples, self.n_drawn
        if self.sample_weight is not None:
            p = self.sample_weight / np.sum(self.sample_weight)
            idx = rs.choice(n, n_drawn, replace=self.bootstrap, p=p)
        elif self.bootstrap:
            idx = rs.randint(0, n, n_drawn)
        else:
            idx = sample_without_replacement(n, n_drawn, random_state=rs)
        return (
            net_seed,
            features.astype(np.intp, copy=False),
            idx.astype(np.intp, copy=False),
        )


def _all_columns(features, n_features):
    """Whether a member's ``features`` are every column, in order."""
    return features.shape[0] == n_features and np.array_equal(
        features, np.arange(n_features)
    )


def _take(X, rows, features):
    """``X[rows][:, features]`` as a C-contiguous array (or a CSR matrix
    for CSR ``X``), copying only what is needed (``rows`` None: every row)."""
    if _all_columns(features, X.shape[1]):
        return X if rows is None else X[rows]
    if sp.issparse(X):
        # rows first: a CSR row draw is a slice of its arrays, a column
        # subset a pass over what is left
        return (X if rows is None else X[rows])[:, features]
    if rows is None:
        return np.ascontiguousarray(X[:, features])
    return X[np.ix_(rows, features)]


# --- one member -----------------------------------------------------------------
def _member_rows(counts, y_enc=None, n_classes=0, min_per_class=1):
    """Distinct in-bag rows and their weights (multiplicities).

    For a classifier (``y_enc`` the encoded labels), a class with fewer
    than ``min_per_class`` distinct in-bag rows gets out-of-bag rows of that
    class with weight 0: they change neither the loss nor the gradient, but
    the member then knows every class of the ensemble (same ``classes_``,
    same output units), as a member of scikit-learn's BaggingClassifier
    does (it sees all n rows, zeros included).  A regressor (``y_enc``
    None) needs no such rows.
    """
    rows = np.flatnonzero(counts)
    if y_enc is not None:
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


def _member_fit_params(fit_params, X, rows, features):
    """Routed fit parameters for a member trained on ``rows`` and ``features``.

    Per-sample parameters are indexed by row as scikit-learn's
    BaggingClassifier indexes them (``_check_method_params``).  Tangent
    vectors (``tangents`` of shape (n_samples, n_tangents, n_features), the
    one feature-shaped fit parameter of skreg's networks) also keep the
    member's columns: the projection onto a column subset is linear, so
    the projected tangents are exactly the tangents of the projected data.
    """
    if not fit_params:
        return {}
    if rows is not None:
        fit_params = _check_method_params(X, params=fit_params, indices=rows)
    tangents = fit_params.get("tangents")
    if tangents is not None and not _all_columns(features, X.shape[1]):
        fit_params = {**fit_params, "tangents": np.asarray(tangents)[..., features]}
    return fit_params


def _fit_member(template, X, y, y_enc, n_classes, seed, spec, stop=None,
                fit_params=None):  # fmt: skip
    """Train one member; module level so every joblib backend can ship it.

    ``y_enc`` and ``n_classes`` are the encoded labels and their number for
    a classifier, None for a regressor; ``spec`` is the ensemble's
    :class:`DrawSpec`, ``stop`` its stop token (see
    ``skreg.utils._interrupt``), ``fit_params`` the parameters routed to the
    members' ``fit``.  Returns ``(member, features)``.
    """
    from ..neural_network._base import BaseMultilayerPerceptron

    with single_threaded_blas():
        net_seed, features, idx = spec.draw(seed)
        counts = np.bincount(idx, minlength=spec.n_samples)
        est = _clone_template(template, net_seed)
        if not isinstance(est, BaseMultilayerPerceptron):
            _fit_foreign_member(est, X, y, counts, idx, features, stop, fit_params)
            return est, features
        rows, weights = _member_rows(
            counts, y_enc, n_classes, 2 if est.early_stopping else 1
        )
        n_weighted = int(np.count_nonzero(weights))
        if est.solver in _STOCHASTIC_SOLVERS and n_weighted < spec.n_drawn:
            est.set_params(
                batch_size=_scaled_batch_size(
                    est, spec.n_drawn, n_weighted, rows.shape[0]
                )
            )
        params = _member_fit_params(fit_params, X, rows, features)
        est._stop_event = stop_event(stop)
        try:
            est.fit(_take(X, rows, features), y[rows], sample_weight=weights, **params)
        finally:
            del est._stop_event  # (not picklable, and no fitted state)
    return est, features


def _fit_foreign_member(est, X, y, counts, idx, features, stop, fit_params):
    """Train a scikit-learn network through its own ``fit``, as
    BaggingClassifier and BaggingRegressor do: on all rows with the
    bootstrap counts as ``sample_weight`` when its ``fit`` takes one
    (scikit-learn >= 1.7), else on the drawn rows with repeats."""
    event = stop_event(stop)
    if event is not None and event.is_set():
        raise KeyboardInterrupt  # the ensemble was stopped before this member
    with _stoppable(est, event):
        if has_fit_parameter(est, "sample_weight"):
            params = _member_fit_params(fit_params, X, None, features)
            est.fit(_take(X, None, features), y, sample_weight=counts, **params)
        else:
            params = _member_fit_params(fit_params, X, idx, features)
            est.fit(_take(X, idx, features), y[idx], **params)
    if event is not None and event.is_set():
        # scikit-learn's MLP catches KeyboardInterrupt in its epoch loop and
        # returns its partial fit; the ensemble must still stop
        raise KeyboardInterrupt


#: Methods scikit-learn's MLPs call once per epoch (adam/sgd) or
#: per function evaluation (lbfgs); a stop request is checked there.
_PER_STEP_METHODS = ("_update_no_improvement_count", "_loss_grad_lbfgs")


@contextmanager
def _stoppable(est, event):
    """Let ``event`` stop ``est.fit`` within an epoch, from any thread.

    scikit-learn's MLP offers no stop hook, and Ctrl-C reaches the main
    thread only; shadowing its per-epoch methods on the instance (removed
    again afterwards) raises ``KeyboardInterrupt`` inside its loop when the
    event is set.  A method a future release renames is simply not
    shadowed: the member then stops at the end of its fit.
    """
    names = [n for n in _PER_STEP_METHODS if callable(getattr(type(est), n, None))]
    if event is None or not names:
        yield
        return

    def checked(method):
        def call(*args, **kwargs):
            if event.is_set():
                raise KeyboardInterrupt
            return method(*args, **kwargs)

        return call

    for name in names:
        setattr(est, name, checked(getattr(est, name)))
    try:
        yield
    finally:
        for name in names:
            vars(est).pop(name, None)


# --- predictions ---------------------------------------------------------------
def _member_proba(est, X, classes):
    """Member probabilities in the ensemble's class columns."""
    return _in_classes(est, est.predict_proba(X), classes)


def _in_classes(est, p, classes):
    """A member's probabilities ``p`` in the ensemble's class columns."""
    if est.classes_.shape == classes.shape and np.array_equal(est.classes_, classes):
        return p
    out = np.zeros((p.shape[0], classes.shape[0]), dtype=p.dtype)
    # the first len(classes_) columns, as BaggingClassifier takes them: a
    # member that saw a single class has one column, except scikit-learn's
    # MLPClassifier < 1.7, which returns two ([1 - p, p]) for it
    n = est.classes_.shape[0]
    out[:, np.searchsorted(classes, est.classes_)] = p[:, :n]
    return out


def _member_output(est, X, classes):
    """A classifier member's probabilities (``classes`` the ensemble's), or
    a regressor member's predictions (``classes`` None) as a 2-D array of
    shape (n_samples, n_outputs)."""
    if classes is None:
        return est.predict(X).reshape(X.shape[0], -1)
    return _member_proba(est, X, classes)


def _member_oob(est, features, X, classes, seed, spec):
    with single_threaded_blas():
        _, _, idx = spec.draw(seed)
        oob = np.flatnonzero(np.bincount(idx, minlength=spec.n_samples) == 0)
        if oob.shape[0] == 0:
            return oob, None
        return oob, _member_output(est, _take(X, oob, features), classes)


def _member_predict(est, features, X, classes):
    with single_threaded_blas():
        return _member_output(est, _take(X, None, features), classes)


# --- serving: members of one network shape in one kernel call -------------------
def _serving_key(est):
    """What members must share to run in one kernel call (None: a member
    this path cannot serve, e.g. scikit-learn's MLPs or MC-dropout
    inference, whose predictions are not the deterministic pass)."""
    if not isinstance(est, BaseMultilayerPerceptron):
        return None
    if not est._serves_deterministically():
        return None
    p = est._predictor()
    lay = p.layout
    arrays = (lay.units, lay.kind, lay.geom, lay.pool)
    return (p.activation, p.out_kind, p.dtype.str,
            tuple(a.tobytes() for a in arrays))  # fmt: skip


class MemberStack:
    """The members' parameters stacked in one array per group of members
    that share a network shape (usually one group), each member's
    ``coefs_``/``intercepts_`` becoming views of its row: a request runs
    each group's forward passes in one kernel call
    (``_engine.predict_members``) with nothing packed or copied.

    Built at the end of a fit and when a model is loaded; ``outputs``
    returns None (the caller then asks each member) when a member was
    changed since (weights replaced, ``set_params``), or when columns must
    be drawn from sparse rows.
    """

    def __init__(self, estimators, features, n_features):
        keys = [_serving_key(est) for est in estimators]
        self.ok = all(k is not None for k in keys)
        self.groups = []
        self._plain_for = None
        if not self.ok:
            return
        order = {}
        for i, k in enumerate(keys):
            order.setdefault(k, []).append(i)
        for members in order.values():
            preds = [estimators[i]._predictor() for i in members]
            thetas = np.stack([p.theta for p in preds])
            for j, i in enumerate(members):
                estimators[i]._set_weights(preds[j].layout, thetas[j])
            feats = [np.asarray(features[i]) for i in members]
            if all(_all_columns(f, n_features) for f in feats):
                cols = None
            else:
                cols = np.stack(feats).astype(np.int64)
            served = [estimators[i]._predictor() for i in members]
            self.groups.append((members, thetas, served, cols))

    def _plain(self, estimators, classes):
        """Per member, whether its kernel output is already its
        probabilities in ``classes``' columns (the same classes, one column
        each), worked out once per ``classes`` array: a member's classes
        change only with its weights, which ``outputs`` checks first."""
        cached = self._plain_for
        if cached is None or cached[0] is not classes:
            plain = [
                est.n_outputs_ == classes.shape[0] > 1
                and est.classes_.shape == classes.shape
                and bool(np.array_equal(est.classes_, classes))
                for est in estimators
            ]
            self._plain_for = cached = (classes, plain)
        return cached[1]

    def _current(self, estimators, X):
        """Whether the stacks still hold every member's weights and can
        serve ``X`` (columns are not drawn from sparse rows)."""
        if not self.ok:
            return False
        sparse = sp.issparse(X)
        for members, _, served, cols in self.groups:
            if cols is not None and sparse:
                return False
            for i, p in zip(members, served, strict=True):
                if estimators[i]._predictor() is not p:
                    return False
        return True

    def outputs(self, estimators, X, classes):
        """Each member's output, as :func:`_member_output` gives it, or None."""
        if not self._current(estimators, X):
            return None
        plain = None if classes is None else self._plain(estimators, classes)
        out = [None] * len(estimators)
        for members, thetas, served, cols in self.groups:
            raw = predict_members(thetas, served[0], X, cols)
            for j, i in enumerate(members):
                if classes is None or plain[i]:
                    out[i] = raw[j]  # (n, n_outputs) or (n, n_classes)
                else:
                    est = estimators[i]
                    out[i] = _in_classes(est, est._to_two_columns(raw[j]), classes)
        return out

    def mean_proba(self, estimators, X, classes):
        """The members' mean probability in float64, summed member by member
        (as a Python loop over :meth:`outputs` would), from the one kernel
        call; None unless every member shares one network shape and gives
        its probabilities in ``classes``' columns as they are."""
        if len(self.groups) != 1 or not self._current(estimators, X):
            return None
        if not all(self._plain(estimators, classes)):
            return None
        _, thetas, served, cols = self.groups[0]
        return predict_members(thetas, served[0], X, cols, mean=True)[1]
