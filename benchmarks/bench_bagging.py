"""BaggedMLPClassifier vs scikit-learn's BaggingClassifier(MLPClassifier).

Same members on both sides: hidden (128,), relu, adam, batch 'auto', the
same ``max_iter`` epochs, 10 members, bootstrap, OOB score on.  Fit time
(JIT warm-up and loky start-up excluded), test accuracy and OOB score, side
by side in one process, at n_jobs=1 and 2, on two shapes:

* ``4000x784``: digits upsampled to 28x28 (bilinear), split 80/20 by
  image; the 1,437 training images give 4,000 training rows by random
  shifts of up to 2 pixels plus a little clipped noise; the 360 test images
  are upsampled and left as they are.
* ``digits``: load_digits 1,437 train / 360 test, pixels / 16.

Both libraries get the same dtype (``--dtype``; float32 and float64 both
run by default: scikit-learn's MLP keeps float32 too).  scikit-learn runs
as users get it (BLAS with its default thread count) and, at n_jobs=1, also
with BLAS held at one thread ("sk-1blas"), which is what BaggedMLPClassifier
does while members train (see its Notes).

Usage: ``python benchmarks/bench_bagging.py [--repeats 3] [--max-iter 30]``
"""

import argparse
import os
import statistics
import time
import warnings

import numpy as np
from scipy.ndimage import zoom
from sklearn.datasets import load_digits
from sklearn.ensemble import BaggingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLP
from threadpoolctl import threadpool_limits

from skreg.ensemble import BaggedMLPClassifier
from skreg.neural_network import MLPClassifier

warnings.simplefilter("ignore", ConvergenceWarning)
warnings.simplefilter("ignore", UserWarning)  # OOB "no vote" warnings
warnings.simplefilter("ignore", RuntimeWarning)  # sklearn: 0/0 in its OOB decision


def shape_784(seed=0):
    X, y = load_digits(return_X_y=True)
    imgs = zoom(X.reshape(-1, 8, 8) / 16.0, (1, 3.5, 3.5), order=1)
    i_tr, i_te = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y,
                                  random_state=seed)
    rng = np.random.default_rng(seed)
    pick = rng.choice(i_tr, 4000)
    shifts = rng.integers(-2, 3, size=(4000, 2))
    X_tr = np.empty((4000, 28, 28))
    for r, (i, (dy, dx)) in enumerate(zip(pick, shifts, strict=True)):
        X_tr[r] = np.roll(imgs[i], (dy, dx), axis=(0, 1))
    X_tr = np.clip(X_tr + 0.03 * rng.standard_normal(X_tr.shape), 0, 1)
    return (X_tr.reshape(4000, -1), imgs[i_te].reshape(len(i_te), -1), y[pick],
            y[i_te])


def shape_digits(seed=0):
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.2, stratify=y, random_state=seed)


def ours(n_jobs, max_iter):
    member = MLPClassifier(hidden_layer_sizes=(128,), max_iter=max_iter)
    return BaggedMLPClassifier(member, n_estimators=10, bootstrap=True, oob_score=True,
                               n_jobs=n_jobs, random_state=0)


def theirs(n_jobs, max_iter):
    member = SkMLP(hidden_layer_sizes=(128,), max_iter=max_iter)
    return BaggingClassifier(member, n_estimators=10, bootstrap=True, oob_score=True,
                             n_jobs=n_jobs, random_state=0)


def fit_seconds(model, X, y, blas1):
    start = time.perf_counter()
    if blas1:
        with threadpool_limits(1, user_api="blas"):
            model.fit(X, y)
    else:
        model.fit(X, y)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=30)
    parser.add_argument("--dtype", choices=["float32", "float64", "both"],
                        default="both")
    parser.add_argument("--shape", choices=["784", "digits", "both"], default="both")
    parser.add_argument("--n-jobs", default="1,2")
    parser.add_argument("--default-blas-repeats", type=int, default=1,
                        help="runs of scikit-learn with default BLAS threads at "
                        "n_jobs=1 (slow when the machine is oversubscribed)")
    args = parser.parse_args()
    dtypes = ["float32", "float64"] if args.dtype == "both" else [args.dtype]
    shapes = {"784": shape_784, "digits": shape_digits}
    shapes = shapes if args.shape == "both" else {args.shape: shapes[args.shape]}
    n_jobs_list = [int(v) for v in args.n_jobs.split(",")]

    print(f"uptime: {os.popen('uptime').read().strip()}")
    print(f"members: hidden (128,), adam, batch 'auto', max_iter={args.max_iter} "
          f"epochs, 10 members, bootstrap; runs interleaved, {args.repeats} repeats "
          "(best / median s)")
    for name, make_data in shapes.items():
        X_tr, X_te, y_tr, y_te = make_data()
        for dt in dtypes:
            Xtr, Xte = X_tr.astype(dt), X_te.astype(dt)
            start = time.perf_counter()  # JIT warm-up (cache) and loky start-up
            ours(1, 2).fit(Xtr[:300], y_tr[:300])
            theirs(2, 2).fit(Xtr[:300], y_tr[:300])
            warm = time.perf_counter() - start
            print(f"\n== {name}: train {Xtr.shape}, test {Xte.shape}, {dt} "
                  f"(warm-up {warm:.2f} s, excluded)")
            print(f"{'n_jobs':>6} {'model':<9} {'best s':>7} {'median':>7} {'runs':>4} "
                  f"{'test acc':>8} {'oob':>6} {'/sklearn':>8} {'/sk-1blas':>9}")
            for nj in n_jobs_list:
                configs = [("sklearn", theirs, False,
                            args.default_blas_repeats if nj == 1 else args.repeats)]
                if nj == 1:
                    configs.append(("sk-1blas", theirs, True, args.repeats))
                configs.append(("skreg", ours, False, args.repeats))
                times = {c[0]: [] for c in configs}
                models = {}
                for r in range(args.repeats):
                    for label, make, blas1, n_runs in configs:
                        if r >= n_runs:
                            continue
                        model = make(nj, args.max_iter)
                        times[label].append(fit_seconds(model, Xtr, y_tr, blas1))
                        models[label] = model
                best = {k: min(v) for k, v in times.items()}
                for label, *_ in configs:
                    model = models[label]
                    ref1 = (f"{best[label] / best['sk-1blas']:9.3f}"
                            if "sk-1blas" in best else f"{'':>9}")
                    print(f"{nj:>6} {label:<9} {best[label]:7.2f} "
                          f"{statistics.median(times[label]):7.2f} "
                          f"{len(times[label]):>4} {model.score(Xte, y_te):8.4f} "
                          f"{model.oob_score_:6.3f} "
                          f"{best[label] / best['sklearn']:8.3f} "
                          f"{ref1}", flush=True)
            print(f"uptime: {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    main()
