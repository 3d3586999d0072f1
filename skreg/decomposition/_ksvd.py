"""K-SVD dictionary learning with Batch-OMP coding."""

import time
import warnings

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state

from skreg.utils._sklearn_compat import (
    Integral,
    Interval,
    Real,
    _fit_context,
    check_is_fitted,
    validate_data,
)

from ..utils._validation import restore_state_on_error
from ._kernels import ksvd_update
from ._sparse_coder import (
    _FLOAT_DTYPES,
    _batch_omp,
    _encode,
    _resolve_n_nonzero_coefs,
)

__all__ = ["KSVD"]

#: Atoms whose |cosine| with an earlier atom exceeds this are duplicates.
_DUPLICATE_COS = 0.99
#: Atoms used by fewer signals than this fraction of the average use are
#: replaced too (unused ones always): on planted dictionaries they are the
#: leftovers of two true atoms merged into one learned atom.
_RARE_USE = 0.1


class KSVD(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """K-SVD dictionary learning: OMP-k codes and rank-1 atom updates.

    Learns a dictionary ``D`` (unit-norm atoms as rows) such that every
    signal is well approximated by at most ``k`` atoms::

        min_{D, C} ||X - C D||_F^2  subject to  ||C[i]||_0 <= k for every i,
                                               ||D[j]||_2 = 1 for every j

    by alternating (1) Batch-OMP coding of every signal (the kernel of
    :class:`SparseCoder`, in parallel) and (2) a sweep over the atoms that
    replaces each atom and its coefficients by the best rank-1 approximation
    (SVD) of the residual restricted to the signals that use it.  Atoms used
    by no signal (or by fewer than 10% of the average number of signals per
    atom), or nearly equal to an earlier atom (``|cos| > 0.99``), are
    replaced by the worst-represented signals, normalised.

    Parameters
    ----------
    n_components : int, default=None
        Number of atoms.  ``None`` means ``n_features``.

    transform_n_nonzero_coefs : int, default=None
        Number of atoms per signal ``k``, used both to learn the dictionary
        and in :meth:`transform`.  ``None`` means
        ``int(min(max(n_features / 10, 1), n_components))`` (scikit-learn's
        OMP default).

    max_iter : int, default=30
        Maximum number of K-SVD iterations (coding + dictionary sweep).

    tol : float, default=1e-4
        Stop when the relative change of the reconstruction error between
        two iterations is ``<= tol``.

    dict_init : array-like of shape (n_components, n_features), default=None
        Initial dictionary (rows are normalised).  ``None`` draws
        ``n_components`` distinct non-zero signals of ``X`` (normalised),
        completed by Gaussian atoms if ``X`` has too few.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial dictionary and the random atoms used when no
        signal is left to replace an atom with.  The fit is bit-identical for
        a given seed, whatever ``n_jobs``.

    verbose : int, default=0
        Print the error of every iteration when > 0.

    n_jobs : int, default=None
        Number of threads for OMP coding.  ``None`` means 1 unless in a
        :obj:`joblib.parallel_config` context; ``-1`` means all cores.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The learned dictionary, unit-norm rows, in the dtype of ``X``.

    error_ : ndarray of shape (`n_iter_`,)
        Root-mean-square reconstruction error
        ``||X - C D||_F / sqrt(n_samples * n_features)`` after each iteration
        (float64).

    n_iter_ : int
        Number of iterations run.

    n_components_ : int
        Number of atoms.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.decomposition.DictionaryLearning : l1-penalised dictionary
        learning (``transform_algorithm='omp'`` codes the same way).
    sklearn.decomposition.MiniBatchDictionaryLearning : Its online version.
    SparseCoder : OMP coding with a fixed dictionary.

    Notes
    -----
    One iteration costs one Batch-OMP pass
    (``O(n_components^2 n_features + n_samples n_components (n_features + k^2))``,
    parallel over signals) plus the atom sweep: the leading singular vector
    of a ``|omega_j| x n_features`` matrix per atom, by power iteration on
    the Gram matrix of its smaller side (forming it costs
    ``O(|omega_j| n_features min(|omega_j|, n_features))``, memory
    ``O(|omega_j| n_features)``; sequential over atoms as in the paper), so
    wide data (few signals, many features) stay cheap.  ``error_`` is measured after the
    sweep; it usually decreases but is not guaranteed to be monotone (OMP is
    greedy).  A :class:`~sklearn.exceptions.ConvergenceWarning` is raised
    when ``max_iter`` is reached before the ``tol`` criterion (with
    ``tol > 0``), as for scikit-learn's iterative estimators.

    References
    ----------
    M. Aharon, M. Elad and A. Bruckstein, "K-SVD: An Algorithm for Designing
    Overcomplete Dictionaries for Sparse Representation", IEEE Transactions
    on Signal Processing 54(11), 2006.

    R. Rubinstein, M. Zibulevsky and M. Elad, "Efficient Implementation of
    the K-SVD Algorithm using Batch Orthogonal Matching Pursuit", Technical
    Report CS-2008-08, Technion, 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from skreg.decomposition import KSVD
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 16))
    >>> ksvd = KSVD(n_components=24, transform_n_nonzero_coefs=3, max_iter=10,
    ...             tol=0, random_state=0).fit(X)
    >>> ksvd.components_.shape
    (24, 16)
    >>> codes = ksvd.transform(X)
    >>> int((codes != 0).sum(axis=1).max())
    3
    >>> bool(ksvd.error_[-1] < ksvd.error_[0])
    True
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "transform_n_nonzero_coefs": [Interval(Integral, 1, None, closed="left"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "dict_init": ["array-like", None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        n_components=None,
        *,
        transform_n_nonzero_coefs=None,
        max_iter=30,
        tol=1e-4,
        dict_init=None,
        random_state=None,
        verbose=0,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.max_iter = max_iter
        self.tol = tol
        self.dict_init = dict_init
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    def _initial_dictionary(self, X, n_components, rng):
        n_samples, n_features = X.shape
        if self.dict_init is not None:
            D = check_array(self.dict_init, dtype=_FLOAT_DTYPES, input_name="dict_init")
            if D.shape != (n_components, n_features):
                raise ValueError(
                    f"dict_init has shape {D.shape}; expected (n_components, "
                    f"n_features) = ({n_components}, {n_features})."
                )
            norms = np.linalg.norm(D.astype(np.float64), axis=1)
            if np.any(norms == 0):
                raise ValueError(
                    "dict_init has a zero atom (row "
                    f"{int(np.flatnonzero(norms == 0)[0])}); atoms must be non-zero."
                )
            return np.ascontiguousarray(D / norms[:, None], dtype=X.dtype)
        norms = np.linalg.norm(X.astype(np.float64), axis=1)
        nonzero = np.flatnonzero(norms > 0)
        take = min(n_components, nonzero.size)
        D = np.empty((n_components, n_features), dtype=np.float64)
        if take:
            chosen = rng.choice(nonzero, size=take, replace=False)
            D[:take] = X[chosen] / norms[chosen, None]
        if take < n_components:
            D[take:] = rng.standard_normal((n_components - take, n_features))
            D[take:] /= np.linalg.norm(D[take:], axis=1, keepdims=True)
        return np.ascontiguousarray(D, dtype=X.dtype)

    @staticmethod
    def _replace_atoms(D, X, R, n_used, rng):
        """Replace unused, rare and duplicate atoms by the worst-represented signals.

        Returns the number of atoms replaced.
        """
        rare = n_used < max(1.0, _RARE_USE * n_used.mean())
        replace = set(np.flatnonzero(rare).tolist())
        cos = np.abs(D @ D.T)
        dup = np.triu(cos > _DUPLICATE_COS, k=1).any(axis=0)
        replace.update(np.flatnonzero(dup).tolist())
        if not replace:
            return 0
        err = np.einsum("ij,ij->i", R, R, dtype=np.float64)
        order = np.argsort(-err, kind="stable")
        x_norms = np.linalg.norm(X.astype(np.float64), axis=1)
        candidates = iter(i for i in order if err[i] > 0 and x_norms[i] > 0)
        for j in sorted(replace):
            i = next(candidates, None)
            if i is None:  # every signal is represented exactly
                atom = rng.standard_normal(D.shape[1])
                D[j] = atom / np.linalg.norm(atom)
            else:
                D[j] = X[i] / x_norms[i]
        return len(replace)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the dictionary from the signals ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training signals, one per row.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted estimator.

        Notes
        -----
        If the fit raises or is interrupted (``KeyboardInterrupt``), the
        estimator is left exactly as it was before the call: still unfitted
        (``transform`` raises :class:`~sklearn.exceptions.NotFittedError`),
        or holding its previous fit.
        """
        with restore_state_on_error(self):
            return self._fit(X)

    def _fit(self, X):
        X = validate_data(self, X, dtype=_FLOAT_DTYPES, order="C")
        n_samples, n_features = X.shape
        n_components = n_features if self.n_components is None else self.n_components
        k = _resolve_n_nonzero_coefs(
            self.transform_n_nonzero_coefs,
            n_features,
            n_components,
            "transform_n_nonzero_coefs",
        )
        rng = check_random_state(self.random_state)
        D = self._initial_dictionary(X, n_components, rng)
        scale = np.sqrt(n_samples * n_features)

        errors = []
        converged = False
        start = time.perf_counter()
        for it in range(self.max_iter):
            code, _, _ = _batch_omp(X, D, k, None, self.n_jobs)
            R = X - code @ D
            n_used = ksvd_update(R, code, D)
            error = float(np.sqrt(np.einsum("ij,ij->", R, R, dtype=np.float64)))
            errors.append(error / scale)
            n_replaced = self._replace_atoms(D, X, R, n_used, rng)
            if self.verbose:
                print(
                    f"[KSVD] iteration {it + 1}: rms error {errors[-1]:.6g}, "
                    f"{n_replaced} atom(s) replaced, "
                    f"{time.perf_counter() - start:.2f} s"
                )
            if it > 0 and n_replaced == 0:
                previous = errors[-2]
                if abs(previous - errors[-1]) <= self.tol * previous:
                    converged = True
                    break
        if not converged and self.tol > 0:
            warnings.warn(
                f"KSVD did not converge in max_iter={self.max_iter} iterations "
                f"(relative error change > tol={self.tol}); increase max_iter.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.components_ = D
        self.error_ = np.asarray(errors, dtype=np.float64)
        self.n_iter_ = len(errors)
        self.n_components_ = n_components
        return self

    def transform(self, X):
        """OMP codes of ``X`` on the learned dictionary.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Signals to code.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            Codes with at most ``transform_n_nonzero_coefs`` non-zeros per
            row, in the dtype of ``X``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=_FLOAT_DTYPES)
        D = self.components_.astype(X.dtype, copy=False)
        return _encode(
            X,
            np.ascontiguousarray(D),
            self.transform_n_nonzero_coefs,
            None,
            self.n_jobs,
            name="transform_n_nonzero_coefs",
        )

    def inverse_transform(self, X):
        """Signals from codes: ``X @ components_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Reconstructed signals, in the dtype of the codes.
        """
        check_is_fitted(self)
        code = check_array(X, dtype=_FLOAT_DTYPES)
        if code.shape[1] != self.components_.shape[0]:
            raise ValueError(
                f"X has {code.shape[1]} columns, but the dictionary has "
                f"{self.components_.shape[0]} atoms; they must match."
            )
        return code @ self.components_.astype(code.dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        """Number of transformed output features."""
        return self.components_.shape[0]
