"""Sparse coding (Batch-OMP) and dictionary learning (K-SVD)."""

from ._sparse_coder import SparseCoder, sparse_encode

__all__ = ["SparseCoder", "sparse_encode"]
