"""Time per epoch of adversarial training: skreg vs its plain net and PyTorch.

load_digits scaled to [0, 1], 80/20 stratified split (1,437 training
images), MLP (100,) relu, adam (lr 1e-3), batch 200, FGSM at eps 0.15 with
alpha = 0.5 (Goodfellow et al.), inputs clipped to [0, 1].  Reports seconds
per epoch (median of interleaved repeats, so machine load hits every peer
alike), the ratios

* fgsm / plain (the same skreg net without adversarial training; target
  <= 2.2x: one more forward and backward pass plus the input gradient),
* pgd / plain and vat / plain for reference,
* skreg fgsm / PyTorch fgsm (an equivalent loop: same net, optimizer,
  batches and mixed loss; target <= 1.0x),

and the clean and FGSM test accuracies so the loops can be seen to train
the same thing.  JIT warm-up is excluded and reported separately.

Usage: python benchmarks/bench_adversarial.py [--epochs 20] [--repeats 3]
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
from threadpoolctl import threadpool_limits

from skreg.metrics import adversarial_accuracy
from skreg.neural_network import AdversarialMLPClassifier, MLPClassifier

warnings.simplefilter("ignore", ConvergenceWarning)
EPS = 0.15
COMMON = dict(
    hidden_layer_sizes=(100,),
    batch_size=200,
    learning_rate_init=1e-3,
    alpha=1e-4,
    n_iter_no_change=10**6,
    random_state=0,
)


def data():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.2, stratify=y, random_state=0)


def skreg_models():
    adv = dict(adversarial_epsilon=EPS, clip=(0, 1))
    return {
        "plain": lambda it: MLPClassifier(max_iter=it, **COMMON),
        "fgsm": lambda it: AdversarialMLPClassifier(max_iter=it, **adv, **COMMON),
        "pgd": lambda it: AdversarialMLPClassifier(
            max_iter=it, method="pgd", pgd_steps=5, **adv, **COMMON
        ),
        "vat": lambda it: AdversarialMLPClassifier(
            max_iter=it, method="vat", adversarial_epsilon=0.6, **COMMON
        ),
    }


def torch_fgsm(Xtr, ytr, epochs, threads):
    """The same FGSM training written the usual PyTorch way."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    X = torch.tensor(Xtr, dtype=torch.float64)
    Y = torch.tensor(ytr, dtype=torch.long)
    net = torch.nn.Sequential(
        torch.nn.Linear(64, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10)
    ).double()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=0.0)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    n = X.shape[0]
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for i0 in range(0, n, 200):
            b = perm[i0 : i0 + 200]
            xb = X[b].clone().requires_grad_(True)
            yb = Y[b]
            loss = loss_fn(net(xb), yb)
            (gx,) = torch.autograd.grad(loss, xb, retain_graph=True)
            x_adv = (xb + EPS * gx.sign()).clamp(0, 1).detach()
            total = 0.5 * loss + 0.5 * loss_fn(net(x_adv), yb)
            opt.zero_grad()
            total.backward()
            opt.step()
    seconds = time.perf_counter() - start
    return net, seconds


def torch_scores(net, Xte, yte):
    import torch

    X = torch.tensor(Xte, dtype=torch.float64, requires_grad=True)
    Y = torch.tensor(yte, dtype=torch.long)
    loss = torch.nn.functional.cross_entropy(net(X), Y, reduction="sum")
    (gx,) = torch.autograd.grad(loss, X)
    with torch.no_grad():
        clean = (net(X).argmax(1) == Y).double().mean().item()
        adv = net((X + EPS * gx.sign()).clamp(0, 1)).argmax(1) == Y
    return clean, adv.double().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS and torch threads (default 1)"
    )
    args = parser.parse_args()
    threadpool_limits(args.threads, user_api="blas")
    print(f"load average: {os.getloadavg()}, threads: {args.threads}")
    Xtr, Xte, ytr, yte = data()
    models = skreg_models()
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False
        print("torch not importable: PyTorch comparison skipped")

    # JIT warm-up (compilation or cache load), reported, not timed below
    for name, make in models.items():
        start = time.perf_counter()
        with warnings.catch_warnings():  # batch 200 > 50 rows: clipped
            warnings.simplefilter("ignore", UserWarning)
            make(1).fit(Xtr[:50], ytr[:50])
        print(f"warm-up {name}: {time.perf_counter() - start:.2f} s")
    if have_torch:
        torch_fgsm(Xtr[:50], ytr[:50], 1, args.threads)

    times = {k: [] for k in (*models, *(("torch fgsm",) if have_torch else ()))}
    fitted = {}
    for _ in range(args.repeats):  # interleaved: load hits every peer alike
        for name, make in models.items():
            start = time.perf_counter()
            fitted[name] = make(args.epochs).fit(Xtr, ytr)
            times[name].append((time.perf_counter() - start) / args.epochs)
        if have_torch:
            net, s = torch_fgsm(Xtr, ytr, args.epochs, args.threads)
            times["torch fgsm"].append(s / args.epochs)
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(f"\nseconds per epoch (median of {args.repeats}, {args.epochs} epochs):")
    for k, v in med.items():
        print(f"  {k:12s} {v * 1e3:8.2f} ms   (best {min(times[k]) * 1e3:.2f} ms)")
    print("\nratios:")
    for k in ("fgsm", "pgd", "vat"):
        print(f"  skreg {k} / skreg plain: {med[k] / med['plain']:.2f}x")
    if have_torch:
        print(f"  skreg fgsm / torch fgsm: {med['fgsm'] / med['torch fgsm']:.2f}x")
    print(f"\ntest accuracy after {args.epochs} epochs (clean / FGSM eps {EPS}):")
    for name in ("plain", "fgsm"):
        m = fitted[name]
        fg = adversarial_accuracy(m, Xte, yte, EPS, clip=(0, 1))
        print(f"  skreg {name:6s} {m.score(Xte, yte):.3f} / {fg:.3f}")
    if have_torch:
        clean, fg = torch_scores(net, Xte, yte)
        print(f"  torch fgsm   {clean:.3f} / {fg:.3f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
