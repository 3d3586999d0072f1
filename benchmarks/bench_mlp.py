"""Time per epoch of skreg's MLP engine vs scikit-learn and a PyTorch loop.

Same architecture, data, batch size and optimizer (adam) everywhere; JIT
warm-up excluded (reported separately).  Two shapes:
  A: 4,000 x 784 (digits upsampled to 28x28, shifted copies), hidden (256,)
  B: load_digits train split 1,437 x 64, hidden (256,)
Prints best and median seconds per epoch over repeats, ratios, and test
accuracies so the numbers can be trusted to measure the same thing.

Usage: python benchmarks/bench_mlp.py [--epochs 5] [--repeats 3] [--quick]
       [--threads 1] [--load] [--regression] [--sparse]

On a shared, loaded machine multithreaded BLAS (OpenBLAS, 2 threads) and
torch's 2 threads spin and distort every peer; ``--threads 1`` gives every
peer one thread, a picture the other processes barely disturb.

``--regression`` times MLPRegressor (squared error, one output) on the same
two shapes against scikit-learn's MLPRegressor and a PyTorch MSE loop; the
target is a smooth function of the inputs (a fixed random projection
through tanh), standardised.  ``--sparse`` times MLPClassifier and
MLPRegressor on a 5,000 x 20,000 TF-IDF-like CSR matrix (0.5% density,
non-negative, rows of unit L2 norm) against scikit-learn's on the same
sparse X (hidden (256,), batch 200).

``--load`` measures what a user of a shared server sees instead: each
library with its default threads, on a quiet machine and then beside one
competing CPU-bound process (a busy loop, as another job or GridSearchCV
worker would be), and prints loaded / quiet per library.
"""

import argparse
import os
import subprocess
import sys
import time
import warnings

import numpy as np
from scipy import ndimage
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLP
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

from skreg.neural_network import DropoutMLPClassifier, MLPClassifier, MLPRegressor

warnings.simplefilter("ignore", ConvergenceWarning)


def shape_a(n=4000, seed=0):
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    imgs = np.stack([ndimage.zoom(x.reshape(8, 8), 3.5, order=1) for x in X])
    idx = rng.integers(0, len(X), n)
    out = np.empty((n, 28, 28))
    for k, i in enumerate(idx):
        out[k] = ndimage.shift(imgs[i], rng.integers(-2, 3, 2), order=0)
    out = np.clip(out / 16.0, 0, 1).reshape(n, 784)
    return train_test_split(out, y[idx], test_size=0.2, random_state=0)


def shape_b():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.2, random_state=0)
    return Xtr, Xte, ytr, yte


N_THREADS = 2

COMMON = dict(
    hidden_layer_sizes=(256,),
    batch_size=128,
    solver="adam",
    learning_rate_init=1e-3,
    alpha=1e-4,
    tol=0.0,
    n_iter_no_change=10**9,
    random_state=0,
)


class EstimatorRun:
    """Fits a fresh estimator for ``epochs`` epochs; seconds per epoch."""

    def __init__(self, make, X, y, Xte, yte, epochs):
        self.make, self.X, self.y, self.Xte, self.yte = make, X, y, Xte, yte
        self.epochs = epochs
        t0 = time.perf_counter()
        make(max_iter=1).fit(X[:256], y[:256])  # JIT warm-up (compile or cache load)
        self.warm = time.perf_counter() - t0

    def __call__(self):
        est = self.make(max_iter=self.epochs)
        t0 = time.perf_counter()
        est.fit(self.X, self.y)
        dt = (time.perf_counter() - t0) / self.epochs
        self.acc = est.score(self.Xte, self.yte)
        return dt


class TorchRun:
    """The same network and optimizer as a hand-written PyTorch CPU loop
    (cross-entropy, or with ``regression`` one linear output and the
    squared error: ``MSELoss`` / 2 is scikit-learn's loss)."""

    def __init__(self, X, y, Xte, yte, epochs, dropout, dtype, regression=False):
        import torch

        torch.set_num_threads(N_THREADS)
        self.torch = torch
        self.regression = regression
        self.tdt = torch.float32 if dtype == np.float32 else torch.float64
        self.Xt = torch.tensor(X, dtype=self.tdt)
        if regression:
            self.yt = torch.tensor(y, dtype=self.tdt).reshape(-1, 1)
            self.n_classes = 1
        else:
            self.yt = torch.tensor(y, dtype=torch.long)
            self.n_classes = int(y.max()) + 1
        self.Xte, self.yte = torch.tensor(Xte, dtype=self.tdt), yte
        self.dropout, self.epochs, self.warm, self.rep = dropout, epochs, 0.0, 0
        self._fit(1)  # warm-up

    def _fit(self, n_ep):
        torch = self.torch
        torch.manual_seed(self.rep)
        self.rep += 1
        layers = [torch.nn.Dropout(0.2)] if self.dropout else []
        layers += [
            torch.nn.Linear(self.Xt.shape[1], 256, dtype=self.tdt),
            torch.nn.ReLU(),
        ]
        if self.dropout:
            layers.append(torch.nn.Dropout(0.5))
        layers.append(torch.nn.Linear(256, self.n_classes, dtype=self.tdt))
        model = torch.nn.Sequential(*layers)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        if self.regression:
            mse = torch.nn.MSELoss()

            def lossf(out, target):
                return 0.5 * mse(out, target)
        else:
            lossf = torch.nn.CrossEntropyLoss()
        n = self.Xt.shape[0]
        t0 = time.perf_counter()
        model.train()
        for _ in range(n_ep):
            perm = torch.randperm(n)
            for i in range(0, n, 128):
                b = perm[i : i + 128]
                opt.zero_grad(set_to_none=True)
                loss = lossf(model(self.Xt[b]), self.yt[b])
                loss.backward()
                opt.step()
        dt = (time.perf_counter() - t0) / n_ep
        model.eval()
        with torch.no_grad():
            out = model(self.Xte).numpy()
        if self.regression:  # R^2, as scikit-learn's score
            resid = ((self.yte - out[:, 0]) ** 2).sum()
            self.acc = 1 - resid / ((self.yte - self.yte.mean()) ** 2).sum()
        else:
            self.acc = (out.argmax(1) == self.yte).mean()
        return dt

    def __call__(self):
        return self._fit(self.epochs)


def _interleaved(runs, repeats):
    """Best seconds per epoch of each run over interleaved repeats."""
    times = {k: [] for k in runs}
    for _ in range(repeats):
        for k, run in runs.items():
            times[k].append(run())
    return {k: min(v) for k, v in times.items()}


def regression_targets(Xtr, Xte, seed=0):
    """A smooth, learnable target: tanh of a fixed random projection, plus
    noise, standardised on the training rows."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((Xtr.shape[1], 8)) / np.sqrt(Xtr.shape[1])
    v = rng.standard_normal(8)

    def f(X):
        return np.tanh(3 * (X - 0.3) @ w) @ v

    ytr = f(Xtr) + 0.1 * rng.standard_normal(Xtr.shape[0])
    yte = f(Xte)
    mu, sd = ytr.mean(), ytr.std()
    return (ytr - mu) / sd, (yte - mu) / sd


def _report(runs, times, pairs):
    rows = {
        k: (min(v), float(np.median(v)), runs[k].acc, runs[k].warm)
        for k, v in times.items()
    }
    print(
        f"{'config':28s} {'best s/ep':>10s} {'median':>10s} {'test score':>10s}"
        f" {'warm-up s':>9s}"
    )
    for k, (best, med, acc, warm) in rows.items():
        print(f"{k:28s} {best:10.4f} {med:10.4f} {acc:10.3f} {warm:9.2f}")
    print("ratios (best time per epoch):")
    for a, b in pairs:
        if a in rows and b in rows:
            print(f"  {a:>26s} / {b:<22s} = {rows[a][0] / rows[b][0]:6.2f}")


def regression_case(args):
    print(f"load average before: {os.getloadavg()}")
    for name, data in (("A: 4000x784", shape_a()), ("B: digits 1437x64", shape_b())):
        Xtr, Xte, _, _ = data
        ytr, yte = regression_targets(Xtr, Xte)
        print(
            f"\n=== regression, shape {name} -> 256 -> 1: batch 128, adam, "
            f"{args.epochs} epochs x {args.repeats} repeats ==="
        )
        runs = {}
        for dt in (np.float64, np.float32):
            X, Xt = Xtr.astype(dt), Xte.astype(dt)
            tag = "f64" if dt == np.float64 else "f32"
            runs[f"sklearn {tag}"] = EstimatorRun(
                lambda **k: SkMLPRegressor(**COMMON, **k), X, ytr, Xt, yte, args.epochs
            )
            runs[f"skreg {tag}"] = EstimatorRun(
                lambda **k: MLPRegressor(**COMMON, **k), X, ytr, Xt, yte, args.epochs
            )
            try:
                runs[f"torch {tag}"] = TorchRun(
                    X, ytr, Xt, yte, args.epochs, False, dt, regression=True
                )
            except ImportError:
                print("torch not importable, skipped")
        times = {k: [] for k in runs}
        for _ in range(args.repeats):
            for k, run in runs.items():
                times[k].append(run())
        pairs = []
        for tag in ("f64", "f32"):
            pairs.append((f"skreg {tag}", f"sklearn {tag}"))
            pairs.append((f"skreg {tag}", f"torch {tag}"))
        _report(runs, times, pairs)
    print(f"\nload average after: {os.getloadavg()}")


def tfidf_like(n=5000, d=20000, density=0.005, n_classes=10, seed=0):
    """Random sparse documents: ``density * d`` terms per row with Zipf-like
    term frequencies, log-scaled and L2-normalised as TF-IDF rows are;
    classes and a regression target from a sparse linear model of them."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    per_row = int(density * d)
    popularity = 1.0 / np.arange(1, d + 1) ** 0.8
    popularity /= popularity.sum()
    # distinct terms per row, drawn by popularity (Gumbel top-k)
    logp = np.log(popularity)
    cols = np.concatenate([
        np.argpartition(
            np.log(-np.log(rng.uniform(size=(min(500, n - i), d)))) - logp,
            per_row, axis=1,
        )[:, :per_row].ravel()
        for i in range(0, n, 500)
    ])  # fmt: skip
    rows = np.repeat(np.arange(n), per_row)
    vals = np.log1p(rng.poisson(2.0, n * per_row) + 1.0)
    X = sp.csr_matrix((vals, (rows, cols)), shape=(n, d))
    norms = np.sqrt(X.multiply(X).sum(axis=1)).A1
    X = sp.diags(1.0 / norms) @ X
    W = rng.standard_normal((d, n_classes)) * (rng.uniform(size=(d, 1)) < 0.05)
    scores = X @ W
    y = scores.argmax(axis=1)
    target = scores[:, 0] - scores[:, 1]
    return X.tocsr(), y, (target - target.mean()) / target.std()


def sparse_case(args):
    from sklearn.model_selection import train_test_split

    print(f"load average before: {os.getloadavg()}")
    X, y, target = tfidf_like()
    print(
        f"\n=== sparse: {X.shape[0]} x {X.shape[1]} CSR, density "
        f"{X.nnz / np.prod(X.shape):.4f} -> 256: batch 200, adam, {args.epochs} "
        f"epochs x {args.repeats} repeats ==="
    )
    idx_tr, idx_te = train_test_split(np.arange(X.shape[0]), random_state=0)
    params = dict(COMMON, batch_size=200)
    runs = {}
    for kind, yy, ours, theirs in (
        ("classifier", y, MLPClassifier, SkMLP),
        ("regressor", target, MLPRegressor, SkMLPRegressor),
    ):
        for dt in (np.float64, np.float32):
            Xd = X.astype(dt)
            tag = f"{kind} {'f64' if dt == np.float64 else 'f32'}"
            Xtr, Xte = Xd[idx_tr], Xd[idx_te]
            runs[f"sklearn {tag}"] = EstimatorRun(
                lambda theirs=theirs, **k: theirs(**params, **k),
                Xtr, yy[idx_tr], Xte, yy[idx_te], args.epochs,
            )  # fmt: skip
            runs[f"skreg {tag}"] = EstimatorRun(
                lambda ours=ours, **k: ours(**params, **k),
                Xtr, yy[idx_tr], Xte, yy[idx_te], args.epochs,
            )  # fmt: skip
    times = {k: [] for k in runs}
    for _ in range(args.repeats):
        for k, run in runs.items():
            times[k].append(run())
    pairs = [
        (f"skreg {kind} {tag}", f"sklearn {kind} {tag}")
        for kind in ("classifier", "regressor")
        for tag in ("f64", "f32")
    ]
    _report(runs, times, pairs)
    print(f"\nload average after: {os.getloadavg()}")


def load_case(args):
    """Quiet vs one competing CPU-bound process, every library at its
    default thread count (no threadpoolctl limit from this script)."""
    print(f"load average before: {os.getloadavg()}")
    for name, data in (("A: 4000x784", shape_a()), ("B: digits 1437x64", shape_b())):
        Xtr, Xte, ytr, yte = data
        print(f"\n=== shape {name}: {args.epochs} epochs x {args.repeats} repeats ===")
        runs = {}
        for dt in (np.float64, np.float32):
            X, Xt = Xtr.astype(dt), Xte.astype(dt)
            tag = "f64" if dt == np.float64 else "f32"
            runs[f"sklearn {tag}"] = EstimatorRun(
                lambda **k: SkMLP(**COMMON, **k), X, ytr, Xt, yte, args.epochs
            )
            runs[f"skreg {tag}"] = EstimatorRun(
                lambda **k: MLPClassifier(**COMMON, **k), X, ytr, Xt, yte, args.epochs
            )
            try:
                runs[f"torch {tag}"] = TorchRun(X, ytr, Xt, yte, args.epochs, False, dt)
            except ImportError:
                pass
        quiet = _interleaved(runs, args.repeats)
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(1.0)
            loaded = _interleaved(runs, args.repeats)
        finally:
            busy.kill()
            busy.wait()
        print(
            f"{'config':14s} {'quiet s/ep':>11s} {'loaded s/ep':>12s} "
            f"{'loaded/quiet':>13s}"
        )
        for k in runs:
            print(
                f"{k:14s} {quiet[k]:11.4f} {loaded[k]:12.4f} "
                f"{loaded[k] / quiet[k]:13.2f}"
            )
        for tag in ("f64", "f32"):
            for peer in ("sklearn", "torch"):
                a, b = f"skreg {tag}", f"{peer} {tag}"
                if b in runs:
                    print(
                        f"  {a} / {b}: quiet {quiet[a] / quiet[b]:5.2f}, "
                        f"loaded {loaded[a] / loaded[b]:5.2f}"
                    )
    print(f"\nload average after: {os.getloadavg()}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--threads",
        type=int,
        default=2,
        help="BLAS threads of skreg and scikit-learn (threadpoolctl) "
        "and torch.set_num_threads (default 2 = the machine)",
    )
    ap.add_argument(
        "--load",
        action="store_true",
        help="quiet vs one competing CPU-bound process, default threads",
    )
    ap.add_argument("--regression", action="store_true", help="MLPRegressor")
    ap.add_argument("--sparse", action="store_true", help="TF-IDF-like CSR input")
    args = ap.parse_args()
    if args.quick:
        args.epochs, args.repeats = 2, 1
    if args.load:
        return load_case(args)
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads, user_api="blas")
    global N_THREADS
    N_THREADS = args.threads
    print(f"threads: {args.threads} (BLAS for skreg/sklearn, torch)")
    if args.regression:
        return regression_case(args)
    if args.sparse:
        return sparse_case(args)
    if args.quick:
        args.epochs, args.repeats = 2, 1
    print(f"load average before: {os.getloadavg()}")
    for name, data in (("A: 4000x784", shape_a()), ("B: digits 1437x64", shape_b())):
        Xtr, Xte, ytr, yte = data
        print(
            f"\n=== shape {name}: train {Xtr.shape}, hidden (256,), batch 128, adam,"
            f" {args.epochs} epochs x {args.repeats} repeats ==="
        )
        runs = {}
        for dt in (np.float64, np.float32):
            X, Xt = Xtr.astype(dt), Xte.astype(dt)
            tag = "f64" if dt == np.float64 else "f32"
            ep = args.epochs

            def add(label, make, X=X, Xt=Xt, ep=ep):
                runs[label] = EstimatorRun(make, X, ytr, Xt, yte, ep)  # noqa: B023

            add(f"sklearn {tag}", lambda **k: SkMLP(**COMMON, **k))
            add(f"skreg {tag}", lambda **k: MLPClassifier(**COMMON, **k))
            add(
                f"skreg dropout {tag}",
                lambda **k: DropoutMLPClassifier(**COMMON, max_norm=None, **k),
            )
            add(
                f"skreg dropout+maxnorm {tag}",
                lambda **k: DropoutMLPClassifier(**COMMON, max_norm=3.0, **k),
            )
            add(
                f"skreg fast-dropout {tag}",
                lambda **k: DropoutMLPClassifier(
                    **COMMON, max_norm=None, dropout_method="fast", **k
                ),
            )
            for drop in (False, True):
                label = f"torch{' dropout' if drop else ''} {tag}"
                try:
                    runs[label] = TorchRun(X, ytr, Xt, yte, ep, drop, dt)
                except ImportError:
                    print(f"{label}: torch not importable, skipped")
        # interleaved repeats: load from other processes hits every config alike
        times = {k: [] for k in runs}
        for _ in range(args.repeats):
            for k, run in runs.items():
                times[k].append(run())
        rows = {
            k: (min(v), float(np.median(v)), runs[k].acc, runs[k].warm)
            for k, v in times.items()
        }
        print(
            f"{'config':28s} {'best s/ep':>10s} {'median':>10s} {'test acc':>9s}"
            f" {'warm-up s':>9s}"
        )
        for k, (best, med, acc, warm) in rows.items():
            print(f"{k:28s} {best:10.4f} {med:10.4f} {acc:9.3f} {warm:9.2f}")

        def ratio(a, b, rows=rows):
            if a in rows and b in rows:
                print(f"  {a:>26s} / {b:<22s} = {rows[a][0] / rows[b][0]:6.2f}")

        print("ratios (best time per epoch):")
        for tag in ("f32", "f64"):
            ratio(f"skreg {tag}", f"torch {tag}")
            ratio(f"skreg {tag}", f"sklearn {tag}")
            ratio(f"skreg dropout {tag}", f"skreg {tag}")
            ratio(f"skreg dropout+maxnorm {tag}", f"skreg {tag}")
            ratio(f"skreg fast-dropout {tag}", f"skreg {tag}")
            ratio(f"torch dropout {tag}", f"torch {tag}")
            ratio(f"skreg dropout {tag}", f"torch dropout {tag}")
        ratio("skreg f32", "sklearn f64")
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
