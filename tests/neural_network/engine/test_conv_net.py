"""Convolutional layers inside the engine's passes: the loss of a small
conv net equals a numpy composition of the loop references, and its
weight and input gradients equal central finite differences, with
pooling (max, average), stride, padding, Bernoulli dropout (fixed masks),
activation penalties, L2 and the three output kinds."""

import numpy as np
import pytest

from skreg.neural_network._engine import (
    EngineConfig,
    Layout,
    Output,
    glorot_init_layout,
    input_gradient,
    loss_and_gradient,
    predict_proba,
)

from ... import _reference as ref
from ._problems import CONV_ARCHS, CONV_IMAGE, _fd_check, conv_problem

IMAGE = CONV_IMAGE
ARCHS = {
    **CONV_ARCHS,
    "valid_no_pool": [
        dict(filters=2, kernel_size=(3, 3), stride=1, padding="valid", pool=0),
    ],
}  # fmt: skip


def _net(arch, seed, n_out, activation="tanh", hidden=(4,)):
    layout, coefs, inter, theta = conv_problem(
        IMAGE, ARCHS[arch], seed, n_out, activation, hidden
    )
    return layout, coefs, theta, inter


def _reference_logits(X, arch, coefs, inter, activation):
    return ref.conv_net_logits(X, IMAGE, ARCHS[arch], coefs, inter, activation)


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_conv_net_loss_equals_the_reference(rng, arch, activation):
    X = rng.uniform(0, 1, (7, int(np.prod(IMAGE))))
    y = np.arange(7) % 3
    layout, coefs, theta, inter = _net(arch, 0, 3, activation)
    logits = _reference_logits(X, arch, coefs, inter, activation)
    logp = logits - logits.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    expected = -logp[np.arange(7), y].mean()
    cfg = EngineConfig(activation=activation)
    loss, _ = loss_and_gradient(theta, layout, X, y, None, cfg, Output.SOFTMAX)
    assert loss == pytest.approx(expected, rel=1e-12)
    proba = predict_proba(X, theta, layout, activation, int(Output.SOFTMAX))
    np.testing.assert_allclose(proba, np.exp(logp), rtol=1e-11, atol=1e-14)


CONFIGS = {
    "plain": dict(),
    "l2": dict(alpha=0.3),
    "bernoulli": dict(dropout="bernoulli", keep_input=0.8, keep_hidden=0.6),
    "l1_penalty": dict(activation_penalty="l1", activation_penalty_alpha=0.1),
    "kl_penalty": dict(
        activation="logistic", activation_penalty="kl", activation_penalty_alpha=0.2
    ),
}


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("config", list(CONFIGS))
def test_conv_net_gradient_by_finite_differences(rng, arch, config):
    kw = dict(CONFIGS[config])
    activation = kw.pop("activation", "tanh")
    X = rng.uniform(0, 1, (5, int(np.prod(IMAGE))))
    y = np.arange(5) % 3
    sw = rng.uniform(0.5, 2.0, 5)
    layout, _, theta, _ = _net(arch, 1, 3, activation)
    cfg = EngineConfig(activation=activation, **kw)

    def f(t):
        return loss_and_gradient(
            t, layout, X, y, sw, cfg, Output.SOFTMAX, seed=3, step=2
        )

    _fd_check(theta, f)


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize(
    "out_kind", [Output.LOGISTIC, Output.IDENTITY, Output.MULTILABEL]
)
def test_conv_net_outputs_by_finite_differences(rng, arch, out_kind):
    X = rng.uniform(0, 1, (5, int(np.prod(IMAGE))))
    # one identity output: with several, scikit-learn's convention (loss
    # averaged over outputs, gradient of their sum) is not a gradient
    n_out = 2 if out_kind == Output.MULTILABEL else 1
    if out_kind == Output.LOGISTIC:
        y = np.arange(5) % 2
    elif out_kind == Output.IDENTITY:
        y = rng.standard_normal((5, 1))
    else:
        y = (rng.uniform(size=(5, 2)) > 0.5).astype(float)
    layout, _, theta, _ = _net(arch, 2, n_out)
    cfg = EngineConfig(activation="tanh", alpha=0.1)

    def f(t):
        return loss_and_gradient(t, layout, X, y, None, cfg, out_kind)

    _fd_check(theta, f)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_conv_net_input_gradient_by_finite_differences(rng, arch):
    # the gradient FGSM, PGD and VAT step along: through conv and pooling
    X = rng.uniform(0, 1, (3, int(np.prod(IMAGE))))
    y = np.arange(3) % 3
    layout, _, theta, _ = _net(arch, 3, 3)
    cfg = EngineConfig(activation="tanh")
    G = input_gradient(X, y, theta, layout, "tanh", int(Output.SOFTMAX))
    eps = 1e-6
    for i in range(3):
        for j in range(0, X.shape[1], 7):
            Xp = X.copy()
            Xm = X.copy()
            Xp[i, j] += eps
            Xm[i, j] -= eps
            # the per-sample loss: the mean over one row
            lp = loss_and_gradient(
                theta, layout, Xp[i : i + 1], y[i : i + 1], None, cfg, Output.SOFTMAX
            )[0]
            lm = loss_and_gradient(
                theta, layout, Xm[i : i + 1], y[i : i + 1], None, cfg, Output.SOFTMAX
            )[0]
            assert G[i, j] == pytest.approx((lp - lm) / (2 * eps), rel=1e-5, abs=1e-8)


def test_conv_layout_shapes_and_offsets():
    layout = Layout.convolutional(IMAGE, ARCHS["same_max"], (4,), 3)
    # 6x5x2 -> same 3x3, 3 filters: 6x5x3 -> max 2: 3x2x3 -> valid 2x2, 2
    # filters: 2x1x2 -> dense 4 -> 3
    assert list(layout.units) == [60, 90, 4, 4, 3]
    assert layout.coef_shapes == [(3, 3, 2, 3), (2, 2, 3, 2), (4, 4), (4, 3)]
    assert list(layout.fan_in) == [18, 12, 4, 4]
    assert layout.n_params == 18 * 3 + 12 * 2 + 16 + 12 + 3 + 2 + 4 + 3
    assert layout.pool[1, 0] == 1 and list(layout.pool[1, 1:7]) == [6, 5, 3, 2, 3, 2]
    assert layout.n_pooled == 18
    coefs, inter = glorot_init_layout(
        layout, "relu", np.random.RandomState(0), np.float64
    )
    theta = layout.pack(coefs, inter, np.float64)
    back, back_b = layout.unpack(theta)
    for a, b in zip(coefs + inter, back + back_b, strict=True):
        np.testing.assert_array_equal(a, b)
    # Glorot over the receptive field: 3x3x2 inputs, 3x3x3 outputs
    assert np.abs(coefs[0]).max() <= np.sqrt(6 / (18 + 27))


@pytest.mark.parametrize("arch", list(ARCHS))
def test_conv_net_fgsm_objective_is_goodfellows(rng, arch):
    # FGSM's objective a L(x) + (1 - a) L(x + eps sign(grad_x L)), with
    # the adversarial point held fixed in the gradient (Goodfellow et al.
    # 2015), from the plain loss and the input gradient of the same net
    X = rng.uniform(0, 1, (6, int(np.prod(IMAGE))))
    y = np.arange(6) % 3
    sw = rng.uniform(0.5, 2.0, 6)
    layout, _, theta, _ = _net(arch, 4, 3)
    eps, a = 0.05, 0.3
    cfg = EngineConfig(
        activation="tanh", adversarial="fgsm", adversarial_epsilon=eps,
        adversarial_weight=a,
    )  # fmt: skip
    loss, grad = loss_and_gradient(theta, layout, X, y, sw, cfg, Output.SOFTMAX)
    G = input_gradient(X, y, theta, layout, "tanh", int(Output.SOFTMAX))
    X_adv = X + eps * np.sign(G)
    plain = EngineConfig(activation="tanh")
    l_clean, g_clean = loss_and_gradient(theta, layout, X, y, sw, plain, Output.SOFTMAX)
    g_clean = g_clean.copy()
    l_adv, g_adv = loss_and_gradient(theta, layout, X_adv, y, sw, plain, Output.SOFTMAX)
    assert loss == pytest.approx(a * l_clean + (1 - a) * l_adv, rel=1e-12)
    np.testing.assert_allclose(
        grad, a * g_clean + (1 - a) * g_adv, rtol=1e-10, atol=1e-13
    )
