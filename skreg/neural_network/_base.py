"""BaseMultilayerPerceptron: the one training loop of every skreg neural
estimator (as scikit-learn's ``BaseMultilayerPerceptron``).

The fit plumbing (validation, parameters, ``warm_start``, ``partial_fit``,
the failed-fit guard) lives here and the solvers, schedules and early
stopping in :mod:`~skreg.neural_network._solvers`; what depends on the kind of target
(classes, label encoding, the validation score, ``predict``) lives in an
output part such as
:class:`~skreg.neural_network._classifier.BaseMLPClassifier`, behind the
hooks ``_prepare_targets``, ``_stratify``, ``_validation_score`` and
``_out_kind``, so a regressor part can join without touching the loop.

How a thin estimator configures the engine
------------------------------------------
1. Subclass :class:`~skreg.neural_network._classifier.BaseMLPClassifier`,
   write ``__init__`` with your own parameters (call
   ``super().__init__(**engine_params)``), and extend
   ``_parameter_constraints = {**BaseMLPClassifier._parameter_constraints,
   "my_param": [...]}``.
2. Override ``_engine_config(self)``: call ``super()._engine_config()`` (an
   :class:`~skreg.neural_network._engine.EngineConfig` with every shared
   option filled in from ``self``) and switch on your options, e.g.
   ``cfg.dropout = "bernoulli"; cfg.keep_hidden = 1 - self.hidden_dropout``.
3. Optionally override ``_validate_engine_params(self)`` (extra checks
   at fit time) and ``_init_random_state(self, rs)`` (draw extra seeds at
   the first fit) and the inference methods (``predict_proba``).

Never copy the epoch loop: ``_fit`` owns minibatching, solvers, early
stopping, ``verbose``, ``warm_start``, ``partial_fit``, the loss curve and
the non-finite guard.
"""

import contextlib
from numbers import Integral, Real
from operator import is_

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from ..utils._blas import single_threaded_blas
from ..utils._sklearn_compat import (
    Interval,
    Options,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    check_is_fitted,
    validate_data,
)
from ..utils._validation import fitted_dense_rows, restore_state_on_error
from ._conv_spec import conv_image, normalize_conv_layers
from ._engine import (
    DENSE_ONLY_MODES,
    EngineConfig,
    Layout,
    Predictor,
    glorot_init_layout,
    predict_proba,
)
from ._solvers import SolverMixin, _nonfinite_error

_STOCHASTIC_SOLVERS = ("sgd", "adam")


#: Largest minibatch product (rows x fan-in x fan-out) fitted with BLAS on
#: one thread (see ``BaseMultilayerPerceptron._blas_section``): between the
#: 2.1e6 of digits, where one thread is 2x faster, and the 2.6e7 of 784
#: inputs, where two threads are 1.5x faster on a quiet machine.
_ONE_THREAD_PRODUCT = 8_000_000

#: The parameter that marks an estimator class whose technique computes in
#: the dense input space, and that technique's training mode (whose reason
#: ``DENSE_ONLY_MODES`` gives): such classes refuse sparse X and say why.
_DENSE_INPUT_PARAMS = {"adversarial_epsilon": "adversarial", "tangent_alpha": "tangent"}


def _canonical_input(X):
    """``X`` as the engine reads it: a C-contiguous array, or a CSR matrix
    in canonical format (CSC converted; sorted indices, no duplicates)."""
    if not sp.issparse(X):
        return np.ascontiguousarray(X)
    X = X.tocsr()
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


class BaseMultilayerPerceptron(SolverMixin, BaseEstimator):
    """Base class of skreg's neural estimators (not for direct use).

    Holds every engine parameter and the training loop; an output part
    (:class:`~skreg.neural_network._classifier.BaseMLPClassifier`) adds the
    targets, and thin estimators only choose engine options (see the module
    docstring).  Names, defaults and fitted attributes follow
    :class:`sklearn.neural_network.MLPClassifier`.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "activation_penalty": [StrOptions({"l1", "student_t", "kl"}), None],
        "activation_penalty_alpha": [Interval(Real, 0, None, closed="left")],
        "student_t_gamma": [Interval(Real, 0, None, closed="neither")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
        "tie_to": "no_validation",
        "tie_alpha": [Interval(Real, 0, None, closed="left")],
        "max_norm": [Interval(Real, 0, None, closed="neither"), None],
        "conv_layers": [list, tuple, None],
        "image_shape": [list, tuple, None],
    }

    #: Whether fit, partial_fit and predict take scipy sparse X (CSR, or
    #: CSC converted to CSR), as scikit-learn's MLPs do.  The first layer
    #: then runs over the stored entries only.  Set for each subclass from
    #: ``_DENSE_INPUT_PARAMS`` (a class may set it itself);
    #: ``_sparse_refusal`` is the reason a class refuses sparse input.
    _accepts_sparse = True
    _sparse_refusal = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_accepts_sparse" in cls.__dict__:
            return
        for param, mode in _DENSE_INPUT_PARAMS.items():
            if param in cls._parameter_constraints:
                cls._accepts_sparse = False
                cls._sparse_refusal = DENSE_ONLY_MODES[mode]
                return
        cls._accepts_sparse = True
        cls._sparse_refusal = None

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        activation_penalty=None,
        activation_penalty_alpha=1e-3,
        student_t_gamma=1.0,
        sparsity_target=0.05,
        tie_to=None,
        tie_alpha=1e-2,
        max_norm=None,
        conv_layers=None,
        image_shape=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.activation_penalty = activation_penalty
        self.activation_penalty_alpha = activation_penalty_alpha
        self.student_t_gamma = student_t_gamma
        self.sparsity_target = sparsity_target
        self.tie_to = tie_to
        self.tie_alpha = tie_alpha
        self.max_norm = max_norm
        self.conv_layers = conv_layers
        self.image_shape = image_shape

    # ------------------------------------------------------------------ hooks
    def _engine_config(self):
        """The engine options of this estimator (override to add your own)."""
        return EngineConfig(
            activation=self.activation,
            solver=self.solver,
            alpha=float(self.alpha),
            momentum=float(self.momentum),
            nesterovs_momentum=bool(self.nesterovs_momentum),
            beta_1=float(self.beta_1),
            beta_2=float(self.beta_2),
            epsilon=float(self.epsilon),
            activation_penalty=self.activation_penalty,
            activation_penalty_alpha=float(self.activation_penalty_alpha),
            student_t_gamma=float(self.student_t_gamma),
            sparsity_target=float(self.sparsity_target),
            tie_alpha=float(self.tie_alpha),
            max_norm=None if self.max_norm is None else float(self.max_norm),
        )

    def _validate_engine_params(self):
        """Extra fit-time checks of a subclass (default: none)."""

    def _tangent_vectors(self, X, tangents, sample_weight):
        """Per-sample tangents (n_samples, n_tangents, n_features) for the
        tangent-propagation penalty, or None (default: no penalty)."""
        return None

    def _validate_xy(self, X, y, reset):
        """``validate_data`` of ``fit``'s inputs (an output part's hook:
        which target shapes and types it accepts)."""
        return validate_data(
            self,
            X,
            y,
            accept_sparse=self._sparse_formats(X),
            dtype=(np.float64, np.float32),
            reset=reset,
        )

    def _sparse_formats(self, X):
        """``accept_sparse`` of ``validate_data`` for ``X``: CSR and CSC
        when the estimator takes sparse input; else a sparse ``X`` raises
        a ``TypeError`` that names the technique and why it needs dense
        input."""
        if self._takes_sparse():
            return ["csr", "csc"]
        if sp.issparse(X):
            if self._accepts_sparse:  # a class that takes it, but conv layers
                raise TypeError(
                    "Sparse input is not supported by convolutional layers "
                    f"(conv_layers of {type(self).__name__}): they read rows "
                    "as images. Convert X with X.toarray()."
                )
            raise TypeError(
                f"Sparse input is not supported by {type(self).__name__}'s "
                f"{self._sparse_refusal}. Convert X with X.toarray() (or use "
                "an estimator that accepts sparse X, such as MLPClassifier, "
                "MLPRegressor or the Dropout MLPs)."
            )
        return False

    def _takes_sparse(self):
        """Whether this instance takes sparse X: its class does and it has
        no convolutional layers (which read rows as images)."""
        return self._accepts_sparse and not self.conv_layers

    def _prepare_targets(self, y, first_pass, incremental):
        """Validate and encode ``y`` for the engine (an output part's hook).

        Returns ``(y_encoded, n_outputs, out_kind, out_activation)``; sets
        the target's fitted attributes (``classes_``) on the first pass.
        ``y_encoded`` is what the engine trains on: class indices (1-D), or
        target rows (2-D, in the model dtype) for regression and multilabel
        outputs.
        """
        raise NotImplementedError

    def _stratify(self, y_encoded, out_kind):
        """Labels to stratify the early-stopping split by, or None."""
        return None

    def _validation_score(self, X_val, y_val, sw_val, theta, layout, out_kind):
        """The early-stopping score of the weights ``theta`` (higher is better)."""
        raise NotImplementedError

    def _minibatch_streams(self, y, batch_size):
        """How an epoch's minibatches are drawn: None for scikit-learn's
        single reshuffled stream of ``batch_size`` rows, or an object with
        ``batch_rows`` (the largest batch) and ``epoch(rs, shuffle)`` (the
        row order of one epoch, cut into consecutive ``batch_rows`` chunks)."""
        return None

    def _init_random_state(self, rs):
        """Draw extra seeds at the first fit (default: none, so the plain
        network consumes ``random_state`` exactly as scikit-learn does)."""

    # ------------------------------------------------------------- utilities
    def _hidden_sizes(self):
        h = self.hidden_layer_sizes
        if not hasattr(h, "__iter__"):
            h = [h]
        h = [int(v) for v in h]
        if any(v <= 0 for v in h):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {h}.")
        return h

    def _new_layout(self, n_features, n_outputs):
        """The layout a fit on ``n_features`` inputs builds from the
        parameters, and its architecture ``(image, conv)`` (None for a
        dense network).  Raises ``ValueError`` for a bad ``conv_layers`` or
        ``image_shape``, or layers that do not fit the image."""
        hidden = self._hidden_sizes()
        if not normalize_conv_layers(self.conv_layers):
            return Layout([n_features, *hidden, n_outputs]), None
        image = conv_image(n_features, self.image_shape)
        conv = normalize_conv_layers(self.conv_layers, signal=image[0] == 1)
        try:
            layout = Layout.convolutional(image, conv, hidden, n_outputs)
        except ValueError as exc:
            raise ValueError(
                f"conv_layers do not fit the image of shape {image} (height, "
                f"width, channels): {exc}"
            ) from None
        return layout, (image, conv)

    def _architecture(self):
        """``(image_shape_, conv_layers_)`` of the fitted network, or None."""
        if not hasattr(self, "conv_layers_"):
            return None
        return self.image_shape_, self.conv_layers_

    def _set_architecture(self, arch):
        if arch is None:
            for name in ("image_shape_", "conv_layers_"):
                self.__dict__.pop(name, None)
        else:
            self.image_shape_, self.conv_layers_ = arch

    def _layout(self):
        """The layout of the fitted network."""
        if not hasattr(self, "conv_layers_"):
            return Layout.from_coefs(self.coefs_)
        image, conv = self.image_shape_, self.conv_layers_
        hidden = [c.shape[1] for c in self.coefs_[len(conv) : -1]]
        return Layout.convolutional(image, conv, hidden, self.coefs_[-1].shape[1])

    def _model_dtype(self):
        return self.coefs_[0].dtype

    def _pack(self):
        """``(layout, theta)`` of the fitted weights (the serving
        predictor's: not to be written)."""
        p = self._predictor()
        return p.layout, p.theta

    # ---------------------------------------------------------------- serving
    # A fit ends by storing its flat parameter vector once, as the storage
    # of ``coefs_`` and ``intercepts_`` (views), with the records the
    # inference kernels take (``_serving``): a request then neither packs
    # the weights nor rebuilds the layout.  A model loaded from a pickle
    # rebuilds both in ``__setstate__``; arrays assigned by the user are
    # packed on every call instead (``_predictor``).
    def _set_weights(self, layout, theta):
        """Make ``theta`` the fitted parameters (``coefs_``/``intercepts_``
        become views of it) and the serving predictor."""
        predictor = Predictor(layout, theta, self.activation, self._out_kind())
        coefs, intercepts = predictor.views()
        self.coefs_, self.intercepts_ = list(coefs), list(intercepts)
        self._serving = (predictor, (tuple(coefs), tuple(intercepts)))

    def _predictor(self):
        """The serving predictor of the current weights and parameters."""
        serving = self.__dict__.get("_serving")
        if serving is not None:
            p, (vc, vb) = serving
            coefs, intercepts = self.coefs_, self.intercepts_
            # identity, not equality: every request runs this test
            if (
                p.activation == self.activation
                and p.out_kind == self._out_kind()
                and len(coefs) == len(vc)
                and len(intercepts) == len(vb)
                and all(map(is_, coefs, vc))
                and all(map(is_, intercepts, vb))
            ):
                return p
        layout = self._layout()
        return Predictor.from_arrays(
            self.coefs_, self.intercepts_, layout, self.activation,
            self._out_kind(), self._model_dtype(),
        )  # fmt: skip

    def _serves_deterministically(self):
        """Whether ``predict``/``predict_proba`` are the deterministic pass
        of :meth:`_predictor` (an ensemble then runs its members' passes
        together); MC-dropout inference is not."""
        return True

    def __getstate__(self):
        state = super().__getstate__()
        if "_serving" in state:
            state = dict(state)
            del state["_serving"]  # rebuilt on load, from coefs_ / intercepts_
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "coefs_" in self.__dict__ and "_serving" not in self.__dict__:
            try:
                layout = self._layout()
                theta = layout.pack(self.coefs_, self.intercepts_, self._model_dtype())
            except (AttributeError, TypeError, ValueError, IndexError):
                return  # not a model this version can serve: _predictor says why
            self._set_weights(layout, theta)

    def _resolve_tie_ref(self, layout, dtype):
        ref = self.tie_to
        if ref is None:
            return None
        if isinstance(ref, BaseEstimator):
            if not hasattr(ref, "coefs_"):
                raise ValueError(
                    "tie_to is an unfitted estimator: fit it first, or pass "
                    "(coefs, intercepts). Note that clone() (GridSearchCV, "
                    "cross_val_score) returns unfitted copies of estimator-valued "
                    "parameters; pass (ref.coefs_, ref.intercepts_) there."
                )
            coefs, intercepts = ref.coefs_, ref.intercepts_
        elif isinstance(ref, tuple | list) and len(ref) == 2:
            coefs, intercepts = ref
        else:
            raise TypeError(
                "tie_to must be a fitted MLP (skreg or scikit-learn) or a pair "
                f"(coefs, intercepts); got {type(ref).__name__}."
            )
        coefs = [np.asarray(c) for c in coefs]
        intercepts = [np.asarray(b).ravel() for b in intercepts]
        want_c, want_b = layout.shapes()
        got_c = [c.shape for c in coefs]
        got_b = [b.shape for b in intercepts]
        if got_c != want_c or got_b != want_b:
            raise ValueError(
                "tie_to has another architecture: its layer shapes are "
                f"{got_c} / {got_b}, this network's are {want_c} / {want_b}."
            )
        ref = layout.pack(coefs, intercepts, dtype)
        if not np.isfinite(ref).all():
            raise ValueError("tie_to weights contain NaN or inf.")
        return ref

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data (CSR or CSC for a sparse matrix, where the
            estimator's technique allows it: the first layer then works on
            the stored entries only).
        y : array-like of shape (n_samples,)
            The target class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; each sample's loss is weighted and minibatch
            losses are normalised by the batch's weight sum (as scikit-learn).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

    def _fit(self, X, y, sample_weight, incremental, tangents=None):
        """Train (fit, partial_fit, warm_start); a fit that raises or is
        interrupted leaves the estimator as it was (unfitted, or its
        previous fit).  Interrupting sgd/adam instead keeps the best weights
        reached, with a warning, as scikit-learn does."""
        with restore_state_on_error(self):
            return self._fit_unguarded(X, y, sample_weight, incremental, tangents)

    def _blas_section(self, n, layout, sparse=False):
        """BLAS on one thread for a fit whose products are small.

        On a 2-core box, minibatch products of 128 x 64 x 256 (digits) ran
        2x faster on one BLAS thread than on OpenBLAS's two, whose threads
        spin: beside one busy process a digits fit ran 2-60x slower than
        alone, and on one thread 1.1x.  Products of 128 x 784 x 256 still
        gain 1.5x from the second thread on a quiet machine, so larger fits
        keep the user's BLAS setting.  The choice depends on the shapes
        only, never on the machine's load: the thread count changes the
        last bits of a product, and results must not depend on timing.
        With sparse X the first product is not BLAS's (it runs over the
        stored entries), so only the later layers count.
        """
        if self.solver == "lbfgs":
            rows = n
        elif self.batch_size == "auto":
            rows = min(200, n)
        else:
            rows = int(np.clip(self.batch_size, 1, max(n, 1)))
        # per row and layer: positions (OH * OW for a convolution, whose
        # im2col product has that many rows per image) x fan-in x fan-out
        positions = np.where(layout.kind != 0, layout.geom[:, 8] * layout.geom[:, 9], 1)
        products = [int(v) for v in positions * layout.fan_in * layout.fan_out]
        largest = max(products[1:] if sparse and len(products) > 1 else products)
        if rows * largest <= _ONE_THREAD_PRODUCT:
            return single_threaded_blas()
        return contextlib.nullcontext()

    def _fit_unguarded(self, X, y, sample_weight, incremental, tangents):
        self._hidden_sizes()  # a bad hidden_layer_sizes fails before validation
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        X, y = self._validate_xy(X, y, first_pass)
        y_idx, n_outputs, out_kind, out_activation = self._prepare_targets(
            y, first_pass, incremental
        )
        X = _canonical_input(X)
        dtype = X.dtype
        n_samples, n_features = X.shape

        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
            sw = np.ascontiguousarray(sample_weight, dtype=np.float64)
        else:
            sw = np.ones(n_samples, dtype=np.float64)

        cfg = self._engine_config()
        self._validate_engine_params()
        if self.solver == "lbfgs" and cfg.stochastic_regularizer:
            raise ValueError(
                "solver='lbfgs' needs a deterministic objective; dropout is "
                "stochastic. Use solver='adam' or 'sgd', or set the dropout rates "
                "to 0."
            )
        layout, arch = self._new_layout(n_features, n_outputs)
        rs = check_random_state(self.random_state)

        if first_pass:
            self.n_iter_ = 0
            self.t_ = 0
            self.n_outputs_ = n_outputs
            self.n_layers_ = layout.n_layers + 1
            self.out_activation_ = out_activation
            self._set_architecture(arch)
            self.coefs_, self.intercepts_ = glorot_init_layout(
                layout, self.activation, rs, dtype
            )
            self._step = 0
            self._init_random_state(rs)
            if self.solver in _STOCHASTIC_SOLVERS:
                self.loss_curve_ = []
                self._no_improvement_count = 0
                if self.early_stopping:
                    self.validation_scores_ = []
                    self.best_validation_score_ = -np.inf
                    self.best_loss_ = None
                else:
                    self.best_loss_ = np.inf
                    self.validation_scores_ = None
                    self.best_validation_score_ = None
        else:
            want = [tuple(c.shape) for c in self.coefs_]
            got = list(layout.coef_shapes)
            if want != got or arch != self._architecture():
                raise ValueError(
                    f"warm_start/partial_fit with layer shapes {got} that differ from "
                    f"the fitted ones {want}; use warm_start=False to refit."
                )
            if self._model_dtype() != dtype:
                self.coefs_ = [c.astype(dtype) for c in self.coefs_]
                self.intercepts_ = [b.astype(dtype) for b in self.intercepts_]

        theta = layout.pack(self.coefs_, self.intercepts_, dtype)
        cfg.tie_ref = self._resolve_tie_ref(layout, dtype)
        # per-sample tangent vectors (tangent propagation), or None
        tangent_vectors = self._tangent_vectors(X, tangents, sw)
        if tangent_vectors is not None and tangent_vectors.shape[1] == 0:
            tangent_vectors = None
        cfg.mode(tangents=tangent_vectors is not None)  # refuse unsupported mixes

        # The section starts after validation: only then is X an array whose
        # shape can be read (scikit-learn's checks pass objects that refuse
        # np.shape).
        with self._blas_section(n_samples, layout, sp.issparse(X)):
            if self.solver in _STOCHASTIC_SOLVERS:
                theta = self._fit_stochastic(
                    X, y_idx, sw, layout, theta, cfg, out_kind, rs, incremental,
                    tangent_vectors,
                )  # fmt: skip
            else:
                theta = self._fit_lbfgs(
                    X, y_idx, sw, layout, theta, cfg, out_kind, tangent_vectors
                )

        if not np.isfinite(theta).all():
            raise _nonfinite_error("fit")
        # The outputs of the final weights on the training rows: finite
        # weights can still overflow (float32 logits), and a fit never
        # returns a model that predicts NaN.  The deterministic pass also
        # leaves predict's kernel compiled (fast dropout trains without it).
        proba = predict_proba(X, theta, layout, self.activation, out_kind)
        if not np.isfinite(proba).all():
            raise _nonfinite_error("the final pass", "network's output on X")
        self._set_weights(layout, theta)
        return self

    # -------------------------------------------------------------- predict
    def _validate_X(self, X):
        if "coefs_" not in self.__dict__:
            check_is_fitted(self)  # raises NotFittedError
        rows = fitted_dense_rows(self, X)
        if rows is not None:
            if rows.dtype == self.coefs_[0].dtype and rows.flags.c_contiguous:
                return rows
            return np.ascontiguousarray(rows, dtype=self._model_dtype())
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            reset=False,
            accept_sparse=self._sparse_formats(X),
            dtype=(np.float64, np.float32),
        )
        if sp.issparse(X):
            return _canonical_input(X.astype(self._model_dtype(), copy=False))
        return np.ascontiguousarray(X, dtype=self._model_dtype())
