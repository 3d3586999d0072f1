"""Sparse coding (Batch-OMP) and dictionary learning (K-SVD)."""

from ._ksvd import KSVD
from ._sparse_coder import SparseCoder, sparse_encode

__all__ = ["KSVD", "SparseCoder", "sparse_encode"]
