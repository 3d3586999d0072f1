"""scikit-learn's estimator checks over every public skreg estimator.

Estimators are discovered (``skreg.utils.all_estimators``), not listed; see
``tests/_instances.py`` for their fast settings and the only allowed
expected failures.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from ._instances import (
    CHECK_ADAPTERS,
    STRICT_XFAIL,
    expected_failed_checks,
    make_instances,
)


@parametrize_with_checks(
    make_instances(), expected_failed_checks=expected_failed_checks, **STRICT_XFAIL
)
def test_sklearn_compatible_estimator(estimator, check):
    adapt = CHECK_ADAPTERS.get(type(estimator).__name__)
    if adapt is not None:
        estimator = adapt(estimator, check)
    check(estimator)
