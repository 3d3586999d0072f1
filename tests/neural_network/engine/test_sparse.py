"""Sparse (CSR) input in the engine: the first layer's product and weight
gradient over the stored entries against the dense path on the same
matrix (forward, gradient and objective, with and without input dropout,
fast dropout's moments, MC masks), the kernels against numpy, the CSR
normalisation, and the modes that refuse sparse input."""

import numpy as np
import pytest
import scipy.sparse as sp

from skreg.neural_network._engine import (
    Engine,
    EngineConfig,
    Layout,
    glorot_init,
    loss_and_gradient,
    predict_moments,
    predict_proba,
)
from skreg.neural_network._engine._config import kernel_rows
from skreg.neural_network._engine._layers import sparse_forward, sparse_weight_grad
from skreg.neural_network._engine._random import (
    keep_scales,
    keep_threshold,
    layer_key,
    row_hashes,
    row_hashes_csr,
)
from skreg.neural_network._engine._records import Rows

from ._problems import ACTIVATIONS


def _sparse_problem(seed, n_out, activation, n=12, units=(9, 5, 4), dtype=np.float64):
    """A problem whose X is 70% zeros, with an all-zero column."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, units[0]))
    X[rng.uniform(size=X.shape) < 0.7] = 0.0
    X[:, 3] = 0.0
    X[2] = 0.0  # an empty row
    layout = Layout(list(units) + [n_out])
    coefs, inter = glorot_init(
        list(units) + [n_out], activation, np.random.RandomState(seed), dtype
    )
    coefs = [2.0 * c for c in coefs]
    theta = layout.pack(coefs, inter, dtype)
    sw = rng.uniform(0.5, 2.0, n)
    return X.astype(dtype), sw, layout, theta


CONFIGS = {
    "plain": dict(alpha=0.3),
    "penalty": dict(activation_penalty="kl", activation_penalty_alpha=0.2),
    "bernoulli": dict(dropout="bernoulli", keep_input=0.6, keep_hidden=0.7),
    "bernoulli_hidden": dict(dropout="bernoulli", keep_input=1.0, keep_hidden=0.7),
    "fast": dict(dropout="fast", keep_input=0.7, keep_hidden=0.6, alpha=0.1),
    "fast_hidden": dict(dropout="fast", keep_input=1.0, keep_hidden=0.6),
}
# (output kind, number of outputs, targets)
OUTPUTS = {
    "binary": (0, 1, "labels2"),
    "softmax": (1, 3, "labels3"),
    "regression": (2, 2, "targets"),
    "multilabel": (3, 3, "indicator"),
}


def _targets(kind, n, rng):
    if kind == "labels2":
        return np.arange(n) % 2
    if kind == "labels3":
        return np.arange(n) % 3
    if kind == "targets":
        return rng.standard_normal((n, 2))
    return (rng.uniform(size=(n, 3)) < 0.5).astype(np.float64)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output", list(OUTPUTS))
@pytest.mark.parametrize("config", list(CONFIGS))
def test_objective_and_gradient_equal_dense(activation, output, config, seed):
    """The same objective and gradient (first layer's included) from CSR
    rows as from the dense matrix; with dropout, the same masks."""
    out_kind, n_out, target = OUTPUTS[output]
    X, sw, layout, theta = _sparse_problem(seed, n_out, activation)
    y = _targets(target, X.shape[0], np.random.default_rng(seed))
    cfg = EngineConfig(activation=activation, **CONFIGS[config])
    dense = loss_and_gradient(theta, layout, X, y, sw, cfg, out_kind, seed=7, step=3)
    for Xs in (sp.csr_matrix(X), sp.csc_array(X)):
        got = loss_and_gradient(theta, layout, Xs, y, sw, cfg, out_kind, seed=7, step=3)
        np.testing.assert_allclose(got[0], dense[0], rtol=1e-13)
        np.testing.assert_allclose(got[1], dense[1], rtol=1e-12, atol=1e-15)
    # the all-zero column's weights get no data gradient (only L2's)
    n1 = layout.units[1]
    g0 = dense[1][: layout.units[0] * n1].reshape(-1, n1)
    l2 = CONFIGS[config].get("alpha", 0.0) * theta[: g0.size].reshape(g0.shape)
    np.testing.assert_allclose(g0[3], l2[3] / sw.sum(), rtol=1e-12, atol=1e-15)


def test_input_dropout_masks_the_stored_entries():
    """Dropout on the inputs changes the sparse objective exactly as the
    dense one, step by step (the masks are the dense path's)."""
    X, sw, layout, theta = _sparse_problem(0, 3, "relu")
    y = np.arange(X.shape[0]) % 3
    cfg = EngineConfig(dropout="bernoulli", keep_input=0.5, keep_hidden=1.0)
    losses = []
    for step in range(3):
        d = loss_and_gradient(theta, layout, X, y, sw, cfg, 1, seed=1, step=step)[0]
        s = loss_and_gradient(
            theta, layout, sp.csr_matrix(X), y, sw, cfg, 1, seed=1, step=step
        )[0]
        np.testing.assert_allclose(s, d, rtol=1e-13)
        losses.append(s)
    assert len(set(losses)) == 3


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("keep", [1.0, 0.6])
def test_kernels_against_numpy(dtype, keep, rng):
    """sparse_forward and sparse_weight_grad against the dense masked
    product ``(X * S) W`` and ``(X * S)^T D`` with the dense path's scales."""
    n, d, h = 7, 11, 6
    X = rng.standard_normal((n, d)).astype(dtype)
    X[rng.uniform(size=X.shape) < 0.6] = 0.0
    Xd, csr = kernel_rows(sp.csr_matrix(X), dtype)
    order = rng.permutation(n).astype(np.int64)  # the rows of the batch
    kid = order[::-1].copy()  # any keys of their streams
    rows = Rows(Xd, order, kid, 2, 4, np.ones(n))
    W = rng.standard_normal((d, h)).astype(dtype)
    seed, step = 5, 9
    thr, scale = keep_threshold(keep)
    S = np.empty((4, d), dtype=dtype)
    for r in range(4):
        key = np.uint64(layer_key(seed, step, kid[2 + r], 0))
        keep_scales(S[r], key, thr, dtype(scale))
    XM = X[order[2:6]] * S
    out = np.empty((4, h), dtype=dtype)
    sparse_forward(csr, rows, W, out, seed, step, keep)
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(out, XM @ W, rtol=rtol, atol=rtol)
    D = rng.standard_normal((4, h)).astype(dtype)
    gW = np.full((d, h), np.nan, dtype=dtype)  # overwritten, not accumulated
    gb = np.full(h, np.nan, dtype=dtype)
    sparse_weight_grad(csr, rows, D, gW, gb, seed, step, keep)
    np.testing.assert_allclose(gW, XM.T @ D, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(gb, D.sum(axis=0), rtol=rtol, atol=rtol)
    if keep < 1:
        assert (S == 0).any() and (S > 1).any()


def test_kernel_rows_normalises_the_csr():
    """CSC, unsorted indices, duplicates, int64 indices and explicit zeros
    all become one canonical CSR of one set of types."""
    X = np.array([[0.0, 2.0, 0.0, 1.0], [3.0, 0.0, 0.0, 0.0], [0, 0, 0, 0]])
    A = sp.csr_matrix(
        (
            np.array([1.0, 1.5, 0.5, 0.0, 3.0]),
            np.array([3, 1, 1, 2, 0], dtype=np.int64),
            np.array([0, 4, 5, 5], dtype=np.int64),
        ),
        shape=(3, 4),
    )
    assert not A.has_canonical_format
    np.testing.assert_array_equal(A.toarray(), X)
    for M in (A, A.tocsc(), sp.csr_array(X)):
        Xd, csr = kernel_rows(M, np.float32)
        assert Xd.shape == (0, 4) and Xd.dtype == np.float32
        assert csr.data.dtype == np.float32
        assert csr.indices.dtype == np.int32 and csr.indptr.dtype == np.int64
        back = sp.csr_matrix((csr.data, csr.indices, csr.indptr), shape=(3, 4))
        assert back.has_canonical_format
        np.testing.assert_array_equal(back.toarray(), X)
    assert not A.has_canonical_format  # the caller's matrix is not modified
    Xd, csr = kernel_rows(X, np.float64)
    assert csr is None and Xd.shape == X.shape


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_row_hashes_of_sparse_rows_are_the_dense_rows(dtype, rng):
    """MC-dropout keys of a sparse query are those of its dense copy
    (absent and explicitly stored zeros alike)."""
    X = rng.standard_normal((6, 9)).astype(dtype)
    X[rng.uniform(size=X.shape) < 0.6] = 0.0
    X[4] = 0.0
    A = sp.csr_matrix(X)
    A.data[:2] = [0.0, -0.0]  # explicitly stored zeros: +0 and -0
    X = A.toarray()  # (+0.0 at both)
    bits = np.uint64 if dtype == np.float64 else np.uint32
    _, csr = kernel_rows(A, dtype)
    data = csr.data
    got = row_hashes_csr(data, data.view(bits), csr.indices, csr.indptr, 9)
    np.testing.assert_array_equal(got, row_hashes(X.view(bits)))
    assert len(set(got.tolist())) == len(np.unique(X, axis=0))


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_inference_equals_dense(activation, dtype):
    """Probabilities (deterministic and under MC masks) and fast dropout's
    moments of CSR rows, in the model dtype."""
    X, _, layout, theta = _sparse_problem(1, 3, activation, n=30, dtype=dtype)
    Xs = sp.csr_matrix(X)
    rtol = 2e-5 if dtype == np.float32 else 1e-12
    for out_kind in (1, 2):
        p = predict_proba(Xs, theta, layout, activation, out_kind)
        assert p.dtype == dtype
        np.testing.assert_allclose(
            p, predict_proba(X, theta, layout, activation, out_kind), rtol=rtol
        )
    mc = (0.7, 0.8, 4)
    got = predict_proba(Xs, theta, layout, activation, 1, mc=mc, seed=3)
    want = predict_proba(X, theta, layout, activation, 1, mc=mc, seed=3)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-7)
    assert not np.allclose(got[0], got[1])  # the masks differ per sample
    # a query's masks do not depend on its position
    rev = predict_proba(Xs[::-1], theta, layout, activation, 1, mc=mc, seed=3)
    np.testing.assert_array_equal(rev, got[:, ::-1])
    m, v = predict_moments(Xs, theta, layout, activation, 0.7, 0.6)
    md, vd = predict_moments(X, theta, layout, activation, 0.7, 0.6)
    np.testing.assert_allclose(m, md, rtol=rtol, atol=1e-6)
    np.testing.assert_allclose(v, vd, rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("config", ["plain", "bernoulli", "fast"])
def test_epoch_with_repeated_rows_equals_dense(config):
    """One epoch of minibatches over a bootstrap order (rows repeated, as
    bagging draws them): the same steps from CSR rows."""
    X, sw, layout, theta = _sparse_problem(2, 3, "relu", n=40)
    y = np.arange(40) % 3
    cfg = EngineConfig(max_norm=2.0, **CONFIGS[config])
    order = np.random.default_rng(0).integers(0, 40, 40)
    results = []
    for Xin in (X, sp.csr_matrix(X)):
        eng = Engine(cfg, layout, 1, np.float64, 8, sparse=sp.issparse(Xin))
        th = theta.copy()
        m1, m2 = np.zeros_like(th), np.zeros_like(th)
        state = eng.state(th, m1, m2)
        data = eng.data(Xin, y, sw)
        status, acc, step, t = eng.run_epoch(state, data, order, 3, 0, 0, 1e-2)
        assert status == 0 and step == 5 and t == 5
        results.append((th, acc))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12)
    assert not np.allclose(results[0][0], theta)


@pytest.mark.parametrize(
    "options, n_tangents",
    [(dict(adversarial="fgsm", adversarial_epsilon=0.1), 0), (dict(), 2)],
    ids=["adversarial", "tangent"],
)
def test_dense_only_modes_refuse_sparse(options, n_tangents):
    layout = Layout([4, 3, 2])
    cfg = EngineConfig(tangent_alpha=0.1, **options)
    with pytest.raises(TypeError, match="Sparse input is not supported by"):
        Engine(cfg, layout, 1, np.float64, 5, n_tangents=n_tangents, sparse=True)
