"""Optimizer steps (scikit-learn's SGDOptimizer and AdamOptimizer), with the
L2 and tying gradients and the max-norm constraint folded into the update
pass, and the per-minibatch bookkeeping every training mode shares.

Small helpers are ``inline="always"``: numba links each separately compiled
callee into its caller and optimises and emits the whole again, so deep
chains of small jitted functions multiply compile time.
"""

import math

import numpy as np

from ...utils._numba import jit
from ._penalties import add_tie_gradient
from ._records import Status

STATUS_OK = int(Status.OK)
STATUS_NONFINITE = int(Status.NONFINITE)


@jit(inline="always")
def _adam_rows(theta, grad, m1, m2, lo, nrows, ncols, sc, nrm, track):
    """Adam on the ``nrows x ncols`` block at ``lo`` (a weight matrix, or the
    intercepts as one row).  ``sc`` = [1/S, l2/S, b1, 1-b1, b2, 1-b2, eps,
    lr_t] in theta's dtype, so float32 stays float32 (and vectorises).
    With ``track``, ``nrm[j]`` accumulates the new column norms^2 (max-norm
    fused into the update pass).  Returns ||old block||^2."""
    inv = sc[0]
    l2 = sc[1]
    b1 = sc[2]
    c1 = sc[3]
    b2 = sc[4]
    c2 = sc[5]
    eps = sc[6]
    lr_t = sc[7]
    sq = 0.0
    for a in range(nrows):
        base = lo + a * ncols
        for j in range(ncols):
            k = base + j
            th = theta[k]
            sq += th * th
            g = grad[k] * inv + l2 * th
            m = b1 * m1[k] + c1 * g
            v = b2 * m2[k] + c2 * (g * g)
            m1[k] = m
            m2[k] = v
            t = th - lr_t * m / (np.sqrt(v) + eps)
            theta[k] = t
            if track:
                nrm[j] += t * t
    return sq


# Not inlined: inlined, LLVM contracts its update into other fused
# multiply-adds, which moves SGD results by an ulp.
@jit
def _sgd_rows(theta, grad, vel, lo, nrows, ncols, sc, nesterov, nrm, track):
    """SGD with momentum on a block; ``sc`` = [1/S, l2/S, momentum, lr]."""
    inv = sc[0]
    l2 = sc[1]
    mom = sc[2]
    lr = sc[3]
    sq = 0.0
    for a in range(nrows):
        base = lo + a * ncols
        for j in range(ncols):
            k = base + j
            th = theta[k]
            sq += th * th
            g = grad[k] * inv + l2 * th
            v = mom * vel[k] - lr * g
            vel[k] = v
            if nesterov:
                t = th + (mom * v - lr * g)
            else:
                t = th + v
            theta[k] = t
            if track:
                nrm[j] += t * t
    return sq


@jit(inline="always")
def _cap_columns(theta, lo, nrows, ncols, nrm, c):
    """Rescale columns whose norm (sqrt(nrm)) exceeds c to norm c."""
    any_big = False
    for j in range(ncols):
        s = math.sqrt(nrm[j])
        if s > c:
            nrm[j] = c / s
            any_big = True
        else:
            nrm[j] = 1.0
    if any_big:
        for a in range(nrows):
            base = lo + a * ncols
            for j in range(ncols):
                theta[base + j] *= nrm[j]


@jit
def optimizer_update(state, net, sw_sum, optim, step, lr):
    """Finish the gradient, apply one sgd/adam step and max-norm, in one pass.

    ``step`` is the number of updates including this one (Adam's t).
    sgd (scikit-learn's SGDOptimizer): ``v = momentum v - lr g``;
    ``theta += momentum v - lr g`` (Nesterov) or ``theta += v``.
    adam (scikit-learn's AdamOptimizer): ``m = b1 m + (1-b1) g``,
    ``v = b2 v + (1-b2) g^2``,
    ``theta -= lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps)``.
    ``g`` = raw gradient / S + alpha W / S (+ 2 tie_alpha (theta - ref)).
    Max-norm (Srivastava et al. 2014): each unit's incoming weights (a
    column of W_l) rescaled to norm <= ``max_norm_value`` after the step;
    the norms are accumulated during the update pass.
    Returns the parameter-penalty part of the objective.
    """
    theta = state.theta
    grad = state.grad
    m1 = state.m1
    m2 = state.m2
    units = net.units
    w_off = net.w_off
    n_coef = net.n_coef
    inv = 1.0 / sw_sum
    l2 = optim.l2 * inv
    ta = optim.tie_alpha
    tsq = 0.0
    if optim.tie:
        tsq = add_tie_gradient(theta, grad, state.ref, sw_sum, ta)
    n = theta.shape[0]
    L = units.shape[0] - 1
    track = optim.max_norm
    c = optim.max_norm_value
    wmax = 1
    for l in range(L):
        wmax = max(wmax, net.fan_out[l])
    nrm = np.zeros(wmax)
    sc = np.empty(8, dtype=theta.dtype)
    sc[0] = inv
    adam = optim.adam
    nest = optim.nesterov
    if adam:
        b1 = optim.beta_1
        b2 = optim.beta_2
        sc[2] = b1
        sc[3] = 1.0 - b1
        sc[4] = b2
        sc[5] = 1.0 - b2
        sc[6] = optim.epsilon
        sc[7] = lr * math.sqrt(1.0 - b2**step) / (1.0 - b1**step)
    else:
        sc[2] = optim.momentum
        sc[3] = lr
    sq = 0.0
    sc[1] = l2
    for l in range(L):
        nin = net.fan_in[l]
        nout = net.fan_out[l]
        nl = nrm[:nout]
        if track:
            nl[:] = 0.0
        if adam:
            sq += _adam_rows(theta, grad, m1, m2, w_off[l], nin, nout, sc, nl, track)
        else:
            sq += _sgd_rows(theta, grad, m1, w_off[l], nin, nout, sc, nest, nl, track)
        if track:
            _cap_columns(theta, w_off[l], nin, nout, nl, c)
    sc[1] = 0.0
    # the intercepts: no L2, no max-norm ("track and False" is a plain
    # boolean, so the weight calls' variant serves; a literal False would
    # compile a second one)
    track = track and False
    one = 1 if n > 0 else 0  # likewise a plain integer, not a literal 1
    if adam:
        _adam_rows(theta, grad, m1, m2, n_coef, one, n - n_coef, sc, nrm, track)
    else:
        _sgd_rows(theta, grad, m1, n_coef, one, n - n_coef, sc, nest, nrm, track)
    return 0.5 * l2 * sq + ta * tsq


@jit(inline="always")
def step_batch(state, net, optim, sums, nb, opt_step, lr, acc):
    """After a minibatch's raw gradient: the optimizer step and the loss sum.

    ``sums = (data_sum, penalty_sum, sw_sum)`` as a mode's batch function
    returns them.  Returns ``(status, acc, opt_step)``: a batch of zero
    total weight is skipped (no step); ``STATUS_NONFINITE`` as soon as a
    batch objective is not finite.
    """
    data_sum, pen_sum, sw_sum = sums
    if sw_sum > 0:
        opt_step += 1
        par = optimizer_update(state, net, sw_sum, optim, opt_step, lr)
        batch_loss = (data_sum + pen_sum) / sw_sum + par
        if not np.isfinite(batch_loss):
            return STATUS_NONFINITE, acc, opt_step
        acc += batch_loss * nb
    return STATUS_OK, acc, opt_step
