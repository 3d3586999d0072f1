"""Numba decorator presets and thread control shared by every skreg kernel.

Every jitted function in skreg is decorated with :func:`jit` or
:func:`jit_parallel` from this module, at module level, so that caching,
GIL release and floating-point flags are set in one place.

Why these choices
-----------------
* ``cache=True``: compiled kernels are written next to the sources, so a
  fresh process with a warm cache pays no compilation.
* ``nogil=True``: kernels release the GIL, so joblib's threading backend
  gives real parallelism (bagging members, concurrent ``fit`` calls).
* ``fastmath``: only flags that keep NaN and inf observable (no ``nnan`` /
  ``ninf``); ``reassoc`` and ``contract`` let LLVM vectorise reductions and
  fuse multiply-adds.  umap removed unsafe flags after they hid NaNs.
* no eager signatures: they reject read-only (memmapped) and Fortran
  ordered arrays with a raw numba ``TypeError``.  Callers normalise layout
  and dtype in Python instead, which also bounds the number of variants.
"""

import threading
from contextlib import contextmanager

import numba
from joblib import effective_n_jobs

__all__ = ["SAFE_FASTMATH", "jit", "jit_parallel", "numba_threads"]

#: LLVM fast-math flags that never assume the absence of NaN or inf.
SAFE_FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

_SERIAL = dict(cache=True, nogil=True, fastmath=SAFE_FASTMATH, error_model="numpy")
_PARALLEL = dict(_SERIAL, parallel=True)


def _preset(options, func=None, **overrides):
    if overrides.get("fastmath") is True:  # pragma: no cover - developer guard
        raise ValueError("fastmath=True hides NaN/inf; use SAFE_FASTMATH")
    kwargs = {**options, **overrides}
    if isinstance(kwargs.get("fastmath"), frozenset):
        # numba accepts bool, dict or set -- not frozenset
        kwargs["fastmath"] = set(kwargs["fastmath"])
    if func is None:
        return lambda f: numba.njit(**kwargs)(f)
    return numba.njit(**kwargs)(func)


def jit(func=None, **overrides):
    """Serial kernel preset: ``njit(cache=True, nogil=True, safe fastmath)``.

    Use as ``@jit`` or ``@jit(inline="always")``.
    """
    return _preset(_SERIAL, func, **overrides)


def jit_parallel(func=None, **overrides):
    """Data-parallel kernel preset: :func:`jit` plus ``parallel=True``.

    Only for loops (``numba.prange``) where each iteration writes its own
    output; reductions use per-thread buffers.  Call it inside
    :func:`numba_threads` so ``n_jobs`` is honoured.
    """
    return _preset(_PARALLEL, func, **overrides)


# numba's "workqueue" threading layer aborts the process when two threads
# launch parallel regions at once.  OpenMP and TBB are thread-safe.  Until
# we know which layer was picked (it is chosen at the first parallel launch)
# and whenever it is workqueue, parallel sections are serialised by a lock.
_WORKQUEUE_LOCK = threading.RLock()


def _layer_is_threadsafe():
    try:
        return numba.threading_layer() in ("omp", "tbb")
    except ValueError:  # no parallel region has run yet
        return False


def _n_threads(n_jobs):
    n = effective_n_jobs(n_jobs)
    return max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))


@contextmanager
def numba_threads(n_jobs=None):
    """Run the enclosed numba parallel kernels on ``n_jobs`` threads.

    ``n_jobs`` follows joblib's convention (``None`` means 1 unless inside a
    :func:`joblib.parallel_config` context, ``-1`` means all cores).  The
    previous count is restored on exit.  numba's thread count is
    thread-local, so concurrent sections in different Python threads do not
    interfere.

    Yields
    ------
    n_threads : int
        The number of threads the section runs on.
    """
    n = _n_threads(n_jobs)
    previous = numba.get_num_threads()
    lock = None if _layer_is_threadsafe() else _WORKQUEUE_LOCK
    if lock is not None:
        lock.acquire()
    try:
        numba.set_num_threads(n)
        yield n
    finally:
        numba.set_num_threads(previous)
        if lock is not None:
            lock.release()
