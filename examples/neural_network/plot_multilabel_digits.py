"""
========================================
Multilabel digits: four yes/no questions
========================================

A multilabel target asks several yes/no questions of each sample at once.
Given a 0/1 indicator matrix ``Y`` (one column per label), skreg's MLP
classifiers train one logistic output per label with the binary log loss,
as scikit-learn's ``MLPClassifier`` does; ``predict`` returns the indicator
of the labels whose probability exceeds 0.5.  Every technique of the
engine applies: here the plain network and dropout.

The questions about a handwritten digit: is it even, is it at least 5, is it
prime, is it drawn with a closed loop (0, 6, 8, 9)?  Left: each label's test
accuracy; right: the predicted probabilities of a few test digits.
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from skreg.neural_network import DropoutMLPClassifier, MLPClassifier

QUICK = os.environ.get("SKREG_EXAMPLES_QUICK") == "1"
EPOCHS = 30 if QUICK else 100
warnings.simplefilter("ignore", ConvergenceWarning)

LABELS = ["even", ">= 5", "prime", "loop"]
X, digit = load_digits(return_X_y=True)
Y = np.stack(
    [
        digit % 2 == 0,
        digit >= 5,
        np.isin(digit, (2, 3, 5, 7)),
        np.isin(digit, (0, 6, 8, 9)),
    ],
    axis=1,
).astype(int)
X_train, X_test, Y_train, Y_test, d_train, d_test = train_test_split(
    X / 16.0, Y, digit, test_size=0.2, stratify=digit, random_state=0
)

# %%
models = {
    "scikit-learn MLP": SkMLPClassifier((256,), max_iter=EPOCHS, random_state=0),
    "skreg MLP": MLPClassifier((256,), max_iter=EPOCHS, random_state=0),
    "skreg dropout": DropoutMLPClassifier((256,), max_iter=EPOCHS, random_state=0),
}
per_label = {}
for name, model in models.items():
    model.fit(X_train, Y_train)
    pred = model.predict(X_test)
    per_label[name] = (pred == Y_test).mean(axis=0)
    print(
        f"{name:17s}: all four right on {model.score(X_test, Y_test):.1%} of the "
        f"test digits; per label {np.round(per_label[name], 3)}"
    )

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
width = 0.27
for k, (name, acc) in enumerate(per_label.items()):
    ax0.bar(np.arange(4) + (k - 1) * width, acc, width, label=name)
ax0.set_xticks(np.arange(4), LABELS)
ax0.set_ylim(0.9, 1.0)
ax0.set_ylabel("test accuracy of the label")
ax0.set_title("Each label's accuracy")
ax0.legend(fontsize=8, loc="lower right")

proba = models["skreg MLP"].predict_proba(X_test[:8])
ax1.imshow(proba.T, vmin=0, vmax=1, cmap="Greens", aspect="auto")
ax1.set_yticks(np.arange(4), LABELS)
ax1.set_xticks(np.arange(8), [str(d) for d in d_test[:8]])
ax1.set_xlabel("test digit (true class)")
ax1.set_title("predict_proba: one probability per label")
for i in range(8):
    for j in range(4):
        ax1.text(
            i, j, f"{proba[i, j]:.2f}", ha="center", va="center", fontsize=7,
            color="white" if proba[i, j] > 0.5 else "black",
        )  # fmt: skip
fig.tight_layout()
plt.show()
