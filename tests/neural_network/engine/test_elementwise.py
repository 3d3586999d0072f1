"""Elementwise pieces (``_elementwise``) against numpy."""

import numpy as np

from skreg.neural_network._engine import _elementwise as elementwise


def test_vectorised_exp_tanh_logistic_match_numpy():
    x = np.concatenate(
        [
            np.linspace(-60, 60, 20001),
            np.logspace(-12, 1.5, 500),
            -np.logspace(-12, 1.5, 500),
            [0.0, -0.0, 0.05, -0.05],
        ]
    )
    kb = np.empty(x.size, dtype=np.int64)
    e = np.empty(x.size)
    out = np.empty(x.size)
    elementwise.exp_row(x, out, kb)
    np.testing.assert_allclose(out, np.exp(x), rtol=4e-15)
    h = x.copy()
    elementwise.tanh_row(h, kb, e)
    np.testing.assert_allclose(h, np.tanh(x), rtol=2e-15, atol=0)
    h = x.copy()
    elementwise.logistic_row(h, kb, e)
    np.testing.assert_allclose(h, 1 / (1 + np.exp(-x)), rtol=4e-15)
    h32 = x.astype(np.float32)
    elementwise.tanh_row(h32, kb, e)
    np.testing.assert_allclose(
        h32, np.tanh(x.astype(np.float32)), rtol=2e-7, atol=1e-30
    )
