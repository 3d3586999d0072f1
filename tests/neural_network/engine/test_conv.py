"""Convolution and pooling pieces (``_conv``) against loop references,
finite differences and adjoint identities, in float64 and float32."""

import numpy as np
import pytest
from scipy.signal import correlate

from skreg.neural_network._engine import _conv as conv
from skreg.neural_network._engine._layers import squared_weights

from ... import _reference as ref

# (H, W, Cin, KH, KW, Cout, stride, padding): channels 1 and 3, kernels
# 1/2/3/5 (and non-square), strides 1/2, valid/same/explicit, non-square
# images, 1-D signals (H = 1), and windows lying wholly in the padding.
GEOMETRIES = [
    (5, 6, 1, 3, 3, 2, 1, "valid"),
    (5, 6, 3, 3, 3, 4, 1, "same"),
    (7, 5, 3, 2, 2, 3, 2, "valid"),
    (8, 8, 1, 3, 3, 2, 2, "same"),
    (6, 7, 3, 5, 5, 2, 1, "same"),
    (6, 7, 2, 5, 3, 2, 2, "same"),
    (4, 5, 3, 1, 1, 3, 1, "valid"),
    (5, 5, 1, 1, 1, 2, 2, "same"),
    (1, 9, 2, 1, 3, 2, 1, "same"),
    (1, 10, 1, 1, 4, 2, 2, "valid"),
    (5, 4, 2, 3, 3, 2, 2, 1),
    (3, 3, 1, 2, 2, 1, 1, 3),
]
IDS = ["x".join(map(str, g[:6])) + f"-s{g[6]}-{g[7]}" for g in GEOMETRIES]
# a few with padding, stride and several channels for the costlier checks
GRAD_GEOMETRIES = [GEOMETRIES[i] for i in (1, 5, 8, 10)]
GRAD_IDS = [IDS[i] for i in (1, 5, 8, 10)]
RTOL = {np.float64: 1e-12, np.float32: 1e-5}

# (H, W, C, p) or (H, W, C, ph, pw): rectangular windows, and the 1 x pw
# windows of 1-D signals
POOLS = [(4, 4, 1, 2), (5, 7, 3, 2), (6, 6, 2, 3), (3, 4, 2, 1), (7, 7, 1, 7),
         (5, 7, 3, 2, 3), (1, 12, 2, 1, 3), (1, 7, 1, 1, 2)]  # fmt: skip
POOL_IDS = ["x".join(map(str, g)) for g in POOLS]


def _ref_pad(padding):
    if isinstance(padding, int):
        return (padding,) * 4
    return padding


def _case(rng, g, nb=3, dtype=np.float64):
    H, W, Cin, KH, KW, Cout, s, padding = g
    geom = conv.conv_geometry(H, W, Cin, KH, KW, Cout, s, padding)
    X = rng.standard_normal((nb, H * W * Cin)).astype(dtype)
    W4 = rng.standard_normal((KH, KW, Cin, Cout)).astype(dtype)
    b = rng.standard_normal(Cout).astype(dtype)
    return geom, X, W4, b


def _buffers(geom, nb, dtype):
    """Workspace and output, filled with NaN so that a kernel that leaves
    an entry unwritten fails the comparison."""
    H, W, Cin, KH, KW, _, _, _, OH, OW, Cout = (int(v) for v in geom)
    cols = np.full((nb * OH * OW, KH * KW * Cin), np.nan, dtype)
    out = np.full((nb, OH * OW * Cout), np.nan, dtype)
    return cols, out


def _forward(X, W4, b, geom):
    nb = X.shape[0]
    cols, out = _buffers(geom, nb, X.dtype)
    conv.conv_forward(X, W4.reshape(-1, W4.shape[-1]), b, geom, cols, out)
    return out


def _loss_fd(f, x, G):
    """Central differences of ``sum(f(x) * G)`` over the entries of ``x``."""
    shape = x.shape
    return ref.fd_input_gradient(
        lambda v: float(np.sum(f(v.reshape(shape)) * G)), x.ravel()
    ).reshape(shape)


# --- geometry ---------------------------------------------------------------


@pytest.mark.parametrize(
    "args, expected",
    [
        # (H, W, KH, KW, stride, padding) -> (OH, OW, pad_top, pad_left)
        ((8, 8, 3, 3, 2, "same"), (4, 4, 0, 0)),  # total 1: 0 top, 1 bottom
        ((8, 8, 3, 3, 1, "same"), (8, 8, 1, 1)),  # total 2
        ((7, 7, 3, 3, 2, "same"), (4, 4, 1, 1)),  # total 2
        ((6, 6, 4, 4, 1, "same"), (6, 6, 1, 1)),  # total 3: 1 top, 2 bottom
        ((5, 5, 2, 2, 2, "same"), (3, 3, 0, 0)),  # total 1
        ((10, 10, 2, 2, 3, "same"), (4, 4, 0, 0)),  # total 1
        ((5, 5, 1, 1, 2, "same"), (3, 3, 0, 0)),  # total 0
        ((28, 28, 5, 5, 1, "same"), (28, 28, 2, 2)),
        ((10, 7, 3, 1, 3, "same"), (4, 3, 1, 0)),  # totals 2 and 0
        ((1, 9, 1, 3, 1, "same"), (1, 9, 0, 1)),
        ((8, 8, 3, 3, 2, "valid"), (3, 3, 0, 0)),
        ((28, 28, 3, 3, 1, "valid"), (26, 26, 0, 0)),
        ((7, 9, 2, 4, 3, "valid"), (2, 2, 0, 0)),
        ((5, 5, 3, 3, 2, 1), (3, 3, 1, 1)),  # PyTorch padding=1
        ((4, 6, 3, 3, 1, 2), (6, 8, 2, 2)),
    ],
)
def test_conv_output_shape(args, expected):
    assert conv.conv_output_shape(*args) == expected


@pytest.mark.parametrize(
    "args",
    [
        (4, 4, 5, 3, 1, "valid"),
        (4, 4, 3, 3, 1, "full"),
        (4, 4, 3, 3, 0, "same"),
        (4, 4, 3, 3, 1, -1),
        (4, 4, 3, 3, 1, True),
    ],
)
def test_conv_output_shape_rejects(args):
    with pytest.raises(ValueError):
        conv.conv_output_shape(*args)


def test_pool_geometry():
    np.testing.assert_array_equal(conv.pool_geometry(7, 5, 3, 2), [7, 5, 3, 2, 3, 2, 2])
    np.testing.assert_array_equal(
        conv.pool_geometry(1, 9, 2, 1, 4), [1, 9, 2, 1, 1, 2, 4]
    )
    for bad in [(3, 5, 1, 4), (1, 9, 1, 2, 2), (4, 3, 1, 1, 4)]:
        with pytest.raises(ValueError, match="does not fit"):
            conv.pool_geometry(*bad)


# --- convolution ------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("g", GEOMETRIES, ids=IDS)
def test_conv_forward_matches_reference(g, dtype, rng):
    geom, X, W4, b = _case(rng, g, dtype=dtype)
    out = _forward(X, W4, b, geom)
    assert out.dtype == dtype
    expected = ref.conv2d_reference(X, W4, b, g[:3], g[6], _ref_pad(g[7]))
    OH, OW, Cout = (int(v) for v in geom[8:])
    assert expected.shape[1:] == (OH, OW, Cout)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(
        out.reshape(expected.shape),
        expected,
        rtol=RTOL[dtype],
        atol=RTOL[dtype] * scale,
    )


def test_conv_forward_matches_scipy_correlate(rng):
    H, W, KH, KW = 7, 9, 3, 4
    img = rng.standard_normal((H, W))
    ker = rng.standard_normal((KH, KW))
    geom = conv.conv_geometry(H, W, 1, KH, KW, 1, 1, "valid")
    out = _forward(img.reshape(1, -1), ker.reshape(KH, KW, 1, 1), np.zeros(1), geom)
    expected = correlate(img, ker, mode="valid")
    np.testing.assert_allclose(out.reshape(expected.shape), expected, rtol=1e-12)


@pytest.mark.parametrize("g", GEOMETRIES, ids=IDS)
def test_col2im_is_the_adjoint_of_im2col(g, rng):
    geom, X, _, _ = _case(rng, g)
    cols, _ = _buffers(geom, X.shape[0], X.dtype)
    conv.im2col(X, geom, cols)
    C = rng.standard_normal(cols.shape)
    dX = np.full_like(X, np.nan)
    conv.col2im_add(C, geom, dX)
    np.testing.assert_allclose(np.sum(cols * C), np.sum(X * dX), rtol=1e-12)


@pytest.mark.parametrize("g", GRAD_GEOMETRIES, ids=GRAD_IDS)
def test_conv_gradients_match_finite_differences(g, rng):
    geom, X, W4, b = _case(rng, g, nb=2)
    nb = X.shape[0]
    Wm = W4.reshape(-1, W4.shape[-1])
    cols, out = _buffers(geom, nb, X.dtype)
    G = rng.standard_normal(out.shape)

    gW = np.full_like(Wm, np.nan)
    gb = np.full_like(b, np.nan)
    conv.conv_weight_grad(X, G, geom, cols, gW, gb)
    fW = _loss_fd(lambda w: _forward(X, w.reshape(W4.shape), b, geom), Wm, G)
    fb = _loss_fd(lambda v: _forward(X, W4, v, geom), b, G)
    np.testing.assert_allclose(gW, fW, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gb, fb, rtol=1e-6, atol=1e-8)

    # the columns the forward pass leaves give the same weight gradient
    conv.conv_forward(X, Wm, b, geom, cols, out)
    gW2 = np.full_like(Wm, np.nan)
    gb2 = np.full_like(b, np.nan)
    conv.conv_weight_grad_cols(cols, G, gW2, gb2)
    np.testing.assert_allclose(gW2, gW, rtol=1e-13)
    np.testing.assert_allclose(gb2, gb, rtol=1e-13)

    dX = np.full_like(X, np.nan)
    conv.conv_input_grad(G, Wm, geom, np.full_like(cols, np.nan), dX)
    fX = _loss_fd(lambda x: _forward(x, W4, b, geom), X, G)
    np.testing.assert_allclose(dX, fX, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("g", GEOMETRIES, ids=IDS)
def test_conv_input_grad_is_the_adjoint_of_conv_linear(g, rng):
    geom, X, W4, _ = _case(rng, g)
    Wm = W4.reshape(-1, W4.shape[-1])
    cols, out = _buffers(geom, X.shape[0], X.dtype)
    conv.conv_linear(X, Wm, geom, cols, out)
    G = rng.standard_normal(out.shape)
    dX = np.full_like(X, np.nan)
    conv.conv_input_grad(G, Wm, geom, cols, dX)
    np.testing.assert_allclose(np.sum(out * G), np.sum(X * dX), rtol=1e-12)


@pytest.mark.parametrize("g", GRAD_GEOMETRIES, ids=GRAD_IDS)
def test_variance_propagation_with_squared_filters(g, rng):
    geom, X, W4, _ = _case(rng, g)
    var = X * X  # variances are non-negative
    Wm = W4.reshape(-1, W4.shape[-1])
    W2 = np.empty_like(Wm)
    squared_weights(Wm, W2)
    cols, out = _buffers(geom, X.shape[0], X.dtype)
    conv.conv_linear(var, W2, geom, cols, out)
    Cout = W4.shape[-1]
    expected = ref.conv2d_reference(
        var, W4 * W4, np.zeros(Cout), g[:3], g[6], _ref_pad(g[7])
    )
    np.testing.assert_allclose(out.reshape(expected.shape), expected, rtol=1e-12)


@pytest.mark.parametrize("g", GRAD_GEOMETRIES, ids=GRAD_IDS)
def test_float32_conv_matches_float64(g, rng):
    geom, X, W4, b = _case(rng, g, dtype=np.float32)
    Wm = W4.reshape(-1, W4.shape[-1])
    res = {}
    for dtype in (np.float32, np.float64):
        x, w, bb = (a.astype(dtype) for a in (X, Wm, b))
        cols, out = _buffers(geom, x.shape[0], dtype)
        G = np.linspace(-1.0, 1.0, out.size, dtype=dtype).reshape(out.shape)
        conv.conv_forward(x, w, bb, geom, cols, out)
        gW, gb = np.empty_like(w), np.empty_like(bb)
        conv.conv_weight_grad(x, G, geom, cols, gW, gb)
        dX = np.empty_like(x)
        conv.conv_input_grad(G, w, geom, cols, dX)
        res[dtype] = (out, gW, gb, dX)
    for a32, a64 in zip(res[np.float32], res[np.float64], strict=True):
        assert a32.dtype == np.float32
        np.testing.assert_allclose(a32, a64, rtol=1e-5, atol=1e-5 * np.abs(a64).max())


# --- pooling ----------------------------------------------------------------


def _window(pg):
    return (pg[3], pg[3]) if len(pg) == 4 else pg[3:]


def _pool_case(rng, pg, nb=2, dtype=np.float64):
    """Distinct values 0.1 apart (no ties, so max pooling is differentiable
    and a finite-difference step does not change the winners)."""
    H, W, C, p, pw = (*pg, pg[3]) if len(pg) == 4 else pg
    n = nb * H * W * C
    A = (0.1 * rng.permutation(n) - 0.05 * n).reshape(nb, -1).astype(dtype)
    pgeom = conv.pool_geometry(H, W, C, p, pw)
    size = H // p * (W // pw) * C
    return A, pgeom, size


def _maxpool(A, pgeom, size):
    out = np.full((A.shape[0], size), np.nan, A.dtype)
    arg = np.full((A.shape[0], size), -1, np.int64)
    conv.maxpool_forward(A, pgeom, out, arg)
    return out, arg


def _avgpool(A, pgeom, size):
    out = np.full((A.shape[0], size), np.nan, A.dtype)
    conv.avgpool_forward(A, pgeom, out)
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pg", POOLS, ids=POOL_IDS)
def test_pool_forward_matches_reference(pg, dtype, rng):
    A, pgeom, size = _pool_case(rng, pg, dtype=dtype)
    out, arg = _maxpool(A, pgeom, size)
    assert out.dtype == dtype
    expected = ref.maxpool_reference(A, pg[:3], _window(pg))
    np.testing.assert_array_equal(out.reshape(expected.shape), expected)
    np.testing.assert_array_equal(np.take_along_axis(A, arg, axis=1), out)
    avg = _avgpool(A, pgeom, size)
    assert avg.dtype == dtype
    expected = ref.avgpool_reference(A, pg[:3], _window(pg))
    np.testing.assert_allclose(
        avg.reshape(expected.shape),
        expected,
        rtol=RTOL[dtype],
        atol=RTOL[dtype] * np.abs(A).max(),
    )


@pytest.mark.parametrize("pg", POOLS, ids=POOL_IDS)
def test_pool_backward_and_jvp(pg, rng):
    A, pgeom, size = _pool_case(rng, pg)
    out, arg = _maxpool(A, pgeom, size)
    G = rng.standard_normal(out.shape)

    dA = np.full_like(A, np.nan)
    conv.maxpool_backward(G, arg, dA)
    fd = _loss_fd(lambda a: _maxpool(a, pgeom, size)[0], A, G)
    np.testing.assert_allclose(dA, fd, rtol=1e-6, atol=1e-8)

    T = rng.standard_normal(A.shape)
    jvp = np.full_like(out, np.nan)
    conv.maxpool_jvp(T, arg, jvp)
    h = 1e-6
    fd_dir = _maxpool(A + h * T, pgeom, size)[0] - _maxpool(A - h * T, pgeom, size)[0]
    np.testing.assert_allclose(jvp, fd_dir / (2 * h), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(np.sum(jvp * G), np.sum(T * dA), rtol=1e-12)

    dA = np.full_like(A, np.nan)
    conv.avgpool_backward(G, pgeom, dA)
    fd = _loss_fd(lambda a: _avgpool(a, pgeom, size), A, G)
    np.testing.assert_allclose(dA, fd, rtol=1e-6, atol=1e-8)
    avg = _avgpool(T, pgeom, size)  # linear: its own JVP, adjoint of backward
    np.testing.assert_allclose(np.sum(avg * G), np.sum(T * dA), rtol=1e-12)


def test_float32_pool_backward():
    rng = np.random.default_rng(0)
    A, pgeom, size = _pool_case(rng, (5, 7, 3, 2), dtype=np.float32)
    out, arg = _maxpool(A, pgeom, size)
    G = rng.standard_normal(out.shape).astype(np.float32)
    for backward, args in [
        (conv.maxpool_backward, (G, arg)),
        (conv.avgpool_backward, (G, pgeom)),
    ]:
        d32 = np.empty_like(A)
        backward(*args, d32)
        d64 = np.empty(A.shape)
        backward(args[0].astype(np.float64), args[1], d64)
        assert d32.dtype == np.float32
        np.testing.assert_allclose(d32, d64, rtol=1e-6)
    jvp = np.empty_like(out)
    conv.maxpool_jvp(A, arg, jvp)
    assert jvp.dtype == np.float32
    np.testing.assert_array_equal(jvp, out)


def test_maxpool_propagates_nan():
    A = np.array([[1.0, np.nan, 3.0, 2.0, 5.0, 4.0, 0.0, 1.0]])  # 2x4x1
    out = np.empty((1, 2))
    arg = np.empty((1, 2), np.int64)
    conv.maxpool_forward(A, conv.pool_geometry(2, 4, 1, 2), out, arg)
    assert np.isnan(out[0, 0])
    assert arg[0, 0] == 1
    assert out[0, 1] == 3.0


def test_maxpool_ties_go_to_the_first_maximum():
    A = np.array([[2.0, 2.0, 1.0, 2.0]])  # one 2x2x1 window, three maxima
    out = np.empty((1, 1))
    arg = np.empty((1, 1), np.int64)
    conv.maxpool_forward(A, conv.pool_geometry(2, 2, 1, 2), out, arg)
    assert out[0, 0] == 2.0
    assert arg[0, 0] == 0
