"""MLPClassifier: scikit-learn parity, solvers, fitted attributes, bad input."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLP

from skreg.neural_network import MLPClassifier


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _quiet(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kw)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("binary", [False, True])
def test_same_trajectory_as_sklearn(digits, solver, binary):
    """Same random_state: same init, same shuffles, same updates as sklearn."""
    X, y = digits
    X, y = X[:300], y[:300]
    if binary:
        y = (y > 4).astype(int)
    kw = dict(hidden_layer_sizes=(16,), max_iter=4, random_state=0, solver=solver,
              batch_size=64, alpha=1e-3)
    ours = _quiet(MLPClassifier(**kw), X, y)
    ref = _quiet(SkMLP(**kw), X, y)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)
    assert ours.n_outputs_ == ref.n_outputs_
    assert ours.out_activation_ == ref.out_activation_
    assert ours.t_ == ref.t_ and ours.n_iter_ == ref.n_iter_


@pytest.mark.parametrize("binary", [False, True])
def test_sklearn_predicts_our_weights(digits, binary):
    X, y = digits
    if binary:
        y = np.where(y > 4, "big", "small")
    ours = _quiet(MLPClassifier(hidden_layer_sizes=(20, 10), activation="tanh",
                                max_iter=20, random_state=1), X, y)
    sk = _quiet(SkMLP(hidden_layer_sizes=(20, 10), activation="tanh", max_iter=1,
                      random_state=1), X, y)
    sk.coefs_ = [c.copy() for c in ours.coefs_]
    sk.intercepts_ = [b.copy() for b in ours.intercepts_]
    np.testing.assert_array_equal(sk.predict(X), ours.predict(X))
    np.testing.assert_allclose(sk.predict_proba(X), ours.predict_proba(X), rtol=1e-10,
                               atol=1e-12)
