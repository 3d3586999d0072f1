"""The matrix product every layer kind calls (see :func:`matmul`)."""

import numpy as np

from ...utils._numba import jit

__all__ = ["matmul"]


@jit(inline="always")
def matmul(A, B, out):
    """``out = A B`` (overwritten): BLAS's gemm for matrix products, a plain
    loop when ``A`` has one row or ``B`` one column.

    For those shapes numba calls gemv (or dot) instead of gemm, and a
    threaded gemv need not round as a sequential one: with OpenBLAS 0.3.21
    (scipy 1.11's) a (300-630) x 32 by 32 x 1 product differed in 1 to 4
    of its rows between one and two BLAS threads (0.3.31: in none).  Fits
    started from the user's own threads cannot pin the thread count
    (OpenBLAS ignores counts set from threads other than the main one, see
    ``skreg.utils._blas``), so these products are computed here, in one
    fixed order of summation, and a fit is the same in any thread.  They
    are the small products: one output unit (regression, binary
    classification) or a single row.
    """
    m, k = A.shape
    n = B.shape[1]
    if m != 1 and n != 1:
        np.dot(A, B, out)
        return
    if n == 1 and A.strides[0] < A.strides[1]:
        # A is a transposed view (the weight gradient A_in^T delta of a
        # one-output layer): add its contiguous columns, p ascending
        for i in range(m):
            out[i, 0] = A[i, 0] * B[0, 0]
        for p in range(1, k):
            b = B[p, 0]
            for i in range(m):
                out[i, 0] += A[i, p] * b
        return
    if m == 1 and B.strides[0] >= B.strides[1]:
        # one row by a row-major B (a one-row forward pass): add B's
        # contiguous rows, p ascending, so each output keeps the order of
        # the loop below (A[0,0] B[0,j] + A[0,1] B[1,j] + ...) while the
        # inner loop runs along memory; walking B's columns instead reads
        # one element per cache line and was 20x slower for 784 x 256
        a = A[0, 0]
        for j in range(n):
            out[0, j] = a * B[0, j]
        for p in range(1, k):
            a = A[0, p]
            for j in range(n):
                out[0, j] += a * B[p, j]
        return
    # a row of A (or a column of B) at a time; a transposed B (the input
    # gradient of a single row) is read with a stride, a small product
    for i in range(m):
        for j in range(n):
            acc = A[i, 0] * B[0, j]  # k >= 1: every layer has inputs
            for p in range(1, k):
                acc += A[i, p] * B[p, j]
            out[i, j] = acc
