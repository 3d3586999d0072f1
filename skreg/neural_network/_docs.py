"""Shared numpydoc fragments of the neural classifiers' docstrings."""

ENGINE_PARAMS = """\
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units of the ith hidden layer.

    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Activation function of the hidden layers.

    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        'adam' and 'sgd' (momentum, Nesterov) run whole epochs in one numba
        kernel; 'lbfgs' is scipy's L-BFGS-B on the full batch with the loss
        and gradient from the same kernels (deterministic objectives only).

    alpha : float, default=0.0001
        L2 penalty, as scikit-learn: ``0.5 * alpha * ||W||^2 / batch_weight``
        is added to each minibatch's loss (intercepts are not penalised).

    batch_size : int or 'auto', default='auto'
        Minibatch size of the stochastic solvers; 'auto' is
        ``min(200, n_samples)``.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning-rate schedule of 'sgd' (as scikit-learn).

    learning_rate_init : float, default=0.001
        Initial step size of 'sgd' and 'adam'.

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or iterations (lbfgs).

    shuffle : bool, default=True
        Shuffle the samples at every epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the early-stopping split, the
        shuffling and (when used) the dropout streams.  The plain network
        draws exactly as scikit-learn's MLPClassifier does.

    tol : float, default=1e-4
        Tolerance of the stopping criterion.

    verbose : bool, default=False
        Print one line per epoch: loss, validation score, elapsed time.

    warm_start : bool, default=False
        Reuse the previous solution as initialisation.

    momentum : float, default=0.9
        Momentum of 'sgd'.

    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum ('sgd').

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (the same split as
        scikit-learn's MLPClassifier: stratified for binary problems) and
        stop when its accuracy stops improving; the best weights are
        restored.

    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.

    beta_1 : float, default=0.9
        Adam's first-moment decay.

    beta_2 : float, default=0.999
        Adam's second-moment decay.

    epsilon : float, default=1e-8
        Adam's numerical-stability constant.

    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping.

    max_fun : int, default=15000
        Maximum number of loss evaluations of 'lbfgs'.

    activation_penalty : {'l1', 'student_t', 'kl'} or None, default=None
        Sparsity penalty on the hidden activations ``h`` (not on the
        weights), added to each minibatch's loss times
        ``activation_penalty_alpha``: 'l1' is ``mean_i sum_j |h_ij|``,
        'student_t' is ``mean_i sum_j log(1 + gamma h_ij^2)``, 'kl' is
        ``sum_j KL(rho || rho_hat_j)`` with ``rho_hat_j`` the minibatch mean
        firing rate of unit j.  The firing rate is ``h`` for logistic units,
        ``(1 + h) / 2`` for tanh units and ``sigmoid(z)`` of the
        pre-activation ``z`` for relu and identity units (a smooth "how
        often is it on" that also reaches dead relu units).

    activation_penalty_alpha : float, default=1e-3
        Strength of ``activation_penalty``.

    student_t_gamma : float, default=1.0
        ``gamma`` of the Student-t penalty.

    sparsity_target : float, default=0.05
        Target mean firing rate ``rho`` of the KL penalty, in (0, 1).

    tie_to : estimator, (coefs, intercepts) or None, default=None
        Reference network of the same architecture (a fitted skreg or
        scikit-learn MLP, or a pair of lists like ``coefs_`` and
        ``intercepts_``).  Adds ``tie_alpha * ||theta - theta_ref||^2`` over
        all weights and intercepts to each minibatch's loss (parameter
        tying, *Deep Learning* section 7.9).  ``clone`` (hence GridSearchCV) resets
        estimator-valued parameters, so pass the pair there.

    tie_alpha : float, default=1e-2
        Strength of the tying penalty.

    conv_layers : list of tuple or dict, default=None
        Convolutional layers before the dense ones (parameter sharing: each
        filter's weights are used at every position of the image).  A layer
        is ``(filters, kernel_size)`` (stride 1, 'valid' padding, no
        pooling) or a dict with the keys ``filters``, ``kernel_size`` (an
        int or a ``(height, width)`` pair), ``stride`` (1), ``padding``
        ('valid', 'same' or an int; 'valid'), ``pool`` (window and stride
        of the pooling after the activation; 0, none) and ``pool_type``
        ('max' or 'avg'), as Keras' ``Conv2D`` and PyTorch's ``nn.Conv2d``
        / ``nn.MaxPool2d``.  The last one's output is flattened into
        ``hidden_layer_sizes``.  On a 1-D signal an int ``kernel_size`` is
        ``(1, kernel_size)``.  None: a dense network.

    image_shape : tuple of int, default=None
        How a row of X is an image, for ``conv_layers``: ``(height, width)``
        or ``(height, width, channels)`` (channels last, the row read in C
        order); None is a square one-channel image when n_features is a
        perfect square, else a 1-D signal of length n_features (the rules
        of :class:`~skreg.neighbors.TangentDistanceKNN`).  Unused without
        ``conv_layers``.
"""

ATTRIBUTES = """\
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    loss_ : float
        The current loss (data loss plus every penalty).

    best_loss_ : float or None
        Minimum training loss (None with early stopping).

    loss_curve_ : list of shape (`n_iter_`,)
        Loss of every epoch (stochastic solvers).

    validation_scores_ : list of shape (`n_iter_`,) or None
        Validation accuracy of every epoch (early stopping only).

    best_validation_score_ : float or None
        Best validation accuracy (early stopping only).

    t_ : int
        Number of training samples seen.

    coefs_ : list of shape (n_layers - 1,)
        ``coefs_[i]`` is the weight matrix of layer i, shape (n_in, n_out);
        a convolution's filters have shape (kernel_height, kernel_width,
        in_channels, filters).

    intercepts_ : list of shape (n_layers - 1,)
        ``intercepts_[i]`` is the bias vector of layer i + 1.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit (string column names only).

    n_iter_ : int
        Number of epochs (or lbfgs iterations) run.

    n_layers_ : int
        Number of layers (input and output included).

    n_outputs_ : int
        Number of output units (1 for binary problems, as scikit-learn).

    out_activation_ : str
        'logistic' (binary) or 'softmax'.

    image_shape_ : tuple of int
        ``(height, width, channels)`` of the input images (only with
        ``conv_layers``).

    conv_layers_ : list of dict
        The convolutional layers with every key set (only with
        ``conv_layers``).
"""

LOSS_PARAM = """\
    loss : {'squared_error', 'poisson'}, default='squared_error'
        'squared_error' trains an identity output on half the squared
        error; 'poisson' an exponential output (log link) on half the
        Poisson deviance, for non-negative counts or rates."""

REGRESSOR_ATTRIBUTES = (
    ATTRIBUTES[ATTRIBUTES.index("    loss_ :") :]
    .replace("Validation accuracy of every epoch", "Validation R² of every epoch")
    .replace("Best validation accuracy", "Best validation R²")
    .replace(
        "Number of output units (1 for binary problems, as scikit-learn).",
        "Number of outputs (columns of y).",
    )
    .replace("'logistic' (binary) or 'softmax'.", "'identity' or 'exp' (poisson).")
)
