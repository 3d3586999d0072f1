"""The package surface: version, re-exports, discovery, tour plumbing."""

import importlib
import inspect
import pathlib

import pytest

import skreg
from skreg.utils import all_estimators, skops_trusted_types


def test_version_single_source():
    from skreg._version import __version__

    assert skreg.__version__ == __version__
    assert __version__.count(".") >= 2


def test_discovery_finds_estimators():
    names = [name for name, _ in all_estimators()]
    assert names == sorted(set(names))
    assert len(names) >= 1


def test_skops_trusted_types_name_every_estimator_and_the_docs_list_them():
    types = skops_trusted_types()
    assert len(types) == len(all_estimators())
    for path, (name, cls) in zip(types, sorted(all_estimators(), key=lambda e: (
            e[1].__module__, e[1].__qualname__)), strict=True):  # fmt: skip
        module, _, qualname = path.rpartition(".")
        assert getattr(importlib.import_module(module), qualname) is cls, name
    page = pathlib.Path(__file__).parents[1] / "docs" / "user_guide" / "serving.rst"
    text = page.read_text().split(".. skops-trusted-list", 1)[1].split("::", 1)[1]
    block = []
    for line in text.splitlines()[1:]:
        if line and not line.startswith(" "):
            break
        if line.strip():
            block.append(line.strip())
    assert block == types


@pytest.mark.parametrize("name, cls", all_estimators())
def test_estimator_importable_from_top_level(name, cls):
    assert getattr(skreg, name) is cls
    assert name in skreg.__all__


@pytest.mark.parametrize("name, cls", all_estimators())
def test_estimator_has_numpydoc_sections(name, cls):
    doc = inspect.getdoc(cls)
    assert doc, f"{name} has no docstring"
    for section in ("Parameters", "Attributes", "Examples"):
        assert section in doc, f"{name} docstring lacks {section}"


def test_tour_formats_a_table():
    from skreg._tour import Timing, TourRow, format_table

    row = TourRow("A", "accuracy", 0.9, "B", 0.8, "fit", Timing(1.0, 2.0, 3.0), "n")
    table = format_table([row])
    assert "A" in table and "0.9000" in table and "2.00" in table and "[1] n" in table


def test_tour_rows_are_discovered():
    from skreg._tour import collect_rows

    for row in collect_rows():
        assert callable(row)


def test_numba_presets_and_threads():
    import numba

    from skreg.utils._numba import SAFE_FASTMATH, numba_threads

    assert not {"nnan", "ninf", "fast"} & SAFE_FASTMATH
    before = numba.get_num_threads()
    with numba_threads(1) as n:
        assert n == 1
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with numba_threads(-1) as n:
        assert 1 <= n <= numba.config.NUMBA_NUM_THREADS
        assert numba.get_num_threads() == n
    assert numba.get_num_threads() == before


def test_no_bare_njit_outside_presets():
    """Every kernel uses the presets of skreg.utils._numba (STYLE: Numba)."""
    import pathlib
    import re

    root = pathlib.Path(skreg.__file__).parent
    bad = []
    for path in root.rglob("*.py"):
        if path.name == "_numba.py":
            continue
        text = path.read_text()
        if re.search(r"^\s*@(numba\.)?(njit|jit)\b", text, re.M) and "numba" in text:
            if re.search(r"^\s*@(numba\.)?njit\b", text, re.M) or "@numba.jit" in text:
                bad.append(str(path))
        if re.search(r"fastmath\s*=\s*True", text):
            bad.append(str(path))
    assert not bad, f"kernels outside the presets: {bad}"


@pytest.mark.parametrize(
    "sub", ["decomposition", "neural_network", "ensemble", "neighbors", "metrics"]
)
def test_public_init_only_reexports(sub):
    module = importlib.import_module(f"skreg.{sub}")
    assert module.__doc__
    for name in module.__all__:
        assert hasattr(module, name)
