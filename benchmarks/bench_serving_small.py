"""Small-request latency: SparseCoder and TangentDistanceKNN beside their peers.

Plain script (``python benchmarks/bench_serving_small.py [--threads 1]``).
Time per call at 1, 10, 100 and 1,000 rows, best of ``--repeats``
interleaved measurements of N calls each, N chosen so one measurement takes
about ``--target`` seconds; ratio = skreg time / peer time (below 1: skreg
is faster).

* Sparse coding, bench_omp's first problem (64 features, 256 unit-norm
  atoms, k = 10, float64): ``skreg.decomposition.SparseCoder.transform``
  (default ``n_jobs=None``: one thread) vs
  ``sklearn.decomposition.SparseCoder(transform_algorithm='omp')`` and
  ``spams.omp(Xf, Df, L=k, numThreads=1)`` (skipped if spams is not
  importable).  SPAMS takes signals as the columns of a Fortran-ordered
  array: that copy is made once, untimed, as the other peers' inputs are.
* Nearest neighbours, load_digits / 16 (64 features, fitted on the first
  1,437 digits, queries from the other 360, repeated up to 1,000 rows):
  ``skreg.neighbors.TangentDistanceKNN`` (defaults: 5 neighbours, 20
  Euclidean candidates, two-sided) vs
  ``sklearn.neighbors.KNeighborsClassifier`` (5 neighbours, default
  algorithm), ``predict`` and ``predict_proba``.

Every model is built fresh in this process; its first calls (numba cache
load, or compile when the cache is cold: it is keyed on all of skreg's
sources, so any edit to them recompiles; SparseCoder's Gram matrix; the
tangent filters' probe) are timed separately, before the tables.
``--threads 1`` limits BLAS and OpenMP to one thread (threadpoolctl) and
numba to one thread for the whole run; ``default`` (the default) leaves
every library at its default.  The load average is printed at the start
and the end: the machine may be shared.

Usage: python benchmarks/bench_serving_small.py [--threads {1,default}]
       [--repeats 5] [--target 0.1] [--quick]
"""

import argparse
import contextlib
import gc
import os
import sys
import time

import numba
import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.decomposition import SparseCoder as SkSparseCoder
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_info, threadpool_limits

import skreg
from skreg.decomposition import SparseCoder
from skreg.neighbors import TangentDistanceKNN

try:
    import spams
except ImportError as exc:  # optional peer
    spams = None
    SPAMS_WHY = f"cannot import spams ({exc}); pip install spams-bin"

SIZES = (1, 10, 100, 1000)
N_FEATURES, N_ATOMS, K = 64, 256, 10


def make_problem(n_samples, seed=0):
    """bench_omp's problem: k-sparse codes on random unit atoms plus noise."""
    from bench_omp import make_problem as omp_problem  # the script's folder

    X, D, _ = omp_problem(n_samples, N_FEATURES, N_ATOMS, K, seed=seed)
    return np.ascontiguousarray(X), D


def load():
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


# -------------------------------------------------------------------- timing
def _seconds(call, x, n):
    enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            call(x)
        return time.perf_counter() - t0
    finally:
        if enabled:
            gc.enable()


def calls_for(call, x, target):
    """N such that N calls take about ``target`` seconds."""
    call(x)
    n = 1
    while True:
        t = _seconds(call, x, n)
        if t >= target / 10 or n >= 10**6:
            return max(1, int(round(target * n / max(t, 1e-9))))
        n *= 8


def latency(peers, inputs, sizes, args):
    """Best seconds per call of every peer at every size, interleaved so
    that drift in the machine's load hits every peer alike."""
    best = {}
    for size in sizes:
        ns = {label: calls_for(call, inputs[label][size], args.target)
              for label, call in peers.items()}  # fmt: skip
        times = {label: [] for label in peers}
        for _ in range(args.repeats):
            for label, call in peers.items():
                n = ns[label]
                times[label].append(_seconds(call, inputs[label][size], n) / n)
        for label, t in times.items():
            best[label, size] = min(t)
    return best


def print_table(title, labels, best, sizes):
    print(f"\n== {title}")
    ref = labels[0]
    head = f"{'rows':>6} {ref + ' us':>18}"
    for label in labels[1:]:
        head += f" | {label + ' us':>20} {'ratio':>6}"
    print(head)
    for size in sizes:
        t0 = best[ref, size]
        line = f"{size:>6} {t0 * 1e6:18.1f}"
        for label in labels[1:]:
            t = best[label, size]
            line += f" | {t * 1e6:20.1f} {t0 / t:6.2f}"
        print(line)


def first_calls(label, make, x1, x1000):
    """Time a fresh model's first and second calls at 1 and 1,000 rows."""
    model = make()
    out = []
    for x in (x1, x1000, x1, x1000):
        t0 = time.perf_counter()
        model(x)
        out.append(time.perf_counter() - t0)
    f1, f1000, s1, s1000 = (1e3 * t for t in out)
    print(f"{label:34s} first call ms: 1 row {f1:8.2f}, 1,000 rows {f1000:8.2f}"
          f" | second: {s1:7.3f}, {s1000:8.2f}")  # fmt: skip


# ------------------------------------------------------------------ problems
def sparse_coding(args, sizes):
    X, D = make_problem(max(sizes))
    print(f"\n#### sparse coding: {N_FEATURES} features, {N_ATOMS} atoms, k={K}, "
          "float64")  # fmt: skip
    params = dict(transform_algorithm="omp", transform_n_nonzero_coefs=K)
    ours = SparseCoder(D, **params)
    theirs = SkSparseCoder(D, **params)
    Df = np.asfortranarray(D.T)  # atoms as columns
    rows = {n: np.ascontiguousarray(X[:n]) for n in sizes}
    cols = {n: np.asfortranarray(X[:n].T) for n in sizes}

    print("first calls of a fresh model (numba cache load or compile, Gram matrix):")
    first_calls(
        "skreg SparseCoder.transform",
        lambda: SparseCoder(D, **params).transform,
        rows[1],
        rows[1000],
    )
    first_calls(
        "sklearn SparseCoder.transform",
        lambda: SkSparseCoder(D, **params).transform,
        rows[1],
        rows[1000],
    )
    if spams is not None:
        first_calls("spams.omp",
                    lambda: (lambda Xf: spams.omp(Xf, Df, L=K, numThreads=1)),
                    cols[1], cols[1000])  # fmt: skip

    code = ours.transform(rows[100])
    sk = theirs.transform(rows[100])
    notes = [
        f"skreg vs sklearn on 100 rows: same support "
        f"{np.mean(np.all((code != 0) == (sk != 0), axis=1)):.0%}, "
        f"max |code diff| {np.abs(code - sk).max():.1e}"
    ]
    peers = {"skreg": ours.transform, "sklearn": theirs.transform}
    inputs = {"skreg": rows, "sklearn": rows}
    if spams is not None:
        sp = spams.omp(cols[100], Df, L=K, numThreads=1).T.toarray()
        notes.append(
            f"skreg vs SPAMS on 100 rows: same support "
            f"{np.mean(np.all((code != 0) == (sp != 0), axis=1)):.0%}, "
            f"max |code diff| {np.abs(code - sp).max():.1e}"
        )
        peers["SPAMS"] = lambda Xf: spams.omp(Xf, Df, L=K, numThreads=1)
        inputs["SPAMS"] = cols
    else:
        notes.append(f"SPAMS skipped: {SPAMS_WHY}")
    for note in notes:
        print(note)
    best = latency(peers, inputs, sizes, args)
    print_table(
        f"SparseCoder.transform, threads={args.threads}", list(peers), best, sizes
    )
    return best


def neighbours(args, sizes):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xtr, ytr, Xq = X[:1437], y[:1437], X[1437:]
    print("\n#### nearest neighbours: load_digits / 16, 1,437 fitted, 5 neighbours")
    rows = {n: np.ascontiguousarray(np.resize(Xq, (n, X.shape[1]))) for n in sizes}

    print("first calls of a fresh model (fit untimed; numba cache load, filters):")
    first_calls("skreg TangentDistanceKNN.predict",
                lambda: TangentDistanceKNN().fit(Xtr, ytr).predict,
                rows[1], rows[1000])  # fmt: skip
    first_calls("sklearn KNeighborsClassifier.predict",
                lambda: KNeighborsClassifier().fit(Xtr, ytr).predict,
                rows[1], rows[1000])  # fmt: skip

    ours = TangentDistanceKNN().fit(Xtr, ytr)
    theirs = KNeighborsClassifier().fit(Xtr, ytr)
    y_q = np.resize(y[1437:], 1000)
    ours_pred, theirs_pred = ours.predict(rows[1000]), theirs.predict(rows[1000])
    print(f"accuracy on 1,000 query rows (360 distinct): skreg "
          f"{np.mean(ours_pred == y_q):.3f}, sklearn {np.mean(theirs_pred == y_q):.3f}"
          f"; same prediction {np.mean(ours_pred == theirs_pred):.3f}")  # fmt: skip
    out = {}
    for method in ("predict", "predict_proba"):
        peers = {"skreg": getattr(ours, method), "sklearn": getattr(theirs, method)}
        best = latency(peers, {k: rows for k in peers}, sizes, args)
        print_table(
            f"TangentDistanceKNN.{method} vs KNeighborsClassifier, "
            f"threads={args.threads}",
            list(peers), best, sizes,
        )  # fmt: skip
        out[method] = best
    return out


# ---------------------------------------------------------------------- main
@contextlib.contextmanager
def thread_setting(mode):
    if mode == "default":
        yield
        return
    previous = numba.get_num_threads()
    with threadpool_limits(limits=1):
        numba.set_num_threads(1)
        try:
            yield
        finally:
            numba.set_num_threads(previous)


def summary(omp, knn):
    print("\n== summary (ratio = skreg / peer; targets: SparseCoder 1 row <= 2x "
          "SPAMS and < 1x at 1,000 rows; TangentDistanceKNN 1 row <= 1.2x "
          "KNeighborsClassifier)")  # fmt: skip
    for peer in ("SPAMS", "sklearn"):
        if ("skreg", 1) in omp and (peer, 1) in omp:
            r1 = omp["skreg", 1] / omp[peer, 1]
            r1000 = omp["skreg", 1000] / omp[peer, 1000]
            print(f"SparseCoder vs {peer:8s}: 1 row {omp['skreg', 1] * 1e6:8.1f} us / "
                  f"{omp[peer, 1] * 1e6:8.1f} us = {r1:5.2f}x; 1,000 rows "
                  f"{omp['skreg', 1000] * 1e3:7.2f} ms / {omp[peer, 1000] * 1e3:7.2f} "
                  f"ms = {r1000:5.2f}x")  # fmt: skip
    for method, best in knn.items():
        ours1, peer1 = best["skreg", 1], best["sklearn", 1]
        ours1000, peer1000 = best["skreg", 1000], best["sklearn", 1000]
        print(f"TangentDistanceKNN.{method:13s}: 1 row {ours1 * 1e6:8.1f} us / "
              f"{peer1 * 1e6:8.1f} us = {ours1 / peer1:5.2f}x; 1,000 rows "
              f"{ours1000 * 1e3:7.2f} ms / {peer1000 * 1e3:7.2f} ms = "
              f"{ours1000 / peer1000:5.2f}x")  # fmt: skip


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", choices=["1", "default"], default="default")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--target", type=float, default=0.1, help="seconds per measurement (N calls)"
    )
    ap.add_argument(
        "--quick", action="store_true", help="smoke test: 2 repeats of ~0.02 s"
    )
    args = ap.parse_args(argv)  # fmt: skip
    if args.quick:
        args.repeats, args.target = 2, 0.02
    print("skreg small-request latency benchmark")
    spams_version = getattr(spams, "__version__", "present") if spams else "absent"
    print(f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, numba "
          f"{numba.__version__}, skreg {skreg.__version__}, "
          f"spams {spams_version}")  # fmt: skip
    print(f"{load()} at start; {os.cpu_count()} CPUs; threads={args.threads}; best "
          f"of {args.repeats} repeats of ~{args.target} s")  # fmt: skip
    with thread_setting(args.threads):
        for info in threadpool_info():
            lib = os.path.basename(info["filepath"])
            print(f"  {info['user_api']:6s} {info['internal_api']:9s} threads "
                  f"{info['num_threads']}  {lib}")  # fmt: skip
        omp = sparse_coding(args, SIZES)
        knn = neighbours(args, SIZES)
        summary(omp, knn)
    print(f"\n{load()} at end")


if __name__ == "__main__":
    sys.exit(main())
