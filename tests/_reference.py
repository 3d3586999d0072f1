"""Slow, obviously-correct numpy references for skreg's kernels.

Each kernel in ``skreg/**/_kernels.py`` is compared against a function here
(stumpy's ``naive.py`` habit): plain loops and ``numpy.linalg``, written for
clarity, never for speed.  Sections, one per subpackage, follow.
"""

import numpy as np  # noqa: F401


# --- decomposition ---


def omp_reference(x, dictionary, n_nonzero_coefs=None, tol=None):
    """Plain greedy OMP of one signal, refitting with ``np.linalg.lstsq``.

    ``dictionary`` has atoms as rows.  Stops after ``n_nonzero_coefs`` atoms,
    or (if ``tol`` is given) as soon as ``||residual||^2 <= tol``, or when the
    residual is numerically orthogonal to every atom.  Computed in float64.
    Returns ``(code, stopped_early)``.
    """
    x = np.asarray(x, dtype=np.float64)
    D = np.asarray(dictionary, dtype=np.float64)
    n_atoms = D.shape[0]
    max_atoms = min(n_atoms, D.shape[1]) if tol is not None else n_nonzero_coefs
    floor = np.finfo(np.float64).eps * (x @ x) * np.max(np.sum(D * D, axis=1))
    support, coef = [], np.zeros(0)
    residual = x.copy()
    stopped_early = False
    while True:
        if tol is not None and residual @ residual <= tol:
            break
        if len(support) == max_atoms:
            stopped_early = tol is not None
            break
        corr = D @ residual
        corr[support] = 0.0
        j = int(np.argmax(np.abs(corr)))
        if corr[j] ** 2 <= floor:
            stopped_early = True
            break
        support.append(j)
        coef = np.linalg.lstsq(D[support].T, x, rcond=None)[0]
        residual = x - coef @ D[support]
    code = np.zeros(n_atoms)
    code[support] = coef
    return code, stopped_early
