"""README.md stays true: its commands and its pipeline example."""

import pathlib
import re
import subprocess
import warnings

ROOT = pathlib.Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def _block(marker):
    match = re.search(
        rf"<!-- {marker} -->\s*```\n(.*?)```\s*<!-- /{marker} -->", README, re.S
    )
    assert match, f"README.md lacks the {marker} block"
    lines = [line for line in match.group(1).splitlines() if line.strip()]
    assert len(lines) == 1, f"the {marker} must be one copy-pasteable line"
    return lines[0]


def test_two_commands_from_a_fresh_machine():
    tour, tests = _block("tour-command"), _block("test-command")
    for cmd in (tour, tests):
        assert cmd.startswith("python3 -m venv .venv && "), cmd
        assert "pip install" in cmd
    assert tour.endswith("python -m skreg")
    assert "pytest" in tests


def test_docs_command_from_a_fresh_machine():
    docs = _block("docs-command")
    assert docs.startswith("python3 -m venv .venv && "), docs
    assert 'pip install -q -e ".[docs]"' in docs
    assert docs.endswith("-m sphinx -W -b html docs docs/_build/html")


def test_ci_builds_exactly_the_readme_docs_command_in_quick_mode():
    script = (ROOT / ".ci" / "run").read_text()
    program = re.search(r"docs=\$\(awk '([^']*)' README\.md\)", script).group(1)
    extracted = subprocess.run(
        ["awk", program, "README.md"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    assert extracted == _block("docs-command")
    assert 'SKREG_DOCS_QUICK=1 bash -euo pipefail -c "$docs"' in script


def test_ci_runs_exactly_the_readme_test_command():
    """.ci/run's own extraction (its awk program, run here) yields the
    README's test command, and .ci/run executes what it extracted."""
    script = (ROOT / ".ci" / "run").read_text()
    program = re.search(r"cmd=\$\(awk '([^']*)' README\.md\)", script).group(1)
    extracted = subprocess.run(
        ["awk", program, "README.md"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    assert extracted == _block("test-command")
    assert 'bash -euo pipefail -c "$cmd"' in script


def test_pipeline_example_runs():
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    code = code.replace("max_iter=50", "max_iter=5").replace("cv=3", "cv=2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence at 5 epochs is not the point
        exec(compile(code, "README.md", "exec"), {})
