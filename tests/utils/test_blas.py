"""The package-wide single-threaded-BLAS section (skreg.utils._blas)."""

import threading

from threadpoolctl import threadpool_info

from skreg.utils._blas import single_threaded_blas


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_nested_and_interleaved_sections_restore_the_users_setting():
    before = _blas_threads()
    with single_threaded_blas():
        assert set(_blas_threads()) <= {1}
        with single_threaded_blas():
            assert set(_blas_threads()) <= {1}
        assert set(_blas_threads()) <= {1}, "inner exit must not restore"
    assert _blas_threads() == before


def test_overlapping_sections_from_threads_restore_once():
    """Threads entering and leaving in overlapping order never restore the
    user's setting while a section is still open, and restore it once at the
    end.  (The outer section is the main thread's: OpenBLAS ignores thread
    counts set from other threads once the main thread has set one.)"""
    before = _blas_threads()
    inside = threading.Barrier(2)
    leave_first = threading.Event()
    seen = []

    def first():
        with single_threaded_blas():
            inside.wait()
            leave_first.wait()
        seen.append(_blas_threads())  # the second is still inside

    def second():
        with single_threaded_blas():
            inside.wait()
            leave_first.set()
            t1.join()
            seen.append(_blas_threads())

    with single_threaded_blas():
        t1 = threading.Thread(target=first)
        t2 = threading.Thread(target=second)
        t1.start()
        t2.start()
        t2.join()
        seen.append(_blas_threads())
    assert len(seen) == 3 and all(set(s) <= {1} for s in seen), seen
    assert _blas_threads() == before


def test_omp_and_tangent_search_share_one_limit():
    """Sections of different subpackages share one count (no subpackage may
    restore the user's setting while another still runs)."""
    import numpy as np

    from skreg.decomposition import sparse_encode
    from skreg.neighbors import TangentDistanceKNN

    rng = np.random.default_rng(0)
    D = rng.standard_normal((20, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.random((200, 16))
    y = np.arange(200) % 3
    knn = TangentDistanceKNN().fit(X, y)
    before = _blas_threads()
    errors = []

    def work(fn):
        try:
            for _ in range(5):
                fn()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(
            target=work, args=(lambda: sparse_encode(X, D, n_nonzero_coefs=3),)
        ),
        threading.Thread(target=work, args=(lambda: knn.predict(X),)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _blas_threads() == before
