"""Tangent vectors of images and signals under small transformations.

The tangent vector of an image ``I`` for a transformation family
``T_t`` (``T_0`` = identity) is ``d/dt T_t(I)`` at ``t = 0``.  For the
geometric families it follows from the image gradient by the chain rule
(Simard et al. 1992, 1998): if the transformed image samples ``I`` at the
displaced point ``p + t v(p)``, then

    d/dt I(p + t v(p)) |_{t=0} = v_x(p) dI/dx + v_y(p) dI/dy.

The gradient is taken from a Gaussian-smoothed image (derivative-of-
Gaussian filters from :func:`scipy.ndimage.gaussian_filter`): pixel images
are not differentiable, and smoothing is what makes the first-order
expansion valid for displacements of about a pixel.

Conventions (shared by every skreg estimator that uses tangents)
----------------------------------------------------------------
* A flat row of ``X`` is an image stored row-major: ``image_shape =
  (height, width)``, rows are ``y``, columns are ``x``.
* Coordinates are centred on the image: ``x = column - (width - 1) / 2``
  (growing to the right) and ``y = row - (height - 1) / 2`` (growing
  *downward*, as rows do).
* Every tangent is ``d/dt I(p + t v(p))``: the image is resampled at the
  displaced point, so the *content* moves by ``-t v``.  For example
  ``t * tangent['translate_x']`` approximates
  ``scipy.ndimage.shift(I, (0, -t)) - I`` (content moved left by ``t``
  pixels) and ``t * tangent['scale']`` approximates shrinking the content by
  the factor ``1 / (1 + t)`` about the centre.

=====================  ================  ===================================
name                   v(p)              tangent
=====================  ================  ===================================
translate_x            (1, 0)            dI/dx
translate_y            (0, 1)            dI/dy
rotate                 (y, -x)           y dI/dx - x dI/dy
scale                  (x, y)            x dI/dx + y dI/dy
parallel_hyperbolic    (x, -y)           x dI/dx - y dI/dy
diagonal_hyperbolic    (y, x)            y dI/dx + x dI/dy
thickening             grad I            (dI/dx)^2 + (dI/dy)^2
=====================  ================  ===================================

For ``rotate`` the content turns by ``t`` radians *clockwise* as displayed
(row 0 at the top): ``t * tangent['rotate']`` approximates
``scipy.ndimage.rotate(I, -degrees(t), reshape=False) - I``.  ``thickening``
samples uphill along the gradient: bright strokes on a dark background get
thicker for ``t > 0``.

The 1-D version for signals (length ``L``, ``u = index - (L - 1) / 2``):
``shift`` = dS/du, ``dilation`` = u dS/du, ``thickening`` = (dS/du)^2.
"""

import math

import numpy as np
from scipy import ndimage
from sklearn.utils import check_array

__all__ = [
    "IMAGE_TRANSFORMS",
    "SIGNAL_TRANSFORMS",
    "image_tangents",
    "signal_tangents",
]

#: Names accepted by :func:`image_tangents`, in their default order.
IMAGE_TRANSFORMS = (
    "translate_x",
    "translate_y",
    "rotate",
    "scale",
    "parallel_hyperbolic",
    "diagonal_hyperbolic",
    "thickening",
)

#: Names accepted by :func:`signal_tangents`, in their default order.
SIGNAL_TRANSFORMS = ("shift", "dilation", "thickening")

#: Boundary handling of the smoothing filters.  Digits and most signals
#: have a dark (zero) background that continues outside the frame, which
#: is what ``'constant'`` (``cval=0``) assumes.
_MODE = "constant"


def _check_transforms(transforms, allowed, kind):
    if isinstance(transforms, str):
        transforms = (transforms,)
    try:
        names = tuple(transforms)
    except TypeError:
        raise TypeError(
            f"transforms must be a string or a sequence of strings, got {transforms!r}"
        ) from None
    for name in names:
        if not isinstance(name, str) or name not in allowed:
            raise ValueError(
                f"Unknown {kind} transform {name!r}; valid names are "
                f"{', '.join(map(repr, allowed))}."
            )
    if len(set(names)) != len(names):
        raise ValueError(f"transforms contains duplicates: {names!r}")
    return names


def _check_sigma(sigma):
    if isinstance(sigma, bool) or not isinstance(sigma, int | float | np.number):
        raise TypeError(f"sigma must be a positive real number, got {sigma!r}")
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a positive real number, got {sigma!r}")
    return float(sigma)


def _check_X(X):
    return check_array(X, dtype=(np.float64, np.float32), order="C", input_name="X")


def check_image_shape(image_shape, n_features):
    """Validate ``image_shape`` against ``n_features``; return ``(h, w)``."""
    try:
        shape = tuple(int(s) for s in image_shape)
        ok = len(shape) == 2 and all(
            s == s_in for s, s_in in zip(shape, image_shape, strict=False)
        )
    except (TypeError, ValueError):
        ok = False
    if not ok or min(shape) < 1:
        raise ValueError(
            f"image_shape must be a pair of positive integers (height, width), "
            f"got {image_shape!r}"
        )
    if shape[0] * shape[1] != n_features:
        raise ValueError(
            f"image_shape {shape} has {shape[0] * shape[1]} pixels but X has "
            f"{n_features} features; their product must equal n_features."
        )
    return shape


def smooth_images(X, image_shape, sigma):
    """Gaussian-smooth each flat image (row of ``X``); same shape and dtype."""
    n = X.shape[0]
    images = X.reshape(n, *image_shape)
    out = ndimage.gaussian_filter(images, sigma, mode=_MODE, axes=(1, 2))
    return out.reshape(n, -1)


def smooth_signals(X, sigma):
    """Gaussian-smooth each signal (row of ``X``); same shape and dtype."""
    return ndimage.gaussian_filter1d(X, sigma, axis=1, mode=_MODE)


def image_tangents(X, image_shape, transforms=IMAGE_TRANSFORMS, sigma=1.0):
    """Tangent vectors of flattened images under small transformations.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Images flattened row-major, ``n_features = height * width``.
    image_shape : tuple of (int, int)
        ``(height, width)``; rows are ``y``, columns are ``x``.
    transforms : str or sequence of str, default=IMAGE_TRANSFORMS
        Any of ``'translate_x'``, ``'translate_y'``, ``'rotate'``,
        ``'scale'``, ``'parallel_hyperbolic'``, ``'diagonal_hyperbolic'``,
        ``'thickening'``, in the order wanted.
    sigma : float, default=1.0
        Standard deviation, in pixels, of the Gaussian whose derivatives
        give the image gradient.

    Returns
    -------
    tangents : ndarray of shape (n_samples, n_tangents, n_features)
        ``tangents[i, k]`` is ``d/dt I_i(p + t v_k(p))`` at ``t = 0`` (see the
        module docstring for ``v_k`` and the coordinate conventions).  Same
        dtype as ``X`` (float32 stays float32, anything else becomes
        float64).

    Notes
    -----
    Two derivative-of-Gaussian filterings per image (``O(n_features *
    sigma)`` each); the tangents are pointwise products of the two
    derivative images with the centred coordinates.

    References
    ----------
    P. Simard, Y. LeCun, J. Denker, B. Victorri. "Transformation invariance
    in pattern recognition -- tangent distance and tangent propagation",
    Neural Networks: Tricks of the Trade, 1998.

    Examples
    --------
    >>> import numpy as np
    >>> from skreg.utils import image_tangents
    >>> X = np.zeros((1, 25)); X[0, 12] = 1.0      # one bright pixel
    >>> image_tangents(X, (5, 5), ["translate_x", "rotate"]).shape
    (1, 2, 25)
    """
    X = _check_X(X)
    names = _check_transforms(transforms, IMAGE_TRANSFORMS, "image")
    sigma = _check_sigma(sigma)
    h, w = check_image_shape(image_shape, X.shape[1])
    n, dtype = X.shape[0], X.dtype
    out = np.empty((n, len(names), h * w), dtype=dtype)
    if not names or n == 0:
        return out
    images = X.reshape(n, h, w)
    # order=(0, 1) differentiates along axis 2 (columns, x); (1, 0) along
    # axis 1 (rows, y).
    ix = ndimage.gaussian_filter(images, sigma, order=(0, 1), mode=_MODE, axes=(1, 2))
    iy = ndimage.gaussian_filter(images, sigma, order=(1, 0), mode=_MODE, axes=(1, 2))
    x = (np.arange(w) - (w - 1) / 2).astype(dtype)[None, None, :]
    y = (np.arange(h) - (h - 1) / 2).astype(dtype)[None, :, None]
    formulas = {
        "translate_x": lambda: ix,
        "translate_y": lambda: iy,
        "rotate": lambda: y * ix - x * iy,
        "scale": lambda: x * ix + y * iy,
        "parallel_hyperbolic": lambda: x * ix - y * iy,
        "diagonal_hyperbolic": lambda: y * ix + x * iy,
        "thickening": lambda: ix * ix + iy * iy,
    }
    for k, name in enumerate(names):
        out[:, k] = formulas[name]().reshape(n, -1)
    return out


def signal_tangents(X, transforms=SIGNAL_TRANSFORMS, sigma=1.0):
    """Tangent vectors of 1-D signals under small shifts, dilations, thickening.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        One signal per row (``n_features`` samples each).
    transforms : str or sequence of str, default=SIGNAL_TRANSFORMS
        Any of ``'shift'``, ``'dilation'``, ``'thickening'``.
    sigma : float, default=1.0
        Standard deviation, in samples, of the Gaussian whose derivative
        gives the signal's slope.

    Returns
    -------
    tangents : ndarray of shape (n_samples, n_tangents, n_features)
        With ``u = index - (n_features - 1) / 2`` and ``S'`` the smoothed
        slope: ``shift`` = ``S'`` (the signal sampled at ``u + t``),
        ``dilation`` = ``u S'`` (sampled at ``(1 + t) u``), ``thickening`` =
        ``S'^2`` (sampled uphill at ``u + t S'``: peaks widen).  Same dtype as
        ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from skreg.utils import signal_tangents
    >>> X = np.sin(np.linspace(0, 6, 50))[None, :]
    >>> signal_tangents(X).shape
    (1, 3, 50)
    """
    X = _check_X(X)
    names = _check_transforms(transforms, SIGNAL_TRANSFORMS, "signal")
    sigma = _check_sigma(sigma)
    n, length = X.shape
    out = np.empty((n, len(names), length), dtype=X.dtype)
    if not names or n == 0:
        return out
    slope = ndimage.gaussian_filter1d(X, sigma, axis=1, order=1, mode=_MODE)
    u = (np.arange(length) - (length - 1) / 2).astype(X.dtype)[None, :]
    formulas = {
        "shift": lambda: slope,
        "dilation": lambda: u * slope,
        "thickening": lambda: slope * slope,
    }
    for k, name in enumerate(names):
        out[:, k] = formulas[name]()
    return out


def resolve_geometry(n_features, image_shape, transforms):
    """Return ``(image_shape or None, transform names)`` for this width.

    ``image_shape=None``: a square image if ``n_features`` is a perfect
    square (> 1), else 1-D signals (shared by tangent distance and tangent
    propagation).
    """
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side == n_features and n_features > 1:
            image_shape = (side, side)
    else:
        image_shape = check_image_shape(image_shape, n_features)
    allowed = SIGNAL_TRANSFORMS if image_shape is None else IMAGE_TRANSFORMS
    kind = "signal" if image_shape is None else "image"
    if transforms is None:
        names = allowed
    else:
        if image_shape is None and not isinstance(transforms, str):
            # give a pointed message for image names on 1-D data
            bad = [t for t in transforms if t in IMAGE_TRANSFORMS and t not in allowed]
            if bad:
                raise ValueError(
                    f"transforms {bad!r} are image transforms but the data are "
                    f"treated as 1-D signals ({n_features} features is not a "
                    f"perfect square); pass image_shape=(height, width) or use "
                    f"the signal transforms {SIGNAL_TRANSFORMS!r}."
                )
        names = _check_transforms(transforms, allowed, kind)
    return image_shape, names


def raw_tangents(X, image_shape, transforms, sigma):
    """Image tangents, or signal tangents when ``image_shape`` is None."""
    if image_shape is None:
        return signal_tangents(X, transforms, sigma)
    return image_tangents(X, image_shape, transforms, sigma)
