"""
===================================================
Tangent propagation with known and learned tangents
===================================================

A small translation, rotation or thickening of a digit keeps its class.
The *tangent vectors* of an image are the derivatives of the image under
those transformations (Simard et al. 1992); tangent propagation adds to the
loss the squared derivatives of the network's output along them, so the
classifier becomes locally invariant to the transformations
(*Deep Learning* section 7.14).

The manifold tangent classifier (Rifai et al. 2011) learns the tangents
instead: a contractive autoencoder is trained on the digits, and at each
digit the leading right-singular vectors of its encoder Jacobian -- the
directions the code is most sensitive to -- are the local directions of
the data manifold.

Top: a digit, its seven image tangents (red: brighter, blue: darker along
the tangent) and the seven leading tangents the autoencoder learned at the same digit
(the classifier uses the first three).
Bottom: test error of the same network trained on 20 digits per class
without the penalty, with image tangents, and with learned tangents, over
several training subsets.
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skreg.neural_network import (
    ManifoldTangentClassifier,
    MLPClassifier,
    TangentPropMLPClassifier,
)

QUICK = os.environ.get("SKREG_EXAMPLES_QUICK") == "1"
PER_CLASS = 20
EPOCHS = 60 if QUICK else 300
SEEDS = (0,) if QUICK else (0, 1, 2, 3, 4)
COMMON = dict(hidden_layer_sizes=(64,), batch_size=32, max_iter=EPOCHS)

X, y = load_digits(return_X_y=True)
X = X / 16.0


def split(seed):
    rng = np.random.RandomState(seed)
    train = np.concatenate(
        [rng.choice(np.where(y == c)[0], PER_CLASS, replace=False) for c in range(10)]
    )
    test = np.setdiff1d(np.arange(len(y)), train)
    return train, test


# %%
# Fit the three networks on each training subset.
models = {
    "plain": lambda s: MLPClassifier(random_state=s, **COMMON),
    "image tangents": lambda s: TangentPropMLPClassifier(random_state=s, **COMMON),
    "learned tangents": lambda s: ManifoldTangentClassifier(random_state=s, **COMMON),
}
errors = {name: [] for name in models}
fitted = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for seed in SEEDS:
        train, test = split(seed)
        for name, make in models.items():
            est = make(seed).fit(X[train], y[train])
            errors[name].append(1 - est.score(X[test], y[test]))
            fitted[name] = est
for name, errs in errors.items():
    print(
        f"{name:17s} test error {np.mean(errs):.4f} (per subset: {np.round(errs, 4)})"
    )

# %%
# One digit, its image tangents and the learned tangents at the same point.
digit = X[split(SEEDS[-1])[0][3]][None, :]
image_t = fitted["image tangents"].compute_tangents(digit)[0]
# the classifier used the 3 leading learned tangents; show 7
learned_t = (
    fitted["learned tangents"].set_params(n_tangents=7).learned_tangents(digit)[0]
)
names = [
    "x-shift",
    "y-shift",
    "rotate",
    "scale",
    "par. hyp.",
    "diag. hyp.",
    "thicken",
]

fig = plt.figure(figsize=(10, 6.5))
grid = fig.add_gridspec(3, 8, height_ratios=[1, 1, 1.6])
ax = fig.add_subplot(grid[0, 0])
ax.imshow(digit.reshape(8, 8), cmap="gray_r")
ax.set_title("digit")
ax.axis("off")
for k in range(7):
    for row, (T, label) in enumerate(
        ((image_t, names[k]), (learned_t, f"CAE {k + 1}"))
    ):
        ax = fig.add_subplot(grid[row, k + 1])
        v = T[k].reshape(8, 8)
        lim = max(np.abs(v).max(), 1e-12)
        ax.imshow(v, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(label, fontsize=8)
        ax.axis("off")
ax = fig.add_subplot(grid[2, 1:7])
labels = list(errors)
means = [100 * np.mean(errors[k]) for k in labels]
ax.bar(labels, means, color=["0.6", "tab:blue", "tab:orange"])
for i, name in enumerate(labels):
    ax.plot([i] * len(SEEDS), 100 * np.array(errors[name]), "k.", ms=4)
ax.set_ylabel("test error (%)")
ax.set_title(f"{PER_CLASS} training digits per class, {len(SEEDS)} subsets")
fig.tight_layout()
plt.show()
