"""
=================================================================
Parameter sharing: convolutional layers on digits and time series
=================================================================

Parameter sharing (*Deep Learning* section 7.9) uses the same weights at
every position of the input: a convolution slides each small filter over
the image, so a stroke detector learnt in one corner works in every corner,
and the network stores one copy of it instead of one per position.  With
pooling, which keeps the strongest response of each window and forgets
exactly where it was, the features change little when the digit moves.

Any skreg neural estimator takes ``conv_layers`` (here
:class:`~skreg.neural_network.MLPClassifier`).  On the 8x8 digits, a CNN
with about a tenth of the parameters of the plain MLP(256) errs less on the
test digits, and far less on the test digits moved by one or two pixels.
On 1-D signals whose class is a short motif at a random position, a 1-D
convolution finds the motif wherever it is; the MLP must learn it at every
position separately.
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy import ndimage
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skreg.neural_network import MLPClassifier

QUICK = os.environ.get("SKREG_EXAMPLES_QUICK") == "1"
warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=0
)

# 8 filters 3x3 ('same' padding) + 2x2 max pooling, 24 filters 3x3 + 4x4
# max pooling (one position left per filter), then the softmax.
cnn = MLPClassifier(
    hidden_layer_sizes=(),
    conv_layers=[
        dict(filters=8, kernel_size=3, padding="same", pool=2),
        dict(filters=24, kernel_size=3, padding="same", pool=4),
    ],
    batch_size=64,
    max_iter=100,
    random_state=0,
).fit(X_train, y_train)
mlp = MLPClassifier(hidden_layer_sizes=(256,), max_iter=60, random_state=0).fit(
    X_train, y_train
)


def n_parameters(model):
    return sum(c.size for c in model.coefs_) + sum(b.size for b in model.intercepts_)


for name, model in [("CNN", cnn), ("MLP(256)", mlp)]:
    print(
        f"{name:9s} {n_parameters(model):6,d} parameters, "
        f"test error {1 - model.score(X_test, y_test):.3f}"
    )

# %%
# The first layer's filters: each 3x3 filter is used at all 64 positions.
fig, axes = plt.subplots(1, 8, figsize=(8, 1.4))
for k, ax in enumerate(axes):
    ax.imshow(cnn.coefs_[0][:, :, 0, k], cmap="RdBu_r")
    ax.set_axis_off()
fig.suptitle("first-layer filters (red: positive weight)")

# %%
# Accuracy on the test digits moved left or right by up to two pixels
# (blank where they leave the frame).
shifts = [-2, -1, 0, 1, 2]


def moved(X, dx):
    images = X.reshape(-1, 8, 8)
    out = [ndimage.shift(im, (0, dx), order=0, mode="constant") for im in images]
    return np.stack(out).reshape(len(X), -1)


fig, ax = plt.subplots(figsize=(5, 3.2))
for name, model in [("CNN", cnn), ("MLP(256)", mlp)]:
    accuracy = [model.score(moved(X_test, dx), y_test) for dx in shifts]
    print(name, "accuracy by shift", np.round(accuracy, 3))
    ax.plot(shifts, accuracy, "o-", label=name)
ax.set_xlabel("horizontal shift of the test digits (pixels)")
ax.set_ylabel("test accuracy")
ax.legend()
fig.tight_layout()

# %%
# A 1-D task: a signal of 64 noisy samples holds one short motif (a bump
# or a dip, the class) at a random position.  A 1-D convolution (a row of
# X is a signal when its length is not a perfect square, or with
# ``image_shape=(1, n)``) with max pooling over time finds the motif
# wherever it is.
rng = np.random.RandomState(0)
n_signals = 600 if QUICK else 1500
length, width = 64, 8
motif = np.sin(np.linspace(0, np.pi, width))
labels = rng.randint(2, size=n_signals)
signals = 0.6 * rng.standard_normal((n_signals, length))
starts = rng.randint(0, length - width, size=n_signals)
for i, (start, label) in enumerate(zip(starts, labels, strict=True)):
    signals[i, start : start + width] += (1 if label else -1) * 1.5 * motif
S_train, S_test, t_train, t_test = train_test_split(
    signals, labels, test_size=0.3, random_state=0
)
conv1d = MLPClassifier(
    hidden_layer_sizes=(8,),
    conv_layers=[dict(filters=4, kernel_size=width, pool=8)],
    image_shape=(1, length),
    max_iter=200,
    random_state=0,
).fit(S_train, t_train)
dense = MLPClassifier(hidden_layer_sizes=(64,), max_iter=200, random_state=0).fit(
    S_train, t_train
)
for name, model in [("1-D CNN", conv1d), ("MLP(64)", dense)]:
    print(
        f"{name:8s} {n_parameters(model):5,d} parameters, "
        f"test error {1 - model.score(S_test, t_test):.3f}"
    )

plt.show()
