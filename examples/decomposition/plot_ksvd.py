"""
==============================================
K-SVD dictionary learned on handwritten digits
==============================================

K-SVD alternates two steps: every digit is coded with at most ``k`` atoms by
orthogonal matching pursuit (skreg's parallel Batch-OMP), then every atom is
replaced by the leading singular vector of the residual of the digits that
use it.  We learn 64 atoms for 5-sparse codes of scikit-learn's 8x8 digits,
show the atoms as images, and plot the reconstruction error per iteration
next to the error of the same OMP-5 coding with a dictionary of randomly
chosen (normalised) digits.
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skreg.decomposition import KSVD, sparse_encode

QUICK = os.environ.get("SKREG_EXAMPLES_QUICK") == "1"
N_ATOMS, K = 64, 5
MAX_ITER = 5 if QUICK else 30

X = load_digits().data / 16.0
if QUICK:
    X = X[:600]

# %%
# Learn the dictionary.  ``error_`` holds the root-mean-square reconstruction
# error after each iteration.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    ksvd = KSVD(
        N_ATOMS,
        transform_n_nonzero_coefs=K,
        max_iter=MAX_ITER,
        tol=1e-5,
        random_state=0,
        n_jobs=2,
    ).fit(X)

# The same OMP-5 coding with atoms drawn from the data (K-SVD's starting point).
rng = np.random.default_rng(0)
start = X[rng.choice(len(X), N_ATOMS, replace=False)]
start /= np.linalg.norm(start, axis=1, keepdims=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)
    code = sparse_encode(X, start, n_nonzero_coefs=K)
random_rms = np.sqrt(np.mean((X - code @ start) ** 2))
print(f"rms error, random digits as atoms: {random_rms:.4f}")
print(f"rms error after {ksvd.n_iter_} K-SVD iterations: {ksvd.error_[-1]:.4f}")

# %%
# The atoms (sign flipped so that each has a positive mean) and the error curve.
fig = plt.figure(figsize=(11, 5))
grid = fig.add_gridspec(8, 16)
for j, atom in enumerate(ksvd.components_):
    ax = fig.add_subplot(grid[j // 8, j % 8])
    ax.imshow((atom * np.sign(atom.sum() or 1.0)).reshape(8, 8), cmap="gray_r")
    ax.set_xticks([])
    ax.set_yticks([])
ax = fig.add_subplot(grid[1:7, 10:])
iterations = np.arange(1, ksvd.n_iter_ + 1)
ax.plot(iterations, ksvd.error_, "o-", label="K-SVD")
ax.axhline(random_rms, color="gray", ls="--", label="random digits as atoms")
ax.set_xlabel("iteration")
ax.set_ylabel("rms reconstruction error (OMP-5)")
ax.set_title(f"{N_ATOMS} atoms, {K}-sparse codes")
ax.legend()
fig.suptitle("K-SVD atoms learned on the digits")
plt.show()
