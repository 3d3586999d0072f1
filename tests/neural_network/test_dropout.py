"""DropoutMLPClassifier: masks, inference rules, determinism, bad input."""

import threading
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skreg.neural_network import DropoutMLPClassifier, MLPClassifier
from skreg.neural_network._classifier import BaseMLPClassifier

from ..test_contracts import assert_same_fitted_state


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.fixture(scope="module")
def fitted(digits_split):
    Xtr, Xte, ytr, yte = digits_split
    return _fit(
        DropoutMLPClassifier(hidden_layer_sizes=(128,), max_iter=60, random_state=0),
        Xtr,
        ytr,
    )


def test_is_a_base_mlp_and_learns(fitted, digits_split):
    _, Xte, _, yte = digits_split
    assert isinstance(fitted, BaseMLPClassifier)
    assert fitted.score(Xte, yte) > 0.95


def test_mc_inference_agrees_with_weight_scaling(fitted, digits_split):
    _, Xte, _, _ = digits_split
    ws = fitted.predict(Xte)
    for rule in ("mc_arithmetic", "mc_geometric"):
        mc = fitted.set_params(inference=rule).predict(Xte)
        assert np.mean(mc == ws) >= 0.95
        p = fitted.predict_proba(Xte)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-10)
    fitted.set_params(inference="weight_scaling")


def test_predict_proba_samples(fitted, digits_split):
    _, Xte, _, _ = digits_split
    s = fitted.predict_proba_samples(Xte[:50], n_samples=7)
    assert s.shape == (7, 50, 10)
    assert s.std(axis=0).mean() > 0  # the masks differ
    np.testing.assert_array_equal(s, fitted.predict_proba_samples(Xte[:50], 7))
    # masks keyed by query content: order and batch do not matter (up to
    # BLAS rounding of differently blocked products)
    perm = np.random.default_rng(0).permutation(50)
    np.testing.assert_allclose(
        s[:, perm],
        fitted.predict_proba_samples(Xte[:50][perm], 7),
        rtol=1e-12,
        atol=1e-15,
    )
    np.testing.assert_allclose(
        s[:, :5], fitted.predict_proba_samples(Xte[:5], 7), rtol=1e-12, atol=1e-15
    )
    assert fitted.predict_proba_samples(Xte[:3]).shape == (20, 3, 10)
    mean = fitted.set_params(inference="mc_arithmetic", n_mc_samples=7).predict_proba(
        Xte[:50]
    )
    np.testing.assert_allclose(mean, s.mean(axis=0))
    fitted.set_params(inference="weight_scaling", n_mc_samples=20)
    with pytest.raises(ValueError, match="n_samples"):
        fitted.predict_proba_samples(Xte[:3], n_samples=0)


def test_zero_rates_is_the_plain_mlp(digits_split):
    Xtr, _, ytr, _ = digits_split
    kw = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    a = _fit(
        DropoutMLPClassifier(
            input_dropout=0.0, hidden_dropout=0.0, max_norm=None, **kw
        ),
        Xtr,
        ytr,
    )
    b = _fit(MLPClassifier(**kw), Xtr, ytr)
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=False):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("method", ["bernoulli", "fast"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bit_identical_in_threads(digits_split, method, dtype):
    Xtr, _, ytr, _ = digits_split
    X = Xtr[:400].astype(dtype)
    y = ytr[:400]
    est = DropoutMLPClassifier(
        hidden_layer_sizes=(32, 16),
        max_iter=4,
        random_state=7,
        dropout_method=method,
        batch_size=50,
    )
    first = _fit(est, X, y)
    out = [None] * 3

    def work(i):
        out[i] = _fit(DropoutMLPClassifier(**est.get_params()), X, y)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in out:
        assert_same_fitted_state(first, r)
    other = _fit(DropoutMLPClassifier(**{**est.get_params(), "random_state": 8}), X, y)
    assert not np.array_equal(other.coefs_[0], first.coefs_[0])


def test_fast_dropout_learns(digits_split):
    Xtr, Xte, ytr, yte = digits_split
    for act in ("relu", "tanh", "logistic"):
        clf = _fit(
            DropoutMLPClassifier(
                hidden_layer_sizes=(64,),
                activation=act,
                dropout_method="fast",
                max_iter=40,
                random_state=0,
            ),
            Xtr,
            ytr,
        )
        # logistic units learn slowest in 40 epochs
        assert clf.score(Xte, yte) > (0.8 if act == "logistic" else 0.9), act


def test_max_norm_holds_after_fit(digits_split):
    Xtr, _, ytr, _ = digits_split
    clf = _fit(
        DropoutMLPClassifier(
            hidden_layer_sizes=(32,),
            max_norm=0.8,
            max_iter=10,
            learning_rate_init=0.01,
            random_state=0,
        ),
        Xtr,
        ytr,
    )
    for W in clf.coefs_:
        assert np.linalg.norm(W, axis=0).max() <= 0.8 * (1 + 1e-12)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(input_dropout=1.0), "input_dropout"),
        (dict(hidden_dropout=-0.1), "hidden_dropout"),
        (dict(hidden_dropout=1.5), "hidden_dropout"),
        (dict(n_mc_samples=0), "n_mc_samples"),
        (dict(inference="median"), "inference"),
        (dict(dropout_method="gaussian"), "dropout_method"),
        (dict(solver="lbfgs"), "lbfgs"),
        (dict(dropout_method="fast", activation_penalty="l1"), "activation_penalty"),
    ],
)
def test_bad_parameters(digits_split, params, match):
    Xtr, _, ytr, _ = digits_split
    with pytest.raises(ValueError, match=match):
        DropoutMLPClassifier(max_iter=2, **params).fit(Xtr[:50], ytr[:50])


def test_lbfgs_allowed_without_dropout(digits_split):
    Xtr, _, ytr, _ = digits_split
    _fit(
        DropoutMLPClassifier(
            solver="lbfgs",
            input_dropout=0,
            hidden_dropout=0,
            hidden_layer_sizes=(8,),
            max_iter=5,
        ),
        Xtr,
        ytr,
    )
