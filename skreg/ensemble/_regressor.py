"""BaggedMLPRegressor: bagging of neural regressors (SPEC section 3).

The regression twin of :class:`~skreg.ensemble.BaggedMLPClassifier`: the
draws, the training on distinct rows, the threads and the stop token are
shared (``_base.py``); this module adds real-valued (multi-output) targets,
the mean and spread of the members, the out-of-bag R² and eq. 7.50 on the
members' predictions.
"""

import warnings

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.exceptions import DataConversionWarning

from ._base import BaseBaggedMLP
from ._diagnostics import RegressorDiagnosticsMixin

__all__ = ["BaggedMLPRegressor"]


class BaggedMLPRegressor(RegressorMixin, RegressorDiagnosticsMixin, BaseBaggedMLP):
    """Bagging of neural regressors, trained in parallel threads.

    Each of ``n_estimators`` copies of the template network is trained on its
    own bootstrap sample of the training data (drawn with replacement, or
    without when ``bootstrap=False``), optionally on a random subset of the
    columns (``max_features``, ``bootstrap_features``: random subspaces and
    random patches); the ensemble predicts the mean of the members'
    predictions and, with ``predict(X, return_std=True)``, their standard
    deviation, a measure of how much the fit depends on the training sample.
    Any regularizer of the engine (weight decay, activation penalties,
    tying, max-norm, dropout) works inside the members.

    skreg members are trained on the *distinct* rows of their bootstrap
    sample with the multiplicities as sample weights (~63.2% of the rows
    per epoch, same expected gradient; see Notes), on joblib threads.
    scikit-learn's own ``MLPRegressor`` is accepted too and trained through
    its own ``fit``, exactly as :class:`~sklearn.ensemble.BaggingRegressor`
    trains it.

    Parameters
    ----------
    estimator : skreg neural regressor or sklearn MLPRegressor, default=None
        Template of the members: an instance of a skreg neural regressor
        (a subclass of ``skreg.neural_network._regressor.BaseMLPRegressor``,
        e.g. :class:`~skreg.neural_network.MLPRegressor` or
        :class:`~skreg.neural_network.DropoutMLPRegressor`), or of
        :class:`sklearn.neural_network.MLPRegressor`.  ``None`` means
        skreg's ``MLPRegressor()``.  Each member is a clone with its own
        ``random_state``.  For any other estimator use
        :class:`sklearn.ensemble.BaggingRegressor`.

    n_estimators : int, default=10
        Number of members (k).

    max_samples : int, float or None, default=None
        Number of rows drawn for each member, as in scikit-learn's
        BaggingRegressor:

        - None: ``n_samples`` rows, whatever ``sample_weight`` is;
        - int: ``max_samples`` rows (more than ``n_samples`` only with
          ``bootstrap=True``);
        - float in (0, 1]: ``int(max_samples * n_samples)`` rows, or
          ``int(max_samples * sample_weight.sum())`` when fitting with
          sample weights and ``bootstrap=True`` (at least 1).  Without
          replacement a row is drawn at most once, so the fraction is
          then of ``n_samples`` even with sample weights (scikit-learn
          takes the weight sum there too, and raises when it exceeds
          ``n_samples``).

    max_features : int or float, default=1.0
        Number of columns each member sees (drawn without replacement
        unless ``bootstrap_features=True``): an int, or a float in (0, 1]
        giving ``max(1, int(max_features * n_features))``.  Each member
        predicts from its own columns (``estimators_features_``).

    bootstrap : bool, default=True
        Draw rows with replacement (bagging).  If False, each member gets
        ``max_samples`` distinct rows drawn without replacement.

    bootstrap_features : bool, default=False
        Draw the columns with replacement.

    oob_score : bool, default=False
        Compute the out-of-bag R² ``oob_score_`` (needs ``bootstrap=True``).

    warm_start : bool, default=False
        Keep the fitted members and add ``n_estimators - len(estimators_)``
        new ones at the next ``fit`` (on the same data and sample weights).
        The result is bit-identical to fitting all members at once.

    n_jobs : int, default=None
        Number of members trained (and evaluated) at the same time, on joblib
        threads; ``None`` means 1 unless in a :func:`joblib.parallel_config`
        context, -1 means all cores.  Results do not depend on it.

    random_state : int, RandomState instance or None, default=None
        Draws the members' seeds (each seed gives a member's columns, its
        bootstrap sample and its network's ``random_state``, drawn as
        scikit-learn's BaggingRegressor draws them).

    verbose : int, default=0
        Verbosity of the joblib loop over members.

    Attributes
    ----------
    estimator_ : estimator
        The template the members were cloned from.

    estimators_ : list of estimators
        The fitted members.

    estimators_samples_ : list of ndarray of shape (n_drawn,)
        The in-bag row indices of each member (with repeats when
        bootstrapping), regenerated from the stored seeds as in
        scikit-learn.

    estimators_features_ : list of ndarray of shape (n_features_drawn,)
        The columns of ``X`` each member was trained on, and predicts from.

    n_outputs_ : int
        Number of outputs (1 for a 1-D ``y``).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    oob_score_ : float
        R² of the out-of-bag predictions over the samples that are out of
        bag for at least one member (only if ``oob_score=True``; averaged
        over outputs as :func:`~sklearn.metrics.r2_score` does); unweighted,
        as in scikit-learn, when fitting with sample weights.  NaN when
        fewer than two samples have an out-of-bag prediction.

    oob_prediction_ : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Out-of-bag prediction of each training sample: the mean of the
        members for which it is out of bag; NaN for samples in every
        member's bootstrap (only if ``oob_score=True``).

    See Also
    --------
    sklearn.ensemble.BaggingRegressor : The scikit-learn counterpart,
        e.g. ``BaggingRegressor(MLPRegressor())``.
    BaggedMLPClassifier : The classification twin.
    skreg.neural_network.DropoutMLPRegressor : One network whose dropout
        masks give the spread (``predict(X, return_std=True)``).

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
    therefore differs from the template's.  This is the same training
    scikit-learn's BaggingRegressor performs with
    ``sample_weight=bincount(indices)`` on all n rows, without the rows of
    weight 0.

    **The spread.**  ``predict(X, return_std=True)`` returns the standard
    deviation over the k members (``ddof=0``), the ``return_std``
    convention of :class:`~sklearn.linear_model.BayesianRidge` and
    :class:`~sklearn.gaussian_process.GaussianProcessRegressor`.  It
    measures how much the fitted function changes with the training sample
    (and the network's initialisation), so it grows where the data do not
    pin the function down, e.g. away from the training inputs.  It is not
    the noise of ``y`` about its mean: ``mean ± 2 std`` is no prediction
    interval for new observations, and bootstrap spreads tend to be too
    narrow even for the mean (Efron and Tibshirani 1993).

    **Sample weights** follow scikit-learn >= 1.8 (its PR #31414): they are
    the probabilities of the draw, not weights handed to the members, so
    with ``bootstrap=True`` a weight of 2 and a duplicated row are the same
    in distribution (not draw for draw: the draws use different random
    numbers).  Equal weights draw as no weights, so
    ``sample_weight=np.ones(n)`` fits the same ensemble as None.  Without
    replacement, rows of weight 0 are never drawn, and at most the number
    of positive-weight rows are drawn.

    **Columns.**  With ``max_features < n_features`` or
    ``bootstrap_features=True`` a member is trained on, and predicts from,
    ``X[:, estimators_features_[i]]`` (random subspaces, Ho 1998; random
    patches, Louppe and Geurts 2012); :meth:`error_decomposition` uses the
    members' own columns too.

    **scikit-learn members.**  A ``sklearn.neural_network.MLPRegressor``
    template is cloned and trained through its own ``fit`` as
    BaggingRegressor trains it: on all n rows with
    ``sample_weight=bincount(indices)`` when its ``fit`` takes sample
    weights (scikit-learn >= 1.7), else on the drawn rows with repeats.
    The columns, rows and network seeds being drawn as BaggingRegressor
    draws them, ``BaggedMLPRegressor(sklearn_mlp)`` and
    ``BaggingRegressor(sklearn_mlp)`` fit the same members.  One Ctrl-C
    stops them within an epoch too.

    **Out of bag.**  A sample that is in every member's sample has no
    out-of-bag prediction.  scikit-learn's BaggingRegressor then predicts 0
    for it and counts it in ``oob_score_`` (biasing the score); here it is
    left out of ``oob_score_`` with a warning and its ``oob_prediction_``
    is NaN.

    **Eq. 7.50** (Goodfellow et al., 2016, sec. 7.11): for k members with
    errors e_i, ``E[(mean_i e_i)^2] = v/k + (k-1)c/k`` with
    ``v = E[e_i^2]`` and ``c = E[e_i e_j]`` (i != j) averaged over members
    and pairs; :meth:`error_decomposition` measures v, c and both sides on
    given data, with ``e_i = f_i(x) - y`` and ``E`` the mean over samples
    and outputs: ``ensemble_error`` is the mean squared error of
    :meth:`predict`, ``v`` the members' mean squared error.

    **Threads and determinism.**  Members train on joblib threads (the
    engine releases the GIL), with BLAS held at one thread while they do:
    parallelism comes from the members, and every member's arithmetic is
    the same for any ``n_jobs`` or joblib backend (OpenBLAS results change
    in the last bit with its own thread count).  So ``n_jobs=1`` really
    runs on one core, where a lone scikit-learn fit lets BLAS use every
    core; use ``n_jobs=-1`` for all cores.  Cost: ``k`` times one
    member's training at ~0.632 of the rows, divided by ``n_jobs``;
    :meth:`predict` costs k member predictions.

    References
    ----------
    Breiman, L. (1996). Bagging predictors. Machine Learning 24(2), 123-140.

    Efron, B. and Tibshirani, R. J. (1993). An Introduction to the
    Bootstrap. Chapman & Hall.

    Ho, T. K. (1998). The random subspace method for constructing decision
    forests. IEEE TPAMI 20(8), 832-844.

    Louppe, G. and Geurts, P. (2012). Ensembles on random patches. ECML
    PKDD 2012, 346-361.

    Goodfellow, I., Bengio, Y. and Courville, A. (2016). Deep Learning,
    section 7.11 (bagging and other ensemble methods).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import scale
    >>> from skreg.ensemble import BaggedMLPRegressor
    >>> from skreg.neural_network import MLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X, y = scale(X), scale(y)
    >>> member = MLPRegressor(hidden_layer_sizes=(16,), alpha=1.0,
    ...                       solver="lbfgs", max_iter=200)
    >>> bag = BaggedMLPRegressor(member, n_estimators=5, oob_score=True,
    ...                          random_state=0).fit(X, y)
    >>> bag.oob_score_ > 0.3
    True
    >>> mean, std = bag.predict(X[:3], return_std=True)
    >>> mean.shape, std.shape
    ((3,), (3,))
    >>> d = bag.error_decomposition(X, y)
    >>> abs(d.eq4 - d.ensemble_error) < 1e-12
    True
    """

    _kind = "regressor"

    _validate_y_params = dict(multi_output=True, y_numeric=True)

    # ----------------------------------------------- members and targets
    def _member_classes(self):
        from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

        from ..neural_network import MLPRegressor
        from ..neural_network._regressor import BaseMLPRegressor

        return BaseMLPRegressor, SklearnMLPRegressor, MLPRegressor

    def _validate_targets(self, y):
        if y.ndim == 2 and y.shape[1] == 1:
            # as scikit-learn's bagging (column_or_1d(y, warn=True))
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. "
                "Please change the shape of y to (n_samples,), for example "
                "using ravel().",
                DataConversionWarning,
                stacklevel=5,  # _validate_targets < _fit < fit < _fit_context
            )
            y = y[:, 0]
        n_outputs = 1 if y.ndim == 1 else int(y.shape[1])
        return y, None, n_outputs

    def _set_targets(self, n_outputs):
        self.n_outputs_ = n_outputs

    def _check_warm_targets(self, n_outputs):
        if n_outputs != self.n_outputs_:
            raise ValueError(
                "warm_start=True needs as many outputs as the previous fit: "
                f"got {n_outputs}, previously {self.n_outputs_}."
            )

    def _output_classes(self):
        return None

    def _shape_like_y(self, pred):
        """(n, n_outputs) -> (n,) for one output, as the training y."""
        return pred[:, 0] if self.n_outputs_ == 1 else pred

    # -------------------------------------------------------------- predict
    def predict(self, X, return_std=False):
        """Predict the mean of the members, and optionally their spread.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        return_std : bool, default=False
            Also return the standard deviation of the members' predictions
            (``ddof=0``, over the k members), as
            :class:`~sklearn.linear_model.BayesianRidge` and
            :class:`~sklearn.gaussian_process.GaussianProcessRegressor` do.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Mean of the members' predictions (the training dtype).
        y_std : ndarray of the same shape
            Standard deviation of the members' predictions (only with
            ``return_std=True``).
        """
        X = self._validate_X(X)
        preds = np.stack([p.astype(np.float64) for p in self._member_outputs(X)])
        mean = preds.mean(axis=0)
        dtype = self._dtype()
        y_mean = self._shape_like_y(mean).astype(dtype)
        if not return_std:
            return y_mean
        # two passes (mean, then mean squared deviation): no cancellation
        std = np.sqrt(np.mean((preds - mean) ** 2, axis=0))
        return y_mean, self._shape_like_y(std).astype(dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
