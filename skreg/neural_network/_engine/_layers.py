"""Layer kinds: the pieces of a layer that the passes call.

A dense layer ``l`` maps ``(nb, n_l)`` inputs to ``(nb, n_{l+1})``
pre-activations with ``W_l`` (``n_l x n_{l+1}``, row-major at
``w_off[l]`` of the flat parameter vector, scikit-learn's ``_pack`` order)
and ``b_l`` (at ``b_off[l]``).  Each piece below is what one pass needs of
a layer: the forward product (also the forward-mode / JVP product, which is
the same map applied to tangent rows), the weight gradient, the input
gradient, and the squared weights fast dropout propagates variances with.
A new layer kind (e.g. a convolution) provides the same pieces.
"""

import numpy as np

from ...utils._numba import jit


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
def dense_forward(A, W, out):
    """``out = A W``: pre-activations without the intercept (the JVP of a
    tangent row is the same product)."""
    np.dot(A, W, out)


@jit(inline="always")
def dense_weight_grad(A, Dout, gW, gb):
    """``gW = A^T Dout`` and ``gb = sum_rows Dout`` (overwritten)."""
    np.dot(A.T, Dout, gW)
    nb, nout = Dout.shape
    gb[:] = 0.0
    for r in range(nb):
        for j in range(nout):
            gb[j] += Dout[r, j]


@jit(inline="always")
def dense_input_grad(Dout, W, Din):
    """``Din = Dout W^T``: the gradient w.r.t. the layer's input."""
    np.dot(Dout, W.T, Din)


@jit(inline="always")
def squared_weights(W, out):
    """``out = W * W`` elementwise (variance propagation)."""
    nin, nout = W.shape
    for a in range(nin):
        for c in range(nout):
            out[a, c] = W[a, c] * W[a, c]
