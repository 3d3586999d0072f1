"""
==============================================================
Bagging MLP regressors: eq. 7.50 and the spread of the members
==============================================================

Train k small MLP regressors on k bootstrap samples and average their
predictions.  With ``e_i = f_i(x) - y`` the error of member i, ``v`` the
members' mean squared error and ``c`` the mean product of two different
members' errors, the mean squared error of the average is

    v / k + (k - 1) c / k        (*Deep Learning* eq. 7.50, section 7.11)

:meth:`~skreg.ensemble.BaggedMLPRegressor.error_decomposition` measures both
terms on held-out data.  The left panel grows one ensemble (``warm_start``)
on the diabetes data: the ``v / k`` part shrinks with k, the ``(k - 1) c / k``
part tends to ``c``, so the ensemble's error (which the stacked bar equals)
falls from the mean member's ``v`` towards ``c``.

The right panel uses the members' disagreement,
``predict(X, return_std=True)``, on a 1-D problem whose training inputs cover
only [-1, 1]: the members agree where the data pin the function down and part
ways outside.  The band is about the fitted function, not a prediction
interval: it leaves out the noise of ``y``.
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skreg.ensemble import BaggedMLPRegressor
from skreg.neural_network import MLPRegressor

QUICK = os.environ.get("SKREG_EXAMPLES_QUICK") == "1"
KS = (1, 2, 5, 10) if QUICK else (1, 2, 5, 10, 25)
warnings.simplefilter("ignore", ConvergenceWarning)

# %%
# Diabetes, standardised with the training half's statistics.  A
# deliberately high-variance member: a wide layer, little weight decay,
# trained to convergence on 221 patients.
X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
y_mean, y_scale = y_train.mean(), y_train.std()
y_train, y_test = (y_train - y_mean) / y_scale, (y_test - y_mean) / y_scale

member = MLPRegressor(
    hidden_layer_sizes=(64,), solver="lbfgs", alpha=1e-2, max_iter=200
)
bag = BaggedMLPRegressor(member, warm_start=True, n_jobs=2, random_state=0)
parts = []
for k in KS:
    bag.set_params(n_estimators=k).fit(X_train, y_train)  # adds members
    d = bag.error_decomposition(X_test, y_test)
    shared = 0.0 if k == 1 else (k - 1) * d.c / k
    parts.append((d.v / k, shared, d.ensemble_error, d.v))
    print(
        f"k={k:2d}  v={d.v:.4f}  c={d.c:.4f}  v/k + (k-1)c/k = {d.eq4:.6f}  "
        f"ensemble MSE = {d.ensemble_error:.6f}"
    )
parts = np.array(parts)

# %%
# The 1-D problem: ``sin(3x)`` plus noise, training inputs in [-1, 1].
rng = np.random.default_rng(0)
x_train = rng.uniform(-1.0, 1.0, 200)
t_train = np.sin(3 * x_train) + 0.1 * rng.standard_normal(200)
wave = BaggedMLPRegressor(
    MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", alpha=1e-3, max_iter=300),
    n_estimators=10,
    random_state=0,
).fit(x_train[:, None], t_train)
grid = np.linspace(-3.0, 3.0, 400)
mean, std = wave.predict(grid[:, None], return_std=True)
inside = np.abs(grid) <= 1.0
print(
    "median std outside / inside the training range: "
    f"{np.median(std[~inside]) / np.median(std[inside]):.1f}"
)

# %%
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.2))
pos = np.arange(len(KS))
width = 0.27
ax0.bar(pos - width, parts[:, 0], width, label="v / k")
ax0.bar(pos - width, parts[:, 1], width, bottom=parts[:, 0], label="(k - 1) c / k")
ax0.bar(pos, parts[:, 2], width, color="C2", label="ensemble MSE (measured)")
ax0.bar(pos + width, parts[:, 3], width, color="gray", label="mean member MSE, v")
ax0.set_xticks(pos, [str(k) for k in KS])
ax0.set(
    xlabel="number of members k",
    ylabel="test mean squared error (standardised y)",
    title="Eq. 7.50 on held-out diabetes patients",
)
ax0.set_ylim(0, 1.5 * parts[:, 3].max())
ax0.legend(fontsize="small", loc="upper center", ncol=2)

ax1.axvspan(-1.0, 1.0, color="0.92", label="training range")
ax1.fill_between(
    grid, mean - 2 * std, mean + 2 * std, color="C0", alpha=0.3, label="mean ± 2 std"
)
ax1.plot(grid, mean, color="C0", label="mean of 10 members")
ax1.plot(grid, np.sin(3 * grid), "k--", lw=1, label="sin(3x)")
ax1.plot(x_train, t_train, ".", color="C1", ms=3, label="training data")
ax1.set(
    xlabel="x",
    ylabel="y",
    ylim=(-4, 4),
    title="Members agree inside the data, part ways outside",
)
ax1.legend(fontsize="small", loc="lower left")
fig.tight_layout()
plt.show()
