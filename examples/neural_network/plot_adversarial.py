"""
==========================================================
Adversarial training and virtual adversarial training (VAT)
==========================================================

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
fig = plt.figure(figsize=(12, 8.5))
grid = fig.add_gridspec(2, 6, height_ratios=[1, 1.2])
axes = [fig.add_subplot(grid[0, 2 * k : 2 * k + 2]) for k in range(3)]
panels = [
    (X_test[i], "clean digit", "gray_r"),
    (X_adv[i] - X_test[i], f"FGSM perturbation (eps {EPS})", "RdBu_r"),
    (X_adv[i], "adversarial digit", "gray_r"),
]
for ax, (img, title, cmap) in zip(axes, panels, strict=True):
    lim = (-EPS, EPS) if cmap == "RdBu_r" else (0, 1)
    ax.imshow(img.reshape(8, 8), cmap=cmap, vmin=lim[0], vmax=lim[1])
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
for ax, x in ((axes[0], X_test[i]), (axes[2], X_adv[i])):
    p = plain.predict(x[None])[0]
    r = robust.predict(x[None])[0]
    ax.text(
        0.5,
        -0.12,
        f"plain: {p}   FGSM-trained: {r}",
        transform=ax.transAxes,
        ha="center",
        fontsize=9,
    )
axes[1].text(
    0.5,
    -0.12,
    f"true label {y_test[i]}",
    transform=axes[1].transAxes,
    ha="center",
    fontsize=9,
)

# %%
# (b) Accuracy under attack as the radius grows, for FGSM (solid) and PGD
# (dashed; never weaker than FGSM by construction).
epsilons = np.linspace(0, 0.3, 4 if QUICK else 7)
ax_b = fig.add_subplot(grid[1, :3])
for (name, model), color in zip(models.items(), ["C0", "C1", "C2"], strict=True):
    for attack, style in (("fgsm", "-"), ("pgd", "--")):
        acc = [
            adversarial_accuracy(model, X_test, y_test, e, attack, clip=(0, 1))
            for e in epsilons
        ]
        ax_b.plot(epsilons, acc, style, color=color, label=f"{name}, {attack}")
ax_b.axvline(EPS, color="gray", lw=0.5)
ax_b.set_xlabel("attack radius epsilon (L-infinity, pixels in [0, 1])")
ax_b.set_ylabel("test accuracy under attack")
ax_b.legend(fontsize=8)

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
ax_c = fig.add_subplot(grid[1, 3:])
n_labels = 10 * np.asarray(labels_per_class)
ax_c.plot(n_labels, err_sup, "o-", label="labelled digits only")
ax_c.plot(n_labels, err_vat, "o-", label="VAT, the rest unlabeled")
ax_c.set_xscale("log")
ax_c.set_xlabel("number of labelled training digits")
ax_c.set_ylabel("test error")
ax_c.legend()

# %%
fig.tight_layout()
plt.savefig("plot_adversarial.png")
