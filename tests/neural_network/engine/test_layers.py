"""Dense layer pieces (``_layers``) against numpy."""

import numpy as np

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
