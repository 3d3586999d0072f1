"""Tour rows for sparse coding (Batch-OMP) and K-SVD."""

import warnings

import numpy as np

from skreg._tour import TourRow, timed

N_ATOMS_CODER = 256
N_ATOMS_KSVD = 64
K = 5


def _relative_error(X, code, D):
    """||X - code D||_F^2 / ||X||_F^2 (lower is better)."""
    return float(np.sum((X - code @ D) ** 2) / np.sum(X**2))


def sparse_coder_row(data):
    """OMP-5 codes of the digits on 256 training digits (unit norm) as atoms.

    Score: accuracy of a logistic regression trained on the (split-sign)
    codes; the codes are the same as scikit-learn's, so is the accuracy.
    Time: ``transform`` of the train and test sets.
    """
    from sklearn.decomposition import SparseCoder as SkSparseCoder
    from sklearn.linear_model import LogisticRegression

    from skreg.decomposition import SparseCoder

    rng = np.random.default_rng(data.random_state)
    atoms = data.X_train[rng.choice(len(data.X_train), N_ATOMS_CODER, replace=False)]
    D = atoms / np.linalg.norm(atoms, axis=1, keepdims=True)

    def run(cls):
        coder = cls(D, transform_n_nonzero_coefs=K, split_sign=True)
        with warnings.catch_warnings():
            # some digits equal a training atom: OMP stops early, by design
            warnings.simplefilter("ignore", RuntimeWarning)
            coder.transform(data.X_test[:2])  # JIT warm-up / cache load, not timed
            (train, test), seconds = timed(
                lambda: (coder.transform(data.X_train), coder.transform(data.X_test))
            )
        clf = LogisticRegression(max_iter=2000).fit(train, data.y_train)
        return clf.score(test, data.y_test), seconds

    ours, ours_s = run(SparseCoder)
    theirs, theirs_s = run(SkSparseCoder)
    return TourRow(
        "SparseCoder",
        "OMP-5 sparse codes (Batch-OMP)",
        "SparseCoder(omp)",
        "LogReg acc. on codes",
        ours,
        theirs,
        ours_s,
        theirs_s,
    )


def ksvd_row(data):
    """64-atom dictionaries for OMP-5 codes of the digits, learned on train.

    Score: relative squared reconstruction error of the OMP-5 codes of the
    test digits (lower is better).  Baseline: MiniBatchDictionaryLearning
    with the same number of atoms and OMP-5 transform.
    """
    from sklearn.decomposition import MiniBatchDictionaryLearning

    from skreg.decomposition import KSVD

    ksvd = KSVD(N_ATOMS_KSVD, transform_n_nonzero_coefs=K, max_iter=10, random_state=0)
    baseline = MiniBatchDictionaryLearning(
        N_ATOMS_KSVD,
        transform_algorithm="omp",
        transform_n_nonzero_coefs=K,
        max_iter=3,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at the small budgets
        _, ours_s = timed(ksvd.fit, data.X_train)
        _, theirs_s = timed(baseline.fit, data.X_train)
        ours = _relative_error(
            data.X_test, ksvd.transform(data.X_test), ksvd.components_
        )
        theirs = _relative_error(
            data.X_test, baseline.transform(data.X_test), baseline.components_
        )
    return TourRow(
        "KSVD",
        "K-SVD dictionary, OMP-5 codes",
        "MiniBatchDictionaryLearning",
        "rel. recon. error (lower)",
        ours,
        theirs,
        ours_s,
        theirs_s,
    )


TOUR_ROWS = [sparse_coder_row, ksvd_row]
