"""Tangent propagation (Simard et al. 1992) on convolutional networks: the
directional derivative the tangent pass computes equals central
differences of the network along the tangent, the penalty equals a numpy
reference built from the loop references of convolution and pooling, and
the objective's gradient equals central finite differences, through max
and average pooling, stride and padding, for the logits' and the
probabilities' penalty."""

import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from skreg.neural_network._engine import (
    Engine,
    EngineConfig,
    Output,
    loss_and_gradient,
)

from ... import _reference as ref
from ._problems import CONV_ARCHS, CONV_IMAGE, _fd_check, conv_problem

IMAGE = CONV_IMAGE
ARCHS = {
    **CONV_ARCHS,
    # explicit zero padding, stride 2, a 1 x 2 max pool feeding a dense layer
    "pad_stride_max": [
        dict(filters=3, kernel_size=(3, 3), stride=2, padding=1, pool=(1, 2),
             pool_type="max"),
    ],
}  # fmt: skip


def _net(arch, seed, n_out, activation="tanh", hidden=(4,)):
    return conv_problem(IMAGE, ARCHS[arch], seed, n_out, activation, hidden)


def _problem(rng, n, k):
    """Inputs with pairwise distinct values (no ties in a pooling window
    for the finite differences to cross) and random tangents."""
    d = int(np.prod(IMAGE))
    X = (rng.permutation(n * d).reshape(n, d) + rng.uniform(0.1, 0.9, (n, d))) / (n * d)
    T = rng.standard_normal((n, k, d))
    sw = rng.uniform(0.5, 2.0, n)
    return X, T, sw


def _reference_logits(X, arch, coefs, inter, activation):
    return ref.conv_net_logits(X, IMAGE, ARCHS[arch], coefs, inter, activation)


def _reference_outputs(X, arch, coefs, inter, activation, output):
    z = _reference_logits(X, arch, coefs, inter, activation)
    if output == "logits":
        return z
    if z.shape[1] == 1:
        return 1 / (1 + np.exp(-z))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _reference_jvp(X, T, arch, coefs, inter, activation, output, h=1e-6):
    """``J_f(x_i) v_it`` by central differences of the numpy network,
    shape ``(n, k, n_out)``."""
    n, k, _ = T.shape
    out = []
    for t in range(k):
        up = _reference_outputs(X + h * T[:, t], arch, coefs, inter, activation, output)
        dn = _reference_outputs(X - h * T[:, t], arch, coefs, inter, activation, output)
        out.append((up - dn) / (2 * h))
    return np.stack(out, axis=1)


def _config(activation, tangent_alpha, output, **kw):
    return EngineConfig(
        activation=activation, tangent_alpha=tangent_alpha, tangent_output=output,
        **kw,
    )  # fmt: skip


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_tangent_of_the_logits_is_the_directional_derivative(rng, arch, activation):
    # the tangent pass's J v (left in the products buffer of the last layer)
    # against (f(x + h v) - f(x - h v)) / 2h of the numpy network's logits
    n, k = 4, 3
    X, T, sw = _problem(rng, n, k)
    y = np.arange(n) % 3
    layout, coefs, inter, theta = _net(arch, 0, 3, activation)
    engine = Engine(_config(activation, 1.0, "logits"), layout, int(Output.SOFTMAX),
                    np.float64, n, n_tangents=k)  # fmt: skip
    state = engine.state(theta.copy())
    data = engine.data(X, y, sw, T)
    engine.objective(state, data, np.arange(n))
    tws = engine.extra[1]
    units = layout.units
    off = n * k * int(units[1:-1].sum())
    J = tws.products[off : off + n * k * 3].reshape(n, k, 3)
    expected = _reference_jvp(X, T, arch, coefs, inter, activation, "logits")
    np.testing.assert_allclose(J, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("output", ["logits", "proba"])
@pytest.mark.parametrize("n_out", [1, 3])
def test_penalty_equals_the_numpy_reference(rng, arch, output, n_out):
    n, k = 5, 2
    X, T, sw = _problem(rng, n, k)
    y = np.arange(n) % max(n_out, 2)
    out_kind = Output.LOGISTIC if n_out == 1 else Output.SOFTMAX
    layout, coefs, inter, theta = _net(arch, 1, n_out)
    alpha = 0.7
    with_pen = loss_and_gradient(
        theta, layout, X, y, sw, _config("tanh", alpha, output), out_kind, tangents=T
    )[0]
    without = loss_and_gradient(
        theta, layout, X, y, sw, _config("tanh", 0.0, output), out_kind, tangents=T
    )[0]
    jv = _reference_jvp(X, T, arch, coefs, inter, "tanh", output)
    expected = alpha * np.sum(sw * np.sum(jv**2, axis=(1, 2))) / sw.sum()
    assert expected > 1e-4  # a penalty the comparison can see
    np.testing.assert_allclose(with_pen - without, expected, rtol=1e-6)
    # and the data term is the plain network's loss
    z = _reference_logits(X, arch, coefs, inter, "tanh")
    if n_out == 1:
        p1 = 1 / (1 + np.exp(-z[:, 0]))
        data = -(sw * np.log(np.where(y == 1, p1, 1 - p1))).sum() / sw.sum()
    else:
        logp = z - z.max(axis=1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
        data = -(sw * logp[np.arange(n), y]).sum() / sw.sum()
    assert without == pytest.approx(data, rel=1e-10)


CONFIGS = {
    "plain": dict(),
    "relu": dict(activation="relu"),
    "logistic_l2": dict(activation="logistic", alpha=0.2),
    "bernoulli": dict(dropout="bernoulli", keep_input=0.8, keep_hidden=0.7),
    "rademacher": dict(tangent_sampling="rademacher"),
}


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("output", ["logits", "proba"])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_objective_gradient_by_finite_differences(rng, arch, output, config):
    kw = dict(CONFIGS[config])
    activation = kw.pop("activation", "tanh")
    n, k = 4, 2
    X, T, sw = _problem(rng, n, k)
    y = np.arange(n) % 3
    layout, _, _, theta = _net(arch, 2, 3, activation)
    cfg = _config(activation, 0.7, output, **kw)

    def f(t):
        return loss_and_gradient(
            t, layout, X, y, sw, cfg, Output.SOFTMAX, seed=3, step=2, tangents=T
        )

    _fd_check(theta, f, eps=1e-6, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("output", ["logits", "proba"])
def test_objective_gradient_of_a_single_logistic_output(rng, output):
    n, k = 5, 2
    X, T, sw = _problem(rng, n, k)
    y = np.arange(n) % 2
    layout, _, _, theta = _net("same_max", 3, 1)
    cfg = _config("tanh", 0.7, output)

    def f(t):
        return loss_and_gradient(t, layout, X, y, sw, cfg, Output.LOGISTIC, tangents=T)

    _fd_check(theta, f, eps=1e-6, rtol=1e-5, atol=1e-7)


_DENSE_SCRIPT = r"""
import warnings
warnings.simplefilter("ignore")
import numpy as np
from skreg.neural_network import TangentPropMLPClassifier
from skreg.neural_network._engine import _conv, _tangent
X = np.random.default_rng(0).uniform(size=(40, 16)); y = np.arange(40) % 3
TangentPropMLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, y)
conv = [_conv.im2col, _conv.col2im_add, _conv.conv_linear, _conv.conv_weight_grad,
        _conv.conv_input_grad, _conv.maxpool_forward, _conv.maxpool_backward,
        _conv.avgpool_forward, _conv.avgpool_backward,
        _tangent.maxpool_jvp_grouped, _tangent.maxpool_backward_grouped]
print(len(_tangent.tangent_forward.signatures), sum(len(f.signatures) for f in conv))
"""


@pytest.mark.slow
def test_a_dense_tangent_fit_compiles_no_convolution_code():
    # with an empty cache every kernel the fit needs is compiled in the
    # process, callees included: none of them is a convolution or pooling one
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run(
            [sys.executable, "-c", _DENSE_SCRIPT],
            capture_output=True,
            text=True,
            check=True,
            timeout=900,
            env=env,
        )
    n_tangent, n_conv = map(int, out.stdout.split())
    assert n_tangent == 1
    assert n_conv == 0
