"""Training mode 'fast dropout' (Wang & Manning 2013): instead of sampling
masks, propagate each pre-activation's mean and variance under the mask
distribution (a Gaussian approximation) and train on the expected loss.

Entry points: :func:`run_epoch` and :func:`objective`, with the contracts
of the plain mode's (``_plain.py``) plus the :class:`~._records.FastBuffers`.
Activation penalties and tangent propagation are not available in this
mode (they would need the activations' distribution); the Python side
refuses those combinations.

Convolutional nets (a :class:`~._records.ConvNet`): a convolution
propagates the moments with its filters and their squares, and pooled
inputs are pooled in both moments (see "layer kinds" below); the layer
pieces dispatch on the net's type, so dense kernels compile none of it.

Sparse input (``csr`` a :class:`~._records.Csr`, else None; see
``_passes.py``): the first layer's moments and gradient run over the stored
entries, where the inputs are constants (no variance) and
``q = x^2 (1 - p) / p``.
"""

import math

import numpy as np

from ...utils._numba import dispatch_on_types, jit
from ._conv import (
    avgpool_backward,
    avgpool_forward,
    conv_input_grad,
    conv_linear,
    conv_weight_grad,
    im2col,
    maxpool_backward,
    maxpool_forward,
    maxpool_jvp,
)
from ._elementwise import ACT_IDENTITY, ACT_RELU, ACT_TANH, sigmoid
from ._layers import (
    KIND_DENSE,
    POOL_MAX,
    POOL_NONE,
    _is_conv,
    _pooled_block,
    intercepts,
    matmul,
    repeated_intercepts,
    squared_weights,
    view,
    weights,
)
from ._losses import (
    OUT_EXP,
    OUT_IDENTITY,
    OUT_LOGISTIC,
    OUT_MULTILABEL,
    binary_log_loss,
    softmax_row_loss,
)
from ._optimizers import STATUS_OK, step_batch
from ._penalties import finish_gradient

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT_2 = math.sqrt(2.0)
_PI_8 = math.pi / 8.0


@jit(inline="always")
def _phi(x):
    return math.exp(-0.5 * x * x) / _SQRT_2PI


@jit(inline="always")
def _Phi(x):
    return 0.5 * math.erfc(-x / _SQRT_2)


@jit
def gauss_moments(mu, var, act):
    """Mean and variance of act(z), z ~ N(mu, var), and their partials.

    Returns (m, v, dm/dmu, dm/dvar, dv/dmu, dv/dvar).
    """
    mu = float(mu)  # float64 math: no float32 underflow into denormals
    var = float(var)
    if act == ACT_IDENTITY:
        return mu, var, 1.0, 0.0, 0.0, 1.0
    if act == ACT_RELU:
        var = max(var, 1e-12)
        sd = math.sqrt(var)
        a = mu / sd
        # saturated units: Phi(a), phi(a) below 1e-14 -- skip erfc/exp
        if a > 8.0:
            return mu, var, 1.0, 0.0, 0.0, 1.0
        if a < -8.0:
            return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        ph = _phi(a)
        Ph = _Phi(a)
        m = mu * Ph + sd * ph
        e2 = (mu * mu + var) * Ph + mu * sd * ph
        v = max(e2 - m * m, 0.0)
        dm_dmu = Ph
        dm_dvar = ph / (2.0 * sd)
        de2_dmu = 2.0 * mu * Ph + 2.0 * sd * ph
        de2_dvar = Ph
        dv_dmu = de2_dmu - 2.0 * m * dm_dmu
        dv_dvar = de2_dvar - 2.0 * m * dm_dvar
        if e2 - m * m <= 0.0:
            dv_dmu = 0.0
            dv_dvar = 0.0
        return m, v, dm_dmu, dm_dvar, dv_dmu, dv_dvar
    # logistic or tanh (tanh(z) = 2 sigmoid(2z) - 1): probit approximations
    c = 1.0
    if act == ACT_TANH:
        c = 2.0
    mu_c = c * mu
    var_c = c * c * var
    k1 = 1.0 / math.sqrt(1.0 + _PI_8 * var_c)
    s1 = sigmoid(mu_c * k1)
    dk1 = -0.5 * _PI_8 * k1 * k1 * k1
    ds1_dmu = s1 * (1.0 - s1) * k1
    ds1_dvar = s1 * (1.0 - s1) * mu_c * dk1
    # variance: delta method with the probit-smoothed slope g = dE/dmu,
    # v = g^2 var (exact to first order in var, saturates for large var)
    g = s1 * (1.0 - s1) * k1
    dg_dmu = (1.0 - 2.0 * s1) * ds1_dmu * k1
    dg_dvar = (1.0 - 2.0 * s1) * ds1_dvar * k1 + s1 * (1.0 - s1) * dk1
    v = g * g * var_c
    dv_dmu = 2.0 * g * var_c * dg_dmu
    dv_dvar = g * g + 2.0 * g * var_c * dg_dvar
    if act == ACT_TANH:
        # m = 2 s1 - 1, v = 4 var(s1); chain through mu_c = 2 mu, var_c = 4 var
        return (
            2.0 * s1 - 1.0,
            4.0 * v,
            2.0 * ds1_dmu * 2.0,
            2.0 * ds1_dvar * 4.0,
            4.0 * dv_dmu * 2.0,
            4.0 * dv_dvar * 4.0,
        )
    return s1, v, ds1_dmu, ds1_dvar, dv_dmu, dv_dvar


@jit
def sparse_moments(csr, idx, i0, nb, W, Mout, Vout, p):
    """The first layer's pre-activation moments from CSR rows (before the
    intercept): ``Mout = X W`` and ``Vout = Q W^2`` over the stored entries,
    ``q = x^2 (1 - p) / p``."""
    nout = W.shape[1]
    data = csr.data
    indices = csr.indices
    indptr = csr.indptr
    cq = np.empty(1, dtype=W.dtype)  # (1 - p) / p in the model dtype
    cq[0] = (1.0 - p) / p
    c = cq[0]
    for r in range(nb):
        mo = Mout[r]
        vo = Vout[r]
        for a in range(nout):
            mo[a] = 0.0
            vo[a] = 0.0
        i = idx[i0 + r]
        for k in range(indptr[i], indptr[i + 1]):
            x = data[k]
            q = x * x * c
            w = W[indices[k]]
            for a in range(nout):
                mo[a] += x * w[a]
                vo[a] += q * (w[a] * w[a])


@jit
def sparse_moments_grad(csr, idx, i0, nb, W, Dm, Dv, gW, gb, p):
    """The first layer's weight gradient from CSR rows (overwritten):
    ``gW = X^T Dm + 2 W * (Q^T Dv)`` over the stored entries and
    ``gb = sum_rows Dm``."""
    nin, nout = gW.shape
    data = csr.data
    indices = csr.indices
    indptr = csr.indptr
    cq = np.empty(1, dtype=W.dtype)
    cq[0] = 2.0 * (1.0 - p) / p
    c = cq[0]
    flat = gW.reshape(nin * nout)
    for k in range(nin * nout):
        flat[k] = 0.0
    for a in range(nout):
        gb[a] = 0.0
    for r in range(nb):
        dm = Dm[r]
        dv = Dv[r]
        for a in range(nout):
            gb[a] += dm[a]
        i = idx[i0 + r]
        for k in range(indptr[i], indptr[i + 1]):
            x = data[k]
            q2 = x * x * c
            j = indices[k]
            w = W[j]
            g = gW[j]
            for a in range(nout):
                g[a] += x * dm[a] + q2 * w[a] * dv[a]


# --- layer kinds --------------------------------------------------------------
# What the moment passes need of a layer, by the net's type when a kernel
# compiles (as the plain passes' pieces in ``_layers.py``): for a dense
# :class:`~._records.Net` these are the two dense products and their
# gradients, and no convolution or pooling code is compiled.
#
# A layer's input block holds each unit's mean ``m`` and, after its dropout
# mask, variance ``q`` (see :func:`batch_loss_grad`).  The pre-activation of
# an output unit is ``sum_i W_i x_i + b`` over its inputs ``i`` (a dense
# layer's every input; a convolution's receptive field, the padding
# contributing zeros), so with independent inputs its mean is ``m W + b``
# and its variance ``q W^2`` (Wang & Manning 2013) input by input:
# a convolution propagates the means with its filters and the variances
# with the squared filters, through the same im2col product.
#
# Pooling of the input (after the masks, as in the sampled passes):
# average pooling is linear, so a window of ``k = ph * pw`` independent
# units has the mean of their means and ``sum q / k^2`` as variance.  Max
# pooling has no closed form that stays Gaussian (Clark 1961, "The greatest
# of a finite set of random variables", gives the moments of the max of
# two Gaussians exactly and of more only approximately, pair by pair), so
# it is linearised at the means (the delta method; the same linearisation
# as max pooling's directional derivative, ``maxpool_jvp``): each window's
# unit with the largest mean passes on its mean and variance unchanged,
# and gets both gradients.  This ignores the chance that another unit of
# the window exceeds it under the masks, so the mean is too low
# (E[max] >= max E) and the variance is the winner's alone; the error
# vanishes as the gaps between the window's means grow relative to their
# standard deviations, and without dropout (no variance) the winner is the
# sampled pass's.  The winners change only where two means tie, so the
# objective is smooth elsewhere.


@jit(inline="always")
def _scale_rows(A, k):
    """``A /= k`` with ``1 / k`` in ``A``'s dtype (float32 stays float32)."""
    s = np.empty(1, dtype=A.dtype)
    s[0] = 1.0 / k
    c = s[0]
    nb, n = A.shape
    for r in range(nb):
        for j in range(n):
            A[r, j] *= c


@jit(inline="always")
def _dense_moments_forward(net, ws, fws, l, M, Q, W, Wsq, b, Mout, Vout):
    matmul(M, W, Mout)
    matmul(Q, Wsq, Vout)
    return b


@jit(inline="always")
def _conv_moments_forward(net, ws, fws, l, M, Q, W, Wsq, b, Mout, Vout):
    kind = net.pool[l, 0]
    nb = M.shape[0]
    Am = M
    Aq = Q
    if kind != POOL_NONE:
        Am = _pooled_block(ws.pooled, net, ws.bs, l, nb)
        Aq = _pooled_block(fws.qpool, net, ws.bs, l, nb)
        pgeom = net.pool[l, 1:8]
        if kind == POOL_MAX:
            # the winner by mean (see above): its mean and its variance
            argmax = _pooled_block(ws.argmax, net, ws.bs, l, nb)
            maxpool_forward(M, pgeom, Am, argmax)
            maxpool_jvp(Q, argmax, Aq)
        else:
            avgpool_forward(M, pgeom, Am)
            avgpool_forward(Q, pgeom, Aq)  # mean of the q's, then / k
            _scale_rows(Aq, pgeom[3] * pgeom[6])
    if net.kind[l] == KIND_DENSE:
        matmul(Am, W, Mout)
        matmul(Aq, Wsq, Vout)
        return b
    g = net.geom[l]
    cols = view(ws.cols, 0, nb * g[8] * g[9], W.shape[0])
    conv_linear(Am, W, g, cols, Mout)
    conv_linear(Aq, Wsq, g, cols, Vout)
    return repeated_intercepts(b, ws.bexp, Mout.shape[1])


@dispatch_on_types(
    lambda net, *_: _conv_moments_forward if _is_conv(net) else _dense_moments_forward
)
def moments_forward(net, ws, fws, l, M, Q, W, Wsq, b, Mout, Vout):
    """Layer ``l``'s pre-activation moments without the intercept:
    ``Mout`` from the input means ``M``, ``Vout`` from the masked
    variances ``Q`` and the squared weights ``Wsq`` (the input pooled
    first if the layer pools it, the pooled blocks kept in ``ws.pooled``
    and ``fws.qpool`` for the backward pass).  Returns the intercepts, one
    per output unit (see :func:`~._layers.layer_forward`)."""
    impl = _conv_moments_forward if _is_conv(net) else _dense_moments_forward
    return impl(net, ws, fws, l, M, Q, W, Wsq, b, Mout, Vout)


@jit(inline="always")
def _dense_moments_weight_grad(net, ws, fws, l, M, Q, W, Dm, Dv, gW, gb, tmp):
    matmul(M.T, Dm, gW)
    matmul(Q.T, Dv, tmp)
    nin, nout = W.shape
    for a in range(nin):
        for c in range(nout):
            gW[a, c] += 2.0 * W[a, c] * tmp[a, c]
    gb[:] = 0.0
    for r in range(Dm.shape[0]):
        for j in range(nout):
            gb[j] += Dm[r, j]


@jit(inline="always")
def _conv_moments_weight_grad(net, ws, fws, l, M, Q, W, Dm, Dv, gW, gb, tmp):
    nb = M.shape[0]
    Am = M
    Aq = Q
    if net.pool[l, 0] != POOL_NONE:  # the pooled blocks the forward pass kept
        Am = _pooled_block(ws.pooled, net, ws.bs, l, nb)
        Aq = _pooled_block(fws.qpool, net, ws.bs, l, nb)
    if net.kind[l] == KIND_DENSE:
        _dense_moments_weight_grad(net, ws, fws, l, Am, Aq, W, Dm, Dv, gW, gb, tmp)
        return
    g = net.geom[l]
    m = nb * g[8] * g[9]
    cols = view(ws.cols, 0, m, W.shape[0])
    conv_weight_grad(Am, Dm, g, cols, gW, gb)
    im2col(Aq, g, cols)
    nin, nout = W.shape
    matmul(cols.T, Dv.reshape((m, nout)), tmp)
    for a in range(nin):
        for c in range(nout):
            gW[a, c] += 2.0 * W[a, c] * tmp[a, c]


@dispatch_on_types(
    lambda net, *_: (
        _conv_moments_weight_grad if _is_conv(net) else _dense_moments_weight_grad
    )
)
def moments_weight_grad(net, ws, fws, l, M, Q, W, Dm, Dv, gW, gb, tmp):
    """``gW`` and ``gb`` of layer ``l`` (overwritten) from the deltas of
    its pre-activations' means ``Dm`` and variances ``Dv``:
    ``gW = A^T Dm + 2 W * (Aq^T Dv)`` with ``A``, ``Aq`` the (pooled) input
    means and masked variances, ``gb = sum Dm``; ``tmp`` a weight-shaped
    scratch."""
    impl = _conv_moments_weight_grad if _is_conv(net) else _dense_moments_weight_grad
    return impl(net, ws, fws, l, M, Q, W, Dm, Dv, gW, gb, tmp)


@jit(inline="always")
def _dense_moments_input_grad(net, ws, l, Dm, Dv, W, Wsq, Dm_in, Dq_in):
    matmul(Dm, W.T, Dm_in)
    matmul(Dv, Wsq.T, Dq_in)


@jit(inline="always")
def _product_input_grad(net, ws, l, Dout, W, Din):
    """``Din`` from the output deltas through layer ``l``'s product alone
    (``W`` the weights or their squares)."""
    if net.kind[l] == KIND_DENSE:
        matmul(Dout, W.T, Din)
    else:
        g = net.geom[l]
        dcols = view(ws.cols, 0, Dout.shape[0] * g[8] * g[9], W.shape[0])
        conv_input_grad(Dout, W, g, dcols, Din)


@jit(inline="always")
def _conv_moments_input_grad(net, ws, l, Dm, Dv, W, Wsq, Dm_in, Dq_in):
    kind = net.pool[l, 0]
    if kind == POOL_NONE:
        _product_input_grad(net, ws, l, Dm, W, Dm_in)
        _product_input_grad(net, ws, l, Dv, Wsq, Dq_in)
        return
    nb = Dm.shape[0]
    T = _pooled_block(ws.dpool, net, ws.bs, l, nb)  # one pooled delta at a time
    pgeom = net.pool[l, 1:8]
    if kind == POOL_MAX:
        argmax = _pooled_block(ws.argmax, net, ws.bs, l, nb)
        _product_input_grad(net, ws, l, Dm, W, T)
        maxpool_backward(T, argmax, Dm_in)
        _product_input_grad(net, ws, l, Dv, Wsq, T)
        maxpool_backward(T, argmax, Dq_in)
    else:
        _product_input_grad(net, ws, l, Dm, W, T)
        avgpool_backward(T, pgeom, Dm_in)
        _product_input_grad(net, ws, l, Dv, Wsq, T)
        _scale_rows(T, pgeom[3] * pgeom[6])  # the variance's 1 / k^2
        avgpool_backward(T, pgeom, Dq_in)


@dispatch_on_types(
    lambda net, *_: (
        _conv_moments_input_grad if _is_conv(net) else _dense_moments_input_grad
    )
)
def moments_input_grad(net, ws, l, Dm, Dv, W, Wsq, Dm_in, Dq_in):
    """The deltas of layer ``l``'s input block (before pooling,
    overwritten): ``Dm_in`` w.r.t. the means and ``Dq_in`` w.r.t. the
    masked variances, from the output deltas ``Dm`` and ``Dv``."""
    impl = _conv_moments_input_grad if _is_conv(net) else _dense_moments_input_grad
    return impl(net, ws, l, Dm, Dv, W, Wsq, Dm_in, Dq_in)


@jit
def forward_moments(theta, net, opts, ws, fws, X, csr, idx, i0, nb):
    """The forward half of :func:`batch_loss_grad`: means into ``ws.act``,
    variances into ``fws.var`` (the output block: the logits'), q's and
    the moments' partials into ``ws.masked`` and ``ws.mask`` (of CSR rows
    ``csr`` unless None: then no input block, and the first layer's q's
    are not stored)."""
    units = net.units
    uoff = net.uoff
    H = ws.act
    HT = ws.masked
    S = ws.mask
    V = fws.var
    WB = fws.wsq
    bs_max = ws.bs
    L = units.shape[0] - 1
    act = opts.act
    p_in = opts.dropout.keep_input
    p_hid = opts.dropout.keep_hidden
    n0 = units[0]
    if csr is None:
        H0 = view(H, 0, nb, n0)
        V0 = view(V, 0, nb, n0)
        for r in range(nb):
            i = idx[i0 + r]
            for j in range(n0):
                H0[r, j] = X[i, j]
                V0[r, j] = 0.0
    # S holds 4 partials per hidden unit: rows of width 4 * n_l (offset 4*...)
    for l in range(L):
        nin = units[l]
        nout = units[l + 1]
        p = p_in if l == 0 else p_hid
        W = weights(theta, net, l)
        b = intercepts(theta, net, l)
        Mout = view(H, bs_max * uoff[l + 1], nb, nout)
        Vout = view(V, bs_max * uoff[l + 1], nb, nout)
        if l == 0 and csr is not None:
            sparse_moments(csr, idx, i0, nb, W, Mout, Vout, p)
        else:
            M = view(H, bs_max * uoff[l], nb, nin)
            Vin = view(V, bs_max * uoff[l], nb, nin)
            Q = view(HT, bs_max * uoff[l], nb, nin)
            for r in range(nb):
                for j in range(nin):
                    m = M[r, j]
                    Q[r, j] = Vin[r, j] / p + m * m * (1.0 - p) / p
            Wsq = view(WB, 0, W.shape[0], W.shape[1])
            squared_weights(W, Wsq)
            b = moments_forward(net, ws, fws, l, M, Q, W, Wsq, b, Mout, Vout)
        for r in range(nb):
            for j in range(nout):
                Mout[r, j] += b[j]
        if l < L - 1:
            P4 = view(S, 4 * bs_max * uoff[l + 1], nb, 4 * nout)
            for r in range(nb):
                for j in range(nout):
                    m, v, a1, a2, a3, a4 = gauss_moments(Mout[r, j], Vout[r, j], act)
                    Mout[r, j] = m
                    Vout[r, j] = v
                    P4[r, 4 * j] = a1
                    P4[r, 4 * j + 1] = a2
                    P4[r, 4 * j + 2] = a3
                    P4[r, 4 * j + 3] = a4
    # the output block holds the logits' means and variances


@jit
def batch_loss_grad(state, net, opts, ws, fws, data, csr, order, i0, nb):
    """Fast dropout: expected loss under Gaussian pre-activations.

    With inverted dropout on the inputs of layer l (keep probability p), a
    unit's input ``a`` (mean m, variance s, independent of its mask) becomes
    ``m a / p`` with mean m and variance ``q = s / p + m^2 (1 - p) / p``, so
    the pre-activation ``z = sum_i W_ij (mask_i a_i / p) + b_j`` has mean
    ``m W + b`` and variance ``q W^2`` (independence across units, the
    usual fast-dropout assumption).  Hidden nonlinearities map (mean, var)
    to (mean, var) by ``gauss_moments``; the output loss is the
    second-order (delta-method) expectation
    ``E[l(z)] ~= l(mu) + 0.5 sum_k var_k p_k (1 - p_k)``.

    Returns ``(data_loss_sum, 0.0, sw_sum)``; raw gradient into
    ``state.grad``.  Buffers: ``ws.act`` the means, ``fws.var`` the
    variances, ``ws.masked`` the q's, ``ws.mask`` the four partials of the
    moments per hidden unit, ``ws.delta`` / ``fws.dvar`` the mean and
    variance deltas.
    """
    theta = state.theta
    grad = state.grad
    units = net.units
    uoff = net.uoff
    X = data.X
    Y = data.Y
    T = data.T
    sw = data.sw
    idx = order
    H = ws.act
    HT = ws.masked
    S = ws.mask
    D = ws.delta
    V = fws.var
    DV = fws.dvar
    WB = fws.wsq
    bs_max = ws.bs
    L = units.shape[0] - 1
    out_kind = opts.out_kind
    eps = opts.log_eps
    p_in = opts.dropout.keep_input
    p_hid = opts.dropout.keep_hidden
    sw_sum = 0.0
    for r in range(nb):
        sw_sum += sw[idx[i0 + r]]
    forward_moments(theta, net, opts, ws, fws, X, csr, idx, i0, nb)
    nout = units[L]
    Mo = view(H, bs_max * uoff[L], nb, nout)
    Vo = view(V, bs_max * uoff[L], nb, nout)
    Do = view(D, bs_max * uoff[L], nb, nout)
    DVo = view(DV, bs_max * uoff[L], nb, nout)
    total = 0.0
    for r in range(nb):
        i = idx[i0 + r]
        y = Y[i]
        w = sw[i]
        if out_kind == OUT_IDENTITY:
            # E[(z - t)^2] / 2 = ((mu - t)^2 + var) / 2, exactly; averaged
            # over the outputs as the deterministic loss
            acc = 0.0
            for k in range(nout):
                d = Mo[r, k] - T[i, k]
                acc += d * d + Vo[r, k]
                Do[r, k] = w * d
                DVo[r, k] = w * 0.5
            total += w * 0.5 * acc / nout
        elif out_kind == OUT_EXP:
            # E[exp(z)] = exp(mu + var / 2) (log-normal mean), exactly
            acc = 0.0
            for k in range(nout):
                t = T[i, k]
                m = math.exp(Mo[r, k] + 0.5 * Vo[r, k])
                dev = m - t
                if t > 0.0:
                    dev += t * (math.log(t) - Mo[r, k])
                acc += dev
                Do[r, k] = w * (m - t)
                DVo[r, k] = w * 0.5 * m
            total += w * acc
        elif out_kind == OUT_MULTILABEL:
            # the binary output's second-order correction, per label
            acc = 0.0
            for k in range(nout):
                z = Mo[r, k]
                t = T[i, k]
                pz = sigmoid(z)
                c2 = pz * (1.0 - pz)
                acc += binary_log_loss(z, t, eps) + 0.5 * Vo[r, k] * c2
                Do[r, k] = w * ((pz - t) + 0.5 * Vo[r, k] * (1.0 - 2.0 * pz) * c2)
                DVo[r, k] = w * 0.5 * c2
            total += w * acc
        elif out_kind == OUT_LOGISTIC:
            z = Mo[r, 0]
            pz = sigmoid(z)
            base = binary_log_loss(z, y, eps)
            c2 = pz * (1.0 - pz)
            total += w * (base + 0.5 * Vo[r, 0] * c2)
            # d/dz [0.5 var p(1-p)] = 0.5 var (1 - 2p) p (1 - p)
            Do[r, 0] = w * ((pz - y) + 0.5 * Vo[r, 0] * (1.0 - 2.0 * pz) * c2)
            DVo[r, 0] = w * 0.5 * c2
        else:
            base = softmax_row_loss(Mo, r, y)
            corr = 0.0
            sacc = 0.0
            for k in range(nout):
                pk = Mo[r, k]
                corr += Vo[r, k] * pk * (1.0 - pk)
                sacc += Vo[r, k] * (1.0 - 2.0 * pk) * pk
            total += w * (base + 0.5 * corr)
            for k in range(nout):
                pk = Mo[r, k]
                g = pk - (1.0 if k == y else 0.0)
                g += 0.5 * (Vo[r, k] * (1.0 - 2.0 * pk) * pk - pk * sacc)
                Do[r, k] = w * g
                DVo[r, k] = w * 0.5 * pk * (1.0 - pk)
    # backward
    for l in range(L - 1, -1, -1):
        nin = units[l]
        nout = units[l + 1]
        p = p_in if l == 0 else p_hid
        W = weights(theta, net, l)
        Dm = view(D, bs_max * uoff[l + 1], nb, nout)
        Dv = view(DV, bs_max * uoff[l + 1], nb, nout)
        gW = weights(grad, net, l)
        gb = intercepts(grad, net, l)
        if l == 0 and csr is not None:
            sparse_moments_grad(csr, idx, i0, nb, W, Dm, Dv, gW, gb, p)
            break
        M = view(H, bs_max * uoff[l], nb, nin)
        Q = view(HT, bs_max * uoff[l], nb, nin)
        tmp = view(WB, 0, W.shape[0], W.shape[1])
        moments_weight_grad(net, ws, fws, l, M, Q, W, Dm, Dv, gW, gb, tmp)
        if l == 0:
            break
        Wsq = view(WB, 0, W.shape[0], W.shape[1])
        squared_weights(W, Wsq)
        Dm_in = view(D, bs_max * uoff[l], nb, nin)
        Dv_in = view(DV, bs_max * uoff[l], nb, nin)
        moments_input_grad(net, ws, l, Dm, Dv, W, Wsq, Dm_in, Dv_in)  # Dv_in = dq
        P4 = view(S, 4 * bs_max * uoff[l], nb, 4 * nin)
        for r in range(nb):
            for j in range(nin):
                dq = Dv_in[r, j]
                gm = Dm_in[r, j] + dq * 2.0 * M[r, j] * (1.0 - p) / p
                gv = dq / p
                # through the nonlinearity's moments: (m, v) = f(mu, var)
                Dm_in[r, j] = gm * P4[r, 4 * j] + gv * P4[r, 4 * j + 2]
                Dv_in[r, j] = gm * P4[r, 4 * j + 1] + gv * P4[r, 4 * j + 3]
    return total, 0.0, sw_sum


@jit
def run_epoch(state, net, opts, ws, fws, data, order, seed, step, opt_step, lr):
    """One epoch (see ``_plain.run_epoch``); ``seed`` is unused (no masks)."""
    n = order.shape[0]
    acc = 0.0
    for i0 in range(0, n, ws.bs):
        nb = min(ws.bs, n - i0)
        sums = batch_loss_grad(state, net, opts, ws, fws, data, data.csr, order, i0, nb)
        step += 1
        status, acc, opt_step = step_batch(
            state, net, opts.optim, sums, nb, opt_step, lr, acc
        )
        if status != STATUS_OK:
            return status, acc, step, opt_step
    return STATUS_OK, acc, step, opt_step


@jit
def objective(state, net, opts, ws, fws, data, idx, seed, step):
    """Expected objective of the rows ``idx`` as one batch; gradient in
    ``state.grad`` (``seed`` and ``step`` unused: no masks)."""
    nb = idx.shape[0]
    i0 = nb - nb  # a plain integer: a literal 0 would compile the batch again
    sums = batch_loss_grad(state, net, opts, ws, fws, data, data.csr, idx, i0, nb)
    par = finish_gradient(state, net, sums[2], opts.optim)
    return (sums[0] + sums[1]) / sums[2] + par


@jit
def predict_moments(theta, net, opts, ws, fws, X, csr, mean, var):
    """Mean and variance of the output logits of every row of ``X`` (of the
    CSR rows ``csr`` unless None) under the Gaussian approximation
    (``ws.bs`` rows at a time): for an identity output, the predictive mean
    and variance of the dropout network."""
    n = mean.shape[0]
    L = net.units.shape[0] - 1
    nout = net.units[L]
    off = ws.bs * net.uoff[L]
    idx = np.arange(n)
    for i0 in range(0, n, ws.bs):
        nb = min(ws.bs, n - i0)
        forward_moments(theta, net, opts, ws, fws, X, csr, idx, i0, nb)
        Mo = view(ws.act, off, nb, nout)
        Vo = view(fws.var, off, nb, nout)
        for r in range(nb):
            for k in range(nout):
                mean[i0 + r, k] = Mo[r, k]
                var[i0 + r, k] = Vo[r, k]
