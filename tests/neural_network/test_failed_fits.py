"""A fit that fails, overflows or is interrupted never leaves a model that
looks fitted: the estimator ends as it was before (unfitted, or its
previous fit)."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import skreg.neural_network._manifold_tangent as manifold_module
from skreg.neural_network import ManifoldTangentClassifier, MLPClassifier
from skreg.neural_network._engine import Engine


def _data(n=40, d=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(n, d)), np.arange(n) % 3


def _quiet_fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


def _snapshot(est):
    return [c.copy() for c in est.coefs_], list(getattr(est, "loss_curve_", []))


def test_overflowing_outputs_raise_and_leave_the_model_unfitted():
    # finite loss and weights, but float32 outputs that overflow to NaN
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 14)
    X = (rng.standard_normal((14, 2)) * 1e3).astype(np.float32)
    est = MLPClassifier(
        hidden_layer_sizes=(5,), activation="identity", solver="sgd", max_iter=1,
        batch_size=1, alpha=1.0, learning_rate_init=0.1, random_state=5,
    )  # fmt: skip
    with pytest.raises(ValueError, match="non-finite"):
        _quiet_fit(est, X, y)
    with pytest.raises(NotFittedError):
        est.predict(X)


def _interrupt_after(n):
    """An Engine.objective that raises KeyboardInterrupt on its n-th call."""
    original = Engine.objective
    calls = []

    def objective(engine, *args, **kwargs):
        calls.append(1)
        if len(calls) >= n:
            raise KeyboardInterrupt
        return original(engine, *args, **kwargs)

    return objective


def test_interrupted_lbfgs_leaves_no_fit(monkeypatch):
    X, y = _data()
    monkeypatch.setattr(Engine, "objective", _interrupt_after(3))
    est = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_interrupted_refit_keeps_the_previous_fit(monkeypatch):
    X, y = _data()
    est = _quiet_fit(
        MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=5), X, y
    )
    before = est.predict_proba(X)
    coefs, _ = _snapshot(est)
    monkeypatch.setattr(Engine, "objective", _interrupt_after(2))
    with pytest.raises(KeyboardInterrupt):
        est.fit(X[:30], y[:30])
    for a, b in zip(est.coefs_, coefs, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(est.predict_proba(X), before)


def test_interrupted_autoencoder_phase_leaves_no_fit(monkeypatch):
    X, y = _data(d=9)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(manifold_module, "cae_epoch", interrupt)
    est = ManifoldTangentClassifier(hidden_layer_sizes=(4,), cae_hidden=4, n_tangents=2)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        est.predict(X)


@pytest.mark.parametrize(
    "params,match",
    [
        (dict(tie_to=([np.zeros((2, 2))], [np.zeros(2)])), "architecture"),
        (dict(early_stopping=True, validation_fraction=0.01), "validation set"),
    ],
    ids=["bad-tie_to", "tiny-validation-split"],
)
def test_errors_after_weight_initialisation_change_nothing(params, match):
    X, y = _data()
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, **params)
    with pytest.raises(ValueError, match=match):
        _quiet_fit(est, X, y)
    with pytest.raises(NotFittedError):
        est.predict(X)
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(est))


def test_failed_warm_start_keeps_weights_and_loss_curve():
    X, y = _data()
    est = _quiet_fit(
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, warm_start=True), X, y
    )
    coefs, curve = _snapshot(est)
    m = est._opt_m.copy()
    est.set_params(tie_to=([np.zeros((2, 2))], [np.zeros(2)]))
    with pytest.raises(ValueError, match="architecture"):
        _quiet_fit(est, X, y)
    for a, b in zip(est.coefs_, coefs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert est.loss_curve_ == curve
    np.testing.assert_array_equal(est._opt_m, m)
