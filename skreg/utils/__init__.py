"""Utilities shared by several skreg subpackages."""

from ._tangent_vectors import (
    IMAGE_TRANSFORMS,
    SIGNAL_TRANSFORMS,
    image_tangents,
    signal_tangents,
)
from .discovery import all_estimators, skops_trusted_types

# skl2onnx is imported only when a converter is registered (the onnx extra)
from .onnx import register_converters, to_onnx

__all__ = [
    "IMAGE_TRANSFORMS",
    "SIGNAL_TRANSFORMS",
    "all_estimators",
    "image_tangents",
    "register_converters",
    "signal_tangents",
    "skops_trusted_types",
    "to_onnx",
]
