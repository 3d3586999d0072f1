"""Named records (``_records``): every field cast by the one builder, so any
option values give the same numba type (one compiled variant)."""

import numba
import numpy as np
import pytest

from skreg.neural_network._engine import EngineConfig
from skreg.neural_network._engine._records import (
    adversarial_options,
    build_options,
    tangent_options,
)


def _configs():
    return [
        EngineConfig(),
        EngineConfig(
            activation="tanh", solver="sgd", alpha=1, momentum=0, nesterovs_momentum=0,
            activation_penalty="kl", activation_penalty_alpha=2, student_t_gamma=3,
            sparsity_target=0.1, tie_ref=np.zeros(3), tie_alpha=1, max_norm=2,
            dropout="bernoulli", keep_input=1, keep_hidden=0.5,
        ),
    ]  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_options_have_one_numba_type(dtype):
    a, b = (build_options(c, o, dtype) for c, o in zip(_configs(), (0, 1), strict=True))
    assert numba.typeof(a) == numba.typeof(b)
    assert a.log_eps == float(np.finfo(dtype).eps)
    assert b.optim.tie and b.optim.max_norm and not a.optim.tie


def test_mode_options_have_one_numba_type():
    c1 = EngineConfig(adversarial="fgsm", adversarial_epsilon=1, pgd_steps=2.0)
    c2 = EngineConfig(
        adversarial="vat", adversarial_clip=(0, 1), vat_power_iterations=3,
        virtual_labels=1, tangent_alpha=1, tangent_sampling="rademacher",
    )  # fmt: skip
    assert numba.typeof(adversarial_options(c1)) == numba.typeof(
        adversarial_options(c2)
    )
    assert numba.typeof(tangent_options(c1, 3)) == numba.typeof(tangent_options(c2, 7))
    assert tangent_options(c2, 7).sampled and not tangent_options(c1, 3).sampled
