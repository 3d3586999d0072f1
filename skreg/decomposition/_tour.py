"""Tour rows for sparse coding (Batch-OMP) and K-SVD."""

import warnings

import numpy as np

from skreg._tour import TourRow, compare

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
    Timed: ``transform`` of the train and test sets.
    """
    from sklearn.decomposition import SparseCoder as SkSparseCoder
    from sklearn.linear_model import LogisticRegression

    from skreg.decomposition import SparseCoder

    rng = np.random.default_rng(data.random_state)
    atoms = data.X_train[rng.choice(len(data.X_train), N_ATOMS_CODER, replace=False)]
    D = atoms / np.linalg.norm(atoms, axis=1, keepdims=True)

    def step(cls):
        coder = cls(D, transform_n_nonzero_coefs=K, split_sign=True)
        return lambda: (coder.transform(data.X_train), coder.transform(data.X_test))

    def warm(cls):
        coder = cls(D, transform_n_nonzero_coefs=K, split_sign=True)
        return lambda: coder.transform(data.X_test[:20])

    with warnings.catch_warnings():
        # some digits equal a training atom: OMP stops early, by design
        warnings.simplefilter("ignore", RuntimeWarning)
        ours, theirs, timing = compare(
            step(SparseCoder), step(SkSparseCoder),
            warm(SparseCoder), warm(SkSparseCoder),
        )  # fmt: skip

    def score(codes):
        train, test = codes
        clf = LogisticRegression(max_iter=2000).fit(train, data.y_train)
        return float(clf.score(test, data.y_test))

    return TourRow(
        "SparseCoder", "code acc", score(ours), "SparseCoder", score(theirs),
        "transform", timing,
        f"Batch-OMP, {K} nonzero coefficients on {N_ATOMS_CODER} training "
        "digits as atoms, vs scikit-learn's SparseCoder(transform_algorithm="
        "'omp'); timed: encoding the train and test digits. Score: accuracy of "
        "a LogisticRegression on the split-sign codes. The codes are "
        "scikit-learn's, hence the same score: the row is about speed.",
    )  # fmt: skip


def ksvd_row(data):
    """64-atom dictionaries for OMP-5 codes of the digits, learned on train.

    Score: relative squared reconstruction error of the OMP-5 codes of the
    test digits (lower is better).  Baseline: MiniBatchDictionaryLearning
    with the same number of atoms and OMP-5 transform.
    """
    from sklearn.decomposition import MiniBatchDictionaryLearning

    from skreg.decomposition import KSVD

    def ours(max_iter=10, n=None):
        model = KSVD(
            N_ATOMS_KSVD, transform_n_nonzero_coefs=K, max_iter=max_iter,
            random_state=0,
        )  # fmt: skip
        return lambda: model.fit(data.X_train[:n])

    def theirs(max_iter=3, n=None):
        model = MiniBatchDictionaryLearning(
            N_ATOMS_KSVD, transform_algorithm="omp", transform_n_nonzero_coefs=K,
            max_iter=max_iter, random_state=0,
        )  # fmt: skip
        return lambda: model.fit(data.X_train[:n])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at the small budgets
        a, b, timing = compare(ours(), theirs(), ours(1, 200), theirs(1, 200))
        err = [
            _relative_error(data.X_test, m.transform(data.X_test), m.components_)
            for m in (a, b)
        ]
    return TourRow(
        "KSVD", "rec. err", err[0], "MiniBatchDL", err[1], "fit", timing,
        f"K-SVD, {N_ATOMS_KSVD} atoms learned from the training digits in 10 "
        "iterations, vs MiniBatchDictionaryLearning (3 passes) with the same "
        f"atoms; score: relative squared error of the test digits' OMP-{K} "
        "reconstruction (lower is better).",
        lower_is_better=True,
    )  # fmt: skip


TOUR_ROWS = [sparse_coder_row, ksvd_row]
