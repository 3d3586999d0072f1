"""Kernel-cache location and robustness, and the array normalisation that
keeps one compiled variant per dtype."""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pytest

from skreg.utils import _numba

ROOT = pathlib.Path(__file__).resolve().parents[2]


# --- as_kernel_array -------------------------------------------------------------
def test_as_kernel_array_read_only_is_a_writable_alias_without_copy(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(12.0).reshape(3, 4))
    X = np.load(path, mmap_mode="r")
    assert not X.flags.writeable
    K = _numba.as_kernel_array(X, np.float64)
    assert K.flags.writeable and K.flags.c_contiguous
    assert np.shares_memory(K, X)
    np.testing.assert_array_equal(K, X)
    del X  # the alias keeps the mapping alive
    assert K[2, 3] == 11.0


@pytest.mark.parametrize(
    "make",
    [
        lambda a: np.asfortranarray(a),
        lambda a: a[:, ::2],
        lambda a: a.astype(np.float32),
    ],
    ids=["fortran", "strided", "other-dtype"],
)
def test_as_kernel_array_copies_other_layouts(make):
    a = np.arange(24.0).reshape(4, 6)
    src = make(a)
    K = _numba.as_kernel_array(src, np.float64)
    assert K.dtype == np.float64 and K.flags.c_contiguous and K.flags.writeable
    np.testing.assert_array_equal(K, np.asarray(src, dtype=np.float64))


def test_as_kernel_array_passes_a_ready_array_through():
    a = np.ones((3, 2))
    assert _numba.as_kernel_array(a, np.float64) is a


# --- cache location -----------------------------------------------------------------
def test_source_hash_follows_the_sources(tmp_path, monkeypatch):
    (tmp_path / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(_numba, "_PACKAGE", tmp_path)
    h1 = _numba.source_hash()
    (tmp_path / "a.py").write_text("x = 2\n")
    h2 = _numba.source_hash()
    (tmp_path / "b.py").write_text("")
    h3 = _numba.source_hash()
    assert len({h1, h2, h3}) == 3


def test_cache_dir_is_keyed_by_the_source_hash():
    # a stale cached caller of an edited callee can never be loaded: any
    # edit to skreg's sources moves every kernel to a new directory
    assert _numba.CACHE_DIR is not None
    assert _numba.source_hash() in _numba.CACHE_DIR


def test_cache_dir_order_and_user_override(tmp_path):
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "user"), "HOME": "/dev/null"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = _numba.choose_cache_dir("k", env)
    assert got == str(tmp_path / "user" / "skreg-k")


def test_cache_dir_falls_back_with_one_warning(tmp_path, monkeypatch):
    # nothing writable but the temporary directory: one warning naming the
    # fallback and NUMBA_CACHE_DIR
    monkeypatch.setattr(_numba, "_PACKAGE", pathlib.Path("/dev/null/pkg"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    env = {"NUMBA_CACHE_DIR": "/dev/null/user", "XDG_CACHE_HOME": "/dev/null/xdg"}
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        got = _numba.choose_cache_dir("k", env)
    assert got.startswith(str(tmp_path))
    assert len(rec) == 1 and "NUMBA_CACHE_DIR" in str(rec[0].message)
    # and nothing writable at all: caching off, one warning
    monkeypatch.setattr(tempfile, "tempdir", "/dev/null/tmp")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        assert _numba.choose_cache_dir("k", env) is None
    assert len(rec) == 1 and "NUMBA_CACHE_DIR" in str(rec[0].message)


_NO_CACHE_SCRIPT = r"""
import tempfile, warnings
tempfile.tempdir = "/dev/null/tmp"  # the temporary directory too
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as rec:
    import skreg
    from skreg.neural_network import MLPClassifier
    import numpy as np
    X = np.random.default_rng(0).uniform(size=(30, 4))
    y = np.arange(30) % 2
    MLPClassifier(hidden_layer_sizes=(3,), max_iter=2).fit(X, y).predict(X)
from skreg.utils._numba import CACHE_DIR
notes = [str(w.message) for w in rec if "NUMBA_CACHE_DIR" in str(w.message)]
print(skreg.__file__, CACHE_DIR, len(notes))
"""


@pytest.mark.slow
def test_import_and_fit_without_any_writable_cache_location(tmp_path):
    """A read-only install with an unwritable home: skreg still imports and
    fits (compiling in-process), with exactly one warning.

    Simulated so that it holds for root too: a copy of the package whose
    ``__pycache__`` is a file, ``HOME`` and the temporary directory under
    ``/dev/null``, no ``NUMBA_CACHE_DIR``.
    """
    shutil.copytree(
        ROOT / "skreg", tmp_path / "skreg", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "skreg" / "__pycache__").write_text("not a directory")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "XDG_"))}
    env.update(HOME="/dev/null", PYTHONPATH=str(tmp_path), PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run(
        [sys.executable, "-c", _NO_CACHE_SCRIPT],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    path, cache_dir, n_notes = out.stdout.split()
    assert path.startswith(str(tmp_path))
    assert (cache_dir, n_notes) == ("None", "1"), out.stdout
