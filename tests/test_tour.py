"""The tour (``python -m skreg``): its table fits 100 columns, times both
sides alike with JIT apart, and its warm-ups reach every kernel they time."""

import os
import subprocess
import sys

import numpy as np
import pytest

from skreg import _tour
from skreg._tour import Timing, TourRow, compare, format_table
from skreg.utils._numba import jit, loaded_variants


def _row(**kw):
    fields = dict(
        estimator="ManifoldTangentClassifier",
        metric="FGSM acc",
        score=0.97,
        baseline="MLP(256,128)",
        baseline_score=0.9694,
        step="transform",
        timing=Timing(123.45, 1234.5, 99.9),
        note="a note " * 40,
    )
    fields.update(kw)
    return TourRow(**fields)


def test_table_fits_100_columns_with_legend_and_notes():
    rows = [_row(), _row(metric="rec. err", lower_is_better=True)]
    text = format_table(rows)
    assert max(len(line) for line in text.splitlines()) <= _tour.WIDTH
    assert "higher is better, except rec. err" in " ".join(text.split())
    assert "[1] a note" in text and "[2] a note" in text
    assert "0.9700" in text and "0.9694" in text and "1234.50" in text
    assert "JIT s" in text and "*:" not in text


def test_a_timed_step_that_compiled_is_starred():
    text = format_table([_row(timing=Timing(1.0, 2.0, 3.0, compiled=True))])
    assert "1.00*" in text and "*: the timed skreg step" in text


@jit(cache=False)
def _double(x):
    return 2 * x


def test_compare_reports_jit_apart_and_catches_a_missed_variant(capsys):
    # the warm-up reaches the int variant; the timed step the float one
    ours, theirs, timing = compare(
        lambda: _double(1.5), lambda: 3.0, warm_ours=lambda: _double(1)
    )
    assert ours == theirs == 3.0
    assert timing.compiled and timing.jit > 0
    before = loaded_variants()
    _, _, timing = compare(
        lambda: _double(2.5), lambda: 5.0, warm_ours=lambda: _double(0.5)
    )
    assert not timing.compiled and loaded_variants() == before
    assert 1 <= timing.repeats <= _tour._MAX_PAIRS
    assert "warm-up... skreg... sklearn..." in capsys.readouterr().out


@pytest.mark.parametrize(
    "ours, theirs, repeats, best",
    [
        ([0.03, 0.01, 0.02], [0.02, 0.025, 0.015], 3, (0.01, 0.015)),  # short
        ([0.3, 0.1], [0.2, 0.25], 2, (0.1, 0.2)),  # a third pair would pass 1 s
        ([2.0], [3.0], 1, (2.0, 3.0)),  # long steps run once
    ],
)
def test_compare_keeps_each_sides_fastest_interleaved_run(
    monkeypatch, ours, theirs, repeats, best
):
    # the warm-up is timed by _timed too: its 9 s is the JIT column
    calls, durations = [], {"ours": iter([9.0, *ours]), "theirs": iter(theirs)}

    def fake_timed(func):
        side = func()
        calls.append(side)
        return side, next(durations[side])

    monkeypatch.setattr(_tour, "_timed", fake_timed)
    _, _, timing = compare(lambda: "ours", lambda: "theirs", lambda: "ours")
    # warm-up (through _timed too), then ours/theirs alternating
    assert calls == ["ours"] + ["ours", "theirs"] * repeats
    assert timing.repeats == repeats
    assert (timing.ours, timing.theirs, timing.jit) == (*best, 9.0)


def test_per_class_subset_draws_that_many_of_each_class():
    data = _tour.load_tour_data()
    rows = _tour.per_class_subset(data, 10)
    assert np.array_equal(np.bincount(data.y_train[rows]), np.full(10, 10))
    assert len(set(rows)) == 100


@pytest.mark.slow
def test_the_whole_tour_runs_in_a_fresh_process():
    """Every row runs, the table fits 100 columns, and no timed skreg step
    loads a kernel variant its warm-up had not (no '*')."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, "-m", "skreg"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100, out.stdout
    assert not any(line.startswith("*:") for line in lines), out.stdout
    assert "TangentDistanceKNN" in out.stdout and "method='vat'" in out.stdout
    for n in range(1, 14):
        assert f"\n[{n}] " in out.stdout
