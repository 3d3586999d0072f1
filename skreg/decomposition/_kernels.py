"""Numba kernels for sparse coding: Batch-OMP and the K-SVD atom update.

Numerics only: no validation, no warnings.  Callers in ``_sparse_coder.py``
and ``_ksvd.py`` normalise layout and dtype, and turn the per-signal status
codes returned here into scikit-learn's warnings.

Batch-OMP (Rubinstein, Zibulevsky and Elad, 2008)
-------------------------------------------------
For a dictionary ``D`` (atoms as rows, ``n_atoms x n_features``) the Gram
matrix ``G = D D^T`` is computed once and the correlations
``alpha0 = X D^T`` once per block of signals, both by BLAS (``np.dot``
inside the parallel kernels, BLAS itself single-threaded), plus ``||x||^2``
per signal.  Per signal, with ``I`` the chosen atoms in
selection order and ``G_II = L L^T`` the Cholesky factor of their Gram,
one step is::

    lam   = argmax_j |alpha_j|                  (alpha_j = d_j . residual)
    w     = L^{-1} G[I, lam]                    (forward substitution)
    L    <- [[L, 0], [w^T, sqrt(G[lam, lam] - w.w)]]
    z_n   = (alpha0[lam] - w . z) / L[n, n]     (z = L^{-1} alpha0[I])
    gamma = L^{-T} z                            (back substitution)
    alpha = alpha0 - G[I, :]^T gamma            (n_atoms x |I|, contiguous rows)

and the residual energy follows without touching the signal:
``||x - gamma D_I||^2 = ||x||^2 - alpha0[I] . gamma = ||x||^2 - ||z||^2``
(this is the paper's ``eps_n = eps_{n-1} - delta_n + delta_{n-1}`` update in
closed form: ``delta_n = gamma^T G_II gamma = ||z||^2``).

Cost per signal for k atoms: ``n_atoms * k (k - 1) / 2`` multiply-adds for
the correlation updates (the last step needs none), ``n_atoms * k`` for the
argmax, ``O(k^3)`` for the triangular algebra.  The small triangular
quantities (``L``, ``z``, ``gamma``) are kept in float64 whatever the input
dtype; ``G``, ``alpha`` and the codes stay in the input dtype.

Status codes (one per signal)
-----------------------------
``0``  stopped as asked (k atoms, or residual energy <= tol);
``1``  residual numerically orthogonal to every atom before the target was
       met (zero signal, signal already represented, k >= rank);
``2``  the best atom is linearly dependent on the chosen ones (its Schur
       complement in the Gram is not positive): duplicate/collinear atoms.
``3``  a coefficient overflowed the working dtype (signal or atoms too
       large for float32); the code is set to zero and the caller raises.
``4``  non-finite values: the signal itself, or (with atoms near the
       overflow limit) its correlations or the Cholesky factor; the code is
       set to zero and the caller raises.  Not a dependence of the atoms.
Codes for statuses 1 and 2 hold the last well-posed least-squares fit.

Scale
-----
OMP codes are linear in the signal: ``code(c x) = c code(x)``, and the
tolerance on the squared residual scales by ``c^2``.  Each signal is coded
as ``x / s`` with ``s = 2^e`` the power of two at or just below its
max-abs (``math.frexp``), against ``tol / s^2``, and the coefficients are scaled
back by ``s``.  Scaling by a power of two is exact in binary floating point
(barring over/underflow), so codes of ordinary data are bit-identical to
unscaled coding, while ``||x||^2``, ``alpha0`` and ``z`` stay near 1 for
signals such as ``1e300 * x`` or ``1e-300 * x`` whose squared norms would
overflow or underflow float64 (without it OMP stopped at once, blaming a
"linear dependence in the dictionary").
"""

import math

import numpy as np
from numba import prange

from skreg.utils._numba import jit, jit_parallel

#: A Schur complement below ``_DEP_FACTOR * eps * G[lam, lam]`` means the new
#: atom lies in the span of the chosen ones (up to rounding of the Gram).
_DEP_FACTOR = 16.0


@jit(inline="always")
def _argmax_abs(bits, mask):
    """Index of the entry of largest magnitude of a float array (first wins).

    ``bits`` is the float array viewed as same-width signed integers and
    ``mask`` clears the sign bit.  For finite floats, ordering by magnitude
    is ordering of the sign-cleared bit patterns, and an integer max
    reduction vectorises where a float argmax does not (2-5x faster here).
    """
    mx = bits[0] & mask
    for t in range(1, bits.shape[0]):
        mx = max(mx, bits[t] & mask)
    for t in range(bits.shape[0]):
        if (bits[t] & mask) == mx:
            return t
    return 0


@jit(inline="always")
def _update_alpha(alpha, a0, gram, idx, gamma, n):
    """``alpha = a0 - sum_j gamma[j] * gram[idx[j]]`` for ``j < n``.

    Rows are consumed four at a time: one load and one store of ``alpha``
    per four multiply-adds instead of per one (the update is bound by
    memory traffic, 25-30% faster than plain axpys here).
    """
    m = alpha.shape[0]
    dt = gram.dtype.type
    j = 0
    if n >= 4:
        g0, g1, g2, g3 = dt(gamma[0]), dt(gamma[1]), dt(gamma[2]), dt(gamma[3])
        r0, r1, r2, r3 = gram[idx[0]], gram[idx[1]], gram[idx[2]], gram[idx[3]]
        for t in range(m):
            alpha[t] = a0[t] - (g0 * r0[t] + g1 * r1[t] + g2 * r2[t] + g3 * r3[t])
        j = 4
    else:
        for t in range(m):
            alpha[t] = a0[t]
    while j + 4 <= n:
        g0, g1, g2, g3 = (
            dt(gamma[j]),
            dt(gamma[j + 1]),
            dt(gamma[j + 2]),
            dt(gamma[j + 3]),
        )
        r0, r1 = gram[idx[j]], gram[idx[j + 1]]
        r2, r3 = gram[idx[j + 2]], gram[idx[j + 3]]
        for t in range(m):
            alpha[t] -= g0 * r0[t] + g1 * r1[t] + g2 * r2[t] + g3 * r3[t]
        j += 4
    if j + 2 <= n:
        g0, g1 = dt(gamma[j]), dt(gamma[j + 1])
        r0, r1 = gram[idx[j]], gram[idx[j + 1]]
        for t in range(m):
            alpha[t] -= g0 * r0[t] + g1 * r1[t]
        j += 2
    if j < n:
        g0 = dt(gamma[j])
        r0 = gram[idx[j]]
        for t in range(m):
            alpha[t] -= g0 * r0[t]


@jit
def _omp_block(
    gram,
    out,
    xnorm2,
    expo,
    start,
    stop,
    k_max,
    tol,
    use_tol,
    eps,
    mask_arr,
    n_active,
    status,
):
    """Batch-OMP for signals ``start:stop``; codes overwrite ``out`` rows.

    ``out[i]`` holds ``alpha0 = D x_i / 2^expo[i]`` on entry (``xnorm2[i]``
    is ``||x_i / 2^expo[i]||^2``; ``status[i] == 4`` on entry marks a
    non-finite signal) and the code of ``x_i`` on exit.  Workspaces are
    allocated once per block.
    """
    m = gram.shape[0]
    dt = gram.dtype.type
    mask = mask_arr[0]
    alpha = np.empty(m, dtype=gram.dtype)
    alpha_bits = alpha.view(mask_arr.dtype)
    L = np.empty((k_max, k_max))  # every entry read is written first
    inv_diag = np.empty(k_max)
    z = np.empty(k_max)
    gamma = np.empty(k_max)
    idx = np.empty(k_max, dtype=np.int64)
    # np.float64(), not float(): numba's float() keeps a float32 as float32
    gmax = 0.0
    for t in range(m):
        gmax = max(gmax, np.float64(gram[t, t]))
    dep_tol = _DEP_FACTOR * eps

    for i in range(start, stop):
        a0 = out[i]  # read-only until the code is written at the end
        if status[i] == 4:  # non-finite signal
            for t in range(m):
                a0[t] = 0
            n_active[i] = 0
            continue
        e = expo[i]
        # tol is a squared norm: tol / 2^(2e), exact, 0 or inf on under- or
        # overflow (the right answer for such signals).  ldexp, not tol / s /
        # s: fast-math (arcp, reassoc) may turn that into tol * (1 / s^2).
        tol_s = math.ldexp(tol, -2 * e)
        xn = xnorm2[i]
        # |alpha_j| <= ||r|| ||d_j||; below sqrt(eps) of that scale the
        # residual is rounding noise (scikit-learn: alpha^2 < eps, unit atoms).
        thr = eps * xn * gmax
        err = xn
        n = 0
        st = 0
        if not (use_tol and err <= tol_s):
            for t in range(m):
                alpha[t] = a0[t]
            while True:
                # alpha = alpha0 at step 0, so one inlined copy of the
                # argmax serves every step (less code to compile)
                lam = _argmax_abs(alpha_bits, mask)
                amax = abs(np.float64(alpha[lam]))
                if not amax < np.inf:  # inf/NaN correlations (huge atoms)
                    st = 4
                    break
                if amax * amax <= thr:
                    st = 1
                    break
                glam = gram[lam]
                gll = np.float64(glam[lam])
                # new row of the Cholesky factor: L[:n, :n] w = G[I, lam]
                nrm = 0.0
                for r in range(n):
                    v = np.float64(glam[idx[r]])
                    for c in range(r):
                        v -= L[r, c] * L[n, c]
                    v *= inv_diag[r]
                    L[n, r] = v
                    nrm += v * v
                lkk = gll - nrm
                if not (np.isfinite(gll) and np.isfinite(lkk)):
                    st = 4
                    break
                if not lkk > dep_tol * gll:  # also catches gll <= 0
                    st = 2
                    break
                lnn = np.sqrt(lkk)
                L[n, n] = lnn
                inv_diag[n] = 1.0 / lnn
                idx[n] = lam
                v = np.float64(a0[lam])
                for c in range(n):
                    v -= L[n, c] * z[c]
                z[n] = v * inv_diag[n]
                err -= z[n] * z[n]
                n += 1
                if use_tol and err <= tol_s:
                    break
                if n == k_max:
                    if use_tol:
                        st = 1  # every admissible atom used, tol not reached
                    break
                # gamma = L^{-T} z
                for r in range(n - 1, -1, -1):
                    v = z[r]
                    for c in range(r + 1, n):
                        v -= L[c, r] * gamma[c]
                    gamma[r] = v * inv_diag[r]
                # alpha = alpha0 - G[I, :]^T gamma over contiguous Gram rows
                _update_alpha(alpha, a0, gram, idx, gamma, n)
                # chosen atoms are orthogonal to the residual; never reselect
                for j in range(n):
                    alpha[idx[j]] = 0
        # final least-squares coefficients of the n chosen atoms
        for r in range(n - 1, -1, -1):
            v = z[r]
            for c in range(r + 1, n):
                v -= L[c, r] * gamma[c]
            gamma[r] = v * inv_diag[r]
        for t in range(m):
            a0[t] = 0
        for j in range(n):
            a0[idx[j]] = dt(math.ldexp(gamma[j], e))
            if not np.isfinite(a0[idx[j]]):  # overflow of the working dtype
                st = max(st, 3)
        if st >= 3:
            for t in range(m):
                a0[t] = 0
        n_active[i] = n
        status[i] = st


@jit_parallel
def gram_matrix(D, DT, block):
    """``D D^T`` by row blocks of fixed size ``block``, in parallel.

    The block boundaries do not depend on the number of threads, so the
    result is bit-identical for any ``n_jobs`` (BLAS must be single-threaded
    here, see ``_sparse_coder._batch_omp``).
    """
    m = D.shape[0]
    G = np.empty((m, m), dtype=D.dtype)
    n_blocks = (m + block - 1) // block
    for b in prange(n_blocks):
        r0 = b * block
        r1 = min(m, r0 + block)
        np.dot(D[r0:r1], DT, G[r0:r1])
    return G


@jit
def _code_block(X, DT, gram, out, xnorm2, expo, n_active, status, start, stop,
                k_max, tol, use_tol, eps, mask_arr):  # fmt: skip
    """Batch-OMP codes of signals ``start:stop`` of ``X`` into ``out``.

    The rows are rescaled one by one by a power of two (see *Scale* in the
    module docstring), their correlations ``X[start:stop] D^T`` come from
    one BLAS call (so they are still in cache when the OMP steps read
    them), then :func:`_omp_block` codes them with a workspace allocated
    once for the block.  Shared by :func:`batch_omp` (blocks in parallel)
    and :func:`batch_omp_serial` (blocks in turn), so both give the same
    bits.
    """
    f = X.shape[1]
    Xs = np.empty((stop - start, f), dtype=X.dtype)
    for i in range(start, stop):
        mx = 0.0
        for t in range(f):
            a = abs(np.float64(X[i, t]))
            if not a <= mx:  # also takes NaN, which then sticks
                mx = a
        inv = 0.0  # zero signal: stays zero, expo 0
        if not np.isfinite(mx):
            status[i] = 4
        elif mx > 0.0:
            # 2^e <= mx < 2^(e+1), e clamped so that 2^-e is finite
            # (denormal signals are scaled up to >= 2^-52 only)
            e = min(max(math.frexp(mx)[1] - 1, -1022), 1023)
            expo[i] = e
            inv = math.ldexp(1.0, -e)
        acc = 0.0
        for t in range(f):
            xt = np.float64(X[i, t]) * inv  # exact: a power of two
            Xs[i - start, t] = xt
            acc += xt * xt
        xnorm2[i] = acc
    np.dot(Xs, DT, out[start:stop])
    _omp_block(
        gram,
        out,
        xnorm2,
        expo,
        start,
        stop,
        k_max,
        tol,
        use_tol,
        eps,
        mask_arr,
        n_active,
        status,
    )


@jit_parallel
def batch_omp(X, DT, gram, k_max, tol, use_tol, eps, mask_arr, block):
    """Batch-OMP codes of every row of ``X``, in parallel over signal blocks.

    Each block of ``block`` signals is coded by :func:`_code_block`.  Block
    boundaries are fixed multiples of ``block``, so the codes are
    bit-identical for any number of threads, and to
    :func:`batch_omp_serial`.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), C-contiguous
    DT : ndarray of shape (n_features, n_atoms), C-contiguous
        The transposed dictionary, same dtype as ``X``.
    gram : ndarray of shape (n_atoms, n_atoms), C-contiguous
        ``D D^T`` in the working dtype.
    k_max : int
        Maximum number of atoms per signal (>= 1).
    tol : float
        Squared-residual tolerance (used when ``use_tol``).
    use_tol : bool
        Stop when the residual energy is <= ``tol``.
    eps : float
        Machine epsilon of the working dtype.
    mask_arr : ndarray of shape (1,), int64 or int32
        The sign-clearing mask, in the signed integer type as wide as the
        working dtype (see ``_argmax_abs``).
    block : int
        Number of signals per block.

    Returns
    -------
    code : ndarray of shape (n_samples, n_atoms)
    n_active : ndarray of shape (n_samples,), int32
    status : ndarray of shape (n_samples,), int8
    """
    n = X.shape[0]
    m = gram.shape[0]
    out = np.empty((n, m), dtype=gram.dtype)
    xnorm2 = np.empty(n)
    expo = np.zeros(n, dtype=np.int64)
    n_active = np.zeros(n, dtype=np.int32)
    status = np.zeros(n, dtype=np.int8)
    n_blocks = (n + block - 1) // block
    for b in prange(n_blocks):
        start = b * block
        stop = min(n, start + block)
        _code_block(X, DT, gram, out, xnorm2, expo, n_active, status, start,
                    stop, k_max, tol, use_tol, eps, mask_arr)  # fmt: skip
    return out, n_active, status


@jit
def batch_omp_serial(X, DT, gram, k_max, tol, use_tol, eps, mask_arr, block):
    """:func:`batch_omp` on the calling thread, block after block.

    The same blocks through the same :func:`_code_block`, hence the same
    codes bit for bit; for requests of one block (or ``n_jobs=1``), where
    starting a parallel region costs more than it saves.  Same parameters
    and returns as :func:`batch_omp`.
    """
    n = X.shape[0]
    m = gram.shape[0]
    out = np.empty((n, m), dtype=gram.dtype)
    xnorm2 = np.empty(n)
    expo = np.zeros(n, dtype=np.int64)
    n_active = np.zeros(n, dtype=np.int32)
    status = np.zeros(n, dtype=np.int8)
    n_blocks = (n + block - 1) // block
    for b in range(n_blocks):
        start = b * block
        stop = min(n, start + block)
        _code_block(X, DT, gram, out, xnorm2, expo, n_active, status, start,
                    stop, k_max, tol, use_tol, eps, mask_arr)  # fmt: skip
    return out, n_active, status


@jit
def _leading_right_singular_vector(E, v, max_iter, tol):
    """Leading right singular vector of ``E`` (float64), started at unit ``v``.

    Power iteration on the Gram matrix of the smaller side of ``E``
    (``p x f``), so memory and work per step are ``O(min(p, f)^2)`` on top of
    ``E`` itself:

    * ``p >= f``: on ``M = E^T E`` (``f x f``), ``v <- M v``;
    * ``p < f`` (wide, e.g. few signals in a long feature space): on
      ``M = E E^T`` (``p x p``) from ``u = E v / ||E v||``, then
      ``v = E^T u / ||E^T u||``.  This is the same Krylov sequence:
      ``(E E^T)^n E v = E (E^T E)^n v``, so ``E^T u`` is the ``(n+1)``-th
      iterate on ``E^T E``.  The stopping test is then on ``u``.

    Returns ``v`` overwritten (iterating until ``||x_new - x_old||^2 <= tol``
    for the iterate ``x``, at most ``max_iter`` steps).  Each power step
    cannot decrease ``||E v||`` (the Rayleigh quotients of a PSD power
    sequence are non-decreasing), so starting from the current atom the
    K-SVD error never increases even if the cap is hit.
    """
    p, f = E.shape
    wide = p < f
    n = p if wide else f
    M = np.zeros((n, n))
    if wide:
        x = np.empty(p)
        nx = 0.0
        for a in range(p):
            acc = 0.0
            for t in range(f):
                acc += np.float64(E[a, t]) * v[t]
            x[a] = acc
            nx += acc * acc
            # lower triangle of E E^T, mirrored
            for b in range(a + 1):
                acc = 0.0
                for t in range(f):
                    acc += np.float64(E[a, t]) * np.float64(E[b, t])
                M[a, b] = acc
                M[b, a] = acc
        if not nx > 0.0:  # E v == 0, hence E^T E v == 0: keep v
            return v
        nx = np.sqrt(nx)
        for a in range(p):
            x[a] /= nx
    else:
        x = v
        for a in range(p):
            for s in range(f):
                e = np.float64(E[a, s])
                for t in range(f):
                    M[s, t] += e * E[a, t]
    w = np.empty(n)
    for _ in range(max_iter):
        nw = 0.0
        for s in range(n):
            acc = 0.0
            for t in range(n):
                acc += M[s, t] * x[t]
            w[s] = acc
            nw += acc * acc
        if not nw > 0.0:  # M x == 0: keep x
            break
        nw = np.sqrt(nw)
        diff = 0.0
        for s in range(n):
            ws = w[s] / nw
            diff += (ws - x[s]) ** 2
            x[s] = ws
        if diff <= tol:
            break
    if wide:
        # v = E^T u / ||E^T u||, non-zero: u is a unit vector in range(E)
        nv = 0.0
        for t in range(f):
            acc = 0.0
            for a in range(p):
                acc += E[a, t] * x[a]
            v[t] = acc
            nv += acc * acc
        nv = np.sqrt(nv)
        for t in range(f):
            v[t] /= nv
    return v


@jit
def ksvd_update(R, code, D):
    """One K-SVD sweep over the atoms, in place (Aharon, Elad, Bruckstein 2006).

    For each atom ``j`` in turn, with ``omega`` the signals whose code uses it
    (any non-zero coefficient, negative ones included), the residual without
    the atom ``E = R[omega] + code[omega, j] d_j^T`` is replaced by its best
    rank-1 approximation ``s u v^T``: ``d_j <- v``, ``code[omega, j] <- s u
    = E v``, ``R[omega] <- E - (E v) v^T``.  ``v``, the leading right
    singular vector of ``E``, comes from power iteration started at the
    current atom (no LAPACK call: small SVDs were dominated by threading
    overhead), so it keeps the atom's sign.  The iteration runs on the Gram
    matrix of the smaller side of ``E`` (``E^T E`` or ``E E^T``, see
    :func:`_leading_right_singular_vector`), so memory stays
    ``O(|omega| n_features)`` per atom on wide data too.  Atoms are updated
    sequentially (each update sees the previous ones), as in the paper.

    Parameters
    ----------
    R : ndarray of shape (n_samples, n_features)
        Residual ``X - code @ D`` on entry, updated residual on exit.
    code : ndarray of shape (n_samples, n_atoms)
    D : ndarray of shape (n_atoms, n_features), unit-norm rows

    Returns
    -------
    n_used : ndarray of shape (n_atoms,), int64
        Number of signals using each atom (0: unused, to be replaced).
    """
    n, m = code.shape
    f = D.shape[1]
    # column index of the sparse codes (CSC), built in one row-major pass
    n_used = np.zeros(m, dtype=np.int64)
    for i in range(n):
        for j in range(m):
            if code[i, j] != 0:
                n_used[j] += 1
    ptr = np.zeros(m + 1, dtype=np.int64)
    for j in range(m):
        ptr[j + 1] = ptr[j] + n_used[j]
    rows = np.empty(ptr[m], dtype=np.int64)
    fill = ptr[:m].copy()
    for i in range(n):
        for j in range(m):
            if code[i, j] != 0:
                rows[fill[j]] = i
                fill[j] += 1

    v = np.empty(f)
    for j in range(m):
        start = ptr[j]
        p = n_used[j]
        if p == 0:
            continue
        E = np.empty((p, f), dtype=D.dtype)
        for a in range(p):
            i = rows[start + a]
            c = code[i, j]
            for t in range(f):
                E[a, t] = R[i, t] + c * D[j, t]
        nv = 0.0
        for t in range(f):
            v[t] = D[j, t]
            nv += v[t] * v[t]
        nv = np.sqrt(nv)
        for t in range(f):
            v[t] /= nv
        _leading_right_singular_vector(E, v, 1000, 1e-20)
        for t in range(f):
            D[j, t] = v[t]
        for a in range(p):
            i = rows[start + a]
            c = 0.0
            for t in range(f):
                c += np.float64(E[a, t]) * v[t]
            code[i, j] = c
            for t in range(f):
                R[i, t] = E[a, t] - c * v[t]
    return n_used
