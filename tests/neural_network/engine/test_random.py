"""Counter-based random streams (``_random``) against the documented hash.

Keys come back to Python as ints; they go back in as ``np.uint64`` (the
type they have inside the kernels): numba would type a Python int as
int64, and int64 + uint64 is float64 there.
"""

import numpy as np
import pytest

from skreg.neural_network._engine import _random

from ... import _reference as ref


def test_splitmix64_matches_the_reference():
    for x in [0, 1, 12345, 2**63 + 7]:
        assert int(_random.splitmix64(np.uint64(x))) == ref.splitmix64(x)


@pytest.mark.parametrize("keep", [0.5, 0.8, 0.3])
def test_dropout_masks_are_the_documented_hash(keep):
    s = np.empty(300)
    thr, scale = _random.keep_threshold(keep)
    cases = [(0, 0, 0, 0), (7, 3, 11, 1), (2**31 - 1, 5, 9, 2)]
    for seed, step, sample, layer in cases:
        key = np.uint64(_random.layer_key(seed, step, sample, layer))
        _random.keep_scales(s, key, thr, scale)
        want = ref.dropout_keep(seed, step, sample, layer, s.size, keep)
        np.testing.assert_array_equal(s > 0, want)
        np.testing.assert_array_equal(s[s > 0], 65536.0 / round(keep * 65536.0))


def test_keep_rate_and_stream_independence():
    thr, scale = _random.keep_threshold(0.7)
    n = 20000
    a = np.empty(n)
    b = np.empty(n)
    _random.keep_scales(a, np.uint64(_random.layer_key(1, 2, 3, 0)), thr, scale)
    _random.keep_scales(b, np.uint64(_random.layer_key(1, 2, 4, 0)), thr, scale)
    assert abs((a > 0).mean() - 0.7) < 0.02
    # another sample's mask is uncorrelated with this one's
    assert abs(np.corrcoef(a > 0, b > 0)[0, 1]) < 0.03
    c = np.empty(n)
    key = np.uint64(_random.layer_key(1, 2, 3, 0))
    _random.masked_copy(c, np.ones(n), key, thr, scale)
    np.testing.assert_array_equal(c, a)


def test_gaussian_and_uniform_streams():
    key = np.uint64(_random.adversarial_key(3, 4, 5))
    u = np.array([_random.uniform(key, j) for j in range(20000)])
    g = np.array([_random.gaussian(key, j) for j in range(10000)])
    assert 0.0 < u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.01
    assert abs(g.mean()) < 0.03 and abs(g.std() - 1.0) < 0.03


def test_row_hashes_depend_on_content_only():
    X = np.random.default_rng(0).standard_normal((5, 3))
    h = _random.row_hashes(X.view(np.uint64))
    h2 = _random.row_hashes(X[::-1].copy().view(np.uint64))
    np.testing.assert_array_equal(h, h2[::-1])
    assert len(set(h.tolist())) == 5 and (h >= 0).all()
