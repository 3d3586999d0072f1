"""
=================================================
Parameter tying: a small task pulled to a big one
=================================================

Parameter tying (*Deep Learning* section 7.9) expresses the belief that two
models solving related tasks should have close weights: model B is trained
with the extra penalty ``tie_alpha * ||w_B - w_A||^2`` towards the weights
of an already trained model A.

Task A: the digits, 900 of them labelled.  Task B: the other digits rotated
by 15 degrees, with only a few labelled per class.  A's network misreads
many rotated digits; a network trained on B's few labels alone overfits
them.  Tied to A (``tie_to=A``), B's network starts from the same random
weights as the untied one but is pulled towards A's, and errs less than
either for a moderate strength; a very strong tie turns it back into A's
network.
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy import ndimage
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skreg.neural_network import MLPClassifier

QUICK = os.environ.get("SKREG_EXAMPLES_QUICK") == "1"
ANGLE = 15
STRENGTHS = (
    [1e-3, 1e-2, 1e-1, 1.0] if QUICK else [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
)
SEEDS = (0, 1) if QUICK else (0, 1, 2, 3, 4, 5)
LABELS_PER_CLASS = (3, 10)
COMMON = dict(hidden_layer_sizes=(64,), max_iter=300)
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X = X / 16.0
order = np.random.RandomState(0).permutation(len(X))
task_a, task_b = order[:900], order[900:]
X_b = np.array(
    [
        ndimage.rotate(x.reshape(8, 8), ANGLE, reshape=False, order=1).ravel()
        for x in X[task_b]
    ]
)
y_b = y[task_b]

# %%
# Model A, trained once on task A.
model_a = MLPClassifier(random_state=0, **COMMON).fit(X[task_a], y[task_a])
error_a = 1 - model_a.score(X_b, y_b)
print(f"A's network on the rotated digits: test error {error_a:.3f}")

# %%
# Model B on a few labelled rotated digits, untied and tied to A, over
# several draws of the labelled digits (tested on the rest of task B).
untied = {k: [] for k in LABELS_PER_CLASS}
tied = {k: {s: [] for s in STRENGTHS} for k in LABELS_PER_CLASS}
for k in LABELS_PER_CLASS:
    for seed in SEEDS:
        rng = np.random.RandomState(seed)
        lab = np.concatenate(
            [rng.choice(np.flatnonzero(y_b == c), k, replace=False) for c in range(10)]
        )
        test = np.setdiff1d(np.arange(len(y_b)), lab)
        model = MLPClassifier(random_state=seed, **COMMON).fit(X_b[lab], y_b[lab])
        untied[k].append(1 - model.score(X_b[test], y_b[test]))
        for s in STRENGTHS:
            model = MLPClassifier(
                random_state=seed, tie_to=model_a, tie_alpha=s, **COMMON
            ).fit(X_b[lab], y_b[lab])
            tied[k][s].append(1 - model.score(X_b[test], y_b[test]))
    best = min(STRENGTHS, key=lambda s: np.mean(tied[k][s]))
    print(
        f"{k:2d} labels per class: untied {np.mean(untied[k]):.3f}, "
        f"tied {np.mean(tied[k][best]):.3f} (tie_alpha {best:g})"
    )

# %%
# Left: a digit of task A and the same digit as task B sees it.  Right: the
# test error of B's network against the strength of the tie (mean over the
# draws), with the untied network (dashed) and A's network (gray).
fig = plt.figure(figsize=(11, 4))
grid = fig.add_gridspec(2, 3, width_ratios=[0.45, 0.45, 2.2])
for row, (img, title) in enumerate(
    ((X[task_b[0]], "upright (task A)"), (X_b[0], f"task B: rotated {ANGLE} deg"))
):
    ax = fig.add_subplot(grid[row, 0:2])
    ax.imshow(img.reshape(8, 8), cmap="gray_r")
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
ax = fig.add_subplot(grid[:, 2])
for k, color in zip(LABELS_PER_CLASS, ("C0", "C1"), strict=True):
    ax.plot(
        STRENGTHS,
        [100 * np.mean(tied[k][s]) for s in STRENGTHS],
        "o-",
        color=color,
        label=f"tied to A, {k} labels per class",
    )
    ax.axhline(
        100 * np.mean(untied[k]), color=color, ls="--", label=f"untied, {k} per class"
    )
ax.axhline(100 * error_a, color="gray", label="A's network as it is")
ax.set_xscale("log")
ax.set_ylim(bottom=0)
ax.set_xlabel("tie_alpha")
ax.set_ylabel("test error on task B (%)")
ax.set_title(f"mean over {len(SEEDS)} draws of the labelled digits", fontsize=10)
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
