"""Time per epoch of skreg's MLP engine vs scikit-learn and a PyTorch loop.

Same architecture, data, batch size and optimizer (adam) everywhere; JIT
warm-up excluded (reported separately).  Two shapes:
  A: 4,000 x 784 (digits upsampled to 28x28, shifted copies), hidden (256,)
  B: load_digits train split 1,437 x 64, hidden (256,)
Prints best and median seconds per epoch over repeats, ratios, and test
accuracies so the numbers can be trusted to measure the same thing.

Usage: python benchmarks/bench_mlp.py [--epochs 5] [--repeats 3] [--quick]
"""

import argparse
import os
import time
import warnings

import numpy as np
from scipy import ndimage
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLP

from skreg.neural_network import DropoutMLPClassifier, MLPClassifier

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


COMMON = dict(hidden_layer_sizes=(256,), batch_size=128, solver="adam",
              learning_rate_init=1e-3, alpha=1e-4, tol=0.0, n_iter_no_change=10**9,
              random_state=0)


def time_estimator(make, X, y, Xte, yte, epochs, repeats):
    est = make(max_iter=1)
    t0 = time.perf_counter()
    est.fit(X[:256], y[:256])  # JIT warm-up (compile or cache load)
    warm = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        est = make(max_iter=epochs)
        t0 = time.perf_counter()
        est.fit(X, y)
        times.append((time.perf_counter() - t0) / epochs)
    return np.min(times), np.median(times), est.score(Xte, yte), warm


def time_torch(X, y, Xte, yte, epochs, repeats, dropout, dtype):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    Xt = torch.tensor(X, dtype=tdt)
    yt = torch.tensor(y, dtype=torch.long)
    n_classes = int(y.max()) + 1
    times = []
    for rep in range(repeats + 1):  # first round = warm-up
        torch.manual_seed(rep)
        layers = []
        if dropout:
            layers.append(torch.nn.Dropout(0.2))
        layers += [torch.nn.Linear(X.shape[1], 256, dtype=tdt), torch.nn.ReLU()]
        if dropout:
            layers.append(torch.nn.Dropout(0.5))
        layers.append(torch.nn.Linear(256, n_classes, dtype=tdt))
        model = torch.nn.Sequential(*layers)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=0.0)
        lossf = torch.nn.CrossEntropyLoss()
        n = Xt.shape[0]
        n_ep = 1 if rep == 0 else epochs
        t0 = time.perf_counter()
        model.train()
        for _ in range(n_ep):
            perm = torch.randperm(n)
            for i in range(0, n, 128):
                b = perm[i : i + 128]
                opt.zero_grad(set_to_none=True)
                loss = lossf(model(Xt[b]), yt[b])
                loss.backward()
                opt.step()
        if rep > 0:
            times.append((time.perf_counter() - t0) / n_ep)
    model.eval()
    with torch.no_grad():
        acc = (model(torch.tensor(Xte, dtype=tdt)).argmax(1).numpy() == yte).mean()
    return np.min(times), np.median(times), acc, 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.epochs, args.repeats = 2, 1
    print(f"load average before: {os.getloadavg()}")
    for name, data in (("A: 4000x784", shape_a()), ("B: digits 1437x64", shape_b())):
        Xtr, Xte, ytr, yte = data
        print(f"\n=== shape {name}: train {Xtr.shape}, hidden (256,), batch 128, adam,"
              f" {args.epochs} epochs x {args.repeats} repeats ===")
        rows = {}
        for dt in (np.float64, np.float32):
            X, Xt = Xtr.astype(dt), Xte.astype(dt)
            tag = "f64" if dt == np.float64 else "f32"
            rows[f"sklearn {tag}"] = time_estimator(
                lambda **k: SkMLP(**COMMON, **k), X, ytr, Xt, yte, args.epochs,
                args.repeats)
            rows[f"skreg {tag}"] = time_estimator(
                lambda **k: MLPClassifier(**COMMON, **k), X, ytr, Xt, yte, args.epochs,
                args.repeats)
            rows[f"skreg dropout {tag}"] = time_estimator(
                lambda **k: DropoutMLPClassifier(**COMMON, max_norm=None, **k), X, ytr,
                Xt, yte, args.epochs, args.repeats)
            rows[f"skreg fast-dropout {tag}"] = time_estimator(
                lambda **k: DropoutMLPClassifier(**COMMON, max_norm=None,
                                                 dropout_method="fast", **k),
                X, ytr, Xt, yte, args.epochs, args.repeats)
            for drop in (False, True):
                r = time_torch(X, ytr, Xt, yte, args.epochs, args.repeats, drop, dt)
                label = f"torch{' dropout' if drop else ''} {tag}"
                if r is None:
                    print(f"{label}: torch not importable, skipped")
                else:
                    rows[label] = r
        print(f"{'config':28s} {'best s/ep':>10s} {'median':>10s} {'test acc':>9s}"
              f" {'warm-up s':>9s}")
        for k, (best, med, acc, warm) in rows.items():
            print(f"{k:28s} {best:10.4f} {med:10.4f} {acc:9.3f} {warm:9.2f}")

        def ratio(a, b):
            if a in rows and b in rows:
                print(f"  {a:>26s} / {b:<22s} = {rows[a][0] / rows[b][0]:6.2f}")

        print("ratios (best time per epoch):")
        for tag in ("f32", "f64"):
            ratio(f"skreg {tag}", f"torch {tag}")
            ratio(f"skreg {tag}", f"sklearn {tag}")
            ratio(f"skreg dropout {tag}", f"skreg {tag}")
            ratio(f"skreg fast-dropout {tag}", f"skreg {tag}")
            ratio(f"torch dropout {tag}", f"torch {tag}")
            ratio(f"skreg dropout {tag}", f"torch dropout {tag}")
        ratio("skreg f32", "sklearn f64")
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
