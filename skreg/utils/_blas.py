"""One process-wide "BLAS on one thread" section shared by every skreg kernel.

Kernels that call BLAS from numba threads (Batch-OMP blocks, tangent-distance
query chunks, bagging members trained in joblib threads) want BLAS itself on
one thread: multithreaded BLAS workers would compete with numba's threads for
the same cores, and would make results depend on how the work is split.

threadpoolctl's limit is process-wide, so there must be exactly one
reference count for the whole package: the first section to enter sets the
limit and remembers the user's setting, the last to leave restores it.
Separate counters per subpackage would interleave badly (one restoring the
user's setting while another still runs, or the last one out "restoring" the
limit of one).

A caveat measured with OpenBLAS 0.3.30/0.3.31 (pthreads): once the main
thread has set a thread count, counts set from other threads are ignored.
A section first entered from a worker thread may then leave BLAS at the
user's setting; results stay correct, only the oversubscription guard is
lost.  Estimators therefore enter the section in the calling thread, before
they hand work to joblib or numba threads.
"""

import threading
from contextlib import contextmanager

__all__ = ["single_threaded_blas"]

_LOCK = threading.Lock()
_STATE = {"controller": None, "users": 0, "limiter": None}


def _controller():
    if _STATE["controller"] is None:
        # numba's np.dot calls scipy's BLAS: make sure it is loaded so the
        # controller sees it.  Building the controller scans the loaded
        # libraries (milliseconds), so it is built once.
        import scipy.linalg.cython_blas  # noqa: F401
        from threadpoolctl import ThreadpoolController

        _STATE["controller"] = ThreadpoolController()
    return _STATE["controller"]


@contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread while at least one skreg section runs.

    Safe to enter from several Python threads at once and to nest.
    """
    with _LOCK:
        if _STATE["users"] == 0:
            _STATE["limiter"] = _controller().limit(limits=1, user_api="blas")
        _STATE["users"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["users"] -= 1
            if _STATE["users"] == 0:
                _STATE["limiter"].restore_original_limits()
                _STATE["limiter"] = None
