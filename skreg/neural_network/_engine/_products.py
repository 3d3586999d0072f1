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
        # Eight rows of B per pass over the output: the sum below is
        # the same sequence of additions as eight passes of one row (so the
        # result is bit-identical), but each output is loaded and stored
        # once per eight products instead of once per product, which was
        # what bounded the loop; 2x on a 64 x 256 layer, np.dot's speed.
        o = out[0]
        a = A[0, 0]
        for j in range(n):
            o[j] = a * B[0, j]
        p = 1
        while p + 8 <= k:
            a0, a1, a2, a3 = A[0, p], A[0, p + 1], A[0, p + 2], A[0, p + 3]
            a4, a5, a6, a7 = A[0, p + 4], A[0, p + 5], A[0, p + 6], A[0, p + 7]
            B0, B1, B2, B3 = B[p], B[p + 1], B[p + 2], B[p + 3]
            B4, B5, B6, B7 = B[p + 4], B[p + 5], B[p + 6], B[p + 7]
            for j in range(n):
                # left to right, as Python (and numba) evaluate ``+``
                o[j] = (
                    o[j] + a0 * B0[j] + a1 * B1[j] + a2 * B2[j] + a3 * B3[j]
                    + a4 * B4[j] + a5 * B5[j] + a6 * B6[j] + a7 * B7[j]
                )
            p += 8
        for q in range(p, k):
            a = A[0, q]
            for j in range(n):
                o[j] += a * B[q, j]
        return
    # a row of A (or a column of B) at a time; a transposed B (the input
    # gradient of a single row) is read with a stride, a small product
    for i in range(m):
        for j in range(n):
            acc = A[i, 0] * B[0, j]  # k >= 1: every layer has inputs
            for p in range(1, k):
                acc += A[i, p] * B[p, j]
            out[i, j] = acc
