"""Ensembles of skreg neural networks (bagging)."""

__all__ = []
