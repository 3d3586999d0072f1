import os

import numpy as np
import pytest

# Examples and the tour draw figures; never open a window in tests.
os.environ.setdefault("MPLBACKEND", "Agg")
# scikit-learn runs its array-API input check (numpy namespace) only when
# scipy's array-API mode is on; it must be set before scipy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

#: Seeds every randomised test runs under, so no test leans on a lucky seed.
SEEDS = (0, 1, 2)


@pytest.fixture(params=SEEDS, ids=lambda s: f"seed{s}")
def seed(request):
    """An integer seed; tests using it run once per seed in ``SEEDS``."""
    return request.param


@pytest.fixture
def rng(seed):
    """A ``numpy.random.Generator`` built from :func:`seed`."""
    return np.random.default_rng(seed)
