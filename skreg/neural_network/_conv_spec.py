"""The ``conv_layers`` and ``image_shape`` parameters: validation and the
normal form the engine's :meth:`~._engine.Layout.convolutional` reads.

A layer is ``(filters, kernel_size)`` (stride 1, 'valid' padding, no
pooling) or a dict with the keys ``filters``, ``kernel_size`` (an int or a
``(kh, kw)`` pair), ``stride`` (1), ``padding`` ('valid', 'same' or an
int; 'valid'), ``pool`` (window and stride, an int or a pair; 0 or 1 for
none; 0) and
``pool_type`` ('max' or 'avg'; 'max'), the names and meanings of Keras'
``Conv2D``/``MaxPooling2D`` and PyTorch's ``nn.Conv2d``/``nn.MaxPool2d``.
"""

import math
from numbers import Integral

_KEYS = {"filters", "kernel_size", "stride", "padding", "pool", "pool_type"}


def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _kernel(value, where, signal):
    if isinstance(value, Integral) and not isinstance(value, bool):
        k = _positive_int(value, f"{where} kernel_size")
        return (1, k) if signal else (k, k)
    try:
        kh, kw = value
    except (TypeError, ValueError):
        raise ValueError(
            f"{where} kernel_size must be an int or a (height, width) pair, "
            f"got {value!r}"
        ) from None
    return (
        _positive_int(kh, f"{where} kernel height"),
        _positive_int(kw, f"{where} kernel width"),
    )


def _pool(value, where, signal):
    """``(ph, pw)`` of a ``pool`` entry, or 0 for none; an int ``p`` is
    ``(p, p)``, or ``(1, p)`` on a 1-D signal."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{where} pool must be a non-negative int, got {value!r}")
        if value <= 1:
            return 0
        return (1, int(value)) if signal else (int(value), int(value))
    try:
        ph, pw = value
    except (TypeError, ValueError):
        raise ValueError(
            f"{where} pool must be an int or a (height, width) pair, got {value!r}"
        ) from None
    ph = _positive_int(ph, f"{where} pool height")
    pw = _positive_int(pw, f"{where} pool width")
    return 0 if ph * pw == 1 else (ph, pw)


def normalize_conv_layers(conv_layers, signal=False):
    """The layers of ``conv_layers`` as dicts with every key set.

    ``signal``: the input is a 1-D signal (an image of height 1), where an
    int ``kernel_size`` means ``(1, kernel_size)`` (Keras' ``Conv1D``).
    Raises ``ValueError`` naming the layer and the problem.
    """
    if conv_layers is None:
        return []
    try:
        layers = list(conv_layers)
    except TypeError:
        raise ValueError(
            "conv_layers must be a list of (filters, kernel_size) tuples or "
            f"dicts, got {conv_layers!r}"
        ) from None
    out = []
    for i, layer in enumerate(layers):
        where = f"conv_layers[{i}]"
        if isinstance(layer, dict):
            unknown = set(layer) - _KEYS
            if unknown:
                raise ValueError(
                    f"{where} has unknown keys {sorted(unknown)}; allowed: "
                    f"{sorted(_KEYS)}"
                )
            missing = {"filters", "kernel_size"} - set(layer)
            if missing:
                raise ValueError(f"{where} needs {sorted(missing)}")
            spec = dict(layer)
        else:
            try:
                filters, kernel_size = layer
            except (TypeError, ValueError):
                raise ValueError(
                    f"{where} must be (filters, kernel_size) or a dict, got {layer!r}"
                ) from None
            spec = dict(filters=filters, kernel_size=kernel_size)
        padding = spec.get("padding", "valid")
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(
                    f"{where} padding must be 'valid', 'same' or an int, got "
                    f"{padding!r}"
                )
        elif (
            isinstance(padding, bool)
            or not isinstance(padding, Integral)
            or padding < 0
        ):
            raise ValueError(
                f"{where} padding must be 'valid', 'same' or a non-negative int, "
                f"got {padding!r}"
            )
        pool = _pool(spec.get("pool", 0) or 0, where, signal)
        pool_type = spec.get("pool_type", "max")
        if pool_type not in ("max", "avg"):
            raise ValueError(
                f"{where} pool_type must be 'max' or 'avg', got {pool_type!r}"
            )
        out.append(
            dict(
                filters=_positive_int(spec["filters"], f"{where} filters"),
                kernel_size=_kernel(spec["kernel_size"], where, signal),
                stride=_positive_int(spec.get("stride", 1), f"{where} stride"),
                padding=padding if isinstance(padding, str) else int(padding),
                pool=pool,
                pool_type=pool_type,
            )
        )
    return out


def conv_image(n_features, image_shape):
    """``(H, W, C)`` of rows of ``n_features`` values.

    ``image_shape`` is ``(h, w)`` or ``(h, w, channels)`` (channels last),
    or None: a square one-channel image if ``n_features`` is a perfect
    square, else a one-channel 1-D signal ``(1, n_features, 1)``, the rules
    of :class:`~skreg.neighbors.TangentDistanceKNN`.
    """
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side == n_features and n_features > 1:
            return (side, side, 1)
        return (1, n_features, 1)
    try:
        shape = tuple(image_shape)
    except TypeError:
        shape = ()
    if len(shape) not in (2, 3) or any(
        isinstance(s, bool) or not isinstance(s, Integral) or s < 1 for s in shape
    ):
        raise ValueError(
            "image_shape must be (height, width) or (height, width, channels) "
            f"of positive integers, got {image_shape!r}"
        )
    H, W, C = (*shape, 1) if len(shape) == 2 else shape
    if H * W * C != n_features:
        raise ValueError(
            f"image_shape {tuple(shape)} holds {H * W * C} values but X has "
            f"{n_features} features; their product must equal n_features."
        )
    return (int(H), int(W), int(C))
