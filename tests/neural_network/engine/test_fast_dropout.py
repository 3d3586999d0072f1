"""Fast dropout (``_fast_dropout``): the expected objective's gradient by
central differences, its no-dropout limit, and the Gaussian moment maps
against sampling."""

import numpy as np
import pytest

from skreg.neural_network._engine import Activation, EngineConfig, loss_and_gradient
from skreg.neural_network._engine._fast_dropout import gauss_moments

from ... import _reference as ref
from ._problems import ACTIVATIONS, _fd_check, _problem


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_fast_dropout_gradient(activation, n_classes, seed):
    X, y, sw, layout, theta = _problem(seed, n_classes, activation)
    cfg = EngineConfig(
        activation=activation,
        dropout="fast",
        keep_input=0.8,
        keep_hidden=0.5,
        alpha=0.1,
        tie_ref=theta * 0.5,
        tie_alpha=0.1,
    )
    out_kind = 0 if n_classes == 2 else 1

    def f(t):
        return loss_and_gradient(t, layout, X, y, sw, cfg, out_kind)

    _fd_check(theta, f)


def test_fast_dropout_without_dropout_is_the_plain_objective():
    X, y, sw, layout, theta = _problem(0, 3, "relu")
    fast = EngineConfig(
        activation="relu", dropout="fast", keep_input=1.0, keep_hidden=1.0
    )
    a = loss_and_gradient(theta, layout, X, y, sw, fast, 1)
    b = loss_and_gradient(theta, layout, X, y, sw, EngineConfig(activation="relu"), 1)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_fast_dropout_moments_match_monte_carlo(activation):
    """The Gaussian moment maps against sampling z ~ N(mu, var)."""
    rng = np.random.default_rng(0)
    for mu, var in [(0.3, 0.5), (-1.0, 2.0), (2.0, 0.1)]:
        z = mu + np.sqrt(var) * rng.standard_normal(400_000)
        h = ref._mlp_act(z, activation)
        m, v = gauss_moments(mu, var, int(Activation[activation.upper()]))[:2]
        exact = activation in ("relu", "identity")
        # relu/identity: exact moments (MC error only); logistic/tanh: the
        # probit mean and delta-method variance are approximations
        tol, rel = (0.005, 0.02) if exact else (0.02, 0.25)
        assert abs(m - h.mean()) < tol + rel * abs(h.mean())
        assert abs(v - h.var()) < tol + rel * h.var()
