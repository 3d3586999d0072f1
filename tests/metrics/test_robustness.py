"""Adversarial attacks and robustness metrics (skreg.metrics)."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier as SkMLP
from sklearn.neural_network import MLPRegressor

from skreg.metrics import (
    adversarial_accuracy,
    fgsm_attack,
    make_adversarial_scorer,
    pgd_attack,
)
from skreg.metrics._robustness import _sklearn_mlp_proba_and_grad
from skreg.neural_network import MLPClassifier

from .._reference import attack_reference, fd_input_gradient


def _quiet_fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _data(n_classes, seed=0, n=40, d=6):
    X, y = make_classification(
        n_samples=n,
        n_features=d,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        random_state=seed,
    )
    X = (X - X.min()) / (X.max() - X.min())  # in [0, 1]
    return X, np.array(["a", "b", "c"])[y]  # string labels


def _model(kind, X, y, activation="tanh", seed=0):
    kw = dict(
        hidden_layer_sizes=(8, 5), activation=activation, max_iter=60, random_state=seed
    )
    est = MLPClassifier(**kw) if kind == "skreg" else SkMLP(**kw)
    return _quiet_fit(est, X, y)


@pytest.fixture(scope="module")
def digits01():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_sklearn_mlp_input_gradient_finite_differences(activation, n_classes):
    X, y = _data(n_classes)
    clf = _model("sklearn", X, y, activation)
    y_idx = np.searchsorted(clf.classes_, y)
    proba, G = _sklearn_mlp_proba_and_grad(clf, X[:6], y_idx[:6])
    np.testing.assert_allclose(proba, clf.predict_proba(X[:6]), rtol=1e-12)
    for i in range(6):

        def loss(x, i=i):
            return -np.log(clf.predict_proba(x[None])[0, y_idx[i]])

        np.testing.assert_allclose(
            G[i], fd_input_gradient(loss, X[i]), rtol=1e-5, atol=1e-8
        )


def _proba_fn(clf):
    return lambda x: clf.predict_proba(x[None])[0]


@pytest.mark.parametrize("kind", ["skreg", "sklearn"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("clip", [None, (0.0, 1.0)])
def test_fgsm_matches_reference(kind, n_classes, clip):
    X, y = _data(n_classes)
    clf = _model(kind, X, y)
    y_idx = np.searchsorted(clf.classes_, y)
    ours = fgsm_attack(clf, X, y, 0.1, clip=clip)
    ref = attack_reference(_proba_fn(clf), X, y_idx, 0.1, clip=clip)
    np.testing.assert_allclose(ours, ref, atol=1e-12)


@pytest.mark.parametrize("kind", ["skreg", "sklearn"])
@pytest.mark.parametrize("random_start", [False, True])
def test_pgd_matches_reference(kind, random_start, seed):
    X, y = _data(3, seed=seed, n=20)
    clf = _model(kind, X, y, seed=seed)
    y_idx = np.searchsorted(clf.classes_, y)
    rs = seed if random_start else None
    start = None
    if random_start:
        start = X + np.random.RandomState(seed).uniform(-0.2, 0.2, size=X.shape)
    ours = pgd_attack(clf, X, y, 0.2, steps=4, clip=(0, 1), random_state=rs)
    ref = attack_reference(
        _proba_fn(clf), X, y_idx, 0.2, "pgd", steps=4, clip=(0, 1), start=start
    )
    np.testing.assert_allclose(ours, ref, atol=1e-12)


@pytest.mark.parametrize("kind", ["skreg", "sklearn"])
def test_pgd_never_weaker_than_fgsm(kind, seed, digits01):
    X, y = digits01
    clf = _model(kind, X[:300], y[:300], activation="relu", seed=seed)
    Xt, yt = X[300:], y[300:]
    fooled_fgsm = clf.predict(fgsm_attack(clf, Xt, yt, 0.1, clip=(0, 1))) != yt
    for rs in (None, seed):
        for steps, step in ((1, 0.001), (5, None)):  # even a feeble PGD
            X_pgd = pgd_attack(
                clf,
                Xt,
                yt,
                0.1,
                steps=steps,
                step_size=step,
                clip=(0, 1),
                random_state=rs,
            )
            fooled_pgd = clf.predict(X_pgd) != yt
            assert np.all(fooled_pgd[fooled_fgsm])
            assert np.abs(X_pgd - Xt).max() <= 0.1 + 1e-12
            assert X_pgd.min() >= 0 and X_pgd.max() <= 1
    acc = {
        a: adversarial_accuracy(clf, Xt, yt, 0.1, a, clip=(0, 1))
        for a in ("fgsm", "pgd")
    }
    assert acc["pgd"] <= acc["fgsm"] < clf.score(Xt, yt)


def test_attack_properties(digits01):
    X, y = digits01
    clf = _model("skreg", X, y, activation="relu")
    X_adv = fgsm_attack(clf, X, y, 0.05)
    np.testing.assert_allclose(np.abs(X_adv - X).max(), 0.05)
    # epsilon = 0: the input itself, accuracy = clean accuracy
    np.testing.assert_array_equal(fgsm_attack(clf, X, y, 0.0), X)
    assert adversarial_accuracy(clf, X, y, 0.0) == clf.score(X, y)
    assert adversarial_accuracy(clf, X, y, 0.0, "pgd") == clf.score(X, y)
    # float32 stays float32, read-only and non-contiguous input accepted
    X32 = X.astype(np.float32)
    assert fgsm_attack(clf, X32, y, 0.1).dtype == np.float32
    assert pgd_attack(clf, X32, y, 0.1, steps=2).dtype == np.float32
    Xf = np.asfortranarray(X)
    Xf.flags.writeable = False
    np.testing.assert_array_equal(
        fgsm_attack(clf, Xf, y, 0.1), fgsm_attack(clf, X, y, 0.1)
    )
    # reproducible random start
    a = pgd_attack(clf, X, y, 0.1, steps=2, random_state=3)
    b = pgd_attack(clf, X, y, 0.1, steps=2, random_state=3)
    np.testing.assert_array_equal(a, b)
    # sample weights enter the accuracy
    w = np.zeros(len(y))
    w[:10] = 1
    assert adversarial_accuracy(clf, X, y, 0.1, sample_weight=w) == pytest.approx(
        adversarial_accuracy(clf, X[:10], y[:10], 0.1)
    )


def test_inputs_outside_clip_warn_and_are_clipped():
    X, y = _data(3)
    clf = _model("sklearn", X, y)
    X_bad = X.copy()
    X_bad[0, 0] = 1.5
    X_bad[1, 1] = -0.5
    with pytest.warns(UserWarning, match="outside clip"):
        X_adv = fgsm_attack(clf, X_bad, y, 0.1, clip=(0, 1))
    assert X_adv.min() >= 0 and X_adv.max() <= 1
    X_in = np.clip(X_bad, 0, 1)
    np.testing.assert_array_equal(X_adv, fgsm_attack(clf, X_in, y, 0.1, clip=(0, 1)))
    with pytest.warns(UserWarning, match="outside clip"):
        pgd_attack(clf, X_bad, y, 0.1, steps=2, clip=(0, 1))
    assert X_bad[0, 0] == 1.5  # the caller's array is not modified


def test_bad_input():
    X, y = _data(3)
    clf = _model("skreg", X, y)
    with pytest.raises(ValueError, match="epsilon"):
        fgsm_attack(clf, X, y, -0.1)
    with pytest.raises(ValueError, match="epsilon"):
        adversarial_accuracy(clf, X, y, -1.0)
    with pytest.raises(ValueError, match="epsilon"):
        make_adversarial_scorer(-1.0)
    for clip in [(1, 0), (0.5, 0.5), (0, 1, 2), (0, np.nan)]:
        with pytest.raises(ValueError, match="clip"):
            fgsm_attack(clf, X, y, 0.1, clip=clip)
        with pytest.raises(ValueError, match="clip"):
            make_adversarial_scorer(0.1, clip=clip)
    with pytest.raises(ValueError, match="steps"):
        pgd_attack(clf, X, y, 0.1, steps=0)
    with pytest.raises(ValueError, match="step_size"):
        pgd_attack(clf, X, y, 0.1, step_size=0.0)
    with pytest.raises(ValueError, match="attack"):
        adversarial_accuracy(clf, X, y, 0.1, attack="cw")
    with pytest.raises(NotFittedError):
        fgsm_attack(MLPClassifier(), X, y, 0.1)
    with pytest.raises(NotFittedError):
        pgd_attack(SkMLP(), X, y, 0.1)
    with pytest.raises(TypeError, match="neural classifiers only"):
        fgsm_attack(LogisticRegression().fit(X, y), X, y, 0.1)
    with pytest.raises(TypeError, match="neural classifiers only"):
        fgsm_attack(_quiet_fit(MLPRegressor(max_iter=5), X, X[:, 0]), X, X[:, 0], 0.1)
    with pytest.raises(TypeError, match="instance"):
        fgsm_attack(MLPClassifier, X, y, 0.1)
    with pytest.raises(ValueError, match="labels not in"):
        fgsm_attack(clf, X, np.where(y == "a", "z", y), 0.1)
    with pytest.raises(ValueError, match="one label per row"):
        fgsm_attack(clf, X, y[:-1], 0.1)
    with pytest.raises(ValueError, match="features"):
        fgsm_attack(clf, X[:, :4], y, 0.1)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    for est in (clf, _model("sklearn", X, y)):
        with pytest.raises(ValueError, match="NaN"):
            fgsm_attack(est, X_nan, y, 0.1)
    multilabel = _quiet_fit(SkMLP((4,), max_iter=5), X, np.eye(3)[[0, 1, 2] * 13 + [0]])
    with pytest.raises(ValueError, match="multilabel"):
        fgsm_attack(multilabel, X, np.eye(3)[[0, 1, 2] * 13 + [0]], 0.1)


@pytest.mark.parametrize("kind", ["skreg", "sklearn"])
def test_scorer_in_grid_search_and_cross_val_score(kind, digits01):
    X, y = digits01
    est = (MLPClassifier if kind == "skreg" else SkMLP)(
        hidden_layer_sizes=(16,), max_iter=30, random_state=0
    )
    scorer = make_adversarial_scorer(0.1, clip=(0, 1))
    assert "epsilon=0.1" in repr(scorer)
    scorer = pickle.loads(pickle.dumps(scorer))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(est, X, y, cv=2, scoring=scorer)
        search = GridSearchCV(
            est,
            {"alpha": [1e-4, 1e-1]},
            cv=2,
            scoring={
                "adv": scorer,
                "pgd": make_adversarial_scorer(0.1, "pgd", clip=(0, 1), steps=3),
                "clean": "accuracy",
            },
            refit="adv",
        ).fit(X, y)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    res = search.cv_results_
    assert np.all(res["mean_test_pgd"] <= res["mean_test_adv"] + 1e-12)
    assert np.all(res["mean_test_adv"] < res["mean_test_clean"])
    assert search.best_score_ == res["mean_test_adv"].max()
