"""What a fitted bagged ensemble says about itself: its out-of-bag score
and the book's eq. 7.50 measured on data.

:class:`EnsembleDiagnosticsMixin` is part of
:class:`~skreg.ensemble.BaggedMLPClassifier`; it reads the fitted members
(``estimators_``, ``estimators_features_``, the members' seeds) and the
estimator's ``_member_probas``, ``_spec`` and ``_parallel``.
"""

import warnings
from typing import NamedTuple

import numpy as np
from joblib import delayed

from ..utils._blas import single_threaded_blas
from ._members import _member_oob


class ErrorDecomposition(NamedTuple):
    """Eq. 7.50 measured on data (:meth:`BaggedMLPClassifier.error_decomposition`)."""

    k: int
    v: float
    c: float
    eq4: float
    ensemble_error: float


class EnsembleDiagnosticsMixin:
    """Out-of-bag scoring and :meth:`error_decomposition`."""

    def _set_oob_score(self, X, y_enc):
        n, n_classes = X.shape[0], self.classes_.shape[0]
        spec = self._spec()
        with single_threaded_blas():
            parts = self._parallel(len(self.estimators_))(
                delayed(_member_oob)(est, f, X, self.classes_, int(s), spec)
                for est, f, s in zip(
                    self.estimators_,
                    self.estimators_features_,
                    self._seeds,
                    strict=True,
                )
            )
        acc = np.zeros((n, n_classes))
        votes = np.zeros(n)
        for oob, p in parts:  # member order: deterministic sums
            if p is None:
                continue
            if self.voting == "soft":
                acc[oob] += p
            else:
                acc[oob, np.argmax(p, axis=1)] += 1.0
            votes[oob] += 1.0
        has = votes > 0
        dec = np.full((n, n_classes), np.nan)
        dec[has] = acc[has] / votes[has, None]
        self.oob_decision_function_ = dec.astype(self._dtype())
        n_missing = int(n - has.sum())
        if n_missing:
            warnings.warn(
                f"{n_missing} of {n} training samples are in every member's bootstrap "
                "sample and have no out-of-bag prediction; they are left out of "
                "oob_score_ (their oob_decision_function_ rows are NaN). Use more "
                "estimators for a reliable out-of-bag estimate.",
                UserWarning,
                stacklevel=5,  # _set_oob_score < _fit < fit < _fit_context < caller
            )
        if has.any():
            pred = np.argmax(dec[has], axis=1)
            self.oob_score_ = float(np.mean(pred == y_enc[has]))
        else:
            self.oob_score_ = float("nan")

    def error_decomposition(self, X, y):
        """Eq. 7.50 on given data: member error variance, covariance, ensemble error.

        With ``e_i = p_i(x) - onehot(y)`` the error of member i's
        probability output on a sample, and ``E[.]`` the mean over samples
        and classes (n_samples * n_classes numbers):

        * ``v = mean_i E[e_i^2]`` (mean member squared error),
        * ``c = mean_{i != j} E[e_i e_j]`` (mean pairwise error covariance),
        * ``eq4 = v / k + (k - 1) c / k``, the right-hand side of eq. 7.50,
        * ``ensemble_error = E[(mean_i e_i)^2]``, the squared error of the
          averaged output (the soft-voting ensemble).

        ``eq4 == ensemble_error`` up to rounding: eq. 7.50 is an identity in
        second moments.  No gain from bagging when ``c == v``, a k-fold gain
        when ``c == 0``.  Members' probabilities are used whatever
        ``voting`` is.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data (a held-out set shows generalisation; training data shows
            how alike the fits are).
        y : array-like of shape (n_samples,)
            True labels (values from ``classes_``).

        Returns
        -------
        decomposition : ErrorDecomposition
            Named tuple ``(k, v, c, eq4, ensemble_error)`` of an int and four
            floats (``c`` is NaN and ``eq4 == v`` when ``k == 1``).
        """
        X = self._validate_X(X)
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(
                f"y must be 1-D with one label per row of X ({X.shape[0]}), got "
                f"shape {y.shape}."
            )
        y_idx = np.searchsorted(self.classes_, y)
        y_idx = np.clip(y_idx, 0, self.classes_.shape[0] - 1)
        if not np.all(self.classes_[y_idx] == y):
            raise ValueError(
                f"y has labels that are not in classes_ {self.classes_}: "
                f"{np.setdiff1d(y, self.classes_)}."
            )
        n, n_classes = X.shape[0], self.classes_.shape[0]
        onehot = np.zeros((n, n_classes))
        onehot[np.arange(n), y_idx] = 1.0
        errors = np.stack(
            [p.astype(np.float64) - onehot for p in self._member_probas(X)]
        ).reshape(len(self.estimators_), -1)
        k, m = errors.shape
        gram = errors @ errors.T / m  # gram[i, j] = E[e_i e_j]
        v = float(np.mean(np.diag(gram)))
        if k > 1:
            c = float((gram.sum() - np.trace(gram)) / (k * (k - 1)))
            eq4 = v / k + (k - 1) * c / k
        else:
            c, eq4 = float("nan"), v
        ensemble_error = float(np.mean(errors.mean(axis=0) ** 2))
        return ErrorDecomposition(
            k=int(k), v=v, c=c, eq4=float(eq4), ensemble_error=ensemble_error
        )
