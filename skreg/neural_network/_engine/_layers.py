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

from ...utils._numba import jit
from ._random import keep_threshold, layer_key, unit_bits


@jit(inline="always")
def view(buf, off, rows, cols):
    """The ``rows x cols`` C-ordered block of the flat ``buf`` at ``off``."""
    return buf[off : off + rows * cols].reshape((rows, cols))


@jit(inline="always")
def weights(theta, net, l):
    """``W_l`` as a view of the flat vector (or of a gradient alike)."""
    return view(theta, net.w_off[l], net.units[l], net.units[l + 1])


@jit(inline="always")
def intercepts(theta, net, l):
    """``b_l`` as a view of the flat vector (or of a gradient alike)."""
    return theta[net.b_off[l] : net.b_off[l] + net.units[l + 1]]


@jit(inline="always")
def block(buf, net, bs, l, nb):
    """Layer ``l``'s rows in a per-layer buffer of ``bs`` rows per layer."""
    return view(buf, bs * net.uoff[l], nb, net.units[l])


@jit(inline="always")
def matmul(A, B, out):
    """``out = A B`` (overwritten): BLAS's gemm for matrix products, a plain
    loop when ``A`` has one row or ``B`` one column.

    For those shapes numba calls gemv (or dot) instead of gemm, and a
    threaded gemv need not round as a sequential one: with OpenBLAS 0.3.21
    (scipy 1.11's) a (300-630) x 32 by 32 x 1 product differed in 1 to 4
    of its rows between one and two BLAS threads (0.3.31: in none).  Fits
    started from the user's own threads cannot pin the thread count
    (OpenBLAS ignores counts set from threads other than the main one, see
    ``skreg.utils._blas``), so these products are computed here, in one
    fixed order of summation, and a fit is the same in any thread.  They
    are the small products: one output unit (regression, binary
    classification) or a single row.
    """
    m, k = A.shape
    n = B.shape[1]
    if m != 1 and n != 1:
        np.dot(A, B, out)
        return
    if n == 1 and A.strides[0] < A.strides[1]:
        # A is a transposed view (the weight gradient A_in^T delta of a
        # one-output layer): add its contiguous columns, p ascending
        for i in range(m):
            out[i, 0] = A[i, 0] * B[0, 0]
        for p in range(1, k):
            b = B[p, 0]
            for i in range(m):
                out[i, 0] += A[i, p] * b
        return
    # a row of A (or a column of B) at a time; a transposed B (the input
    # gradient of a single row) is read with a stride, a small product
    for i in range(m):
        for j in range(n):
            acc = A[i, 0] * B[0, j]  # k >= 1: every layer has inputs
            for p in range(1, k):
                acc += A[i, p] * B[p, j]
            out[i, j] = acc


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
