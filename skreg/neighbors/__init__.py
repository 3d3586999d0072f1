"""Nearest neighbours under tangent distance."""

__all__ = []
