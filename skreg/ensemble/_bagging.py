"""BaggedMLPClassifier: bagging of skreg neural networks (SPEC section 3).

How the members are trained (and why it is fast)
-------------------------------------------------
* Every member's seed is drawn up front from ``random_state``; a member's
  bootstrap indices and its network's ``random_state`` both derive from that
  one seed, so the ensemble does not depend on the order or the place in
  which members are trained (``n_jobs``, joblib backend, dask).
* A bootstrap sample of size n holds only ~63.2% distinct rows.  A member
  is trained on those distinct rows with their multiplicities as
  ``sample_weight`` (the engine's objective is ``sum_i s_i l_i / sum_i s_i``,
  so a row of weight m is exactly m copies of it; for L-BFGS the objective
  is identical, for the minibatch solvers every minibatch has the same
  expected gradient).  The minibatch size is scaled by the distinct fraction
  so that a minibatch still carries ``batch_size`` samples' worth of weight
  and an epoch has as many optimizer steps as one over the bootstrap sample
  with repeats.  scikit-learn's BaggingClassifier does the equivalent with
  ``sample_weight = bincount(indices)`` over *all* n rows (zeros included),
  so each of its epochs touches n rows; ours touch ~0.632 n.
* Members run on joblib threads (``prefer="threads"``): the engine's epoch
  kernel releases the GIL.  The engine's kernels are serial numba code, so
  there is no nested numba parallel region; BLAS (called from the kernels)
  is held at one thread while members train, which both avoids
  oversubscription and makes every member's arithmetic independent of
  ``n_jobs`` (OpenBLAS results change in the last bit with its thread count).
"""

import warnings
from numbers import Integral
from typing import NamedTuple

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets

from ..utils._blas import single_threaded_blas
from ..utils._interrupt import stop_token
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
    _fit_context,
    check_is_fitted,
    validate_data,
)
from ..utils._validation import restore_state_on_error
from ._members import (
    _MAX_INT,
    _clone_template,
    _draw_member,
    _fit_member,
    _member_oob,
    _member_predict,
)

__all__ = ["BaggedMLPClassifier", "ErrorDecomposition"]

# the members: drawn, trained and queried by the helpers of _members.py


class ErrorDecomposition(NamedTuple):
    """Eq. 7.50 measured on data (:meth:`BaggedMLPClassifier.error_decomposition`)."""

    k: int
    v: float
    c: float
    eq4: float
    ensemble_error: float


class BaggedMLPClassifier(ClassifierMixin, BaseEstimator):
    """Bagging of skreg neural classifiers, trained in parallel threads.

    Each of ``n_estimators`` copies of the template network is trained on its
    own bootstrap sample of the training data (drawn with replacement, or
    without when ``bootstrap=False``); the ensemble averages the members'
    probabilities (soft voting) or takes their majority label (hard voting).
    Any regularizer of the engine (weight decay, activation penalties,
    tying, max-norm, dropout) works inside the members.

    Members are trained on the *distinct* rows of their bootstrap sample
    with the multiplicities as sample weights (~63.2% of the rows per epoch,
    same expected gradient; see Notes), on joblib threads.

    Parameters
    ----------
    estimator : skreg neural classifier, default=None
        Template of the members: an instance of a skreg neural classifier
        (a subclass of ``skreg.neural_network._classifier.BaseMLPClassifier``, e.g.
        :class:`~skreg.neural_network.MLPClassifier` or
        :class:`~skreg.neural_network.DropoutMLPClassifier`).  ``None`` means
        ``MLPClassifier()``.  Each member is a clone with its own
        ``random_state``.

    n_estimators : int, default=10
        Number of members (k).

    max_samples : int or float, default=1.0
        Size of each member's sample: an int is a number of rows (at most
        ``n_samples``), a float in (0, 1] a fraction of ``n_samples``.

    bootstrap : bool, default=True
        Draw with replacement (bagging).  If False, each member gets
        ``max_samples`` distinct rows drawn without replacement.

    voting : {'soft', 'hard'}, default='soft'
        'soft' averages the members' ``predict_proba``; 'hard' predicts the
        label most members predict (ties go to the first class in
        ``classes_``), and ``predict_proba`` returns the fraction of members
        voting for each class, so ``predict`` is always the argmax of
        ``predict_proba``.

    oob_score : bool, default=False
        Compute the out-of-bag accuracy ``oob_score_`` (needs
        ``bootstrap=True``).

    warm_start : bool, default=False
        Keep the fitted members and add ``n_estimators - len(estimators_)``
        new ones at the next ``fit`` (on the same data).  The result is
        bit-identical to fitting all members at once.

    n_jobs : int, default=None
        Number of members trained (and evaluated) at the same time, on joblib
        threads; ``None`` means 1 unless in a :func:`joblib.parallel_config`
        context, -1 means all cores.  Results do not depend on it.

    random_state : int, RandomState instance or None, default=None
        Draws the members' seeds (each seed gives a member's bootstrap
        sample and its network's ``random_state``).

    verbose : int, default=0
        Verbosity of the joblib loop over members.

    Attributes
    ----------
    estimator_ : BaseMLPClassifier
        The template the members were cloned from.

    estimators_ : list of BaseMLPClassifier
        The fitted members; every member has the ensemble's ``classes_``.

    estimators_samples_ : list of ndarray of shape (n_drawn,)
        The in-bag row indices of each member (with repeats when
        bootstrapping), regenerated from the stored seeds as in
        scikit-learn.

    classes_ : ndarray of shape (n_classes,)
        The class labels.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    oob_score_ : float
        Accuracy of the out-of-bag predictions over the samples that are out
        of bag for at least one member (only if ``oob_score=True``).

    oob_decision_function_ : ndarray of shape (n_samples, n_classes)
        Out-of-bag mean probabilities (soft) or vote fractions (hard) of each
        training sample; NaN rows for samples in every member's bootstrap
        (only if ``oob_score=True``).

    See Also
    --------
    sklearn.ensemble.BaggingClassifier : The scikit-learn counterpart,
        e.g. ``BaggingClassifier(MLPClassifier())``.

    Notes
    -----
    **Training on distinct rows.**  The engine's minibatch objective is
    ``sum_i s_i l_i / sum_i s_i`` (plus ``0.5 alpha ||W||^2 / sum_i s_i``),
    so a row of weight m counts exactly as m copies: with solver='lbfgs' a
    member's objective is identical to the one on its bootstrap sample with
    repeats.  With 'adam'/'sgd' each epoch visits every distinct row once,
    in minibatches of ``round(b * n_distinct / n_drawn)`` rows (b the
    template's batch size) that carry b samples' worth of weight on
    average, so an epoch has the same number of optimizer steps and each
    step the same expected gradient as one over the bootstrap sample,
    while touching ~63.2% of the rows.  The members' ``batch_size``
    therefore differs from the template's.  This is the same
    training scikit-learn's BaggingClassifier performs with
    ``sample_weight=bincount(indices)`` on all n rows, without the rows of
    weight 0.

    **Classes.**  A member whose sample misses a class is given out-of-bag
    rows of that class with weight 0 (no effect on loss or gradient), so
    every member has the ensemble's classes and output units; its output
    for a class it never saw with positive weight is pushed toward 0.

    **Out of bag.**  A sample that is in every member's sample has no
    out-of-bag vote.  scikit-learn's BaggingClassifier then predicts class 0
    for it and counts it in ``oob_score_`` (biasing the score); here it is
    left out of ``oob_score_`` with a warning and its row of
    ``oob_decision_function_`` is NaN.

    **Eq. 7.50** (Goodfellow et al., 2016, sec. 7.11): for k members with
    errors e_i, ``E[(mean_i e_i)^2] = v/k + (k-1)c/k`` with
    ``v = E[e_i^2]`` and ``c = E[e_i e_j]`` (i != j) averaged over members
    and pairs; :meth:`error_decomposition` measures v, c and both sides on
    given data.

    **Threads and determinism.**  Members train on joblib threads (the
    engine releases the GIL), with BLAS held at one thread while they do:
    parallelism comes from the members, and every member's arithmetic is
    the same for any ``n_jobs`` or joblib backend (OpenBLAS results change
    in the last bit with its own thread count).  So ``n_jobs=1`` really
    runs on one core, where a lone scikit-learn fit lets BLAS use every
    core; use ``n_jobs=-1`` for all cores.  Cost: ``k`` times one
    member's training at ~0.632 of the rows, divided by ``n_jobs``.

    References
    ----------
    Breiman, L. (1996). Bagging predictors. Machine Learning 24(2), 123-140.

    Goodfellow, I., Bengio, Y. and Courville, A. (2016). Deep Learning,
    section 7.11 (bagging and other ensemble methods).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skreg.ensemble import BaggedMLPClassifier
    >>> from skreg.neural_network import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> member = MLPClassifier(hidden_layer_sizes=(32,), max_iter=30)
    >>> bag = BaggedMLPClassifier(member, n_estimators=5, oob_score=True,
    ...                           random_state=0).fit(X / 16, y)
    >>> bag.oob_score_ > 0.9
    True
    >>> d = bag.error_decomposition(X / 16, y)
    >>> abs(d.eq4 - d.ensemble_error) < 1e-12
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_samples": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
        ],
        "bootstrap": ["boolean"],
        "voting": [StrOptions({"soft", "hard"})],
        "oob_score": ["boolean"],
        "warm_start": ["boolean"],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator=None,
        n_estimators=10,
        *,
        max_samples=1.0,
        bootstrap=True,
        voting="soft",
        oob_score=False,
        warm_start=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.bootstrap = bootstrap
        self.voting = voting
        self.oob_score = oob_score
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ validation
    def _make_template(self):
        from ..neural_network import MLPClassifier
        from ..neural_network._classifier import BaseMLPClassifier

        if self.estimator is None:
            return MLPClassifier()
        if isinstance(self.estimator, type):
            raise TypeError(
                "estimator must be an instance, e.g. MLPClassifier(), not the class "
                f"{self.estimator.__name__}."
            )
        if not isinstance(self.estimator, BaseMLPClassifier):
            raise TypeError(
                "estimator must be a skreg neural classifier (an instance of a "
                "subclass of skreg.neural_network._classifier.BaseMLPClassifier, e.g. "
                "skreg.neural_network.MLPClassifier), got "
                f"{type(self.estimator).__name__}."
            )
        return self.estimator

    def _n_drawn(self, n_samples):
        ms = self.max_samples
        if isinstance(ms, Integral):
            if ms > n_samples:
                raise ValueError(
                    f"max_samples={ms} must be at most n_samples={n_samples} "
                    "(or a fraction in (0, 1])."
                )
            return int(ms)
        return max(1, int(round(ms * n_samples)))

    def _parallel(self, n_tasks):
        n_jobs = min(effective_n_jobs(self.n_jobs), n_tasks)
        return Parallel(n_jobs=max(1, n_jobs), prefer="threads", verbose=self.verbose)

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the ensemble (or add members when ``warm_start=True``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels (any type).

        Returns
        -------
        self : object
            The fitted ensemble.
        """
        with restore_state_on_error(self):  # an interrupted fit changes nothing
            return self._fit(X, y)

    def _fit(self, X, y):
        template = self._make_template()
        if self.oob_score and not self.bootstrap:
            raise ValueError(
                "oob_score=True needs bootstrap=True: without replacement there "
                "is no out-of-bag sample to speak of in the bagging sense "
                "(scikit-learn raises the same)."
            )
        warm = self.warm_start and hasattr(self, "estimators_")
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32), reset=not warm)
        check_classification_targets(y)
        X = np.ascontiguousarray(X)
        n_samples = X.shape[0]
        classes, y_enc = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(
                "The classifier needs samples of at least 2 classes in the data, "
                f"but the data contains only one class: {classes[0]!r}."
            )
        n_drawn = self._n_drawn(n_samples)

        if warm:
            if not np.array_equal(classes, self.classes_):
                raise ValueError(
                    "warm_start=True needs the same classes as the previous fit: "
                    f"got {classes}, previously {self.classes_}."
                )
            if n_samples != self._n_samples or n_drawn != self._n_drawn_fit:
                raise ValueError(
                    "warm_start=True adds members trained on the same data: "
                    f"got {n_samples} samples (max_samples -> {n_drawn}), the "
                    f"previous fit had {self._n_samples} ({self._n_drawn_fit})."
                )
            if X.dtype != self._dtype():
                X = X.astype(self._dtype())
        else:
            self.estimators_ = []
            self._seeds = np.empty(0, dtype=np.int64)
            self.classes_ = classes
            self._n_samples = n_samples
            self._n_drawn_fit = n_drawn
        self.estimator_ = _clone_template(template, template.random_state)

        n_more = self.n_estimators - len(self.estimators_)
        if n_more < 0:
            raise ValueError(
                f"n_estimators={self.n_estimators} must be larger or equal to "
                f"len(estimators_)={len(self.estimators_)} when warm_start==True."
            )
        if n_more == 0:
            warnings.warn(
                "Warm-start fitting without increasing n_estimators does not fit "
                "new members.",
                UserWarning,
                stacklevel=3,
            )
            return self

        random_state = check_random_state(self.random_state)
        if warm:
            # advance the stream past the seeds already used (scikit-learn's
            # convention), so growing the ensemble equals fitting it at once
            random_state.randint(_MAX_INT, size=len(self.estimators_))
        seeds = random_state.randint(_MAX_INT, size=n_more).astype(np.int64)

        with single_threaded_blas(), stop_token() as stop:
            members = self._parallel(n_more)(
                delayed(_fit_member)(
                    template,
                    X,
                    y,
                    y_enc,
                    classes.shape[0],
                    int(s),
                    n_drawn,
                    self.bootstrap,
                    stop,
                )
                for s in seeds
            )
        self.estimators_ = list(self.estimators_) + list(members)
        self._seeds = np.concatenate([self._seeds, seeds])

        if self.oob_score:
            self._set_oob_score(X, y_enc)
        else:
            for name in ("oob_score_", "oob_decision_function_"):
                if hasattr(self, name):
                    delattr(self, name)
        return self

    def _dtype(self):
        return self.estimators_[0].coefs_[0].dtype

    def _set_oob_score(self, X, y_enc):
        n, n_classes = X.shape[0], self.classes_.shape[0]
        with single_threaded_blas():
            parts = self._parallel(len(self.estimators_))(
                delayed(_member_oob)(
                    est, X, self.classes_, int(s), self._n_drawn_fit, self.bootstrap
                )
                for est, s in zip(self.estimators_, self._seeds, strict=True)
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
                stacklevel=4,  # _set_oob_score < fit < _fit_context < caller
            )
        if has.any():
            pred = np.argmax(dec[has], axis=1)
            self.oob_score_ = float(np.mean(pred == y_enc[has]))
        else:
            self.oob_score_ = float("nan")

    @property
    def estimators_samples_(self):
        """The in-bag row indices of each member (regenerated from the seeds)."""
        check_is_fitted(self)
        return [
            _draw_member(int(s), self._n_samples, self._n_drawn_fit, self.bootstrap)[1]
            for s in self._seeds
        ]

    # -------------------------------------------------------------- predict
    def _validate_X(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return np.ascontiguousarray(X, dtype=self._dtype())

    def _member_probas(self, X):
        """Each member's probabilities (ensemble columns), in member order."""
        parallel = self._parallel(len(self.estimators_))
        with single_threaded_blas():
            return parallel(
                delayed(_member_predict)(est, X, self.classes_)
                for est in self.estimators_
            )

    def predict_proba(self, X):
        """Class probabilities: mean member probability, or vote fractions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            With ``voting='soft'`` the mean of the members' ``predict_proba``;
            with ``voting='hard'`` the fraction of members predicting each
            class.  Columns follow ``classes_``; dtype is the training dtype.
        """
        X = self._validate_X(X)
        acc = np.zeros((X.shape[0], self.classes_.shape[0]))
        for p in self._member_probas(X):
            if self.voting == "soft":
                acc += p
            else:
                acc[np.arange(X.shape[0]), np.argmax(p, axis=1)] += 1.0
        acc /= len(self.estimators_)
        return acc.astype(self._dtype())

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))`` (``-inf`` where a hard vote fraction is 0).
        """
        p = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(p, out=p)

    def predict(self, X):
        """Predicted labels: argmax of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Soft voting: the class of highest mean probability; hard voting:
            the majority label (ties to the first class of ``classes_``).
        """
        proba = self.predict_proba(X)  # checks fitted before classes_ is read
        return self.classes_[np.argmax(proba, axis=1)]

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags
