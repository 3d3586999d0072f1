"""
===================================
Sparse hidden activations on digits
===================================

A penalty on the hidden *activations* ``h`` (not on the weights) makes the
representation sparse: each digit switches on only a few hidden units
(*Deep Learning* section 7.10).  skreg's MLPs add
``activation_penalty_alpha * Omega(h)`` to the loss, with ``Omega`` the L1
norm (``'l1'``), the Student-t penalty ``sum log(1 + gamma h^2)``
(``'student_t'``) or a KL divergence between a target firing rate and each
unit's mean firing rate (``'kl'``).

We train the same relu network on half of the digits with each penalty at a
few strengths, then count on the other half how many hidden units a digit
switches on (``h > 0``), and plot that against the test error.  Left: the
active units of the same test digits without and with an L1 penalty.  On
the digits the sparse codes cost nothing in test error (the differences are
a few digits out of 900).
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skreg.neural_network import MLPClassifier

QUICK = os.environ.get("SKREG_EXAMPLES_QUICK") == "1"
HIDDEN = (64,)
EPOCHS = 60 if QUICK else 200
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16.0, y, test_size=0.5, stratify=y, random_state=0
)

# %%
# The penalties and strengths.  The KL penalty acts on ``sigmoid(z)`` for
# relu units (a smooth firing rate); too strong a pull towards its target
# rate of 0.05 switches every unit off, hence its smaller range.
STRENGTHS = {
    "l1": [1e-3, 1e-2] if QUICK else [1e-3, 3e-3, 1e-2, 3e-2],
    "student_t": [1e-2, 1e-1] if QUICK else [1e-3, 1e-2, 3e-2, 1e-1],
    "kl": [1e-3, 1e-2] if QUICK else [1e-3, 3e-3, 1e-2],
}


def hidden_codes(model, X):
    """Hidden activations of a one-hidden-layer relu network."""
    return np.maximum(X @ model.coefs_[0] + model.intercepts_[0], 0.0)


def fit(penalty=None, strength=1e-3):
    model = MLPClassifier(
        HIDDEN,
        max_iter=EPOCHS,
        random_state=0,
        activation_penalty=penalty,
        activation_penalty_alpha=strength,
    ).fit(X_train, y_train)
    active = np.mean(hidden_codes(model, X_test) > 0)
    return model, active, 1.0 - model.score(X_test, y_test)


plain, plain_active, plain_error = fit()
print(f"no penalty: {plain_active:.1%} of units active, test error {plain_error:.4f}")
results = {}
for penalty, strengths in STRENGTHS.items():
    for strength in strengths:
        model, active, error = fit(penalty, strength)
        results.setdefault(penalty, []).append((strength, active, error, model))
        print(
            f"{penalty:9s} alpha {strength:g}: {active:.1%} of units active, "
            f"test error {error:.4f}"
        )

# %%
# Left: active hidden units of 20 test digits (rows) over the 64 units (columns),
# without and with the L1 penalty of strength 1e-2.  Right: the trade-off.
l1 = next(m for s, _, _, m in results["l1"] if s == 1e-2)
rows = np.argsort(y_test[:20], kind="stable")
fig = plt.figure(figsize=(12, 4.5))
grid = fig.add_gridspec(2, 2, width_ratios=[1, 1.2])
for k, (model, title) in enumerate(
    ((plain, "no penalty"), (l1, "L1 penalty, alpha = 0.01"))
):
    ax = fig.add_subplot(grid[k, 0])
    active_units = hidden_codes(model, X_test[:20][rows]) > 0
    ax.imshow(active_units, cmap="Greys", aspect="auto", interpolation="nearest")
    ax.set_yticks(range(20), y_test[:20][rows], fontsize=6)
    ax.set_ylabel("test digit")
    ax.set_title(f"active hidden units, {title}", fontsize=10)
    ax.set_xticks([])
ax.set_xlabel(f"hidden unit (of {HIDDEN[0]}); black: active (h > 0)")

ax = fig.add_subplot(grid[:, 1])
ax.plot(100 * plain_active, 100 * plain_error, "ks", label="no penalty")
for (penalty, rows_), marker in zip(results.items(), "o^v", strict=True):
    strengths, active, error, _ = zip(*rows_, strict=True)
    ax.plot(100 * np.array(active), 100 * np.array(error), marker + "-", label=penalty)
    for s, a, e in zip(strengths, active, error, strict=True):
        ax.annotate(
            f"{s:g}",
            (100 * a, 100 * e),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
ax.set_ylim(0, 1.3 * 100 * max(e for r in results.values() for _, _, e, _ in r))
ax.set_xlabel("hidden units active per test digit (%)")
ax.set_ylabel("test error (%)")
ax.set_title("sparsity against error (labels: penalty strength)", fontsize=10)
ax.legend()
fig.tight_layout()
plt.show()
