"""The robustness tour rows run and score sensibly (on a subset of the digits)."""

import dataclasses

from skreg._tour import TourRow, load_tour_data
from skreg.metrics._tour import TOUR_ROWS, clean_accuracy_row, fgsm_accuracy_row


def test_rows_run():
    assert TOUR_ROWS == [fgsm_accuracy_row, clean_accuracy_row]
    data = load_tour_data()
    data = dataclasses.replace(
        data,
        X_train=data.X_train[:600],
        y_train=data.y_train[:600],
        X_test=data.X_test[:200],
        y_test=data.y_test[:200],
    )
    fgsm = fgsm_accuracy_row(data)
    clean = clean_accuracy_row(data)
    assert isinstance(fgsm, TourRow) and isinstance(clean, TourRow)
    assert fgsm.score > fgsm.baseline_score  # adversarial training is robust
    assert clean.score > 0.8 and clean.baseline_score > 0.8
