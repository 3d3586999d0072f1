"""
==========================================
Dropout against overfitting on few digits
==========================================

A wide network trained on a few hundred digits memorises them: its training
loss goes to zero while its test loss turns back up.  Dropout (Srivastava et
al. 2014; *Deep Learning* section 7.12) trains on random sub-networks; fast
dropout (Wang & Manning 2013) trains on the expected loss under the mask
distribution instead of sampled masks.

We train each configuration one epoch at a time with ``partial_fit`` and
record the log loss on the training and the test digits after every epoch,
for several seeds.  The test loss of a dropout network is computed with the
default weight-scaling inference (one deterministic pass).

What to look for: the plain network's test loss climbs after its minimum
while the dropout network's stays flat (its training loss stays far from
zero: it cannot memorise).  On 8x8 digits the gain in test *error* is small
or absent -- 64 pixels leave little redundancy, so dropping 20% of the inputs
also removes signal; hidden-only dropout (``input_dropout=0``) is the safer
choice on such narrow inputs.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from skreg.neural_network import DropoutMLPClassifier, MLPClassifier

QUICK = os.environ.get("SKREG_EXAMPLES_QUICK") == "1"
N_TRAIN = 200
EPOCHS = 30 if QUICK else 150
SEEDS = (0, 1) if QUICK else (0, 1, 2, 3, 4)
HIDDEN = (512,)

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=N_TRAIN, stratify=y, random_state=0
)
classes = np.unique(y)

CONFIGS = {
    "no dropout": lambda seed: MLPClassifier(HIDDEN, batch_size=20, random_state=seed),
    "dropout (0.2 in, 0.5 hidden)": lambda seed: DropoutMLPClassifier(
        HIDDEN, batch_size=20, random_state=seed
    ),
    "fast dropout": lambda seed: DropoutMLPClassifier(
        HIDDEN, dropout_method="fast", batch_size=20, random_state=seed
    ),
}


# %%
# Train epoch by epoch and record both losses and the test error.
def curves(make, seed):
    model = make(seed)
    train_loss, test_loss, test_err = [], [], []
    for _ in range(EPOCHS):
        model.partial_fit(X_train, y_train, classes=classes)
        train_loss.append(
            log_loss(y_train, model.predict_proba(X_train), labels=classes)
        )
        test_loss.append(log_loss(y_test, model.predict_proba(X_test), labels=classes))
        test_err.append(1.0 - model.score(X_test, y_test))
    return np.array([train_loss, test_loss, test_err])


results = {
    name: np.mean([curves(make, seed) for seed in SEEDS], axis=0)
    for name, make in CONFIGS.items()
}
for name, (_, test_loss, test_err) in results.items():
    print(
        f"{name:30s} final test error {test_err[-1]:.3f}, "
        f"best test loss {test_loss.min():.3f}, final test loss {test_loss[-1]:.3f}"
    )

# %%
# Plot: losses (left) and test error (right), mean over seeds.
fig, (ax_loss, ax_err) = plt.subplots(1, 2, figsize=(11, 4))
epochs = np.arange(1, EPOCHS + 1)
for (name, (train_loss, test_loss, test_err)), color in zip(
    results.items(), ("C0", "C1", "C2"), strict=True
):
    ax_loss.plot(epochs, train_loss, color=color, ls="--", label=f"{name} (train)")
    ax_loss.plot(epochs, test_loss, color=color, label=f"{name} (test)")
    ax_err.plot(epochs, test_err, color=color, label=name)
ax_loss.set(
    xlabel="epoch",
    ylabel="log loss",
    yscale="log",
    title=f"{N_TRAIN} training digits, hidden {HIDDEN}",
)
ax_err.set(xlabel="epoch", ylabel="test error", title=f"mean of {len(SEEDS)} seeds")
ax_loss.legend(fontsize=7)
ax_err.legend(fontsize=8)
fig.tight_layout()
plt.savefig("dropout.png", dpi=100)
