"""What a fitted bagged ensemble says about itself: its out-of-bag score
and the book's eq. 7.50 measured on data.

:class:`ClassifierDiagnosticsMixin` is part of
:class:`~skreg.ensemble.BaggedMLPClassifier` (errors of the probabilities),
:class:`RegressorDiagnosticsMixin` of
:class:`~skreg.ensemble.BaggedMLPRegressor` (errors of the predictions);
both read the fitted members (``estimators_``, ``estimators_features_``,
the members' seeds) and the estimator's ``_member_outputs``,
``_output_classes``, ``_spec`` and ``_parallel``
(``skreg.ensemble._base.BaseBaggedMLP``).
"""

import warnings
from typing import NamedTuple

import numpy as np
from joblib import delayed
from sklearn.metrics import r2_score
from sklearn.utils import check_array

from ..utils._blas import single_threaded_blas
from ._members import _member_oob


class ErrorDecomposition(NamedTuple):
    """Eq. 7.50 measured on data (``error_decomposition`` of the bagged
    classifier and regressor)."""

    k: int
    v: float
    c: float
    eq4: float
    ensemble_error: float


class EnsembleDiagnosticsMixin:
    """The parts of out-of-bag scoring and eq. 7.50 that do not depend on
    the kind of output."""

    def _oob_parts(self, X):
        """``(oob_rows, outputs)`` of every member, in member order
        (``outputs`` None when a member has no out-of-bag row)."""
        spec = self._spec()
        classes = self._output_classes()
        with single_threaded_blas():
            return self._parallel(len(self.estimators_))(
                delayed(_member_oob)(est, f, X, classes, int(s), spec)
                for est, f, s in zip(
                    self.estimators_,
                    self.estimators_features_,
                    self._seeds,
                    strict=True,
                )
            )

    @staticmethod
    def _warn_missing_oob(n_missing, n, attribute):
        warnings.warn(
            f"{n_missing} of {n} training samples are in every member's bootstrap "
            "sample and have no out-of-bag prediction; they are left out of "
            f"oob_score_ (their {attribute} rows are NaN). Use more "
            "estimators for a reliable out-of-bag estimate.",
            UserWarning,
            # < _set_oob_score < _fit < fit < _fit_context < caller
            stacklevel=6,
        )

    @staticmethod
    def _decompose(errors):
        """Eq. 7.50 from the members' errors, an array of shape (k, m): row i
        holds member i's m error numbers."""
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


class ClassifierDiagnosticsMixin(EnsembleDiagnosticsMixin):
    """Out-of-bag accuracy and :meth:`error_decomposition` of probabilities."""

    _oob_attributes = ("oob_score_", "oob_decision_function_")

    def _set_oob_score(self, X, y, y_enc):
        n, n_classes = X.shape[0], self.classes_.shape[0]
        acc = np.zeros((n, n_classes))
        votes = np.zeros(n)
        for oob, p in self._oob_parts(X):  # member order: deterministic sums
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
            self._warn_missing_oob(n_missing, n, "oob_decision_function_")
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
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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
            [p.astype(np.float64) - onehot for p in self._member_outputs(X)]
        ).reshape(len(self.estimators_), -1)
        return self._decompose(errors)


class RegressorDiagnosticsMixin(EnsembleDiagnosticsMixin):
    """Out-of-bag R² and :meth:`error_decomposition` of predictions."""

    _oob_attributes = ("oob_score_", "oob_prediction_")

    def _set_oob_score(self, X, y, y_enc):
        n = X.shape[0]
        acc = np.zeros((n, self.n_outputs_))
        votes = np.zeros(n)
        for oob, p in self._oob_parts(X):  # member order: deterministic sums
            if p is None:
                continue
            acc[oob] += p
            votes[oob] += 1.0
        has = votes > 0
        pred = np.full((n, self.n_outputs_), np.nan)
        pred[has] = acc[has] / votes[has, None]
        self.oob_prediction_ = self._shape_like_y(pred).astype(self._dtype())
        n_missing = int(n - has.sum())
        if n_missing:
            self._warn_missing_oob(n_missing, n, "oob_prediction_")
        if has.sum() >= 2:
            self.oob_score_ = float(r2_score(y[has], self._shape_like_y(pred[has])))
        else:  # R² is undefined for fewer than two samples
            self.oob_score_ = float("nan")

    def error_decomposition(self, X, y):
        """Eq. 7.50 on given data: member error variance, covariance, ensemble error.

        With ``e_i = f_i(x) - y`` the error of member i's prediction on a
        sample (on an output, with several outputs), and ``E[.]`` the mean
        over samples and outputs (``n_samples * n_outputs`` numbers):

        * ``v = mean_i E[e_i^2]``, the mean member squared error (the
          mean over members of each member's MSE);
        * ``c = mean_{i != j} E[e_i e_j]``, the mean over the ``k (k - 1)``
          ordered pairs of distinct members of their errors' mean product;
        * ``eq4 = v / k + (k - 1) c / k``, the right-hand side of eq. 7.50;
        * ``ensemble_error = E[(mean_i e_i)^2]``, the mean squared error of
          :meth:`predict` (the mean of the members).

        ``v`` and ``c`` are second moments about 0, as in the book (whose
        errors have zero mean), not about the errors' means: with them
        ``eq4 == ensemble_error`` up to rounding, for any errors, since
        eq. 7.50 is then an identity.  No gain from bagging when
        ``c == v``, a k-fold gain when ``c == 0``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data (a held-out set shows generalisation; training data shows
            how alike the fits are).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True target values.

        Returns
        -------
        decomposition : ErrorDecomposition
            Named tuple ``(k, v, c, eq4, ensemble_error)`` of an int and four
            floats (``c`` is NaN and ``eq4 == v`` when ``k == 1``).
        """
        X = self._validate_X(X)
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        n, n_outputs = X.shape[0], self.n_outputs_
        if y.ndim > 2 or y.shape[0] != n or y.reshape(n, -1).shape[1] != n_outputs:
            raise ValueError(
                f"y must have one row per row of X ({n}) and {n_outputs} "
                f"output(s), got shape {y.shape}."
            )
        y = y.reshape(n, -1)
        errors = np.stack(
            [p.astype(np.float64) - y for p in self._member_outputs(X)]
        ).reshape(len(self.estimators_), -1)
        return self._decompose(errors)
