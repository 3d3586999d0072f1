"""Tangent propagation (Simard et al. 1992) on skreg's MLP engine, and the
engine options it shares with the manifold tangent classifier
(``_manifold_tangent.py``).

The estimators only choose engine options: the penalty itself (a
forward-mode Jacobian-vector pass along every sample's tangents and its
exact reverse pass) is the engine's tangent-propagation training mode,
``_engine/_tangent.py``.
"""

from numbers import Real

import numpy as np

from ..utils._sklearn_compat import (
    Interval,
    StrOptions,
    _fit_context,
    check_is_fitted,
    validate_data,
)
from ..utils._tangent_vectors import raw_tangents, resolve_geometry
from ._classifier import BaseMLPClassifier
from ._docs import ATTRIBUTES, ENGINE_PARAMS, LOSS_PARAM, REGRESSOR_ATTRIBUTES
from ._engine import logit_jvp
from ._regressor import BaseMLPRegressor

# the engine's parameters from ``solver`` on, less ``image_shape``: these
# estimators document their own (the images of their tangents)
_ENGINE_PARAMS = ENGINE_PARAMS[
    ENGINE_PARAMS.index("    solver :") : ENGINE_PARAMS.index("    image_shape :")
]

_MAX_NORM_DOC = """\
    max_norm : float or None, default=None
        Each unit's incoming weight vector is rescaled to norm at most
        ``max_norm`` after every update; None disables it.
"""

_TANGENT_ALPHA_DOC = """\
    tangent_alpha : float, default=1.0
        Strength of the tangent-propagation penalty
        ``tangent_alpha * sum_t ||J_f(x) v_t||^2`` per example (weighted by
        ``sample_weight`` like the data loss). 0 switches it off (the plain
        network, bit for bit).

    tangent_output : {'proba', 'logits'}, default='proba'
        The function ``f`` whose directional derivatives are penalised:
        the predicted probabilities (Simard et al.'s network outputs; the
        penalty fades where the prediction is confident, so it does not
        fight the data term) or the logits (output pre-activations; a
        plain quadratic, slightly cheaper, but it also shrinks confident
        logits).  On 20 digits per class 'proba' gave the lower test
        error (see Notes); 'logits' wants a smaller ``tangent_alpha``
        (about 0.01-0.1: at 1 it underfits).

    tangent_sampling : {'exact', 'rademacher'}, default='exact'
        'exact' propagates every tangent at every step (cost grows with
        ``1 + n_tangents``).  'rademacher' propagates one random
        combination ``sum_t e_t v_t`` (``e_t = +-1``) per example and step:
        an unbiased estimate of the same penalty (it is a quadratic form in
        ``J v``) at the cost of one tangent; the signs come from a counter-
        based hash of (``random_state``, step, sample), so fits stay
        reproducible.
"""

#: Rows of X per chunk when computing encoder tangents (bounds the memory
#: of the batched Gram matrices).
_TANGENT_CHUNK = 512


def _check_tangent_array(T, X, where):
    """``T`` as a finite (n_samples, n_tangents, n_features) array of X's dtype."""
    T = np.asarray(T)
    n, d = X.shape
    if T.ndim != 3 or T.shape[0] != n or T.shape[2] != d:
        raise ValueError(
            f"{where} must have shape (n_samples, n_tangents, n_features) = "
            f"({n}, n_tangents, {d}) aligned with X; got shape {T.shape}."
        )
    if not np.issubdtype(T.dtype, np.number) or np.iscomplexobj(T):
        raise TypeError(f"{where} must be a real numeric array, got {T.dtype}.")
    T = np.ascontiguousarray(T, dtype=X.dtype)
    if not np.isfinite(T).all():
        raise ValueError(f"{where} contain NaN or inf.")
    return T


class _TangentPropMixin:
    """Engine configuration shared by the two tangent classifiers."""

    def _engine_config(self):
        cfg = super()._engine_config()
        cfg.tangent_alpha = float(self.tangent_alpha)
        # regressors penalise their outputs' own derivatives (the logits)
        cfg.tangent_output = getattr(self, "tangent_output", "logits")
        cfg.tangent_sampling = self.tangent_sampling
        return cfg

    def _init_random_state(self, rs):
        # Peek without advancing the stream (as the dropout seeds), so that
        # tangent_alpha=0 trains exactly the plain network of the same
        # random_state.  The base hands _dropout_seed to the kernels: it keys
        # the random tangent combinations (tangent_sampling='rademacher').
        state = rs.get_state()
        seeds = rs.randint(0, np.iinfo(np.int32).max, size=2)
        rs.set_state(state)
        self._dropout_seed = int(seeds[0])
        self._cae_seed = int(seeds[1])
        self._cae_pending = True

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, **fit_params):
        return self._fit(X, y, sample_weight, incremental=False, **fit_params)

    def directional_derivatives(self, X, tangents):
        """Directional derivatives of the penalised output along tangents.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        tangents : array-like of shape (n_samples, n_tangents, n_features)
            Tangent vectors of each sample.

        Returns
        -------
        jvp : ndarray of shape (n_samples, n_tangents, n_outputs)
            ``J_f(x_i) v_{i,t}`` with ``f`` the probabilities or the logits
            (``tangent_output``; ``n_outputs`` = 1 for binary problems);
            the penalty is ``tangent_alpha`` times the sum of their squares.
        """
        check_is_fitted(self)
        X = self._validate_X(X)
        T = _check_tangent_array(tangents, X, "tangents")
        if self._architecture() is None:
            q = _logit_jvp(self.coefs_, self.intercepts_, self.activation, X, T)
        else:  # convolutional layers: the engine's own tangent pass
            layout, theta = self._pack()
            q = logit_jvp(X, T, theta, layout, self.activation, self._out_kind())
        if getattr(self, "tangent_output", "logits") == "logits":
            return q.astype(X.dtype)
        p = self._proba_weight_scaling(X).astype(np.float64)[:, None, :]
        if self.out_activation_ == "logistic":  # binary or multilabel
            return (p * (1 - p) * q).astype(X.dtype)
        return (p * (q - np.sum(p * q, axis=2, keepdims=True))).astype(X.dtype)


def _logit_jvp(coefs, intercepts, activation, X, T):
    """Forward-mode derivative of the logits along T (numpy, for reports)."""
    n, k, d = T.shape
    h = X.astype(np.float64)
    t = T.reshape(n * k, d).astype(np.float64)
    L = len(coefs)
    for l in range(L):
        W = coefs[l].astype(np.float64)
        z = h @ W + intercepts[l]
        u = t @ W
        if l == L - 1:
            return u.reshape(n, k, -1)
        if activation == "relu":
            h = np.maximum(z, 0)
            fp = (z > 0).astype(np.float64)
        elif activation == "tanh":
            h = np.tanh(z)
            fp = 1 - h * h
        elif activation == "logistic":
            h = 1 / (1 + np.exp(-z))
            fp = h * (1 - h)
        else:
            h = z
            fp = np.ones_like(z)
        t = (u.reshape(n, k, -1) * fp[:, None, :]).reshape(n * k, -1)
    return None  # pragma: no cover


def _engine_kwargs(est):
    names = BaseMLPClassifier._parameter_constraints.keys()
    return {name: getattr(est, name) for name in names}


class _ParameterTangentsMixin:
    """Where tangent propagation's tangents come from: the ``tangents``
    parameter ('image' or a callable) or ``fit(..., tangents=...)``."""

    def fit(self, X, y, sample_weight=None, tangents=None):
        """Fit the model to data matrix X and target y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels, or real values for a
            regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (data loss and tangent penalty alike).
        tangents : array-like of shape (n_samples, n_tangents, n_features), \
default=None
            Precomputed tangent vectors aligned with ``X``; they replace
            the ``tangents`` parameter for this fit (used as given: not
            normalised).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return super().fit(X, y, sample_weight, tangents=tangents)

    def compute_tangents(self, X):
        """The tangents the ``tangents`` parameter gives for ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs (validated as in ``fit``).

        Returns
        -------
        tangents : ndarray of shape (n_samples, n_tangents, n_features)
            Image (or, for widths that are not a perfect square with
            ``image_shape=None``, 1-D signal) tangents, normalised if
            ``normalize_tangents``; or the callable's output.
        """
        X = validate_data(
            self,
            X,
            dtype=(np.float64, np.float32),
            reset=not hasattr(self, "n_features_in_"),
        )
        return self._parameter_tangents(np.ascontiguousarray(X))

    def _parameter_tangents(self, X):
        if callable(self.tangents):
            return _check_tangent_array(
                self.tangents(X), X, "The output of the tangents callable"
            )
        shape, names = resolve_geometry(X.shape[1], self.image_shape, self.transforms)
        T = raw_tangents(X, shape, names, self.sigma).astype(X.dtype, copy=False)
        if self.normalize_tangents:
            norms = np.sqrt(np.einsum("ntd,ntd->nt", T, T))
            scale = np.zeros_like(norms)
            np.divide(1.0, norms, out=scale, where=norms > 0)
            T *= scale[:, :, None]
        return T

    def _tangent_vectors(self, X, tangents, sample_weight):
        if tangents is not None:
            T = _check_tangent_array(tangents, X, "tangents passed to fit")
        elif self.tangent_alpha == 0:
            T = None
        else:
            T = self._parameter_tangents(X)
        self.n_tangents_ = 0 if T is None else int(T.shape[1])
        return None if self.tangent_alpha == 0 else T


class TangentPropMLPClassifier(
    _ParameterTangentsMixin, _TangentPropMixin, BaseMLPClassifier
):
    _parameter_constraints: dict = {
        **BaseMLPClassifier._parameter_constraints,
        "tangent_alpha": [Interval(Real, 0, None, closed="left")],
        "tangent_output": [StrOptions({"proba", "logits"})],
        "tangent_sampling": [StrOptions({"exact", "rademacher"})],
        "tangents": [StrOptions({"image"}), callable],
        "image_shape": [tuple, list, None],
        "transforms": [tuple, list, str, None],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "normalize_tangents": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        tangent_alpha=1.0,
        tangent_output="proba",
        tangent_sampling="exact",
        tangents="image",
        image_shape=None,
        transforms=None,
        sigma=0.7,
        normalize_tangents=True,
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
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            activation_penalty=activation_penalty,
            activation_penalty_alpha=activation_penalty_alpha,
            student_t_gamma=student_t_gamma,
            sparsity_target=sparsity_target,
            tie_to=tie_to,
            tie_alpha=tie_alpha,
            max_norm=max_norm,
            conv_layers=conv_layers,
            image_shape=image_shape,
        )
        self.tangent_alpha = tangent_alpha
        self.tangent_output = tangent_output
        self.tangent_sampling = tangent_sampling
        self.tangents = tangents
        self.transforms = transforms
        self.sigma = sigma
        self.normalize_tangents = normalize_tangents


TangentPropMLPClassifier.__doc__ = f"""MLP classifier with tangent propagation.

    Adds to every example's loss the squared directional derivatives of the
    network's output ``f`` (the predicted probabilities, or the logits)
    along the example's tangent vectors ``v_t`` -- directions in which the
    class should not change, such as small translations or rotations of an
    image (Simard et al. 1992):

        ``tangent_alpha * sum_t ||J_f(x) v_t||^2``

    The derivatives come from a forward-mode (Jacobian-vector) pass through
    the network inside the numba training step, and the exact gradient of
    the penalty from its reverse pass; dropout masks, if any, are shared
    with the data term.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units of the ith hidden layer.

    activation : {{'identity', 'logistic', 'tanh', 'relu'}}, default='relu'
        Activation function of the hidden layers.

{_TANGENT_ALPHA_DOC}
    tangents : 'image' or callable, default='image'
        Where the tangents come from (unless ``fit`` is given precomputed
        ``tangents``).  'image': :func:`skreg.utils.image_tangents` of each
        training row (``image_shape``, ``transforms``, ``sigma``); a width
        that is not a perfect square with ``image_shape=None`` is treated
        as 1-D signals (:func:`skreg.utils.signal_tangents`), as in
        :class:`~skreg.neighbors.TangentDistanceKNN`.  A callable maps X
        (n_samples, n_features) to (n_samples, n_tangents, n_features).
        Tangents are computed once per fit, not per epoch.

    image_shape : tuple of (int, int) or None, default=None
        ``(height, width)`` of the images; None: square if ``n_features``
        is a perfect square, else 1-D signals.  The same images are the
        input of ``conv_layers``.

    transforms : sequence of str or None, default=None
        Transformation names (see :func:`skreg.utils.image_tangents` /
        :func:`skreg.utils.signal_tangents`); None: all of them.

    sigma : float, default=0.7
        Smoothing (pixels) of the image gradients the tangents are built
        from (0.5-0.7 did best on 8x8 digits; 1.0 blurs them).

    normalize_tangents : bool, default=True
        Scale every 'image' tangent to unit Euclidean norm (zero tangents,
        e.g. of a blank image, stay zero), so ``tangent_alpha`` does not
        depend on the scale of X or on ``sigma``.  Tangents from a callable
        or from ``fit`` are used as given.

{_MAX_NORM_DOC}
{_ENGINE_PARAMS}
    Attributes
    ----------
{ATTRIBUTES}
    n_tangents_ : int
        Number of tangents per example used by the last fit.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The scikit-learn MLP (no penalty).
    ManifoldTangentClassifier : The same penalty on learned tangents.
    skreg.neighbors.TangentDistanceKNN : Tangent distance nearest neighbours.

    Notes
    -----
    ``f``: with ``tangent_output='logits'`` the output pre-activations (one
    logit for binary problems), a plain quadratic in the Jacobian-vector
    products ``q = J v``; with 'proba' (default) the probabilities,
    ``dp = (diag(p) - p p^T) q`` (``p (1 - p) q`` for one logistic output),
    whose gradient also reaches the logits through ``p``.  On load_digits
    with 20 training digits per class (64 relu units, batch 32, 300
    epochs, 5 splits) the logit penalty never beat the plain network's mean
    test error (6.6%) at any strength tried, while the probability penalty
    gave 6.2% at ``tangent_alpha=1`` -- the logit penalty also fights the
    data term by shrinking confident logits.
    Per sample and tangent ``T_0 = v``, ``U_l = T_l W_l``,
    ``T_{{l+1}} = f'(z_l) * U_l`` (times the dropout mask), ``J v = U_{{L-1}}``;
    all tangents of a minibatch are stacked so each layer costs one matrix
    product.  The reverse pass gives ``dW_l = T_l^T G_U + A_l^T G_Z`` where
    ``G_Z`` collects the terms through the slope ``f'(z)`` (``f''(z) U
    G_T``, zero for relu and identity).  Cost per minibatch: about
    ``1 + n_tangents`` times the plain network's matrix products; on the
    digits (1,437 x 64, hidden 100, batch 200) a fit with 7 tangents took
    9x the plain network's time exactly, 3.1x with
    ``tangent_sampling='rademacher'`` (``benchmarks/bench_tangent_prop.py``).
    Weighted by ``sample_weight`` and normalised by the batch weight like
    the data loss.

    References
    ----------
    Simard, P., Victorri, B., LeCun, Y. and Denker, J. (1992). Tangent
    prop -- a formalism for specifying selected invariances in an adaptive
    network. NIPS 4.

    Goodfellow, I., Bengio, Y. and Courville, A. (2016). Deep Learning,
    section 7.14.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skreg.neural_network import TangentPropMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = TangentPropMLPClassifier(hidden_layer_sizes=(32,), batch_size=32,
    ...                                max_iter=50, random_state=0)
    >>> clf = clf.fit(X[:300] / 16, y[:300])
    >>> clf.n_tangents_
    7
    >>> clf.score(X[:300] / 16, y[:300]) > 0.9
    True
    """


class TangentPropMLPRegressor(
    _ParameterTangentsMixin, _TangentPropMixin, BaseMLPRegressor
):
    _parameter_constraints: dict = {
        **BaseMLPRegressor._parameter_constraints,
        "tangent_alpha": [Interval(Real, 0, None, closed="left")],
        "tangent_sampling": [StrOptions({"exact", "rademacher"})],
        "tangents": [StrOptions({"image"}), callable],
        "image_shape": [tuple, list, None],
        "transforms": [tuple, list, str, None],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "normalize_tangents": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
        tangent_alpha=1.0,
        tangent_sampling="exact",
        tangents="image",
        image_shape=None,
        transforms=None,
        sigma=0.7,
        normalize_tangents=True,
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
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            activation_penalty=activation_penalty,
            activation_penalty_alpha=activation_penalty_alpha,
            student_t_gamma=student_t_gamma,
            sparsity_target=sparsity_target,
            tie_to=tie_to,
            tie_alpha=tie_alpha,
            max_norm=max_norm,
            conv_layers=conv_layers,
            image_shape=image_shape,
        )
        self.loss = loss
        self.tangent_alpha = tangent_alpha
        self.tangent_sampling = tangent_sampling
        self.tangents = tangents
        self.transforms = transforms
        self.sigma = sigma
        self.normalize_tangents = normalize_tangents


TangentPropMLPRegressor.__doc__ = f"""MLP regressor with tangent propagation.

    The regression twin of :class:`TangentPropMLPClassifier`: adds to every
    example's loss the squared directional derivatives of the network's
    outputs ``f`` along the example's tangent vectors ``v_t``, directions
    in which the target should not change (Simard et al. 1992):

        ``tangent_alpha * sum_t ||J_f(x) v_t||^2``

    ``f`` is the output layer's pre-activation: the prediction itself for
    ``loss='squared_error'``, the log of the predicted rate for 'poisson'.
    The derivatives come from a forward-mode pass inside the numba training
    step, the penalty's exact gradient from its reverse pass.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units of the ith hidden layer.

    activation : {{'identity', 'logistic', 'tanh', 'relu'}}, default='relu'
        Activation function of the hidden layers.

{LOSS_PARAM}

    tangent_alpha : float, default=1.0
        Strength of the penalty (weighted by ``sample_weight`` like the data
        loss); 0 switches it off (the plain network, bit for bit).  Its
        scale is that of ``y`` squared per unit tangent: standardise ``y``.

    tangent_sampling : {{'exact', 'rademacher'}}, default='exact'
        'exact' propagates every tangent at every step; 'rademacher' one
        random +-1 combination of them per example and step (an unbiased
        estimate of the same penalty at the cost of one tangent).

    tangents : 'image' or callable, default='image'
        Where the tangents come from (unless ``fit`` is given precomputed
        ``tangents``).  'image': :func:`skreg.utils.image_tangents` of each
        training row (``image_shape``, ``transforms``, ``sigma``); a width
        that is not a perfect square with ``image_shape=None`` is treated
        as 1-D signals (:func:`skreg.utils.signal_tangents`), as in
        :class:`~skreg.neighbors.TangentDistanceKNN`.  A callable maps X
        (n_samples, n_features) to (n_samples, n_tangents, n_features).
        Tangents are computed once per fit, not per epoch.

    image_shape : tuple of (int, int) or None, default=None
        ``(height, width)`` of the images; None: square if ``n_features``
        is a perfect square, else 1-D signals.  The same images are the
        input of ``conv_layers``.

    transforms : sequence of str or None, default=None
        Transformation names (see :func:`skreg.utils.image_tangents` /
        :func:`skreg.utils.signal_tangents`); None: all of them.

    sigma : float, default=0.7
        Smoothing (pixels) of the image gradients the tangents are built
        from (0.5-0.7 did best on 8x8 digits; 1.0 blurs them).

    normalize_tangents : bool, default=True
        Scale every 'image' tangent to unit Euclidean norm (zero tangents,
        e.g. of a blank image, stay zero), so ``tangent_alpha`` does not
        depend on the scale of X or on ``sigma``.  Tangents from a callable
        or from ``fit`` are used as given.

{_MAX_NORM_DOC}
{_ENGINE_PARAMS}
    Attributes
    ----------
{REGRESSOR_ATTRIBUTES}
    n_tangents_ : int
        Number of tangents per example used by the last fit.

    See Also
    --------
    TangentPropMLPClassifier : The classification twin.
    MLPRegressor : The same engine without the penalty.

    References
    ----------
    Simard, P., Victorri, B., LeCun, Y. and Denker, J. (1992). Tangent
    prop -- a formalism for specifying selected invariances in an adaptive
    network. NIPS 4.

    Examples
    --------
    >>> import numpy as np
    >>> from skreg.neural_network import TangentPropMLPRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, (200, 2))
    >>> y = X[:, 0] ** 2            # does not depend on the second feature
    >>> T = np.zeros((200, 1, 2)); T[:, 0, 1] = 1.0
    >>> reg = TangentPropMLPRegressor((32,), tangent_alpha=1.0, max_iter=300,
    ...                               random_state=0).fit(X, y, tangents=T)
    >>> reg.n_tangents_
    1
    """
