"""Convolutional networks: skreg's engine vs a PyTorch CPU loop.

Same architecture, data, batch size (128), optimizer (adam, lr 1e-3) and
dtype (float32) on both sides; JIT warm-up excluded from the epoch times
(reported separately).  Four measurements in one run:

1. seconds per epoch on the 8x8 digits (1,437 training rows):
   conv 16 3x3 'same' + 2x2 max pool, conv 32 3x3 'same' + 2x2 max pool,
   dense 64, softmax;
2. the same on 28x28 images (the digits upsampled by ``scipy.ndimage.zoom``
   and shifted, 4,000 rows): conv 16 3x3 'same' + 2x2 max pool, conv 32
   3x3 'same' + 2x2 max pool, dense 64, softmax;
3. one 2-D conv layer's forward + backward (weight and input gradients)
   alone, 128 images 28x28x16 -> 32 filters 3x3 'same', in GFLOP/s
   (``2 * N * OH * OW * KH * KW * Cin * Cout`` per product, three products);
4. the cold compile time of a first convolutional fit (fresh process,
   empty ``NUMBA_CACHE_DIR``), beside a first dense fit's.

PyTorch is an optional peer (``pip install torch==2.13.0``, the CPU wheel);
without it only skreg's numbers are printed.

Usage: python benchmarks/bench_cnn.py [--epochs 3] [--repeats 3] [--quick]
       [--threads 2] [--no-compile]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skreg.neural_network import MLPClassifier

warnings.simplefilter("ignore", ConvergenceWarning)

N_THREADS = 2
BATCH = 128
CONV = [
    dict(filters=16, kernel_size=3, padding="same", pool=2),
    dict(filters=32, kernel_size=3, padding="same", pool=2),
]
HIDDEN = (64,)


def digits8():
    X, y = load_digits(return_X_y=True)
    return train_test_split(
        (X / 16.0).astype(np.float32), y, test_size=0.2, random_state=0, stratify=y
    )


def digits28(n=4000, seed=0):
    """bench_mlp's shape A (the digits upsampled to 28x28 and shifted), in
    float32."""
    from bench_mlp import shape_a  # the script's own folder is on sys.path

    return [a.astype(np.float32) if a.ndim == 2 else a for a in shape_a(n, seed)]


class SkregRun:
    """A fresh skreg CNN fitted for ``epochs`` epochs: seconds per epoch."""

    def __init__(self, X, y, Xte, yte, epochs):
        self.X, self.y, self.Xte, self.yte, self.epochs = X, y, Xte, yte, epochs
        t0 = time.perf_counter()
        self._make(1).fit(X[:BATCH], y[:BATCH]).score(Xte[:10], yte[:10])
        self.warm = time.perf_counter() - t0

    def _make(self, max_iter):
        return MLPClassifier(
            HIDDEN, conv_layers=CONV, batch_size=BATCH, max_iter=max_iter,
            tol=0.0, n_iter_no_change=10**9, alpha=0.0, random_state=0,
        )  # fmt: skip

    def __call__(self):
        est = self._make(self.epochs)
        t0 = time.perf_counter()
        est.fit(self.X, self.y)
        dt = (time.perf_counter() - t0) / self.epochs
        self.acc = est.score(self.Xte, self.yte)
        return dt


class TorchRun:
    """The same network as a PyTorch CPU loop (NCHW, the layout torch's CPU
    convolutions are tuned for; the data are converted once, untimed)."""

    def __init__(self, X, y, Xte, yte, epochs, side):
        import torch

        torch.set_num_threads(N_THREADS)
        self.torch = torch
        self.Xt = torch.tensor(X.reshape(-1, 1, side, side))
        self.yt = torch.tensor(y, dtype=torch.long)
        self.Xte, self.yte = torch.tensor(Xte.reshape(-1, 1, side, side)), yte
        self.side, self.epochs, self.rep = side, epochs, 0
        t0 = time.perf_counter()
        self._fit(1)
        self.warm = time.perf_counter() - t0

    def _model(self):
        nn = self.torch.nn
        layers, cin, side = [], 1, self.side
        for spec in CONV:
            layers += [
                nn.Conv2d(cin, spec["filters"], spec["kernel_size"], padding="same"),
                nn.ReLU(),
                nn.MaxPool2d(spec["pool"]),
            ]
            cin, side = spec["filters"], side // spec["pool"]
        width = cin * side * side
        for h in HIDDEN:
            layers += [nn.Flatten(), nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, 10))
        return nn.Sequential(*layers)

    def _fit(self, n_ep):
        torch = self.torch
        torch.manual_seed(self.rep)
        self.rep += 1
        model = self._model()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        lossf = torch.nn.CrossEntropyLoss()
        n = self.Xt.shape[0]
        t0 = time.perf_counter()
        model.train()
        for _ in range(n_ep):
            perm = torch.randperm(n)
            for i in range(0, n, BATCH):
                b = perm[i : i + BATCH]
                opt.zero_grad(set_to_none=True)
                loss = lossf(model(self.Xt[b]), self.yt[b])
                loss.backward()
                opt.step()
        dt = (time.perf_counter() - t0) / n_ep
        model.eval()
        with torch.no_grad():
            self.acc = float((model(self.Xte).argmax(1).numpy() == self.yte).mean())
        return dt

    def __call__(self):
        return self._fit(self.epochs)


def _torch_or_none():
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch not importable: PyTorch columns skipped")
        return False
    return True


_HEAD = ("best s/ep", "median", "test acc", "warm-up s")


def epoch_case(name, data, side, args, have_torch):
    Xtr, Xte, ytr, yte = data
    print(f"\n=== {name}: train {Xtr.shape}, conv 16-32 + dense 64, batch {BATCH}")
    runs = {"skreg": SkregRun(Xtr, ytr, Xte, yte, args.epochs)}
    if have_torch:
        runs["torch"] = TorchRun(Xtr, ytr, Xte, yte, args.epochs, side)
    times = {k: [] for k in runs}
    for _ in range(args.repeats):  # interleaved, so drift hits both alike
        for k, run in runs.items():
            times[k].append(run())
    print(f"{'':8s}" + "".join(f"{h:>11s}" for h in _HEAD))
    for k, v in times.items():
        r = runs[k]
        print(
            f"{k:8s} {min(v):11.4f} {np.median(v):11.4f} {r.acc:11.3f} {r.warm:11.2f}"
        )
    if have_torch:
        ratio = min(times["skreg"]) / min(times["torch"])
        print(f"skreg / torch (best s/epoch) = {ratio:.2f}")
        return ratio
    return None


def layer_case(args, have_torch):
    """One conv layer's forward, weight gradient and input gradient."""
    from skreg.neural_network._engine._conv import (
        conv_geometry,
        conv_input_grad,
        conv_linear,
        conv_weight_grad,
    )

    N, H, W, Cin, Cout, K = 128, 28, 28, 16, 32, 3
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, H * W * Cin)).astype(np.float32)
    Wt = (0.1 * rng.standard_normal((K * K * Cin, Cout))).astype(np.float32)
    g = conv_geometry(H, W, Cin, K, K, Cout, 1, "same")
    OH, OW = int(g[8]), int(g[9])
    out = np.empty((N, OH * OW * Cout), dtype=np.float32)
    cols = np.empty((N * OH * OW, K * K * Cin), dtype=np.float32)
    D = rng.standard_normal(out.shape).astype(np.float32)
    gW = np.empty_like(Wt)
    gb = np.empty(Cout, dtype=np.float32)
    dX = np.empty_like(X)
    flops = 3 * 2.0 * N * OH * OW * K * K * Cin * Cout

    def ours():
        conv_linear(X, Wt, g, cols, out)
        conv_weight_grad(X, D, g, cols, gW, gb)
        conv_input_grad(D, Wt, g, cols, dX)

    ours()  # compile
    print(f"\n=== one conv layer: {N} x {H}x{W}x{Cin} -> {Cout} filters {K}x{K} 'same'")
    best = {}
    best["skreg"] = _best_time(ours, args.repeats * 3)
    if have_torch:
        import torch

        xt = torch.tensor(X.reshape(N, H, W, Cin)).permute(0, 3, 1, 2).contiguous()
        xt.requires_grad_(True)
        conv = torch.nn.Conv2d(Cin, Cout, K, padding="same")
        dt = torch.tensor(D.reshape(N, OH, OW, Cout)).permute(0, 3, 1, 2).contiguous()

        def theirs():
            conv.zero_grad(set_to_none=True)
            xt.grad = None
            conv(xt).backward(dt)

        theirs()
        best["torch"] = _best_time(theirs, args.repeats * 3)
    for k, t in best.items():
        print(f"{k:8s} {t * 1e3:8.1f} ms  {flops / t / 1e9:6.1f} GFLOP/s")
    if "torch" in best:
        print(f"skreg / torch (time) = {best['skreg'] / best['torch']:.2f}")


def _best_time(f, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


_FIRST_FIT = """
import time, warnings
warnings.simplefilter("ignore")
import numpy as np
from sklearn.datasets import load_digits
from skreg.neural_network import MLPClassifier
X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float{bits})
t0 = time.perf_counter()
MLPClassifier({hidden}, conv_layers={conv}, max_iter=5, random_state=0).fit(X, y)
print(time.perf_counter() - t0)
"""


def compile_case():
    print("\n=== cold first fit on load_digits (fresh process, empty numba cache)")
    cases = [
        ("dense MLP(64) float64", dict(hidden=(64,), conv=None, bits=64)),
        ("CNN float64", dict(hidden=HIDDEN, conv=CONV, bits=64)),
        ("CNN float32", dict(hidden=HIDDEN, conv=CONV, bits=32)),
    ]
    for name, kw in cases:
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            out = subprocess.run(
                [sys.executable, "-c", _FIRST_FIT.format(**kw)],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
        print(f"{name:24s} {float(out.stdout.split()[-1]):7.1f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.epochs, args.repeats = 1, 1
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads, user_api="blas")
    global N_THREADS
    N_THREADS = args.threads
    print(f"threads: {args.threads} (BLAS for skreg, torch.set_num_threads)")
    print(f"load average before: {os.getloadavg()}")
    have_torch = _torch_or_none()
    r8 = epoch_case("8x8 digits", digits8(), 8, args, have_torch)
    r28 = epoch_case("28x28 digits", digits28(), 28, args, have_torch)
    layer_case(args, have_torch)
    if not args.no_compile:
        compile_case()
    if r8 is not None:
        print(f"\nsummary skreg/torch per epoch: 8x8 {r8:.2f}, 28x28 {r28:.2f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
