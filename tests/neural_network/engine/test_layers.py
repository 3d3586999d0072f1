"""Dense layer pieces (``_layers``) against numpy."""

import numpy as np
import pytest

from skreg.neural_network._engine import Layout
from skreg.neural_network._engine import _layers as layers
from skreg.neural_network._engine._records import net_record


def test_dense_pieces(rng):
    A = rng.standard_normal((6, 4))
    W = rng.standard_normal((4, 3))
    D = rng.standard_normal((6, 3))
    out = np.empty((6, 3))
    layers.dense_forward(A, W, out)
    np.testing.assert_allclose(out, A @ W, rtol=1e-13)
    gW = np.empty((4, 3))
    gb = np.full(3, np.nan)
    layers.dense_weight_grad(A, D, gW, gb)
    np.testing.assert_allclose(gW, A.T @ D, rtol=1e-13)
    np.testing.assert_allclose(gb, D.sum(axis=0), rtol=1e-13)
    Din = np.empty((6, 4))
    layers.dense_input_grad(D, W, Din)
    np.testing.assert_allclose(Din, D @ W.T, rtol=1e-13)
    sq = np.empty((4, 3))
    layers.squared_weights(W, sq)
    np.testing.assert_array_equal(sq, W * W)


def test_views_follow_the_flat_layout(rng):
    layout = Layout([5, 4, 3])
    net = net_record(layout)
    coefs = [rng.standard_normal((5, 4)), rng.standard_normal((4, 3))]
    inter = [rng.standard_normal(4), rng.standard_normal(3)]
    theta = layout.pack(coefs, inter, np.float64)
    for l in range(2):
        np.testing.assert_array_equal(layers.weights(theta, net, l), coefs[l])
        np.testing.assert_array_equal(layers.intercepts(theta, net, l), inter[l])
    buf = np.arange(7 * 12, dtype=np.float64)  # 7 rows per layer block
    np.testing.assert_array_equal(
        layers.block(buf, net, 7, 1, 2), buf[7 * 5 : 7 * 5 + 8].reshape(2, 4)
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "m, k, n", [(7, 5, 1), (1, 5, 4), (1, 6, 1), (1, 1, 3), (9, 1, 1), (6, 4, 3)]
)
def test_matmul_equals_numpy_for_vector_shapes(rng, dtype, m, k, n):
    # one-row and one-column products take the loop (numba would call
    # gemv, whose rounding follows BLAS's thread count); others BLAS
    A = rng.standard_normal((m, k)).astype(dtype)
    B = rng.standard_normal((k, n)).astype(dtype)
    At = np.ascontiguousarray(A.T)  # for the transposed-view call
    Bt = np.ascontiguousarray(B.T)
    tol = 1e-13 if dtype == np.float64 else 1e-5
    for a, b in [(A, B), (At.T, B), (A, Bt.T), (At.T, Bt.T)]:
        out = np.full((m, n), np.nan, dtype=dtype)
        layers.matmul(a, b, out)
        assert out.dtype == dtype
        np.testing.assert_allclose(out, A.astype(np.float64) @ B, rtol=tol, atol=tol)


@pytest.mark.parametrize("rows", [300, 420, 630])
def test_matmul_does_not_follow_the_blas_thread_count(rng, rows):
    # with OpenBLAS 0.3.21 numba's np.dot of these shapes (gemv) differed
    # in 1-4 rows between one and two threads; a fit run from the user's
    # threads cannot pin the count, so the engine's results must not
    # depend on it
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    A = rng.standard_normal((rows, 32))
    B = rng.standard_normal((32, 1))
    D = rng.standard_normal((rows, 1))
    results = []
    for n_threads in (1, 2):
        with controller.limit(limits=n_threads, user_api="blas"):
            fwd = np.empty((rows, 1))
            layers.matmul(A, B, fwd)
            grad = np.empty((32, 1))
            layers.matmul(A.T, D, grad)
        results.append((fwd, grad))
    for one, two in zip(*results, strict=True):
        np.testing.assert_array_equal(one, two)
