"""Numba kernels for tangent distance (numerics only: no validation).

Both tangent sets arrive orthonormalised and zero-padded: ``Q[i, :r[i]]``
is an orthonormal basis (rows) of sample ``i``'s tangent plane, ``r[i]`` its
rank.  For a pair ``x`` (row of the output, basis ``Qx``, rank ``rx``) and
``y`` (column, ``Qy``, ``ry``) with ``d = x - y``,

    min_{alpha, beta} || d - Qx^T alpha - Qy^T beta ||

has normal equations ``alpha + C^T beta = a`` and ``C alpha + beta = b`` with
``a = Qx d``, ``b = Qy d``, ``C = Qy Qx^T`` (``ry x rx``).  Eliminating
``alpha = a - C^T beta`` leaves the small ``ry x ry`` positive semidefinite
system

    (I - C C^T) beta = b - C a,

whose eigenvalues are ``sin^2`` of the principal angles between the planes:
it is singular exactly when the planes share a direction.  It is solved by
Cholesky with diagonal pivoting that stops at pivots below ``tol`` (those
directions are already in ``span(Qx)``), which is a correct least-squares
solution for rank-deficient and overlapping tangent sets alike.  The squared
residual is ``||d||^2 - alpha.a - beta.b``; when that cancels badly (below
1% of ``||d||^2``) the residual vector is formed explicitly instead.

One-sided distances are the same code with one rank set to zero.  Cost per
pair: ``(rx ry + rx + ry + 1) n_features`` multiply-adds plus
``O(ry^3)`` for the small solve; nothing is allocated per pair.
"""

import numba
import numpy as np

from ..utils._numba import jit, jit_parallel

#: Squared residuals below this fraction of ||d||^2 are recomputed from the
#: explicit residual vector (the short formula loses digits there).
_REFINE = 0.01


@jit(inline="always")
def _dot(u, v, n):
    s = u[0] * v[0]
    for i in range(1, n):
        s += u[i] * v[i]
    return s


@jit(inline="always")
def _pair_sq(x, Qx, rx, y, Qy, ry, tol, d, a, b, C, G, g, beta, alpha, perm):
    """Squared tangent distance of one pair; scratch arrays are overwritten."""
    n = x.shape[0]
    for t in range(n):
        d[t] = x[t] - y[t]
    dd = np.float64(_dot(d, d, n))
    if dd == 0.0:
        return 0.0
    for i in range(rx):
        a[i] = _dot(Qx[i], d, n)
    for j in range(ry):
        b[j] = _dot(Qy[j], d, n)
    if rx == 0:
        for j in range(ry):
            beta[j] = b[j]
    else:
        for j in range(ry):
            s = b[j]
            for i in range(rx):
                c = np.float64(_dot(Qy[j], Qx[i], n))
                C[j, i] = c
                s -= c * a[i]
            g[j] = s
        # G = I - C C^T (lower triangle is enough), then pivoted Cholesky.
        for j in range(ry):
            perm[j] = j
            for m in range(j + 1):
                s = 1.0 if m == j else 0.0
                for i in range(rx):
                    s -= C[j, i] * C[m, i]
                G[j, m] = s
                G[m, j] = s
        rank = ry
        for k in range(ry):
            p = k
            for m in range(k + 1, ry):
                if G[m, m] > G[p, p]:
                    p = m
            if G[p, p] <= tol:
                rank = k
                break
            if p != k:  # symmetric swap of row/column k and p
                for m in range(ry):
                    G[k, m], G[p, m] = G[p, m], G[k, m]
                for m in range(ry):
                    G[m, k], G[m, p] = G[m, p], G[m, k]
                perm[k], perm[p] = perm[p], perm[k]
            piv = np.sqrt(G[k, k])
            G[k, k] = piv
            for m in range(k + 1, ry):
                G[m, k] /= piv
            # full (symmetric) trailing update: the next pivot swap moves
            # rows and columns of the whole trailing block
            for m in range(k + 1, ry):
                for q in range(k + 1, ry):
                    G[m, q] -= G[m, k] * G[q, k]
        # Solve L L^T w = g[perm][:rank]; beta[perm] = w, zero elsewhere.
        for k in range(rank):
            s = g[perm[k]]
            for m in range(k):
                s -= G[k, m] * alpha[m]
            alpha[k] = s / G[k, k]  # alpha used as scratch for L^{-1} g
        for k in range(rank - 1, -1, -1):
            s = alpha[k]
            for m in range(k + 1, rank):
                s -= G[m, k] * alpha[m]
            alpha[k] = s / G[k, k]
        for j in range(ry):
            beta[j] = 0.0
        for k in range(rank):
            beta[perm[k]] = alpha[k]
    for i in range(rx):
        s = a[i]
        for j in range(ry):
            s -= C[j, i] * beta[j]
        alpha[i] = s
    res = dd
    for i in range(rx):
        res -= alpha[i] * a[i]
    for j in range(ry):
        res -= beta[j] * b[j]
    if res < _REFINE * dd:
        for i in range(rx):
            ai = alpha[i]
            for t in range(n):
                d[t] -= ai * Qx[i, t]
        for j in range(ry):
            bj = beta[j]
            for t in range(n):
                d[t] -= bj * Qy[j, t]
        res = np.float64(_dot(d, d, n))
    return max(res, 0.0)


@jit_parallel
def tangent_distance_all(X, QX, rX, Y, QY, rY, tol, out):
    """``out[i, j]`` = tangent distance between ``X[i]`` and ``Y[j]``."""
    n_x, n = X.shape
    k = max(QX.shape[1], QY.shape[1], 1)
    for i in numba.prange(n_x):
        d = np.empty(n, dtype=X.dtype)
        a = np.empty(k, dtype=np.float64)
        b = np.empty(k, dtype=np.float64)
        C = np.empty((k, k), dtype=np.float64)
        G = np.empty((k, k), dtype=np.float64)
        g = np.empty(k, dtype=np.float64)
        beta = np.empty(k, dtype=np.float64)
        alpha = np.empty(k, dtype=np.float64)
        perm = np.empty(k, dtype=np.int64)
        x, Qx, rx = X[i], QX[i], rX[i]
        for j in range(Y.shape[0]):
            sq = _pair_sq(
                x, Qx, rx, Y[j], QY[j], rY[j], tol, d, a, b, C, G, g, beta, alpha, perm
            )
            out[i, j] = np.sqrt(sq)


@jit_parallel
def tangent_distance_candidates(X, QX, rX, Y, QY, rY, candidates, tol, out):
    """``out[i, c]`` = tangent distance between ``X[i]`` and ``Y[candidates[i, c]]``."""
    n_x, n = X.shape
    k = max(QX.shape[1], QY.shape[1], 1)
    for i in numba.prange(n_x):
        d = np.empty(n, dtype=X.dtype)
        a = np.empty(k, dtype=np.float64)
        b = np.empty(k, dtype=np.float64)
        C = np.empty((k, k), dtype=np.float64)
        G = np.empty((k, k), dtype=np.float64)
        g = np.empty(k, dtype=np.float64)
        beta = np.empty(k, dtype=np.float64)
        alpha = np.empty(k, dtype=np.float64)
        perm = np.empty(k, dtype=np.int64)
        x, Qx, rx = X[i], QX[i], rX[i]
        for c in range(candidates.shape[1]):
            j = candidates[i, c]
            sq = _pair_sq(
                x, Qx, rx, Y[j], QY[j], rY[j], tol, d, a, b, C, G, g, beta, alpha, perm
            )
            out[i, c] = np.sqrt(sq)
