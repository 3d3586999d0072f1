"""Python side of the MLP engine: layout, options, workspaces.

A thin estimator never touches this module's kernels directly; it returns
an :class:`EngineConfig` from ``_engine_config()`` and
:class:`~skreg.neural_network._base.BaseMLPClassifier` does the rest.

* :class:`Layout` -- offsets of every layer's ``W``/``b`` in the flat
  parameter vector (scikit-learn's ``_pack`` order: all weights, then all
  intercepts), pack/unpack to ``coefs_``/``intercepts_``.
* :class:`EngineConfig` -- every engine option with its "off" default;
  ``to_arrays`` turns it into the ``iopts``/``fopts`` arrays of the kernels.
* :class:`Workspace` -- the preallocated per-batch buffers (one allocation
  per fit, reused across epochs).
"""

from dataclasses import dataclass, field

import numpy as np

from . import _kernels as K

ACTIVATIONS = {
    "identity": K.ACT_IDENTITY,
    "logistic": K.ACT_LOGISTIC,
    "tanh": K.ACT_TANH,
    "relu": K.ACT_RELU,
}
PENALTIES = {
    None: K.PEN_NONE,
    "l1": K.PEN_L1,
    "student_t": K.PEN_STUDENT_T,
    "kl": K.PEN_KL,
}
DROPOUTS = {None: K.DROP_NONE, "bernoulli": K.DROP_BERNOULLI, "fast": K.DROP_FAST}
ADVERSARIAL = {"fgsm": K.ADV_FGSM, "pgd": K.ADV_PGD, "vat": K.ADV_VAT}


class Layout:
    """Offsets of the flat parameter vector of a dense network.

    Parameters
    ----------
    units : sequence of int
        ``[n_features, hidden..., n_outputs]``.
    """

    def __init__(self, units):
        self.units = np.asarray(units, dtype=np.int64)
        L = len(self.units) - 1
        self.n_layers = L
        self.uoff = np.zeros(L + 2, dtype=np.int64)
        self.uoff[1:] = np.cumsum(self.units)
        sizes = self.units[:-1] * self.units[1:]
        self.w_off = np.zeros(L, dtype=np.int64)
        self.w_off[1:] = np.cumsum(sizes)[:-1]
        self.n_coef = int(sizes.sum())
        self.b_off = np.zeros(L, dtype=np.int64)
        self.b_off[:] = self.n_coef + np.concatenate(
            ([0], np.cumsum(self.units[1:])[:-1])
        )
        self.n_params = self.n_coef + int(self.units[1:].sum())

    @classmethod
    def from_coefs(cls, coefs):
        return cls([coefs[0].shape[0]] + [c.shape[1] for c in coefs])

    def pack(self, coefs, intercepts, dtype):
        theta = np.empty(self.n_params, dtype=dtype)
        for l in range(self.n_layers):
            a, b = self.units[l], self.units[l + 1]
            theta[self.w_off[l] : self.w_off[l] + a * b] = np.asarray(coefs[l]).ravel()
            theta[self.b_off[l] : self.b_off[l] + b] = np.asarray(intercepts[l]).ravel()
        return theta

    def unpack(self, theta):
        """Separate, owned arrays (plain numpy: pickle/skops-safe)."""
        coefs, intercepts = [], []
        for l in range(self.n_layers):
            a, b = int(self.units[l]), int(self.units[l + 1])
            coefs.append(
                theta[self.w_off[l] : self.w_off[l] + a * b].reshape(a, b).copy()
            )
            intercepts.append(theta[self.b_off[l] : self.b_off[l] + b].copy())
        return coefs, intercepts

    def shapes(self):
        return (
            [
                (int(self.units[l]), int(self.units[l + 1]))
                for l in range(self.n_layers)
            ],
            [(int(self.units[l + 1]),) for l in range(self.n_layers)],
        )

    def kernel_args(self):
        return self.units, self.uoff, self.w_off, self.b_off


def glorot_init(units, activation, random_state, dtype):
    """scikit-learn's initialisation, drawn in scikit-learn's order.

    Uniform on ``[-s, s]``, ``s = sqrt(f / (fan_in + fan_out))`` with
    ``f = 2`` for logistic units and 6 otherwise (Glorot & Bengio 2010), for
    the weights then the intercept of each layer.  With the same
    ``RandomState`` this gives scikit-learn's initial weights bit for bit.
    """
    factor = 2.0 if activation == "logistic" else 6.0
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(units[:-1], units[1:], strict=False):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(
            random_state.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype)
        )
        intercepts.append(random_state.uniform(-bound, bound, fan_out).astype(dtype))
    return coefs, intercepts


@dataclass
class EngineConfig:
    """Every option of the engine; defaults switch every regularizer off.

    A thin estimator builds one of these in ``_engine_config()``.  Adding a
    regularizer = a field here, an index in ``_kernels`` and a branch in the
    minibatch step (never a second training loop).
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
    # adversarial training (issue 5): None, 'fgsm', 'pgd', 'vat'
    adversarial: str | None = None
    adversarial_epsilon: float = 0.0
    adversarial_weight: float = 0.5
    adversarial_clip: tuple | None = None
    pgd_steps: int = 1
    pgd_step_size: float = 0.0
    pgd_random_start: bool = False
    vat_xi: float = 1e-6
    vat_power_iterations: int = 1
    virtual_labels: bool = False
    extra_i: dict = field(default_factory=dict)  # reserved hooks: {index: value}
    extra_f: dict = field(default_factory=dict)

    @property
    def stochastic_regularizer(self):
        return self.dropout is not None

    def to_arrays(self, out_kind, dtype):
        iopts = np.zeros(K.N_IOPTS, dtype=np.int64)
        fopts = np.zeros(K.N_FOPTS, dtype=np.float64)
        iopts[K.I_ACT] = ACTIVATIONS[self.activation]
        iopts[K.I_OUT] = out_kind
        iopts[K.I_SOLVER] = 1 if self.solver == "adam" else 0
        iopts[K.I_NESTEROV] = int(bool(self.nesterovs_momentum))
        iopts[K.I_PENALTY] = PENALTIES[self.activation_penalty]
        iopts[K.I_DROPOUT] = DROPOUTS[self.dropout]
        iopts[K.I_TIE] = int(self.tie_ref is not None)
        iopts[K.I_MAXNORM] = int(self.max_norm is not None)
        fopts[K.F_ALPHA] = self.alpha
        fopts[K.F_MOMENTUM] = self.momentum
        fopts[K.F_BETA1] = self.beta_1
        fopts[K.F_BETA2] = self.beta_2
        fopts[K.F_EPSILON] = self.epsilon
        fopts[K.F_PEN_ALPHA] = self.activation_penalty_alpha
        fopts[K.F_STUDENT_GAMMA] = self.student_t_gamma
        fopts[K.F_SPARSITY_TARGET] = self.sparsity_target
        fopts[K.F_TIE_ALPHA] = self.tie_alpha if self.tie_ref is not None else 0.0
        fopts[K.F_MAX_NORM] = self.max_norm if self.max_norm is not None else np.inf
        fopts[K.F_KEEP_INPUT] = self.keep_input if self.dropout else 1.0
        fopts[K.F_KEEP_HIDDEN] = self.keep_hidden if self.dropout else 1.0
        fopts[K.F_LOG_EPS] = float(np.finfo(dtype).eps)
        if self.adversarial is not None:
            iopts[K.I_ADVERSARIAL] = ADVERSARIAL[self.adversarial]
            clip = self.adversarial_clip
            lo, hi = (-np.inf, np.inf) if clip is None else clip
            fopts[K.F_ADV_EPS] = self.adversarial_epsilon
            fopts[K.F_ADV_WEIGHT] = self.adversarial_weight
            fopts[K.F_ADV_CLIP_LO] = lo
            fopts[K.F_ADV_CLIP_HI] = hi
            fopts[K.F_PGD_STEP] = self.pgd_step_size
            fopts[K.F_PGD_STEPS] = self.pgd_steps
            fopts[K.F_PGD_RANDOM_START] = float(self.pgd_random_start)
            fopts[K.F_VAT_XI] = self.vat_xi
            fopts[K.F_VAT_POWER_ITERATIONS] = self.vat_power_iterations
            fopts[K.F_VIRTUAL_LABELS] = float(self.virtual_labels)
        for k, v in self.extra_i.items():
            iopts[k] = v
        for k, v in self.extra_f.items():
            fopts[k] = v
        return iopts, fopts


def inference_options(
    activation, out_kind, dtype, keep_input=1.0, keep_hidden=1.0, mc=False
):
    """Options of a deterministic (or MC-dropout) forward pass."""
    cfg = EngineConfig(
        activation=activation,
        dropout="bernoulli" if mc else None,
        keep_input=keep_input,
        keep_hidden=keep_hidden,
    )
    return cfg.to_arrays(out_kind, dtype)


class Workspace:
    """Per-batch buffers, allocated once per fit for ``bs_max`` rows."""

    def __init__(
        self,
        layout,
        bs_max,
        dtype,
        dropout=None,
        need_pre=False,
        n_tangents=0,
        adversarial=0,
    ):
        tot = int(layout.uoff[-1])  # sum of all widths
        below = int(layout.uoff[-2])  # widths of layers 0..L-1
        fast = dropout == "fast"
        self.bs_max = int(bs_max)
        self.H = np.empty(bs_max * tot, dtype=dtype)
        self.D = np.empty(bs_max * tot, dtype=dtype)
        if dropout is not None:
            self.HT = np.empty(bs_max * below, dtype=dtype)
            self.S = np.empty((4 if fast else 1) * bs_max * below, dtype=dtype)
        else:
            self.HT = np.empty(1, dtype=dtype)
            self.S = np.empty(1, dtype=dtype)
        self.Z = np.empty(bs_max * tot if need_pre else 1, dtype=dtype)
        self.V = np.empty(bs_max * tot if fast else 1, dtype=dtype)
        self.DV = np.empty(bs_max * tot if fast else 1, dtype=dtype)
        self.KB = np.zeros(tot, dtype=np.float64)
        wmax = int((layout.units[:-1] * layout.units[1:]).max())
        self.WB = np.empty(wmax if fast else 1, dtype=dtype)
        # Scratch of the input-perturbation (adversarial) and the
        # tangent-propagation options: each option sizes its own buffer,
        # so the kernels' signatures need not change when one is added.
        self.AWA = np.empty(
            K.adversarial_scratch_size(layout.units, self.bs_max) if adversarial else 1,
            dtype=dtype,
        )
        self.AWT = np.empty(
            K.tangent_scratch_size(layout.units, bs_max, n_tangents)
            if n_tangents
            else 1,
            dtype=dtype,
        )

    def arrays(self):
        return (
            self.H,
            self.HT,
            self.S,
            self.Z,
            self.D,
            self.V,
            self.DV,
            self.KB,
            self.WB,
            self.AWA,
            self.AWT,
        )


def tangent_argument(tangents, iopts, dtype):
    """The kernels' ``TV`` argument: tangents (n_samples, n_tangents,
    n_features) as a C-contiguous (n_samples, n_tangents * n_features)
    array in the model dtype, and ``iopts[I_TANGENT] = n_tangents``; a
    (1, 1) dummy with the option off when ``tangents`` is None or empty.
    """
    if tangents is None or tangents.shape[1] == 0:
        iopts[K.I_TANGENT] = 0
        return np.zeros((1, 1), dtype=dtype)
    if iopts[K.I_DROPOUT] == K.DROP_FAST:
        raise ValueError(
            "Tangent propagation is not available with fast dropout (the "
            "penalty would need the tangents' distribution); use Bernoulli "
            "dropout or none."
        )
    n, k, d = tangents.shape
    iopts[K.I_TANGENT] = k
    return np.ascontiguousarray(tangents.reshape(n, k * d), dtype=dtype)


def loss_and_gradient(
    theta,
    layout,
    X,
    y_idx,
    sample_weight,
    config,
    out_kind,
    seed=0,
    step=0,
    tangents=None,
):
    """Objective and gradient on the flat vector, the whole data as one batch.

    The same kernel path as a training minibatch (used by L-BFGS and by the
    finite-difference tests).  ``y_idx`` are class indices (0/1 for binary);
    ``tangents`` (n_samples, n_tangents, n_features) switch on the
    tangent-propagation penalty (strength ``config.extra_f[F_TANGENT_ALPHA]``).
    """
    dtype = theta.dtype
    X = np.ascontiguousarray(X, dtype=dtype)
    n = X.shape[0]
    sw = (
        np.ones(n)
        if sample_weight is None
        else np.ascontiguousarray(sample_weight, dtype=np.float64)
    )
    iopts, fopts = config.to_arrays(out_kind, dtype)
    TV = tangent_argument(tangents, iopts, dtype)
    ws = Workspace(
        layout,
        n,
        dtype,
        config.dropout,
        need_pre=config.activation_penalty == "kl",
        n_tangents=int(iopts[K.I_TANGENT]),
        adversarial=int(iopts[K.I_ADVERSARIAL]),
    )
    ref = (
        config.tie_ref.astype(dtype)
        if config.tie_ref is not None
        else np.empty(1, dtype=dtype)
    )
    grad = np.zeros_like(theta)
    loss = K.loss_grad_full(
        theta,
        grad,
        ref,
        *layout.kernel_args(),
        layout.n_coef,
        X,
        np.ascontiguousarray(y_idx, dtype=np.int64),
        sw,
        np.arange(n, dtype=np.int64),
        *ws.arrays(),
        TV,
        iopts,
        fopts,
        seed,
        step,
    )
    return loss, grad
