"""Inference (``_inference``): probabilities against the numpy reference,
MC-dropout samples keyed by content, reuse of the training passes."""

import numpy as np

from skreg.neural_network._engine import Layout, glorot_init, predict_proba

from ... import _reference as ref
from ._problems import ACTIVATIONS


def test_predict_proba_matches_the_reference(rng):
    for act in ACTIVATIONS:
        for n_out in (1, 4):
            units = [5, 7, 3, n_out]
            layout = Layout(units)
            coefs, inter = glorot_init(units, act, np.random.RandomState(0), np.float64)
            theta = layout.pack(coefs, inter, np.float64)
            X = rng.standard_normal((1500, 5))  # more rows than one chunk
            got = predict_proba(X, theta, layout, act, int(n_out > 1))
            np.testing.assert_allclose(
                got, ref.mlp_outputs(coefs, inter, X, act), rtol=1e-12, atol=1e-15
            )


def test_mc_samples_are_keyed_by_row_content(rng):
    units = [6, 8, 3]
    layout = Layout(units)
    coefs, inter = glorot_init(units, "relu", np.random.RandomState(0), np.float64)
    theta = layout.pack(coefs, inter, np.float64)
    X = rng.standard_normal((10, 6))
    mc = (0.8, 0.5, 4)
    a = predict_proba(X, theta, layout, "relu", 1, mc=mc, seed=3)
    b = predict_proba(X[::-1].copy(), theta, layout, "relu", 1, mc=mc, seed=3)
    assert a.shape == (4, 10, 3)
    np.testing.assert_array_equal(a, b[:, ::-1])
    assert not np.allclose(a[0], a[1])  # masks differ between samples
    np.testing.assert_allclose(a.sum(axis=2), 1.0)
