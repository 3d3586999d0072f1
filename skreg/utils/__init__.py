"""Utilities shared by several skreg subpackages."""

from ._tangent_vectors import (
    IMAGE_TRANSFORMS,
    SIGNAL_TRANSFORMS,
    image_tangents,
    signal_tangents,
)
from .discovery import all_estimators

__all__ = [
    "IMAGE_TRANSFORMS",
    "SIGNAL_TRANSFORMS",
    "all_estimators",
    "image_tangents",
    "signal_tangents",
]
