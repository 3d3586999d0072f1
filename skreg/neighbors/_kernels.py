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
a Cholesky factorisation that skips pivots below ``tol`` (for a positive
semidefinite matrix the rest of such a column vanishes too: that direction
of ``span(Qy)`` is already in ``span(Qx)``), which is a correct least-squares
solution for rank-deficient and overlapping tangent sets alike.  The squared
residual is ``||d||^2 - alpha.a - beta.b``; when that cancels badly (below
1% of ``||d||^2``) the residual vector is formed explicitly instead.

One-sided distances are the same code with one rank set to zero.  Cost per
pair: ``(rx ry + rx + ry + 1) n_features`` multiply-adds plus
``O(ry^3)`` for the small solve; nothing is allocated per pair.
"""

from collections import namedtuple

import numba
import numpy as np

from ..utils._numba import jit, jit_parallel

#: Squared residuals below this fraction of ||d||^2 are recomputed from the
#: explicit residual vector (the short formula loses digits there).
_REFINE = 0.01


@jit(inline="always")
def _dot(u, v, n):
    s = u[0] * 0  # zero of the inputs' dtype: float32 stays float32
    for i in range(n):
        s += u[i] * v[i]
    return s


@jit(inline="always")
def _dots_into(u, V, m, n, out):
    """``out[i] = u . V[i]`` for ``i < m``, four rows per sweep over ``u``."""
    i = 0
    while i + 4 <= m:
        v0, v1, v2, v3 = V[i], V[i + 1], V[i + 2], V[i + 3]
        s0 = s1 = s2 = s3 = u[0] * 0
        for t in range(n):
            ut = u[t]
            s0 += ut * v0[t]
            s1 += ut * v1[t]
            s2 += ut * v2[t]
            s3 += ut * v3[t]
        out[i], out[i + 1], out[i + 2], out[i + 3] = s0, s1, s2, s3
        i += 4
    while i < m:
        out[i] = _dot(u, V[i], n)
        i += 1


#: Scratch of one pair's solve (:func:`_pair_sq`, :func:`_reduced_sq`): the
#: difference ``d = x - y`` (model dtype), ``a = Qx d``, ``b = Qy d``, ``C =
#: Qy Qx^T``, the factor ``G``, ``g``, the coefficients ``beta`` and
#: ``alpha`` (float64) and the kept pivots ``keep`` (int64).
PairScratch = namedtuple(
    "PairScratch", ["d", "a", "b", "C", "G", "g", "beta", "alpha", "keep"]
)


@jit(inline="always")
def _pair_scratch(d, k):
    """A :class:`PairScratch` around the difference buffer ``d``, for up to
    ``k`` tangents a side."""
    return PairScratch(
        d,
        np.empty(k),
        np.empty(k),
        np.empty((k, k)),
        np.empty((k, k)),
        np.empty(k),
        np.empty(k),
        np.empty(k),
        np.empty(k, dtype=np.int64),
    )


@jit(inline="always")
def _pair_sq(x, Qx, rx, y, Qy, ry, tol, s):
    """Squared tangent distance of one pair; the scratch ``s`` (a
    :class:`PairScratch`) is overwritten."""
    d, a, b, C = s.d, s.a, s.b, s.C
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
    if rx > 0:
        for j in range(ry):
            _dots_into(Qy[j], Qx, rx, n, C[j])
    return _reduced_sq(dd, Qx, rx, Qy, ry, tol, s)


@jit(inline="always")
def _reduced_sq(dd, Qx, rx, Qy, ry, tol, s):
    """Squared residual from ``a = Qx d``, ``b = Qy d``, ``C = Qy Qx^T``
    (fields of the :class:`PairScratch` ``s``).

    Solves ``(I - C C^T) beta = b - C a``; ``d`` (= x - y) is only read,
    and overwritten, when the short formula cancels and the residual
    vector is formed explicitly.
    """
    d, a, b, C, G, g = s.d, s.a, s.b, s.C, s.G, s.g
    beta, alpha, keep = s.beta, s.alpha, s.keep
    n = d.shape[0]
    if rx == 0:
        for j in range(ry):
            beta[j] = b[j]
    else:
        for j in range(ry):
            s = b[j]
            for i in range(rx):
                s -= C[j, i] * a[i]
            g[j] = s
        # G = I - C C^T (lower triangle), factorised in place as L L^T.
        # G is positive semidefinite, so a pivot below tol has (numerically)
        # a zero column in its Schur complement: that direction of span(Qy)
        # lies in span(Qx); it is skipped (beta_k = 0), which is still an
        # exact least-squares solution.  No pivoting is needed for that.
        for j in range(ry):
            for m in range(j + 1):
                s = 0.0
                for i in range(rx):
                    s += C[j, i] * C[m, i]
                G[j, m] = (1.0 if m == j else 0.0) - s
        for k in range(ry):
            s = G[k, k]
            for q in range(k):
                s -= G[k, q] * G[k, q]
            if s <= tol:
                keep[k] = 0
                G[k, k] = 1.0
                for m in range(k + 1, ry):
                    G[m, k] = 0.0
                continue
            keep[k] = 1
            piv = np.sqrt(s)
            G[k, k] = piv
            for m in range(k + 1, ry):
                s = G[m, k]
                for q in range(k):
                    s -= G[m, q] * G[k, q]
                G[m, k] = s / piv
        # forward then backward substitution; skipped directions stay 0
        for k in range(ry):
            s = g[k]
            for q in range(k):
                s -= G[k, q] * beta[q]
            beta[k] = s / G[k, k] if keep[k] else 0.0
        for k in range(ry - 1, -1, -1):
            s = beta[k]
            for q in range(k + 1, ry):
                s -= G[q, k] * beta[q]
            beta[k] = s / G[k, k] if keep[k] else 0.0
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
        s = _pair_scratch(np.empty(n, dtype=X.dtype), k)
        x, Qx, rx = X[i], QX[i], rX[i]
        for j in range(Y.shape[0]):
            sq = _pair_sq(x, Qx, rx, Y[j], QY[j], rY[j], tol, s)
            out[i, j] = np.sqrt(sq)


@jit(inline="always")
def _orthonormalise(T, W, rtol, norms):
    """Rank-revealing orthonormal basis of the rows of ``T`` into ``W``.

    Modified Gram-Schmidt with pivoting (largest remaining residual first)
    and a second orthogonalisation pass ("twice is enough").  Rows from the
    returned rank on are zero.  A direction is kept only while its residual
    norm exceeds ``rtol`` times the largest row norm of ``T``, so all-zero
    tangents give rank 0 and exactly dependent ones are dropped.
    """
    k, n = T.shape
    for i in range(k):
        for t in range(n):
            W[i, t] = T[i, t]
    biggest = 0.0
    for i in range(k):
        norms[i] = np.sqrt(np.float64(_dot(W[i], W[i], n)))
        biggest = max(biggest, norms[i])
    threshold = rtol * biggest
    r = 0
    while r < k:
        p = r
        for i in range(r + 1, k):
            if norms[i] > norms[p]:
                p = i
        if not norms[p] > threshold:
            break
        if p != r:
            for t in range(n):
                W[r, t], W[p, t] = W[p, t], W[r, t]
            norms[r], norms[p] = norms[p], norms[r]
        v = W[r]
        for q in range(r):  # second pass against the earlier basis vectors
            c = _dot(W[q], v, n)
            for t in range(n):
                v[t] -= c * W[q, t]
        nv = np.sqrt(np.float64(_dot(v, v, n)))
        if not nv > threshold:
            break
        for t in range(n):
            v[t] /= nv
        for i in range(r + 1, k):  # remove the new direction from the rest
            c = _dot(v, W[i], n)
            for t in range(n):
                W[i, t] -= c * v[t]
            norms[i] = np.sqrt(np.float64(_dot(W[i], W[i], n)))
        r += 1
    for i in range(r, k):
        for t in range(n):
            W[i, t] = 0.0
    return r


@jit_parallel
def orthonormal_planes(T, rtol, Q, rank):
    """``Q[i]``, ``rank[i]``: orthonormal basis of the tangent set ``T[i]``
    (see ``_orthonormalise``); ``Q`` must not alias ``T``."""
    n_samples, k, n = T.shape
    for s in numba.prange(n_samples):
        norms = np.empty(k, dtype=np.float64)
        rank[s] = _orthonormalise(T[s], Q[s], rtol, norms)


@jit
def orthonormal_planes_serial(T, rtol, Q, rank):
    """Serial :func:`orthonormal_planes`, for use inside worker threads."""
    n_samples, k, n = T.shape
    for s in range(n_samples):
        norms = np.empty(k, dtype=np.float64)
        rank[s] = _orthonormalise(T[s], Q[s], rtol, norms)


@jit
def knn_tangent(Xq, Tq, rtol, E, n_cand, Xt, Qt, rt, tol, out_dist, out_ind):
    """Nearest training samples of each query under tangent distance.

    Per query (scratch allocated once per query): orthonormalise its raw
    tangents ``Tq[i]`` (none for one-sided: ``Tq`` has 0 rows), keep the
    ``n_cand`` training samples with the smallest ``E[i]`` (squared
    Euclidean distances up to a constant; ties to the lower index), and
    return the ``k = out_dist.shape[1]`` smallest tangent distances among
    them, sorted by (distance, index).  The inner products of a pair are
    dot products here; the small systems of ``_LANES`` candidates are
    solved side by side (``_lanes_residual``).  Serial: the caller runs one
    chunk of queries per Python thread.
    """
    n_q, n = Xq.shape
    n_t = Xt.shape[0]
    kq, kt = Tq.shape[1], Qt.shape[1]
    kk = max(kq, kt, 1)
    L = _LANES
    m = min(n_cand, n_t)
    # scratch, allocated once (serial kernel)
    Qx = np.zeros((kq, n), dtype=Xq.dtype)
    norms = np.empty(max(kq, 1), dtype=np.float64)
    d = np.empty(n, dtype=Xq.dtype)
    row = np.empty(kk, dtype=Xq.dtype)
    a = np.empty((kq, L))
    b = np.empty((kt, L))
    C = np.empty((kt, kq, L))
    G = np.empty((kt, kt, L))
    inv = np.empty((kt, L))
    g = np.empty((kt, L))
    beta = np.empty((kt, L))
    dd = np.empty(L)
    res = np.empty(L)
    s1 = _pair_scratch(d, kk)  # the scalar fallback's
    cand = np.empty(m, dtype=np.int64)
    key = np.empty(m, dtype=E.dtype)
    for i in range(n_q):
        rx = _orthonormalise(Tq[i], Qx, rtol, norms) if kq > 0 else 0
        # insertion into a sorted shortlist of the m smallest E[i, j]
        filled = 0
        for j in range(n_t):
            e = E[i, j]
            if filled == m and not e < key[m - 1]:
                continue
            pos = filled if filled < m else m - 1
            while pos > 0 and e < key[pos - 1]:
                key[pos] = key[pos - 1]
                cand[pos] = cand[pos - 1]
                pos -= 1
            key[pos] = e
            cand[pos] = j
            if filled < m:
                filled += 1
        best_d = out_dist[i]
        best_j = out_ind[i]
        filled = 0
        x = Xq[i]
        for c0 in range(0, m, L):
            for l in range(L):
                j = cand[min(c0 + l, m - 1)]  # the tail repeats the last one
                y, Qy = Xt[j], Qt[j]
                for u in range(n):
                    d[u] = x[u] - y[u]
                dd[l] = _dot(d, d, n)
                _dots_into(d, Qx, kq, n, row)
                for ii in range(kq):
                    a[ii, l] = row[ii]
                _dots_into(d, Qy, kt, n, row)
                for jj in range(kt):
                    b[jj, l] = row[jj]
                for jj in range(kt):
                    _dots_into(Qy[jj], Qx, kq, n, row)
                    for ii in range(kq):
                        C[jj, ii, l] = row[ii]
            _lanes_residual(a, b, C, G, inv, g, beta, dd, res, kq, kt, tol)
            for l in range(L):
                if c0 + l >= m:
                    break
                j = cand[c0 + l]
                r2 = res[l]
                if r2 < _REFINE * dd[l]:
                    r2 = _pair_sq(x, Qx, rx, Xt[j], Qt[j], rt[j], tol, s1)
                filled = _insert(best_d, best_j, filled, np.sqrt(max(r2, 0.0)), j)


@jit
def knn_tangent_exact_serial(
    Xq, Qq, rq, Xt, Qt, rt, P, A, B, qx, ty, tol, out_dist, out_ind
):
    """Exact search, with the inner products precomputed by BLAS.

    For a chunk of queries the caller computes ``P[q k + i, t k + j] =
    Qq[q, i] . Qt[t, j]``, ``A[q k + i, t] = Qq[q, i] . Xt[t]``,
    ``B[q, t k + j] = Xq[q] . Qt[t, j]``, ``qx[q, i] = Qq[q, i] . Xq[q]`` and
    ``ty[t, j] = Qt[t, j] . Xt[t]`` as matrix products (that is most of the
    arithmetic, at BLAS speed); this kernel forms ``a``, ``b``, ``C`` per pair
    from them, solves the small system and keeps the ``k`` best, sorted by
    (distance, index).  ``||x - y||^2`` is still computed from ``x - y``.
    """
    n_q, n = Xq.shape
    n_t = Xt.shape[0]
    kq, kt = Qq.shape[1], Qt.shape[1]
    kk = max(kq, kt, 1)
    k = out_dist.shape[1]
    # scratch, allocated once (serial kernel)
    s = _pair_scratch(np.empty(n, dtype=Xq.dtype), kk)
    d, a, b, C = s.d, s.a, s.b, s.C
    for q in range(n_q):  # serial: called from one Python thread per chunk
        best_d = out_dist[q]
        best_j = out_ind[q]
        x, Qx, rx = Xq[q], Qq[q], rq[q]
        filled = 0
        for t in range(n_t):
            y = Xt[t]
            for u in range(n):
                d[u] = x[u] - y[u]
            dd = np.float64(_dot(d, d, n))
            if dd == 0.0:
                dist = 0.0
            else:
                ry = rt[t]
                for i in range(rx):
                    a[i] = qx[q, i] - A[q * kq + i, t]
                for j in range(ry):
                    b[j] = B[q, t * kt + j] - ty[t, j]
                for i in range(rx):
                    row = q * kq + i
                    for j in range(ry):
                        C[j, i] = P[row, t * kt + j]
                dist = np.sqrt(_reduced_sq(dd, Qx, rx, Qt[t], ry, tol, s))
            if filled == k and not (
                dist < best_d[k - 1] or (dist == best_d[k - 1] and t < best_j[k - 1])
            ):
                continue
            pos = filled if filled < k else k - 1
            while pos > 0 and (
                dist < best_d[pos - 1]
                or (dist == best_d[pos - 1] and t < best_j[pos - 1])
            ):
                best_d[pos] = best_d[pos - 1]
                best_j[pos] = best_j[pos - 1]
                pos -= 1
            best_d[pos] = dist
            best_j[pos] = t
            if filled < k:
                filled += 1


#: Pairs solved side by side in SIMD lanes by ``knn_tangent_exact_lanes``.
_LANES = 4


@jit(inline="always")
def _lanes_residual(a, b, C, G, inv, g, beta, dd, res, kq, kt, tol):
    """Squared residuals of ``_LANES`` pairs at once, innermost loop over
    the lanes (last axis), branch free: ``res[l]`` from ``a[:, l]``,
    ``b[:, l]``, ``C[:, :, l]`` and ``dd[l]`` as in ``_reduced_sq`` (pivots
    below ``tol`` get a zero inverse: that coefficient is 0)."""
    L = _LANES
    # g = b - C a ; G = I - C C^T (lower triangle)
    for j in range(kt):
        for l in range(L):
            g[j, l] = b[j, l]
        for i in range(kq):
            for l in range(L):
                g[j, l] -= C[j, i, l] * a[i, l]
        for m in range(j + 1):
            for l in range(L):
                G[j, m, l] = 1.0 if m == j else 0.0
            for i in range(kq):
                for l in range(L):
                    G[j, m, l] -= C[j, i, l] * C[m, i, l]
    # Cholesky, skipping pivots <= tol (inverse 0)
    for c in range(kt):
        for qq in range(c):
            for l in range(L):
                G[c, c, l] -= G[c, qq, l] * G[c, qq, l]
        for l in range(L):
            s = G[c, c, l]
            ok = s > tol
            piv = np.sqrt(s) if ok else 1.0
            G[c, c, l] = piv
            inv[c, l] = 1.0 / piv if ok else 0.0
        for m in range(c + 1, kt):
            for qq in range(c):
                for l in range(L):
                    G[m, c, l] -= G[m, qq, l] * G[c, qq, l]
            for l in range(L):
                G[m, c, l] *= inv[c, l]
    for c in range(kt):  # forward substitution
        for l in range(L):
            beta[c, l] = g[c, l]
        for qq in range(c):
            for l in range(L):
                beta[c, l] -= G[c, qq, l] * beta[qq, l]
        for l in range(L):
            beta[c, l] *= inv[c, l]
    for c in range(kt - 1, -1, -1):  # backward substitution
        for qq in range(c + 1, kt):
            for l in range(L):
                beta[c, l] -= G[qq, c, l] * beta[qq, l]
        for l in range(L):
            beta[c, l] *= inv[c, l]
    # residual^2 = dd - alpha.a - beta.b, alpha = a - C^T beta
    for l in range(L):
        res[l] = dd[l]
    for j in range(kt):
        for l in range(L):
            res[l] -= beta[j, l] * b[j, l]
    for i in range(kq):
        for l in range(L):
            al = a[i, l]
            for j in range(kt):
                al -= C[j, i, l] * beta[j, l]
            res[l] -= al * a[i, l]


@jit(inline="always")
def _insert(best_d, best_j, filled, dist, j):
    """Insert ``(dist, j)`` into the sorted top list; return its new fill."""
    k = best_d.shape[0]
    if filled == k and not (
        dist < best_d[k - 1] or (dist == best_d[k - 1] and j < best_j[k - 1])
    ):
        return filled
    pos = filled if filled < k else k - 1
    while pos > 0 and (
        dist < best_d[pos - 1] or (dist == best_d[pos - 1] and j < best_j[pos - 1])
    ):
        best_d[pos] = best_d[pos - 1]
        best_j[pos] = best_j[pos - 1]
        pos -= 1
    best_d[pos] = dist
    best_j[pos] = j
    return filled + 1 if filled < k else filled


@jit
def knn_tangent_exact_lanes(
    Xq, Qq, rq, Xt, Qt, rt, P, A, B, qx, ty, tol, out_dist, out_ind
):
    """Two-sided :func:`knn_tangent_exact_serial`, ``_LANES`` pairs per step.

    Same inputs and outputs, but serial: the caller runs one chunk per
    Python thread (nogil) with single-threaded BLAS.  The small systems of
    ``_LANES`` consecutive training samples are formed and solved together,
    innermost loop over the lanes, so LLVM turns the scalar 7 x 7 algebra
    into SIMD.  It is branch free: zero-padded basis rows give zero
    rows/columns in ``C``, hence unit pivots and zero coefficients, so the
    padded problem has the same residual; pivots below ``tol`` (shared
    directions) get a zero inverse, i.e. that coefficient is 0, as in
    ``_reduced_sq``.  Pairs whose short formula cancels are recomputed with
    the explicit residual (``_pair_sq``).
    """
    n_q, n = Xq.shape
    n_t = Xt.shape[0]
    kq, kt = Qq.shape[1], Qt.shape[1]
    k = out_dist.shape[1]
    L = _LANES
    # scratch, allocated once (serial kernel)
    d = np.empty(n, dtype=Xq.dtype)
    a = np.empty((kq, L))
    b = np.empty((kt, L))
    C = np.empty((kt, kq, L))
    G = np.empty((kt, kt, L))
    inv = np.empty((kt, L))
    g = np.empty((kt, L))
    beta = np.empty((kt, L))
    dd = np.empty(L)
    res = np.empty(L)
    tt = np.empty(L, dtype=np.int64)
    # scratch of the scalar fallback
    kk = max(kq, kt, 1)
    s1 = _pair_scratch(d, kk)  # the scalar fallback's
    for q in range(n_q):  # serial: called from one Python thread per chunk
        best_d = out_dist[q]
        best_j = out_ind[q]
        x, Qx, rx = Xq[q], Qq[q], rq[q]
        filled = 0
        for t0 in range(0, n_t, L):
            for l in range(L):
                t = min(t0 + l, n_t - 1)  # the tail repeats the last sample
                tt[l] = t
                y = Xt[t]
                for u in range(n):
                    d[u] = x[u] - y[u]
                dd[l] = _dot(d, d, n)
                for i in range(kq):
                    a[i, l] = qx[q, i] - A[q * kq + i, t]
                for j in range(kt):
                    b[j, l] = B[q, t * kt + j] - ty[t, j]
                for i in range(kq):
                    row = q * kq + i
                    for j in range(kt):
                        C[j, i, l] = P[row, t * kt + j]
            _lanes_residual(a, b, C, G, inv, g, beta, dd, res, kq, kt, tol)
            for l in range(L):
                if t0 + l >= n_t:
                    break
                t = tt[l]
                r2 = res[l]
                if r2 < _REFINE * dd[l]:
                    r2 = _pair_sq(x, Qx, rx, Xt[t], Qt[t], rt[t], tol, s1)
                dist = np.sqrt(max(r2, 0.0))
                if filled == k and not (
                    dist < best_d[k - 1]
                    or (dist == best_d[k - 1] and t < best_j[k - 1])
                ):
                    continue
                pos = filled if filled < k else k - 1
                while pos > 0 and (
                    dist < best_d[pos - 1]
                    or (dist == best_d[pos - 1] and t < best_j[pos - 1])
                ):
                    best_d[pos] = best_d[pos - 1]
                    best_j[pos] = best_j[pos - 1]
                    pos -= 1
                best_d[pos] = dist
                best_j[pos] = t
                if filled < k:
                    filled += 1


# --------------------------------------------------------------------------
# Query smoothing and raw tangents: scipy.ndimage's arithmetic, without its
# per-call overhead
# --------------------------------------------------------------------------
#
# ``skreg.utils._tangent_vectors`` smooths and differentiates with
# ``scipy.ndimage.gaussian_filter`` / ``gaussian_filter1d`` (mode
# 'constant', cval 0), which cost about 200 us per call of Python overhead,
# most of a 1-row query.  The kernels below redo the same computation:
# ``correlate1d`` down the columns (axis 1, y) then along the rows (axis 2,
# x), as ``gaussian_filter`` does for ``axes=(1, 2)``, each pass
# accumulated in float64 and stored in the data's dtype, then the tangent
# formulas in the data's dtype.  Every operation is scipy's, in scipy's
# order (the loop of ``NI_Correlate1D`` in scipy/ndimage/src/ni_filters.c:
# the centre tap first, then the pairs of taps from the outermost in,
# summed before the multiplication for a symmetric or antisymmetric
# kernel), so the results are bit-identical where scipy's C loop is
# compiled without fused multiply-adds (the x86-64 wheels; the caller
# checks on a probe and falls back to scipy otherwise).  For that reason
# these kernels are compiled without fast-math (``jit(fastmath=False)``,
# an override the presets accept): ``contract`` would fuse the
# multiply-adds and ``reassoc`` reorder the sums.  The weights are the
# Gaussian derivative filters of Simard et al. (see
# ``skreg.utils._tangent_vectors``), built by scipy's own
# ``_gaussian_kernel1d``.


@jit(inline="always", fastmath=False)
def _correlate(P, dy, dx, fw, r, sym, acc, out):
    """scipy's ``NI_Correlate1D`` on every line of a zero-padded block.

    ``P`` (float64) holds the input with ``r`` zero lines (cval) before
    and after it along the filtered axis: ``(dy, dx) = (1, 0)`` filters
    down the columns (``P`` is ``(h + 2 r, w)``), ``(0, 1)`` along the
    rows (``(h, w + 2 r)``).  ``fw`` are the ``2 r + 1`` weights passed to
    ``correlate1d`` (centre ``fw[r]``), ``sym`` scipy's class of them (1
    symmetric, -1 antisymmetric, 0 neither).  Each output is accumulated
    in float64 in scipy's order in ``acc`` (the centre tap, then the taps
    from the outermost in), then stored in ``out``'s dtype.  Loops run
    along the rows, so the independent outputs vectorise without changing
    any one sum.
    """
    h, w = out.shape
    for y in range(h):
        for x in range(w):
            if sym == 0:
                acc[y, x] = P[y + 2 * r * dy, x + 2 * r * dx] * fw[2 * r]
            else:
                acc[y, x] = P[y + r * dy, x + r * dx] * fw[r]
    if sym > 0:
        for jj in range(-r, 0):
            wj = fw[r + jj]
            for y in range(h):
                for x in range(w):
                    a = P[y + (r + jj) * dy, x + (r + jj) * dx]
                    b = P[y + (r - jj) * dy, x + (r - jj) * dx]
                    acc[y, x] += (a + b) * wj
    elif sym < 0:
        for jj in range(-r, 0):
            wj = fw[r + jj]
            for y in range(h):
                for x in range(w):
                    a = P[y + (r + jj) * dy, x + (r + jj) * dx]
                    b = P[y + (r - jj) * dy, x + (r - jj) * dx]
                    acc[y, x] += (a - b) * wj
    else:
        for jj in range(-r, r):
            wj = fw[r + jj]
            for y in range(h):
                for x in range(w):
                    acc[y, x] += P[y + (r + jj) * dy, x + (r + jj) * dx] * wj
    for y in range(h):
        for x in range(w):
            out[y, x] = acc[y, x]


@jit(inline="always", fastmath=False)
def _tangents_into(codes, xc, yc, ix, iy, T):
    """The tangents ``codes`` (indices in ``IMAGE_TRANSFORMS``) from the
    derivative images ``ix``, ``iy``, in their dtype, as ``image_tangents``
    writes them with numpy; ``T`` is ``(k, h, w)``."""
    h, w = ix.shape
    for t in range(codes.shape[0]):
        code = codes[t]
        out = T[t]
        for y in range(h):
            yy = yc[y]
            for x in range(w):
                gx, gy, xx = ix[y, x], iy[y, x], xc[x]
                if code == 0:  # translate_x
                    v = gx
                elif code == 1:  # translate_y
                    v = gy
                elif code == 2:  # rotate
                    v = yy * gx - xx * gy
                elif code == 3:  # scale
                    v = xx * gx + yy * gy
                elif code == 4:  # parallel_hyperbolic
                    v = xx * gx - yy * gy
                elif code == 5:  # diagonal_hyperbolic
                    v = yy * gx + xx * gy
                else:  # thickening
                    v = gx * gx + gy * gy
                out[y, x] = v


@jit(fastmath=False)
def image_space(X, h, w, f0, s0, f1, s1, xc, yc, codes, S, T):
    """Smoothed images and raw image tangents of the rows of ``X``.

    ``S[i]`` is ``smooth_images(X[i])`` and ``T[i, k]`` the tangent
    ``codes[k]`` of ``image_tangents(X[i])``, from the order-0 and order-1
    Gaussian weights ``f0``, ``f1`` (as passed to ``correlate1d``, with
    scipy's symmetry classes ``s0``, ``s1``) and the centred coordinates
    ``xc`` (``w``), ``yc`` (``h``) in the data's dtype: down the columns
    first (order 0 for the smoothed image and ``ix``, order 1 for ``iy``),
    then along the rows, as ``gaussian_filter(..., axes=(1, 2))``.  ``T``
    may have no tangent rows (then only ``S`` is computed).  Serial.
    """
    n = X.shape[0]
    r = f0.shape[0] // 2
    k = codes.shape[0]
    dt = S.dtype
    Py = np.zeros((h + 2 * r, w))  # zero lines: mode 'constant', cval 0
    Px = np.zeros((h, w + 2 * r))
    acc = np.empty((h, w))
    A = np.empty((h, w), dtype=dt)  # order 0 down the columns
    B = np.empty((h, w), dtype=dt)  # order 1 down the columns
    ix = np.empty((h, w), dtype=dt)
    iy = np.empty((h, w), dtype=dt)
    for i in range(n):
        img = X[i]
        for y in range(h):
            for x in range(w):
                Py[r + y, x] = img[y * w + x]
        _correlate(Py, 1, 0, f0, r, s0, acc, A)
        for y in range(h):
            for x in range(w):
                Px[y, r + x] = A[y, x]
        _correlate(Px, 0, 1, f0, r, s0, acc, S[i].reshape(h, w))
        if k == 0:
            continue
        _correlate(Px, 0, 1, f1, r, s1, acc, ix)
        _correlate(Py, 1, 0, f1, r, s1, acc, B)
        for y in range(h):
            for x in range(w):
                Px[y, r + x] = B[y, x]
        _correlate(Px, 0, 1, f0, r, s0, acc, iy)
        _tangents_into(codes, xc, yc, ix, iy, T[i].reshape(k, h, w))


@jit(fastmath=False)
def signal_space(X, f0, s0, f1, s1, u, codes, S, T):
    """Smoothed signals and raw signal tangents of the rows of ``X``.

    As :func:`image_space` for ``smooth_signals`` and ``signal_tangents``
    (one pass along each signal; ``codes`` index ``SIGNAL_TRANSFORMS``:
    shift, dilation, thickening; ``u`` the centred sample positions in the
    data's dtype).  Serial.
    """
    n, length = X.shape
    r = f0.shape[0] // 2
    k = codes.shape[0]
    dt = S.dtype
    P = np.zeros((1, length + 2 * r))
    acc = np.empty((1, length))
    slope = np.empty((1, length), dtype=dt)
    for i in range(n):
        for t in range(length):
            P[0, r + t] = X[i, t]
        _correlate(P, 0, 1, f0, r, s0, acc, S[i].reshape(1, length))
        if k == 0:
            continue
        _correlate(P, 0, 1, f1, r, s1, acc, slope)
        for j in range(k):
            code = codes[j]
            for t in range(length):
                v = slope[0, t]
                if code == 0:  # shift
                    T[i, j, t] = v
                elif code == 1:  # dilation
                    T[i, j, t] = u[t] * v
                else:  # thickening
                    T[i, j, t] = v * v
