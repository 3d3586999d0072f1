"""Counter-based random streams of the engine.

Every random number is a splitmix64 hash (Steele, Lea, Flood 2014) of
``(seed, step, sample, layer, unit)``: no generator state, so results are
bit-identical for any ``n_jobs`` and under threads.  A dropout unit is kept
iff the top 16 bits of its hash fall below ``round(65536 * keep)``.
"""

import math

import numpy as np

from ...utils._numba import jit

#: Keys the adversarial option's stream apart from dropout's.
_ADV_SALT = 0x2545F4914F6CDD1D


@jit(inline="always")
def splitmix64(x):
    """One splitmix64 step of a uint64 (Steele, Lea, Flood 2014)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@jit(inline="always")
def _row_key(seed, step, sample):
    """Hash key of one (seed, step, sample) triple."""
    k = splitmix64(np.uint64(seed) ^ splitmix64(np.uint64(step)))
    return splitmix64(k ^ np.uint64(sample))


@jit(inline="always")
def keep_threshold(keep):
    """16-bit threshold of a keep probability and its exact inverse scale."""
    thr = np.uint64(int(round(keep * 65536.0)))
    if thr == np.uint64(0):
        return thr, 0.0
    return thr, 65536.0 / float(thr)


@jit(inline="always")
def unit_bits(key, j):
    """16 random bits of unit ``j``: the top of splitmix64(key + j * golden).

    Written per element without branches so LLVM vectorises it (64-bit
    lanes; AVX-512DQ multiplies them natively).
    """
    x = key + np.uint64(j) * np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return x >> np.uint64(48)


@jit(inline="always")
def keep_scales(s, key, thr, scale):
    """Mask scales of one row of one layer: ``s[j]`` in {0, scale}.

    ``key`` identifies (seed, step, sample, layer); unit j keeps iff its
    16 bits (:func:`unit_bits`) are below ``thr``.  ``scale`` should have
    the dtype of ``s`` (float32 stays float32).
    """
    for j in range(s.shape[0]):
        s[j] = scale if unit_bits(key, j) < thr else 0.0


@jit(inline="always")
def masked_copy(dst, src, key, thr, scale):
    """``dst = src * s`` with the scales of :func:`keep_scales` (not stored)."""
    for j in range(dst.shape[0]):
        dst[j] = src[j] * scale if unit_bits(key, j) < thr else 0.0


@jit(inline="always")
def layer_key(seed, step, sample, layer):
    """Hash key of one (seed, step, sample, layer)."""
    return splitmix64(
        _row_key(seed, step, sample)
        ^ (np.uint64(layer + 1) * np.uint64(0x9E3779B97F4A7C15))
    )


@jit(inline="always")
def uniform(key, j):
    """A uniform number in (0, 1) for unit ``j`` of the row keyed ``key``."""
    x = splitmix64(key + np.uint64(j) * np.uint64(0x9E3779B97F4A7C15))
    return (float(x >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@jit(inline="always")
def adversarial_key(seed, step, sample):
    """Key of the adversarial option's stream of one (seed, step, sample)."""
    return splitmix64(_row_key(seed, step, sample) ^ np.uint64(_ADV_SALT))


@jit(inline="always")
def gaussian(key, j):
    """A standard normal number (Box-Muller on two uniforms of the row)."""
    u1 = uniform(key, 2 * j)
    u2 = uniform(key, 2 * j + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@jit
def row_hashes(Xbits):
    """A 63-bit hash of each row's bit pattern (MC-dropout mask keys)."""
    n, d = Xbits.shape
    out = np.empty(n, dtype=np.int64)
    for r in range(n):
        h = np.uint64(0x243F6A8885A308D3)
        for j in range(d):
            h = splitmix64(h ^ np.uint64(Xbits[r, j]))
        out[r] = np.int64(h >> np.uint64(1))
    return out


@jit
def row_hashes_csr(data, bits, indices, indptr, d):
    """:func:`row_hashes` of the dense rows of a CSR matrix (``data`` its
    stored values, ``bits`` their bit patterns, column indices sorted):
    absent entries and stored zeros hash as +0.0, as in the matrix's
    ``toarray()``, so a sparse query draws the masks of its dense copy."""
    n = indptr.shape[0] - 1
    out = np.empty(n, dtype=np.int64)
    for r in range(n):
        h = np.uint64(0x243F6A8885A308D3)
        p = indptr[r]
        end = indptr[r + 1]
        for j in range(d):
            v = np.uint64(0)
            if p < end and indices[p] == j:
                if data[p] != 0:
                    v = np.uint64(bits[p])
                p += 1
            h = splitmix64(h ^ v)
        out[r] = np.int64(h >> np.uint64(1))
    return out
