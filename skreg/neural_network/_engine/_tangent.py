"""Training mode 'tangent propagation' (Simard et al. 1992): the penalty
``alpha sum_i ||J_f(x) v_i||^2`` on the network's directional derivatives
along each sample's tangents ``v_i``, by a forward-mode (Jacobian-vector)
pass on the primal pass's views and masks, and its exact reverse pass.

Per-sample tangents come in ``TV`` (n_samples, n_tangents * n_features).
With ``topts.sampled`` one random +-1 combination of a sample's tangents
stands for all of them in each step (unbiased for the quadratic penalty).
Entry points: :func:`run_epoch` and :func:`objective` (the contracts of
``_plain.py``'s, plus ``topts``, the :class:`~._records.TangentBuffers`
and ``TV``).  Bernoulli dropout and activation penalties combine with it;
fast dropout does not (refused in Python).

Convolutional nets: tangent rows are images like the primal rows, so each
layer's product on them is the layer's own linear map without intercept
(``im2col`` then the filter GEMM for a convolution), and a pooled input is
pooled the way the primal pass pooled it: average pooling is linear (its
JVP is the same average), max pooling's JVP takes each window's tangent at
the primal winner (the max is locally the selection of that input, where
the winner is unique).  The per-layer pieces dispatch on the net's type
when a kernel compiles, as ``_layers.py``'s do, so dense kernels hold no
convolution or pooling code.
"""

import math

import numpy as np

from ...utils._numba import dispatch_on_types, jit
from ._conv import (
    avgpool_backward,
    avgpool_forward,
    conv_linear,
    conv_weight_grad,
)
from ._elementwise import ACT_LOGISTIC, ACT_TANH, slopes
from ._layers import (
    KIND_DENSE,
    POOL_AVG,
    POOL_MAX,
    POOL_NONE,
    _conv_layer_weight_grad,
    _is_conv,
    _pooled_block,
    block,
    intercepts,
    layer_input_grad,
    matmul,
    product_input_grad,
    view,
    weights,
)
from ._losses import OUT_SOFTMAX, output_loss_delta
from ._optimizers import STATUS_OK, step_batch
from ._passes import backward, dropout_flags, forward
from ._penalties import finish_gradient
from ._random import keep_scales, keep_threshold, layer_key, unit_bits
from ._records import TRAIN, Rows

#: "Layer" id of the tangent signs' hash stream (apart from dropout's).
_TANGENT_STREAM = 1 << 20


def buffer_sizes(layout, bs, k):
    """Lengths of the :class:`~._records.TangentBuffers` fields for ``bs``
    rows and ``k`` tangent rows per sample (Python side; a
    :class:`~._config.Layout`).  The convolution scratch (pooled tangent
    rows, their gradient, an im2col matrix for ``bs * k`` rows, a bias
    gradient to discard) is a 1-element placeholder for a dense net."""
    units = [int(u) for u in layout.units]
    L = len(units) - 1
    below = sum(units[:-1])
    above = sum(units[1:])
    wmax = max([1] + [max(units[l], units[l + 1]) for l in range(L)])
    pmax = max([1] + [int(layout.fan_in[l] * layout.fan_out[l]) for l in range(L)])
    hid = below - units[0]
    conv = layout.is_convolutional
    pool = layout.pool
    pooled = pool[:, 0] != 0
    pwidth = int((pool[pooled, 5] * pool[pooled, 6] * pool[pooled, 3]).max(initial=1))
    bsk = bs * k
    return dict(
        inputs=bsk * below,  # tangent inputs of every layer (row r*k + t)
        products=bsk * above,  # their products with W_l
        slope=bs * hid,  # (masked) first activation derivatives
        curvature=bs * hid,  # (masked) second activation derivatives
        grad_u=bsk * wmax,
        grad_t=bsk * wmax,
        grad_z=bs * wmax,
        grad_n=bs * wmax,
        wtmp=pmax,  # a weight-shaped temporary
        pgrad=int(layout.n_params),  # the penalty's gradient, parameter layout
        scale0=units[0],  # one row of input dropout scales
        proba=units[-1],  # one row of probabilities
        # pooled tangent inputs (layer l's at nb * k * pool[l, 8]), kept for
        # the weight gradient of the tangent path
        pooled=max(1, bsk * layout.n_pooled) if conv else 1,
        dpool=max(1, bsk * pwidth) if conv else 1,  # one pooled block's gradient
        cols=max(1, bsk * layout.n_cols) if conv else 1,  # im2col of tangent rows
        gbias=max(1, int(layout.fan_out.max())) if conv else 1,
    )


@jit(inline="always")
def tangent_rows(topts):
    """Tangent rows per sample in the pass: all tangents, or one random
    combination of them."""
    return 1 if topts.sampled else topts.n_tangents


@jit(inline="always")
def _layer_offset(units, l, rows):
    """Offset of layer ``l``'s block inside a buffer of per-layer blocks of
    ``rows`` rows each (layers ``0..l-1`` before it)."""
    off = 0
    for m in range(l):
        off += rows * units[m]
    return off


# --- per-layer pieces on tangent rows -------------------------------------------
# Tangent rows come k per sample (row r * k + t belongs to sample r), while
# the primal pass's argmax rows come one per sample.  Each piece picks its
# dense or convolutional body by the net's type when a kernel compiles
# (see ``_layers.py``); called from Python they dispatch alike.


@jit
def maxpool_jvp_grouped(T, argmax, k, out):
    """``out[a, j] = T[a, argmax[a // k, j]]``: max pooling's directional
    derivative along ``k`` tangent rows per sample, each taken at the
    winners of its sample's primal pass (unique maxima assumed)."""
    nk, no = out.shape
    for a in range(nk):
        am = argmax[a // k]
        for j in range(no):
            out[a, j] = T[a, am[j]]


@jit
def maxpool_backward_grouped(D, argmax, k, dA):
    """The adjoint of :func:`maxpool_jvp_grouped`: ``dA`` (overwritten)
    gets each ``D[a, j]`` at its sample's winner ``argmax[a // k, j]``."""
    nk, na = dA.shape
    no = D.shape[1]
    for a in range(nk):
        am = argmax[a // k]
        for j in range(na):
            dA[a, j] = 0.0
        for j in range(no):
            dA[a, am[j]] += D[a, j]


@jit(inline="always")
def _tangent_pooled(tws, net, nk, l):
    """Layer ``l``'s pooled tangent rows (``nk`` of them) in ``tws.pooled``."""
    q = net.pool[l]
    return view(tws.pooled, nk * q[8], nk, q[5] * q[6] * q[3])


@jit(inline="always")
def _conv_tangent_product(net, ws, tws, l, TA, W, U, nb, k):
    kind = net.pool[l, 0]
    nk = TA.shape[0]
    A = TA
    if kind != POOL_NONE:
        A = _tangent_pooled(tws, net, nk, l)
        if kind == POOL_MAX:
            argmax = _pooled_block(ws.argmax, net, ws.bs, l, nb)
            maxpool_jvp_grouped(TA, argmax, k, A)
        else:  # linear: the JVP is the same average
            avgpool_forward(TA, net.pool[l, 1:8], A)
    if net.kind[l] == KIND_DENSE:
        matmul(A, W, U)
        return
    g = net.geom[l]
    cols = view(tws.cols, 0, nk * g[8] * g[9], W.shape[0])
    conv_linear(A, W, g, cols, U)


@jit(inline="always")
def _dense_tangent_product(net, ws, tws, l, TA, W, U, nb, k):
    matmul(TA, W, U)


@dispatch_on_types(
    lambda net, *_: _conv_tangent_product if _is_conv(net) else _dense_tangent_product
)
def tangent_product(net, ws, tws, l, TA, W, U, nb, k):
    """``U = P(T) W_l`` (overwritten) for the ``nb * k`` tangent rows ``TA``
    of layer ``l``'s input: ``P`` the JVP of the layer's input pooling (the
    identity if it pools none; pooled rows kept in ``tws.pooled``), then the
    layer's product without intercept."""
    impl = _conv_tangent_product if _is_conv(net) else _dense_tangent_product
    return impl(net, ws, tws, l, TA, W, U, nb, k)


@jit(inline="always")
def _conv_tangent_weight_grad(net, ws, tws, l, TA, GU, gW):
    nk = TA.shape[0]
    A = TA
    if net.pool[l, 0] != POOL_NONE:  # the pooled rows tangent_product kept
        A = _tangent_pooled(tws, net, nk, l)
    if net.kind[l] == KIND_DENSE:
        matmul(A.T, GU, gW)
        return
    g = net.geom[l]
    cols = view(tws.cols, 0, nk * g[8] * g[9], gW.shape[0])
    # the tangent path has no intercept: its bias gradient is discarded
    conv_weight_grad(A, GU, g, cols, gW, tws.gbias[: gW.shape[1]])


@jit(inline="always")
def _dense_tangent_weight_grad(net, ws, tws, l, TA, GU, gW):
    matmul(TA.T, GU, gW)


@dispatch_on_types(
    lambda net, *_: (
        _conv_tangent_weight_grad if _is_conv(net) else _dense_tangent_weight_grad
    )
)
def tangent_weight_grad(net, ws, tws, l, TA, GU, gW):
    """``gW`` (overwritten): the gradient w.r.t. ``W_l`` of a function of
    ``U = P(T) W_l`` whose gradient w.r.t. ``U`` is ``GU``."""
    impl = _conv_tangent_weight_grad if _is_conv(net) else _dense_tangent_weight_grad
    return impl(net, ws, tws, l, TA, GU, gW)


@jit(inline="always")
def _conv_tangent_input_grad(net, ws, tws, l, GU, W, GT, nb, k):
    kind = net.pool[l, 0]
    nk = GU.shape[0]
    target = GT
    if kind != POOL_NONE:
        q = net.pool[l]
        target = view(tws.dpool, 0, nk, q[5] * q[6] * q[3])
    product_input_grad(net, l, GU, W, tws.cols, target)
    if kind == POOL_MAX:
        argmax = _pooled_block(ws.argmax, net, ws.bs, l, nb)
        maxpool_backward_grouped(target, argmax, k, GT)
    elif kind == POOL_AVG:
        avgpool_backward(target, net.pool[l, 1:8], GT)


@jit(inline="always")
def _dense_tangent_input_grad(net, ws, tws, l, GU, W, GT, nb, k):
    matmul(GU, W.T, GT)


@dispatch_on_types(
    lambda net, *_: (
        _conv_tangent_input_grad if _is_conv(net) else _dense_tangent_input_grad
    )
)
def tangent_input_grad(net, ws, tws, l, GU, W, GT, nb, k):
    """``GT`` (overwritten): the gradient w.r.t. the (unpooled) tangent rows
    of layer ``l``'s input, from ``GU``, the one w.r.t. ``U``."""
    impl = _conv_tangent_input_grad if _is_conv(net) else _dense_tangent_input_grad
    return impl(net, ws, tws, l, GU, W, GT, nb, k)


@jit(inline="always")
def _conv_primal_weight_grad(net, ws, tws, l, Ain, GZ, gW, gb):
    fin, fout = gW.shape
    T = view(tws.wtmp, 0, fin, fout)
    gbt = tws.gbias[:fout]
    # pooled primal rows, if the layer pools, from ws.pooled (primal pass)
    _conv_layer_weight_grad(net, ws, l, Ain, GZ, T, gbt)
    for a in range(fin):
        for c in range(fout):
            gW[a, c] += T[a, c]
    for c in range(fout):
        gb[c] += gbt[c]


@jit(inline="always")
def _dense_primal_weight_grad(net, ws, tws, l, Ain, GZ, gW, gb):
    nb, nout = GZ.shape
    nin = Ain.shape[1]
    T = view(tws.wtmp, 0, nin, nout)
    matmul(Ain.T, GZ, T)
    for a in range(nin):
        for c in range(nout):
            gW[a, c] += T[a, c]
    for r in range(nb):
        for j in range(nout):
            gb[j] += GZ[r, j]


@dispatch_on_types(
    lambda net, *_: (
        _conv_primal_weight_grad if _is_conv(net) else _dense_primal_weight_grad
    )
)
def primal_weight_grad(net, ws, tws, l, Ain, GZ, gW, gb):
    """``gW += dz/dW^T GZ`` and ``gb += sum GZ``: the penalty's gradient
    through layer ``l``'s primal pre-activations ``z`` (the slopes in the
    tangent pass depend on ``z``), from the primal input rows ``Ain``."""
    impl = _conv_primal_weight_grad if _is_conv(net) else _dense_primal_weight_grad
    return impl(net, ws, tws, l, Ain, GZ, gW, gb)


@jit
def tangent_forward(theta, net, opts, topts, ws, tws, TV, rows, seed, step):
    """Forward-mode (Jacobian-vector) pass along every sample's tangents.

    With ``T_0 = m_0 * v`` (the input dropout mask, if any), per layer
    ``U_l = P_l(T_l) W_l`` and, for hidden layers, ``T_{l+1} = m_{l+1}
    f'(z_l) U_l`` (the primal pass's masks and pre-activations; ``P_l`` the
    JVP of the layer's input pooling, the identity without one, and ``T_l
    W_l`` a convolution's linear map for a convolutional layer: Simard et
    al. 1992 propagate the tangent through each layer's linear part and
    scale it by the units' slopes); ``J = U_{L-1}`` is the directional
    derivative of the logits along ``v``.  All tangents of a batch are
    stacked (row ``r * k + t``), so each layer is one product.

    Returns the raw penalty ``alpha sum_r sw_r sum_t ||J_{r,t}||^2`` and
    leaves ``2 alpha sw_r J_{r,t}`` (its gradient w.r.t. ``J``) in the
    ``grad_u`` buffer for :func:`tangent_backward`.
    """
    units = net.units
    uoff = net.uoff
    H = ws.act
    HT = ws.masked
    S = ws.mask
    bs_max = ws.bs
    idx = rows.idx
    kid = rows.kid
    i0 = rows.i0
    nb = rows.nb
    sw = rows.sw
    L = units.shape[0] - 1
    k = tangent_rows(topts)
    act = opts.act
    alpha = topts.alpha
    drop_in, drop_hid, relu_fused = dropout_flags(opts)
    n0 = units[0]
    nk = nb * k
    TA0 = view(tws.inputs, 0, nk, n0)
    s0 = tws.scale0[:n0]
    s0[:] = 1.0
    thr_in, sc_in64 = keep_threshold(opts.dropout.keep_input)
    scl = np.empty(1, dtype=theta.dtype)
    scl[0] = sc_in64
    k_all = topts.n_tangents
    for r in range(nb):
        i = idx[i0 + r]
        if drop_in:
            keep_scales(s0, layer_key(seed, step, kid[i0 + r], 0), thr_in, scl[0])
        if k == k_all:
            for t in range(k):
                row = TA0[r * k + t]
                base = t * n0
                for j in range(n0):
                    row[j] = TV[i, base + j] * s0[j]
        else:
            # one Rademacher combination sum_t e_t v_t of the sample's
            # tangents: E ||J sum_t e_t v_t||^2 = sum_t ||J v_t||^2, and
            # every penalty here is a quadratic form in J v
            key = layer_key(seed, step, kid[i0 + r], _TANGENT_STREAM)
            row = TA0[r]
            row[:] = 0.0
            for t in range(k_all):
                e = 1.0 if (unit_bits(key, t) & np.uint64(1)) else -1.0
                base = t * n0
                for j in range(n0):
                    row[j] += e * TV[i, base + j]
            for j in range(n0):
                row[j] *= s0[j]
    sc_hid = np.empty(1, dtype=theta.dtype)
    sc_hid[0] = keep_threshold(opts.dropout.keep_hidden)[1]
    for l in range(L):
        nin = units[l]
        nout = units[l + 1]
        W = weights(theta, net, l)
        TA = view(tws.inputs, _layer_offset(units, l, nk), nk, nin)
        U = view(tws.products, _layer_offset(units[1:], l, nk), nk, nout)
        tangent_product(net, ws, tws, l, TA, W, U, nb, k)
        if l == L - 1:
            break
        # derivatives of the (masked) hidden output w.r.t. its pre-activation
        Hl = view(H, bs_max * uoff[l + 1], nb, nout)
        hoff = _layer_offset(units[1:], l, nb)
        FP = view(tws.slope, hoff, nb, nout)
        FPP = view(tws.curvature, hoff, nb, nout)
        for r in range(nb):
            for j in range(nout):
                d1, d2 = slopes(Hl[r, j], act)
                FP[r, j] = d1
                FPP[r, j] = d2
        if drop_hid:
            if relu_fused:
                # kept and active <=> HT > 0 (scales were not stored)
                HTl = view(HT, bs_max * uoff[l + 1], nb, nout)
                for r in range(nb):
                    for j in range(nout):
                        FP[r, j] = sc_hid[0] if HTl[r, j] > 0 else 0.0
            else:
                Sl = view(S, bs_max * uoff[l + 1], nb, nout)
                for r in range(nb):
                    for j in range(nout):
                        FP[r, j] *= Sl[r, j]
                        FPP[r, j] *= Sl[r, j]
        TN = view(tws.inputs, _layer_offset(units, l + 1, nk), nk, nout)
        for r in range(nb):
            fr = FP[r]
            for t in range(k):
                a = r * k + t
                for j in range(nout):
                    TN[a, j] = fr[j] * U[a, j]
    nout = units[L]
    J = view(tws.products, _layer_offset(units[1:], L - 1, nk), nk, nout)
    G = view(tws.grad_u, 0, nk, nout)
    total = 0.0
    if topts.proba:
        return tangent_proba_penalty(
            J, G, view(H, bs_max * uoff[L], nb, nout), view(tws.grad_z, 0, nb, nout),
            tws.proba[:nout], sw, idx, i0, k, alpha, opts.out_kind != OUT_SOFTMAX,
        )  # fmt: skip
    for r in range(nb):
        w = sw[idx[i0 + r]]
        c = 2.0 * alpha * w
        acc = 0.0
        for t in range(k):
            a = r * k + t
            for j in range(nout):
                v = J[a, j]
                acc += v * v
                G[a, j] = c * v
        total += w * acc
    return alpha * total


@jit
def tangent_proba_penalty(J, G, Zo, GZ, p, sw, idx, i0, k, alpha, elementwise):
    """Penalty on the probabilities' directional derivatives ``dp = M q``
    (``q = J v`` the logits', ``M = diag(p) - p p^T`` for a softmax, or
    ``diag(p (1 - p))`` for logistic outputs, ``elementwise``):
    ``alpha sum_r sw_r sum_t ||dp_{r,t}||^2``.

    Leaves its gradient w.r.t. ``q`` in ``G`` (``2 M dp``) and w.r.t. the
    logits ``z`` in ``GZ``: ``2 sum_t (dp_j^2 - p_j ||dp||^2 - dp_j (p.dp))``
    (softmax), ``2 sum_t dp q p (1 - p) (1 - 2p)`` (logistic).
    """
    nb, nout = Zo.shape
    total = 0.0
    for r in range(nb):
        w = sw[idx[i0 + r]]
        c = 2.0 * alpha * w
        for j in range(nout):
            GZ[r, j] = 0.0
        if elementwise:  # logistic outputs: M = diag(p (1 - p))
            acc = 0.0
            for j in range(nout):
                pr = 1.0 / (1.0 + math.exp(-Zo[r, j]))
                sl = pr * (1.0 - pr)
                for t in range(k):
                    a = r * k + t
                    q = J[a, j]
                    d = sl * q
                    acc += d * d
                    G[a, j] = c * d * sl
                    GZ[r, j] += c * d * q * sl * (1.0 - 2.0 * pr)
            total += w * acc
            continue
        zmax = -np.inf
        for j in range(nout):
            zmax = max(zmax, Zo[r, j])
        tot = 0.0
        for j in range(nout):
            e = math.exp(Zo[r, j] - zmax)
            p[j] = e
            tot += e
        for j in range(nout):
            p[j] = p[j] / tot
        acc = 0.0
        for t in range(k):
            a = r * k + t
            sq = 0.0
            for j in range(nout):
                sq += p[j] * J[a, j]
            # dp overwrites G's row, then G = 2 M dp
            dd = 0.0
            pd = 0.0
            for j in range(nout):
                d = p[j] * (J[a, j] - sq)
                G[a, j] = d
                dd += d * d
                pd += p[j] * d
            acc += dd
            for j in range(nout):
                d = G[a, j]
                GZ[r, j] += c * (d * d - p[j] * dd - d * pd)
                G[a, j] = c * (p[j] * d - p[j] * pd)
        total += w * acc
    return alpha * total


@jit
def tangent_backward(theta, net, opts, topts, ws, tws, nb):
    """Exact gradient of the penalty of :func:`tangent_forward`, into the
    ``pgrad`` buffer (raw scale, parameter layout).

    Reverse mode through the tangent pass: with ``G_U`` the gradient w.r.t.
    ``U_l`` and ``G_Z`` the one w.r.t. the primal pre-activation ``z_l``
    (zero at the logits, which the penalty does not read),
    ``dW_l = T_l^T G_U + A_l^T G_Z`` (``A_l`` the masked primal input;
    both pooled, and the products a convolution's adjoints, for a
    convolutional net), ``db_l = sum G_Z``; below a hidden layer with
    ``G_T = G_U W_l^T`` (through the pooling's adjoint, if any):
    ``G_U <- m f'(z) G_T`` and ``G_Z <- m f'(z) (G_Z W_l^T)
    + m f''(z) sum_t U_{t} G_{T,t}`` (the slope f'(z) depends on the
    weights through z).
    """
    units = net.units
    uoff = net.uoff
    H = ws.act
    HT = ws.masked
    bs_max = ws.bs
    L = units.shape[0] - 1
    k = tangent_rows(topts)
    act = opts.act
    drop_in, drop_hid, _ = dropout_flags(opts)
    second = act == ACT_TANH or act == ACT_LOGISTIC
    nk = nb * k
    GR = tws.pgrad
    GR[:] = 0.0
    # ping-pong buffers: tangent deltas (u: this layer's, t: its input's)
    # and primal deltas (z: this layer's, n: its input's)
    buf_u = tws.grad_u
    buf_t = tws.grad_t
    buf_z = tws.grad_z
    buf_n = tws.grad_n
    have_gz = topts.proba  # the logits' delta, if any
    for l in range(L - 1, -1, -1):
        nin = units[l]
        nout = units[l + 1]
        W = weights(theta, net, l)
        TA = view(tws.inputs, _layer_offset(units, l, nk), nk, nin)
        GU = view(buf_u, 0, nk, nout)
        gW = weights(GR, net, l)
        tangent_weight_grad(net, ws, tws, l, TA, GU, gW)
        if have_gz:
            GZ = view(buf_z, 0, nb, nout)
            dropped = drop_in if l == 0 else drop_hid
            if dropped:
                Ain = view(HT, bs_max * uoff[l], nb, nin)
            else:
                Ain = view(H, bs_max * uoff[l], nb, nin)
            primal_weight_grad(net, ws, tws, l, Ain, GZ, gW, intercepts(GR, net, l))
        if l == 0:
            break
        GT = view(buf_t, 0, nk, nin)
        tangent_input_grad(net, ws, tws, l, GU, W, GT, nb, k)
        hoff = _layer_offset(units[1:], l - 1, nb)
        FP = view(tws.slope, hoff, nb, nin)
        FPP = view(tws.curvature, hoff, nb, nin)
        GN = view(buf_n, 0, nb, nin)
        if have_gz:
            GZ = view(buf_z, 0, nb, nout)
            layer_input_grad(net, ws, l, GZ, W, GN)
            for r in range(nb):
                for j in range(nin):
                    GN[r, j] *= FP[r, j]
        else:
            GN[:, :] = 0.0
        if second:
            Ul = view(tws.products, _layer_offset(units[1:], l - 1, nk), nk, nin)
            for r in range(nb):
                for t in range(k):
                    a = r * k + t
                    for j in range(nin):
                        GN[r, j] += FPP[r, j] * Ul[a, j] * GT[a, j]
        for r in range(nb):
            for t in range(k):
                a = r * k + t
                for j in range(nin):
                    GT[a, j] *= FP[r, j]
        buf_u, buf_t = buf_t, buf_u
        buf_z, buf_n = buf_n, buf_z
        have_gz = True


@jit
def batch_loss_grad(
    state, net, opts, topts, ws, tws, data, TV, order, i0, nb, seed, step
):
    """The plain mode's batch (``_plain.batch_loss_grad``) plus the tangent
    penalty, whose value joins the penalty sum and whose gradient joins the
    raw gradient."""
    L = net.units.shape[0] - 1
    theta = state.theta
    grad = state.grad
    rows = Rows(data.X, order, order, i0, nb, data.sw)
    pen_sum, sw_sum = forward(theta, net, opts, ws, rows, None, seed, step, TRAIN)
    pen_sum += tangent_forward(theta, net, opts, topts, ws, tws, TV, rows, seed, step)
    P = block(ws.act, net, ws.bs, L, nb)
    DL = block(ws.delta, net, ws.bs, L, nb)
    data_sum = output_loss_delta(
        P, DL, data.Y, data.T, data.sw, order, i0, opts.out_kind, opts.log_eps
    )
    backward(theta, grad, net, opts, ws, rows, None, seed, step, TRAIN)
    tangent_backward(theta, net, opts, topts, ws, tws, nb)
    pg = tws.pgrad
    for q in range(grad.shape[0]):
        grad[q] += pg[q]
    return data_sum, pen_sum, sw_sum


@jit
def run_epoch(state, net, opts, topts, ws, tws, data, TV, order, seed, step, opt_step,
              lr):  # fmt: skip
    """One epoch (see ``_plain.run_epoch``)."""
    n = order.shape[0]
    acc = 0.0
    for i0 in range(0, n, ws.bs):
        nb = min(ws.bs, n - i0)
        sums = batch_loss_grad(
            state, net, opts, topts, ws, tws, data, TV, order, i0, nb, seed, step
        )
        step += 1
        status, acc, opt_step = step_batch(
            state, net, opts.optim, sums, nb, opt_step, lr, acc
        )
        if status != STATUS_OK:
            return status, acc, step, opt_step
    return STATUS_OK, acc, step, opt_step


@jit
def objective(state, net, opts, topts, ws, tws, data, TV, idx, seed, step):
    """Objective of the rows ``idx`` as one batch; gradient in ``state.grad``."""
    nb = idx.shape[0]
    i0 = nb - nb  # a plain integer: a literal 0 would compile the batch again
    sums = batch_loss_grad(
        state, net, opts, topts, ws, tws, data, TV, idx, i0, nb, seed, step
    )
    par = finish_gradient(state, net, sums[2], opts.optim)
    return (sums[0] + sums[1]) / sums[2] + par
