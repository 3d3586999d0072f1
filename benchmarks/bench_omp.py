"""OMP sparse coding: skreg SparseCoder vs scikit-learn SparseCoder(omp) vs SPAMS.

Plain script (``python benchmarks/bench_omp.py [--repeat 5] [--quick]``).
Two problems: random unit-norm atoms, exactly k-sparse codes (|coef| in
[1, 2], random signs) plus Gaussian noise of standard deviation 0.01:

* 20,000 signals x 64 features, 256 atoms, k = 10
* 5,000 signals x 256 features, 1,024 atoms, k = 20

All three code the same float64 data in one process.  skreg runs on
``n_jobs=2`` threads, SPAMS on ``numThreads=2``, scikit-learn with its
default ``n_jobs=None`` (one job; its OMP loop is Python per signal).  The
JIT warm-up (compile or cache load) is timed separately; every method is
timed ``--repeat`` times and the best and median are reported (the machine
may be shared: the load average is printed).  A second table gives the CPU
time per signal of each method on one thread (``time.process_time``), a
measure that other processes' load barely disturbs.  Support recovery = fraction of
signals whose chosen atoms are exactly the planted ones.  Finally the first
``transform`` call in a fresh process (warm numba cache) is timed.
"""

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
import time

import numpy as np

SIZES = [(20_000, 64, 256, 10), (5_000, 256, 1_024, 20)]


def make_problem(n_samples, n_features, n_atoms, k, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    support = np.argsort(rng.random((n_samples, n_atoms)), axis=1)[:, :k]
    C = np.zeros((n_samples, n_atoms))
    rows = np.arange(n_samples)[:, None]
    C[rows, support] = rng.choice([-1.0, 1.0], (n_samples, k)) * (
        1.0 + rng.random((n_samples, k))
    )
    X = C @ D + noise * rng.standard_normal((n_samples, n_features))
    return X, D, C != 0


def recovery(code_support, planted_support):
    return float(np.mean(np.all(code_support == planted_support, axis=1)))


def timed(fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, times


def _cpu(fn):
    start = time.process_time()
    fn()
    return time.process_time() - start


def load():
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def first_call_in_fresh_process():
    code = textwrap.dedent(
        """
        import time
        t0 = time.perf_counter()
        import numpy as np
        from skreg.decomposition import SparseCoder
        t1 = time.perf_counter()
        rng = np.random.default_rng(0)
        D = rng.standard_normal((256, 64))
        D /= np.linalg.norm(D, axis=1, keepdims=True)
        X = rng.standard_normal((1000, 64))
        t2 = time.perf_counter()
        SparseCoder(D, transform_n_nonzero_coefs=10, n_jobs=2).transform(X)
        t3 = time.perf_counter()
        print(t1 - t0, t3 - t2)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    import_s, call_s = map(float, out.stdout.split())
    return import_s, call_s


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--quick", action="store_true", help="sizes / 10, scikit-learn on 500 signals"
    )
    args = parser.parse_args(argv)

    from sklearn.decomposition import SparseCoder as SkSparseCoder

    from skreg.decomposition import SparseCoder

    try:
        import spams
    except ImportError as exc:  # optional peer
        spams = None
        print(f"SPAMS skipped: cannot import spams ({exc}); pip install spams-bin")

    print(f"{load()} at start; {os.cpu_count()} CPUs")
    ratios = []
    for n, f, m, k in SIZES:
        if args.quick:
            n //= 10
        X, D, planted = make_problem(n, f, m, k)
        print(f"\n== {n} signals x {f} features, {m} atoms, k={k} (float64) ==")
        rows = {}

        ours = SparseCoder(D, transform_n_nonzero_coefs=k, n_jobs=2)
        start = time.perf_counter()
        ours.transform(X[:10])
        warm = time.perf_counter() - start
        code, times = timed(lambda ours=ours, X=X: ours.transform(X), args.repeat)
        rows["skreg (n_jobs=2)"] = (times, recovery(code != 0, planted))
        print(f"skreg JIT warm-up (compile or cache load): {warm:.2f} s")

        X32, D32 = X.astype(np.float32), D.astype(np.float32)
        ours32 = SparseCoder(D32, transform_n_nonzero_coefs=k, n_jobs=2)
        ours32.transform(X32[:10])
        code32, times32 = timed(lambda o=ours32, X=X32: o.transform(X), args.repeat)
        rows["skreg float32 (n_jobs=2)"] = (times32, recovery(code32 != 0, planted))

        n_sk = min(n, 500) if args.quick else n
        sk = SkSparseCoder(D, transform_algorithm="omp", transform_n_nonzero_coefs=k)
        sk_code, sk_times = timed(lambda sk=sk, Xs=X[:n_sk]: sk.transform(Xs), 1)
        sk_times = [t * n / n_sk for t in sk_times]  # extrapolated if --quick
        rows["scikit-learn"] = (sk_times, recovery(sk_code != 0, planted[:n_sk]))
        same = np.mean(np.all((sk_code != 0) == (code[:n_sk] != 0), axis=1))
        diff = np.abs(sk_code - code[:n_sk]).max()
        print(
            f"skreg vs scikit-learn on {n_sk} signals: same support {same:.4%}, "
            f"max |code diff| {diff:.2e}"
        )

        if spams is not None:
            Xf = np.asfortranarray(X.T)  # signals as columns
            Df = np.asfortranarray(D.T)  # atoms as columns
            spams.omp(Xf[:, :10], Df, L=k, numThreads=2)
            sp_code, sp_times = timed(
                lambda Xf=Xf, Df=Df, k=k: spams.omp(Xf, Df, L=k, numThreads=2),
                args.repeat,
            )
            sp_dense = sp_code.T.toarray()
            rows["SPAMS (numThreads=2)"] = (sp_times, recovery(sp_dense != 0, planted))
            same = np.mean(np.all((sp_dense != 0) == (code != 0), axis=1))
            print(f"skreg vs SPAMS: same support {same:.4%}")

        header = ("method", "best s", "median s", "signals/s", "recovery")
        print("{:<26}{:>9}{:>10}{:>12}{:>10}".format(*header))
        for name, (t, rec) in rows.items():
            print(
                f"{name:<26}{min(t):>9.4f}{statistics.median(t):>10.4f}"
                f"{n / min(t):>12,.0f}{rec:>10.4f}"
            )
        ours_t = rows["skreg (n_jobs=2)"][0]
        for peer in ("scikit-learn", "SPAMS (numThreads=2)"):
            if peer in rows:
                peer_t = rows[peer][0]
                best = min(peer_t) / min(ours_t)
                med = statistics.median(peer_t) / statistics.median(ours_t)
                ratios.append((n, peer, best, med))
                print(f"skreg throughput / {peer}: best {best:.1f}x, median {med:.1f}x")
        print(load())

    print(
        "\n== CPU cost per signal, one thread each (time.process_time: counts "
        "only this process's CPU, so it is insensitive to other load) =="
    )
    for n, f, m, k in SIZES:
        # a quarter of the signals: scikit-learn is slow, but the fixed costs
        # (Gram matrix, thread start) must stay amortised as in the main runs
        n_cpu = n // 10 if args.quick else n // 4
        X, D, _ = make_problem(n_cpu, f, m, k, seed=1)
        costs = {}
        ours = SparseCoder(D, transform_n_nonzero_coefs=k, n_jobs=1)
        ours.transform(X[:10])
        costs["skreg"] = min(_cpu(lambda o=ours, X=X: o.transform(X)) for _ in range(3))
        sk = SkSparseCoder(D, transform_algorithm="omp", transform_n_nonzero_coefs=k)
        costs["scikit-learn"] = _cpu(lambda sk=sk, X=X: sk.transform(X))
        if spams is not None:
            Xf, Df = np.asfortranarray(X.T), np.asfortranarray(D.T)
            costs["SPAMS"] = min(
                _cpu(lambda Xf=Xf, Df=Df, k=k: spams.omp(Xf, Df, L=k, numThreads=1))
                for _ in range(3)
            )
        line = ", ".join(
            f"{name} {1e6 * c / n_cpu:.1f} us" for name, c in costs.items()
        )
        ratio = ", ".join(
            f"{costs[p] / costs['skreg']:.1f}x vs {p}" for p in costs if p != "skreg"
        )
        print(f"{f} features, {m} atoms, k={k}: {line}  -> skreg {ratio}")

    import_s, call_s = first_call_in_fresh_process()
    print(
        f"\nfresh process, warm numba cache: import {import_s:.2f} s, "
        f"first transform (1000 x 64, 256 atoms) {call_s:.3f} s"
    )
    print(f"{load()} at end")
    return ratios


if __name__ == "__main__":
    main()
