"""scipy.sparse X (CSR, CSC) in the bagged networks: a sparse fit draws the
same members as the dense fit of the same matrix and gives its outputs to
rounding (every draw: rows, columns, both; the OOB score; the regressor's
std and eq. 7.50 decomposition); scikit-learn's MLP members take sparse X
too; members whose technique needs dense inputs are refused up front."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.utils import get_tags

from skreg.ensemble import BaggedMLPClassifier, BaggedMLPRegressor
from skreg.neural_network import (
    AdversarialMLPClassifier,
    DropoutMLPClassifier,
    DropoutMLPRegressor,
    MLPClassifier,
    MLPRegressor,
    TangentPropMLPClassifier,
)


def _data(seed=0, n=90, d=40, density=0.15):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed)
    X.data = rng.uniform(0.1, 1.0, X.nnz)
    score = X @ rng.standard_normal((d, 3))
    return X, np.argmax(score, axis=1), score[:, 0]


DRAWS = {
    "bootstrap": dict(),
    "columns": dict(max_features=0.6),
    "bootstrap_columns": dict(max_features=0.7, bootstrap_features=True),
    "subsample": dict(bootstrap=False, max_samples=0.7),
}


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.mark.parametrize("draw", DRAWS)
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_classifier_equals_dense(draw, fmt):
    X, y, _ = _data()
    member = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10)
    kw = dict(n_estimators=3, random_state=0, **DRAWS[draw])
    dense = _fit(BaggedMLPClassifier(member, **kw), X.toarray(), y)
    sparse = _fit(BaggedMLPClassifier(member, **kw), X.asformat(fmt), y)
    for f_d, f_s in zip(
        dense.estimators_features_, sparse.estimators_features_, strict=True
    ):
        np.testing.assert_array_equal(f_d, f_s)
    for m_d, m_s in zip(dense.estimators_, sparse.estimators_, strict=True):
        for a, b in zip(m_d.coefs_, m_s.coefs_, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        dense.predict_proba(X.toarray()), sparse.predict_proba(X), atol=1e-13
    )
    # a sparse query of a dense fit, and a dense query of a sparse fit
    np.testing.assert_allclose(
        dense.predict_proba(X), sparse.predict_proba(X.toarray()), atol=1e-13
    )


def test_sparse_oob_score_equals_dense():
    X, y, _ = _data(seed=1)
    member = DropoutMLPClassifier(hidden_layer_sizes=(8,), max_iter=8)
    kw = dict(n_estimators=4, oob_score=True, random_state=3)
    dense = _fit(BaggedMLPClassifier(member, **kw), X.toarray(), y)
    sparse = _fit(BaggedMLPClassifier(member, **kw), X, y)
    assert dense.oob_score_ == pytest.approx(sparse.oob_score_, abs=1e-12)
    np.testing.assert_allclose(
        dense.oob_decision_function_, sparse.oob_decision_function_, atol=1e-12
    )


@pytest.mark.parametrize(
    "member",
    [
        MLPRegressor(hidden_layer_sizes=(8,), max_iter=20),
        DropoutMLPRegressor(hidden_layer_sizes=(8,), max_iter=20),
    ],
    ids=["mlp", "dropout"],
)
def test_sparse_regressor_equals_dense(member):
    X, _, t = _data(seed=2)
    kw = dict(n_estimators=3, random_state=0, max_features=0.8)
    dense = _fit(BaggedMLPRegressor(member, **kw), X.toarray(), t)
    sparse = _fit(BaggedMLPRegressor(member, **kw), X.tocsc(), t)
    mean_d, std_d = dense.predict(X.toarray(), return_std=True)
    mean_s, std_s = sparse.predict(X, return_std=True)
    np.testing.assert_allclose(mean_d, mean_s, atol=1e-12)
    np.testing.assert_allclose(std_d, std_s, atol=1e-12)
    dec_d = dense.error_decomposition(X.toarray(), t)
    dec_s = sparse.error_decomposition(X, t)
    for name in ("v", "c", "ensemble_error"):
        assert getattr(dec_d, name) == pytest.approx(getattr(dec_s, name), rel=1e-10)
    k = dec_s.k
    assert dec_s.v / k + (k - 1) * dec_s.c / k == pytest.approx(
        dec_s.ensemble_error, rel=1e-12
    )


def test_sparse_float32_members():
    X, y, _ = _data(seed=4)
    member = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5)
    bag = BaggedMLPClassifier(member, n_estimators=2, random_state=0)
    bag = _fit(bag, X.astype(np.float32), y)
    assert bag.estimators_[0].coefs_[0].dtype == np.float32
    assert bag.predict_proba(X.astype(np.float64)).shape == (X.shape[0], 3)


def test_scikit_learn_members_take_sparse_x():
    X, y, _ = _data(seed=5)
    member = SkMLPClassifier(hidden_layer_sizes=(8,), max_iter=10)
    kw = dict(n_estimators=2, random_state=0)
    dense = _fit(BaggedMLPClassifier(member, **kw), X.toarray(), y)
    sparse = _fit(BaggedMLPClassifier(member, **kw), X, y)
    np.testing.assert_allclose(
        dense.predict_proba(X.toarray()), sparse.predict_proba(X), atol=1e-10
    )


@pytest.mark.parametrize(
    "member",
    [
        AdversarialMLPClassifier(hidden_layer_sizes=(8,), max_iter=2),
        TangentPropMLPClassifier(hidden_layer_sizes=(8,), max_iter=2),
    ],
    ids=["adversarial", "tangent"],
)
def test_dense_only_members_refuse_sparse_x(member):
    X, y, _ = _data(seed=6)
    bag = BaggedMLPClassifier(member, n_estimators=2)
    assert not get_tags(bag).input_tags.sparse
    with pytest.raises(TypeError, match="dense X"):
        bag.fit(X, y)
    assert not hasattr(bag, "estimators_")
    # dense X still works
    _fit(bag, X.toarray(), y)


def test_sparse_tag_follows_the_members():
    assert get_tags(BaggedMLPClassifier()).input_tags.sparse
    assert get_tags(BaggedMLPRegressor()).input_tags.sparse
    assert get_tags(BaggedMLPClassifier(SkMLPClassifier())).input_tags.sparse
