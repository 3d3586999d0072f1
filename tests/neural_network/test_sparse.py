"""scipy.sparse X (CSR, CSC) in the MLP estimators: a sparse fit is the
dense fit of the same matrix to rounding (loss curves, weights,
predictions), for every solver, output and dropout kind; sparse queries of
a dense fit; no dense copy of X; the techniques that need dense inputs
refuse sparse X and say why."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import is_regressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import get_tags

from skreg.neural_network import (
    AdversarialMLPClassifier,
    AdversarialMLPRegressor,
    DropoutMLPClassifier,
    DropoutMLPRegressor,
    ManifoldTangentClassifier,
    MLPClassifier,
    MLPRegressor,
    TangentPropMLPClassifier,
    TangentPropMLPRegressor,
)


def _tfidf_like(seed, n=120, d=60, density=0.1, n_classes=3):
    """Nonnegative rows of unit L2 norm (as TF-IDF), labels from a linear
    rule so the fit learns something."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed)
    X.data = rng.uniform(0.1, 1.0, X.nnz)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1))).ravel()
    norms[norms == 0] = 1.0
    X = sp.csr_matrix(sp.diags(1.0 / norms) @ X)
    score = X @ rng.standard_normal((d, n_classes))
    y = np.argmax(score, axis=1)
    t = score[:, 0] + 0.1 * rng.standard_normal(n)
    return X, y, t


KW = dict(hidden_layer_sizes=(16,), max_iter=15, random_state=0)
CASES = {
    "mlp_adam": (MLPClassifier, dict()),
    "mlp_sgd": (MLPClassifier, dict(solver="sgd", learning_rate_init=0.1)),
    "mlp_lbfgs": (MLPClassifier, dict(solver="lbfgs")),
    "mlp_early_stopping": (MLPClassifier, dict(early_stopping=True, max_iter=8)),
    "bernoulli": (
        DropoutMLPClassifier,
        dict(input_dropout=0.3, hidden_dropout=0.4),
    ),
    "bernoulli_mc": (
        DropoutMLPClassifier,
        dict(input_dropout=0.3, hidden_dropout=0.4, inference="mc_geometric"),
    ),
    "fast": (
        DropoutMLPClassifier,
        dict(dropout_method="fast", input_dropout=0.3, hidden_dropout=0.4),
    ),
    "regressor_adam": (MLPRegressor, dict()),
    "regressor_lbfgs": (MLPRegressor, dict(solver="lbfgs")),
    "dropout_regressor": (DropoutMLPRegressor, dict(input_dropout=0.2)),
    "fast_regressor": (
        DropoutMLPRegressor,
        dict(dropout_method="fast", input_dropout=0.2, hidden_dropout=0.2),
    ),
}


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _outputs(est, X):
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    return est.predict(X)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_fit_equals_dense_fit(case, fmt, seed):
    cls, params = CASES[case]
    Xs, y, t = _tfidf_like(seed)
    target = t if is_regressor(cls()) else y
    Xd = Xs.toarray()
    kw = {**KW, **params}
    dense = _fit(cls(**kw), Xd, target)
    sparse = _fit(cls(**kw), Xs.asformat(fmt), target)
    if hasattr(dense, "loss_curve_") and dense.loss_curve_ is not None:
        np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-10)
    assert sparse.n_iter_ == dense.n_iter_
    np.testing.assert_allclose(sparse.loss_, dense.loss_, rtol=1e-10)
    got = sparse.coefs_ + sparse.intercepts_
    want = dense.coefs_ + dense.intercepts_
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)
    out = _outputs(sparse, Xs.asformat(fmt))
    np.testing.assert_allclose(out, _outputs(dense, Xd), rtol=1e-8, atol=1e-12)
    # either model answers sparse and dense queries alike
    np.testing.assert_allclose(
        _outputs(dense, Xs), _outputs(dense, Xd), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_array_equal(sparse.predict(Xs), sparse.predict(Xd))
    assert sparse.score(Xs, target) == pytest.approx(dense.score(Xd, target))
    if hasattr(dense, "early_stopping") and dense.early_stopping:
        np.testing.assert_allclose(sparse.validation_scores_, dense.validation_scores_)


def test_partial_fit_and_warm_start_on_sparse():
    Xs, y, _ = _tfidf_like(0)
    Xd = Xs.toarray()
    a = MLPClassifier(**KW)
    b = MLPClassifier(**KW)
    for _ in range(3):
        a.partial_fit(Xd, y, classes=np.unique(y))
        b.partial_fit(Xs, y, classes=np.unique(y))
    np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-10)
    # dense and sparse batches in one model
    b.partial_fit(Xd[:40], y[:40])
    a.partial_fit(Xs[:40], y[:40])
    np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-10)
    w = _fit(MLPClassifier(warm_start=True, **KW), Xs, y)
    _fit(w, Xd, y)
    assert len(w.loss_curve_) == 2 * KW["max_iter"]


def test_sample_weight_on_sparse():
    Xs, y, _ = _tfidf_like(1)
    sw = np.random.default_rng(0).uniform(0.2, 3.0, Xs.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPClassifier(**KW).fit(Xs.toarray(), y, sample_weight=sw)
        b = MLPClassifier(**KW).fit(Xs, y, sample_weight=sw)
    np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-10)


def test_float32_sparse_stays_float32():
    Xs, y, _ = _tfidf_like(2)
    Xs = Xs.astype(np.float32)
    a = _fit(DropoutMLPClassifier(input_dropout=0.2, **KW), Xs.toarray(), y)
    b = _fit(DropoutMLPClassifier(input_dropout=0.2, **KW), Xs, y)
    assert b.coefs_[0].dtype == np.float32
    assert b.predict_proba(Xs).dtype == np.float32
    np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(
        b.predict_proba(Xs), a.predict_proba(Xs.toarray()), rtol=1e-4, atol=1e-6
    )


def test_dropout_inference_on_sparse_queries():
    """MC masks are keyed by the query's content: a sparse query gets the
    masks of its dense copy; fast dropout's predictive std likewise."""
    Xs, y, t = _tfidf_like(3)
    Xd = Xs.toarray()
    clf = _fit(DropoutMLPClassifier(input_dropout=0.3, **KW), Xd, y)
    np.testing.assert_allclose(
        clf.predict_proba_samples(Xs, n_samples=4),
        clf.predict_proba_samples(Xd, n_samples=4),
        rtol=1e-12,
    )
    for method in ("bernoulli", "fast"):
        reg = _fit(DropoutMLPRegressor(dropout_method=method, **KW), Xs, t)
        for inference in ("weight_scaling", "mc"):
            reg.set_params(inference=inference)
            m, s = reg.predict(Xs, return_std=True)
            md, sd = reg.predict(Xd, return_std=True)
            np.testing.assert_allclose(m, md, rtol=1e-12)
            np.testing.assert_allclose(s, sd, rtol=1e-10, atol=1e-14)


def test_input_gradient_of_sparse_queries():
    Xs, y, t = _tfidf_like(4)
    clf = _fit(MLPClassifier(**KW), Xs, y)
    np.testing.assert_allclose(
        clf.input_gradient(Xs, y), clf.input_gradient(Xs.toarray(), y), rtol=1e-12
    )
    reg = _fit(MLPRegressor(**KW), Xs, t)
    np.testing.assert_allclose(
        reg.input_gradient(Xs, t), reg.input_gradient(Xs.toarray(), t), rtol=1e-12
    )


def test_fit_never_densifies_X():
    """A wide sparse X: the fit's peak memory stays far below one dense
    copy of X (or of a minibatch of it)."""
    n, d = 400, 100_000
    X = sp.random(n, d, density=2e-4, format="csr", random_state=0, dtype=np.float32)
    y = np.arange(n) % 2
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, batch_size=200)
    _fit(clf, X[:200], y[:200])  # compile outside the measurement
    tracemalloc.start()
    try:
        _fit(clf, X, y)
        clf.predict_proba(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    dense_batch = 200 * d * 4  # 80 MB (float32)
    assert peak < dense_batch / 4, peak  # (about 12 MB: the 400,000 weights' copies)


DENSE_ONLY = {
    "AdversarialMLPClassifier": (AdversarialMLPClassifier, {}, "adversarial"),
    "AdversarialMLPRegressor": (AdversarialMLPRegressor, {}, "adversarial"),
    "TangentPropMLPClassifier": (TangentPropMLPClassifier, {}, "tangent"),
    "TangentPropMLPRegressor": (TangentPropMLPRegressor, {}, "tangent"),
    "ManifoldTangentClassifier": (
        ManifoldTangentClassifier,
        dict(cae_hidden=4, n_tangents=2, cae_max_iter=2),
        "tangent",
    ),
}


@pytest.mark.parametrize("name", list(DENSE_ONLY))
def test_dense_only_techniques_refuse_sparse(name):
    cls, params, technique = DENSE_ONLY[name]
    Xs, y, t = _tfidf_like(5, d=16)
    target = t if "Regressor" in name else y
    est = cls(hidden_layer_sizes=(8,), max_iter=2, random_state=0, **params)
    assert get_tags(est).input_tags.sparse is False
    match = rf"Sparse input is not supported by {name}'s {technique}"
    for fmt in ("csr", "csc", "coo"):
        with pytest.raises(TypeError, match=match):
            est.fit(Xs.asformat(fmt), target)
    assert not hasattr(est, "coefs_")
    with pytest.raises(TypeError, match="dense input space"):
        est.fit(Xs, target)
    _fit(est, Xs.toarray(), target)
    with pytest.raises(TypeError, match=match):
        est.predict(Xs)


@pytest.mark.parametrize(
    "cls", [MLPClassifier, MLPRegressor, DropoutMLPClassifier, DropoutMLPRegressor]
)
def test_sparse_tag_of_sparse_capable_estimators(cls):
    assert get_tags(cls()).input_tags.sparse is True
