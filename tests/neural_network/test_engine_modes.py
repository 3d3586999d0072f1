"""The engine's training modes: a fit compiles only its own mode, option
mixes no mode implements are refused, every input layout reuses one
compiled variant, and a fit that is about to compile says so."""

import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pytest

from skreg.neural_network import DropoutMLPClassifier, MLPClassifier
from skreg.neural_network._engine import EngineConfig, _plain

_MODES_SCRIPT = r"""
import warnings, numpy as np
warnings.simplefilter("ignore")
from skreg.neural_network import DropoutMLPClassifier, MLPClassifier
from skreg.neural_network._engine import _adversarial, _fast_dropout, _plain, _tangent
X = np.random.default_rng(0).uniform(size=(40, 6)); y = np.arange(40) % 3
for est in [MLPClassifier(hidden_layer_sizes=(4,), max_iter=2),
            MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=2),
            DropoutMLPClassifier(hidden_layer_sizes=(4,), max_iter=2)]:
    est.fit(X, y).predict_proba(X)
other = [_adversarial.run_epoch, _adversarial.batch_loss_grad, _adversarial.objective,
         _tangent.run_epoch, _tangent.batch_loss_grad, _tangent.tangent_forward,
         _tangent.tangent_backward, _tangent.objective, _fast_dropout.run_epoch,
         _fast_dropout.batch_loss_grad, _fast_dropout.objective]
print(len(_plain.run_epoch.signatures), sum(len(f.signatures) for f in other))
"""


def test_plain_and_bernoulli_fits_compile_no_other_mode():
    out = subprocess.run(
        [sys.executable, "-c", _MODES_SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    n_plain, n_other = map(int, out.stdout.split())
    assert n_plain == 1  # adam and Bernoulli dropout share one variant
    assert n_other == 0


@pytest.mark.parametrize(
    "options,tangents",
    [
        (dict(adversarial="fgsm", dropout="fast"), False),
        (dict(adversarial="vat"), True),
        (dict(dropout="fast"), True),
        (dict(dropout="fast", activation_penalty="l1"), False),
    ],
)
def test_unsupported_option_mixes_are_refused(options, tangents):
    with pytest.raises(ValueError, match="cannot be combined|not available"):
        EngineConfig(**options).mode(tangents=tangents)


@pytest.mark.parametrize(
    "options,tangents,mode",
    [
        (dict(), False, "plain"),
        (dict(dropout="bernoulli"), False, "plain"),
        (dict(dropout="fast"), False, "fast"),
        (dict(dropout="bernoulli"), True, "tangent"),
        (dict(adversarial="pgd", dropout="bernoulli"), False, "adversarial"),
    ],
)
def test_modes(options, tangents, mode):
    assert EngineConfig(**options).mode(tangents=tangents) == mode


def _layouts(X, tmpdir):
    path = os.path.join(tmpdir, "X.npy")
    np.save(path, X)
    wide = np.zeros((X.shape[0], 2 * X.shape[1]))
    wide[:, ::2] = X
    return {
        "memmap": np.load(path, mmap_mode="r"),
        "fortran": np.asfortranarray(X),
        "strided": wide[:, ::2],
    }


@pytest.mark.parametrize("est", [MLPClassifier, DropoutMLPClassifier])
def test_input_layouts_reuse_the_compiled_kernels(est):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(50, 5))
    y = np.arange(50) % 3
    make = lambda: est(hidden_layer_sizes=(4,), max_iter=3, random_state=0)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = make().fit(X, y)
        n_variants = len(_plain.run_epoch.signatures)
        with tempfile.TemporaryDirectory() as tmp:
            for name, Xl in _layouts(X, tmp).items():
                got = make().fit(Xl, y)
                for a, b in zip(got.coefs_, ref.coefs_, strict=True):
                    np.testing.assert_array_equal(a, b, err_msg=name)
                np.testing.assert_array_equal(
                    got.predict_proba(Xl), ref.predict_proba(X), err_msg=name
                )
                assert len(_plain.run_epoch.signatures) == n_variants, name


_VERBOSE_SCRIPT = r"""
import warnings, numpy as np
warnings.simplefilter("ignore")
from skreg.neural_network import MLPClassifier
X = np.random.default_rng(0).uniform(size=(40, 6)).astype(np.float32)
y = np.arange(40) % 3
MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, verbose=1).fit(X, y)
"""


@pytest.mark.slow
def test_verbose_fit_says_when_it_compiles(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))

    def run():
        return subprocess.run(
            [sys.executable, "-c", _VERBOSE_SCRIPT],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stdout

    cold = run()
    assert "compiling kernels for float32" in cold.splitlines()[0]
    assert "compiling" not in run()  # the cache is warm now
