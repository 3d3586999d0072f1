"""Kernel-cache location and robustness, and the array normalisation that
keeps one compiled variant per dtype."""

import ast
import importlib
import json
import os
import pathlib
import pkgutil
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
def test_source_hash_follows_the_kernel_sources_only(tmp_path, monkeypatch):
    (tmp_path / "k.py").write_text("x = 1\n")
    (tmp_path / "est.py").write_text("y = 1\n")
    monkeypatch.setattr(_numba, "_PACKAGE", tmp_path)
    h1 = _numba.source_hash(("k.py",))
    (tmp_path / "est.py").write_text("y = 2\n")
    assert _numba.source_hash(("k.py",)) == h1
    (tmp_path / "k.py").write_text("x = 2\n")
    h2 = _numba.source_hash(("k.py",))
    (tmp_path / "k2.py").write_text("")
    h3 = _numba.source_hash(("k.py", "k2.py"))
    assert len({h1, h2, h3}) == 3


def _skreg_imports(module, package_root):
    """The skreg modules ``module``'s source imports from (any depth)."""
    rel = module.replace(".", "/")
    path = package_root / f"{rel}.py"
    is_pkg = not path.exists()
    if is_pkg:
        path = package_root / rel / "__init__.py"
    parent = module if is_pkg else module.rpartition(".")[0]

    def exists(name):
        stem = package_root / name.replace(".", "/")
        return stem.with_suffix(".py").exists() or (stem / "__init__.py").exists()

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = parent.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            if source.split(".")[0] != "skreg":
                continue
            for alias in node.names:  # "from . import _x" imports a module
                sub = f"{source}.{alias.name}"
                found.add(sub if exists(sub) else source)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "skreg")
    return found


def test_kernel_sources_are_every_module_a_kernel_depends_on():
    # a kernel module left out of the hash would let a cached kernel outlive
    # an edit to its source or to a constant it imports; a module put in
    # needlessly recompiles everything whenever it is edited
    import skreg

    for info in pkgutil.walk_packages(skreg.__path__, "skreg."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    # (test modules that jit helpers with the presets are not skreg's)
    roots = {d.py_func.__module__ for d in _numba._DISPATCHERS}
    roots |= {f.__module__ for f in _numba._OVERLOADED}
    roots = {name for name in roots if name.startswith("skreg.")}
    assert roots, "no kernel was registered"
    package_root = pathlib.Path(skreg.__file__).resolve().parent.parent
    closure, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name not in closure:
            closure.add(name)
            todo.extend(_skreg_imports(name, package_root))

    def source(name):
        rel = name.partition(".")[2].replace(".", "/")
        return rel + ("/__init__.py" if (_numba._PACKAGE / rel).is_dir() else ".py")

    # a package's __init__ runs on import but is only a dependency if named
    needed = {source(n) for n in closure}
    assert needed == set(_numba.KERNEL_SOURCES)


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


def _no_temp_dir(monkeypatch, tmp_path):
    """No usable temporary directory, as gettempdir itself finds it: every
    candidate it tries lies under a regular file (which fails for root too)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setattr(
        tempfile, "_candidate_tempdir_list", lambda: [str(blocker / "tmp")]
    )
    with pytest.raises(FileNotFoundError):
        tempfile.gettempdir()
    return blocker


def test_no_usable_temporary_directory_turns_caching_off(tmp_path, monkeypatch):
    # gettempdir raises FileNotFoundError there: caching off with the one
    # warning, not an import error
    blocker = _no_temp_dir(monkeypatch, tmp_path)
    monkeypatch.setattr(_numba, "_PACKAGE", blocker / "pkg")
    env = {"NUMBA_CACHE_DIR": str(blocker / "u"), "XDG_CACHE_HOME": str(blocker / "x")}
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        assert _numba.choose_cache_dir("k", env) is None
    assert [w.category for w in rec] == [RuntimeWarning]
    assert "NUMBA_CACHE_DIR" in str(rec[0].message)


def test_home_that_does_not_expand_is_not_the_working_directory(monkeypatch):
    # no HOME and no passwd entry (an arbitrary container uid): expanduser
    # leaves "~", which must not become a cache under the working directory
    monkeypatch.setattr(os.path, "expanduser", lambda path: path)
    dirs = [path for path, _ in _numba._cache_candidates("k", {})]
    assert all(os.path.isabs(path) for path in dirs), dirs


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_temporary_fallback_must_be_private(tmp_path, monkeypatch):
    # numba's cache files are pickles: a shared directory that others can
    # write (or made) is never used
    monkeypatch.setattr(_numba, "_PACKAGE", pathlib.Path("/dev/null/pkg"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    env = {"XDG_CACHE_HOME": "/dev/null/xdg"}
    shared = tmp_path / f"skreg-numba-{os.getuid()}"
    shared.mkdir()
    shared.chmod(0o777)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert _numba.choose_cache_dir("k", env) is None
    shared.chmod(0o700)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert _numba.choose_cache_dir("k", env) == str(shared / "k")


# --- a container where nothing is writable -----------------------------------------
# Run by a fresh interpreter, which prints a JSON report.  It first checks
# the premise (no usable temporary directory, an unwritable package
# directory), so the test cannot pass on a machine where it did not hold.
_NOTHING_WRITABLE_SCRIPT = r"""
import json, tempfile, warnings
try:
    tempfile.gettempdir()
    no_temp = False
except FileNotFoundError:
    no_temp = True
with warnings.catch_warnings(record=True) as at_import:
    warnings.simplefilter("always")
    import numpy as np
    import skreg
    from skreg.neural_network import MLPClassifier
    from skreg.utils import _numba
package_writable = _numba._writable(str(_numba._PACKAGE / "__pycache__"))
X = np.random.default_rng(0).uniform(size=(40, 4))
y = np.arange(40) % 2
with warnings.catch_warnings(record=True) as at_fit:
    warnings.simplefilter("always")
    pred = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(
        X, y
    ).predict(X)
print(json.dumps(dict(
    no_temp=no_temp,
    package_writable=package_writable,
    package=skreg.__file__,
    cache_dir=_numba.CACHE_DIR,
    uncached=sorted({type(d._cache).__name__ for d in _numba._DISPATCHERS}),
    at_import=[(w.category.__name__, str(w.message)) for w in at_import],
    at_fit=sorted({w.category.__name__ for w in at_fit}),
    n_predicted=len(pred),
)))
"""

# Outside a read-only mount namespace, the interpreter cannot be stopped
# from writing where root may: the temporary directories gettempdir tries
# are then narrowed to the environment's (under a file, see below).
_NARROW_TEMP_PRELUDE = r"""
import os, tempfile
tempfile._candidate_tempdir_list = lambda: [
    os.environ[k] for k in ("TMPDIR", "TEMP", "TMP")
]
"""

# Every mount read-only, in a private mount namespace of a user namespace
# (so the host's mounts are untouched): not even root can write, as in a
# container run with a read-only root file system.  Mounts that refuse are
# left as they are; the script's premise check catches what that leaves.
_READ_ONLY_MOUNTS = (
    "for m in $(cut -d' ' -f2 /proc/self/mounts); do "
    'mount -o remount,bind,ro "$m" 2>/dev/null; done; '
    'exec "$@"'
)


def _read_only_namespace():
    """The command prefix that runs a process with every mount read-only,
    or None where user and mount namespaces are unavailable."""
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        return None
    prefix = [unshare, "--user", "--map-root-user", "--mount", "sh", "-c"]
    try:
        probe = subprocess.run(
            [*prefix, 'mount -o remount,bind,ro / && exec "$@"', "sh", "true"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if probe.returncode != 0:
        return None
    return [*prefix, _READ_ONLY_MOUNTS, "sh"]


@pytest.mark.slow
def test_import_and_fit_where_nothing_is_writable(tmp_path):
    """A container with nothing writable: no temporary directory, an
    unwritable home, a read-only install.  skreg imports with exactly one
    warning (naming NUMBA_CACHE_DIR), caching off, and fits, compiling in
    process.

    Root ignores file permissions, so unwritable means: every mount
    read-only (a mount namespace) where the system allows it, else a copy
    of the package whose ``__pycache__`` is a file and the temporary
    directories narrowed to paths under a file.  In both, ``HOME``,
    ``XDG_CACHE_HOME`` and the ``TMPDIR`` family lie under a regular file,
    which no one can create a directory in.
    """
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "XDG_"))}
    env.update(
        HOME=str(blocker / "home"),
        XDG_CACHE_HOME=str(blocker / "cache"),
        TMPDIR=str(blocker / "tmp"),
        TEMP=str(blocker / "temp"),
        TMP=str(blocker / "tmp2"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    namespace = _read_only_namespace()
    if namespace is not None:
        cmd = [*namespace, sys.executable, "-c", _NOTHING_WRITABLE_SCRIPT]
        package_root, cwd = ROOT, "/"
    else:
        shutil.copytree(
            ROOT / "skreg",
            tmp_path / "skreg",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        (tmp_path / "skreg" / "__pycache__").write_text("not a directory")
        env["PYTHONPATH"] = str(tmp_path)
        script = _NARROW_TEMP_PRELUDE + _NOTHING_WRITABLE_SCRIPT
        cmd = [sys.executable, "-c", script]
        package_root, cwd = tmp_path, tmp_path
    out = subprocess.run(
        cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    # the premise
    assert report["no_temp"], "a temporary directory was usable"
    assert not report["package_writable"]
    assert report["package"].startswith(str(package_root)), report["package"]
    # the promise
    assert report["cache_dir"] is None
    assert report["uncached"] == ["NullCache"]
    # joblib's own warning, where /dev/shm is read-only too (no semaphores:
    # its process pools run serially), is not skreg's; skreg's n_jobs use
    # threads
    ours = [w for w in report["at_import"] if "joblib will operate" not in w[1]]
    assert len(ours) == 1, report["at_import"]
    category, message = ours[0]
    assert category == "RuntimeWarning" and "NUMBA_CACHE_DIR" in message
    assert set(report["at_fit"]) <= {"ConvergenceWarning"}, report["at_fit"]
    assert report["n_predicted"] == 40
