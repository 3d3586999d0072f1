"""MLPClassifier and MLPRegressor: the plain configuration of skreg's MLP
engine."""

from ._classifier import BaseMLPClassifier
from ._docs import ATTRIBUTES, ENGINE_PARAMS, LOSS_PARAM, REGRESSOR_ATTRIBUTES
from ._regressor import BaseMLPRegressor


class MLPClassifier(BaseMLPClassifier):
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


MLPClassifier.__doc__ = f"""Multi-layer perceptron classifier on skreg's numba engine.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier` (same
    parameter names, defaults, fitted attributes and weight layout: a
    scikit-learn MLPClassifier given this model's ``coefs_`` and
    ``intercepts_`` predicts the same), plus the engine's regularizers:
    activation sparsity penalties, parameter tying and a max-norm
    constraint.  Each epoch (gather, forward, backward, penalties,
    optimizer update for every minibatch) is one numba call on a flat
    parameter buffer; float32 input trains in float32.

    Parameters
    ----------
{ENGINE_PARAMS}
    max_norm : float or None, default=None
        If set, each unit's incoming weight vector is rescaled to norm at
        most ``max_norm`` after every update (all layers).

    Attributes
    ----------
{ATTRIBUTES}
    See Also
    --------
    sklearn.neural_network.MLPClassifier : The scikit-learn original.
    DropoutMLPClassifier : The same engine with dropout.

    Notes
    -----
    Objective of a minibatch B with sample weights s:
    ``sum_i s_i l_i / S + 0.5 alpha ||W||^2 / S + penalties`` with
    ``S = sum_i s_i`` (scikit-learn's convention).  Cost per epoch:
    ``O(n_samples * n_params)`` multiply-adds, in BLAS.

    References
    ----------
    Glorot, X. and Bengio, Y. (2010). Understanding the difficulty of
    training deep feedforward neural networks. AISTATS.

    Kingma, D. and Ba, J. (2014). Adam: A method for stochastic
    optimization. arXiv:1412.6980.

    Goodfellow, I., Bengio, Y. and Courville, A. (2016). Deep Learning,
    chapter 7 (parameter tying, sparse representations).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skreg.neural_network import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=50,
    ...                     random_state=0).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.95
    True
    """


class MLPRegressor(BaseMLPRegressor):
    def __init__(
        self,
        loss="squared_error",
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


MLPRegressor.__doc__ = f"""Multi-layer perceptron regressor on skreg's numba engine.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor` (same
    parameter names, defaults, fitted attributes and weight layout; with
    the same ``random_state`` the plain configuration follows
    scikit-learn's loss curve to rounding), plus the engine's regularizers:
    activation sparsity penalties, parameter tying and a max-norm
    constraint.  Multi-output ``y`` trains one output unit per column.
    Each epoch is one numba call; float32 input trains in float32.

    Parameters
    ----------
{LOSS_PARAM}
{ENGINE_PARAMS}
    max_norm : float or None, default=None
        If set, each unit's incoming weight vector is rescaled to norm at
        most ``max_norm`` after every update (all layers).

    Attributes
    ----------
{REGRESSOR_ATTRIBUTES}
    See Also
    --------
    sklearn.neural_network.MLPRegressor : The scikit-learn original.
    DropoutMLPRegressor : The same engine with dropout and predictive
        uncertainty.
    skreg.ensemble.BaggedMLPRegressor : Bagged networks (eq. 7.50).

    Notes
    -----
    Objective of a minibatch B with sample weights s:
    ``sum_i s_i l_i / S + 0.5 alpha ||W||^2 / S + penalties``, ``S = sum_i
    s_i``, with ``l_i`` half the squared error averaged over the outputs
    ('squared_error') or half the Poisson deviance summed over them
    ('poisson').  As in scikit-learn, the gradient's output delta is
    ``prediction - y`` for every output, so with several outputs the
    squared-error gradient is that of the sum over outputs while the
    reported loss is the average (the two agree for one output).

    References
    ----------
    Glorot, X. and Bengio, Y. (2010). Understanding the difficulty of
    training deep feedforward neural networks. AISTATS.

    Kingma, D. and Ba, J. (2014). Adam: A method for stochastic
    optimization. arXiv:1412.6980.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skreg.neural_network import MLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs",
    ...                    alpha=1.0, max_iter=200, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.5
    True
    """
