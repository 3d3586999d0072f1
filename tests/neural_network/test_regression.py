"""Regression outputs: MLPRegressor against scikit-learn's, the squared-error
and Poisson objectives' gradients in every training mode, and
DropoutMLPRegressor's predictive uncertainty."""

import inspect
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.preprocessing import StandardScaler

from skreg.neural_network import (
    AdversarialMLPRegressor,
    DropoutMLPRegressor,
    MLPRegressor,
    TangentPropMLPRegressor,
)
from skreg.neural_network._engine import (
    EngineConfig,
    Layout,
    Output,
    glorot_init,
    loss_and_gradient,
    predict_moments,
    predict_proba,
)

_SK_PARAMS = inspect.signature(SkMLPRegressor).parameters
_SK_FIT_PARAMS = inspect.signature(SkMLPRegressor.fit).parameters


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X, (y - y.mean()) / y.std()


def _pair(kw, X, y, **fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SkMLPRegressor(
            hidden_layer_sizes=(16,), max_iter=25, random_state=0, **kw
        ).fit(X, y, **fit)
        ours = MLPRegressor(
            hidden_layer_sizes=(16,), max_iter=25, random_state=0, **kw
        ).fit(X, y, **fit)
    return ours, theirs


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(solver="sgd", learning_rate="invscaling"),
        dict(batch_size=32, alpha=0.1, activation="tanh"),
        dict(early_stopping=True),
        dict(solver="lbfgs"),
    ],
    ids=["adam", "sgd", "tanh-batch32", "early-stopping", "lbfgs"],
)
def test_matches_scikit_learn(kw, diabetes):
    X, y = diabetes
    ours, theirs = _pair(kw, X, y)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.out_activation_ == "identity" and ours.n_outputs_ == 1
    if kw.get("solver") != "lbfgs":
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)
    if kw.get("early_stopping"):
        np.testing.assert_allclose(
            ours.validation_scores_, theirs.validation_scores_, rtol=1e-10
        )
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), atol=1e-10)
    assert ours.predict(X).shape == (X.shape[0],)
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y), abs=1e-10)


def test_multi_output_matches_scikit_learn(diabetes):
    X, y = diabetes
    Y = np.c_[y, y**2, -y]
    ours, theirs = _pair({}, X, Y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)
    assert ours.predict(X).shape == (X.shape[0], 3)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), atol=1e-10)


@pytest.mark.skipif("loss" not in _SK_PARAMS, reason="scikit-learn < 1.7: no loss")
def test_poisson_matches_scikit_learn(diabetes):
    X, _ = diabetes
    counts = np.random.RandomState(0).poisson(np.exp(0.5 * X[:, 2]))
    ours, theirs = _pair(dict(loss="poisson"), X, counts)
    assert ours.out_activation_ == "exp"
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-10)


@pytest.mark.skipif(
    "sample_weight" not in _SK_FIT_PARAMS, reason="scikit-learn < 1.7: no weights"
)
def test_sample_weight_matches_scikit_learn(diabetes):
    X, y = diabetes
    sw = np.random.RandomState(1).uniform(0.2, 3.0, X.shape[0])
    ours, theirs = _pair({}, X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)


def test_poisson_refuses_negative_targets(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="non-negative targets"):
        MLPRegressor(loss="poisson", max_iter=2).fit(X, y)


def test_partial_fit_and_warm_start_check_the_outputs(diabetes):
    X, y = diabetes
    reg = MLPRegressor(hidden_layer_sizes=(8,), random_state=0)
    reg.partial_fit(X, y)
    reg.partial_fit(X, y)
    assert reg.n_iter_ == 1 and reg.t_ == 2 * X.shape[0]
    with pytest.raises(ValueError, match="2 outputs"):
        reg.partial_fit(X, np.c_[y, y])
    assert reg.n_outputs_ == 1  # the failed call changed nothing


# ------------------------------------------------------------ gradients
def _problem(seed, n_out, kind, activation="tanh", n=9, units=(5, 4)):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.2, 0.8, (n, units[0]))
    if kind == Output.IDENTITY:
        T = rng.standard_normal((n, n_out)) * 2
    elif kind == Output.EXP:
        T = rng.poisson(2.0, (n, n_out)).astype(float)
    else:
        T = (rng.uniform(size=(n, n_out)) < 0.5).astype(float)
    sizes = [*units, n_out]
    layout = Layout(sizes)
    coefs, inter = glorot_init(sizes, activation, np.random.RandomState(seed), float)
    theta = layout.pack([2.0 * c for c in coefs], inter, np.float64)
    sw = rng.uniform(0.5, 2.0, n)
    tangents = rng.standard_normal((n, 2, units[0]))
    return X, T, sw, layout, theta, tangents


_MODES = {
    "plain": dict(alpha=0.3),
    "l1": dict(activation_penalty="l1", activation_penalty_alpha=0.2),
    "kl": dict(activation_penalty="kl", activation_penalty_alpha=0.2),
    "bernoulli": dict(dropout="bernoulli", keep_input=0.8, keep_hidden=0.7),
    "fast": dict(dropout="fast", keep_input=0.8, keep_hidden=0.7),
    "tangent": dict(tangent_alpha=0.5, tangent_output="logits"),
    "tangent-proba": dict(tangent_alpha=0.5, tangent_output="proba"),
    "fgsm": dict(adversarial="fgsm", adversarial_epsilon=0.05),
    "pgd": dict(
        adversarial="pgd", adversarial_epsilon=0.05, pgd_steps=2, pgd_step_size=0.03
    ),  # fmt: skip
}


_KINDS = {
    "squared": (Output.IDENTITY, 1),
    "poisson": (Output.EXP, 1),
    "multilabel": (Output.MULTILABEL, 3),
}
# regressors penalise the outputs' own derivatives (logits = outputs)
_CASES = [
    (mode, kind)
    for mode in _MODES
    for kind in _KINDS
    if mode != "tangent-proba" or kind == "multilabel"
]


@pytest.mark.parametrize("mode,kind_name", _CASES)
def test_gradient_central_differences(mode, kind_name):
    """The kernel gradient is d/dtheta of the objective the kernel reports,
    in every training mode (the attacks' points are locally constant: sign
    steps, no clipping)."""
    kind, n_out = _KINDS[kind_name]
    X, T, sw, layout, theta, tangents = _problem(0, n_out, kind)
    opts = dict(_MODES[mode])
    cfg = EngineConfig(activation="tanh")
    for key, value in opts.items():
        setattr(cfg, key, value)
    tv = tangents if mode.startswith("tangent") else None

    def f(t):
        return loss_and_gradient(
            t, layout, X, T, sw, cfg, kind, seed=3, step=2, tangents=tv
        )

    _, grad = f(theta)
    grad = grad.copy()
    h = 1e-6
    num = np.array(
        [(f(theta + e)[0] - f(theta - e)[0]) / (2 * h) for e in np.eye(theta.size) * h]
    )
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-7 * np.abs(num).max())


def test_squared_error_value_and_multi_output_convention():
    """The reported loss is scikit-learn's (half the squared error averaged
    over the outputs); the gradient, as scikit-learn's, is that of the sum
    over the outputs."""
    X, T, sw, layout, theta, _ = _problem(1, 3, Output.IDENTITY)
    cfg = EngineConfig(activation="tanh")
    loss, grad = loss_and_gradient(theta, layout, X, T, sw, cfg, Output.IDENTITY)
    coefs, inter = layout.unpack(theta)
    pred = np.tanh(X @ coefs[0] + inter[0]) @ coefs[1] + inter[1]
    rows = 0.5 * ((pred - T) ** 2).sum(axis=1)
    assert loss == pytest.approx(float(sw @ rows) / sw.sum() / 3, rel=1e-12)

    def summed(t):
        c, b = layout.unpack(t)
        p = np.tanh(X @ c[0] + b[0]) @ c[1] + b[1]
        return float(sw @ (0.5 * ((p - T) ** 2).sum(axis=1))) / sw.sum()

    h = 1e-6
    steps = np.eye(theta.size) * h
    num = np.array([(summed(theta + e) - summed(theta - e)) / (2 * h) for e in steps])
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------- uncertainty
def test_zero_rates_are_the_plain_regressor(diabetes):
    X, y = diabetes
    kw = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPRegressor(**kw).fit(X, y)
        b = DropoutMLPRegressor(
            input_dropout=0.0, hidden_dropout=0.0, max_norm=None, **kw
        ).fit(X, y)
    assert a.loss_curve_ == b.loss_curve_
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_fast_moments_match_monte_carlo():
    """predict_moments (the Gaussian approximation) against sampled masks on
    a wide relu layer, where the approximation holds."""
    rng = np.random.default_rng(0)
    sizes = [6, 400, 2]
    layout = Layout(sizes)
    coefs, inter = glorot_init(sizes, "relu", np.random.RandomState(0), float)
    theta = layout.pack(coefs, inter, np.float64)
    X = rng.uniform(0, 1, (5, 6))
    mean, var = predict_moments(X, theta, layout, "relu", 0.9, 0.7)
    mc = predict_proba(
        X, theta, layout, "relu", Output.IDENTITY, mc=(0.9, 0.7, 4000), seed=1
    )
    np.testing.assert_allclose(mean, mc.mean(axis=0), atol=0.02)
    np.testing.assert_allclose(np.sqrt(var), mc.std(axis=0), rtol=0.15)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["bernoulli", "fast"])
def test_std_grows_outside_the_training_range(method):
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (300, 1))
    y = np.sin(3 * X[:, 0]) + 0.1 * rng.randn(300)
    reg = DropoutMLPRegressor(
        (128, 128),
        input_dropout=0.0,
        hidden_dropout=0.1,
        dropout_method=method,
        n_mc_samples=100,
        max_iter=300,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    inside = np.linspace(-0.9, 0.9, 200)[:, None]
    outside = np.r_[np.linspace(-3, -1.5, 100), np.linspace(1.5, 3, 100)][:, None]
    m_in, s_in = reg.predict(inside, return_std=True)
    _, s_out = reg.predict(outside, return_std=True)
    np.testing.assert_array_equal(m_in, reg.predict(inside))  # same mean
    assert np.median(s_out) > 2 * np.median(s_in)
    samples = reg.predict_samples(inside[:4], n_samples=7)
    assert samples.shape == (7, 4)


# ------------------------------------------- adversarial, tangent propagation
def _toy(seed=0, n=300):
    rng = np.random.RandomState(seed)
    X = rng.uniform(0, 1, (n, 2))
    y = np.sin(4 * X[:, 0]) + 0.05 * rng.randn(n)  # blind to the 2nd feature
    return X, y


def test_adversarial_and_tangent_regressors_reduce_to_the_plain_one():
    X, y = _toy()
    kw = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MLPRegressor(**kw).fit(X, y)
        adv = AdversarialMLPRegressor(
            adversarial_epsilon=0.0, adversarial_weight=1.0, **kw
        ).fit(X, y)
        tan = TangentPropMLPRegressor(tangent_alpha=0.0, **kw).fit(X, y)
    for other in (adv, tan):
        np.testing.assert_allclose(other.loss_curve_, plain.loss_curve_, rtol=1e-13)
        np.testing.assert_allclose(other.predict(X), plain.predict(X), rtol=1e-12)


def _worst_change(est, X, y, eps):
    """|f(x_adv) - f(x)| at the FGSM point of the squared error."""
    g = est.input_gradient(X, y)
    return np.abs(est.predict(np.clip(X + eps * np.sign(g), 0, 1)) - est.predict(X))


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_adversarial_regressor_is_less_sensitive(method):
    X, y = _toy()
    kw = dict(hidden_layer_sizes=(32,), max_iter=200, random_state=0,
              learning_rate_init=0.01)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MLPRegressor(**kw).fit(X, y)
        adv = AdversarialMLPRegressor(
            method=method, adversarial_epsilon=0.1, clip=(0, 1), **kw
        ).fit(X, y)
    # the target's own slope (up to 4) bounds how flat a good fit can be:
    # a smaller worst-case change, for a small loss of fit
    assert adv.score(X, y) > 0.9
    assert (
        _worst_change(adv, X, y, 0.05).mean()
        < 0.92 * _worst_change(plain, X, y, 0.05).mean()
    )


def test_tangent_regressor_flattens_the_tangent_direction():
    X, y = _toy()
    T = np.zeros((X.shape[0], 1, 2))
    T[:, 0, 1] = 1.0  # y does not change along the second feature
    kw = dict(hidden_layer_sizes=(32,), max_iter=200, random_state=0,
              learning_rate_init=0.01)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = TangentPropMLPRegressor(tangent_alpha=0.0, **kw).fit(X, y, tangents=T)
        tan = TangentPropMLPRegressor(tangent_alpha=1.0, **kw).fit(X, y, tangents=T)
    assert tan.n_tangents_ == 1
    d_plain = np.abs(plain.directional_derivatives(X, T)).mean()
    d_tan = np.abs(tan.directional_derivatives(X, T)).mean()
    assert d_tan < 0.5 * d_plain
    # directional_derivatives of a regressor are the outputs' own (numeric)
    h = 1e-6
    num = (tan.predict(X + h * T[:, 0]) - tan.predict(X - h * T[:, 0])) / (2 * h)
    np.testing.assert_allclose(tan.directional_derivatives(X, T)[:, 0, 0], num,
                               rtol=1e-5, atol=1e-8)  # fmt: skip
