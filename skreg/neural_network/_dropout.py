"""DropoutMLPClassifier and DropoutMLPRegressor: the MLP engine with (fast)
dropout and Monte Carlo inference; the regressor adds predictive
uncertainty (``predict(X, return_std=True)``)."""

from numbers import Integral, Real

import numpy as np

from ..utils._sklearn_compat import Interval, StrOptions
from ._classifier import BaseMLPClassifier
from ._docs import (
    ATTRIBUTES,
    ENGINE_PARAMS,
    LOSS_PARAM,
    REGRESSOR_ATTRIBUTES,
)
from ._engine import predict_moments
from ._regressor import BaseMLPRegressor

_DROPOUT_CONSTRAINTS = {
    "input_dropout": [Interval(Real, 0, 1, closed="left")],
    "hidden_dropout": [Interval(Real, 0, 1, closed="left")],
    "dropout_method": [StrOptions({"bernoulli", "fast"})],
    "n_mc_samples": [Interval(Integral, 1, None, closed="left")],
}


class _DropoutMixin:
    """The dropout technique, shared by the classifier and the regressor:
    engine options, fit-time checks, the mask streams' seeds and the
    sampled forward passes.  The output part comes from the other base."""

    def _engine_config(self):
        cfg = super()._engine_config()
        if self.input_dropout > 0 or self.hidden_dropout > 0:
            cfg.dropout = self.dropout_method
            cfg.keep_input = 1.0 - float(self.input_dropout)
            cfg.keep_hidden = 1.0 - float(self.hidden_dropout)
        return cfg

    def _validate_engine_params(self):
        for name in ("input_dropout", "hidden_dropout"):
            rate = getattr(self, name)
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {rate!r}.")
        if self.dropout_method == "fast" and self.activation_penalty is not None:
            raise ValueError(
                "activation_penalty is not available with dropout_method='fast' "
                "(the penalty would need the activation distribution); use "
                "dropout_method='bernoulli'."
            )

    def _init_random_state(self, rs):
        # Peek at the stream without advancing it, so that with both rates 0
        # the fit is bit-identical to the plain MLP (and scikit-learn): the
        # seeds only key splitmix64 hashes, never a generator that shares
        # the shuffling stream.
        state = rs.get_state()
        seeds = rs.randint(0, np.iinfo(np.int32).max, size=2)
        rs.set_state(state)
        self._dropout_seed = int(seeds[0])
        self._mc_seed = int(seeds[1])

    def _mc_outputs(self, X, n_samples):
        """Network outputs under ``n_samples`` sampled masks:
        ``(n_samples, n_queries, n_outputs_)``."""
        return self._predictor().proba_mc(
            X,
            1.0 - float(self.input_dropout),
            1.0 - float(self.hidden_dropout),
            int(n_samples),
            self._mc_seed,
        )

    def _serves_deterministically(self):
        return self.inference == "weight_scaling"

    def _check_n_samples(self, n_samples):
        if n_samples is None:
            return self.n_mc_samples
        if (
            isinstance(n_samples, bool)
            or not isinstance(n_samples, Integral)
            or n_samples < 1
        ):
            raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}.")
        return n_samples


class DropoutMLPClassifier(_DropoutMixin, BaseMLPClassifier):
    _parameter_constraints: dict = {
        **BaseMLPClassifier._parameter_constraints,
        **_DROPOUT_CONSTRAINTS,
        "inference": [StrOptions({"weight_scaling", "mc_arithmetic", "mc_geometric"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        input_dropout=0.2,
        hidden_dropout=0.5,
        dropout_method="bernoulli",
        inference="weight_scaling",
        n_mc_samples=20,
        max_norm=3.0,
        conv_layers=None,
        image_shape=None,
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
        self.input_dropout = input_dropout
        self.hidden_dropout = hidden_dropout
        self.dropout_method = dropout_method
        self.inference = inference
        self.n_mc_samples = n_mc_samples

    # -- inference ---------------------------------------------------------------
    def _mc_samples(self, X, n_samples):
        p = self._mc_outputs(X, n_samples)
        if p.shape[2] == 1:
            p = np.concatenate([1 - p, p], axis=2)
        return p

    def predict_proba_samples(self, X, n_samples=None):
        """Class probabilities under ``n_samples`` sampled dropout masks.

        Masks are drawn from a stream fixed at fit time (from
        ``random_state``) and keyed by each query's content, so results are
        reproducible and do not depend on the order or batch of the queries.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            The input data.
        n_samples : int, default=None
            Number of masks; ``None`` means ``n_mc_samples``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_queries, n_classes)
            Per-mask probabilities (their spread is an uncertainty estimate).
        """
        n_samples = self._check_n_samples(n_samples)
        X = self._validate_X(X)
        return self._mc_samples(X, n_samples)

    def predict_proba(self, X):
        """Probability estimates, by the rule chosen in ``inference``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_``.
        """
        X = self._validate_X(X)
        if self.inference == "weight_scaling":
            return self._to_two_columns(self._proba_weight_scaling(X))
        samples = self._mc_samples(X, self.n_mc_samples)
        if self.inference == "mc_arithmetic":
            return samples.mean(axis=0)
        tiny = np.finfo(samples.dtype).tiny
        if self._is_multilabel():
            # each label is its own Bernoulli: renormalise p against 1 - p
            logp = np.log(np.maximum(samples, tiny)).mean(axis=0)
            logq = np.log(np.maximum(1 - samples, tiny)).mean(axis=0)
            return 1.0 / (1.0 + np.exp(logq - logp))
        logp = np.log(np.maximum(samples, tiny)).mean(axis=0)
        logp -= logp.max(axis=1, keepdims=True)
        p = np.exp(logp)
        p /= p.sum(axis=1, keepdims=True)
        return p


DropoutMLPClassifier.__doc__ = f"""Multi-layer perceptron classifier with dropout.

    Every minibatch example gets fresh Bernoulli masks on the input and
    hidden units (never the outputs); kept units are scaled by 1/keep
    ("inverted dropout"), so the deterministic network needs no rescaling
    at inference (weight scaling).  Alternatively, fast dropout (Wang &
    Manning 2013) trains on the expected loss under a Gaussian
    approximation of the pre-activations, without sampling.  Monte Carlo
    inference averages the predictions of sampled masks.  Masks come from a
    counter-based hash of (seed, step, sample, unit), so fits are
    bit-identical under the same ``random_state`` in any thread.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units of the ith hidden layer.

    activation : {{'identity', 'logistic', 'tanh', 'relu'}}, default='relu'
        Activation function of the hidden layers.

    input_dropout : float in [0, 1), default=0.2
        Probability of dropping each input unit.

    hidden_dropout : float in [0, 1), default=0.5
        Probability of dropping each hidden unit.

    dropout_method : {{'bernoulli', 'fast'}}, default='bernoulli'
        'bernoulli' samples masks; 'fast' propagates the mean and variance
        of every pre-activation under the mask distribution and trains on
        the expected loss (see Notes for the approximations).

    inference : {{'weight_scaling', 'mc_arithmetic', 'mc_geometric'}}, \
default='weight_scaling'
        How ``predict_proba`` (and ``predict``) combine the masks: one
        deterministic pass, or the arithmetic / renormalised geometric mean
        of ``n_mc_samples`` sampled masks.

    n_mc_samples : int, default=20
        Number of masks of Monte Carlo inference.

    max_norm : float or None, default=3.0
        Each unit's incoming weight vector is rescaled to norm at most
        ``max_norm`` after every update (Srivastava et al. 2014 use 3 to 4
        with dropout); None disables it.

{ENGINE_PARAMS[ENGINE_PARAMS.index("    solver :") :]}
    Attributes
    ----------
{ATTRIBUTES}
    See Also
    --------
    sklearn.neural_network.MLPClassifier : The scikit-learn MLP (no dropout).
    MLPClassifier : skreg's plain configuration of the same engine.

    Notes
    -----
    Random numbers: a 16-bit uniform per unit (the top bits of a splitmix64
    hash of seed, step, sample, layer and unit, vectorised), so
    the keep probability is rounded to a multiple of 1/65536 and kept units
    are scaled by the exact inverse of the rounded probability.

    Fast dropout: with keep probability p on a layer's inputs ``a`` (mean
    m, variance s), a pre-activation has mean ``m W + b`` and variance
    ``(s / p + m^2 (1 - p) / p) W^2`` (units independent, Gaussian
    approximation).  Hidden units map (mean, variance) to (mean, variance):
    exactly for identity and relu (moments of a rectified Gaussian); for
    logistic by the probit approximation
    ``E[sigmoid(z)] ~= sigmoid(mu k)``, ``k = 1 / sqrt(1 + pi var / 8)``
    (Wang & Manning's choice) and the delta-method variance with the same
    smoothed slope, ``Var ~= (sigmoid'(mu k) k)^2 var`` (first-order exact;
    more accurate here than Wang & Manning's ``sigmoid(x)^2`` fit); tanh via
    ``tanh(z) = 2 sigmoid(2 z) - 1``.  The output's expected cross-entropy
    is its second-order (delta-method) expansion
    ``l(mu) + 0.5 sum_k var_k p_k (1 - p_k)``.  Activation penalties are
    not available with fast dropout.  Cost: about twice the matrix products
    of plain training.

    Bernoulli dropout adds O(n_units) work per example (mask draw) and
    nothing else; solver='lbfgs' is rejected (the objective is stochastic).

    References
    ----------
    Srivastava, N., Hinton, G., Krizhevsky, A., Sutskever, I. and
    Salakhutdinov, R. (2014). Dropout: a simple way to prevent neural
    networks from overfitting. JMLR 15.

    Wang, S. and Manning, C. (2013). Fast dropout training. ICML.

    Goodfellow, I., Bengio, Y. and Courville, A. (2016). Deep Learning,
    section 7.12.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skreg.neural_network import DropoutMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DropoutMLPClassifier(hidden_layer_sizes=(64,), max_iter=60,
    ...                            random_state=0).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.95
    True
    >>> clf.predict_proba_samples(X[:3] / 16, n_samples=5).shape
    (5, 3, 10)
    """


class DropoutMLPRegressor(_DropoutMixin, BaseMLPRegressor):
    _parameter_constraints: dict = {
        **BaseMLPRegressor._parameter_constraints,
        **_DROPOUT_CONSTRAINTS,
        "inference": [StrOptions({"weight_scaling", "mc"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
        input_dropout=0.0,
        hidden_dropout=0.1,
        dropout_method="bernoulli",
        inference="weight_scaling",
        n_mc_samples=20,
        max_norm=3.0,
        conv_layers=None,
        image_shape=None,
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
        self.input_dropout = input_dropout
        self.hidden_dropout = hidden_dropout
        self.dropout_method = dropout_method
        self.inference = inference
        self.n_mc_samples = n_mc_samples
        self.loss = loss

    # -- inference ---------------------------------------------------------------
    def predict_samples(self, X, n_samples=None):
        """Predictions under ``n_samples`` sampled dropout masks.

        Masks are drawn from a stream fixed at fit time (from
        ``random_state``) and keyed by each query's content, so results are
        reproducible and do not depend on the order or batch of the queries.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            The input data.
        n_samples : int, default=None
            Number of masks; ``None`` means ``n_mc_samples``.

        Returns
        -------
        y_samples : ndarray of shape (n_samples, n_queries) or \
(n_samples, n_queries, n_outputs)
            Per-mask predictions (Monte Carlo dropout, Gal & Ghahramani
            2016).
        """
        n_samples = self._check_n_samples(n_samples)
        X = self._validate_X(X)
        return self._shape_like_y(self._mc_outputs(X, n_samples))

    def _moments(self, X):
        """Mean and variance of the outputs under fast dropout's Gaussian
        approximation, in one deterministic pass."""
        layout, theta = self._pack()
        mu, var = predict_moments(
            X,
            theta,
            layout,
            self.activation,
            1.0 - float(self.input_dropout),
            1.0 - float(self.hidden_dropout),
        )
        if self.out_activation_ == "exp":
            # exp of a Gaussian logit: the log-normal mean and variance
            mean = np.exp(mu + 0.5 * var)
            var = np.expm1(var) * mean * mean
            return mean, var
        return mu, var

    def predict(self, X, return_std=False):
        """Predict, and optionally the predictive standard deviation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        return_std : bool, default=False
            Also return the standard deviation of the prediction under
            dropout: over ``n_mc_samples`` sampled masks
            (``dropout_method='bernoulli'``), or from the Gaussian
            approximation of fast dropout in one deterministic pass
            (``dropout_method='fast'``).

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The prediction, by the rule in ``inference`` (the same with or
            without ``return_std``).
        y_std : ndarray of the same shape
            Standard deviation of the prediction (only with
            ``return_std=True``).
        """
        X = self._validate_X(X)
        if self.inference == "weight_scaling":
            mean = self._predict_weight_scaling(X)
            samples = None
        else:
            samples = self._mc_outputs(X, self.n_mc_samples)
            mean = samples.mean(axis=0)
        if not return_std:
            return self._shape_like_y(mean)
        if self.dropout_method == "fast":
            std = np.sqrt(self._moments(X)[1])
        else:
            if samples is None:
                samples = self._mc_outputs(X, self.n_mc_samples)
            std = samples.std(axis=0)
        return self._shape_like_y(mean), self._shape_like_y(std)


DropoutMLPRegressor.__doc__ = f"""Multi-layer perceptron regressor with dropout and
    predictive uncertainty.

    The regression twin of :class:`DropoutMLPClassifier` (same dropout,
    fast dropout and mask streams) on the output part of
    :class:`MLPRegressor`.  ``predict(X, return_std=True)`` adds the
    standard deviation of the prediction under dropout, following the
    ``return_std`` convention of BayesianRidge and GaussianProcessRegressor:
    the spread of ``n_mc_samples`` sampled masks (Monte Carlo dropout, Gal &
    Ghahramani 2016), or, with ``dropout_method='fast'``, the Gaussian
    approximation's output variance in one deterministic pass.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units of the ith hidden layer.

    activation : {{'identity', 'logistic', 'tanh', 'relu'}}, default='relu'
        Activation function of the hidden layers.

{LOSS_PARAM}

    input_dropout : float in [0, 1), default=0.0
        Probability of dropping each input unit.  Off by default: a
        regression target usually depends on every input, and dropped
        inputs add their variance to every prediction.

    hidden_dropout : float in [0, 1), default=0.1
        Probability of dropping each hidden unit.  Lower than the
        classifier's 0.5: a regression output is the network's value
        itself, not an argmax, so the mismatch between weight scaling and
        the average over masks shows directly in the error (Gal &
        Ghahramani use 0.05 to 0.1 on their regression benchmarks).

    dropout_method : {{'bernoulli', 'fast'}}, default='bernoulli'
        'bernoulli' samples masks; 'fast' trains on the expected loss under
        the Gaussian approximation (exact for the squared error given the
        approximated output mean and variance: ``((mu - y)^2 + var) / 2``).

    inference : {{'weight_scaling', 'mc'}}, default='weight_scaling'
        What ``predict`` returns: one deterministic pass, or the mean of
        ``n_mc_samples`` sampled masks.

    n_mc_samples : int, default=20
        Number of masks of Monte Carlo inference and of the MC standard
        deviation.

    max_norm : float or None, default=3.0
        Each unit's incoming weight vector is rescaled to norm at most
        ``max_norm`` after every update; None disables it.

{ENGINE_PARAMS[ENGINE_PARAMS.index("    solver :") :]}
    Attributes
    ----------
{REGRESSOR_ATTRIBUTES}
    See Also
    --------
    MLPRegressor : The same engine without dropout.
    DropoutMLPClassifier : The classification twin.
    skreg.ensemble.BaggedMLPRegressor : Uncertainty from bagged networks.

    Notes
    -----
    The MC standard deviation measures the spread of the network under
    dropout masks only, a model-uncertainty proxy (Gal & Ghahramani
    2016); it does not include the noise of ``y`` around its mean.  The
    fast-dropout standard deviation is that of the same mask distribution
    under the Gaussian approximation (independent units, Gaussian
    pre-activations): deterministic, one pass, and close to the MC value
    where the approximation holds (wide layers, moderate rates); it
    differs most for narrow relu layers, where pre-activations are far from
    Gaussian.  With ``loss='poisson'`` both describe ``exp`` of the logit.

    References
    ----------
    Srivastava, N., Hinton, G., Krizhevsky, A., Sutskever, I. and
    Salakhutdinov, R. (2014). Dropout: a simple way to prevent neural
    networks from overfitting. JMLR 15.

    Wang, S. and Manning, C. (2013). Fast dropout training. ICML.

    Gal, Y. and Ghahramani, Z. (2016). Dropout as a Bayesian
    approximation: representing model uncertainty in deep learning. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skreg.neural_network import DropoutMLPRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, (200, 1))
    >>> y = np.sin(3 * X[:, 0]) + 0.1 * rng.randn(200)
    >>> reg = DropoutMLPRegressor((64,), input_dropout=0.0, hidden_dropout=0.2,
    ...                           max_iter=300, random_state=0).fit(X, y)
    >>> mean, std = reg.predict(X[:3], return_std=True)
    >>> mean.shape, std.shape
    ((3,), (3,))
    """
