"""Penalties: on hidden activations (the loss term and its gradient from one
formula per kind) and on the parameters (L2, tying).

Activation penalties (Goodfellow et al., eq. 7.48, ``alpha Omega(h)``)
* ``l1``: ``sum |h|``;
* ``student_t``: ``sum log(1 + gamma h^2)`` (Olshausen & Field 1996);
* ``kl``: ``sum_j KL(rho || rho_hat_j)`` with ``rho_hat_j`` the weighted
  batch mean of unit j's firing rate in (0, 1) (Ng's sparse autoencoder
  notes): the unit itself for logistic units, ``(1 + h) / 2`` for tanh and
  ``sigmoid(z)`` of the pre-activation for relu and identity units.
Each kind's value and weighted derivative come from one scalar function
below, which the forward pass reads the value of and the backward pass the
derivative (LLVM drops the unused half).

Parameter penalties: ``0.5 alpha ||W||^2 / S`` (scikit-learn's L2, ``S``
the batch weight sum) and the tying penalty ``tie_alpha ||theta - ref||^2``
(Goodfellow et al., eq. 7.45).
"""

import math

from ...utils._numba import jit
from ._elementwise import (
    ACT_IDENTITY,
    ACT_LOGISTIC,
    ACT_RELU,
    ACT_TANH,
    firing_rate,
    sigmoid,
)
from ._records import Penalty

PEN_NONE = int(Penalty.NONE)
PEN_L1 = int(Penalty.L1)
PEN_STUDENT_T = int(Penalty.STUDENT_T)
PEN_KL = int(Penalty.KL)

#: Firing rates are clipped into [clip, 1 - clip] before the KL's logs.
_KL_CLIP = 1e-6


@jit(inline="always")
def _l1(h, w):
    """``|h|`` and ``w d|h|/dh``."""
    return abs(h), (w if h > 0 else (-w if h < 0 else 0.0))


@jit(inline="always")
def _student_t(h, gam, w):
    """``log(1 + gam h^2)`` and ``w`` times its derivative."""
    return math.log1p(gam * h * h), w * 2.0 * gam * h / (1.0 + gam * h * h)


@jit(inline="always")
def _kl(rho, q):
    """``KL(rho || q)`` of Bernoulli means and its derivative in ``q``."""
    value = rho * math.log(rho / q) + (1.0 - rho) * math.log((1.0 - rho) / (1.0 - q))
    return value, -rho / q + (1.0 - rho) / (1.0 - q)


@jit
def activation_penalty(Hv, Zv, rows, act, pen, rate, sw_sum):
    """Value of one hidden layer's activation penalty, times ``sw_sum``.

    ``rate`` receives the KL penalty's clipped batch mean firing rates,
    which :func:`activation_penalty_grad` reads back.
    """
    nb, cols = Hv.shape
    sw = rows.sw
    idx = rows.idx
    i0 = rows.i0
    total = 0.0
    if pen.kind == PEN_L1:
        for r in range(nb):
            w = sw[idx[i0 + r]]
            acc = 0.0
            for j in range(cols):
                acc += _l1(Hv[r, j], 0.0)[0]
            total += w * acc
        return pen.alpha * total
    if pen.kind == PEN_STUDENT_T:
        gam = pen.student_gamma
        for r in range(nb):
            w = sw[idx[i0 + r]]
            acc = 0.0
            for j in range(cols):
                acc += _student_t(Hv[r, j], gam, 0.0)[0]
            total += w * acc
        return pen.alpha * total
    rho = pen.sparsity_target
    for j in range(cols):
        rate[j] = 0.0
    for r in range(nb):
        w = sw[idx[i0 + r]]
        for j in range(cols):
            h = Hv[r, j]
            z = Zv[r, j] if act == ACT_RELU else h
            rate[j] += w * firing_rate(h, z, act)
    inv = 1.0 / sw_sum if sw_sum > 0 else 0.0
    for j in range(cols):
        q = rate[j] * inv
        q = min(max(q, _KL_CLIP), 1.0 - _KL_CLIP)
        rate[j] = q
        total += _kl(rho, q)[0]
    return pen.alpha * sw_sum * total


@jit
def activation_penalty_grad(Gv, Hv, rows, act, pen, rate):
    """Add the penalty's gradient w.r.t. the unit outputs ``h`` to ``Gv``
    (before the activation derivative is applied)."""
    nb, cols = Hv.shape
    sw = rows.sw
    idx = rows.idx
    i0 = rows.i0
    pa = pen.alpha
    if pen.kind == PEN_L1:
        for r in range(nb):
            w = pa * sw[idx[i0 + r]]
            for j in range(cols):
                Gv[r, j] += _l1(Hv[r, j], w)[1]
    elif pen.kind == PEN_STUDENT_T:
        gam = pen.student_gamma
        for r in range(nb):
            w = pa * sw[idx[i0 + r]]
            for j in range(cols):
                Gv[r, j] += _student_t(Hv[r, j], gam, w)[1]
    elif pen.kind == PEN_KL and (act == ACT_LOGISTIC or act == ACT_TANH):
        rho = pen.sparsity_target
        dr = 1.0 if act == ACT_LOGISTIC else 0.5
        for r in range(nb):
            w = pa * sw[idx[i0 + r]] * dr
            for j in range(cols):
                Gv[r, j] += w * _kl(rho, rate[j])[1]


@jit
def activation_penalty_grad_pre(Gv, Hv, Zv, rows, act, pen, rate):
    """The KL term of relu/identity units, which acts through ``sigmoid(z)``:
    added to the gradient w.r.t. the pre-activation."""
    if not (pen.kind == PEN_KL and (act == ACT_RELU or act == ACT_IDENTITY)):
        return
    nb, cols = Hv.shape
    sw = rows.sw
    idx = rows.idx
    i0 = rows.i0
    rho = pen.sparsity_target
    for r in range(nb):
        w = pen.alpha * sw[idx[i0 + r]]
        for j in range(cols):
            z = Zv[r, j] if act == ACT_RELU else Hv[r, j]
            s = sigmoid(z)
            Gv[r, j] += w * _kl(rho, rate[j])[1] * s * (1.0 - s)


@jit(inline="always")
def add_tie_gradient(theta, grad, ref, sw_sum, tie_alpha):
    """``grad += sw_sum 2 tie_alpha (theta - ref)`` (raw scale); returns
    ``||theta - ref||^2``."""
    tsq = 0.0
    c = 2.0 * tie_alpha * sw_sum
    for k in range(theta.shape[0]):
        d = theta[k] - ref[k]
        tsq += d * d
        grad[k] += c * d
    return tsq


@jit
def finish_gradient(state, net, sw_sum, optim):
    """Turn a raw gradient (times ``sw_sum``) into the gradient of the batch
    objective, parameter penalties included; returns their value."""
    theta = state.theta
    grad = state.grad
    ref = state.ref
    n_coef = net.n_coef
    inv = 1.0 / sw_sum
    l2 = optim.l2 * inv
    tie = optim.tie
    ta = optim.tie_alpha
    sq = 0.0
    tsq = 0.0
    for k in range(theta.shape[0]):
        th = theta[k]
        g = grad[k] * inv
        if k < n_coef:
            sq += th * th
            g += l2 * th
        if tie:
            d = th - ref[k]
            tsq += d * d
            g += 2.0 * ta * d
        grad[k] = g
    return 0.5 * l2 * sq + ta * tsq if tie else 0.5 * l2 * sq
