"""Every script in examples/ runs to the end (Agg backend, quick sizes)."""

import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "examples").rglob("plot_*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    pytest.importorskip("matplotlib")
    env = dict(os.environ, MPLBACKEND="Agg", SKREG_EXAMPLES_QUICK="1")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,  # anything the script writes lands here
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]


def test_every_subpackage_with_estimators_has_an_example():
    from skreg.utils import all_estimators

    modules = {cls.__module__.split(".")[1] for _, cls in all_estimators()}
    folders = {p.parent.name for p in EXAMPLES}
    assert modules <= folders, f"no example for {sorted(modules - folders)}"


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_is_a_gallery_script(script):
    """What sphinx-gallery (docs/) expects: a docstring whose title is
    over- and underlined to its length, and a last statement that shows the
    figures (plt.show() is a no-op under Agg).  Equations are numbered as in
    the book (eq. 7.50), not by the study notes."""
    text = script.read_text()
    lines = text.splitlines()
    assert lines[0] == '"""', "an example starts with its docstring"
    bar, title, under = lines[1:4]
    assert set(bar) == {"="} and bar == under and len(bar) == len(title), title
    assert [line for line in lines if line.strip()][-1] == "plt.show()"
    assert "seed eq" not in text.lower() and "savefig" not in text
