"""Image and signal tangent vectors: signs, coordinates, dtypes, errors."""

import numpy as np
import pytest
from scipy import ndimage

from skreg.utils import image_tangents, signal_tangents
from skreg.utils._tangent_vectors import (
    IMAGE_TRANSFORMS,
    SIGNAL_TRANSFORMS,
    smooth_images,
    smooth_signals,
)

H, W = 33, 31
STEP = 1e-3  # transformation amount for the finite differences


def smooth_image():
    """Two Gaussian blobs, off-centre, that fade out well inside the frame."""
    yy, xx = np.mgrid[:H, :W]
    return np.exp(-((xx - 17.0) ** 2 / 20 + (yy - 14.0) ** 2 / 12)) + 0.5 * np.exp(
        -((xx - 12.0) ** 2 / 8 + (yy - 19.0) ** 2 / 14)
    )


def _affine(S, M, t):
    """Sample ``S`` at ``c + (I + t M)(p - c)``, (row, col) coordinates."""
    c = np.array([(H - 1) / 2, (W - 1) / 2])
    A = np.eye(2) + t * M
    return ndimage.affine_transform(S, A, offset=c - A @ c, order=3, mode="nearest")


def _assert_tangent(tangent, moved, S):
    fd = (moved - S).ravel() / STEP
    rel = np.linalg.norm(fd - tangent) / np.linalg.norm(tangent)
    assert rel < 0.01, rel


@pytest.mark.parametrize("sigma", [0.7, 1.5])
def test_image_tangents_match_finite_differences(sigma):
    """t * tangent ~ (transformed smoothed image) - (smoothed image).

    In (row=y, col=x) order ``v = (v_y, v_x)``: the documented conventions,
    checked with scipy's own shift / rotate and with explicit affine maps.
    """
    X = smooth_image().ravel()[None]
    T = dict(
        zip(IMAGE_TRANSFORMS, image_tangents(X, (H, W), sigma=sigma)[0], strict=True)
    )
    S = smooth_images(X, (H, W), sigma).reshape(H, W)
    t = STEP
    # content moves by -t v: translate_x samples at x + t -> shift by -t
    _assert_tangent(
        T["translate_x"], ndimage.shift(S, (0, -t), order=3, mode="nearest"), S
    )
    _assert_tangent(
        T["translate_y"], ndimage.shift(S, (-t, 0), order=3, mode="nearest"), S
    )
    # rotate: content turns clockwise as displayed = ndimage.rotate(-angle)
    rotated = ndimage.rotate(S, -np.degrees(t), reshape=False, order=3, mode="nearest")
    _assert_tangent(T["rotate"], rotated, S)
    # v = (y, -x) in (x, y): row += t * (-x), col += t * y
    _assert_tangent(T["rotate"], _affine(S, np.array([[0.0, -1.0], [1.0, 0.0]]), t), S)
    _assert_tangent(T["scale"], _affine(S, np.eye(2), t), S)
    _assert_tangent(
        T["parallel_hyperbolic"], _affine(S, np.array([[-1.0, 0.0], [0.0, 1.0]]), t), S
    )
    _assert_tangent(
        T["diagonal_hyperbolic"], _affine(S, np.array([[0.0, 1.0], [1.0, 0.0]]), t), S
    )
    # thickening samples uphill along the gradient of the smoothed image
    gx = ndimage.gaussian_filter(X.reshape(H, W), sigma, order=(0, 1), mode="constant")
    gy = ndimage.gaussian_filter(X.reshape(H, W), sigma, order=(1, 0), mode="constant")
    yy, xx = np.mgrid[:H, :W]
    thick = ndimage.map_coordinates(
        S, [yy + t * gy, xx + t * gx], order=3, mode="nearest"
    )
    _assert_tangent(T["thickening"], thick, S)


def test_thickening_thickens_bright_strokes():
    img = np.zeros((9, 9))
    img[:, 4] = 1.0  # a vertical bright stroke
    tk = image_tangents(img.ravel()[None], (9, 9), ["thickening"])[0, 0].reshape(9, 9)
    assert tk[4, 3] > 0 and tk[4, 5] > 0  # neighbours of the stroke brighten


def test_signal_tangents_match_finite_differences():
    u = np.arange(60.0)
    X = (np.exp(-((u - 25) ** 2) / 30) + 0.3 * np.exp(-((u - 38) ** 2) / 10))[None]
    sigma, t = 1.0, STEP
    T = dict(zip(SIGNAL_TRANSFORMS, signal_tangents(X, sigma=sigma)[0], strict=True))
    S = smooth_signals(X, sigma)[0]
    c = (len(u) - 1) / 2
    slope = ndimage.gaussian_filter1d(X[0], sigma, order=1, mode="constant")

    def sample(points):
        return ndimage.map_coordinates(S, [points], order=3, mode="nearest")

    _assert_tangent(T["shift"], sample(u + t), S)
    _assert_tangent(T["dilation"], sample(c + (1 + t) * (u - c)), S)
    _assert_tangent(T["thickening"], sample(u + t * slope), S)


def test_transform_selection_and_order():
    rng = np.random.default_rng(0)
    X = rng.random((3, 20))
    full = image_tangents(X, (4, 5))
    assert full.shape == (3, 7, 20)
    sub = image_tangents(X, (4, 5), ["thickening", "translate_x"])
    np.testing.assert_array_equal(sub[:, 0], full[:, 6])
    np.testing.assert_array_equal(sub[:, 1], full[:, 0])
    np.testing.assert_array_equal(image_tangents(X, (4, 5), "rotate")[:, 0], full[:, 2])
    assert image_tangents(X, (4, 5), []).shape == (3, 0, 20)
    assert signal_tangents(X).shape == (3, 3, 20)


def test_dtypes():
    rng = np.random.default_rng(0)
    X = rng.random((2, 16))
    assert image_tangents(X.astype(np.float32), (4, 4)).dtype == np.float32
    assert signal_tangents(X.astype(np.float32)).dtype == np.float32
    assert image_tangents((X * 10).astype(int), (4, 4)).dtype == np.float64
    t32 = image_tangents(X.astype(np.float32), (4, 4))
    np.testing.assert_allclose(t32, image_tangents(X, (4, 4)), rtol=1e-4, atol=1e-5)


def test_blank_image_has_zero_tangents():
    T = image_tangents(np.zeros((2, 64)), (8, 8))
    assert np.all(T == 0)
    assert np.all(signal_tangents(np.zeros((1, 5))) == 0)


def test_tiny_inputs():
    for n in (1, 2, 3):
        T = signal_tangents(np.ones((2, n)))
        assert T.shape == (2, 3, n) and np.isfinite(T).all()
    assert np.isfinite(image_tangents(np.ones((1, 1)), (1, 1))).all()


def test_bad_input():
    X = np.ones((2, 16))
    with pytest.raises(ValueError, match="Unknown image transform 'shear'"):
        image_tangents(X, (4, 4), ["translate_x", "shear"])
    with pytest.raises(ValueError, match="Unknown signal transform 'rotate'"):
        signal_tangents(X, ["rotate"])
    with pytest.raises(ValueError, match="duplicates"):
        image_tangents(X, (4, 4), ["rotate", "rotate"])
    with pytest.raises(ValueError, match="product must equal n_features"):
        image_tangents(X, (4, 5))
    with pytest.raises(ValueError, match="pair of positive integers"):
        image_tangents(X, (16,))
    with pytest.raises(ValueError, match="pair of positive integers"):
        image_tangents(X, (2.5, 6.4))
    for sigma in (0, -1.0, np.inf):
        with pytest.raises(ValueError, match="sigma"):
            image_tangents(X, (4, 4), sigma=sigma)
    with pytest.raises(TypeError, match="sigma"):
        signal_tangents(X, sigma="wide")
    bad = X.copy()
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        image_tangents(bad, (4, 4))
    bad[0, 3] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        signal_tangents(bad)
