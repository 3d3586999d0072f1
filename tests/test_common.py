"""scikit-learn's estimator checks over every public skreg estimator.

Estimators are discovered (``skreg.utils.all_estimators``), not listed; see
``tests/_instances.py`` for their fast settings and the only allowed
expected failures.
"""

import inspect

from sklearn.utils.estimator_checks import parametrize_with_checks

from ._instances import CHECK_ADAPTERS, expected_failed_checks, make_instances

# a mark on a check that passes is a stale excuse (scikit-learn >= 1.7 can
# say so; on 1.6, the oldest supported, the marks are not strict)
_STRICT = (
    {"xfail_strict": True}
    if "xfail_strict" in inspect.signature(parametrize_with_checks).parameters
    else {}
)


@parametrize_with_checks(
    make_instances(), expected_failed_checks=expected_failed_checks, **_STRICT
)
def test_sklearn_compatible_estimator(estimator, check):
    adapt = CHECK_ADAPTERS.get(type(estimator).__name__)
    if adapt is not None:
        estimator = adapt(estimator, check)
    check(estimator)
