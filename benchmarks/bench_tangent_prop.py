"""Fit time of tangent propagation relative to the same plain network.

load_digits train split (1,437 x 64), hidden (100,), adam, batch 200 (the
'auto' size), fixed epochs (tol=0 so no early stop): skreg's MLPClassifier,
TangentPropMLPClassifier with 7 image tangents (tangents computed inside
fit, counted), the same with ``tangent_output='logits'`` and with
``tangent_sampling='rademacher'`` (one random combination of the 7
tangents per step), and ManifoldTangentClassifier (autoencoder + 7 learned
tangents, counted);
scikit-learn's MLPClassifier as a reference.  JIT warm-up excluded
(reported separately).  Prints the median of interleaved repeats, the
ratio to the plain network (target <= 3x with 7 tangents) and test
accuracies.

Usage: python benchmarks/bench_tangent_prop.py [--epochs 50] [--repeats 3]
       [--threads 1]
"""

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLP

from skreg.neural_network import (
    ManifoldTangentClassifier,
    MLPClassifier,
    TangentPropMLPClassifier,
)

warnings.simplefilter("ignore", ConvergenceWarning)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:  # pragma: no cover
        print("threadpoolctl not installed: BLAS threads not limited")
    print(f"uptime: {os.popen('uptime').read().strip()}")

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(
        X / 16.0, y, test_size=0.2, random_state=0, stratify=y
    )
    common = dict(hidden_layer_sizes=(100,), max_iter=args.epochs, tol=0.0,
                  random_state=0)  # fmt: skip
    peers = {
        "skreg MLPClassifier (plain)": lambda: MLPClassifier(**common),
        "TangentProp, 7 image tangents": lambda: TangentPropMLPClassifier(**common),
        "TangentProp, logits": lambda: TangentPropMLPClassifier(
            tangent_output="logits", **common
        ),
        "TangentProp, 7, rademacher": lambda: TangentPropMLPClassifier(
            tangent_sampling="rademacher", **common
        ),
        "ManifoldTangent, 7 learned": lambda: ManifoldTangentClassifier(
            n_tangents=7, cae_max_iter=args.epochs, **common
        ),
        "ManifoldTangent, 7, rademacher": lambda: ManifoldTangentClassifier(
            n_tangents=7,
            cae_max_iter=args.epochs,
            tangent_sampling="rademacher",
            **common,
        ),
        "sklearn MLPClassifier": lambda: SkMLP(**common),
    }
    # warm-up (JIT compile / load from cache)
    for name, make in peers.items():
        t0 = time.perf_counter()
        make().set_params(max_iter=1).fit(Xtr[:100], ytr[:100])
        print(f"warm-up {name:32s} {time.perf_counter() - t0:6.2f} s")
    times = {name: [] for name in peers}
    acc = {}
    for _ in range(args.repeats):
        for name, make in peers.items():
            est = make()
            t0 = time.perf_counter()
            est.fit(Xtr, ytr)
            times[name].append(time.perf_counter() - t0)
            acc[name] = est.score(Xte, yte)
    base = np.median(times["skreg MLPClassifier (plain)"])
    print(f"\n{args.epochs} epochs, {Xtr.shape[0]} x {Xtr.shape[1]}, median of "
          f"{args.repeats}, {args.threads} BLAS thread(s)")  # fmt: skip
    for name in peers:
        med = np.median(times[name])
        print(f"{name:32s} {med:7.3f} s  x{med / base:5.2f} vs plain   "
              f"test acc {acc[name]:.4f}")  # fmt: skip
    print(f"uptime: {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    main()
