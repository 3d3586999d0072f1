"""The decomposition tour rows run and score sensibly (on a subset of the digits)."""

import dataclasses

from skreg._tour import TourRow, load_tour_data
from skreg.decomposition._tour import TOUR_ROWS, ksvd_row, sparse_coder_row


def _small_data():
    data = load_tour_data()
    return dataclasses.replace(
        data,
        X_train=data.X_train[:400],
        y_train=data.y_train[:400],
        X_test=data.X_test[:100],
        y_test=data.y_test[:100],
    )


def test_rows_registered():
    assert TOUR_ROWS == [sparse_coder_row, ksvd_row]


def test_rows_run():
    data = _small_data()
    coder = sparse_coder_row(data)
    assert isinstance(coder, TourRow)
    # same OMP codes as scikit-learn, hence the same accuracy
    assert coder.score == coder.baseline_score > 0.7
    ksvd = ksvd_row(data)
    assert 0 < ksvd.score < 0.2 and 0 < ksvd.baseline_score < 0.2
