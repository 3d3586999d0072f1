"""Adversarial attacks and robustness metrics for neural classifiers.

The attacks work on any fitted skreg neural classifier (through its public
``input_gradient(X, y)``) and on a fitted
:class:`sklearn.neural_network.MLPClassifier`, whose input gradient we compute
here from its public ``coefs_``, ``intercepts_``, ``activation`` and
``out_activation_`` (one vectorised forward and backward pass, BLAS products).

Both attacks are L-infinity attacks on the cross-entropy of the true label:

* FGSM (Goodfellow, Shlens, Szegedy 2015): ``x + epsilon * sign(grad_x J)``.
* PGD (Madry et al. 2018): signed gradient steps of size ``step_size``, each
  followed by the projection onto the epsilon-ball around ``x`` (and onto the
  ``clip`` box).  Our PGD evaluates the FGSM point as its first candidate and
  keeps, per sample, the best candidate seen so far (a misclassified point
  beats a correctly classified one; among equals the larger loss wins), so on
  the same model PGD is never weaker than FGSM *by construction*: every
  sample that FGSM fools, PGD fools too.
"""

import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import accuracy_score
from sklearn.utils import check_random_state

from ..utils._sklearn_compat import (
    Interval,
    StrOptions,
    check_is_fitted,
    validate_data,
    validate_params,
)
from ..utils._validation import check_clip

__all__ = [
    "adversarial_accuracy",
    "fgsm_attack",
    "make_adversarial_scorer",
    "pgd_attack",
]

_ATTACKS = ("fgsm", "pgd")


# ----------------------------------------------------------------- plumbing
def _is_sklearn_mlp(estimator):
    from sklearn.neural_network import MLPClassifier

    return isinstance(estimator, MLPClassifier)


def _check_estimator(estimator, func):
    """A fitted neural classifier we can differentiate, else a clear error."""
    if isinstance(estimator, type):
        raise TypeError(
            f"{func} needs a fitted estimator instance, got the class "
            f"{estimator.__name__}."
        )
    skreg_like = callable(getattr(estimator, "input_gradient", None))
    if not (skreg_like or _is_sklearn_mlp(estimator)) or not is_classifier(estimator):
        raise TypeError(
            f"{func} attacks neural classifiers only: a skreg neural classifier "
            "(with an input_gradient method) or a fitted "
            "sklearn.neural_network.MLPClassifier; got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    if _is_sklearn_mlp(estimator) and (
        estimator.out_activation_ == "logistic" and estimator.n_outputs_ > 1
    ):
        raise ValueError(
            f"{func} supports binary and multiclass MLPClassifier models, not "
            "multilabel ones."
        )


def _validate_inputs(estimator, X, y, clip, func):
    """Validated float X (own copy), y as an array, and clip as (lo, hi)."""
    X = validate_data(
        estimator, X, reset=False, dtype=(np.float64, np.float32), copy=True
    )
    X = np.ascontiguousarray(X)
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must be 1-d with one label per row of X; X has {X.shape[0]} rows, "
            f"y has shape {y.shape}."
        )
    unknown = ~np.isin(y, estimator.classes_)
    if unknown.any():
        raise ValueError(
            f"y has labels not in the estimator's classes_ {estimator.classes_}: "
            f"{np.unique(y[unknown])}."
        )
    clip = check_clip(clip)
    if clip is not None:
        lo, hi = clip
        if X.size and (X.min() < lo or X.max() > hi):
            warnings.warn(
                f"{func}: X has values outside clip=({lo}, {hi}); they are "
                "clipped into that range before the attack, so the adversarial "
                "inputs lie in the range (and within epsilon of the clipped X).",
                UserWarning,
                stacklevel=3,
            )
            np.clip(X, lo, hi, out=X)
    return X, y, clip


def _activation_derivative(A, activation):
    """d act / d z expressed through the activation value ``A`` (as sklearn)."""
    if activation == "relu":
        return (A > 0).astype(A.dtype)
    if activation == "tanh":
        return 1.0 - A * A
    if activation == "logistic":
        return A * (1.0 - A)
    return np.ones_like(A)


def _act(Z, activation):
    if activation == "relu":
        return np.maximum(Z, 0.0)
    if activation == "tanh":
        return np.tanh(Z)
    if activation == "logistic":
        return 0.5 * (1.0 + np.tanh(0.5 * Z))  # overflow-free sigmoid
    return Z


def _sklearn_mlp_proba_and_grad(estimator, X, y_idx):
    """Probabilities and d/dx of each row's log loss for a sklearn MLPClassifier.

    Forward: ``a_0 = x``, ``a_l = act(a_{l-1} W_l + b_l)``, softmax (or one
    logistic unit for two classes) on top.  Backward: the output delta of the
    cross-entropy is ``p - onehot(y)`` (``p - y`` for the logistic unit),
    ``delta_{l-1} = (delta_l W_l^T) * act'(a_{l-1})`` and the input gradient is
    ``delta_1 W_1^T``.  Cost: two products per layer, as one training step.
    """
    coefs, intercepts = estimator.coefs_, estimator.intercepts_
    dtype = np.result_type(X.dtype, coefs[0].dtype)
    acts = [X.astype(dtype, copy=False)]
    for W, b in zip(coefs[:-1], intercepts[:-1], strict=True):
        acts.append(_act(acts[-1] @ W + b, estimator.activation))
    Z = acts[-1] @ coefs[-1] + intercepts[-1]
    n = X.shape[0]
    if estimator.out_activation_ == "logistic":  # binary: one unit
        p1 = 0.5 * (1.0 + np.tanh(0.5 * Z[:, 0]))
        proba = np.column_stack([1.0 - p1, p1])
        delta = (p1 - (y_idx == 1))[:, None].astype(dtype)
    else:
        Z = Z - Z.max(axis=1, keepdims=True)
        E = np.exp(Z)
        proba = E / E.sum(axis=1, keepdims=True)
        delta = proba.copy()
        delta[np.arange(n), y_idx] -= 1.0
    for layer in range(len(coefs) - 1, 0, -1):
        delta = (delta @ coefs[layer].T) * _activation_derivative(
            acts[layer], estimator.activation
        )
    return proba, delta @ coefs[0].T


def _proba_and_grad(estimator, X, y, y_idx, need_grad=True):
    """(predict_proba(X), grad_x of each row's log loss or None), rows as X."""
    if _is_sklearn_mlp(estimator):
        return _sklearn_mlp_proba_and_grad(estimator, X, y_idx)
    with _no_feature_name_warning():
        proba = np.asarray(estimator.predict_proba(X))
        grad = estimator.input_gradient(X, y) if need_grad else None
    return proba, grad


@contextmanager
def _no_feature_name_warning():
    """X was validated (names checked) once; later calls see a plain array."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        yield


def _loss_and_wrong(proba, y_idx):
    """Per-row cross-entropy and "misclassified" flag from probabilities."""
    n = proba.shape[0]
    p_true = proba[np.arange(n), y_idx]
    loss = -np.log(np.maximum(p_true, np.finfo(np.float64).tiny))
    wrong = np.argmax(proba, axis=1) != y_idx
    return loss, wrong


def _project(X_adv, X, epsilon, clip):
    """In place: onto the L-inf ball of radius ``epsilon`` around X, then the box."""
    np.clip(X_adv, X - epsilon, X + epsilon, out=X_adv)
    if clip is not None:
        np.clip(X_adv, clip[0], clip[1], out=X_adv)
    return X_adv


def _fgsm(estimator, X, y, y_idx, epsilon, clip):
    _, grad = _proba_and_grad(estimator, X, y, y_idx)
    X_adv = X + (epsilon * np.sign(grad)).astype(X.dtype, copy=False)
    return _project(X_adv, X, epsilon, clip)


def _pgd(estimator, X, y, y_idx, epsilon, steps, step_size, clip, random_state):
    if step_size is None:
        step_size = 2.5 * epsilon / steps  # Madry et al.'s rule of thumb
    best = _fgsm(estimator, X, y, y_idx, epsilon, clip)
    if random_state is None:
        cur = best.copy()
    else:
        rs = check_random_state(random_state)
        noise = rs.uniform(-epsilon, epsilon, size=X.shape)
        cur = _project(X + noise.astype(X.dtype, copy=False), X, epsilon, clip)
    proba, grad = _proba_and_grad(estimator, cur, y, y_idx)
    if random_state is None:
        best_loss, best_wrong = _loss_and_wrong(proba, y_idx)
    else:
        best_loss, best_wrong = _loss_and_wrong(
            _proba_and_grad(estimator, best, y, y_idx, need_grad=False)[0], y_idx
        )
    for step in range(steps):
        cur += (step_size * np.sign(grad)).astype(X.dtype, copy=False)
        _project(cur, X, epsilon, clip)
        proba, grad = _proba_and_grad(
            estimator, cur, y, y_idx, need_grad=step < steps - 1
        )
        loss, wrong = _loss_and_wrong(proba, y_idx)
        # lexicographic (misclassified, loss): never lose a fooled sample
        better = (wrong & ~best_wrong) | ((wrong == best_wrong) & (loss > best_loss))
        best[better] = cur[better]
        best_loss[better] = loss[better]
        best_wrong[better] = wrong[better]
    return best


def _prepare(estimator, X, y, clip, func):
    _check_estimator(estimator, func)
    X, y, clip = _validate_inputs(estimator, X, y, clip, func)
    y_idx = np.searchsorted(estimator.classes_, y).astype(np.int64)
    return X, y, y_idx, clip


# ------------------------------------------------------------------ attacks
@validate_params(
    {
        "estimator": "no_validation",
        "X": ["array-like"],
        "y": ["array-like"],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "clip": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def fgsm_attack(estimator, X, y, epsilon, clip=None):
    """Fast gradient sign method: adversarial inputs in one signed step.

    ``X_adv = X + epsilon * sign(grad_x J(theta, X, y))`` with ``J`` the
    cross-entropy of the true label (Goodfellow, Shlens and Szegedy, 2015),
    then clipped into ``clip``.

    Parameters
    ----------
    estimator : estimator instance
        A fitted skreg neural classifier (anything with ``input_gradient``,
        e.g. :class:`skreg.neural_network.MLPClassifier`) or a fitted
        binary/multiclass :class:`sklearn.neural_network.MLPClassifier`.
    X : array-like of shape (n_samples, n_features)
        Clean inputs.
    y : array-like of shape (n_samples,)
        Their true labels (values of ``estimator.classes_``).
    epsilon : float
        L-infinity radius of the perturbation, >= 0.
    clip : tuple (min, max) or None, default=None
        Range of valid inputs (e.g. ``(0, 1)`` for pixels).  The adversarial
        inputs are clipped into it.  Values of ``X`` outside the range are
        clipped into it first, with a ``UserWarning``.

    Returns
    -------
    X_adv : ndarray of shape (n_samples, n_features)
        Adversarial inputs, float64 or float32 as ``X``;
        ``|X_adv - X| <= epsilon`` elementwise.

    See Also
    --------
    pgd_attack : The iterated, stronger attack.
    adversarial_accuracy : Accuracy on the adversarial inputs.

    Notes
    -----
    Cost: one forward and one backward pass of the network over ``X``.
    Where the gradient is exactly zero the input is left unchanged.

    References
    ----------
    Goodfellow, Shlens, Szegedy (2015). Explaining and harnessing adversarial
    examples. ICLR.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neural_network import MLPClassifier
    >>> from skreg.metrics import fgsm_attack
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X[:300] / 16
    >>> y = y[:300]
    >>> clf = MLPClassifier((32,), max_iter=300, random_state=0).fit(X, y)
    >>> X_adv = fgsm_attack(clf, X, y, epsilon=0.1, clip=(0, 1))
    >>> bool(abs(X_adv - X).max() <= 0.1)
    True
    """
    X, y, y_idx, clip = _prepare(estimator, X, y, clip, "fgsm_attack")
    return _fgsm(estimator, X, y, y_idx, float(epsilon), clip)


@validate_params(
    {
        "estimator": "no_validation",
        "X": ["array-like"],
        "y": ["array-like"],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "steps": [Interval(Integral, 1, None, closed="left")],
        "step_size": [Interval(Real, 0, None, closed="neither"), None],
        "clip": ["array-like", None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def pgd_attack(
    estimator, X, y, epsilon, steps=10, step_size=None, clip=None, random_state=None
):
    """Projected gradient descent (L-infinity): the iterated FGSM.

    Starting point: the FGSM point, or, when ``random_state`` is given, a
    uniform random point of the epsilon-ball (Madry et al.).  Each step is
    ``x <- Proj(x + step_size * sign(grad_x J(theta, x, y)))``, the projection
    going onto the epsilon-ball around ``X`` and into ``clip``.

    The FGSM point is always evaluated as the first candidate and each
    sample keeps the best candidate seen (a misclassified point beats a
    correctly classified one, then the larger loss wins).  So on the same
    model, every sample :func:`fgsm_attack` fools is fooled by
    ``pgd_attack`` too: PGD is never weaker than FGSM, by construction.

    Parameters
    ----------
    estimator : estimator instance
        A fitted skreg neural classifier (anything with ``input_gradient``)
        or a fitted binary/multiclass
        :class:`sklearn.neural_network.MLPClassifier`.
    X : array-like of shape (n_samples, n_features)
        Clean inputs.
    y : array-like of shape (n_samples,)
        Their true labels.
    epsilon : float
        L-infinity radius, >= 0.
    steps : int, default=10
        Number of projected signed-gradient steps after the start.
    step_size : float, default=None
        Size of each signed step; None means ``2.5 * epsilon / steps``.
    clip : tuple (min, max) or None, default=None
        Range of valid inputs; values of ``X`` outside it are clipped into it
        first, with a ``UserWarning``.
    random_state : int, RandomState instance or None, default=None
        None: deterministic attack started at the FGSM point.  Otherwise the
        seed of a uniform random start in the epsilon-ball (reproducible).

    Returns
    -------
    X_adv : ndarray of shape (n_samples, n_features)
        Adversarial inputs, float64 or float32 as ``X``.

    See Also
    --------
    fgsm_attack : The one-step attack.

    Notes
    -----
    Cost: ``steps + 1`` forward/backward passes plus ``steps + 1`` forward
    passes (to score the candidates) over ``X``.

    References
    ----------
    Madry, Makelov, Schmidt, Tsipras, Vladu (2018). Towards deep learning
    models resistant to adversarial attacks. ICLR.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neural_network import MLPClassifier
    >>> from skreg.metrics import pgd_attack
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X[:300] / 16
    >>> y = y[:300]
    >>> clf = MLPClassifier((32,), max_iter=300, random_state=0).fit(X, y)
    >>> X_adv = pgd_attack(clf, X, y, epsilon=0.1, steps=5, clip=(0, 1))
    >>> bool(abs(X_adv - X).max() <= 0.1 + 1e-12)
    True
    """
    X, y, y_idx, clip = _prepare(estimator, X, y, clip, "pgd_attack")
    step_size = None if step_size is None else float(step_size)
    return _pgd(
        estimator, X, y, y_idx, float(epsilon), steps, step_size, clip, random_state
    )


# ------------------------------------------------------------------ metrics
@validate_params(
    {
        "estimator": "no_validation",
        "X": ["array-like"],
        "y": ["array-like"],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "attack": [StrOptions(set(_ATTACKS))],
        "clip": ["array-like", None],
        "steps": [Interval(Integral, 1, None, closed="left")],
        "step_size": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def adversarial_accuracy(
    estimator,
    X,
    y,
    epsilon,
    attack="fgsm",
    *,
    clip=None,
    steps=10,
    step_size=None,
    random_state=None,
    sample_weight=None,
):
    """Accuracy of a neural classifier on adversarially perturbed inputs.

    Parameters
    ----------
    estimator : estimator instance
        A fitted skreg neural classifier or a fitted
        :class:`sklearn.neural_network.MLPClassifier`.
    X : array-like of shape (n_samples, n_features)
        Clean inputs.
    y : array-like of shape (n_samples,)
        True labels.
    epsilon : float
        L-infinity radius of the attack, >= 0 (0 gives the clean accuracy).
    attack : {'fgsm', 'pgd'}, default='fgsm'
        :func:`fgsm_attack` or :func:`pgd_attack`.
    clip : tuple (min, max) or None, default=None
        Range of valid inputs.
    steps : int, default=10
        Number of PGD steps (see :func:`pgd_attack`); ignored by FGSM.
    step_size : float, default=None
        Size of each PGD step; None means ``2.5 * epsilon / steps``.
        Ignored by FGSM.
    random_state : int, RandomState instance or None, default=None
        PGD's start (see :func:`pgd_attack`): None starts at the FGSM
        point, otherwise at a random point of the epsilon-ball drawn from
        this seed.  Ignored by FGSM.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights of the accuracy.

    Returns
    -------
    score : float
        Fraction (weighted) of adversarial inputs still classified correctly.

    See Also
    --------
    make_adversarial_scorer : The same metric as a ``scoring=`` callable.
    sklearn.metrics.accuracy_score : The clean counterpart.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neural_network import MLPClassifier
    >>> from skreg.metrics import adversarial_accuracy
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X[:300] / 16
    >>> y = y[:300]
    >>> clf = MLPClassifier((32,), max_iter=300, random_state=0).fit(X, y)
    >>> fgsm = adversarial_accuracy(clf, X, y, 0.2, clip=(0, 1))
    >>> pgd = adversarial_accuracy(clf, X, y, 0.2, attack="pgd", clip=(0, 1))
    >>> bool(pgd <= fgsm < clf.score(X, y))
    True
    """
    func = "adversarial_accuracy"
    X, y, y_idx, clip = _prepare(estimator, X, y, clip, func)
    epsilon = float(epsilon)
    if attack == "fgsm":
        X_adv = _fgsm(estimator, X, y, y_idx, epsilon, clip)
    else:
        step_size = None if step_size is None else float(step_size)
        X_adv = _pgd(
            estimator, X, y, y_idx, epsilon, steps, step_size, clip, random_state
        )
    with _no_feature_name_warning():
        y_pred = estimator.predict(X_adv)
    return float(accuracy_score(y, y_pred, sample_weight=sample_weight))


class _AdversarialScorer:
    """``scorer(estimator, X, y)`` = adversarial accuracy (picklable)."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs

    def __call__(self, estimator, X, y, sample_weight=None):
        return adversarial_accuracy(
            estimator, X, y, sample_weight=sample_weight, **self._kwargs
        )

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return f"make_adversarial_scorer({args})"


@validate_params(
    {
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "attack": [StrOptions(set(_ATTACKS))],
        "clip": ["array-like", None],
        "steps": [Interval(Integral, 1, None, closed="left")],
        "step_size": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_adversarial_scorer(
    epsilon, attack="fgsm", *, clip=None, steps=10, step_size=None, random_state=None
):
    """A scorer ``scorer(estimator, X, y)`` giving the adversarial accuracy.

    Use it as ``scoring=`` in :class:`~sklearn.model_selection.GridSearchCV`,
    :func:`~sklearn.model_selection.cross_val_score` and friends: greater is
    better, the score of each fold is :func:`adversarial_accuracy` of the
    fitted estimator on the fold's test split.

    Parameters
    ----------
    epsilon : float
        L-infinity radius of the attack, >= 0.
    attack : {'fgsm', 'pgd'}, default='fgsm'
        The attack.
    clip : tuple (min, max) or None, default=None
        Range of valid inputs.
    steps : int, default=10
        Number of PGD steps (see :func:`pgd_attack`); ignored by FGSM.
    step_size : float, default=None
        Size of each PGD step; None means ``2.5 * epsilon / steps``.
        Ignored by FGSM.
    random_state : int, RandomState instance or None, default=None
        PGD's start (see :func:`pgd_attack`): None starts at the FGSM
        point, otherwise at a random point of the epsilon-ball drawn from
        this seed.  Ignored by FGSM.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, sample_weight=None) -> float``.

    See Also
    --------
    sklearn.metrics.make_scorer : scikit-learn's scorer factory.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn.neural_network import MLPClassifier
    >>> from skreg.metrics import make_adversarial_scorer
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X[:300] / 16
    >>> y = y[:300]
    >>> scorer = make_adversarial_scorer(0.1, clip=(0, 1))
    >>> clf = MLPClassifier((16,), max_iter=200, random_state=0)
    >>> scores = cross_val_score(clf, X, y, cv=3, scoring=scorer)
    >>> scores.shape
    (3,)
    """
    check_clip(clip)
    return _AdversarialScorer(
        epsilon=epsilon,
        attack=attack,
        clip=clip,
        steps=steps,
        step_size=step_size,
        random_state=random_state,
    )
