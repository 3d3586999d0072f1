"""``python -m skreg compile``: fill the numba cache with every kernel.

Compiled kernels are cached on disk (see :mod:`skreg.utils._numba`), so
only the first use of each one waits for the compiler.  Run this once when
building a container image or installing on a server, after ``pip
install``, so that no user's first fit (and no joblib worker) compiles.
It fits every estimator on a little generated data in float32 and float64,
which runs exactly the kernels, and the argument types, real fits use.
"""

import argparse
import time
import warnings

import numpy as np


def _jobs():
    from .decomposition import KSVD, SparseCoder
    from .ensemble import BaggedMLPClassifier
    from .metrics import adversarial_accuracy
    from .neighbors import TangentDistanceKNN
    from .neural_network import (
        AdversarialMLPClassifier,
        DropoutMLPClassifier,
        ManifoldTangentClassifier,
        MLPClassifier,
        TangentPropMLPClassifier,
    )

    small = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0)

    def fit(make):
        def run(X, y):
            est = make().fit(X, y)
            est.predict_proba(X)
            return est

        return run

    def mc(X, y):
        DropoutMLPClassifier(inference="mc_arithmetic", n_mc_samples=2, **small).fit(
            X, y
        ).predict_proba(X)

    def attack(X, y):
        est = MLPClassifier(**small).fit(X, y)
        adversarial_accuracy(est, X, y, epsilon=0.1, attack="pgd")

    def coder(X, y):
        D = np.random.default_rng(0).standard_normal((6, X.shape[1])).astype(X.dtype)
        D /= np.linalg.norm(D, axis=1, keepdims=True)
        SparseCoder(dictionary=D, transform_n_nonzero_coefs=2).transform(X)
        # more rows than one block, on two threads: the parallel kernel
        # (one thread, or one block, runs the serial one above)
        SparseCoder(dictionary=D, transform_n_nonzero_coefs=2, n_jobs=2).transform(
            np.repeat(X, 6, axis=0)
        )
        KSVD(n_components=6, max_iter=1, random_state=0).fit(X)

    def knn(X, y):
        TangentDistanceKNN(n_neighbors=1).fit(X, y).predict(X[:3])

    return [
        ("MLPClassifier (adam, sgd, lbfgs)", lambda X, y: [
            fit(lambda s=s: MLPClassifier(solver=s, **small))(X, y)
            for s in ("adam", "sgd", "lbfgs")
        ]),
        ("DropoutMLPClassifier (bernoulli)", fit(
            lambda: DropoutMLPClassifier(**small))),
        ("DropoutMLPClassifier (fast)", fit(
            lambda: DropoutMLPClassifier(dropout_method="fast", **small))),
        ("DropoutMLPClassifier (Monte Carlo inference)", mc),
        ("AdversarialMLPClassifier (fgsm, pgd)", fit(
            lambda: AdversarialMLPClassifier(method="pgd", **small))),
        ("AdversarialMLPClassifier (vat)", fit(
            lambda: AdversarialMLPClassifier(method="vat", **small))),
        ("TangentPropMLPClassifier (adam, lbfgs)", lambda X, y: [
            fit(lambda s=s: TangentPropMLPClassifier(solver=s, **small))(X, y)
            for s in ("adam", "lbfgs")
        ]),
        ("ManifoldTangentClassifier", fit(lambda: ManifoldTangentClassifier(
            cae_hidden=4, n_tangents=2, cae_max_iter=1, **small))),
        ("MLPClassifier (convolution, max pooling)", fit(
            lambda: MLPClassifier(conv_layers=[dict(filters=2, kernel_size=3,
                                  padding="same", pool=2)], image_shape=(4, 4),
                                  **small))),
        ("BaggedMLPClassifier", fit(lambda: BaggedMLPClassifier(
            MLPClassifier(**small), n_estimators=2, random_state=0))),
        ("adversarial_accuracy (FGSM/PGD attacks)", attack),
        ("SparseCoder, KSVD", coder),
        ("TangentDistanceKNN", knn),
    ]  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skreg compile",
        description="Compile (and cache) every skreg kernel for float32 and float64.",
    )
    parser.add_argument(
        "--dtype", choices=("float32", "float64", "both"), default="both"
    )
    args = parser.parse_args(argv)
    from .utils._numba import CACHE_DIR

    if CACHE_DIR is None:
        print("skreg: no writable cache directory; nothing would be kept.")
        return 1
    print(f"skreg: compiling kernels into {CACHE_DIR}", flush=True)
    dtypes = ("float32", "float64") if args.dtype == "both" else (args.dtype,)
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (24, 16))
    y = np.arange(24) % 3
    start = time.perf_counter()
    for dtype in dtypes:
        for name, job in _jobs():
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                job(X.astype(dtype), y)
            print(
                f"  {dtype:8s} {name:48s} {time.perf_counter() - t0:6.1f} s", flush=True
            )
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0
