"""
======================================
Tangent distance on handwritten digits
======================================

A small shift, rotation or thickening of a digit barely changes what it
shows, but it changes many pixels: the Euclidean distance between a digit
and its one-pixel shift is about as large as between two different digits.
Tangent distance (Simard et al.) measures the distance between the planes
spanned by each image's *tangent vectors* -- the derivatives of the image
under each small transformation -- so such nuisances cost nothing.

This example shows the seven tangent vectors of a digit, then the 1-NN
error of :class:`~skreg.neighbors.TangentDistanceKNN` against the number
of Euclidean pre-selected candidates it ranks (``n_candidates``), next to
the Euclidean 1-NN.  The cost of a prediction grows linearly with ``n_candidates``: one
Euclidean BLAS product for the shortlist, then one tangent-distance solve,
``O(r^2 n_features)`` for ``r`` tangents, per candidate and query (exact
search scores all of a fold's ~1,440 training digits).  It is not timed here:
timings on a shared machine say more about the machine than about the
method (``benchmarks/`` measures ratios against scikit-learn).
"""

# %%
# The seven tangent vectors of a digit
# ------------------------------------
# Tangents are derivatives of the Gaussian-smoothed image; red pixels get
# brighter, blue ones darker when the transformation parameter grows (see
# :func:`skreg.utils.image_tangents` for the sign conventions).
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import KFold
from sklearn.neighbors import KNeighborsClassifier

from skreg.neighbors import TangentDistanceKNN
from skreg.utils import IMAGE_TRANSFORMS, image_tangents

QUICK = os.environ.get("SKREG_EXAMPLES_QUICK") == "1"
SIGMA = 0.5

X, y = load_digits(return_X_y=True)
X = X / 16.0
names = list(IMAGE_TRANSFORMS)
digit = X[2]
tangents = image_tangents(digit[None], (8, 8), names, sigma=SIGMA)[0]

fig, axes = plt.subplots(1, 8, figsize=(14, 2.4))
axes[0].imshow(digit.reshape(8, 8), cmap="gray_r")
axes[0].set_title("digit")
for ax, name, t in zip(axes[1:], names, tangents, strict=True):
    lim = np.abs(t).max() or 1.0
    ax.imshow(t.reshape(8, 8), cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(name.replace("_", "\n"), fontsize=9)
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()

# %%
# Error against ``n_candidates``
# -------------------------------
# Each query is first compared to all training digits with the Euclidean
# distance (one BLAS product); the tangent distance then ranks the
# ``n_candidates`` nearest.  ``None`` ranks every training digit (exact).
# 1-NN, 5-fold unshuffled cross-validation (one fold in quick mode).
candidates = [1, 2, 5, 10, 20, 40, None] if not QUICK else [1, 5, 20, None]
folds = list(KFold(5).split(X))[: 1 if QUICK else 5]


def cross_validate(make):
    """Mean error over the folds."""
    errors = []
    for train, test in folds:
        model = make().fit(X[train], y[train])
        errors.append(np.mean(model.predict(X[test]) != y[test]))
    return np.mean(errors)


euclid_error = cross_validate(lambda: KNeighborsClassifier(1))
errors = np.array(
    [
        cross_validate(
            lambda m=m: TangentDistanceKNN(
                n_neighbors=1, n_candidates=m, sigma=SIGMA, n_jobs=-1
            )
        )
        for m in candidates
    ]
)
labels = [str(m) if m is not None else "all\n(exact)" for m in candidates]
pos = np.arange(len(candidates))
for m, e in zip(candidates, errors, strict=True):
    print(f"n_candidates={m}: error {e:.4f}")
print(f"Euclidean 1-NN: error {euclid_error:.4f}")

fig, ax = plt.subplots(figsize=(6, 3.8))
ax.plot(pos, 100 * errors, "o-", label="tangent distance 1-NN")
ax.axhline(100 * euclid_error, color="gray", ls="--", label="Euclidean 1-NN")
ax.set_xticks(pos, labels)
ax.set_ylim(bottom=0)
ax.set_xlabel("n_candidates (Euclidean pre-selection)")
ax.set_ylabel("1-NN error (%)")
ax.set_title(
    "load_digits, 5-fold unshuffled KFold" if not QUICK else "load_digits, one fold"
)
ax.legend()
fig.tight_layout()
plt.show()
