"""Fast dropout (Wang & Manning 2013) on convolutional networks: the
expected objective's gradient equals central finite differences through
convolutions (stride, padding) and max / average pooling; without dropout
the moments are the plain forward pass with zero variance; and the
predicted moments of a pre-activation agree with sampled Bernoulli masks
where the Gaussian approximation is exact (independent inputs), which
checks the variance formulas themselves."""

import numpy as np
import pytest

from skreg.neural_network._engine import (
    EngineConfig,
    Output,
    loss_and_gradient,
    predict_moments,
    predict_proba,
)

from ... import _reference as ref
from ._problems import CONV_ARCHS, CONV_IMAGE, _fd_check, conv_problem

IMAGE = CONV_IMAGE
ARCHS = {
    **CONV_ARCHS,
    # zero padding, a rectangular max window (7x6 -> 3x2, a row left over),
    # then average pooling of a convolution's output before the dense layer
    "pad_max_conv_avg": [
        dict(filters=2, kernel_size=(2, 2), stride=1, padding=1, pool=(2, 3),
             pool_type="max"),
        dict(filters=3, kernel_size=(2, 2), stride=1, padding="valid",
             pool=(2, 1), pool_type="avg"),
    ],
    "valid_no_pool": [
        dict(filters=2, kernel_size=(3, 3), stride=1, padding="valid", pool=0),
    ],
}  # fmt: skip


def _net(arch, seed, n_out, activation="tanh", hidden=(4,), image=IMAGE):
    conv = ARCHS[arch] if isinstance(arch, str) else arch
    return conv_problem(image, conv, seed, n_out, activation, hidden)


DROPOUTS = {
    "both": dict(keep_input=0.8, keep_hidden=0.6),
    "input": dict(keep_input=0.7, keep_hidden=1.0),
    "hidden": dict(keep_input=1.0, keep_hidden=0.5),
}


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("dropout", list(DROPOUTS))
@pytest.mark.parametrize("out_kind", [Output.SOFTMAX, Output.IDENTITY])
def test_conv_fast_dropout_gradient_by_finite_differences(rng, arch, dropout, out_kind):
    # uniform inputs: distinct values, so no two means of a max window tie
    # and the winners stay put under the finite-difference step
    X = rng.uniform(0, 1, (5, int(np.prod(IMAGE))))
    if out_kind == Output.SOFTMAX:
        y, n_out = np.arange(5) % 3, 3
    else:  # one output: the loss of several averages them (not a gradient)
        y, n_out = rng.standard_normal((5, 1)), 1
    sw = rng.uniform(0.5, 2.0, 5)
    layout, _, _, theta = _net(arch, 1, n_out)
    cfg = EngineConfig(
        activation="tanh", dropout="fast", alpha=0.1, **DROPOUTS[dropout]
    )

    def f(t):
        return loss_and_gradient(t, layout, X, y, sw, cfg, out_kind)

    _fd_check(theta, f)


@pytest.mark.parametrize("arch", ["same_max", "pad_max_conv_avg"])
def test_conv_fast_dropout_gradient_with_relu(rng, arch):
    X = rng.uniform(0, 1, (5, int(np.prod(IMAGE))))
    y = np.arange(5) % 3
    layout, _, _, theta = _net(arch, 2, 3, "relu")
    cfg = EngineConfig(activation="relu", dropout="fast", **DROPOUTS["both"])

    def f(t):
        return loss_and_gradient(t, layout, X, y, None, cfg, Output.SOFTMAX)

    _fd_check(theta, f)


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_conv_fast_dropout_without_dropout_is_the_plain_pass(rng, arch, activation):
    X = rng.uniform(0, 1, (6, int(np.prod(IMAGE))))
    y = np.arange(6) % 3
    sw = rng.uniform(0.5, 2.0, 6)
    layout, _, _, theta = _net(arch, 3, 3, activation)
    fast = EngineConfig(
        activation=activation, dropout="fast", keep_input=1.0, keep_hidden=1.0
    )
    plain = EngineConfig(activation=activation)
    loss_f, grad_f = loss_and_gradient(theta, layout, X, y, sw, fast, Output.SOFTMAX)
    grad_f = grad_f.copy()
    loss_p, grad_p = loss_and_gradient(theta, layout, X, y, sw, plain, Output.SOFTMAX)
    mean, var = predict_moments(X, theta, layout, activation, 1.0, 1.0)
    out = predict_proba(X, theta, layout, activation, int(Output.IDENTITY))
    if activation == "relu":
        # a relu unit's variance is floored at 1e-12 (its moment map divides
        # by the standard deviation), and the next layers pass that on
        rel, atol, var_max = 1e-9, 1e-10, 1e-9
    else:
        rel, atol, var_max = 1e-12, 1e-13, 0.0
    assert loss_f == pytest.approx(loss_p, rel=rel)
    np.testing.assert_allclose(grad_f, grad_p, rtol=1e-10, atol=atol)
    # the moments of the outputs: the plain outputs, no variance
    np.testing.assert_allclose(mean, out, rtol=1e-12, atol=max(atol, 1e-13))
    assert (var >= 0).all() and var.max() <= var_max


# --- against sampled masks ---------------------------------------------------


def _linear_map(f, n_in):
    """``(A, c)`` with ``f(x) = x A + c`` for the affine ``f`` of a batch
    of rows, read off the unit vectors."""
    c = f(np.zeros((1, n_in)))[0]
    return f(np.eye(n_in)) - c, c


def _sampled_moments(x, keep_in, keep_hid, conv, b_conv, pool, W, b, act, n, seed):
    """Mean and variance of the output pre-activations ``h W + b`` of one
    input row ``x`` over ``n`` sampled mask pairs, with ``h`` the (pooled)
    conv layer's output ``act(x~ conv + b_conv)`` after its mask; every map
    from the loop references."""
    rs = np.random.default_rng(seed)
    xs = x * (rs.uniform(size=(n, x.size)) < keep_in) / keep_in
    a = act(xs @ conv + b_conv)
    a = a * (rs.uniform(size=a.shape) < keep_hid) / keep_hid
    z = pool(a) @ W + b
    mean = z.mean(axis=0)
    var = z.var(axis=0)
    # standard errors of the sample mean and of the sample variance
    se_mean = np.sqrt(var / n)
    se_var = np.sqrt((((z - mean) ** 2 - var) ** 2).mean(axis=0) / n)
    return mean, var, se_mean, se_var


MC_CASES = {
    # overlapping windows, several filters: the conv outputs share inputs,
    # so only the hidden units' masks keep the dense layer's inputs
    # independent (and the Gaussian moment map of tanh is exact at zero
    # variance)
    "hidden_masks": (
        dict(filters=3, kernel_size=(3, 3), stride=1, padding="same"),
        "tanh", 1.0, 0.6,
    ),
    # one filter whose windows tile the (padded) image: every conv output
    # has inputs of its own, so with a linear unit both masks keep the
    # moments exact
    "both_masks": (
        dict(filters=1, kernel_size=(2, 2), stride=2, padding=1),
        "identity", 0.7, 0.5,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(MC_CASES))
@pytest.mark.parametrize("pool", [0, 2])
def test_conv_fast_dropout_moments_match_sampled_masks(case, pool):
    spec, activation, keep_in, keep_hid = MC_CASES[case]
    spec = dict(spec, pool=pool, pool_type="avg")
    rs = np.random.default_rng(5)
    n_in = int(np.prod(IMAGE))
    X = rs.uniform(0, 1, (3, n_in))
    # the output layer is the first dense layer: its logits' moments
    layout, coefs, inter, theta = _net([spec], 4, 2, activation, hidden=())
    mean, var = predict_moments(X, theta, layout, activation, keep_in, keep_hid)
    assert (var > 0).all()

    pad = spec["padding"]
    pad = (pad,) * 4 if isinstance(pad, int) else pad

    def conv_layer(A):
        Z = ref.conv2d_reference(A, coefs[0], inter[0], IMAGE, spec["stride"], pad)
        return Z.reshape(len(A), -1), Z.shape[1:]

    conv, b_conv = _linear_map(lambda A: conv_layer(A)[0], n_in)
    if pool:
        P, _ = _linear_map(
            lambda A: ref.avgpool_reference(A, conv_layer(X[:1])[1], pool).reshape(
                len(A), -1
            ),
            conv.shape[1],
        )
    else:
        P = np.eye(conv.shape[1])
    act = {"tanh": np.tanh, "identity": lambda v: v}[activation]
    for i in range(len(X)):
        m, v, se_m, se_v = _sampled_moments(
            X[i], keep_in, keep_hid, conv, b_conv, lambda a: a @ P, coefs[1],
            inter[1], act, 20_000, seed=i,
        )  # fmt: skip
        np.testing.assert_array_less(np.abs(mean[i] - m), 4 * se_m)
        np.testing.assert_array_less(np.abs(var[i] - v), 4 * se_v)


def test_conv_fast_dropout_max_pooling_passes_on_the_winner_by_mean():
    # without input dropout the conv outputs are constants h, so after the
    # hidden masks each has mean h and variance h^2 (1 - p) / p: a max
    # window passes on the mean and that variance of its largest h
    spec = dict(filters=3, kernel_size=(3, 3), stride=1, padding="same", pool=2,
                pool_type="max")  # fmt: skip
    keep = 0.6
    X = np.random.default_rng(6).uniform(0, 1, (4, int(np.prod(IMAGE))))
    layout, coefs, inter, theta = _net([spec], 7, 2, "tanh", hidden=())
    mean, var = predict_moments(X, theta, layout, "tanh", 1.0, keep)
    Z = ref.conv2d_reference(X, coefs[0], inter[0], IMAGE, 1, "same")
    H = np.tanh(Z)  # (n, 6, 5, 3), windows 2x2 over a 6x4 crop
    win = H[:, :6, :4].reshape(4, 3, 2, 2, 2, 3).transpose(0, 1, 3, 5, 2, 4)
    win = win.reshape(4, 3, 2, 3, 4)
    best = win.max(axis=-1).reshape(4, -1)
    q = (best**2 * (1 - keep) / keep).reshape(4, -1)
    np.testing.assert_allclose(mean, best @ coefs[1] + inter[1], rtol=1e-12)
    np.testing.assert_allclose(var, q @ coefs[1] ** 2, rtol=1e-12)
