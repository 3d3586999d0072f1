"""Semi-supervised VAT on digits: does it halve the labelled-only error?

load_digits scaled to [0, 1], 80/20 stratified split (1,437 training
images, 360 test).  Each label draw keeps 10 training digits per class
labelled and marks the other 1,337 unlabeled (``y = -1``).  Three models,
one net (MLP (256, 128) relu, adam, batch 64, 300 epochs):

* ``labelled``: skreg's ``MLPClassifier`` on the 100 labelled digits;
* ``vat``: ``AdversarialMLPClassifier(method='vat')`` at its default radius
  (``adversarial_epsilon='auto'``: 0.1 * sqrt(64) = 0.8) on all 1,437 rows,
  a labelled and an unlabeled minibatch per step;
* ``self-training``: scikit-learn's ``SelfTrainingClassifier`` around its
  ``MLPClassifier`` with the same settings, scikit-learn's own way of using
  the unlabeled digits.

Prints the test error of each, ``vat / labelled`` (target <= 0.5 on every
draw) and ``self-training / labelled``, and the fit times.  The times are
for orientation only; JIT compilation happens in a warm-up fit first.

Usage: python benchmarks/bench_vat.py [--draws 5] [--epochs 300]
"""

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.semi_supervised import SelfTrainingClassifier

from skreg.neural_network import AdversarialMLPClassifier, MLPClassifier

warnings.simplefilter("ignore", ConvergenceWarning)


def net(epochs, seed):
    return dict(
        hidden_layer_sizes=(256, 128),
        batch_size=64,
        max_iter=epochs,
        n_iter_no_change=epochs,  # the whole budget, for every model alike
        random_state=seed,
    )


def label_draw(y, per_class, seed):
    rng = np.random.RandomState(seed)
    lab = np.concatenate(
        [
            rng.choice(np.flatnonzero(y == c), per_class, replace=False)
            for c in np.unique(y)
        ]
    )
    y_semi = np.full_like(y, -1)
    y_semi[lab] = y[lab]
    return lab, y_semi


def timed(make, X, y):
    t = time.perf_counter()
    model = make().fit(X, y)
    return model, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--per-class", type=int, default=10)
    args = ap.parse_args()

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(
        X / 16.0, y, test_size=0.2, stratify=y, random_state=0
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at start: {load:.2f}")
    # warm-up: compile the kernels of both skreg models
    warm = dict(net(2, 0), max_iter=2)
    lab, y_semi = label_draw(ytr, args.per_class, 0)
    t = time.perf_counter()
    MLPClassifier(**warm).fit(Xtr[lab], ytr[lab])
    AdversarialMLPClassifier(method="vat", **warm).fit(Xtr, y_semi)
    print(f"JIT warm-up (both skreg models): {time.perf_counter() - t:.1f} s\n")

    head = (
        f"{'draw':>4}  {'labelled':>8}  {'vat':>6}  {'self-tr.':>8}  "
        f"{'vat/lab':>7}  {'self/lab':>8}  {'fit s: lab / vat / self':>24}"
    )
    print(head)
    print("-" * len(head))
    ratios = []
    for seed in range(args.draws):
        lab, y_semi = label_draw(ytr, args.per_class, seed)
        kw = net(args.epochs, seed)
        sup, t_sup = timed(lambda kw=kw: MLPClassifier(**kw), Xtr[lab], ytr[lab])
        vat, t_vat = timed(
            lambda kw=kw: AdversarialMLPClassifier(method="vat", **kw), Xtr, y_semi
        )
        self_tr, t_self = timed(
            lambda kw=kw: SelfTrainingClassifier(SkMLPClassifier(**kw)), Xtr, y_semi
        )
        e_sup, e_vat, e_self = (1 - m.score(Xte, yte) for m in (sup, vat, self_tr))
        ratios.append(e_vat / e_sup)
        print(
            f"{seed:>4}  {e_sup:>8.4f}  {e_vat:>6.4f}  {e_self:>8.4f}  "
            f"{e_vat / e_sup:>7.3f}  {e_self / e_sup:>8.3f}  "
            f"{t_sup:>8.1f} / {t_vat:>5.1f} / {t_self:>5.1f}"
        )
    print(
        f"\nvat / labelled: worst {max(ratios):.3f}, median "
        f"{float(np.median(ratios)):.3f} (target <= 0.5 on every draw)"
    )


if __name__ == "__main__":
    main()
