"""Optimizers (``_optimizers``): sgd, Nesterov and adam steps against their
formulas in numpy, max-norm, and the tying penalty's pull."""

import numpy as np
import pytest

from skreg.neural_network._engine import Engine, EngineConfig, Status, loss_and_gradient

from ... import _reference as ref
from ._problems import _problem


def _one_batch_run(theta, layout, X, y, cfg, out_kind, lr, n_epochs):
    n = X.shape[0]
    theta = theta.copy()
    engine = Engine(cfg, layout, out_kind, theta.dtype, n)
    m1 = np.zeros_like(theta)
    m2 = np.zeros_like(theta)
    state = engine.state(theta, m1, m2)
    data = engine.data(X, y, np.ones(n))
    order = np.arange(n, dtype=np.int64)
    step = opt_step = 0
    for _ in range(n_epochs):
        status, _, step, opt_step = engine.run_epoch(
            state, data, order, 0, step, opt_step, lr
        )
        assert status == Status.OK
    return theta


@pytest.mark.parametrize("solver", ["adam", "sgd", "sgd-nesterov"])
def test_optimizer_steps_match_the_formulas(solver):
    X, y, _, layout, theta = _problem(0, 3, "tanh")
    cfg = EngineConfig(
        activation="tanh",
        alpha=0.05,
        solver=solver.split("-")[0],
        momentum=0.8,
        nesterovs_momentum=solver.endswith("nesterov"),
        beta_1=0.85,
        beta_2=0.99,
        epsilon=1e-7,
    )

    def g_of(t):
        return loss_and_gradient(t, layout, X, y, None, cfg, 1)[1]

    got = _one_batch_run(theta, layout, X, y, cfg, 1, lr=0.05, n_epochs=3)
    if solver == "adam":
        want = ref.adam_steps(theta, [g_of] * 3, 0.05, 0.85, 0.99, 1e-7)
    else:
        want = ref.sgd_steps(theta, [g_of] * 3, 0.05, 0.8, solver.endswith("nesterov"))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


def test_max_norm_caps_incoming_weight_norms():
    X, y, _, layout, theta = _problem(0, 3, "relu")
    cfg = EngineConfig(activation="relu", solver="sgd", max_norm=0.5, momentum=0.0)
    got = _one_batch_run(theta, layout, X, y, cfg, 1, lr=0.1, n_epochs=2)
    for W in layout.unpack(got)[0]:
        assert np.linalg.norm(W, axis=0).max() <= 0.5 + 1e-12
        assert np.linalg.norm(W, axis=0).max() >= 0.5 - 1e-12  # active here


def test_tie_pulls_towards_reference():
    X, y, _, layout, theta = _problem(0, 3, "relu")
    tie = np.zeros_like(theta)
    cfg = EngineConfig(
        activation="relu", solver="sgd", momentum=0.0, tie_ref=tie, tie_alpha=5.0
    )
    got = _one_batch_run(theta, layout, X, y, cfg, 1, lr=0.05, n_epochs=30)
    assert np.linalg.norm(got) < 0.1 * np.linalg.norm(theta)
