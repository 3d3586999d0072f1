"""Multilabel indicator y for the MLP classifiers: one logistic output per
label with the binary log loss, as scikit-learn's MLPClassifier."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from skreg.neural_network import (
    AdversarialMLPClassifier,
    DropoutMLPClassifier,
    MLPClassifier,
    TangentPropMLPClassifier,
)


@pytest.fixture(scope="module")
def multilabel():
    X, Y = make_multilabel_classification(
        n_samples=200, n_features=16, n_classes=4, random_state=0
    )
    return X / X.max(), Y


def _quiet_fit(est, X, Y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, Y)


@pytest.mark.parametrize(
    "kw", [dict(), dict(early_stopping=True), dict(solver="lbfgs")],
    ids=["adam", "early-stopping", "lbfgs"],
)  # fmt: skip
def test_matches_scikit_learn(kw, multilabel):
    X, Y = multilabel
    theirs = _quiet_fit(SkMLPClassifier((8,), max_iter=20, random_state=0, **kw), X, Y)
    ours = _quiet_fit(MLPClassifier((8,), max_iter=20, random_state=0, **kw), X, Y)
    assert ours.out_activation_ == "logistic" and ours.n_outputs_ == 4
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    if kw.get("solver") != "lbfgs":
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)
    if kw.get("early_stopping"):
        assert ours.validation_scores_ == theirs.validation_scores_
    np.testing.assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), atol=1e-10
    )
    pred = ours.predict(X)
    assert pred.shape == Y.shape and pred.dtype == theirs.predict(X).dtype
    np.testing.assert_array_equal(pred, theirs.predict(X))


def test_scikit_learns_multilabel_test(multilabel):
    # scikit-learn's test_multilabel_classification, on its own data
    X, y = make_multilabel_classification(
        n_samples=50, random_state=0, return_indicator=True
    )
    mlp = MLPClassifier(
        solver="lbfgs", hidden_layer_sizes=50, alpha=1e-5, max_iter=150,
        random_state=0, activation="logistic", learning_rate_init=0.2,
    )  # fmt: skip
    _quiet_fit(mlp, X, y)
    assert mlp.score(X, y) > 0.97
    mlp = MLPClassifier(
        solver="sgd", hidden_layer_sizes=50, max_iter=150, random_state=0,
        activation="logistic", alpha=1e-5, learning_rate_init=0.2,
    )  # fmt: skip
    for _ in range(100):
        mlp.partial_fit(X, y, classes=[0, 1, 2, 3, 4])
    assert mlp.score(X, y) > 0.9


def test_refits_and_errors(multilabel):
    X, Y = multilabel
    clf = _quiet_fit(MLPClassifier((8,), max_iter=5, warm_start=True), X, Y)
    with pytest.raises(ValueError, match="1-D y"):
        clf.fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="3 labels"):
        clf.fit(X, Y[:, :3])
    assert clf.n_outputs_ == 4  # the failed calls changed nothing
    with pytest.raises(ValueError, match="multilabel"):
        AdversarialMLPClassifier(method="vat", max_iter=2).fit(X, Y)


@pytest.mark.parametrize(
    "est",
    [
        DropoutMLPClassifier((16,), inference="mc_geometric", n_mc_samples=5),
        DropoutMLPClassifier((16,), dropout_method="fast"),
        AdversarialMLPClassifier((16,), clip=(0, 1)),
        AdversarialMLPClassifier((16,), method="pgd", clip=(0, 1), pgd_steps=2),
        TangentPropMLPClassifier((16,), image_shape=(4, 4)),
    ],
    ids=["dropout-mc", "fast-dropout", "fgsm", "pgd", "tangent-prop"],
)
def test_every_technique_trains_on_labels(est, multilabel):
    X, Y = multilabel
    est.set_params(max_iter=100, random_state=0, learning_rate_init=0.01)
    _quiet_fit(est, X, Y)
    proba = est.predict_proba(X)
    assert proba.shape == Y.shape and ((proba > 0) & (proba < 1)).all()
    assert est.predict(X).shape == Y.shape
    # per-label (Hamming) accuracy well above the majority rule's
    majority = np.maximum(Y.mean(axis=0), 1 - Y.mean(axis=0)).mean()
    assert (est.predict(X) == Y).mean() > majority + 0.05


def test_tangent_derivatives_are_per_label(multilabel):
    X, Y = multilabel
    clf = _quiet_fit(
        TangentPropMLPClassifier((8,), image_shape=(4, 4), max_iter=5, random_state=0),
        X, Y,
    )  # fmt: skip
    T = clf.compute_tangents(X[:5])
    h = 1e-6
    num = clf.predict_proba(X[:5] + h * T[:, 0]) - clf.predict_proba(
        X[:5] - h * T[:, 0]
    )
    np.testing.assert_allclose(
        clf.directional_derivatives(X[:5], T)[:, 0], num / (2 * h), rtol=1e-4, atol=1e-9
    )
