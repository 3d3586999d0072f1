"""
=================================================
Bagging MLPs: test error vs members, and eq. 7.50
=================================================

Train k small MLPs on k bootstrap samples of the digits and average their
probabilities.  For k members whose errors have variance ``v`` and pairwise
covariance ``c`` the squared error of the average is

    v / k + (k - 1) c / k        (*Deep Learning* eq. 7.50, section 7.11)

:meth:`~skreg.ensemble.BaggedMLPClassifier.error_decomposition` measures ``v``
and ``c`` on held-out data (errors = probability output minus the one-hot
label, averaged over samples and classes).  The right panel compares the
measured squared error of the first k members' average with the eq. 7.50 curve
drawn from the full ensemble's ``v`` and ``c``: the gain flattens at ``c``,
because bootstrap members make correlated errors.  The left panel shows what
a user cares about, the test misclassification rate, against the mean
single member.
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skreg.ensemble import BaggedMLPClassifier
from skreg.neural_network import MLPClassifier

QUICK = os.environ.get("SKREG_EXAMPLES_QUICK") == "1"
K = 6 if QUICK else 25
EPOCHS = 15 if QUICK else 60
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16.0, y, test_size=0.5, stratify=y, random_state=0
)

# %%
# A deliberately high-variance member: few training digits, a wide layer,
# no early stopping.
member = MLPClassifier(hidden_layer_sizes=(64,), max_iter=EPOCHS, alpha=1e-4)
bag = BaggedMLPClassifier(
    member, n_estimators=K, oob_score=True, n_jobs=2, random_state=0
).fit(X_train, y_train)
d = bag.error_decomposition(X_test, y_test)
print(
    f"k={d.k}  v={d.v:.5f}  c={d.c:.5f}  eq. 7.50: {d.eq4:.5f}  "
    f"measured={d.ensemble_error:.5f}  (c/v = {d.c / d.v:.2f})"
)
print(
    f"OOB accuracy {bag.oob_score_:.4f}, test accuracy {bag.score(X_test, y_test):.4f}"
)

# %%
# Sub-ensembles of k members, from the members' test probabilities.  Eq. 7.50
# with the full ensemble's v and c is the *expected* error of a random
# k-member sub-ensemble, so we average over random orders of the members
# (and also show the first k members of the fitted order).
onehot = (y_test[:, None] == bag.classes_[None, :]).astype(float)
probas = np.stack([m.predict_proba(X_test) for m in bag.estimators_])
ks = np.arange(1, K + 1)


def curves(order):
    avg = np.cumsum(probas[order], axis=0) / ks[:, None, None]
    miscl = [np.mean(bag.classes_[a.argmax(1)] != y_test) for a in avg]
    sq = [np.mean((a - onehot) ** 2) for a in avg]
    return np.array(miscl), np.array(sq)


first_miscl, first_sq = curves(np.arange(K))
rng = np.random.default_rng(0)
runs = [curves(rng.permutation(K)) for _ in range(300)]
mean_miscl = np.mean([r[0] for r in runs], axis=0)
mean_sq = np.mean([r[1] for r in runs], axis=0)
member_error = np.mean([np.mean(bag.classes_[p.argmax(1)] != y_test) for p in probas])
eq_7_50 = d.v / ks + (ks - 1) * d.c / ks

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.2))
ax0.plot(ks, mean_miscl, "o-", label="k members (mean over 300 random orders)")
ax0.plot(ks, first_miscl, ".", color="C0", alpha=0.4, label="first k members")
ax0.axhline(member_error, color="gray", ls="--", label="mean single member")
ax0.set(
    xlabel="number of members k",
    ylabel="test misclassification rate",
    title="Test error of the bagged MLPs",
)
ax0.legend(fontsize="small")
ax1.plot(ks, mean_sq, "o", label="measured (mean over 300 random orders)")
ax1.plot(ks, first_sq, ".", color="C0", alpha=0.4, label="measured, first k members")
ax1.plot(ks, eq_7_50, "-", color="C1", label="eq. 7.50: v/k + (k-1)c/k")
ax1.axhline(d.v, color="gray", ls="--", label=f"v = {d.v:.4f}")
ax1.axhline(d.c, color="gray", ls=":", label=f"c = {d.c:.4f}")
ax1.set(
    xlabel="number of members k",
    ylabel="squared error of probabilities",
    title="Eq. 7.50 on held-out digits",
)
ax1.legend(fontsize="small")
fig.tight_layout()
plt.show()
