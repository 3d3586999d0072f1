"""Tangent-distance 1-NN: predict throughput of skreg vs scikit-learn vs numpy.

Plain script (``python benchmarks/bench_tangent_knn.py [--repeat 7]``).
load_digits, pixels / 16, float64: the first 1,437 images are the training
set, the last 360 the queries (1-NN, two-sided tangent distance, all seven
image transforms, sigma=0.5).  In one process:

* skreg ``TangentDistanceKNN`` with default settings (Euclidean
  pre-selection of ``n_candidates=20``, exact tangent distance among them)
  and in exact mode (``n_candidates=None``), ``n_jobs=2``;
* scikit-learn ``KNeighborsClassifier(1, algorithm='brute')`` (Euclidean);
* two vectorised numpy implementations of exact two-sided tangent distance
  (same smoothing, tangents and orthonormal bases as skreg):

  - ``numpy-reduced``: the same algebra as skreg's kernel -- with
    orthonormal bases ``Qx, Qy`` the problem reduces to the ``r x r``
    system ``(I - C C^T) beta = b - C a`` with ``C = Qy Qx^T``; all inner
    products are BLAS matrix products over query chunks, the small systems
    one batched ``np.linalg.solve`` (a 1e-10 ridge keeps overlapping
    planes solvable);
  - ``numpy-lstsq``: the textbook formulation -- per pair, least squares on
    the stacked tangents ``[T_x, -T_y]`` by batched normal equations (Gram
    matrices with ``einsum``/``matmul``, ``np.linalg.pinv(hermitian=True)``
    for rank deficiency).

skreg runs its query chunks on 2 Python threads with single-threaded BLAS;
scikit-learn and numpy use their default (multithreaded) BLAS, and
``numpy-reduced`` is also timed with BLAS limited to one thread: on a
loaded machine multithreaded BLAS on small products can spin for a long
time, which would flatter skreg's ratios.

The numpy implementations are slow, so they run on the first
``--numpy-queries`` queries and are compared by throughput (queries per
second).  JIT warm-up (compile or cache load) is timed separately; each
method runs ``--repeat`` times, best and median are reported with the load
average (the machine may be shared).  Agreement: predictions and maximum
absolute distance difference against skreg's exact mode.
"""

import argparse
import os
import statistics
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

from skreg.neighbors import TangentDistanceKNN
from skreg.neighbors._tangent_distance import _distance_space, _tangent_planes
from skreg.utils import IMAGE_TRANSFORMS, image_tangents

SHAPE, SIGMA = (8, 8), 0.5
TRANSFORMS = IMAGE_TRANSFORMS


def numpy_reduced(Xq, Xt, chunk=16):
    """Exact two-sided tangent distances, the kernel's algebra in numpy."""
    Sq, St = _distance_space(Xq, SHAPE, SIGMA), _distance_space(Xt, SHAPE, SIGMA)
    Qq = _tangent_planes(Xq, SHAPE, TRANSFORMS, SIGMA)[0]
    Qt = _tangent_planes(Xt, SHAPE, TRANSFORMS, SIGMA)[0]
    nt, k, d = Qt.shape
    Qt_flat = Qt.reshape(nt * k, d)
    Qt_y = np.einsum("tjd,td->tj", Qt, St)
    yy = np.einsum("td,td->t", St, St)
    eye = np.eye(k)
    out = np.empty((len(Xq), nt))
    for s in range(0, len(Xq), chunk):
        x, Q = Sq[s : s + chunk], Qq[s : s + chunk]
        nq = len(x)
        # a[q, t, i] = Qx_i . (x - y), b[q, t, j] = Qy_j . (x - y)
        a = np.einsum("qid,qd->qi", Q, x)[:, None, :] - (
            Q.reshape(nq * k, d) @ St.T
        ).reshape(nq, k, nt).transpose(0, 2, 1)
        b = (Qt_flat @ x.T).reshape(nt, k, nq).transpose(2, 0, 1) - Qt_y[None]
        C = (
            (Qt_flat @ Q.reshape(nq * k, d).T)
            .reshape(nt, k, nq, k)
            .transpose(2, 0, 1, 3)
        )
        G = eye - C @ C.swapaxes(-1, -2)
        g = b - (C @ a[..., None])[..., 0]
        beta = np.linalg.solve(G + 1e-10 * eye, g[..., None])[..., 0]
        alpha = a - (C.swapaxes(-1, -2) @ beta[..., None])[..., 0]
        dd = np.einsum("qd,qd->q", x, x)[:, None] - 2 * x @ St.T + yy[None]
        res = (
            dd - np.einsum("qti,qti->qt", alpha, a) - np.einsum("qtj,qtj->qt", beta, b)
        )
        out[s : s + chunk] = np.sqrt(np.maximum(res, 0.0))
    return out


def numpy_lstsq(Xq, Xt, chunk=4):
    """Exact two-sided tangent distances by batched least squares on the
    stacked raw tangents ``A = [T_x, -T_y]`` (normal equations + pinv)."""
    Sq, St = _distance_space(Xq, SHAPE, SIGMA), _distance_space(Xt, SHAPE, SIGMA)
    Tq = image_tangents(Xq, SHAPE, TRANSFORMS, SIGMA)
    Tt = image_tangents(Xt, SHAPE, TRANSFORMS, SIGMA)
    nt, k, _ = Tt.shape
    Gtt = Tt @ Tt.swapaxes(1, 2)  # (nt, k, k)
    out = np.empty((len(Xq), nt))
    for s in range(0, len(Xq), chunk):
        x, Tx = Sq[s : s + chunk], Tq[s : s + chunk]
        nq = len(x)
        diff = St[None, :, :] - x[:, None, :]  # y - x, (q, t, d)
        Gxx = Tx @ Tx.swapaxes(1, 2)  # (q, k, k)
        Gxt = -np.einsum("qid,tjd->qtij", Tx, Tt, optimize=True)
        G = np.empty((nq, nt, 2 * k, 2 * k))
        G[:, :, :k, :k] = Gxx[:, None]
        G[:, :, :k, k:] = Gxt
        G[:, :, k:, :k] = Gxt.swapaxes(-1, -2)
        G[:, :, k:, k:] = Gtt[None]
        rhs = np.concatenate(
            [np.einsum("qid,qtd->qti", Tx, diff), -np.einsum("tjd,qtd->qtj", Tt, diff)],
            axis=2,
        )
        coef = (np.linalg.pinv(G, hermitian=True) @ rhs[..., None])[..., 0]
        res = np.einsum("qtd,qtd->qt", diff, diff) - np.einsum("qti,qti->qt", coef, rhs)
        out[s : s + chunk] = np.sqrt(np.maximum(res, 0.0))
    return out


def timed(fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--numpy-queries", type=int, default=60)
    parser.add_argument("--lstsq-queries", type=int, default=8)
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xt, yt, Xq, yq = X[:1437], y[:1437], X[1437:], y[1437:]
    nq = len(Xq)
    print(f"load average before: {os.getloadavg()}  (2 cores shared with other jobs)")
    print(f"{len(Xt)} training / {nq} query digits, 64 features, float64\n")

    def warm(make):
        start = time.perf_counter()
        make().fit(Xt[:30], yt[:30]).predict(Xq[:2])
        return time.perf_counter() - start

    methods = {
        "skreg default (n_candidates=20)": lambda: TangentDistanceKNN(
            n_neighbors=1, n_jobs=2
        ),
        "skreg exact (n_candidates=None)": lambda: TangentDistanceKNN(
            n_neighbors=1, n_candidates=None, n_jobs=2
        ),
        "sklearn KNN Euclidean brute": lambda: KNeighborsClassifier(
            1, algorithm="brute"
        ),
    }
    qps, preds, models, times = {}, {}, {}, {}
    for name, make in methods.items():
        w = warm(make)
        models[name] = make().fit(Xt, yt)
        print(f"{name:34s} JIT warm-up (compile or cache load) {w:6.2f} s")
    # interleaved rounds, so a burst of load from other jobs hits every
    # method alike
    for _ in range(args.repeat):
        for name, model in models.items():
            start = time.perf_counter()
            preds[name] = model.predict(Xq)
            times.setdefault(name, []).append(time.perf_counter() - start)
    for name, t in times.items():
        qps[name] = (nq / min(t), nq / statistics.median(t))
        print(
            f"{name:34s} predict best {min(t) * 1e3:8.1f} ms  median "
            f"{statistics.median(t) * 1e3:8.1f} ms  "
            f"accuracy {np.mean(preds[name] == yq):.4f}"
        )
    exact_model = TangentDistanceKNN(n_neighbors=1, n_candidates=None, n_jobs=2)
    exact_model.fit(Xt, yt)

    def single_blas(fn):
        def run(*a):
            with threadpool_limits(1, user_api="blas"):
                return fn(*a)

        return run

    for name, fn, n_sub, repeat in (
        (
            "numpy-reduced exact",
            numpy_reduced,
            args.numpy_queries,
            max(3, args.repeat // 3),
        ),
        (
            "numpy-reduced exact, 1 BLAS thread",
            single_blas(numpy_reduced),
            args.numpy_queries,
            max(3, args.repeat // 3),
        ),
        ("numpy-lstsq exact", numpy_lstsq, args.lstsq_queries, 2),
    ):
        sub = Xq[:n_sub]
        D, times = timed(lambda fn=fn, sub=sub: fn(sub, Xt), repeat)
        qps[name] = (n_sub / min(times), n_sub / statistics.median(times))
        d_ref, i_ref = exact_model.kneighbors(sub, 1)
        agree = np.mean(D.argmin(axis=1) == i_ref[:, 0])
        diff = np.max(np.abs(D.min(axis=1) - d_ref[:, 0]))
        print(
            f"{name:34s} {n_sub} queries: best {min(times) * 1e3:8.1f} ms  median "
            f"{statistics.median(times) * 1e3:8.1f} ms  same neighbour as skreg exact "
            f"{agree:.3f}, max |distance diff| {diff:.1e}"
        )

    ours = "skreg default (n_candidates=20)"
    exact = "skreg exact (n_candidates=None)"
    sk = "sklearn KNN Euclidean brute"
    agree = np.mean(preds[ours] == preds[exact])
    print(f"\ndefault vs exact: same prediction on {agree:.3f} of the queries")
    print("\nthroughput ratios (best / median):")
    for num, den, target in (
        (ours, sk, "target >= 0.2"),
        (exact, sk, ""),
        (exact, "numpy-reduced exact", "target >= 20"),
        (exact, "numpy-reduced exact, 1 BLAS thread", ""),
        (exact, "numpy-lstsq exact", ""),
        (ours, "numpy-reduced exact", ""),
    ):
        best = qps[num][0] / qps[den][0]
        med = qps[num][1] / qps[den][1]
        print(f"  {num} / {den}: {best:7.2f} / {med:7.2f}  {target}")
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
