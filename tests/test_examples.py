"""Every script in examples/ runs to the end (Agg backend, quick sizes)."""

import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = sorted(
    (pathlib.Path(__file__).parents[1] / "examples").rglob("plot_*.py")
)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    pytest.importorskip("matplotlib")
    env = dict(os.environ, MPLBACKEND="Agg", SKREG_EXAMPLES_QUICK="1")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,  # figures saved by the script land here
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
