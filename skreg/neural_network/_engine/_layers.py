"""Layer kinds: the pieces of a layer that the passes call.

A dense layer ``l`` maps ``(nb, n_l)`` inputs to ``(nb, n_{l+1})``
pre-activations with ``W_l`` (``n_l x n_{l+1}``, row-major at
``w_off[l]`` of the flat parameter vector, scikit-learn's ``_pack`` order)
and ``b_l`` (at ``b_off[l]``).  Each piece below is what one pass needs of
a layer: the forward product (also the forward-mode / JVP product, which is
the same map applied to tangent rows), the weight gradient, the input
gradient, and the squared weights fast dropout propagates variances with.
A new layer kind (e.g. a convolution) provides the same pieces; the
sparse input layer (a CSR matrix's rows, at the end of this module) provides
the forward product and the weight gradient (no input gradient: the
techniques that need one work in the dense input space).
"""

import numpy as np

from ...utils._numba import dispatch_on_types, jit
from ._conv import (
    avgpool_backward,
    avgpool_forward,
    conv_input_grad,
    conv_linear,
    conv_weight_grad,
    maxpool_backward,
    maxpool_forward,
)
from ._products import matmul
from ._random import keep_threshold, layer_key, unit_bits
from ._records import ConvNet, LayerKind, PoolKind

KIND_DENSE = int(LayerKind.DENSE)
POOL_NONE = int(PoolKind.NONE)
POOL_MAX = int(PoolKind.MAX)
POOL_AVG = int(PoolKind.AVG)


@jit(inline="always")
def view(buf, off, rows, cols):
    """The ``rows x cols`` C-ordered block of the flat ``buf`` at ``off``."""
    return buf[off : off + rows * cols].reshape((rows, cols))


@jit(inline="always")
def weights(theta, net, l):
    """``W_l`` as a view of the flat vector (or of a gradient alike)."""
    return view(theta, net.w_off[l], net.fan_in[l], net.fan_out[l])


@jit(inline="always")
def intercepts(theta, net, l):
    """``b_l`` as a view of the flat vector (or of a gradient alike)."""
    return theta[net.b_off[l] : net.b_off[l] + net.fan_out[l]]


@jit(inline="always")
def block(buf, net, bs, l, nb):
    """Layer ``l``'s rows in a per-layer buffer of ``bs`` rows per layer."""
    return view(buf, bs * net.uoff[l], nb, net.units[l])


@jit(inline="always")
def dense_forward(A, W, out):
    """``out = A W``: pre-activations without the intercept (the JVP of a
    tangent row is the same product)."""
    matmul(A, W, out)


@jit(inline="always")
def dense_weight_grad(A, Dout, gW, gb):
    """``gW = A^T Dout`` and ``gb = sum_rows Dout`` (overwritten)."""
    matmul(A.T, Dout, gW)
    nb, nout = Dout.shape
    gb[:] = 0.0
    for r in range(nb):
        for j in range(nout):
            gb[j] += Dout[r, j]


@jit(inline="always")
def dense_input_grad(Dout, W, Din):
    """``Din = Dout W^T``: the gradient w.r.t. the layer's input."""
    matmul(Dout, W.T, Din)


@jit(inline="always")
def squared_weights(W, out):
    """``out = W * W`` elementwise (variance propagation)."""
    nin, nout = W.shape
    for a in range(nin):
        for c in range(nout):
            out[a, c] = W[a, c] * W[a, c]


# --- layer kinds: dense or convolution, with an optionally pooled input -------
# In a :class:`~._records.ConvNet`, ``net.kind[l]`` picks the product and
# ``net.pool[l]`` pools the layer's input (the previous layer's output,
# masked if dropped) into ``ws.pooled`` first, where the backward pass finds
# it again.  The three pieces below dispatch on the net's *type* when a
# kernel is compiled (:func:`~skreg.utils._numba.dispatch_on_types`): for a
# dense :class:`~._records.Net` they are the dense layer's pieces and no
# convolution or pooling code is compiled (which would add about 70% to a
# dense fit's cold compile).  Called from Python they dispatch alike.


@jit(inline="always")
def _pooled_block(buf, net, bs, l, nb):
    q = net.pool[l]
    return view(buf, bs * q[8], nb, q[5] * q[6] * q[3])


@jit(inline="always")
def _conv_layer_forward(net, ws, l, Ain, W, b, out):
    kind = net.pool[l, 0]
    nb = Ain.shape[0]
    A = Ain
    if kind != POOL_NONE:
        A = _pooled_block(ws.pooled, net, ws.bs, l, nb)
        pgeom = net.pool[l, 1:8]
        if kind == POOL_MAX:
            argmax = _pooled_block(ws.argmax, net, ws.bs, l, nb)
            maxpool_forward(Ain, pgeom, A, argmax)
        else:
            avgpool_forward(Ain, pgeom, A)
    if net.kind[l] == KIND_DENSE:
        matmul(A, W, out)
        return b
    g = net.geom[l]
    cols = view(ws.cols, 0, nb * g[8] * g[9], W.shape[0])
    conv_linear(A, W, g, cols, out)
    return repeated_intercepts(b, ws.bexp, out.shape[1])


@jit(inline="always")
def repeated_intercepts(b, bexp, nout):
    """A convolution's intercepts once per output unit (``b`` repeated over
    the ``nout // len(b)`` positions), in the scratch ``bexp``."""
    bexp = bexp[:nout]
    cout = b.shape[0]
    for p in range(nout // cout):
        for c in range(cout):
            bexp[p * cout + c] = b[c]
    return bexp


@jit(inline="always")
def _dense_layer_forward(net, ws, l, Ain, W, b, out):
    matmul(Ain, W, out)
    return b


@jit(inline="always")
def _conv_layer_weight_grad(net, ws, l, Ain, Dout, gW, gb):
    A = Ain
    if net.pool[l, 0] != POOL_NONE:  # the pooled rows the forward pass kept
        A = _pooled_block(ws.pooled, net, ws.bs, l, Ain.shape[0])
    if net.kind[l] == KIND_DENSE:
        dense_weight_grad(A, Dout, gW, gb)
        return
    g = net.geom[l]
    cols = view(ws.cols, 0, A.shape[0] * g[8] * g[9], gW.shape[0])
    conv_weight_grad(A, Dout, g, cols, gW, gb)


@jit(inline="always")
def _dense_layer_weight_grad(net, ws, l, Ain, Dout, gW, gb):
    dense_weight_grad(Ain, Dout, gW, gb)


@jit(inline="always")
def product_input_grad(net, l, Dout, W, cols, target):
    """``target`` (overwritten): the gradient w.r.t. the (pooled) input of
    layer ``l``'s product alone, dense or convolution (``cols``: the
    im2col scratch)."""
    if net.kind[l] == KIND_DENSE:
        matmul(Dout, W.T, target)
    else:
        g = net.geom[l]
        dcols = view(cols, 0, Dout.shape[0] * g[8] * g[9], W.shape[0])
        conv_input_grad(Dout, W, g, dcols, target)


@jit(inline="always")
def _conv_layer_input_grad(net, ws, l, Dout, W, Din):
    kind = net.pool[l, 0]
    nb = Dout.shape[0]
    target = Din if kind == POOL_NONE else _pooled_block(ws.dpool, net, ws.bs, l, nb)
    product_input_grad(net, l, Dout, W, ws.cols, target)
    if kind == POOL_MAX:
        maxpool_backward(target, _pooled_block(ws.argmax, net, ws.bs, l, nb), Din)
    elif kind == POOL_AVG:
        avgpool_backward(target, net.pool[l, 1:8], Din)


@jit(inline="always")
def _dense_layer_input_grad(net, ws, l, Dout, W, Din):
    matmul(Dout, W.T, Din)


def _is_conv(net, *_):
    """Whether ``net`` (a record, or its numba type) is a ConvNet."""
    return isinstance(net, ConvNet) or getattr(net, "instance_class", None) is ConvNet


@dispatch_on_types(
    lambda net, *_: _conv_layer_forward if _is_conv(net) else _dense_layer_forward
)
def layer_forward(net, ws, l, Ain, W, b, out):
    """``out = A W_l`` for the rows ``Ain`` of layer ``l``'s input block,
    pooled first if the layer pools its input (``A``, kept in
    ``ws.pooled`` for the backward pass); returns the intercepts as one
    value per output unit (a convolution's, repeated over positions, in
    ``ws.bexp``)."""
    impl = _conv_layer_forward if _is_conv(net) else _dense_layer_forward
    return impl(net, ws, l, Ain, W, b, out)


@dispatch_on_types(
    lambda net, *_: (
        _conv_layer_weight_grad if _is_conv(net) else _dense_layer_weight_grad
    )
)
def layer_weight_grad(net, ws, l, Ain, Dout, gW, gb):
    """``gW`` and ``gb`` of layer ``l`` (overwritten) from the rows ``Ain``
    of its input block (the pooled rows :func:`layer_forward` kept, if it
    pools) and its output deltas."""
    impl = _conv_layer_weight_grad if _is_conv(net) else _dense_layer_weight_grad
    return impl(net, ws, l, Ain, Dout, gW, gb)


@dispatch_on_types(
    lambda net, *_: _conv_layer_input_grad if _is_conv(net) else _dense_layer_input_grad
)
def layer_input_grad(net, ws, l, Dout, W, Din):
    """``Din`` (overwritten): the gradient w.r.t. layer ``l``'s input block
    (before pooling), from its output deltas."""
    impl = _conv_layer_input_grad if _is_conv(net) else _dense_layer_input_grad
    return impl(net, ws, l, Dout, W, Din)


# --- sparse (CSR) input layer ---------------------------------------------------
# The first layer of a network fed a scipy CSR matrix: its product and its
# weight gradient run over the stored entries of the batch's rows (each entry
# x_ij adds x_ij W[j, :]), so neither X nor a minibatch of it is ever dense.
# Input dropout masks the stored entries with the scales of the dense path
# (the same hash of (seed, step, sample, unit)), re-derived where needed
# rather than stored.  Without dropout ``keep`` is 1 (every unit kept,
# scale 1), so one loop serves both (a branch on dropout would have LLVM
# emit the vectorised loops twice).


@jit(inline="always")
def _mask_of(keep, dtype_like):
    """Threshold and scale of :func:`~._random.keep_threshold`, the scale
    in the dtype of ``dtype_like`` (float32 stays float32)."""
    thr, sc64 = keep_threshold(keep)
    scl = np.empty(1, dtype=dtype_like.dtype)
    scl[0] = sc64
    return thr, scl[0]


@jit
def sparse_forward(csr, rows, W, out, seed, step, keep):
    """``out[r] = x_r W`` over the stored entries of row ``rows.idx[i0 + r]``,
    each masked as the dense input with keep probability ``keep``."""
    thr, scale = _mask_of(keep, W)
    nout = W.shape[1]
    idx = rows.idx
    kid = rows.kid
    i0 = rows.i0
    data = csr.data
    indices = csr.indices
    indptr = csr.indptr
    for r in range(rows.nb):
        o = out[r]
        for c in range(nout):
            o[c] = 0.0
        i = idx[i0 + r]
        key = layer_key(seed, step, kid[i0 + r], 0)
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if unit_bits(key, j) < thr:
                x = data[p] * scale
                w = W[j]
                for c in range(nout):
                    o[c] += x * w[c]


@jit
def sparse_weight_grad(csr, rows, Dout, gW, gb, seed, step, keep):
    """``gW = X_batch^T Dout`` over the stored entries (masked as in
    :func:`sparse_forward`) and ``gb = sum_rows Dout``, overwritten: rows of
    ``gW`` that no entry touches are 0."""
    thr, scale = _mask_of(keep, gW)
    nin, nout = gW.shape
    idx = rows.idx
    kid = rows.kid
    i0 = rows.i0
    data = csr.data
    indices = csr.indices
    indptr = csr.indptr
    flat = gW.reshape(nin * nout)
    for k in range(nin * nout):
        flat[k] = 0.0
    for c in range(nout):
        gb[c] = 0.0
    for r in range(rows.nb):
        d = Dout[r]
        for c in range(nout):
            gb[c] += d[c]
        i = idx[i0 + r]
        key = layer_key(seed, step, kid[i0 + r], 0)
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if unit_bits(key, j) < thr:
                x = data[p] * scale
                g = gW[j]
                for c in range(nout):
                    g[c] += x * d[c]
