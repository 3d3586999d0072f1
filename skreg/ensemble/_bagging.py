"""BaggedMLPClassifier: bagging of neural classifiers (SPEC section 3).

How the members are drawn, trained (on their distinct rows, with the
multiplicities as sample weights), stopped and run in threads is shared
with :class:`~skreg.ensemble.BaggedMLPRegressor` and described in
``_base.py``; this module adds the classes and the voting.
"""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets

from ..utils._sklearn_compat import StrOptions
from ._base import BaseBaggedMLP
from ._diagnostics import ClassifierDiagnosticsMixin, ErrorDecomposition

__all__ = ["BaggedMLPClassifier", "ErrorDecomposition"]  # see _diagnostics.py


class BaggedMLPClassifier(ClassifierMixin, ClassifierDiagnosticsMixin, BaseBaggedMLP):
    """Bagging of neural classifiers, trained in parallel threads.

    Each of ``n_estimators`` copies of the template network is trained on its
    own bootstrap sample of the training data (drawn with replacement, or
    without when ``bootstrap=False``), optionally on a random subset of the
    columns (``max_features``, ``bootstrap_features``: random subspaces and
    random patches); the ensemble averages the members' probabilities (soft
    voting) or takes their majority label (hard voting).  Any regularizer
    of the engine (weight decay, activation penalties, tying, max-norm,
    dropout) works inside the members.

    skreg members are trained on the *distinct* rows of their bootstrap
    sample with the multiplicities as sample weights (~63.2% of the rows
    per epoch, same expected gradient; see Notes), on joblib threads.
    scikit-learn's own ``MLPClassifier`` is accepted too and trained through
    its own ``fit``, exactly as :class:`~sklearn.ensemble.BaggingClassifier`
    trains it.

    Parameters
    ----------
    estimator : skreg neural classifier or sklearn MLPClassifier, default=None
        Template of the members: an instance of a skreg neural classifier
        (a subclass of ``skreg.neural_network._classifier.BaseMLPClassifier``,
        e.g. :class:`~skreg.neural_network.MLPClassifier` or
        :class:`~skreg.neural_network.DropoutMLPClassifier`), or of
        :class:`sklearn.neural_network.MLPClassifier`.  ``None`` means
        skreg's ``MLPClassifier()``.  Each member is a clone with its own
        ``random_state``.  For any other estimator use
        :class:`sklearn.ensemble.BaggingClassifier`.

    n_estimators : int, default=10
        Number of members (k).

    max_samples : int, float or None, default=None
        Number of rows drawn for each member, as in scikit-learn's
        BaggingClassifier:

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

        .. versionchanged:: 0.1
           The default is None (was 1.0, which without sample weights
           drew the same ``n_samples`` rows); a float is truncated as in
           scikit-learn (was rounded), and an int may exceed
           ``n_samples`` when bootstrapping.

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
        new ones at the next ``fit`` (on the same data and sample weights).
        The result is bit-identical to fitting all members at once.

    n_jobs : int, default=None
        Number of members trained (and evaluated) at the same time, on joblib
        threads; ``None`` means 1 unless in a :func:`joblib.parallel_config`
        context, -1 means all cores.  Results do not depend on it.

    random_state : int, RandomState instance or None, default=None
        Draws the members' seeds (each seed gives a member's columns, its
        bootstrap sample and its network's ``random_state``, drawn as
        scikit-learn's BaggingClassifier draws them).

    verbose : int, default=0
        Verbosity of the joblib loop over members.

    Attributes
    ----------
    estimator_ : estimator
        The template the members were cloned from.

    estimators_ : list of estimators
        The fitted members; every skreg member has the ensemble's
        ``classes_``.

    estimators_samples_ : list of ndarray of shape (n_drawn,)
        The in-bag row indices of each member (with repeats when
        bootstrapping), regenerated from the stored seeds as in
        scikit-learn.

    estimators_features_ : list of ndarray of shape (n_features_drawn,)
        The columns of ``X`` each member was trained on, and predicts from.

    classes_ : ndarray of shape (n_classes,)
        The class labels.

    n_classes_ : int
        The number of classes.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    oob_score_ : float
        Accuracy of the out-of-bag predictions over the samples that are out
        of bag for at least one member (only if ``oob_score=True``);
        unweighted, as in scikit-learn, when fitting with sample weights.

    oob_decision_function_ : ndarray of shape (n_samples, n_classes)
        Out-of-bag mean probabilities (soft) or vote fractions (hard) of each
        training sample; NaN rows for samples in every member's bootstrap
        (only if ``oob_score=True``).

    See Also
    --------
    sklearn.ensemble.BaggingClassifier : The scikit-learn counterpart,
        e.g. ``BaggingClassifier(MLPClassifier())``.
    BaggedMLPRegressor : The regression twin (mean and spread of the members).

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

    **scikit-learn members.**  A ``sklearn.neural_network.MLPClassifier``
    template is cloned and trained through its own ``fit`` as
    BaggingClassifier trains it: on all n rows with
    ``sample_weight=bincount(indices)`` when its ``fit`` takes sample
    weights (scikit-learn >= 1.7), else on the drawn rows with repeats.
    The columns, rows and network seeds being drawn as BaggingClassifier
    draws them, ``BaggedMLPClassifier(sklearn_mlp)`` and
    ``BaggingClassifier(sklearn_mlp)`` fit the same members.  One Ctrl-C
    stops them within an epoch too.

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

    Ho, T. K. (1998). The random subspace method for constructing decision
    forests. IEEE TPAMI 20(8), 832-844.

    Louppe, G. and Geurts, P. (2012). Ensembles on random patches. ECML
    PKDD 2012, 346-361.

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

    _kind = "classifier"

    _parameter_constraints: dict = {
        **BaseBaggedMLP._parameter_constraints,
        "voting": [StrOptions({"soft", "hard"})],
    }

    def __init__(
        self,
        estimator=None,
        n_estimators=10,
        *,
        max_samples=None,
        max_features=1.0,
        bootstrap=True,
        bootstrap_features=False,
        voting="soft",
        oob_score=False,
        warm_start=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            estimator,
            n_estimators,
            max_samples=max_samples,
            max_features=max_features,
            bootstrap=bootstrap,
            bootstrap_features=bootstrap_features,
            oob_score=oob_score,
            warm_start=warm_start,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=verbose,
        )
        self.voting = voting

    # ----------------------------------------------- members and targets
    def _member_classes(self):
        from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

        from ..neural_network import MLPClassifier
        from ..neural_network._classifier import BaseMLPClassifier

        return BaseMLPClassifier, SklearnMLPClassifier, MLPClassifier

    def _validate_targets(self, y):
        check_classification_targets(y)
        classes, y_enc = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(
                "The classifier needs samples of at least 2 classes in the data, "
                f"but the data contains only one class: {classes[0]!r}."
            )
        return y, y_enc, classes

    def _set_targets(self, classes):
        self.classes_ = classes
        self.n_classes_ = int(classes.shape[0])

    def _check_warm_targets(self, classes):
        if not np.array_equal(classes, self.classes_):
            raise ValueError(
                "warm_start=True needs the same classes as the previous fit: "
                f"got {classes}, previously {self.classes_}."
            )

    def _output_classes(self):
        return self.classes_

    # -------------------------------------------------------------- predict
    def predict_proba(self, X):
        """Class probabilities: mean member probability, or vote fractions.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            With ``voting='soft'`` the mean of the members' ``predict_proba``;
            with ``voting='hard'`` the fraction of members predicting each
            class.  Columns follow ``classes_``; dtype is the training dtype.
        """
        X = self._validate_X(X)
        serving = self.__dict__.get("_serving")
        if serving is not None and self.voting == "soft":
            mean = serving.mean_proba(self.estimators_, X, self.classes_)
            if mean is not None:
                return mean.astype(self._dtype(), copy=False)
        acc = np.zeros((X.shape[0], self.classes_.shape[0]))
        for p in self._member_outputs(X):
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
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Soft voting: the class of highest mean probability; hard voting:
            the majority label (ties to the first class of ``classes_``).
        """
        proba = self.predict_proba(X)  # checks fitted before classes_ is read
        return self.classes_[np.argmax(proba, axis=1)]
