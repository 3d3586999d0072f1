"""
=========================================
Dropout against overfitting on few digits
=========================================

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
while the Bernoulli-dropout network's stays flat (its training loss stays far
from zero: random sub-networks cannot memorise).  On 8x8 digits the gain in
test *error* is small or absent -- 64 pixels leave little redundancy, so
dropping 20% of the inputs also removes signal; hidden-only dropout
(``input_dropout=0``) is the safer choice on such narrow inputs.

The fast-dropout curves follow the plain network's, not the Bernoulli ones,
because of what fast dropout optimises.  It samples no masks: it propagates
each unit's mean and variance under the mask distribution (a Gaussian
approximation) and minimises a second-order expansion of the expected loss,
the cross-entropy of the mean logits plus ``0.5 * sum_k Var[z_k] p_k (1 -
p_k)``; that is what its ``loss_curve_`` reports.  The variance term, its
only regulariser, vanishes as the predicted probabilities ``p_k``
saturate: once the training digits are classified confidently the objective
penalises nothing, and since the term is smallest for confident outputs it
even pulls towards them.  So its training loss is smooth (every step is
deterministic given the minibatch, while the Bernoulli curve is jagged
because its weights move under sampled masks), falls like the plain
network's and ends slightly below it, and its test loss climbs as the plain
network's does.  The last printed lines measure the gap: under sampled
masks, the fast-dropout network's expected training loss is tens of times
the objective it reports, while the Bernoulli network's objective stays
close to its own.

The dashed curves are the same measurement for all three networks: the log
loss of the deterministic network (``predict_proba``, weight scaling) on the
training digits.
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
    train_loss, test_loss, test_err, objective = [], [], [], []
    for _ in range(EPOCHS):
        model.partial_fit(X_train, y_train, classes=classes)
        train_loss.append(
            log_loss(y_train, model.predict_proba(X_train), labels=classes)
        )
        test_loss.append(log_loss(y_test, model.predict_proba(X_test), labels=classes))
        test_err.append(1.0 - model.score(X_test, y_test))
        objective.append(model.loss_curve_[-1])
    return np.array([train_loss, test_loss, test_err, objective]), model


runs = {name: [curves(make, seed) for seed in SEEDS] for name, make in CONFIGS.items()}
results = {name: np.mean([c for c, _ in r], axis=0) for name, r in runs.items()}
for name, (train_loss, test_loss, test_err, _) in results.items():
    print(
        f"{name:30s} final test error {test_err[-1]:.3f}, "
        f"best test loss {test_loss.min():.3f}, final test loss {test_loss[-1]:.3f}, "
        f"final train loss {train_loss[-1]:.4f}"
    )

# %%
# The loss a dropout network trains on (``loss_curve_``) against the loss it
# stands for: the expected log loss on the training digits under sampled
# masks (``predict_proba_samples``), for the last seed's fitted networks.
rows = np.searchsorted(classes, y_train)
for name, r in list(runs.items())[1:]:
    model = r[-1][1]
    p = model.predict_proba_samples(X_train, n_samples=100)[:, np.arange(N_TRAIN), rows]
    print(
        f"{name:30s} objective {model.loss_curve_[-1]:.4f}, expected loss "
        f"under sampled masks {-np.mean(np.log(np.maximum(p, 1e-15))):.4f}"
    )

# %%
# Plot: losses (left) and test error (right), mean over seeds.
fig, (ax_loss, ax_err) = plt.subplots(1, 2, figsize=(11, 4))
epochs = np.arange(1, EPOCHS + 1)
for (name, (train_loss, test_loss, test_err, _)), color in zip(
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
plt.show()
