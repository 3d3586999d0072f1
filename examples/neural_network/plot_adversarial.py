"""
===========================================================
Adversarial training and virtual adversarial training (VAT)
===========================================================

A plain MLP on scikit-learn's digits is easily fooled: moving every pixel
by 0.15 (of a [0, 1] range) in the direction of the sign of the loss
gradient (FGSM, Goodfellow et al. 2015) flips most predictions.  Training
on such inputs, regenerated from the current weights at every minibatch
step (:class:`~skreg.neural_network.AdversarialMLPClassifier`), makes the
network robust at almost no cost in clean accuracy.  Virtual adversarial
training (Miyato et al.) needs no labels for its smoothness term, so it
also turns unlabeled digits into a training signal.

Set ``SKREG_EXAMPLES_QUICK=1`` for a fast, smaller run.
"""

import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skreg.metrics import adversarial_accuracy, fgsm_attack
from skreg.neural_network import AdversarialMLPClassifier, MLPClassifier

warnings.simplefilter("ignore", ConvergenceWarning)
QUICK = os.environ.get("SKREG_EXAMPLES_QUICK") == "1"
HIDDEN = (64,) if QUICK else (100,)
EPOCHS = 40 if QUICK else 200
EPS = 0.15

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=0
)
common = dict(hidden_layer_sizes=HIDDEN, max_iter=EPOCHS, random_state=0)
adv = dict(adversarial_epsilon=EPS, clip=(0, 1))
models = {
    "plain": MLPClassifier(**common),
    "FGSM-trained": AdversarialMLPClassifier(**adv, **common),
    "PGD-trained": AdversarialMLPClassifier(method="pgd", **adv, **common),
}
for name, model in models.items():
    model.fit(X_train, y_train)
    fgsm = adversarial_accuracy(model, X_test, y_test, EPS, clip=(0, 1))
    print(
        f"{name:13s} clean accuracy {model.score(X_test, y_test):.3f}, "
        f"FGSM accuracy (eps {EPS}) {fgsm:.3f}"
    )

# %%
# (a) One digit, its FGSM perturbation against the plain network, and the
# adversarial digit: the plain network is fooled, the FGSM-trained one not.
plain, robust = models["plain"], models["FGSM-trained"]
X_adv = fgsm_attack(plain, X_test, y_test, EPS, clip=(0, 1))
fooled = np.flatnonzero(
    (plain.predict(X_test) == y_test)
    & (plain.predict(X_adv) != y_test)
    & (robust.predict(X_adv) == y_test)
)
i = int(fooled[0]) if fooled.size else 0

# %%
# (b) Accuracy under attack as the radius grows, for FGSM and PGD (PGD is
# never weaker than FGSM, by construction).
epsilons = np.linspace(0, 0.3, 4 if QUICK else 7)
under_attack = {
    (name, attack): [
        adversarial_accuracy(model, X_test, y_test, e, attack, clip=(0, 1))
        for e in epsilons
    ]
    for name, model in models.items()
    for attack in ("fgsm", "pgd")
}

# %%
# (c) VAT with a few labelled digits per class and the rest of the training
# set unlabeled (``y = -1``), against the same network trained on the
# labelled digits alone.
labels_per_class = [10] if QUICK else [5, 10, 20, 40]
vat_epochs = 150 if QUICK else 1000
rng = np.random.RandomState(0)
order = [rng.permutation(np.flatnonzero(y_train == c)) for c in range(10)]
err_sup, err_vat = [], []
for k in labels_per_class:
    lab = np.concatenate([o[:k] for o in order])
    y_semi = np.full_like(y_train, -1)
    y_semi[lab] = y_train[lab]
    sup = MLPClassifier(HIDDEN, max_iter=2000, random_state=0)
    sup.fit(X_train[lab], y_train[lab])
    vat = AdversarialMLPClassifier(
        HIDDEN,
        method="vat",
        adversarial_epsilon=0.6,
        max_iter=vat_epochs,
        n_iter_no_change=vat_epochs,
        random_state=0,
    ).fit(X_train, y_semi)
    err_sup.append(1 - sup.score(X_test, y_test))
    err_vat.append(1 - vat.score(X_test, y_test))
    print(
        f"{k:3d} labels per class: labelled only {err_sup[-1]:.3f} error, "
        f"VAT {err_vat[-1]:.3f}"
    )

# %%
# The figure: (a) on top, (b) and (c) below.
fig = plt.figure(figsize=(12, 9))
grid = fig.add_gridspec(2, 6, height_ratios=[1, 1.2])


def predictions(x):
    """What the plain and the FGSM-trained networks predict for one digit."""
    p, r = plain.predict(x[None])[0], robust.predict(x[None])[0]
    return f"plain net: {p}, FGSM-trained: {r}"


panels = [
    (X_test[i], f"(a) clean digit\n{predictions(X_test[i])}", "gray_r"),
    (
        X_adv[i] - X_test[i],
        f"FGSM perturbation (eps {EPS})\ntrue label {y_test[i]}",
        "RdBu_r",
    ),
    (X_adv[i], f"adversarial digit\n{predictions(X_adv[i])}", "gray_r"),
]
for k, (img, title, cmap) in enumerate(panels):
    ax = fig.add_subplot(grid[0, 2 * k : 2 * k + 2])
    lim = (-EPS, EPS) if cmap == "RdBu_r" else (0, 1)
    ax.imshow(img.reshape(8, 8), cmap=cmap, vmin=lim[0], vmax=lim[1])
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()

ax_b = fig.add_subplot(grid[1, :3])
colors = dict(zip(models, ["C0", "C1", "C2"], strict=True))
for (name, attack), acc in under_attack.items():
    style = "-" if attack == "fgsm" else "--"
    label = f"{name}, {attack.upper()} attack"
    ax_b.plot(epsilons, acc, style, color=colors[name], label=label)
ax_b.axvline(EPS, color="gray", lw=0.5)
ax_b.set_xticks(epsilons, [f"{e:.2f}" for e in epsilons])
ax_b.set_xlabel("attack radius epsilon (L-infinity, pixels in [0, 1])")
ax_b.set_ylabel("test accuracy under attack")
ax_b.set_title(f"(b) robustness (gray line: training radius {EPS})", fontsize=10)
ax_b.legend(fontsize=8)

ax_c = fig.add_subplot(grid[1, 3:])
n_labels = 10 * np.asarray(labels_per_class)
ax_c.plot(n_labels, err_sup, "o-", label="labelled digits only")
ax_c.plot(n_labels, err_vat, "o-", label="VAT, the rest unlabeled")
ax_c.set_xscale("log")
# one tick per measured size, written out (not as powers of ten)
ax_c.set_xticks(n_labels, [str(n) for n in n_labels])
ax_c.minorticks_off()
ax_c.set_ylim(0, 1.15 * max(err_sup + err_vat))
ax_c.set_xlabel("number of labelled training digits (log scale)")
ax_c.set_ylabel("test error")
ax_c.set_title(
    f"(c) VAT: few of the {len(y_train)} training digits labelled", fontsize=10
)
ax_c.legend()
fig.tight_layout()
plt.show()
