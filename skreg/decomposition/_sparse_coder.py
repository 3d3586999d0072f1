"""OMP sparse coding against a fixed dictionary: ``sparse_encode`` and ``SparseCoder``.

Both run the Batch-OMP kernels of ``_kernels.py``: the Gram matrix and the
correlations come from BLAS (once, and once per block of signals), every
signal is then coded in parallel without touching it again.
"""

import warnings
import weakref
from operator import attrgetter, is_

import numba
import numpy as np
from sklearn import get_config
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_array

from skreg.utils._blas import single_threaded_blas
from skreg.utils._numba import _n_threads, numba_threads
from skreg.utils._sklearn_compat import (
    Integral,
    Interval,
    Real,
    StrOptions,
    _fit_context,
    validate_data,
    validate_params,
)

from ..utils._numba import as_kernel_array
from ..utils._validation import restore_state_on_error
from ._kernels import batch_omp, batch_omp_serial, gram_matrix

__all__ = ["SparseCoder", "sparse_encode"]

#: scikit-learn's message (sklearn.linear_model._omp.premature, 1.9), verbatim.
PREMATURE = (
    "Orthogonal matching pursuit ended prematurely due to linear dependence in "
    "the dictionary. The requested precision might not have been met."
)

_FLOAT_DTYPES = (np.float64, np.float32)


def _validate_dictionary(dictionary, dtype):
    """The dictionary as a C-contiguous ``dtype`` array with no zero atom."""
    D = check_array(dictionary, dtype=_FLOAT_DTYPES, input_name="dictionary", order="C")
    D = np.ascontiguousarray(D, dtype=dtype)
    norms = np.einsum("ij,ij->i", D, D, dtype=np.float64)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise ValueError(
            f"The dictionary has {zero.size} zero atom(s) (all-zero rows, "
            f"first at row {zero[0]}); every atom must have a positive norm."
        )
    if not (np.isfinite(norms).all() and norms.max() <= np.finfo(dtype).max):
        raise ValueError(
            "The dictionary has an atom whose squared norm overflows "
            f"{np.dtype(dtype).name}; rescale the dictionary."
        )
    return D


_FLOATS = tuple(np.dtype(t) for t in _FLOAT_DTYPES)
#: Unsigned integers as wide as each float, to compare arrays bit for bit.
_BITS = {np.dtype(np.float64): np.uint64, np.dtype(np.float32): np.uint32}
#: Up to this many entries an element-wise finiteness test is the cheaper;
#: above it, a sum (whose allocation is one number) is tested first.
_SMALL_CHECK = 4096


def _plain_rows(estimator, X, n_features):
    """``X`` itself when ``validate_data(estimator, X, reset=False,
    dtype=_FLOAT_DTYPES)`` would return it unchanged and it has
    ``n_features`` columns (the dictionary's), else None.

    The checks ``validate_data`` makes of a plain float32/float64 array:
    two dimensions, at least one row, the fitted width if fitted, no
    feature names expected (an estimator fitted on a DataFrame warns on
    arrays), and every entry finite unless ``sklearn.set_config(
    assume_finite=True)``, tested as scikit-learn does (a sum first on
    large arrays).  Anything else (lists, DataFrames, sparse matrices,
    other dtypes, NaN) returns None and takes the full path, which
    converts, warns or raises exactly as before.  The same test as
    ``skreg.utils._validation.fitted_dense_rows``, except that a
    SparseCoder need not be fitted: its width is the dictionary's.
    """
    if type(X) is not np.ndarray or X.ndim != 2 or X.dtype not in _FLOATS:
        return None
    n, d = X.shape
    state = estimator.__dict__
    if n < 1 or d != n_features or state.get("n_features_in_", d) != d:
        return None
    if "feature_names_in_" in state:
        return None
    if not get_config()["assume_finite"]:
        if X.size <= _SMALL_CHECK:
            if not np.isfinite(X).all():
                return None
        else:
            with np.errstate(over="ignore"):
                total = X.sum()
            if not np.isfinite(total) and not np.isfinite(X).all():
                return None
    return X


def _same_bits(a, snapshot):
    """Whether ``a`` is a float ndarray holding exactly ``snapshot``'s bits.

    Bits, not values: ``-0.0`` and ``0.0`` are different dictionaries for
    the Gram matrix's rounding, so only an untouched array may reuse it.
    Costs one pass over the dictionary (3 us for 256 x 64 float64), far
    less than the Gram matrix it guards (``n_atoms^2 n_features``).
    """
    if type(a) is not np.ndarray or a.dtype != snapshot.dtype:
        return False
    if a.shape != snapshot.shape:
        return False
    bits = _BITS[a.dtype]
    return bool(np.array_equal(a.view(bits), snapshot.view(bits)))


class _Prepared:
    """What ``SparseCoder.transform`` derives from its parameters alone.

    ``params`` are the parameter objects that passed validation (compared
    by identity: a ``set_params`` or an assignment makes new ones),
    ``snapshot`` a private copy of the dictionary's contents (in-place
    edits of the array are seen by :func:`_same_bits`), and ``coders``
    maps each float dtype the dictionary was validated in to its
    ``(D^T, D D^T)``.
    """

    __slots__ = ("params", "snapshot", "n_features", "coders")

    def __init__(self, params, snapshot, coders):
        self.params = params
        self.snapshot = snapshot
        self.n_features = snapshot.shape[1]
        self.coders = coders


#: estimator -> _Prepared.  Kept outside the instance, so that transform
#: leaves ``__dict__`` unchanged (scikit-learn's check_dict_unchanged),
#: and clones, copies, pickles and ``get_params`` never carry it; an entry
#: goes with its estimator (weak keys).
_PREPARED = weakref.WeakKeyDictionary()

#: estimator class -> getter of all its constructor parameters, in order.
_PARAM_GETTERS = weakref.WeakKeyDictionary()


def _param_values(estimator):
    cls = type(estimator)
    getter = _PARAM_GETTERS.get(cls)
    if getter is None:
        names = cls._get_param_names()
        getter = _PARAM_GETTERS[cls] = (
            attrgetter(*names) if len(names) > 1 else lambda e: (getattr(e, names[0]),)
        )
    return getter(estimator)


def _check_n_features(X, D):
    if X.shape[1] != D.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features, but the dictionary atoms have "
            f"{D.shape[1]} (dictionary.shape={D.shape}); they must match."
        )


def _resolve_n_nonzero_coefs(n_nonzero_coefs, n_features, n_atoms, name):
    """scikit-learn's default and bounds for the number of atoms per signal."""
    if n_nonzero_coefs is None:
        # sklearn.decomposition._dict_learning._sparse_encode
        return int(min(max(n_features / 10, 1), n_atoms))
    if n_nonzero_coefs > n_atoms:
        raise ValueError(
            f"{name}={n_nonzero_coefs} exceeds the number of atoms in the "
            f"dictionary ({n_atoms}); it must be in [1, {n_atoms}]."
        )
    return int(n_nonzero_coefs)


#: Signals per parallel block (one BLAS call and one workspace per block).
_BLOCK = 128


#: dtype -> (sign-clearing mask in the signed integer type as wide as the
#: float, machine epsilon), the kernels' per-dtype constants.  The masks are
#: writable arrays (a read-only one would compile other kernel variants)
#: that the kernels only read.
_MASK_EPS = {
    np.dtype(f): (np.array([np.iinfo(i).max], dtype=i), float(np.finfo(f).eps))
    for f, i in ((np.float64, np.int64), (np.float32, np.int32))
}


def _prepare_dictionary(D, dtype, n_jobs):
    """``(D^T, D D^T)`` of a validated dictionary in ``dtype``, as the kernels
    take them.

    ``D^T`` is always a copy (``np.array``, not ``ascontiguousarray``, which
    returns ``D`` itself when it has one row or one column), so a cached pair
    never aliases the user's dictionary.  The Gram matrix is bit-identical
    for any ``n_jobs`` (fixed row blocks, see ``gram_matrix``).
    """
    D = as_kernel_array(D, dtype)
    DT = np.array(D.T, order="C")
    with single_threaded_blas(), numba_threads(n_jobs), numba.parallel_chunksize(1):
        gram = gram_matrix(D, DT, 64)
    return DT, gram


def _batch_omp(X, D, n_nonzero_coefs, tol, n_jobs, prepared=None):
    """Batch-OMP codes of the rows of validated ``X`` on validated ``D``.

    Returns ``(code, n_active, status)``; see ``_kernels`` for ``status``.
    ``tol`` (if not None) overrides ``n_nonzero_coefs``, as in scikit-learn.
    ``prepared`` is ``_prepare_dictionary(D, ...)`` if the caller has it.
    """
    dtype = X.dtype
    n_atoms, n_features = D.shape
    # writable C-contiguous arrays: a read-only (memmapped) X or dictionary
    # would compile a second variant of every kernel
    X = as_kernel_array(X, dtype)
    if prepared is None:
        prepared = _prepare_dictionary(D, dtype, n_jobs)
    DT, gram = prepared
    if tol is None:
        k_max, use_tol, tol = n_nonzero_coefs, False, 0.0
    else:
        # at most rank(D) <= min(n_atoms, n_features) atoms can be independent
        k_max, use_tol = max(1, min(n_atoms, n_features)), True
    mask, eps = _MASK_EPS[dtype]
    args = (X, DT, gram, int(k_max), float(tol), use_tol, eps, mask, _BLOCK)
    # BLAS runs single-threaded inside numba's threads: no oversubscription,
    # and no BLAS worker threads left spinning while the OMP steps run.
    with single_threaded_blas():
        if X.shape[0] <= _BLOCK or _n_threads(n_jobs) == 1:
            # one block, or one thread: the same blocks on this thread (the
            # same codes), without starting a parallel region
            return batch_omp_serial(*args)
        with numba_threads(n_jobs):
            # blocks are handed out one at a time, so a thread slowed down by
            # other work on the machine does not hold up the others
            with numba.parallel_chunksize(1):
                return batch_omp(*args)


def _warn_premature(status, stacklevel=3):
    """Turn the kernel's per-signal status codes into errors and warnings.

    Statuses 3 and 4 (see ``_kernels``) raise a ``ValueError`` naming the
    cause: the codes are meaningless, and neither is a dependence of the
    atoms.  Statuses 1 and 2 give scikit-learn's "ended prematurely"
    warning, verbatim, as scikit-learn does in the same situations.
    """
    non_finite = np.flatnonzero(status == 4)
    if non_finite.size:
        raise ValueError(
            f"Non-finite values (inf or NaN) appeared while coding "
            f"{non_finite.size} signal(s) (first: row {non_finite[0]}): the "
            "signal itself, or its correlations with atoms whose norms are "
            "near the overflow limit of the float dtype; rescale the "
            "dictionary."
        )
    overflow = np.flatnonzero(status == 3)
    if overflow.size:
        raise ValueError(
            f"The codes of {overflow.size} signal(s) (first: row {overflow[0]}) "
            "overflow the working float dtype; rescale X or the dictionary "
            "(or pass float64 data)."
        )
    if status.any():
        warnings.warn(PREMATURE, RuntimeWarning, stacklevel=stacklevel)


def _encode(
    X,
    D,
    n_nonzero_coefs,
    tol,
    n_jobs,
    name="n_nonzero_coefs",
    prepared=None,
    stacklevel=4,
):
    k = _resolve_n_nonzero_coefs(n_nonzero_coefs, X.shape[1], D.shape[0], name)
    code, _, status = _batch_omp(X, D, k, tol, n_jobs, prepared)
    if status.any():  # one test on the usual path: every status 0
        _warn_premature(status, stacklevel=stacklevel)
    return code


@validate_params(
    {
        "X": ["array-like"],
        "dictionary": ["array-like"],
        "n_nonzero_coefs": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_jobs": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def sparse_encode(X, dictionary, *, n_nonzero_coefs=None, tol=None, n_jobs=None):
    """Sparse coding by orthogonal matching pursuit (Batch-OMP).

    Each row of the result is the OMP solution of one sparse coding problem::

        code[i] = argmin ||X[i] - code[i] @ dictionary||^2
                  subject to ||code[i]||_0 <= n_nonzero_coefs

    or, when ``tol`` is given, the greedy path stopped as soon as the squared
    residual norm is ``<= tol``.  Same codes as
    ``sklearn.decomposition.sparse_encode(X, dictionary, algorithm='omp')``
    up to floating point, much faster.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Signals to code, one per row.

    dictionary : array-like of shape (n_components, n_features)
        The atoms, one per row.  As in scikit-learn, atoms are assumed to have
        unit norm for the greedy selection to be meaningful but are *not*
        normalised: atom ``j`` is picked by ``|<residual, d_j>|``.  Zero and
        non-finite atoms are rejected.

    n_nonzero_coefs : int, default=None
        Number of atoms per signal, in ``[1, n_components]``.  ``None`` means
        ``int(min(max(n_features / 10, 1), n_components))`` (scikit-learn's
        default).  Ignored when ``tol`` is given.

    tol : float, default=None
        Squared residual norm to reach; overrides ``n_nonzero_coefs``.

    n_jobs : int, default=None
        Number of threads.  ``None`` means 1 unless in a
        :obj:`joblib.parallel_config` context; ``-1`` means all cores.
        Codes are bit-identical for any ``n_jobs``.

    Returns
    -------
    code : ndarray of shape (n_samples, n_components)
        The sparse codes, in the dtype of ``X`` (float32 stays float32).

    Warns
    -----
    RuntimeWarning
        scikit-learn's "ended prematurely" warning, when some signal stopped
        before reaching its target: the residual became orthogonal to every
        atom (a zero signal, ``n_nonzero_coefs >= rank``) or the best atom is
        linearly dependent on the chosen ones.  Those codes hold the last
        well-posed least-squares fit, never NaN.

    Raises
    ------
    ValueError
        When a code overflows the float dtype of ``X`` (float32), or when
        non-finite values appear while coding (atoms whose norms are near
        the overflow limit); the message names which.

    See Also
    --------
    SparseCoder : The same as a transformer.
    sklearn.decomposition.sparse_encode : scikit-learn's version
        (``algorithm='omp'``).
    sklearn.linear_model.orthogonal_mp_gram : OMP from a precomputed Gram.

    Notes
    -----
    Batch-OMP (Rubinstein et al., 2008): ``G = D D^T`` and ``X D^T`` are
    computed once with BLAS; each signal then grows a Cholesky factor of its
    chosen atoms' Gram by one row per step, and its residual energy is
    tracked in closed form (``||x||^2 - ||L^{-1} (D x)_I||^2``).  Cost:
    ``O(n_components^2 n_features + n_samples n_components (n_features + k^2))``.

    Unlike ``orthogonal_mp_gram``, when ``||x||^2 <= tol`` already the code is
    zero (scikit-learn always selects one atom first).

    The codes are scale-invariant: each signal is coded divided by a power
    of two near its max-abs (exact in floating point), against ``tol``
    divided by its square, and the coefficients are multiplied back.  So
    ``sparse_encode(c * X) == c * sparse_encode(X)`` up to the rounding of
    ``c * X``, even where ``||c x||^2`` overflows or underflows float64
    (``c = 1e300`` or ``1e-300``).

    References
    ----------
    R. Rubinstein, M. Zibulevsky and M. Elad, "Efficient Implementation of
    the K-SVD Algorithm using Batch Orthogonal Matching Pursuit", Technical
    Report CS-2008-08, Technion, 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from skreg.decomposition import sparse_encode
    >>> B = np.array([[3, -1, 2, -5, 4, 1], [4, 2, -3, -1, 1, 3],
    ...               [-1, 5, 4, 2, -3, -2], [3, 1, 2, -3, 0, -3],
    ...               [-5, 4, -2, 2, -5, -1]], dtype=float)
    >>> y = np.array([[-14, 1, 19, 2, 23]], dtype=float)
    >>> sparse_encode(y, B.T, n_nonzero_coefs=2).round(6) + 0.0
    array([[ 0.,  2.,  0.,  0., -3.,  0.]])
    """
    X = check_array(X, dtype=_FLOAT_DTYPES, input_name="X")
    D = _validate_dictionary(dictionary, X.dtype)
    _check_n_features(X, D)
    return _encode(X, D, n_nonzero_coefs, tol, n_jobs)


class SparseCoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Sparse coding against a fixed dictionary, with a fast Batch-OMP.

    A drop-in for ``sklearn.decomposition.SparseCoder`` (same parameters and
    attributes).  With ``transform_algorithm='omp'`` (the default) the codes
    come from skreg's parallel numba Batch-OMP: the same codes as
    scikit-learn's up to floating point, tens of times faster.  The other
    algorithms (``'lasso_lars'``, ``'lasso_cd'``, ``'lars'``,
    ``'threshold'``) are delegated unchanged to
    :func:`sklearn.decomposition.sparse_encode`.

    Parameters
    ----------
    dictionary : array-like of shape (n_components, n_features)
        The atoms, one per row, stored unchanged.  Atoms are assumed to have
        unit norm (as in scikit-learn) but are not normalised; zero or
        non-finite atoms raise a ``ValueError``.

    transform_algorithm : {'omp', 'lasso_lars', 'lasso_cd', 'lars', \
            'threshold'}, default='omp'
        ``'omp'`` runs skreg's Batch-OMP; the others call scikit-learn.

    transform_n_nonzero_coefs : int, default=None
        Number of atoms per signal for ``'omp'`` (and ``'lars'``), in
        ``[1, n_components]``.  ``None`` means
        ``int(min(max(n_features / 10, 1), n_components))``, scikit-learn's
        default.  Overridden by ``transform_alpha`` for ``'omp'``.

    transform_alpha : float, default=None
        For ``'omp'``: the squared residual norm to reach, overriding
        ``transform_n_nonzero_coefs``.  This is what scikit-learn documents;
        note that scikit-learn 1.9's ``SparseCoder`` actually ignores it for
        OMP (it passes ``tol=None``), whereas skreg implements it, matching
        ``sklearn.linear_model.orthogonal_mp_gram(..., tol=transform_alpha)``.
        For the other algorithms: as in scikit-learn.

    split_sign : bool, default=False
        Split each code into its positive part and the negated negative part
        (``2 * n_components`` outputs), which can help linear classifiers.

    n_jobs : int, default=None
        Number of threads for ``'omp'`` (joblib workers for the others).
        ``None`` means 1 unless in a :obj:`joblib.parallel_config` context;
        ``-1`` means all cores.  Codes are bit-identical for any ``n_jobs``.

    positive_code : bool, default=False
        Enforce non-negative codes.  Not supported with ``'omp'`` (a
        ``ValueError`` names the alternatives).

    transform_max_iter : int, default=1000
        Maximum iterations for ``'lasso_cd'`` and ``'lasso_lars'``.

    Attributes
    ----------
    n_components_ : int
        Number of atoms.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.decomposition.SparseCoder : scikit-learn's version.
    sparse_encode : The same coding as a function.
    KSVD : Learn a dictionary for OMP coding.

    Notes
    -----
    Like scikit-learn's, the coder is stateless: ``fit`` only validates, and
    ``transform`` works without it.  With ``'omp'`` a signal that cannot
    reach its target (residual orthogonal to every atom, linearly dependent
    atoms) stops early with scikit-learn's ``RuntimeWarning`` and keeps its
    last well-posed least-squares code; no code is ever NaN.  A signal whose
    squared norm is already ``<= transform_alpha`` gets a zero code
    (scikit-learn always picks one atom first).

    Cost of ``transform`` with ``'omp'``: one Gram matrix
    (``n_components^2 n_features``, kept for the next calls while the
    parameters and the dictionary's contents are unchanged; see
    :meth:`transform`), one ``X D^T`` product, then per signal and per step
    ``n_components * step`` multiply-adds; see :func:`sparse_encode`.
    Requests of up to 128 signals (or with one thread) run on the calling
    thread, with the same codes.

    References
    ----------
    R. Rubinstein, M. Zibulevsky and M. Elad, "Efficient Implementation of
    the K-SVD Algorithm using Batch Orthogonal Matching Pursuit", Technical
    Report CS-2008-08, Technion, 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from skreg.decomposition import SparseCoder
    >>> B = np.array([[3, -1, 2, -5, 4, 1], [4, 2, -3, -1, 1, 3],
    ...               [-1, 5, 4, 2, -3, -2], [3, 1, 2, -3, 0, -3],
    ...               [-5, 4, -2, 2, -5, -1]], dtype=float)
    >>> coder = SparseCoder(dictionary=B.T, transform_n_nonzero_coefs=2)
    >>> coder.fit_transform([[-14, 1, 19, 2, 23]]).round(6) + 0.0
    array([[ 0.,  2.,  0.,  0., -3.,  0.]])
    """

    _parameter_constraints: dict = {
        "dictionary": ["array-like"],
        "transform_algorithm": [
            StrOptions({"lasso_lars", "lasso_cd", "lars", "omp", "threshold"})
        ],
        "transform_n_nonzero_coefs": [Interval(Integral, 1, None, closed="left"), None],
        "transform_alpha": [Interval(Real, 0, None, closed="left"), None],
        "split_sign": ["boolean"],
        "n_jobs": [Integral, None],
        "positive_code": ["boolean"],
        "transform_max_iter": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        dictionary,
        *,
        transform_algorithm="omp",
        transform_n_nonzero_coefs=None,
        transform_alpha=None,
        split_sign=False,
        n_jobs=None,
        positive_code=False,
        transform_max_iter=1000,
    ):
        self.dictionary = dictionary
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.split_sign = split_sign
        self.n_jobs = n_jobs
        self.positive_code = positive_code
        self.transform_max_iter = transform_max_iter

    def _checked_dictionary(self, dtype):
        D = _validate_dictionary(self.dictionary, dtype)
        if self.transform_algorithm == "omp":
            if self.positive_code:
                raise ValueError(
                    "positive_code=True is not supported with "
                    "transform_algorithm='omp' (OMP has no positivity "
                    "constraint); use 'lasso_lars', 'lasso_cd' or 'threshold'."
                )
            _resolve_n_nonzero_coefs(
                self.transform_n_nonzero_coefs,
                D.shape[1],
                D.shape[0],
                "transform_n_nonzero_coefs",
            )
        return D

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Only validate the parameters, the dictionary and ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, only used for input validation.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The instance itself.
        """
        with restore_state_on_error(self):
            X = validate_data(self, X, dtype=_FLOAT_DTYPES)
            D = self._checked_dictionary(X.dtype)
            _check_n_features(X, D)
            self.n_components_ = D.shape[0]
        return self

    def _prepared(self):
        """The cached state of the current parameters, or None.

        None unless every parameter is the very object that last passed
        :meth:`transform`'s full validation and the dictionary still holds
        the same bits.
        """
        try:
            prep = _PREPARED.get(self)
        except TypeError:  # a subclass that is not hashable: no cache
            return None
        if prep is None or not all(map(is_, _param_values(self), prep.params)):
            return None
        if not _same_bits(self.dictionary, prep.snapshot):
            return None
        return prep

    def _coder(self, D, dtype):
        """``(D^T, D D^T)`` of the validated dictionary ``D`` in ``dtype``,
        remembered for later calls when the dictionary is a float ndarray.

        Called only once the parameters, ``X`` and the dictionary have
        passed validation for ``dtype``, so a remembered entry vouches for
        exactly what was checked.
        """
        dictionary = self.dictionary
        cacheable = type(dictionary) is np.ndarray and dictionary.dtype in _FLOATS
        if not cacheable:
            return _prepare_dictionary(D, dtype, self.n_jobs)
        prep = self._prepared()
        if prep is None:
            try:
                old = _PREPARED.get(self)
            except TypeError:
                return _prepare_dictionary(D, dtype, self.n_jobs)
            snapshot = np.array(dictionary, copy=True)
            # only other parameters changed: the Gram matrices still hold
            coders = {}
            if old is not None and _same_bits(snapshot, old.snapshot):
                coders = old.coders
            prep = _Prepared(_param_values(self), snapshot, coders)
            _PREPARED[self] = prep
        coder = prep.coders.get(dtype)
        if coder is None:
            coder = _prepare_dictionary(D, dtype, self.n_jobs)
            prep.coders[dtype] = coder
        return coder

    def transform(self, X, y=None):
        """Encode the data as a sparse combination of the dictionary atoms.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Signals to code, one per row.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components) or \
                (n_samples, 2 * n_components) if ``split_sign``
            The codes, in the dtype of ``X``.

        Notes
        -----
        With ``'omp'`` the validated dictionary and its Gram matrix are
        kept between calls, outside the instance, while the parameters are
        the same objects and the dictionary array holds the same bits
        (one comparison per call).  A request that is then a plain
        float32/float64 array of the right width skips scikit-learn's
        validation (a few microseconds instead of about a hundred); any
        other input takes the full path, with the same results, warnings
        and errors.
        """
        prep = self._prepared() if self.transform_algorithm == "omp" else None
        if prep is not None:
            rows = _plain_rows(self, X, prep.n_features)
            coder = None if rows is None else prep.coders.get(rows.dtype)
            if coder is not None:
                return self._split(self._omp(rows, coder))
        # Stateless, like scikit-learn's SparseCoder (requires_fit=False):
        # transform validates everything itself instead of check_is_fitted.
        self._validate_params()
        X = validate_data(self, X, reset=False, dtype=_FLOAT_DTYPES)
        D = self._checked_dictionary(X.dtype)
        _check_n_features(X, D)
        if self.transform_algorithm == "omp":
            return self._split(self._omp(X, self._coder(D, X.dtype)))
        else:
            from sklearn.decomposition import sparse_encode as sk_sparse_encode

            code = sk_sparse_encode(
                X,
                D,
                algorithm=self.transform_algorithm,
                n_nonzero_coefs=self.transform_n_nonzero_coefs,
                alpha=self.transform_alpha,
                max_iter=self.transform_max_iter,
                n_jobs=self.n_jobs,
                positive=self.positive_code,
            ).astype(X.dtype, copy=False)
        return self._split(code)

    def _omp(self, X, coder):
        """OMP codes of validated ``X`` with the prepared ``(D^T, D D^T)``."""
        DT, gram = coder
        return _encode(
            X,
            DT.T,
            self.transform_n_nonzero_coefs,
            self.transform_alpha,
            self.n_jobs,
            name="transform_n_nonzero_coefs",
            prepared=coder,
            stacklevel=5,  # the caller of transform's set_output wrapper, as before
        )

    def _split(self, code):
        if not self.split_sign:
            return code
        n_samples, n_atoms = code.shape
        split = np.empty((n_samples, 2 * n_atoms), dtype=code.dtype)
        split[:, :n_atoms] = np.maximum(code, 0)
        split[:, n_atoms:] = -np.minimum(code, 0)
        return split

    def inverse_transform(self, X):
        """Transform codes back to the signal space: ``X @ dictionary``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components) or \
                (n_samples, 2 * n_components) if ``split_sign``
            Codes.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Reconstructed signals, in the dtype of the codes.
        """
        code = check_array(X, dtype=_FLOAT_DTYPES)
        D = _validate_dictionary(self.dictionary, code.dtype)
        expected = D.shape[0] * (2 if self.split_sign else 1)
        if code.shape[1] != expected:
            raise ValueError(
                "The number of components in the code is different from the "
                f"number of components in the dictionary. Expected {expected}, "
                f"got {code.shape[1]}."
            )
        if self.split_sign:
            code = code[:, : D.shape[0]] - code[:, D.shape[0] :]
        return code @ D

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        """Number of transformed output features."""
        return self.n_components_ * (2 if self.split_sign else 1)
