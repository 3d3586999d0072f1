"""Forward and backward passes (``_passes``) through the plain mode's
objective: value against the numpy reference, gradient by central
differences, for every activation, output kind and penalty; Bernoulli
dropout with fixed masks; the input gradient."""

import numpy as np
import pytest

from skreg.neural_network._engine import Engine, EngineConfig, loss_and_gradient
from skreg.neural_network._engine._layers import block
from skreg.neural_network._engine._losses import output_loss_delta
from skreg.neural_network._engine._passes import backward, forward
from skreg.neural_network._engine._records import INPUT_WITH_PENALTY, TRAIN, Rows

from ... import _reference as ref
from ._problems import ACTIVATIONS, _fd_check, _problem

NO_TARGETS = np.empty((0, 1))

PENALTIES = [
    dict(),
    dict(alpha=0.3),
    dict(activation_penalty="l1", activation_penalty_alpha=0.1),
    dict(
        activation_penalty="student_t",
        activation_penalty_alpha=0.2,
        student_t_gamma=1.5,
    ),
    dict(activation_penalty="kl", activation_penalty_alpha=0.2, sparsity_target=0.2),
    dict(tie_alpha=0.4),
    dict(max_norm=1.0),  # a constraint: no effect on the objective
]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("opts", PENALTIES, ids=lambda o: next(iter(o), "plain"))
def test_objective_and_gradient(activation, n_classes, opts, seed):
    X, y, sw, layout, theta = _problem(seed, n_classes, activation)
    opts = dict(opts)
    tie = None
    if "tie_alpha" in opts:
        tie = theta + np.random.default_rng(seed + 7).normal(0, 0.3, theta.shape)
        opts["tie_ref"] = tie
    cfg = EngineConfig(activation=activation, **opts)
    out_kind = 0 if n_classes == 2 else 1

    def f(t):
        return loss_and_gradient(t, layout, X, y, sw, cfg, out_kind)

    loss = _fd_check(theta, f)
    coefs, inter = layout.unpack(theta)
    tc, ti = layout.unpack(tie) if tie is not None else (None, None)
    expected = ref.mlp_objective(
        coefs,
        inter,
        X,
        y,
        sw,
        activation,
        alpha=opts.get("alpha", 0.0),
        penalty=opts.get("activation_penalty"),
        penalty_alpha=opts.get("activation_penalty_alpha", 0.0),
        gamma=opts.get("student_t_gamma", 1.0),
        rho=opts.get("sparsity_target", 0.05),
        tie_coefs=tc,
        tie_intercepts=ti,
        tie_alpha=opts.get("tie_alpha", 0.0),
    )
    np.testing.assert_allclose(loss, expected, rtol=1e-10)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_bernoulli_dropout_gradient_with_fixed_masks(activation, n_classes, seed):
    """Masks are a function of (seed, step, sample, unit): fixed masks, exact FD."""
    X, y, sw, layout, theta = _problem(seed, n_classes, activation)
    cfg = EngineConfig(
        activation=activation,
        dropout="bernoulli",
        keep_input=0.7,
        keep_hidden=0.6,
        alpha=0.1,
        activation_penalty="student_t",
        activation_penalty_alpha=0.1,
    )
    out_kind = 0 if n_classes == 2 else 1

    def f(t):
        return loss_and_gradient(t, layout, X, y, sw, cfg, out_kind, seed=11, step=3)

    _fd_check(theta, f)
    # the masks do something, and another step draws other masks
    plain = loss_and_gradient(
        theta,
        layout,
        X,
        y,
        sw,
        EngineConfig(
            activation=activation,
            alpha=0.1,
            activation_penalty="student_t",
            activation_penalty_alpha=0.1,
        ),
        out_kind,
    )[0]
    l3 = f(theta)[0]
    l4 = loss_and_gradient(theta, layout, X, y, sw, cfg, out_kind, seed=11, step=4)[0]
    assert l3 != plain and l3 != l4


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_input_gradient_kernel_under_dropout(activation):
    """The building block of the adversarial hook: dJ/dx from backward, with
    fixed dropout masks on the inputs and hidden units."""
    X, y, sw, layout, theta = _problem(0, 3, activation)
    cfg = EngineConfig(
        activation=activation, dropout="bernoulli", keep_input=0.7, keep_hidden=0.6
    )
    n, n0 = X.shape
    L = layout.n_layers
    engine = Engine(cfg, layout, 1, np.float64, n)
    ws = engine.ws
    grad = np.zeros_like(theta)
    idx = np.arange(n, dtype=np.int64)
    Y = y.astype(np.int64)

    def run(Xv):
        rows = Rows(np.ascontiguousarray(Xv), idx, idx, 0, n, sw)
        forward(theta, engine.net, engine.opts, ws, rows, None, 5, 2, TRAIN)
        P = block(ws.act, engine.net, n, L, n)
        DL = block(ws.delta, engine.net, n, L, n)
        loss = output_loss_delta(P, DL, Y, NO_TARGETS, sw, idx, 0, 1, 1e-16)
        what = INPUT_WITH_PENALTY
        backward(theta, grad, engine.net, engine.opts, ws, rows, None, 5, 2, what)
        return loss, ws.delta[: n * n0].reshape(n, n0).copy()

    _, G = run(X)
    eps = 1e-6
    num = np.empty_like(X)
    for r in range(n):
        for j in range(n0):
            Xp = X.copy()
            Xm = X.copy()
            Xp[r, j] += eps
            Xm[r, j] -= eps
            num[r, j] = (run(Xp)[0] - run(Xm)[0]) / (2 * eps)
    np.testing.assert_allclose(G, num, rtol=1e-5, atol=1e-7)
    assert (G == 0).any()  # dropped inputs get no gradient
