"""What a new user waits for the compiler: cold and warm first fits.

Every case runs in a fresh Python process with its own, initially empty
``NUMBA_CACHE_DIR`` (a cold cache, as right after ``pip install``), then
again in a second fresh process on the cache the first one filled (warm).
Columns:

* cold fit    -- the first ``fit`` of the estimator on load_digits (5 epochs
  for the neural estimators), compilation included;
* cold pred   -- the first ``predict`` right after that fit;
* warm fit    -- the first ``fit`` in a new process on the filled cache;
* warm mmap   -- the same on a read-only memmap of X (what joblib hands its
  workers): it must reuse the kernels of the writable array;
* cache MB    -- the size of the cache the case left.

``--tour`` adds a cold-cache ``python -m skreg`` (the README's promise).

Usage: python benchmarks/bench_compile.py [--only NAME ...] [--tour]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

_NN = "from skreg.neural_network import {} as E"
_DICT = (
    "import numpy as np; D = np.random.default_rng(0).standard_normal((32, 64)); "
    "D /= np.linalg.norm(D, axis=1, keepdims=True)"
)
#: case -> setup code defining ``est`` (and possibly changing ``X``).
CASES = {
    "MLPClassifier": _NN.format("MLPClassifier") + "; est = E(max_iter=5)",
    "MLPClassifier-lbfgs": _NN.format("MLPClassifier")
    + "; est = E(solver='lbfgs', max_iter=5)",
    "MLPClassifier-f32": _NN.format("MLPClassifier")
    + "; est = E(max_iter=5); X = X.astype('float32')",
    "DropoutMLPClassifier": _NN.format("DropoutMLPClassifier")
    + "; est = E(max_iter=5)",
    "DropoutMLPClassifier-fast": _NN.format("DropoutMLPClassifier")
    + "; est = E(max_iter=5, dropout_method='fast')",
    "DropoutMLPClassifier-mc": _NN.format("DropoutMLPClassifier")
    + "; est = E(max_iter=5, inference='mc_arithmetic')",
    "AdversarialMLPClassifier": _NN.format("AdversarialMLPClassifier")
    + "; est = E(max_iter=5)",
    "AdversarialMLPClassifier-vat": _NN.format("AdversarialMLPClassifier")
    + "; est = E(max_iter=5, method='vat')",
    "TangentPropMLPClassifier": _NN.format("TangentPropMLPClassifier")
    + "; est = E(max_iter=5)",
    "ManifoldTangentClassifier": _NN.format("ManifoldTangentClassifier")
    + "; est = E(max_iter=5, cae_max_iter=5)",
    "BaggedMLPClassifier": "from skreg.ensemble import BaggedMLPClassifier as E; "
    + "from skreg.neural_network import MLPClassifier as M"
    + "; est = E(M(max_iter=5), n_estimators=2)",
    "SparseCoder": "from skreg.decomposition import SparseCoder as E; "
    + _DICT
    + "; est = E(dictionary=D, transform_n_nonzero_coefs=5)",
    "KSVD": "from skreg.decomposition import KSVD as E; "
    "est = E(n_components=16, max_iter=3)",
    "TangentDistanceKNN": "from skreg.neighbors import TangentDistanceKNN as E; "
    "est = E(n_neighbors=1)",
}

CHILD = r"""
import json, sys, time, warnings
import numpy as np
t0 = time.perf_counter()
import skreg
t_import = time.perf_counter() - t0
from sklearn.datasets import load_digits
X, y = load_digits(return_X_y=True)
X = X / 16.0
{setup}
warnings.simplefilter("ignore")
mode = sys.argv[1]
if mode == "mmap":
    import tempfile, os
    path = os.path.join(tempfile.mkdtemp(), "X.npy")
    np.save(path, X)
    X = np.load(path, mmap_mode="r")
predict = getattr(est, "predict", None) or est.transform
t0 = time.perf_counter()
est.fit(X, y)
t_fit = time.perf_counter() - t0
t0 = time.perf_counter()
predict(X)
t_pred = time.perf_counter() - t0
print(json.dumps(dict(imp=t_import, fit=t_fit, pred=t_pred)))
"""


def _run(code, cache, mode):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    out = subprocess.run(
        [sys.executable, "-c", code, mode],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _size_mb(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total / 2**20


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", default=None)
    p.add_argument("--tour", action="store_true")
    args = p.parse_args()
    names = args.only or list(CASES)
    print(f"load average: {os.getloadavg()[0]:.2f}; cores: {os.cpu_count()}")
    cols = ["import s", "cold fit s", "cold pred s", "warm fit s", "warm mmap s"]
    head = f"{'case':30s} " + " ".join(f"{c:>11s}" for c in cols) + f" {'cache MB':>8s}"
    print(head)
    print("-" * len(head))
    for name in names:
        code = CHILD.format(setup=CASES[name])
        with tempfile.TemporaryDirectory() as cache:
            cold = _run(code, cache, "plain")
            warm = _run(code, cache, "plain")
            mmap = _run(code, cache, "mmap")
            mb = _size_mb(cache)
        print(
            f"{name:30s} {cold['imp']:11.2f} {cold['fit']:11.2f} {cold['pred']:11.2f} "
            f"{warm['fit']:11.2f} {mmap['fit']:11.2f} {mb:8.1f}",
            flush=True,
        )
    if args.tour:
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache, MPLBACKEND="Agg")
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "skreg"],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            print(f"cold-cache python -m skreg: {time.perf_counter() - t0:.1f} s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
