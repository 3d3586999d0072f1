"""Sparse coding (Batch-OMP) and dictionary learning (K-SVD)."""

__all__ = []
