"""AdversarialMLPClassifier and AdversarialMLPRegressor: the MLP engine
trained on FGSM/PGD (and, for the classifier, VAT) inputs."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils import _safe_indexing

from ..utils._sklearn_compat import Interval, StrOptions
from ..utils._validation import check_clip
from ._classifier import BaseMLPClassifier
from ._docs import ATTRIBUTES, ENGINE_PARAMS, LOSS_PARAM, REGRESSOR_ATTRIBUTES
from ._regressor import BaseMLPRegressor

_ATTACK_CONSTRAINTS = {
    "adversarial_epsilon": [
        StrOptions({"auto"}),
        Interval(Real, 0, None, closed="left"),
    ],
    "adversarial_weight": [Interval(Real, 0, 1, closed="both")],
    "pgd_steps": [Interval(Integral, 1, None, closed="left")],
    "pgd_step_size": [Interval(Real, 0, None, closed="neither"), None],
    "pgd_random_start": ["boolean"],
    "clip": ["array-like", None],
}


class _AdversarialMixin:
    """FGSM/PGD training, shared by the classifier and the regressor: the
    engine options, the radius, the input range and the attack streams'
    seed.  The output part (and its loss, whose input gradient the attack
    follows) comes from the other base."""

    def _engine_config(self):
        cfg = super()._engine_config()
        eps = self._epsilon()
        cfg.adversarial = self.method
        cfg.adversarial_epsilon = eps
        cfg.adversarial_weight = float(self.adversarial_weight)
        cfg.adversarial_clip = check_clip(self.clip)
        cfg.pgd_steps = int(self.pgd_steps)
        cfg.pgd_step_size = (
            2.5 * eps / self.pgd_steps  # Madry et al.'s rule of thumb
            if self.pgd_step_size is None
            else float(self.pgd_step_size)
        )
        cfg.pgd_random_start = bool(self.pgd_random_start)
        return cfg

    def _epsilon(self):
        """The radius: ``adversarial_epsilon``, or its 'auto' value (0.1 per
        feature: L-infinity 0.1, or for 'vat' the L2 norm ``0.1 sqrt(d)`` of
        a 0.1 change in each of the d features)."""
        if isinstance(self.adversarial_epsilon, str):  # 'auto'
            if self.method == "vat":
                return 0.1 * float(np.sqrt(self.n_features_in_))
            return 0.1
        return float(self.adversarial_epsilon)

    def _init_random_state(self, rs):
        # The engine's counter-based stream (PGD random starts, VAT
        # directions) is keyed by this seed.  Peek without advancing, so the
        # weights and the shuffling are drawn exactly as the plain MLP's.
        state = rs.get_state()
        self._dropout_seed = int(rs.randint(0, np.iinfo(np.int32).max))
        rs.set_state(state)

    def _clip_input(self, X):
        clip = check_clip(self.clip)
        if clip is None or hasattr(X, "toarray"):
            return X  # (sparse input: the base raises its own error)
        lo, hi = clip
        arr = np.asarray(X)
        if arr.dtype.kind not in "iuf" or arr.size == 0:
            return X
        if arr.min() < lo or arr.max() > hi:
            warnings.warn(
                f"X has values outside clip=({lo}, {hi}); they are clipped into "
                "that range before training (adversarial inputs always lie in it).",
                UserWarning,
                stacklevel=4,
            )
            return X.clip(lo, hi) if hasattr(X, "iloc") else np.clip(arr, lo, hi)
        return X

    def _validate_engine_params(self):
        check_clip(self.clip)
        eps = self._epsilon()
        if self.method == "vat" and eps == 0:
            return
        if self.pgd_step_size is not None and self.method == "pgd":
            if self.pgd_step_size > 2 * eps > 0:
                warnings.warn(
                    f"pgd_step_size={self.pgd_step_size} is more than twice "
                    f"adversarial_epsilon={eps}: every step "
                    "lands on a corner of the ball.",
                    UserWarning,
                    stacklevel=5,
                )


class AdversarialMLPClassifier(_AdversarialMixin, BaseMLPClassifier):
    _parameter_constraints: dict = {
        **BaseMLPClassifier._parameter_constraints,
        **_ATTACK_CONSTRAINTS,
        "method": [StrOptions({"fgsm", "pgd", "vat"})],
        "vat_xi": [Interval(Real, 0, None, closed="neither")],
        "vat_power_iterations": [Interval(Integral, 0, None, closed="left")],
        "virtual_labels": ["boolean"],
        "unlabeled_marker": [StrOptions({"auto"}), Integral, str, None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        method="fgsm",
        adversarial_epsilon="auto",
        adversarial_weight=0.5,
        pgd_steps=5,
        pgd_step_size=None,
        pgd_random_start=True,
        vat_xi=1e-6,
        vat_power_iterations=1,
        clip=None,
        virtual_labels=False,
        unlabeled_marker="auto",
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
        self.method = method
        self.adversarial_epsilon = adversarial_epsilon
        self.adversarial_weight = adversarial_weight
        self.pgd_steps = pgd_steps
        self.pgd_step_size = pgd_step_size
        self.pgd_random_start = pgd_random_start
        self.vat_xi = vat_xi
        self.vat_power_iterations = vat_power_iterations
        self.clip = clip
        self.virtual_labels = virtual_labels
        self.unlabeled_marker = unlabeled_marker

    # -- engine configuration: the whole difference to MLPClassifier ----------
    def _engine_config(self):
        cfg = super()._engine_config()
        cfg.vat_xi = float(self.vat_xi)
        cfg.vat_power_iterations = int(self.vat_power_iterations)
        cfg.virtual_labels = bool(self.virtual_labels)
        return cfg

    # -- unlabeled samples and the input range ----------------------------------
    def _marker(self):
        """The ``y`` value of unlabeled samples, or None: 'auto' is -1 for
        'vat' (which learns from unlabeled samples) and None for 'fgsm' and
        'pgd', where -1 is a class like any other."""
        if isinstance(self.unlabeled_marker, str) and self.unlabeled_marker == "auto":
            return -1 if self.method == "vat" else None
        return self.unlabeled_marker

    def _unlabeled_mask(self, y):
        marker = self._marker()
        if marker is None:
            return None
        y = np.asarray(y)
        if y.ndim != 1 or y.dtype.kind not in "iufO":
            return None
        return np.asarray(y == marker, dtype=bool)

    def _prepare_targets(self, y, first_pass, incremental):
        # y is validated here (an array): before validation it may be any
        # array-like, even one that refuses np.ndim
        if self.method == "vat" and y.ndim == 2:
            raise ValueError(
                "method='vat' does not support multilabel y: its divergence is "
                "between class distributions. Use method='fgsm' or 'pgd'."
            )
        return super()._prepare_targets(y, first_pass, incremental)

    def _fit(self, X, y, sample_weight, incremental, *args, **kwargs):
        X = self._clip_input(X)
        unl = self._unlabeled_mask(y)
        if unl is None or not unl.any():
            return super()._fit(X, y, sample_weight, incremental, *args, **kwargs)
        marker = self._marker()
        if unl.all():
            raise ValueError(
                f"Every sample is unlabeled (y == {marker!r}): at least one labelled "
                "sample of two classes is needed."
            )
        y_lab = np.asarray(y)[~unl]
        if not incremental and np.unique(y_lab).shape[0] < 2:
            raise ValueError(
                "The classifier needs labelled samples of at least 2 classes, but "
                f"the labelled samples (y != {marker!r}) contain only "
                f"{np.unique(y_lab)}."
            )
        if self.method != "vat" and not self.virtual_labels:
            warnings.warn(
                f"{int(unl.sum())} unlabeled samples (y == {marker!r}) are ignored: "
                f"method={self.method!r} needs labels. Set virtual_labels=True to "
                "attack them with the model's own predicted labels, or use "
                "method='vat'.",
                UserWarning,
                stacklevel=3,
            )
            keep = np.flatnonzero(~unl)
            X = _safe_indexing(X, keep)
            y = _safe_indexing(y, keep)
            if sample_weight is not None:
                sample_weight = _safe_indexing(sample_weight, keep)
            return super()._fit(X, y, sample_weight, incremental, *args, **kwargs)
        # The training loop sees a fully labelled y (unlabeled rows get some
        # labelled value, so classes_, the class-count and warm-start checks
        # are those of the labelled samples); _encode_y then marks the
        # unlabeled rows with the index -1, which the kernel reads as "no
        # label" (no cross-entropy; KL or the predicted label instead).
        y_filled = np.array(y, copy=True)
        y_filled[unl] = y_lab[0]
        self._unlabeled_rows = unl
        try:
            return super()._fit(
                X, y_filled, sample_weight, incremental, *args, **kwargs
            )
        finally:
            del self._unlabeled_rows

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = self.method != "vat"
        return tags

    def _minibatch_streams(self, y, batch_size):
        # VAT with unlabeled rows (encoded -1): each step sees a labelled
        # minibatch and an unlabeled one, as Miyato et al. (2018, sec. 4.1)
        # train; one mixed stream would hold only a few labelled rows per
        # batch when labels are scarce, and dilute the supervised signal.
        if self.method != "vat" or getattr(self, "_unlabeled_rows", None) is None:
            return None
        unl = np.asarray(y) < 0
        if not unl.any() or unl.all():
            return None
        lab_rows = np.flatnonzero(~unl)
        unl_rows = np.flatnonzero(unl)
        return _TwoStreams(
            lab_rows,
            unl_rows,
            min(batch_size, lab_rows.shape[0]),
            min(batch_size, unl_rows.shape[0]),
        )

    def _encode_y(self, y, classes, incremental):
        idx = super()._encode_y(y, classes, incremental)
        unl = getattr(self, "_unlabeled_rows", None)
        if unl is not None:  # inside a semi-supervised fit
            idx[unl] = -1
        return idx


AdversarialMLPClassifier.__doc__ = f"""MLP classifier trained on FGSM, PGD or VAT input.

    skreg's MLP engine (the options and fitted attributes of
    :class:`sklearn.neural_network.MLPClassifier`) trained on inputs
    perturbed against the current weights at every minibatch step, inside
    the numba step (batched, no per-sample Python):

    * ``'fgsm'`` (Goodfellow et al. 2015): minimise
      ``alpha J(x, y) + (1 - alpha) J(x_adv, y)`` with
      ``x_adv = clip(x + epsilon sign(grad_x J(x, y)))``, treated as a
      constant;
    * ``'pgd'`` (Madry et al. 2018): the same with ``x_adv`` from
      ``pgd_steps`` projected signed-gradient steps in the L-infinity ball;
    * ``'vat'`` (Miyato et al. 2018): minimise
      ``alpha CE(labelled) + (1 - alpha) KL(p(.|x) || p(.|x + r))`` over all
      samples, ``r`` of L2 norm epsilon in the direction that most changes
      the prediction (power iteration).  Unlabeled samples (``y == -1``)
      count in the KL term: semi-supervised learning.  Then every step
      takes a minibatch of labelled samples and one of unlabeled samples
      (``batch_size`` each, or all of them if fewer), as Miyato et al.
      train, so that scarce labels are not diluted in mixed batches; an
      epoch is one pass over the unlabeled samples, while the labelled
      ones cycle.

    Parameters
    ----------
{ENGINE_PARAMS}
    method : {{'fgsm', 'pgd', 'vat'}}, default='fgsm'
        The perturbation.

    adversarial_epsilon : 'auto' or float, default='auto'
        Radius of the perturbation, in input units: L-infinity for 'fgsm'
        and 'pgd', L2 for 'vat' (the L2 ball spans every feature).  Named
        so because ``epsilon`` is Adam's.  'auto' allows a change of about
        0.1 per feature, which suits inputs scaled to [0, 1]: 0.1 for
        'fgsm' and 'pgd', and ``0.1 * sqrt(n_features)`` for 'vat' (the L2
        length of a 0.1 change in every feature; 0.8 on the 64 digit
        pixels, where 0.6 to 1.2 all gave about the same semi-supervised
        error).  For other scales, multiply by the features' typical
        range.

    adversarial_weight : float, default=0.5
        ``alpha`` in ``alpha J(x) + (1 - alpha) J(x_adv)`` (0.5 as Goodfellow
        et al.); for 'vat' the weight of the cross-entropy against the
        smoothness term.  In [0, 1].

    pgd_steps : int, default=5
        Number of projected signed-gradient steps of 'pgd'.

    pgd_step_size : float, default=None
        Step of 'pgd'; None is ``2.5 * adversarial_epsilon / pgd_steps``.

    pgd_random_start : bool, default=True
        Start 'pgd' at a uniform random point of the ball (Madry et al.);
        else at x, with the first step from the clean gradient.

    vat_xi : float, default=1e-6
        Finite-difference step of VAT's power iteration (float64 inputs;
        use about 1e-3 for float32).

    vat_power_iterations : int, default=1
        Power iterations of VAT (1 suffices, Miyato et al.; 0 is a random
        direction).

    clip : tuple (min, max) or None, default=None
        Range of valid inputs (e.g. ``(0, 1)`` for pixels): adversarial
        inputs are clipped into it.  Training inputs outside the range are
        clipped into it first, with a ``UserWarning``.

    virtual_labels : bool, default=False
        'fgsm'/'pgd' with unlabeled samples (an explicit ``unlabeled_marker``):
        attack them, and train on them, with the model's own predicted label
        (virtual adversarial examples).  If False, unlabeled samples are
        dropped with a ``UserWarning``.

    unlabeled_marker : 'auto', int, str or None, default='auto'
        The ``y`` value of unlabeled samples.  'auto' is -1 (scikit-learn's
        semi-supervised convention) for 'vat', the method that learns from
        unlabeled samples, and None for 'fgsm' and 'pgd': every value of
        ``y``, -1 included, is then a class label.  To run VAT on labels in
        {{-1, 1}}, set ``unlabeled_marker`` to a value no label takes (e.g.
        ``unlabeled_marker=0`` on ``y`` in {{-1, 0, 1}} with 0 unlabeled), or
        re-encode the labels (e.g. to {{0, 1}}) and keep -1 for unlabeled.

    max_norm : float or None, default=None
        If set, each unit's incoming weight vector is rescaled to norm at
        most ``max_norm`` after every update.

    Attributes
    ----------
{ATTRIBUTES}
    See Also
    --------
    sklearn.neural_network.MLPClassifier : The scikit-learn MLP.
    sklearn.semi_supervised.SelfTrainingClassifier : Another use of
        unlabeled samples.
    skreg.metrics.adversarial_accuracy : Accuracy under FGSM/PGD attacks.

    Notes
    -----
    Objective of a minibatch with sample weights s (sum S; S_lab over the
    labelled rows): 'fgsm'/'pgd':
    ``[alpha sum_i s_i J_i(x_i) + (1 - alpha) sum_i s_i J_i(x_adv_i)] / S``
    plus the L2 term, ``J`` the cross-entropy plus activation penalties;
    the input gradient of the clean pass gives ``x_adv``.  'vat':
    ``alpha sum_lab s_i CE_i / S_lab + (1 - alpha) sum_i s_i KL_i / S``
    plus the L2 term and the clean pass's activation penalty, ``p(.|x)``
    a constant, ``r`` from ``vat_power_iterations`` finite-difference
    power iterations on a Gaussian start.  Random numbers (PGD starts, VAT
    directions) come from a counter-based hash of (seed, step, sample,
    unit): bit-identical for any thread count.  With unlabeled samples,
    ``early_stopping``'s held-out accuracy counts the unlabeled rows of the
    held-out split as errors (a constant factor: it still follows the
    labelled accuracy).

    On load_digits with 10 labelled digits per class and the other 1,337
    training digits unlabeled, an MLP (256, 128) with ``batch_size=64``
    trained 300 epochs reaches 0.29x to 0.37x the test error of the same
    net trained on the 100 labelled digits alone, on 5 label draws, at the
    default radius (``benchmarks/bench_vat.py``).

    Cost per minibatch relative to the plain network: 'fgsm' about 2x (one
    more forward and backward pass, plus the input gradient), 'pgd'
    ``pgd_steps + 1`` times, 'vat' ``vat_power_iterations + 2`` times.

    References
    ----------
    Goodfellow, I., Shlens, J. and Szegedy, C. (2015). Explaining and
    harnessing adversarial examples. ICLR.

    Madry, A., Makelov, A., Schmidt, L., Tsipras, D. and Vladu, A. (2018).
    Towards deep learning models resistant to adversarial attacks. ICLR.

    Miyato, T., Maeda, S., Koyama, M. and Ishii, S. (2018). Virtual
    adversarial training: a regularization method for supervised and
    semi-supervised learning. IEEE TPAMI.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skreg.metrics import adversarial_accuracy
    >>> from skreg.neural_network import AdversarialMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> clf = AdversarialMLPClassifier((64,), adversarial_epsilon=0.1, clip=(0, 1),
    ...                                max_iter=30, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> adversarial_accuracy(clf, X, y, 0.1, clip=(0, 1)) > 0.5
    True
    """


class _TwoStreams:
    """Minibatches of ``n_lab`` labelled rows followed by up to ``n_unl``
    unlabeled rows.  An epoch is one pass over the unlabeled rows; the
    labelled rows cycle through permutations that carry over between
    epochs, so every labelled row is seen once before any is seen again."""

    def __init__(self, lab_rows, unl_rows, n_lab, n_unl):
        self.lab_rows = np.asarray(lab_rows, dtype=np.int64)
        self.unl_rows = np.asarray(unl_rows, dtype=np.int64)
        self.n_lab = int(n_lab)
        self.n_unl = int(n_unl)
        self.batch_rows = self.n_lab + self.n_unl
        self._queue = self.lab_rows[:0]

    def _labelled(self, count, rs, shuffle):
        parts = [self._queue]
        have = self._queue.shape[0]
        while have < count:
            nxt = rs.permutation(self.lab_rows) if shuffle else self.lab_rows
            parts.append(nxt)
            have += nxt.shape[0]
        rows = np.concatenate(parts)
        self._queue = rows[count:]
        return rows[:count]

    def epoch(self, rs, shuffle):
        """Row order of one epoch, cut into consecutive ``batch_rows``
        chunks by the engine (only the last unlabeled part can be short)."""
        unl = rs.permutation(self.unl_rows) if shuffle else self.unl_rows
        n_batches = -(-unl.shape[0] // self.n_unl)
        lab = self._labelled(n_batches * self.n_lab, rs, shuffle)
        order = np.empty(lab.shape[0] + unl.shape[0], dtype=np.int64)
        for b in range(n_batches):
            o = b * self.batch_rows
            order[o : o + self.n_lab] = lab[b * self.n_lab : (b + 1) * self.n_lab]
            u = unl[b * self.n_unl : (b + 1) * self.n_unl]
            order[o + self.n_lab : o + self.n_lab + u.shape[0]] = u
        return order


class AdversarialMLPRegressor(_AdversarialMixin, BaseMLPRegressor):
    _parameter_constraints: dict = {
        **BaseMLPRegressor._parameter_constraints,
        **_ATTACK_CONSTRAINTS,
        "method": [StrOptions({"fgsm", "pgd"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
        method="fgsm",
        adversarial_epsilon="auto",
        adversarial_weight=0.5,
        pgd_steps=5,
        pgd_step_size=None,
        pgd_random_start=True,
        clip=None,
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
        self.method = method
        self.adversarial_epsilon = adversarial_epsilon
        self.adversarial_weight = adversarial_weight
        self.pgd_steps = pgd_steps
        self.pgd_step_size = pgd_step_size
        self.pgd_random_start = pgd_random_start
        self.clip = clip

    def _fit(self, X, y, sample_weight, incremental, *args, **kwargs):
        X = self._clip_input(X)
        return super()._fit(X, y, sample_weight, incremental, *args, **kwargs)


AdversarialMLPRegressor.__doc__ = f"""MLP regressor trained on FGSM or PGD input.

    The regression twin of :class:`AdversarialMLPClassifier`: skreg's MLP
    engine with the output part of :class:`MLPRegressor`, trained on inputs
    perturbed against the current weights at every minibatch step to
    increase the squared error (or the Poisson deviance), inside the numba
    step:

    * ``'fgsm'`` (Goodfellow et al. 2015): minimise
      ``alpha J(x, y) + (1 - alpha) J(x_adv, y)`` with
      ``x_adv = clip(x + epsilon sign(grad_x J(x, y)))``, treated as a
      constant;
    * ``'pgd'`` (Madry et al. 2018): the same with ``x_adv`` from
      ``pgd_steps`` projected signed-gradient steps in the L-infinity ball.

    The result is a regressor whose prediction changes little under small
    input changes of the worst direction (a local Lipschitz control).

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units of the ith hidden layer.

    activation : {{'identity', 'logistic', 'tanh', 'relu'}}, default='relu'
        Activation function of the hidden layers.

{LOSS_PARAM}

    method : {{'fgsm', 'pgd'}}, default='fgsm'
        The perturbation.

    adversarial_epsilon : 'auto' or float, default='auto'
        L-infinity radius of the perturbation, in input units; 'auto' is
        0.1, which suits inputs scaled to [0, 1] (for standardised inputs,
        about 0.1 to 0.3 of a standard deviation).

    adversarial_weight : float, default=0.5
        ``alpha`` in ``alpha J(x) + (1 - alpha) J(x_adv)``, in [0, 1].

    pgd_steps : int, default=5
        Number of projected signed-gradient steps of 'pgd'.

    pgd_step_size : float, default=None
        Step of 'pgd'; None is ``2.5 * adversarial_epsilon / pgd_steps``.

    pgd_random_start : bool, default=True
        Start 'pgd' at a uniform random point of the ball (Madry et al.).

    clip : tuple (min, max) or None, default=None
        Range of valid inputs: adversarial inputs are clipped into it, and
        training inputs outside it first, with a ``UserWarning``.

{ENGINE_PARAMS[ENGINE_PARAMS.index("    solver :") :]}
    max_norm : float or None, default=None
        If set, each unit's incoming weight vector is rescaled to norm at
        most ``max_norm`` after every update.

    Attributes
    ----------
{REGRESSOR_ATTRIBUTES}
    See Also
    --------
    AdversarialMLPClassifier : The classification twin (also VAT).
    MLPRegressor : The same engine, clean inputs only.

    Notes
    -----
    ``J`` is the training loss of :class:`MLPRegressor` plus activation
    penalties; its input gradient (from the clean pass) gives ``x_adv``.
    Random PGD starts come from a counter-based hash of (seed, step,
    sample, unit): bit-identical for any thread count.  Cost per minibatch:
    'fgsm' about 2x the plain network, 'pgd' ``pgd_steps + 1`` times.

    References
    ----------
    Goodfellow, I., Shlens, J. and Szegedy, C. (2015). Explaining and
    harnessing adversarial examples. ICLR.

    Madry, A., Makelov, A., Schmidt, L., Tsipras, D. and Vladu, A. (2018).
    Towards deep learning models resistant to adversarial attacks. ICLR.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import minmax_scale
    >>> from skreg.neural_network import AdversarialMLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = minmax_scale(X)
    >>> reg = AdversarialMLPRegressor((32,), adversarial_epsilon=0.05, clip=(0, 1),
    ...                               learning_rate_init=0.01, max_iter=300,
    ...                               random_state=0).fit(X, y / y.std())
    >>> reg.score(X, y / y.std()) > 0.4
    True
    """
