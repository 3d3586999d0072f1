"""Convolution and pooling pieces in channels-last (NHWC) layout.

A minibatch of images is a C-contiguous ``(nb, H*W*C)`` array whose rows
are the images flattened row-major over ``(H, W, C)``, so a convolutional
layer reads and writes the same flat rows as a dense one.  Its filters are
a ``(KH*KW*Cin, Cout)`` matrix, rows ordered ``(kh, kw, cin)`` row-major,
and the convolution is a matrix product: the *column matrix*
``cols = im2col(X)`` holds one row per output position (the ``KH x KW x
Cin`` patch it sees), and ``cols @ W`` is ``(nb*OH*OW, Cout)``, which read
as ``(nb, OH*OW*Cout)`` is exactly the NHWC flat output (Chellapilla, Puri
and Simard, "High Performance Convolutional Neural Networks for Document
Processing", IWFHR 2006: unfolding the patches turns a convolution into
one GEMM, which BLAS runs near peak).  The products go through
:func:`._products.matmul`, as the dense layer's do (one filter, or a single
output position, would otherwise be a gemv whose rounding follows BLAS's
thread count).  As in every deep-learning library,
"convolution" means cross-correlation (the filter is not flipped).

The pieces mirror the dense layer's (:mod:`._layers`): the forward product
(:func:`conv_linear`, also the JVP of tangent rows; :func:`conv_forward`
adds the intercept), the weight gradient, the input gradient, and for
variance propagation :func:`conv_linear` applied to variances with the
squared filters of :func:`._layers.squared_weights`.  Pooling layers
(max, average) have no parameters: forward, backward, and for max pooling
the JVP, which gathers the tangent at the forward pass's winners.

Geometry travels as small int64 arrays built in Python
(:func:`conv_geometry`, :func:`pool_geometry`) so kernels keep few
arguments; callers pass every output and workspace array preallocated.
Kernels compute in the dtype of the arrays they are given (float32 stays
float32).
"""

import numpy as np

from ...utils._numba import jit
from ._products import matmul

# --- geometry (Python) -------------------------------------------------------


def conv_output_shape(H, W, KH, KW, stride, padding):
    """Output size and leading zero padding of a 2-D convolution.

    Parameters
    ----------
    H, W : int
        Input height and width.
    KH, KW : int
        Kernel height and width.
    stride : int
        Step between windows, the same in both directions.
    padding : {'valid', 'same'} or int
        ``'valid'``: no padding, ``OH = (H - KH) // stride + 1`` (PyTorch's
        ``Conv2d(padding=0)``, Keras' ``'valid'``).  ``'same'``:
        ``OH = ceil(H / stride)``, zero padding ``max((OH - 1) * stride + KH
        - H, 0)`` in total, split with the smaller part on top / left and
        the larger at the bottom / right (TensorFlow's rule, documented
        with ``tf.nn.convolution``; PyTorch's ``padding='same'``, which
        allows stride 1 only, agrees).  An int ``p``: ``p`` zeros on every
        side, ``OH = (H + 2p - KH) // stride + 1`` (PyTorch's
        ``Conv2d(padding=p)``).

    Returns
    -------
    OH, OW, pad_top, pad_left : int
        Output height and width, and the zeros above and left of the image
        (the padding at the bottom and right is implied by the output size
        and never read).

    Raises
    ------
    ValueError
        If ``padding`` is not one of the above, a size or the stride is not
        positive, or the kernel does not fit the (padded) input.
    """
    H, W, KH, KW, stride = (int(v) for v in (H, W, KH, KW, stride))
    if min(H, W, KH, KW, stride) < 1:
        raise ValueError(
            "image size, kernel size and stride must be positive, got "
            f"H={H}, W={W}, KH={KH}, KW={KW}, stride={stride}"
        )
    if isinstance(padding, str) and padding == "valid":
        pad_h = pad_w = 0
        top = left = 0
    elif isinstance(padding, str) and padding == "same":
        OH = -(-H // stride)
        OW = -(-W // stride)
        total_h = max((OH - 1) * stride + KH - H, 0)
        total_w = max((OW - 1) * stride + KW - W, 0)
        return OH, OW, total_h // 2, total_w // 2
    elif isinstance(padding, int | np.integer) and not isinstance(padding, bool):
        if padding < 0:
            raise ValueError(f"padding must be non-negative, got {padding}")
        top = left = int(padding)
        pad_h = pad_w = 2 * int(padding)
    else:
        raise ValueError(f"padding must be 'valid', 'same' or an int, got {padding!r}")
    if H + pad_h < KH or W + pad_w < KW:
        raise ValueError(
            f"a {KH}x{KW} kernel does not fit a {H}x{W} input with padding {padding!r}"
        )
    OH = (H + pad_h - KH) // stride + 1
    OW = (W + pad_w - KW) // stride + 1
    return OH, OW, top, left


def conv_geometry(H, W, Cin, KH, KW, Cout, stride=1, padding="valid"):
    """The int64 geometry array the convolution kernels read.

    Parameters
    ----------
    H, W, Cin : int
        Input height, width and channels.
    KH, KW, Cout : int
        Kernel height and width, number of filters (output channels).
    stride : int, default=1
        Step between windows in both directions.
    padding : {'valid', 'same'} or int, default='valid'
        See :func:`conv_output_shape`.

    Returns
    -------
    geom : ndarray of shape (11,), dtype int64
        ``[H, W, Cin, KH, KW, stride, pad_top, pad_left, OH, OW, Cout]``.
        The workspaces are ``cols`` / ``dcols`` of shape
        ``(nb * OH * OW, KH * KW * Cin)`` and the output ``(nb, OH * OW *
        Cout)``.
    """
    OH, OW, top, left = conv_output_shape(H, W, KH, KW, stride, padding)
    if min(int(Cin), int(Cout)) < 1:
        raise ValueError(f"channels must be positive, got Cin={Cin}, Cout={Cout}")
    return np.array(
        [H, W, Cin, KH, KW, stride, top, left, OH, OW, Cout], dtype=np.int64
    )


def pool_geometry(H, W, C, p, pw=None):
    """The int64 geometry array of ``p x pw`` pooling (``p x p`` when
    ``pw`` is None) with the window as stride.

    The output keeps the windows that fit (``OH = H // p``: PyTorch's
    ``MaxPool2d(p)`` / ``AvgPool2d(p)`` with their default floor mode,
    Keras' ``'valid'``); trailing rows and columns that fill no window are
    ignored by the forward pass and get zero gradient.

    Parameters
    ----------
    H, W, C : int
        Input height, width and channels.
    p : int
        Window height and vertical stride.
    pw : int, optional
        Window width and horizontal stride (default ``p``; 1-D signals,
        images of height 1, pool ``1 x pw``).

    Returns
    -------
    pgeom : ndarray of shape (7,), dtype int64
        ``[H, W, C, p, OH, OW, pw]``; the output is ``(nb, OH * OW * C)``.
    """
    pw = p if pw is None else pw
    H, W, C, p, pw = (int(v) for v in (H, W, C, p, pw))
    if min(H, W, C, p, pw) < 1 or p > H or pw > W:
        window = f"{p}" if p == pw else f"{p}x{pw}"
        raise ValueError(f"pooling window {window} does not fit a {H}x{W}x{C} input")
    return np.array([H, W, C, p, H // p, W // pw, pw], dtype=np.int64)


# --- convolution kernels -----------------------------------------------------


@jit(inline="always")
def _unpack(geom):
    """The entries of a :func:`conv_geometry` array as ints."""
    return (
        geom[0],
        geom[1],
        geom[2],
        geom[3],
        geom[4],
        geom[5],
        geom[6],
        geom[7],
        geom[8],
        geom[9],
        geom[10],
    )


@jit
def im2col(X, geom, cols):
    """Unfold the patches of a minibatch: ``cols[(n*OH + oh)*OW + ow]`` is
    the ``(KH, KW, Cin)`` window of image ``n`` at output ``(oh, ow)``,
    zeros where it overlaps the padding (overwritten).

    Parameters
    ----------
    X : ndarray of shape (nb, H*W*Cin)
        Images, flattened NHWC.
    geom : ndarray of shape (11,), int64
        See :func:`conv_geometry`.
    cols : ndarray of shape (nb*OH*OW, KH*KW*Cin)
        Output.
    """
    H, W, C, KH, KW, s, pt, pl, OH, OW, _ = _unpack(geom)
    nb = X.shape[0]
    KWC = KW * C
    for n in range(nb):
        x = X[n]
        for oh in range(OH):
            ih0 = oh * s - pt
            rows_in = ih0 >= 0 and ih0 + KH <= H
            for ow in range(OW):
                row = cols[(n * OH + oh) * OW + ow]
                iw0 = ow * s - pl
                # kernel columns inside the image: the window's pixels of
                # one kernel row are adjacent in the row-major image, so
                # each kernel row is one contiguous copy of (hi - lo)*Cin.
                lo = max(0, -iw0)
                hi = min(KW, W - iw0)
                if rows_in and lo == 0 and hi == KW:
                    # interior window (most of them): no bounds logic,
                    # which halves the time of small (Cin = 1) patches
                    for kh in range(KH):
                        src = ((ih0 + kh) * W + iw0) * C
                        base = kh * KWC
                        for j in range(KWC):
                            row[base + j] = x[src + j]
                    continue
                for kh in range(KH):
                    ih = ih0 + kh
                    base = kh * KWC
                    if ih < 0 or ih >= H or hi <= lo:
                        for j in range(KWC):
                            row[base + j] = 0.0
                        continue
                    for j in range(lo * C):
                        row[base + j] = 0.0
                    src = (ih * W + iw0 + lo) * C
                    dst = base + lo * C
                    for j in range((hi - lo) * C):
                        row[dst + j] = x[src + j]
                    for j in range(hi * C, KWC):
                        row[base + j] = 0.0


@jit
def col2im_add(dcols, geom, dX):
    """The adjoint of :func:`im2col`: ``dX`` (overwritten) is the sum, over
    the windows containing each pixel, of the matching entries of
    ``dcols``; entries on the padding are dropped.

    Parameters
    ----------
    dcols : ndarray of shape (nb*OH*OW, KH*KW*Cin)
        Gradient with respect to the column matrix.
    geom : ndarray of shape (11,), int64
        See :func:`conv_geometry`.
    dX : ndarray of shape (nb, H*W*Cin)
        Output.
    """
    H, W, C, KH, KW, s, pt, pl, OH, OW, _ = _unpack(geom)
    nb, nx = dX.shape
    KWC = KW * C
    for n in range(nb):
        dx = dX[n]
        for j in range(nx):
            dx[j] = 0.0
        for oh in range(OH):
            ih0 = oh * s - pt
            rows_in = ih0 >= 0 and ih0 + KH <= H
            for ow in range(OW):
                row = dcols[(n * OH + oh) * OW + ow]
                iw0 = ow * s - pl
                lo = max(0, -iw0)
                hi = min(KW, W - iw0)
                if rows_in and lo == 0 and hi == KW:
                    for kh in range(KH):
                        dst = ((ih0 + kh) * W + iw0) * C
                        base = kh * KWC
                        for j in range(KWC):
                            dx[dst + j] += row[base + j]
                    continue
                if hi <= lo:
                    continue
                for kh in range(KH):
                    ih = ih0 + kh
                    if ih < 0 or ih >= H:
                        continue
                    dst = (ih * W + iw0 + lo) * C
                    src = kh * KWC + lo * C
                    for j in range((hi - lo) * C):
                        dx[dst + j] += row[src + j]


@jit
def conv_linear(X, W, geom, cols, out):
    """``out = im2col(X) @ W``: the convolution without intercept, also the
    JVP of tangent rows and, with ``W * W`` and variance rows, the
    variance propagation of fast dropout.

    Parameters
    ----------
    X : ndarray of shape (nb, H*W*Cin)
        Images (or tangents, or variances), flattened NHWC.
    W : ndarray of shape (KH*KW*Cin, Cout)
        Filters, rows ordered ``(kh, kw, cin)``.
    geom : ndarray of shape (11,), int64
        See :func:`conv_geometry`.
    cols : ndarray of shape (nb*OH*OW, KH*KW*Cin)
        Workspace; left holding ``im2col(X)``, which
        :func:`conv_weight_grad_cols` can reuse.
    out : ndarray of shape (nb, OH*OW*Cout)
        Output, flattened NHWC.
    """
    im2col(X, geom, cols)
    Cout = W.shape[1]
    matmul(cols, W, out.reshape((cols.shape[0], Cout)))


@jit
def conv_forward(X, W, b, geom, cols, out):
    """``out = im2col(X) @ W + b``: the pre-activations of a convolutional
    layer (see :func:`conv_linear`; ``b`` has shape ``(Cout,)``)."""
    conv_linear(X, W, geom, cols, out)
    Cout = W.shape[1]
    out2 = out.reshape((cols.shape[0], Cout))
    for r in range(cols.shape[0]):
        for c in range(Cout):
            out2[r, c] += b[c]


@jit
def conv_weight_grad_cols(cols, Dout, gW, gb):
    """``gW = cols^T Dout`` and ``gb = sum Dout`` over rows and positions
    (overwritten), from the column matrix :func:`conv_linear` left.

    Parameters
    ----------
    cols : ndarray of shape (nb*OH*OW, KH*KW*Cin)
        ``im2col`` of the layer's input.
    Dout : ndarray of shape (nb, OH*OW*Cout)
        Gradient with respect to the layer's output.
    gW : ndarray of shape (KH*KW*Cin, Cout)
        Output.
    gb : ndarray of shape (Cout,)
        Output.
    """
    m = cols.shape[0]
    Cout = gW.shape[1]
    D = Dout.reshape((m, Cout))
    matmul(cols.T, D, gW)
    for c in range(Cout):
        gb[c] = 0.0
    for r in range(m):
        for c in range(Cout):
            gb[c] += D[r, c]


@jit
def conv_weight_grad(X, Dout, geom, cols, gW, gb):
    """:func:`conv_weight_grad_cols` after unfolding ``X`` into the
    workspace ``cols`` (when the forward pass's columns were not kept)."""
    im2col(X, geom, cols)
    conv_weight_grad_cols(cols, Dout, gW, gb)


@jit
def conv_input_grad(Dout, W, geom, dcols, dX):
    """``dX = col2im_add(Dout W^T)``: the gradient with respect to the
    layer's input (overwritten).

    Parameters
    ----------
    Dout : ndarray of shape (nb, OH*OW*Cout)
        Gradient with respect to the layer's output.
    W : ndarray of shape (KH*KW*Cin, Cout)
        Filters.
    geom : ndarray of shape (11,), int64
        See :func:`conv_geometry`.
    dcols : ndarray of shape (nb*OH*OW, KH*KW*Cin)
        Workspace.
    dX : ndarray of shape (nb, H*W*Cin)
        Output.
    """
    m = dcols.shape[0]
    matmul(Dout.reshape((m, W.shape[1])), W.T, dcols)
    col2im_add(dcols, geom, dX)


# --- pooling kernels ---------------------------------------------------------
# Windows of p x pw with the window as stride do not overlap, so each input
# pixel feeds at most one output: the backward passes write rather than
# accumulate.


@jit(inline="always")
def _scale_of(size, like):
    """``1 / size`` in the dtype of ``like`` (float32 stays float32)."""
    s = np.empty(1, dtype=like.dtype)
    s[0] = 1.0 / size
    return s[0]


@jit
def maxpool_forward(A, pgeom, out, argmax):
    """Max over each ``p x pw`` window and channel; ``argmax`` gets the flat
    index in the row of ``A`` of the first maximum (a NaN in a window wins,
    so NaN propagates as in PyTorch).

    Parameters
    ----------
    A : ndarray of shape (nb, H*W*C)
        Activations, flattened NHWC.
    pgeom : ndarray of shape (7,), int64
        See :func:`pool_geometry`.
    out : ndarray of shape (nb, OH*OW*C)
        Output.
    argmax : ndarray of shape (nb, OH*OW*C), int64
        Output.
    """
    W, C, p, OH, OW, pw = pgeom[1], pgeom[2], pgeom[3], pgeom[4], pgeom[5], pgeom[6]
    nb = A.shape[0]
    for n in range(nb):
        for oh in range(OH):
            for ow in range(OW):
                o = (oh * OW + ow) * C
                first = (oh * p * W + ow * pw) * C
                for c in range(C):
                    out[n, o + c] = A[n, first + c]
                    argmax[n, o + c] = first + c
                for i in range(p):
                    for j in range(pw):
                        src = ((oh * p + i) * W + ow * pw + j) * C
                        for c in range(C):
                            v = A[n, src + c]
                            best = out[n, o + c]
                            if v > best or (v != v and best == best):
                                out[n, o + c] = v
                                argmax[n, o + c] = src + c


@jit
def maxpool_backward(Dout, argmax, dA):
    """``dA`` (overwritten) is ``Dout`` routed to each window's winner,
    zero elsewhere.

    Parameters
    ----------
    Dout : ndarray of shape (nb, OH*OW*C)
        Gradient with respect to the pooled output.
    argmax : ndarray of shape (nb, OH*OW*C), int64
        Winners from :func:`maxpool_forward`.
    dA : ndarray of shape (nb, H*W*C)
        Output.
    """
    nb, na = dA.shape
    no = Dout.shape[1]
    for n in range(nb):
        for j in range(na):
            dA[n, j] = 0.0
        for k in range(no):
            dA[n, argmax[n, k]] += Dout[n, k]


@jit
def maxpool_jvp(T, argmax, out):
    """``out[n, k] = T[n, argmax[n, k]]``: max pooling's directional
    derivative (where the maxima are unique) along tangent rows ``T``."""
    nb, no = out.shape
    for n in range(nb):
        for k in range(no):
            out[n, k] = T[n, argmax[n, k]]


@jit
def avgpool_forward(A, pgeom, out):
    """Mean over each ``p x pw`` window and channel (overwritten ``out`` of
    shape ``(nb, OH*OW*C)``; see :func:`maxpool_forward`)."""
    W, C, p, OH, OW, pw = pgeom[1], pgeom[2], pgeom[3], pgeom[4], pgeom[5], pgeom[6]
    scale = _scale_of(p * pw, out)
    nb = A.shape[0]
    for n in range(nb):
        for oh in range(OH):
            for ow in range(OW):
                o = (oh * OW + ow) * C
                for c in range(C):
                    out[n, o + c] = 0.0
                for i in range(p):
                    for j in range(pw):
                        src = ((oh * p + i) * W + ow * pw + j) * C
                        for c in range(C):
                            out[n, o + c] += A[n, src + c]
                for c in range(C):
                    out[n, o + c] *= scale


@jit
def avgpool_backward(Dout, pgeom, dA):
    """``dA`` (overwritten): each window's pixels get its output gradient
    divided by ``p * pw``; pixels in no window get zero."""
    W, C, p, OH, OW, pw = pgeom[1], pgeom[2], pgeom[3], pgeom[4], pgeom[5], pgeom[6]
    scale = _scale_of(p * pw, dA)
    nb, na = dA.shape
    for n in range(nb):
        for j in range(na):
            dA[n, j] = 0.0
        for oh in range(OH):
            for ow in range(OW):
                o = (oh * OW + ow) * C
                for i in range(p):
                    for j in range(pw):
                        dst = ((oh * p + i) * W + ow * pw + j) * C
                        for c in range(C):
                            dA[n, dst + c] = Dout[n, o + c] * scale
