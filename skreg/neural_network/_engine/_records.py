"""Named records the engine's kernels take, and the one function that builds them.

Every kernel argument beyond plain arrays is one of these namedtuples.  numba
types a namedtuple by its class and its fields' types, caches functions that
take them (``cache=True``), and lets kernels read fields by name, so there
are no index constants to keep in sync and no integers in float slots.

Field types are fixed by :func:`build_options` and the ``*_record``
builders: every code is a Python ``int``, every flag a ``bool``, every
strength a ``float``.  A record built any other way would compile a second
variant of every kernel that takes it, so build them only here.

Codes (``Activation``, ``Output``, ``Penalty``, ``Dropout``, ``Attack``) are
``IntEnum`` in Python and plain integers in the kernels.
"""

from collections import namedtuple
from enum import IntEnum

import numpy as np


class Activation(IntEnum):
    IDENTITY = 0
    LOGISTIC = 1
    TANH = 2
    RELU = 3


class Output(IntEnum):
    LOGISTIC = 0  # one unit: binary classification
    SOFTMAX = 1
    IDENTITY = 2  # regression, half squared error
    MULTILABEL = 3  # one logistic unit per label, binary log loss each
    EXP = 4  # regression, half Poisson deviance (log link)


#: Output kinds whose targets are real-valued rows (``Data.T``) rather
#: than class indices (``Data.Y``).
TARGET_OUTPUTS = (Output.IDENTITY, Output.MULTILABEL, Output.EXP)


class LayerKind(IntEnum):
    DENSE = 0
    CONV = 1


class PoolKind(IntEnum):
    NONE = 0
    MAX = 1
    AVG = 2


class Penalty(IntEnum):
    NONE = 0
    L1 = 1
    STUDENT_T = 2
    KL = 3


class Dropout(IntEnum):
    NONE = 0
    BERNOULLI = 1
    FAST = 2


class Attack(IntEnum):
    FGSM = 1
    PGD = 2
    VAT = 3


class Status(IntEnum):
    OK = 0
    NONFINITE = 1


ACTIVATIONS = {a.name.lower(): a for a in Activation}
PENALTIES = {None: Penalty.NONE, "l1": Penalty.L1, "student_t": Penalty.STUDENT_T,
             "kl": Penalty.KL}  # fmt: skip
DROPOUTS = {None: Dropout.NONE, "bernoulli": Dropout.BERNOULLI, "fast": Dropout.FAST}
ATTACKS = {"fgsm": Attack.FGSM, "pgd": Attack.PGD, "vat": Attack.VAT}

#: Shape of a dense network: layer widths ``units = [n_0, ..., n_L]``, the
#: row offsets ``uoff`` of each layer in the activation buffers (the prefix
#: sums of the widths; of the widths after the input's for sparse input,
#: which no buffer holds), and each layer's weight / intercept offset in
#: the flat vector.
#: Per layer ``l`` also the shape of ``W_l``: ``fan_in[l] x fan_out[l]``
#: (the widths, for a dense layer).
Net = namedtuple(
    "Net", ["units", "uoff", "w_off", "b_off", "n_coef", "fan_in", "fan_out"]
)

#: A network with convolutional layers: a :class:`Net` plus, per layer,
#: its ``kind`` (:class:`LayerKind`; a convolution's ``W_l`` is ``KH*KW*Cin
#: x Cout``), its geometry row (``geom[l]``, :func:`._conv.conv_geometry`;
#: zeros for a dense layer) and the pooling of its *input* (``pool[l] =
#: [kind, H, W, C, ph, OH, OW, pw, offset]``: :class:`PoolKind`,
#: :func:`._conv.pool_geometry`, and the offset of its block in the pooled
#: buffers; kind 0: none).  Pooling the consumer's input keeps every
#: layer's buffer block its own output.  A separate type, so that kernels
#: compiled for a dense :class:`Net` contain no convolution code (the
#: layer pieces in ``_layers.py`` dispatch on the type when compiling).
ConvNet = namedtuple("ConvNet", [*Net._fields, "kind", "geom", "pool"])

#: Activation penalty on the hidden units (Goodfellow et al. eq. 7.48).
PenaltyOptions = namedtuple(
    "PenaltyOptions", ["kind", "alpha", "student_gamma", "sparsity_target"]
)

#: Dropout masks: ``kind`` a :class:`Dropout` code and the keep
#: probabilities of the input and hidden units (1.0 when off).
DropoutOptions = namedtuple("DropoutOptions", ["kind", "keep_input", "keep_hidden"])

#: The optimizer step and the parameter penalties it folds in.
OptimOptions = namedtuple(
    "OptimOptions",
    ["adam", "nesterov", "l2", "momentum", "beta_1", "beta_2", "epsilon",
     "tie", "tie_alpha", "max_norm", "max_norm_value"],
)  # fmt: skip

#: What every pass reads: hidden activation, output kind, the log-loss clip.
Options = namedtuple(
    "Options", ["act", "out_kind", "log_eps", "penalty", "dropout", "optim"]
)

#: Adversarial training (Goodfellow et al. 2015; Madry et al. 2018; Miyato
#: et al. 2018): method, radius, the clean/adversarial mix, the valid input
#: range, PGD's steps and VAT's power iteration.
AdversarialOptions = namedtuple(
    "AdversarialOptions",
    ["method", "epsilon", "weight", "clip_lo", "clip_hi", "pgd_step", "pgd_steps",
     "pgd_random_start", "vat_xi", "vat_power_iterations", "virtual_labels"],
)  # fmt: skip

#: Tangent propagation (Simard et al. 1992): number of tangents per sample,
#: strength, whether the probabilities' (else the logits') directional
#: derivatives are penalised, and whether one random combination of the
#: tangents stands for all of them in each step.
TangentOptions = namedtuple(
    "TangentOptions", ["n_tangents", "alpha", "proba", "sampled"]
)

#: A scipy CSR matrix's arrays: ``data`` (model dtype), ``indices`` (int32:
#: the column of each stored entry, sorted within a row, no duplicates) and
#: ``indptr`` (int64, ``n_rows + 1``).  Where a kernel takes one, dense
#: data pass ``None`` instead: numba prunes the ``csr is None`` branches by
#: the argument's type, so dense kernels compile no sparse code (see
#: ``_passes.py``).
Csr = namedtuple("Csr", ["data", "indices", "indptr"])

#: Rows of a pass: the data matrix, which of its rows (``idx[i0:i0 + nb]``),
#: the keys of their random streams (``kid``, aligned with ``idx``) and the
#: sample weights (indexed like ``X``).  With sparse data (a :class:`Csr`
#: beside the rows) ``X`` is a placeholder without rows.
Rows = namedtuple("Rows", ["X", "idx", "kid", "i0", "nb", "sw"])

#: What a forward/backward pass computes: ``training`` (penalties evaluated,
#: logits kept for the loss), then for backward the activation penalty's
#: gradient, the weight gradient and the input gradient.  Passes get these
#: as the module-level constants below, never as literal flags: numba
#: compiles a function once per combination of literal arguments, a record
#: of plain booleans once for all.
Pass = namedtuple("Pass", ["training", "penalty", "weight_grad", "input_grad"])
TRAIN = Pass(True, True, True, False)
TRAIN_AND_INPUT = Pass(True, True, True, True)  # also the input gradient
INPUT_ONLY = Pass(True, False, False, True)  # input gradient, no penalty
INPUT_WITH_PENALTY = Pass(True, True, False, True)
WEIGHTS_ONLY = Pass(True, False, True, False)  # weight gradient, no penalty
PREDICT = Pass(False, False, False, False)

#: Per-batch buffers of the forward/backward passes, each holding every
#: layer's block for ``bs`` rows (layer ``l`` at ``bs * uoff[l]``):
#: ``act`` activations (inputs, hidden outputs before dropout, outputs),
#: ``masked`` dropout-masked copies fed to the next layer, ``mask`` the
#: masks' scales, ``pre`` pre-activations (kept for the KL penalty of relu
#: units), ``delta`` gradients w.r.t. each layer's pre-activation (``delta``
#: of layer 0: w.r.t. the input), ``rate`` one value per unit (the batch
#: mean firing rates of the KL penalty).
#: Convolutional nets also use ``cols`` (the largest layer's im2col
#: matrix, shared: forward, weight and input gradients each refill it),
#: ``pooled`` and ``argmax`` (each pooled input, kept for the backward
#: pass, at ``bs * pool[l, 8]``), ``dpool`` (one pooled input's gradient)
#: and ``bexp`` (a convolution's intercepts repeated over positions);
#: dense nets get 1-element placeholders.
Buffers = namedtuple(
    "Buffers",
    ["act", "masked", "mask", "pre", "delta", "rate", "bs", "cols", "pooled",
     "argmax", "dpool", "bexp"],
)  # fmt: skip

#: Fast dropout's extra buffers: ``var`` the activations' variances,
#: ``dvar`` their deltas, ``wsq`` a weight-shaped scratch (squared weights),
#: and for convolutional nets ``qpool``, each pooled input's variances
#: (beside its means in ``Buffers.pooled``, at ``bs * pool[l, 8]``, kept
#: for the weight gradient); dense nets get a 1-element placeholder.  The
#: other scratch of a convolution (im2col, the winners, one pooled delta)
#: is the :class:`Buffers`' own.
FastBuffers = namedtuple("FastBuffers", ["var", "dvar", "wsq", "qpool"])

#: The tangent pass's buffers (see ``_tangent.py``); ``pooled``,
#: ``dpool``, ``cols`` and ``gbias`` are the convolutional layers' scratch
#: for tangent rows (1-element placeholders for a dense net).
TangentBuffers = namedtuple(
    "TangentBuffers",
    ["inputs", "products", "slope", "curvature", "grad_u", "grad_t", "grad_z",
     "grad_n", "wtmp", "pgrad", "scale0", "proba", "pooled", "dpool", "cols",
     "gbias"],
)  # fmt: skip

#: Adversarial training's buffers: perturbed rows, VAT's directions, the
#: gradient of the second pass and the clean probabilities.
AdversarialBuffers = namedtuple(
    "AdversarialBuffers", ["x_adv", "direction", "grad2", "clean_proba"]
)

#: The trainable state: flat parameters, their gradient, the optimizer's
#: moments (Adam's m and v, or SGD's velocity in ``m1``) and the tying
#: reference (a 1-element dummy when tying is off).
State = namedtuple("State", ["theta", "grad", "m1", "m2", "ref"])

#: What a training step needs besides the rows: labels and weights of the
#: whole training set.  ``Y`` holds class indices (softmax and one logistic
#: output; -1 marks an unlabeled row), ``T`` target rows in the model dtype
#: (regression and multilabel outputs).  Both are always there, so every
#: output kind shares one compiled kernel: a classifier's ``T`` has no
#: rows, a regressor's ``Y`` is all zeros ("labelled").  ``csr``: the
#: rows as a :class:`Csr` (``X`` then a placeholder without rows), or
#: ``None`` for dense rows in ``X``.
Data = namedtuple("Data", ["X", "csr", "Y", "T", "sw"])


def build_options(config, out_kind, dtype):
    """The :class:`Options` record of an ``EngineConfig`` (every field cast)."""
    dropout = config.dropout
    tie = config.tie_ref is not None
    return Options(
        act=int(ACTIVATIONS[config.activation]),
        out_kind=int(out_kind),
        log_eps=float(np.finfo(dtype).eps),
        penalty=PenaltyOptions(
            kind=int(PENALTIES[config.activation_penalty]),
            alpha=float(config.activation_penalty_alpha),
            student_gamma=float(config.student_t_gamma),
            sparsity_target=float(config.sparsity_target),
        ),
        dropout=DropoutOptions(
            kind=int(DROPOUTS[dropout]),
            keep_input=float(config.keep_input) if dropout else 1.0,
            keep_hidden=float(config.keep_hidden) if dropout else 1.0,
        ),
        optim=OptimOptions(
            adam=config.solver == "adam",
            nesterov=bool(config.nesterovs_momentum),
            l2=float(config.alpha),
            momentum=float(config.momentum),
            beta_1=float(config.beta_1),
            beta_2=float(config.beta_2),
            epsilon=float(config.epsilon),
            tie=tie,
            tie_alpha=float(config.tie_alpha) if tie else 0.0,
            max_norm=config.max_norm is not None,
            max_norm_value=(
                float(config.max_norm) if config.max_norm is not None else np.inf
            ),
        ),
    )


def adversarial_options(config):
    lo, hi = (
        (-np.inf, np.inf)
        if config.adversarial_clip is None
        else config.adversarial_clip
    )
    return AdversarialOptions(
        method=int(ATTACKS[config.adversarial]),
        epsilon=float(config.adversarial_epsilon),
        weight=float(config.adversarial_weight),
        clip_lo=float(lo),
        clip_hi=float(hi),
        pgd_step=float(config.pgd_step_size),
        pgd_steps=int(config.pgd_steps),
        pgd_random_start=bool(config.pgd_random_start),
        vat_xi=float(config.vat_xi),
        vat_power_iterations=int(config.vat_power_iterations),
        virtual_labels=bool(config.virtual_labels),
    )


def tangent_options(config, n_tangents):
    return TangentOptions(
        n_tangents=int(n_tangents),
        alpha=float(config.tangent_alpha),
        proba=config.tangent_output == "proba",
        sampled=config.tangent_sampling == "rademacher",
    )


def net_record(layout, sparse=False):
    """The :class:`Net` of a layout; with ``sparse`` the input layer takes
    no rows in the buffers (``uoff[1] = 0``): the first layer reads its
    input from the CSR rows, and no pass stores it."""
    uoff = layout.sparse_uoff if sparse else layout.uoff
    head = (layout.units, uoff, layout.w_off, layout.b_off, int(layout.n_coef),
            layout.fan_in, layout.fan_out)  # fmt: skip
    if layout.is_convolutional:
        return ConvNet(*head, layout.kind, layout.geom, layout.pool)
    return Net(*head)
