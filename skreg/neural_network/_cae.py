"""Numba kernels of the contractive autoencoder behind
:class:`~skreg.neural_network.ManifoldTangentClassifier` (Rifai et al. 2011):
its objective and gradient, and one epoch of minibatch Adam on it."""

import math

import numpy as np

from ..utils._numba import jit


@jit
def cae_loss_grad(Xb, wb, theta, m, lam, grad, Hb, Rb, DH, T):
    """Weighted objective sum and raw gradient of a contractive autoencoder
    (Rifai et al. 2011) on the rows ``Xb`` with weights ``wb``.

    ``theta = [W (n_features x m, row-major), c (m), b_r (n_features)]``;
    sigmoid encoder ``h = sigmoid(x W + c)``, tied linear decoder
    ``r = h W^T + b_r``; per sample ``0.5 ||r - x||^2 + lam ||J||_F^2`` with
    the closed form ``||J||_F^2 = sum_j (h_j (1 - h_j))^2 ||W_{:, j}||^2``.
    Gradient: ``dR = w (r - x)``, ``dZ = (dR W + 2 lam w a (1 - 2h) |W_j|^2)
    * a`` (``a = h (1 - h)``), ``dW = X^T dZ + dR^T H + 2 lam W
    diag(sum w a^2)``, ``dc = sum dZ``, ``db_r = sum dR``.
    """
    nb, d = Xb.shape
    nW = d * m
    W = theta[:nW].reshape((d, m))
    c = theta[nW : nW + m]
    br = theta[nW + m : nW + m + d]
    gW = grad[:nW].reshape((d, m))
    gc = grad[nW : nW + m]
    gbr = grad[nW + m : nW + m + d]
    H_ = Hb[:nb]
    R_ = Rb[:nb]
    D_ = DH[:nb]
    wn = np.zeros(m)
    a2 = np.zeros(m)
    for a in range(d):
        for j in range(m):
            wn[j] += W[a, j] * W[a, j]
    np.dot(Xb, W, H_)
    for r in range(nb):
        for j in range(m):
            H_[r, j] = 1.0 / (1.0 + np.exp(-(H_[r, j] + c[j])))
    np.dot(H_, W.T, R_)
    loss = 0.0
    for r in range(nb):
        w = wb[r]
        rec = 0.0
        for j in range(d):
            e = R_[r, j] + br[j] - Xb[r, j]
            rec += e * e
            R_[r, j] = w * e  # reconstruction delta
        con = 0.0
        for j in range(m):
            h = H_[r, j]
            aj = h * (1.0 - h)
            con += aj * aj * wn[j]
            a2[j] += w * aj * aj
        loss += w * (0.5 * rec + lam * con)
    np.dot(R_, W, D_)
    for r in range(nb):
        cw = 2.0 * lam * wb[r]
        for j in range(m):
            h = H_[r, j]
            aj = h * (1.0 - h)
            D_[r, j] = (D_[r, j] + cw * aj * (1.0 - 2.0 * h) * wn[j]) * aj
    np.dot(Xb.T, D_, gW)
    np.dot(R_.T, H_, T)
    for a in range(d):
        for j in range(m):
            gW[a, j] += T[a, j] + 2.0 * lam * a2[j] * W[a, j]
    gc[:] = 0.0
    gbr[:] = 0.0
    for r in range(nb):
        for j in range(m):
            gc[j] += D_[r, j]
        for j in range(d):
            gbr[j] += R_[r, j]
    return loss


@jit
def cae_epoch(X, sw, order, theta, m1, m2, m, bs_max, lam, lr, b1, b2, eps, t):
    """One epoch of minibatch Adam on :func:`cae_loss_grad` (each batch's
    objective is the ``sw``-weighted mean).  ``t`` is Adam's step counter;
    returns ``(sum_b objective_b * n_b, t)``."""
    n = order.shape[0]
    d = X.shape[1]
    dt = theta.dtype
    grad = np.empty_like(theta)
    Xb = np.empty((bs_max, d), dtype=dt)
    wb = np.empty(bs_max)
    Hb = np.empty((bs_max, m), dtype=dt)
    Rb = np.empty((bs_max, d), dtype=dt)
    DH = np.empty((bs_max, m), dtype=dt)
    T = np.empty((d, m), dtype=dt)
    acc = 0.0
    i0 = 0
    while i0 < n:
        nb = min(bs_max, n - i0)
        s = 0.0
        for r in range(nb):
            i = order[i0 + r]
            wb[r] = sw[i]
            s += sw[i]
            for j in range(d):
                Xb[r, j] = X[i, j]
        i0 += nb
        if s <= 0:
            continue
        loss = cae_loss_grad(Xb[:nb], wb[:nb], theta, m, lam, grad, Hb, Rb, DH, T)
        inv = 1.0 / s
        t += 1
        lr_t = lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        for q in range(theta.shape[0]):
            g = grad[q] * inv
            mq = b1 * m1[q] + (1.0 - b1) * g
            vq = b2 * m2[q] + (1.0 - b2) * g * g
            m1[q] = mq
            m2[q] = vq
            theta[q] -= lr_t * mq / (math.sqrt(vq) + eps)
        acc += loss * inv * nb
    return acc, t
