"""Forward and backward passes of one minibatch (no dropout or Bernoulli
dropout), shared by every training mode and by inference.

Masks of row ``r`` are keyed by ``(seed, step, rows.kid[rows.i0 + r])``:
the sample's index in the training set when training, a hash of the row's
content at MC inference (so a query's masks do not depend on its position).
Inverted dropout: kept units are scaled by ``1 / keep`` during training, so
inference without masks is weight scaling (Srivastava et al. 2014).

Sparse input: ``csr`` is the CSR arrays of the data (a
:class:`~._records.Csr`) or ``None`` for dense rows (``rows.X``).  The
passes branch on ``csr is None``, which numba resolves from the argument's
type before typing the body, so a dense pass compiles no sparse code and a
sparse one no input block: each kind has its own compiled variant, and a
dense fit compiles exactly what it did before sparse input existed.  The
first layer then runs over the stored entries (``_layers.sparse_*``);
deeper layers are the dense ones.
"""

import numpy as np

from ...utils._numba import jit
from ._elementwise import ACT_RELU, activation_derivative, bias_activation
from ._layers import (
    block,
    intercepts,
    layer_forward,
    layer_input_grad,
    layer_weight_grad,
    sparse_forward,
    sparse_weight_grad,
    view,
    weights,
)
from ._losses import bias_output
from ._penalties import (
    PEN_KL,
    PEN_NONE,
    activation_penalty,
    activation_penalty_grad,
    activation_penalty_grad_pre,
)
from ._random import keep_scales, keep_threshold, layer_key, masked_copy
from ._records import Dropout

DROP_BERNOULLI = int(Dropout.BERNOULLI)


@jit(inline="always")
def dropout_flags(opts):
    """(input units dropped, hidden units dropped, relu mask read off the
    masked copy) of a pass."""
    drop = opts.dropout.kind == DROP_BERNOULLI
    drop_in = drop and opts.dropout.keep_input < 1.0
    drop_hid = drop and opts.dropout.keep_hidden < 1.0
    # relu without a penalty: kept and active <=> masked copy > 0, so the
    # mask scales need not be stored
    relu_fused = opts.act == ACT_RELU and opts.penalty.kind == PEN_NONE
    return drop_in, drop_hid, relu_fused


@jit
def forward(theta, net, opts, ws, rows, csr, seed, step, what):
    """Forward pass of rows ``rows.idx[i0:i0 + nb]`` of ``rows.X`` (of the
    CSR arrays ``csr`` unless None).

    ``what.training`` (a :class:`~._records.Pass`): activation penalties
    are evaluated and a single logistic output keeps its logit for
    :func:`~._losses.output_loss_delta`; otherwise the last block of
    ``ws.act`` holds probabilities.

    Returns ``(penalty value * sw_sum, sw_sum)``.
    """
    units = net.units
    L = units.shape[0] - 1
    bs = ws.bs
    X = rows.X
    idx = rows.idx
    kid = rows.kid
    i0 = rows.i0
    nb = rows.nb
    sw = rows.sw
    act = opts.act
    pen = opts.penalty
    training = what.training
    pen_on = training and pen.kind != PEN_NONE
    thr_in, sc_in64 = keep_threshold(opts.dropout.keep_input)
    thr_hid, sc_hid64 = keep_threshold(opts.dropout.keep_hidden)
    scl = np.empty(2, dtype=theta.dtype)  # scales in the model dtype
    scl[0] = sc_in64
    scl[1] = sc_hid64
    sc_in = scl[0]
    sc_hid = scl[1]
    drop_in, drop_hid, relu_fused = dropout_flags(opts)
    keep_pre = pen_on and pen.kind == PEN_KL and act == ACT_RELU

    n0 = units[0]
    sw_sum = 0.0
    # the first product's input rows: an empty placeholder (of the one type
    # every branch gives) where layer 0 reads CSR entries or the masked
    # block, since those nets may have no unmasked input block to view
    A0 = view(ws.act, 0, 0, n0)
    if csr is not None:
        # CSR rows: the first product reads (and masks) the stored entries;
        # the net has no input block
        for r in range(nb):
            sw_sum += sw[idx[i0 + r]]
    elif drop_in:
        # masked rows go straight from X to the masked block; neither the
        # unmasked copy nor the scales are stored (W_0's gradient uses the
        # masked input; backward re-derives the scales for an input gradient)
        M0 = block(ws.masked, net, bs, 0, nb)
        for r in range(nb):
            i = idx[i0 + r]
            sw_sum += sw[i]
            masked_copy(
                M0[r], X[i], layer_key(seed, step, kid[i0 + r], 0), thr_in, sc_in
            )
    elif not training:
        # inference: a chunk is consecutive rows (idx[i0 + r] == i0 + r, as
        # the inference kernels build it), so the first product reads them
        # where they lie instead of from a copy (for 784 inputs the copy
        # cost 7% of the forward pass); nothing writes layer 0's block
        for r in range(nb):
            sw_sum += sw[idx[i0 + r]]
        A0 = view(X.reshape(X.shape[0] * X.shape[1]), i0 * n0, nb, n0)
    else:
        A0 = block(ws.act, net, bs, 0, nb)
        for r in range(nb):
            i = idx[i0 + r]
            sw_sum += sw[i]
            for j in range(n0):
                A0[r, j] = X[i, j]

    pen_sum = 0.0
    for l in range(L):
        nout = units[l + 1]
        W = weights(theta, net, l)
        b = intercepts(theta, net, l)
        dropped = drop_in if l == 0 else drop_hid
        Hout = block(ws.act, net, bs, l + 1, nb)
        if l == 0 and csr is not None:
            keep = opts.dropout.keep_input if drop_in else 1.0
            sparse_forward(csr, rows, W, Hout, seed, step, keep)
        else:
            if l == 0 and not dropped:
                Ain = A0
            else:
                Ain = block(ws.masked if dropped else ws.act, net, bs, l, nb)
            b = layer_forward(net, ws, l, Ain, W, b, Hout)
        if l == L - 1:
            bias_output(Hout, b, opts.out_kind, training)
            break
        Zv = block(ws.pre, net, bs, l + 1, nb) if keep_pre else Hout
        bias_activation(Hout, b, act, Zv, keep_pre)
        if pen_on:
            rate = ws.rate[net.uoff[l + 1] : net.uoff[l + 1] + nout]
            pen_sum += activation_penalty(Hout, Zv, rows, act, pen, rate, sw_sum)
        if drop_hid and relu_fused:
            Ml = block(ws.masked, net, bs, l + 1, nb)
            for r in range(nb):
                key = layer_key(seed, step, kid[i0 + r], l + 1)
                masked_copy(Ml[r], Hout[r], key, thr_hid, sc_hid)
        elif drop_hid:
            Ml = block(ws.masked, net, bs, l + 1, nb)
            Sl = block(ws.mask, net, bs, l + 1, nb)
            for r in range(nb):
                sl = Sl[r]
                keep_scales(
                    sl, layer_key(seed, step, kid[i0 + r], l + 1), thr_hid, sc_hid
                )
                for j in range(nout):
                    Ml[r, j] = Hout[r, j] * sl[j]
    return pen_sum, sw_sum


@jit
def backward(theta, grad, net, opts, ws, rows, csr, seed, step, what):
    """Back-propagate the output deltas left in the last block of ``ws.delta``.

    Writes the raw (sample-weighted, not yet divided by the weight sum)
    gradient of every weight and intercept into ``grad`` if
    ``what.weight_grad``; leaves the gradient w.r.t. the input rows in
    ``ws.delta``'s first block if ``what.input_grad`` (dense rows only: the
    techniques that need it refuse sparse input); the activation
    penalty's gradient joins if ``what.penalty``.
    """
    units = net.units
    L = units.shape[0] - 1
    bs = ws.bs
    nb = rows.nb
    kid = rows.kid
    i0 = rows.i0
    act = opts.act
    pen = opts.penalty
    pen_on = what.penalty and pen.kind != PEN_NONE
    want_wgrad = what.weight_grad
    want_xgrad = what.input_grad
    drop_in, drop_hid, relu_fused = dropout_flags(opts)
    for l in range(L - 1, -1, -1):
        nin = units[l]
        W = weights(theta, net, l)
        Dout = block(ws.delta, net, bs, l + 1, nb)
        dropped = drop_in if l == 0 else drop_hid
        if l == 0 and csr is not None:
            if want_wgrad:
                keep = opts.dropout.keep_input if drop_in else 1.0
                gW = weights(grad, net, 0)
                gb = intercepts(grad, net, 0)
                sparse_weight_grad(csr, rows, Dout, gW, gb, seed, step, keep)
            break
        if want_wgrad:
            Ain = block(ws.masked if dropped else ws.act, net, bs, l, nb)
            layer_weight_grad(
                net, ws, l, Ain, Dout, weights(grad, net, l), intercepts(grad, net, l)
            )
        if l == 0 and not want_xgrad:
            break
        Din = block(ws.delta, net, bs, l, nb)
        layer_input_grad(net, ws, l, Dout, W, Din)
        if dropped and l > 0 and relu_fused:
            # kept and active <=> masked copy > 0: mask scale and relu
            # derivative at once
            Ml = block(ws.masked, net, bs, l, nb)
            scl = np.empty(1, dtype=theta.dtype)
            scl[0] = keep_threshold(opts.dropout.keep_hidden)[1]
            sc_hid = scl[0]
            for r in range(nb):
                for j in range(nin):
                    Din[r, j] = Din[r, j] * sc_hid if Ml[r, j] > 0 else 0.0
            continue
        if dropped:
            Sl = block(ws.mask, net, bs, l, nb)
            if l == 0:  # input scales were not stored: same hash, same scales
                thr_in, sc_in64 = keep_threshold(opts.dropout.keep_input)
                scl = np.empty(1, dtype=theta.dtype)
                scl[0] = sc_in64
                for r in range(nb):
                    keep_scales(
                        Sl[r], layer_key(seed, step, kid[i0 + r], 0), thr_in, scl[0]
                    )
            for r in range(nb):
                for j in range(nin):
                    Din[r, j] *= Sl[r, j]
        if l > 0:
            Hl = block(ws.act, net, bs, l, nb)
            rate = ws.rate[net.uoff[l] : net.uoff[l] + nin]
            if pen_on:
                activation_penalty_grad(Din, Hl, rows, act, pen, rate)
            activation_derivative(Din, Hl, act)
            if pen_on and pen.kind == PEN_KL:
                Zl = block(ws.pre, net, bs, l, nb) if act == ACT_RELU else Hl
                activation_penalty_grad_pre(Din, Hl, Zl, rows, act, pen, rate)
