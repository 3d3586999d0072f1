"""Python side of the engine: layout, configuration, buffers, and the
:class:`Engine` that binds them to one training mode's kernels.

A thin estimator never calls a kernel; it returns an :class:`EngineConfig`
from ``_engine_config()`` and the base class does the rest through
:class:`Engine`, :func:`predict_proba` and :func:`input_gradient`.
"""

from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

from ...utils._numba import as_kernel_array, will_compile
from . import _adversarial, _fast_dropout, _inference, _plain, _tangent
from ._inference import PREDICT_CHUNK
from ._records import (
    TARGET_OUTPUTS,
    AdversarialBuffers,
    Buffers,
    Csr,
    Data,
    FastBuffers,
    State,
    TangentBuffers,
    adversarial_options,
    build_options,
    net_record,
    tangent_options,
)

#: Training modes that compute in the dense input space (an input gradient,
#: perturbed or tangent rows), and why they cannot take sparse input.
DENSE_ONLY_MODES = {
    "adversarial": (
        "adversarial training: its perturbed inputs x + eta change every "
        "feature, so they live in the dense input space"
    ),
    "tangent": (
        "tangent propagation: its tangent vectors are directions in the dense "
        "input space"
    ),
}


def kernel_rows(X, dtype):
    """``(X, csr)`` of :class:`~._records.Data` (and the kernels' ``csr``).

    A dense ``X`` as a kernel array and ``None``; a scipy sparse ``X`` (CSC
    is converted) as a dense placeholder without rows and its canonical CSR
    arrays (sorted indices, duplicates summed; int32 indices, int64
    ``indptr``), one type for every sparse input so one variant serves.
    """
    if not sp.issparse(X):
        return as_kernel_array(X, dtype), None
    if X.shape[1] > np.iinfo(np.int32).max:
        raise ValueError(
            f"X has {X.shape[1]} features; sparse input supports at most "
            f"{np.iinfo(np.int32).max} (int32 column indices)."
        )
    X = X.tocsr()
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    csr = Csr(
        as_kernel_array(X.data, dtype),
        as_kernel_array(X.indices, np.int32),
        as_kernel_array(X.indptr, np.int64),
    )
    return np.empty((0, X.shape[1]), dtype=dtype), csr


def _labels_and_targets(y, dtype):
    """``(Y, T)`` of :class:`~._records.Data` for class indices (1-D) or
    target rows (2-D): the unused one is a placeholder of the same type
    (all-zero labels, or a target matrix without rows)."""
    y = np.asarray(y)
    if y.ndim == 2:
        return np.zeros(y.shape[0], dtype=np.int64), as_kernel_array(y, dtype)
    return as_kernel_array(y, np.int64), np.empty((0, 1), dtype=dtype)


@dataclass
class EngineConfig:
    """Every option of the engine; defaults switch every regularizer off.

    A thin estimator builds one of these in ``_engine_config()``.  Adding a
    regularizer means a field here, a field in a record of ``_records.py``
    and a branch in a pass (or, if it restructures the passes, a training
    mode of its own); never a second training loop.
    """

    activation: str = "relu"
    solver: str = "adam"
    alpha: float = 0.0
    momentum: float = 0.9
    nesterovs_momentum: bool = True
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    activation_penalty: str | None = None
    activation_penalty_alpha: float = 0.0
    student_t_gamma: float = 1.0
    sparsity_target: float = 0.05
    tie_ref: np.ndarray | None = None  # flat reference vector (Layout order)
    tie_alpha: float = 0.0
    max_norm: float | None = None
    dropout: str | None = None  # None, 'bernoulli', 'fast'
    keep_input: float = 1.0
    keep_hidden: float = 1.0
    adversarial: str | None = None  # None, 'fgsm', 'pgd', 'vat'
    adversarial_epsilon: float = 0.0
    adversarial_weight: float = 0.5
    adversarial_clip: tuple | None = None
    pgd_steps: int = 1
    pgd_step_size: float = 0.0
    pgd_random_start: bool = False
    vat_xi: float = 1e-6
    vat_power_iterations: int = 1
    virtual_labels: bool = False
    # tangent propagation: on when the estimator hands per-sample tangents
    tangent_alpha: float = 0.0
    tangent_output: str = "proba"  # 'proba' or 'logits'
    tangent_sampling: str = "exact"  # 'exact' or 'rademacher'

    @property
    def stochastic_regularizer(self):
        return self.dropout is not None

    def mode(self, tangents=False):
        """The training mode these options need: 'plain', 'fast',
        'tangent' or 'adversarial'.

        Raises ``ValueError`` for a combination no mode implements, rather
        than letting one option silently win.
        """
        wanted = []
        if self.adversarial is not None:
            wanted.append(f"adversarial training ({self.adversarial!r})")
        if tangents:
            wanted.append("tangent propagation")
        if self.dropout == "fast":
            wanted.append("fast dropout")
        if len(wanted) > 1:
            raise ValueError(
                f"{' and '.join(wanted)} cannot be combined: each restructures "
                "the training passes in its own way. Use Bernoulli dropout "
                "(dropout_method='bernoulli') with the others, or one of them."
            )
        if self.dropout == "fast" and self.activation_penalty is not None:
            raise ValueError(
                "activation_penalty is not available with fast dropout (the "
                "penalty would need the activation distribution); use Bernoulli "
                "dropout."
            )
        if self.adversarial is not None:
            return "adversarial"
        if tangents:
            return "tangent"
        if self.dropout == "fast":
            return "fast"
        return "plain"


def _buffers(layout, bs, dtype, dropout=None, need_pre=False, need_delta=True,
             sparse=False):  # fmt: skip
    """Per-batch :class:`~._records.Buffers` for ``bs`` rows (without the
    input's block for ``sparse`` input)."""
    uoff = layout.sparse_uoff if sparse else layout.uoff
    tot = int(uoff[-1])  # sum of all widths (held in the buffers)
    below = int(uoff[-2])  # widths of layers 0..L-1
    bs = int(bs)
    masked = bs * below if dropout is not None else 1
    n_pooled = layout.n_pooled
    return Buffers(
        act=np.empty(bs * tot, dtype=dtype),
        masked=np.empty(masked, dtype=dtype),
        mask=np.empty(4 * masked if dropout == "fast" else masked, dtype=dtype),
        pre=np.empty(bs * tot if need_pre else 1, dtype=dtype),
        delta=np.empty(bs * tot if need_delta else 1, dtype=dtype),
        rate=np.zeros(tot, dtype=np.float64),
        bs=bs,
        cols=np.empty(max(1, bs * layout.n_cols), dtype=dtype),
        pooled=np.empty(max(1, bs * n_pooled), dtype=dtype),
        argmax=np.zeros(max(1, bs * n_pooled), dtype=np.int64),
        dpool=np.empty(max(1, bs * n_pooled), dtype=dtype),
        bexp=np.empty(max(1, int(layout.units.max())), dtype=dtype),
    )


def _fast_buffers(layout, bs, dtype, sparse, need_dvar=True):
    """:class:`~._records.FastBuffers`; the squared-weight scratch spans
    the largest weight matrix the products square (a convolution's filters;
    the sparse first layer squares its weights entry by entry)."""
    uoff = layout.sparse_uoff if sparse else layout.uoff
    tot = int(uoff[-1])
    sizes = layout.fan_in * layout.fan_out
    wmax = int(sizes[1:].max(initial=1) if sparse else sizes.max())
    return FastBuffers(
        np.empty(bs * tot, dtype=dtype),
        np.empty(bs * tot if need_dvar else 1, dtype=dtype),
        np.empty(wmax, dtype=dtype),
        np.empty(max(1, bs * layout.n_pooled), dtype=dtype),
    )


def _state(theta, grad=None, m1=None, m2=None, ref=None):
    dummy = np.empty(1, dtype=theta.dtype)
    return State(
        theta,
        np.zeros_like(theta) if grad is None else grad,
        dummy if m1 is None else m1,
        dummy if m2 is None else m2,
        dummy if ref is None else ref.astype(theta.dtype, copy=False),
    )


class Engine:
    """One training configuration bound to a layout, a dtype and a batch size.

    Picks the training mode's kernels (``_plain``, ``_fast_dropout``,
    ``_tangent`` or ``_adversarial``), so a fit compiles only the code its
    options use, and allocates the mode's buffers once per fit.

    Parameters
    ----------
    config : EngineConfig
    layout : Layout
    out_kind : int
        0 for one logistic output, 1 for softmax.
    dtype : numpy dtype
        The model dtype (float32 or float64).
    batch_size : int
        Rows per minibatch (the buffers' size).
    n_tangents : int
        Tangents per sample (0: no tangent propagation).
    sparse : bool
        Whether the data are a scipy sparse matrix (the buffers then hold
        no input block).  Raises ``TypeError`` for a mode that needs dense
        inputs (:data:`DENSE_ONLY_MODES`).
    """

    def __init__(self, config, layout, out_kind, dtype, batch_size, n_tangents=0,
                 sparse=False):  # fmt: skip
        self.mode = config.mode(tangents=n_tangents > 0)
        if layout.is_convolutional and sparse:
            raise TypeError(
                "Sparse input is not supported by convolutional layers: they "
                "read images. Convert X with X.toarray()."
            )
        if sparse and self.mode in DENSE_ONLY_MODES:
            raise TypeError(
                f"Sparse input is not supported by {DENSE_ONLY_MODES[self.mode]}. "
                "Convert X with X.toarray()."
            )
        self.sparse = bool(sparse)
        self.layout = layout
        self.dtype = np.dtype(dtype)
        self.net = net_record(layout, self.sparse)
        self.opts = build_options(config, out_kind, dtype)
        bs = int(batch_size)
        self.ws = _buffers(
            layout,
            bs,
            dtype,
            config.dropout,
            need_pre=config.activation_penalty == "kl",
            sparse=self.sparse,
        )
        self.ref = config.tie_ref
        units = layout.units
        if self.mode == "fast":
            self.extra = (_fast_buffers(layout, bs, dtype, self.sparse),)
        elif self.mode == "tangent":
            topts = tangent_options(config, n_tangents)
            k = 1 if topts.sampled else topts.n_tangents
            sizes = _tangent.buffer_sizes(layout, bs, k)
            tws = TangentBuffers(
                **{f: np.empty(n, dtype=dtype) for f, n in sizes.items()}
            )
            self.extra = (topts, tws)
        elif self.mode == "adversarial":
            sizes = _adversarial.buffer_sizes(units, bs, layout.n_params)
            aws = AdversarialBuffers(
                **{f: np.empty(n, dtype=dtype) for f, n in sizes.items()}
            )
            self.extra = (adversarial_options(config), aws)
        else:
            self.extra = ()
        self._module = {
            "plain": _plain,
            "fast": _fast_dropout,
            "tangent": _tangent,
            "adversarial": _adversarial,
        }[self.mode]

    def state(self, theta, m1=None, m2=None):
        """The kernels' :class:`~._records.State` around ``theta`` (updated
        in place) and the optimizer moments."""
        return _state(theta, m1=m1, m2=m2, ref=self.ref)

    def data(self, X, y_idx, sample_weight, tangents=None):
        """The rows a fit trains on, normalised so every layout of ``X``
        reuses one compiled kernel.  ``y_idx``: class indices (1-D), or the
        target rows (2-D, regression and multilabel); ``tangents``
        (n, n_tangents, n_features) in tangent mode.  ``X`` is sparse iff
        the engine was made for sparse data."""
        if sp.issparse(X) != self.sparse:
            raise TypeError(  # pragma: no cover - developer guard
                f"Engine(sparse={self.sparse}) got {type(X).__name__} data."
            )
        data = Data(
            *kernel_rows(X, self.dtype),
            *_labels_and_targets(y_idx, self.dtype),
            as_kernel_array(sample_weight, np.float64),
        )
        if self.mode != "tangent":
            return (data,)
        n, k, d = tangents.shape
        return (data, as_kernel_array(tangents.reshape(n, k * d), self.dtype))

    def _args(self, state, data):
        """Positional arguments common to a mode's entry points, in order."""
        head = (state, self.net, self.opts)
        if self.mode == "fast":
            return head + (self.ws, self.extra[0], data[0])
        if self.mode == "tangent":
            topts, tws = self.extra
            return head + (topts, self.ws, tws, data[0], data[1])
        if self.mode == "adversarial":
            aopts, aws = self.extra
            return head + (aopts, self.ws, aws, data[0])
        return head + (self.ws, data[0])

    def run_epoch(self, state, data, order, seed, step, opt_step, lr):
        """One epoch over the rows ``order`` of ``data``; returns
        ``(status, sum_b loss_b * n_b, step, opt_step)``."""
        args = self._args(state, data) + (np.asarray(order, dtype=np.int64),)
        return self._module.run_epoch(
            *args, int(seed), int(step), int(opt_step), float(lr)
        )

    def objective(self, state, data, idx, seed=0, step=0):
        """Objective of the rows ``idx`` as one batch (its gradient into
        ``state.grad``); the buffers must hold ``len(idx)`` rows."""
        args = self._args(state, data) + (np.asarray(idx, dtype=np.int64),)
        return self._module.objective(*args, int(seed), int(step))

    def will_compile(self, state, data, order):
        """Whether the next :meth:`run_epoch` compiles (no cached kernel)."""
        args = self._args(state, data) + (np.asarray(order, dtype=np.int64),)
        return will_compile(self._module.run_epoch, args + (0, 0, 0, 0.0))


def inference_options(activation, out_kind, dtype, keep_input=1.0, keep_hidden=1.0,
                      mc=False):  # fmt: skip
    """Options of a deterministic (or MC-dropout) forward pass: the same
    record type as training's, so inference reuses the compiled passes."""
    cfg = EngineConfig(
        activation=activation,
        dropout="bernoulli" if mc else None,
        keep_input=keep_input,
        keep_hidden=keep_hidden,
    )
    return build_options(cfg, out_kind, dtype)


def _entry_point(dispatcher, args):
    """The compiled function ``dispatcher`` runs for ``args``, or None.

    Calling a dispatcher types every argument to choose its compiled
    variant; for the records the inference kernels take that costs 4 us,
    as much as a one-row forward pass of a 64-256-10 network.  A predictor
    looks the variant up once per kind of call and then calls it directly,
    always with arguments of the same types (it builds them itself: kernel
    arrays of its dtype, its own records), which is what makes skipping
    the typing safe.  None (call the dispatcher) if numba's internals
    differ from the ones this reads.
    """
    try:
        sig = tuple(numba.typeof(a) for a in args)
        return dispatcher.overloads[sig].entry_point
    except Exception:  # pragma: no cover - numba internals differ
        return None


class Predictor:
    """A fitted network ready to serve: its layout, flat parameters and the
    records the inference kernels take, built once (at the end of a fit, or
    when a model is loaded) instead of on every call.

    ``theta`` is the storage of the estimator's ``coefs_`` and
    ``intercepts_`` (:meth:`Layout.views`), so changes made to those arrays
    in place are served; an estimator whose arrays were replaced builds a
    new predictor for each call instead (the estimator's ``_predictor``).

    Calls share nothing writable: each kernel call allocates its own
    buffers, so threads may serve one predictor at once.
    """

    def __init__(self, layout, theta, activation, out_kind):
        self.layout = layout
        self.theta = theta
        self.activation = activation
        self.out_kind = int(out_kind)
        self.dtype = theta.dtype
        self.n_out = int(layout.units[-1])
        self._net = {}
        self._sizes = {}
        self._entries = {}
        self.opts = inference_options(activation, out_kind, theta.dtype)

    def run(self, kernel, key, args):
        """``kernel(*args)``; ``key`` names the argument types (every call
        with one key passes arguments of the same types)."""
        entry = self._entries.get(key)
        if entry is None:
            kernel(*args)  # compiles, or loads the variant from the cache
            entry = _entry_point(kernel, args)
            if entry is not None:
                self._entries[key] = entry
            return
        entry(*args)

    @classmethod
    def from_arrays(cls, coefs, intercepts, layout, activation, out_kind, dtype):
        """A predictor on a copy of ``coefs``/``intercepts``."""
        return cls(layout, layout.pack(coefs, intercepts, dtype), activation, out_kind)

    def views(self):
        """``(coefs, intercepts)``: arrays backed by ``theta``."""
        return self.layout.views(self.theta)

    def records(self, sparse):
        """``(net, sizes)`` of the kernels for dense or CSR rows."""
        if sparse not in self._net:
            self._net[sparse] = net_record(self.layout, sparse)
            self._sizes[sparse] = _inference.serving_sizes(self.layout, sparse)
        return self._net[sparse], self._sizes[sparse]

    def proba(self, X):
        """Outputs (probabilities, or predictions for a regression output)
        of the deterministic network on validated ``X`` (a kernel array, or
        a canonical CSR matrix), shape (n, n_out)."""
        if (
            type(X) is np.ndarray  # the request path's usual input, as is
            and X.dtype == self.dtype
            and X.flags.c_contiguous
            and X.flags.writeable
        ):
            sparse, csr = False, None
        else:
            sparse = sp.issparse(X)
            X, csr = kernel_rows(X, self.dtype)
        net, sizes = self.records(sparse)
        out = np.empty((1, X.shape[0] if csr is None else csr.indptr.shape[0] - 1,
                        self.n_out), dtype=self.dtype)  # fmt: skip
        self.run(
            _inference.predict_rows,
            ("rows", sparse),
            (self.theta, net, self.opts, sizes, X, csr, _NO_KEYS, 0, out),
        )
        return out[0]

    def proba_mc(self, X, keep_input, keep_hidden, n_samples, seed):
        """Outputs under ``n_samples`` sampled dropout masks (keyed by a hash
        of each row's content, the same for a sparse row as for its dense
        copy), shape (n_samples, n, n_out)."""
        sparse = sp.issparse(X)
        X, csr = kernel_rows(X, self.dtype)
        n = X.shape[0] if csr is None else csr.indptr.shape[0] - 1
        net, sizes = self.records(sparse)
        opts = inference_options(self.activation, self.out_kind, self.dtype,
                                 keep_input, keep_hidden, mc=True)  # fmt: skip
        kid = _random_row_hashes(X, csr, int(self.layout.units[0]), sparse)
        out = np.empty((int(n_samples), n, self.n_out), dtype=self.dtype)
        self.run(
            _inference.predict_rows,
            ("mc", sparse),
            (self.theta, net, opts, sizes, X, csr, kid, int(seed), out),
        )
        return out


_NO_KEYS = np.empty(0, dtype=np.int64)


def predict_proba(X, theta, layout, activation, out_kind, mc=None, seed=0):
    """Probabilities of every row of ``X`` (dense, or scipy sparse) in the
    model dtype.

    ``mc=(keep_input, keep_hidden, n_samples)`` samples dropout masks
    (keyed by a hash of each row's content, the same for a sparse row as
    for its dense copy) and returns ``(n_samples, n, n_out)``.
    """
    predictor = Predictor(layout, theta, activation, out_kind)
    if mc is None:
        return predictor.proba(X)
    return predictor.proba_mc(X, *mc, seed)


def predict_members(thetas, predictor, X, features=None, mean=False):
    """Deterministic outputs ``(k, n, n_out)`` of ``k`` networks of
    ``predictor``'s shape, activation and output kind whose parameters are
    the rows of ``thetas``, in one kernel call; member ``k`` reads the
    columns ``features[k]`` of a dense ``X`` (all columns when ``features``
    is None).  With ``mean``, returns ``(outputs, mean)``, the second the
    float64 mean over the members (summed member by member)."""
    first = predictor
    sparse = sp.issparse(X)
    X, csr = kernel_rows(X, first.dtype)
    n = X.shape[0] if csr is None else csr.indptr.shape[0] - 1
    net, sizes = first.records(sparse)
    gathered = features is not None
    if gathered:
        features = as_kernel_array(features, np.int64)
    else:
        features = _NO_FEATURES
    out = np.empty((thetas.shape[0], n, first.n_out), dtype=first.dtype)
    acc = np.zeros((n, first.n_out)) if mean else _NO_MEAN
    first.run(
        _inference.predict_members,
        ("members", sparse, gathered),
        (thetas, net, first.opts, sizes, X, csr, features, gathered, out, acc),
    )
    if not mean:
        return out
    acc /= thetas.shape[0]
    return out, acc


# the kernels' placeholders for no column subsets and no mean (never written)
_NO_FEATURES = np.empty((0, 0), dtype=np.int64)
_NO_MEAN = np.empty((0, 0))


def _random_row_hashes(X, csr, d, sparse):
    from ._random import row_hashes, row_hashes_csr

    bits = np.uint64 if X.dtype == np.float64 else np.uint32
    if sparse:
        data = csr.data
        return row_hashes_csr(data, data.view(bits), csr.indices, csr.indptr, d)
    return row_hashes(X.view(bits))


def input_gradient(X, y_idx, theta, layout, activation, out_kind):
    """Per-sample gradient of the unweighted loss w.r.t. the input, for
    class indices or (2-D) target rows ``y_idx``.  The gradient is dense
    (every feature's), so a sparse ``X`` is densified: the result has its
    size anyway."""
    dtype = theta.dtype
    if sp.issparse(X):
        X = X.toarray()
    X = as_kernel_array(X, dtype)
    bs = max(1, min(PREDICT_CHUNK, X.shape[0]))
    opts = inference_options(activation, out_kind, dtype)
    ws = _buffers(layout, bs, dtype)
    out = np.empty(X.shape, dtype=dtype)
    Y, T = _labels_and_targets(y_idx, dtype)
    net = net_record(layout)
    _inference.input_gradient(theta, net, opts, ws, X, Y, T, 0, 0, out)
    return out


def logit_jvp(X, tangents, theta, layout, activation, out_kind):
    """Directional derivatives of the deterministic network's logits along
    each sample's tangents, ``(n_samples, n_tangents, n_outputs)`` in the
    model dtype, by the tangent-propagation pass (Simard et al. 1992) of
    the training mode: the forward-mode pass the penalty is built on, so it
    covers every layer kind (convolution, pooling) the engine trains.

    Runs the mode's objective on placeholder targets (``out_kind`` sets
    their type only) and reads the last layer's tangent products.
    """
    dtype = theta.dtype
    X = as_kernel_array(X, dtype)
    n, k, _ = tangents.shape
    n_out = int(layout.units[-1])
    out = np.empty((n, k, n_out), dtype=dtype)
    if n == 0 or k == 0:
        return out
    cfg = EngineConfig(activation=activation, tangent_alpha=1.0,
                       tangent_output="logits")  # fmt: skip
    bs = max(1, min(PREDICT_CHUNK, n))
    engine = Engine(cfg, layout, out_kind, dtype, bs, n_tangents=k)
    state = engine.state(theta.copy())
    if out_kind in TARGET_OUTPUTS:
        y = np.zeros((n, n_out))
    else:
        y = np.zeros(n, dtype=np.int64)
    data = engine.data(X, y, np.ones(n), tangents)
    tws = engine.extra[1]
    below = int(layout.units[1:-1].sum())  # widths of the products before J
    for i0 in range(0, n, bs):
        nb = min(bs, n - i0)
        engine.objective(state, data, np.arange(i0, i0 + nb))
        off = nb * k * below
        out[i0 : i0 + nb] = tws.products[off : off + nb * k * n_out].reshape(
            nb, k, n_out
        )
    return out


def predict_moments(X, theta, layout, activation, keep_input, keep_hidden):
    """Fast dropout's Gaussian approximation at inference: the mean and
    variance of each output logit (for an identity output, of the
    prediction) of every row of ``X`` (dense or scipy sparse), in one
    deterministic pass."""
    dtype = theta.dtype
    sparse = sp.issparse(X)
    n = X.shape[0]
    X, csr = kernel_rows(X, dtype)
    bs = max(1, min(PREDICT_CHUNK, n))
    cfg = EngineConfig(
        activation=activation,
        dropout="fast",
        keep_input=keep_input,
        keep_hidden=keep_hidden,
    )
    opts = build_options(cfg, 0, dtype)
    ws = _buffers(layout, bs, dtype, "fast", need_delta=False, sparse=sparse)
    fws = _fast_buffers(layout, bs, dtype, sparse, need_dvar=False)
    n_out = int(layout.units[-1])
    mean = np.empty((n, n_out), dtype=dtype)
    var = np.empty((n, n_out), dtype=dtype)
    net = net_record(layout, sparse)
    _fast_dropout.predict_moments(theta, net, opts, ws, fws, X, csr, mean, var)
    return mean, var


def loss_and_gradient(theta, layout, X, y_idx, sample_weight, config, out_kind,
                      seed=0, step=0, tangents=None):  # fmt: skip
    """Objective and gradient on the flat vector, the whole data as one batch.

    The same kernel path as a training minibatch (used by the
    finite-difference tests).  ``y_idx`` are class indices (0/1 for
    binary); ``tangents`` (n_samples, n_tangents, n_features) switch on the
    tangent-propagation penalty of strength ``config.tangent_alpha``; ``X``
    may be scipy sparse.
    """
    n = X.shape[0]
    sw = np.ones(n) if sample_weight is None else sample_weight
    k = 0 if tangents is None else tangents.shape[1]
    engine = Engine(config, layout, out_kind, theta.dtype, n, n_tangents=k,
                    sparse=sp.issparse(X))  # fmt: skip
    state = engine.state(theta)
    data = engine.data(X, y_idx, sw, tangents)
    loss = engine.objective(state, data, np.arange(n), seed, step)
    return loss, state.grad
