"""Training mode 'adversarial': FGSM, PGD and virtual adversarial training,
with the perturbed inputs regenerated from the current weights inside every
minibatch step.

* fgsm / pgd (Goodfellow et al. 2015; Madry et al. 2018): the raw gradient
  of ``alpha J(x) + (1 - alpha) J(x_adv)``, ``J`` the weighted
  cross-entropy plus activation penalty, ``x_adv`` a constant built from
  the current weights: ``clip(x + eps sign(dJ/dx))`` (fgsm), or ``steps``
  projected signed steps (pgd; from ``x + U(-eps, eps)`` with a random
  start, else from x).  Rows with ``Y < 0`` (unlabeled) take the predicted
  label with ``virtual_labels``, else weigh nothing.
* vat (Miyato et al. 2018): ``alpha CE + (1 - alpha) KL``, CE the weighted
  cross-entropy of the labelled rows normalised by their weight sum (times
  ``S / S_lab``, as the caller divides by the weight sum ``S`` of every
  row), KL the weighted ``KL(p(.|x) || p(.|x + r))`` of every row with p a
  constant; ``r`` (L2 norm eps) by power iteration from a Gaussian
  direction with finite difference ``xi``.

Passes: clean forward/backward (input gradient too for fgsm/pgd), the
attack's forward/backward(input) passes, one adversarial forward/backward
into a second gradient; each batched over the rows, with the clean pass's
dropout masks (the rows keep their keys).  Entry points :func:`run_epoch`
and :func:`objective` (``_plain.py``'s contracts plus ``aopts`` and the
:class:`~._records.AdversarialBuffers`).
"""

import math

import numpy as np

from ...utils._numba import jit
from ._layers import block, view
from ._losses import OUT_LOGISTIC, kl_delta, output_loss_delta
from ._optimizers import STATUS_OK, step_batch
from ._passes import backward, forward
from ._penalties import finish_gradient
from ._random import adversarial_key, gaussian, uniform
from ._records import (
    INPUT_ONLY,
    INPUT_WITH_PENALTY,
    TRAIN,
    TRAIN_AND_INPUT,
    WEIGHTS_ONLY,
    Attack,
    Rows,
)

ADV_FGSM = int(Attack.FGSM)
ADV_VAT = int(Attack.VAT)


def buffer_sizes(units, bs, n_params):
    """Lengths of the :class:`~._records.AdversarialBuffers` fields."""
    units = [int(u) for u in units]
    return dict(
        x_adv=bs * units[0], direction=bs * units[0], grad2=n_params,
        clean_proba=bs * units[-1],
    )  # fmt: skip


@jit(inline="always")
def _project(XA, X, idx, i0, eps, lo, hi):
    """Rows of XA onto the L-inf ball of radius eps around x, then [lo, hi]."""
    nb, n0 = XA.shape
    for r in range(nb):
        x = X[idx[i0 + r]]
        for j in range(n0):
            v = min(max(XA[r, j], x[j] - eps), x[j] + eps)
            XA[r, j] = min(max(v, lo), hi)


@jit(inline="always")
def _sign_step(XA, G, a):
    """XA += a * sign(G) (a zero gradient leaves the input unchanged)."""
    nb, n0 = XA.shape
    for r in range(nb):
        for j in range(n0):
            g = G[r, j]
            if g > 0:
                XA[r, j] += a
            elif g < 0:
                XA[r, j] -= a


@jit(inline="always")
def _vat_direction(DIR, G, XA, X, idx, i0, scale, lo, hi):
    """DIR = G / ||G|| per row (kept when G is 0); XA = clip(x + scale DIR)."""
    nb, n0 = XA.shape
    for r in range(nb):
        nrm = 0.0
        for j in range(n0):
            nrm += float(G[r, j]) * float(G[r, j])
        if nrm > 0.0:
            inv = 1.0 / math.sqrt(nrm)
            for j in range(n0):
                DIR[r, j] = G[r, j] * inv
        x = X[idx[i0 + r]]
        for j in range(n0):
            XA[r, j] = min(max(x[j] + scale * DIR[r, j], lo), hi)


@jit
def batch_loss_grad(state, net, opts, aopts, ws, aws, data, order, i0, nb, seed, step):
    """One minibatch of adversarial training; the contract of
    ``_plain.batch_loss_grad``.  Leaves ``x_adv`` in ``aws.x_adv``."""
    theta = state.theta
    grad = state.grad
    X = data.X
    Y = data.Y
    sw = data.sw
    idx = order
    L = net.units.shape[0] - 1
    n0 = net.units[0]
    nout = net.units[L]
    npar = theta.shape[0]
    method = aopts.method
    out_kind = opts.out_kind
    log_eps = opts.log_eps
    eps = aopts.epsilon
    alpha = aopts.weight
    lo = aopts.clip_lo
    hi = aopts.clip_hi
    XA = view(aws.x_adv, 0, nb, n0)
    DIR = view(aws.direction, 0, nb, n0)
    G2 = aws.grad2
    PC = view(aws.clean_proba, 0, nb, nout)
    P = block(ws.act, net, ws.bs, L, nb)
    DL = block(ws.delta, net, ws.bs, L, nb)
    D0 = block(ws.delta, net, ws.bs, 0, nb)
    ar = np.arange(nb)
    kid = idx[i0 : i0 + nb]
    yb = np.empty(nb, dtype=np.int64)
    # target rows of the batch (real-valued outputs), in batch order as yb
    T = data.T
    has_t = T.shape[0] > 0
    tb = np.empty((nb if has_t else 0, T.shape[1]), dtype=T.dtype)
    if has_t:
        for r in range(nb):
            tb[r, :] = T[idx[i0 + r]]
    wce = np.empty(nb)  # cross-entropy weight of each batch row
    wb = np.empty(nb)  # sample weight of each batch row
    s_all = 0.0
    s_lab = 0.0
    for r in range(nb):
        i = idx[i0 + r]
        yb[r] = Y[i]
        wb[r] = sw[i]
        s_all += sw[i]
        if Y[i] >= 0:
            s_lab += sw[i]
    clean = Rows(X, idx, idx, i0, nb, sw)
    # perturbed rows: row r of XA, keyed (and masked) as the clean row
    pert = Rows(XA, ar, kid, 0, nb, wb)

    # (1) clean pass
    pen_c, sw_sum = forward(theta, net, opts, ws, clean, None, seed, step, TRAIN)
    if method == ADV_VAT:
        ce_scale = alpha * s_all / s_lab if s_lab > 0.0 else 0.0
        for r in range(nb):
            wce[r] = wb[r] * ce_scale if yb[r] >= 0 else 0.0
            if yb[r] < 0:
                yb[r] = 0
    else:
        for r in range(nb):
            wce[r] = wb[r]
            if yb[r] < 0:  # unlabeled: the model's own label, or no weight
                if aopts.virtual_labels:
                    if out_kind == OUT_LOGISTIC:
                        yb[r] = 1 if P[r, 0] > 0 else 0
                    else:
                        yb[r] = np.argmax(P[r])
                else:
                    yb[r] = 0
                    wce[r] = 0.0
    data_c = output_loss_delta(P, DL, yb, tb, wce, ar, 0, out_kind, log_eps)
    clean_pass = TRAIN if method == ADV_VAT else TRAIN_AND_INPUT
    backward(theta, grad, net, opts, ws, clean, None, seed, step, clean_pass)

    if method == ADV_VAT:
        for r in range(nb):
            for k in range(nout):
                PC[r, k] = P[r, k]  # probabilities after output_loss_delta
        xi = aopts.vat_xi
        ones = np.ones(nb)
        # a Gaussian direction per row from the counter-based hash
        for r in range(nb):
            key = adversarial_key(seed, step, kid[r])
            for j in range(n0):
                D0[r, j] = gaussian(key, j)
        n_it = aopts.vat_power_iterations
        # probes x + xi d are not clipped (a derivative, not an input)
        if n_it > 0:
            _vat_direction(DIR, D0, XA, X, idx, i0, xi, -np.inf, np.inf)
        else:
            _vat_direction(DIR, D0, XA, X, idx, i0, eps, lo, hi)
        for it in range(n_it):
            forward(theta, net, opts, ws, pert, None, seed, step, INPUT_ONLY)
            kl_delta(P, DL, PC, ones, out_kind)
            backward(theta, G2, net, opts, ws, pert, None, seed, step, INPUT_ONLY)
            if it < n_it - 1:
                _vat_direction(DIR, D0, XA, X, idx, i0, xi, -np.inf, np.inf)
            else:
                _vat_direction(DIR, D0, XA, X, idx, i0, eps, lo, hi)
        forward(theta, net, opts, ws, pert, None, seed, step, WEIGHTS_ONLY)
        for r in range(nb):
            wce[r] = (1.0 - alpha) * wb[r]
        kl_sum = kl_delta(P, DL, PC, wce, out_kind)
        backward(theta, G2, net, opts, ws, pert, None, seed, step, WEIGHTS_ONLY)
        for k in range(npar):
            grad[k] += G2[k]
        return data_c + kl_sum, pen_c, sw_sum

    # (2) the attack, from the clean input gradient left in delta's block 0
    for r in range(nb):
        x = X[idx[i0 + r]]
        for j in range(n0):
            XA[r, j] = x[j]
    if method == ADV_FGSM:
        _sign_step(XA, D0, eps)
        _project(XA, X, idx, i0, eps, lo, hi)
    else:
        a = aopts.pgd_step
        first = 0
        if aopts.pgd_random_start:
            for r in range(nb):
                key = adversarial_key(seed, step, kid[r])
                for j in range(n0):
                    XA[r, j] += eps * (2.0 * uniform(key, j) - 1.0)
            _project(XA, X, idx, i0, eps, lo, hi)
        else:  # the first step reuses the clean input gradient
            _sign_step(XA, D0, a)
            _project(XA, X, idx, i0, eps, lo, hi)
            first = 1
        for _ in range(first, aopts.pgd_steps):
            forward(theta, net, opts, ws, pert, None, seed, step, INPUT_WITH_PENALTY)
            output_loss_delta(P, DL, yb, tb, wce, ar, 0, out_kind, log_eps)
            backward(
                theta, G2, net, opts, ws, pert, None, seed, step, INPUT_WITH_PENALTY
            )
            _sign_step(XA, D0, a)
            _project(XA, X, idx, i0, eps, lo, hi)

    # (3) the adversarial pass into G2; grad = alpha grad + (1 - alpha) G2
    pen_a, _ = forward(theta, net, opts, ws, pert, None, seed, step, TRAIN)
    data_a = output_loss_delta(P, DL, yb, tb, wce, ar, 0, out_kind, log_eps)
    backward(theta, G2, net, opts, ws, pert, None, seed, step, TRAIN)
    beta = 1.0 - alpha
    for k in range(npar):
        grad[k] = alpha * grad[k] + beta * G2[k]
    return alpha * data_c + beta * data_a, alpha * pen_c + beta * pen_a, sw_sum


@jit
def run_epoch(state, net, opts, aopts, ws, aws, data, order, seed, step, opt_step, lr):
    """One epoch (see ``_plain.run_epoch``)."""
    n = order.shape[0]
    acc = 0.0
    for i0 in range(0, n, ws.bs):
        nb = min(ws.bs, n - i0)
        sums = batch_loss_grad(
            state, net, opts, aopts, ws, aws, data, order, i0, nb, seed, step
        )
        step += 1
        status, acc, opt_step = step_batch(
            state, net, opts.optim, sums, nb, opt_step, lr, acc
        )
        if status != STATUS_OK:
            return status, acc, step, opt_step
    return STATUS_OK, acc, step, opt_step


@jit
def objective(state, net, opts, aopts, ws, aws, data, idx, seed, step):
    """Objective of the rows ``idx`` as one batch; gradient in ``state.grad``."""
    nb = idx.shape[0]
    i0 = nb - nb  # a plain integer: a literal 0 would compile the batch again
    sums = batch_loss_grad(
        state, net, opts, aopts, ws, aws, data, idx, i0, nb, seed, step
    )
    par = finish_gradient(state, net, sums[2], opts.optim)
    return (sums[0] + sums[1]) / sums[2] + par
