"""BaseBaggedMLP: what the bagged classifier and regressor share (SPEC section 3).

How the members are trained (and why it is fast)
-------------------------------------------------
* Every member's seed is drawn up front from ``random_state``; a member's
  columns, bootstrap indices and network ``random_state`` all derive from
  that one seed (with scikit-learn's BaggingClassifier's and
  BaggingRegressor's random streams), so the ensemble does not depend on
  the order or the place in which members are trained (``n_jobs``, joblib
  backend, dask).
* A bootstrap sample of size n holds only ~63.2% distinct rows.  A member
  is trained on those distinct rows with their multiplicities as
  ``sample_weight`` (the engine's objective is ``sum_i s_i l_i / sum_i s_i``,
  so a row of weight m is exactly m copies of it; for L-BFGS the objective
  is identical, for the minibatch solvers every minibatch has the same
  expected gradient).  The minibatch size is scaled by the distinct fraction
  so that a minibatch still carries ``batch_size`` samples' worth of weight
  and an epoch has as many optimizer steps as one over the bootstrap sample
  with repeats.  scikit-learn's bagging does the equivalent with
  ``sample_weight = bincount(indices)`` over *all* n rows (zeros included),
  so each of its epochs touches n rows; ours touch ~0.632 n.
* Members run on joblib threads (``prefer="threads"``): the engine's epoch
  kernel releases the GIL.  The engine's kernels are serial numba code, so
  there is no nested numba parallel region; BLAS (called from the kernels)
  is held at one thread while members train, which both avoids
  oversubscription and makes every member's arithmetic independent of
  ``n_jobs`` (OpenBLAS results change in the last bit with its thread count).
* One Ctrl-C stops every member (``skreg.utils._interrupt``), and a fit
  that raises or is interrupted leaves the ensemble as it was.

The subclasses say what the members are and what the targets are
(``_member_classes``, ``_validate_targets``, ``_set_targets``,
``_check_warm_targets``, ``_output_classes``) and how the out-of-bag
outputs become a score (``_set_oob_score`` and ``_oob_attributes``, the
fitted attributes it sets, from the diagnostics mixins).
"""

import warnings
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)

from ..utils._blas import single_threaded_blas
from ..utils._interrupt import stop_token
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    RealNotInt,
    _fit_context,
    _raise_for_params,
    _routing_enabled,
    check_is_fitted,
    validate_data,
)
from ..utils._validation import fitted_dense_rows, restore_state_on_error
from ._fit_checks import DrawChecksMixin
from ._members import (
    _MAX_INT,
    DrawSpec,
    MemberStack,
    _clone_template,
    _fit_member,
    _member_predict,
)


def _row_major(X):
    """X as members are sliced from it: C-contiguous, or CSR (whose row
    draws are cheap slices; the members' engine reads CSR directly)."""
    if sp.issparse(X):
        return X.tocsr()
    return np.ascontiguousarray(X)


def _accepts_sparse(template):
    """Whether a member estimator takes sparse X (its own input tag)."""
    # scikit-learn's MLPs take CSR/CSC in every supported version, but
    # scikit-learn 1.6 does not say so in their tags
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    if type(template) in (MLPClassifier, MLPRegressor):
        return True
    return bool(get_tags(template).input_tags.sparse)


class BaseBaggedMLP(DrawChecksMixin, BaseEstimator):
    """Base class of skreg's bagged networks (not for direct use).

    Holds the parameters, ``fit`` (draws, warm start, threads, stop token,
    metadata routing), the members' outputs and ``estimators_samples_``;
    :class:`~skreg.ensemble.BaggedMLPClassifier` and
    :class:`~skreg.ensemble.BaggedMLPRegressor` add the targets and the
    way member outputs combine.
    """

    #: "classifier" or "regressor", for messages.
    _kind = ""

    #: Keywords for ``validate_data`` on ``(X, y)`` in ``fit``.
    _validate_y_params: dict = {}

    _parameter_constraints: dict = {
        # any estimator passes here (as in scikit-learn's bagging), so that
        # one that is not a network gets the error pointing to BaggingX
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_samples": [
            None,
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
        ],
        "max_features": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
        ],
        "bootstrap": ["boolean"],
        "bootstrap_features": ["boolean"],
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
        max_samples=None,
        max_features=1.0,
        bootstrap=True,
        bootstrap_features=False,
        oob_score=False,
        warm_start=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.bootstrap_features = bootstrap_features
        self.oob_score = oob_score
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------- what subclasses define
    def _member_classes(self):
        """``(skreg base class, scikit-learn class, default class)`` of the
        accepted members."""
        raise NotImplementedError

    def _validate_targets(self, y):
        """``(y, y_enc, info)``: the validated targets, their encoding for the
        members (class indices, or None) and what ``_set_targets`` and
        ``_check_warm_targets`` take."""
        raise NotImplementedError

    def _set_targets(self, info):
        raise NotImplementedError

    def _check_warm_targets(self, info):
        raise NotImplementedError

    def _output_classes(self):
        """The ensemble's classes (members give probabilities), or None
        (members give predictions)."""
        raise NotImplementedError

    # ------------------------------------------------------------ validation
    def _make_template(self):
        skreg_base, sklearn_cls, default_cls = self._member_classes()
        if self.estimator is None:
            return default_cls()
        if isinstance(self.estimator, type):
            raise TypeError(
                f"estimator must be an instance, e.g. {default_cls.__name__}(), "
                f"not the class {self.estimator.__name__}."
            )
        if not isinstance(self.estimator, skreg_base | sklearn_cls):
            kind = self._kind
            raise TypeError(
                f"estimator must be a skreg neural {kind} (an instance of a "
                f"subclass of {skreg_base.__module__}.{skreg_base.__name__}, e.g. "
                f"skreg.neural_network.{default_cls.__name__}) or scikit-learn's "
                f"sklearn.neural_network.{sklearn_cls.__name__}, got "
                f"{type(self.estimator).__name__}. To bag any other estimator, use "
                f"sklearn.ensemble.Bagging{kind.capitalize()}(estimator=...)."
            )
        return self.estimator

    def _spec(self):
        return DrawSpec(
            self._n_samples,
            self.n_features_in_,
            self._n_drawn_fit,
            self._n_features_drawn_fit,
            self._bootstrap_fit,
            self._bootstrap_features_fit,
            self._sample_weight,
        )

    def _parallel(self, n_tasks):
        n_jobs = min(effective_n_jobs(self.n_jobs), n_tasks)
        return Parallel(n_jobs=max(1, n_jobs), prefer="threads", verbose=self.verbose)

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the ensemble (or add members when ``warm_start=True``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.  CSR or CSC X stays sparse (each member gets its
            rows and columns as a CSR matrix) when the members take sparse
            X, as skreg's MLP and dropout networks and scikit-learn's MLPs
            do; members whose technique needs dense inputs (adversarial,
            tangent) raise a ``TypeError``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values: class labels (any type, one column) for a
            classifier, real numbers (one column per output) for a
            regressor.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, used as scikit-learn's bagging uses them: each
            member's rows are drawn with probabilities proportional to the
            weights (a row of weight 0 is never drawn), and with
            ``bootstrap=True`` a float ``max_samples`` is a fraction of
            their sum, so that an integer weight m counts as m copies of
            the row, in distribution.  Not passed on to the members.
        **fit_params : dict
            Parameters routed to the members' ``fit`` (e.g. ``tangents`` of
            :class:`~skreg.neural_network.TangentPropMLPClassifier`), indexed
            by each member's rows (and, for ``tangents``, columns).  Only
            with ``sklearn.set_config(enable_metadata_routing=True)`` and a
            member that requests them (``set_fit_request``).

        Returns
        -------
        self : object
            The fitted ensemble.
        """
        _raise_for_params(fit_params, self, "fit")
        with restore_state_on_error(self):  # an interrupted fit changes nothing
            return self._fit(X, y, sample_weight, fit_params)

    def _fit(self, X, y, sample_weight, fit_params):
        template = self._make_template()
        if self.oob_score and not self.bootstrap:
            raise ValueError(
                "oob_score=True needs bootstrap=True: without replacement there "
                "is no out-of-bag sample to speak of in the bagging sense "
                "(scikit-learn raises the same)."
            )
        warm = self.warm_start and hasattr(self, "estimators_")
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32),
            reset=not warm,
            **self._validate_y_params,
        )
        if sp.issparse(X) and not _accepts_sparse(template):
            raise TypeError(
                f"{type(template).__name__} members need dense X (their "
                "technique or convolutional layers compute in the dense input "
                "space); pass "
                "X.toarray(), or bag a network that takes sparse X such as "
                "MLPClassifier, MLPRegressor or the dropout estimators."
            )
        y, y_enc, targets = self._validate_targets(y)
        X = _row_major(X)
        n_samples, n_features = X.shape
        if sample_weight is not None:
            sample_weight = self._check_sample_weight(sample_weight, X)
        n_drawn = self._n_drawn(n_samples, sample_weight)
        n_features_drawn = self._n_features_drawn(n_features)
        if getattr(template, "conv_layers", None) and (
            n_features_drawn < n_features or self.bootstrap_features
        ):
            raise ValueError(
                "Members with conv_layers read each row as an image, so they "
                "need every feature in place: use max_features=1.0 and "
                "bootstrap_features=False (a feature draw would scramble the "
                "pixels)."
            )
        if sample_weight is not None and np.all(sample_weight == sample_weight[0]):
            # equal weights draw like no weights (so sample_weight=np.ones(n)
            # fits the same ensemble as None); only their sum mattered above
            sample_weight = None
        if _routing_enabled():
            fit_params = process_routing(self, "fit", **fit_params).estimator.fit

        if warm:
            self._check_warm_targets(targets)
            self._check_warm_start(n_samples, n_drawn, n_features_drawn, sample_weight)
            if X.dtype != self._dtype():
                X = X.astype(self._dtype())
        else:
            self.estimators_ = []
            self.estimators_features_ = []
            self._seeds = np.empty(0, dtype=np.int64)
            self._set_targets(targets)
            self._n_samples = n_samples
            self._n_drawn_fit = n_drawn
            self._n_features_drawn_fit = n_features_drawn
            self._bootstrap_fit = bool(self.bootstrap)
            self._bootstrap_features_fit = bool(self.bootstrap_features)
            self._sample_weight = sample_weight
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
                stacklevel=4,  # _fit < fit < _fit_context < caller
            )
            return self

        random_state = check_random_state(self.random_state)
        if warm:
            # advance the stream past the seeds already used (scikit-learn's
            # convention), so growing the ensemble equals fitting it at once
            random_state.randint(_MAX_INT, size=len(self.estimators_))
        seeds = random_state.randint(_MAX_INT, size=n_more).astype(np.int64)

        spec = self._spec()
        n_classes = None if y_enc is None else self._output_classes().shape[0]
        with single_threaded_blas(), stop_token() as stop:
            fitted = self._parallel(n_more)(
                delayed(_fit_member)(
                    template, X, y, y_enc, n_classes, int(s), spec, stop, fit_params
                )
                for s in seeds
            )
        self.estimators_ = list(self.estimators_) + [est for est, _ in fitted]
        self.estimators_features_ = list(self.estimators_features_) + [
            f for _, f in fitted
        ]
        self._seeds = np.concatenate([self._seeds, seeds])
        self._stack_members()

        if self.oob_score:
            self._set_oob_score(X, y, y_enc)
        else:
            for name in self._oob_attributes:
                if hasattr(self, name):
                    delattr(self, name)
        return self

    def _dtype(self):
        return self.estimators_[0].coefs_[0].dtype

    # ---------------------------------------------------------------- serving
    def _stack_members(self):
        """Stack the members' parameters for :meth:`_member_outputs`."""
        self._serving = MemberStack(
            self.estimators_, self.estimators_features_, self.n_features_in_
        )

    def __getstate__(self):
        state = super().__getstate__()
        if "_serving" in state:
            state = dict(state)
            del state["_serving"]  # rebuilt on load, from the members
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "estimators_" in self.__dict__ and "_serving" not in self.__dict__:
            self._stack_members()

    @property
    def estimators_samples_(self):
        """The in-bag row indices of each member (regenerated from the seeds)."""
        check_is_fitted(self)
        spec = self._spec()
        return [spec.draw(int(s))[2] for s in self._seeds]

    def get_metadata_routing(self):
        """Get metadata routing of this object.

        The ensemble consumes ``sample_weight`` itself (request it with
        ``set_fit_request(sample_weight=True)``) and routes the other
        parameters of ``fit`` to the members' ``fit``, as requested by the
        template (scikit-learn's metadata routing: enable it with
        ``sklearn.set_config(enable_metadata_routing=True)``).

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating routing information.
        """
        if self.estimator is None:
            template = self._member_classes()[2]()
        else:
            template = self.estimator
        router = MetadataRouter(owner=type(self).__name__).add_self_request(self)
        return router.add(
            estimator=template,
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )

    # ------------------------------------------------------- member outputs
    def _validate_X(self, X):
        if "estimators_" not in self.__dict__:
            check_is_fitted(self)  # raises NotFittedError
        rows = fitted_dense_rows(self, X)
        if rows is not None:
            return np.ascontiguousarray(rows, dtype=self._dtype())
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            reset=False,
            dtype=(np.float64, np.float32),
        )
        return _row_major(X.astype(self._dtype(), copy=False))

    def _member_outputs(self, X):
        """Each member's output on validated ``X``, in member order:
        probabilities in the ensemble's class columns (classifier) or
        predictions of shape (n_samples, n_outputs) (regressor)."""
        classes = self._output_classes()
        serving = self.__dict__.get("_serving")
        if serving is not None:
            out = serving.outputs(self.estimators_, X, classes)
            if out is not None:
                return out
        parallel = self._parallel(len(self.estimators_))
        with single_threaded_blas():
            return parallel(
                delayed(_member_predict)(est, f, X, classes)
                for est, f in zip(
                    self.estimators_, self.estimators_features_, strict=True
                )
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # as scikit-learn's bagging: sparse X exactly when the members take it
        try:
            tags.input_tags.sparse = _accepts_sparse(self._make_template())
        except TypeError:  # not a network: fit says why
            tags.input_tags.sparse = False
        return tags
