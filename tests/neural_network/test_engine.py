"""The MLP engine: objective vs a numpy reference, finite-difference gradients
of every loss/penalty (per activation, binary and multiclass), optimizer steps
vs their formulas, input gradients."""

import numpy as np
import pytest

from skreg.neural_network._engine import (
    Activation,
    Engine,
    EngineConfig,
    Layout,
    Status,
    glorot_init,
    loss_and_gradient,
)
from skreg.neural_network._engine import _elementwise as elementwise
from skreg.neural_network._engine._fast_dropout import gauss_moments
from skreg.neural_network._engine._layers import block
from skreg.neural_network._engine._losses import output_loss_delta
from skreg.neural_network._engine._passes import backward, forward
from skreg.neural_network._engine._records import INPUT_WITH_PENALTY, TRAIN, Rows

from .. import _reference as ref

ACTIVATIONS = ["relu", "tanh", "logistic", "identity"]


def _problem(seed, n_classes, activation, n=9, units=(5, 4, 3)):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, units[0]))
    y = np.arange(n) % n_classes
    n_out = 1 if n_classes == 2 else n_classes
    layout = Layout(list(units) + [n_out])
    coefs, inter = glorot_init(
        list(units) + [n_out], activation, np.random.RandomState(seed), np.float64
    )
    # move pre-activations off relu's kink and into the interesting range
    coefs = [2.0 * c for c in coefs]
    theta = layout.pack(coefs, inter, np.float64)
    sw = rng.uniform(0.5, 2.0, n)
    return X, y, sw, layout, theta


def _fd_check(theta, f, eps=1e-5, rtol=1e-5, atol=1e-6):
    # eps 1e-5: the binary loss -log(1 - p) carries ~1e-12 rounding (as
    # scikit-learn computes it), which a smaller step would amplify.
    loss, grad = f(theta)
    num = np.empty_like(theta)
    for k in range(theta.size):
        tp = theta.copy()
        tm = theta.copy()
        tp[k] += eps
        tm[k] -= eps
        num[k] = (f(tp)[0] - f(tm)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, num, rtol=rtol, atol=atol)
    return loss


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
        forward(theta, engine.net, engine.opts, ws, rows, 5, 2, TRAIN)
        P = block(ws.act, engine.net, n, L, n)
        DL = block(ws.delta, engine.net, n, L, n)
        loss = output_loss_delta(P, DL, Y, sw, idx, 0, 1, 1e-16)
        backward(theta, grad, engine.net, engine.opts, ws, rows, 5, 2, INPUT_WITH_PENALTY)
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
