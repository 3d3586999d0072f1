"""
=========================================
Predictive uncertainty from dropout (1-D)
=========================================

A network trained with dropout defines a distribution over networks: one per
mask.  Sampling masks at prediction time (Monte Carlo dropout, Gal &
Ghahramani 2016) gives a spread of predictions whose standard deviation is
small where the training data pin the function down and grows where they do
not (*Deep Learning* section 7.12).  ``DropoutMLPRegressor.predict(X,
return_std=True)`` returns that mean and standard deviation.  With
``dropout_method='fast'`` the same mask distribution is propagated as a
Gaussian approximation (Wang & Manning 2013): one deterministic pass gives
the mean and variance of the output, without sampling.

The data: ``sin(3x)`` plus noise on ``x`` in [-1, 1].  Outside that range the
band widens; the noise of ``y`` itself (0.1 here) is not part of the band,
which describes the model's uncertainty only.  The MC band is ragged: each
query gets its own masks (keyed by its content, so a prediction does not
depend on which other rows share its batch), and 100 masks leave sampling
noise in each standard deviation.  The fast-dropout band is smooth.
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skreg.neural_network import DropoutMLPRegressor

QUICK = os.environ.get("SKREG_EXAMPLES_QUICK") == "1"
EPOCHS = 100 if QUICK else 400
warnings.simplefilter("ignore", ConvergenceWarning)

rng = np.random.RandomState(0)
X_train = rng.uniform(-1, 1, (300, 1))
y_train = np.sin(3 * X_train[:, 0]) + 0.1 * rng.randn(300)
X_test = rng.uniform(-1, 1, (300, 1))
y_test = np.sin(3 * X_test[:, 0]) + 0.1 * rng.randn(300)
grid = np.linspace(-3, 3, 400)[:, None]
far = np.abs(grid[:, 0]) >= 1.5

# %%
# The same network and rates, trained with sampled masks and with fast
# dropout; the MC band uses 100 masks.
models = {}
for method in ("bernoulli", "fast"):
    models[method] = DropoutMLPRegressor(
        (128, 128),
        hidden_dropout=0.1,
        dropout_method=method,
        n_mc_samples=100,
        max_iter=EPOCHS,
        random_state=0,
    ).fit(X_train, y_train)

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, (method, model) in zip(axes, models.items(), strict=True):
    mean, std = model.predict(grid, return_std=True)
    m_test, s_test = model.predict(X_test, return_std=True)
    inside = ~far & (np.abs(grid[:, 0]) <= 1)
    ratio = np.median(std[far]) / np.median(std[inside])
    cover = np.mean(np.abs(y_test - m_test) <= 2 * s_test)
    print(
        f"{method:9s}: test R^2 {model.score(X_test, y_test):.3f}, median std "
        f"outside / inside {ratio:.1f}, mean +- 2 std covers {cover:.0%} of the "
        "test points"
    )
    ax.fill_between(grid[:, 0], mean - 2 * std, mean + 2 * std, alpha=0.3,
                    label="mean +- 2 std")  # fmt: skip
    ax.plot(grid[:, 0], mean, lw=2, label="prediction")
    ax.plot(grid[:, 0], np.sin(3 * grid[:, 0]), "k--", lw=1, label="sin(3x)")
    ax.scatter(X_train[:, 0], y_train, s=5, c="gray", label="training data")
    ax.axvspan(-1, 1, color="gray", alpha=0.08)
    ax.set_xlabel("x")
    title = "Monte Carlo dropout (100 masks)" if method == "bernoulli" else (
        "fast dropout (Gaussian approximation)"
    )  # fmt: skip
    ax.set_title(f"{title}\nstd outside / inside: {ratio:.1f}x")
    ax.set_ylim(-3, 3)
axes[0].set_ylabel("y")
axes[0].legend(loc="lower left", fontsize=8)
fig.tight_layout()
plt.show()
