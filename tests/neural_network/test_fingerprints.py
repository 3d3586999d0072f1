"""Behaviour gate of the MLP engine: fitted weights and probabilities of every
engine option, compared with the values the engine produced when this file
was recorded.

A refactor of the engine must leave these unchanged up to the last bits:
every array within ``RTOL`` (by dtype) of its stored value, relative to
the array's largest entry.  Not bit for bit, because the same source does not always
compile to the same rounding: with the ``contract`` fast-math flag LLVM
fuses a multiply and an add into one FMA where it sees both, and whether it
sees both depends on inlining, which differs between a kernel compiled in
this process and one loaded from numba's cache, and with what else was
compiled before.  Those last-bit differences (about 1e-17) grow to about
4e-11 in VAT, whose finite-difference step (``vat_xi=1e-6``) divides them
by 1e-6.  Any change of the arithmetic itself moves results far more.

Regenerate (only after a deliberate change of results) with::

    SKREG_WRITE_FINGERPRINTS=1 pytest tests/neural_network/test_fingerprints.py
"""

import os
import pathlib
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skreg.ensemble import BaggedMLPClassifier
from skreg.neural_network import (
    AdversarialMLPClassifier,
    DropoutMLPClassifier,
    ManifoldTangentClassifier,
    MLPClassifier,
    TangentPropMLPClassifier,
)
from skreg.utils._blas import single_threaded_blas

from .._instances import FAST_PARAMS, VARIANTS

DATA = pathlib.Path(__file__).with_name("fingerprints.npz")
WRITE = os.environ.get("SKREG_WRITE_FINGERPRINTS") == "1"

#: max |got - stored| / max |stored| of every array (see the module doc),
#: by dtype: float32 results also move by an ulp (6e-8) or so with the
#: numba/LLVM version (seen between numba 0.60 and 0.68), float64 do not.
RTOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-6}

_SMALL = dict(hidden_layer_sizes=(12,), max_iter=4, random_state=0)


def _data(binary=False, dtype=np.float64):
    X, y = load_digits(return_X_y=True)
    X = (X[:90] / 16.0).astype(dtype)
    y = y[:90] % 2 if binary else y[:90] % 4
    return X, y


def _cases():
    """(name, estimator factory, data kwargs)."""
    M = MLPClassifier
    cases = []

    def add(name, make, **data):
        cases.append((name, make, data))

    # every configuration registered for scikit-learn's checks
    classes = {
        "MLPClassifier": M,
        "DropoutMLPClassifier": DropoutMLPClassifier,
        "TangentPropMLPClassifier": TangentPropMLPClassifier,
        "ManifoldTangentClassifier": ManifoldTangentClassifier,
        "AdversarialMLPClassifier": AdversarialMLPClassifier,
        "BaggedMLPClassifier": BaggedMLPClassifier,
    }
    for cname, cls in classes.items():
        base = dict(FAST_PARAMS.get(cname, {}))
        configs = [{}] + list(VARIANTS.get(cname, []))
        for i, variant in enumerate(configs):
            params = {**base, **variant, "random_state": 0}
            if cname != "BaggedMLPClassifier":
                params["max_iter"] = 4
            add(f"variant-{cname}-{i}", lambda c=cls, p=params: c(**p))

    # every engine option on the plain estimator
    for solver in ("sgd", "adam", "lbfgs"):
        add(f"solver-{solver}", lambda s=solver: M(solver=s, **_SMALL))
    add(
        "sgd-momentum-no-nesterov",
        lambda: M(solver="sgd", nesterovs_momentum=False, **_SMALL),
    )
    add(
        "sgd-invscaling",
        lambda: M(solver="sgd", learning_rate="invscaling", **_SMALL),
    )
    for act in ("identity", "logistic", "tanh", "relu"):
        for binary in (False, True):
            add(
                f"act-{act}-{'bin' if binary else 'multi'}",
                lambda a=act: M(activation=a, **_SMALL),
                binary=binary,
            )
    for pen in ("l1", "student_t", "kl"):
        for act in ("relu", "logistic", "tanh"):
            add(
                f"penalty-{pen}-{act}",
                lambda p=pen, a=act: M(
                    activation=a,
                    activation_penalty=p,
                    activation_penalty_alpha=0.05,
                    **_SMALL,
                ),
            )
        add(
            f"penalty-{pen}-lbfgs",
            lambda p=pen: M(
                solver="lbfgs",
                activation="tanh",
                activation_penalty=p,
                activation_penalty_alpha=0.05,
                **_SMALL,
            ),
        )
    add("max-norm", lambda: M(max_norm=0.5, **_SMALL))
    add("max-norm-sgd", lambda: M(max_norm=0.5, solver="sgd", **_SMALL))
    add("early-stopping", lambda: M(early_stopping=True, **_SMALL))
    add("float32", lambda: M(**_SMALL), dtype=np.float32)
    add(
        "float32-tanh-dropout",
        lambda: DropoutMLPClassifier(activation="tanh", **_SMALL),
        dtype=np.float32,
    )
    add("batch-7", lambda: M(batch_size=7, **_SMALL))

    # tying: a reference made by a seeded draw (same architecture)
    def tied(solver="adam"):
        ref = M(**_SMALL).fit(*_data())
        coefs = [c * 0.5 for c in ref.coefs_]
        return M(
            tie_to=(coefs, ref.intercepts_), tie_alpha=0.3, solver=solver, **_SMALL
        )

    add("tie-adam", tied)
    add("tie-lbfgs", lambda: tied("lbfgs"))

    # dropout
    D = DropoutMLPClassifier
    for act in ("relu", "tanh", "logistic"):
        add(f"bernoulli-{act}", lambda a=act: D(activation=a, **_SMALL))
        add(
            f"fast-{act}",
            lambda a=act: D(activation=a, dropout_method="fast", **_SMALL),
        )
    add(
        "bernoulli-relu-kl",
        lambda: D(activation_penalty="kl", activation_penalty_alpha=0.05, **_SMALL),
    )
    add(
        "bernoulli-input-only",
        lambda: D(input_dropout=0.3, hidden_dropout=0.0, **_SMALL),
    )
    add("fast-binary", lambda: D(dropout_method="fast", **_SMALL), binary=True)
    add("mc-arithmetic", lambda: D(inference="mc_arithmetic", n_mc_samples=5, **_SMALL))
    add("mc-geometric", lambda: D(inference="mc_geometric", n_mc_samples=5, **_SMALL))
    add(
        "mc-binary",
        lambda: D(inference="mc_arithmetic", n_mc_samples=5, **_SMALL),
        binary=True,
    )

    # adversarial training
    A = AdversarialMLPClassifier
    adv = dict(adversarial_epsilon=0.1, clip=(0.0, 1.0))
    add("fgsm", lambda: A(method="fgsm", **adv, **_SMALL))
    add("fgsm-binary", lambda: A(method="fgsm", **adv, **_SMALL), binary=True)
    add("fgsm-l1", lambda: A(
        method="fgsm", activation_penalty="l1", activation_penalty_alpha=0.05,
        **adv, **_SMALL))  # fmt: skip
    add("pgd", lambda: A(method="pgd", pgd_steps=3, **adv, **_SMALL))
    add(
        "pgd-random-start",
        lambda: A(method="pgd", pgd_steps=3, pgd_random_start=True, **adv, **_SMALL),
    )
    add("vat", lambda: A(method="vat", adversarial_epsilon=0.5, **_SMALL))
    add(
        "vat-binary",
        lambda: A(method="vat", adversarial_epsilon=0.5, **_SMALL),
        binary=True,
    )

    # tangent propagation
    T = TangentPropMLPClassifier
    for out in ("proba", "logits"):
        for act in ("relu", "tanh"):
            add(
                f"tangent-{out}-{act}",
                lambda o=out, a=act: T(tangent_output=o, activation=a, **_SMALL),
            )
    add("tangent-rademacher", lambda: T(tangent_sampling="rademacher", **_SMALL))
    add("tangent-binary", lambda: T(**_SMALL), binary=True)
    add("tangent-lbfgs", lambda: T(solver="lbfgs", **_SMALL))
    add(
        "manifold",
        lambda: ManifoldTangentClassifier(cae_hidden=8, cae_max_iter=3, **_SMALL),
    )
    add(
        "bagged-dropout",
        lambda: BaggedMLPClassifier(
            estimator=D(hidden_layer_sizes=(8,), max_iter=3), n_estimators=2,
            random_state=0,
        ),
    )  # fmt: skip
    return cases


CASES = _cases()


def _fingerprint(make, data):
    X, y = _data(**data)
    with warnings.catch_warnings(), single_threaded_blas():
        warnings.simplefilter("ignore")
        est = make().fit(X, y)
        proba = est.predict_proba(X)
    members = getattr(est, "estimators_", [est])
    arrays = {"proba": proba}
    for m, member in enumerate(members):
        for layer, (c, b) in enumerate(
            zip(member.coefs_, member.intercepts_, strict=True)
        ):
            arrays[f"m{m}-W{layer}"] = c
            arrays[f"m{m}-b{layer}"] = b
    return arrays


def _load():
    if not DATA.exists():
        return {}
    with np.load(DATA) as f:
        return {k: f[k] for k in f.files}


_STORED = _load()
_NEW: dict = {}


@pytest.mark.parametrize("name,make,data", CASES, ids=[c[0] for c in CASES])
def test_fingerprint(name, make, data):
    got = _fingerprint(make, data)
    if WRITE:
        for k, v in got.items():
            _NEW[f"{name}/{k}"] = v
        np.savez_compressed(DATA, **{**_STORED, **_NEW})
        return
    keys = sorted(k for k in _STORED if k.startswith(name + "/"))
    assert keys, f"no stored fingerprint for {name}; regenerate (see module doc)"
    assert sorted(f"{name}/{k}" for k in got) == keys
    for k, v in got.items():
        want = _STORED[f"{name}/{k}"]
        assert v.dtype == want.dtype and v.shape == want.shape, k
        scale = float(np.max(np.abs(want))) if want.size else 0.0
        np.testing.assert_allclose(
            v, want, rtol=0, atol=RTOL[want.dtype] * scale, err_msg=f"{name}/{k}"
        )
