"""Shared fixtures of the hidden micrograd suite (trusted side only).

Hypothesis runs derandomized with no example database and no shrinking, so every
submission meets the same examples and regrading gives identical results.
"""

import pytest
from hypothesis import HealthCheck, Phase, settings

from autograder import config
from autograder.diagnose import Tolerance

settings.register_profile(
    "grading", derandomize=True, database=None, deadline=None, max_examples=5, print_blob=False,
    phases=(Phase.explicit, Phase.generate),
    # `submission` is session-scoped; the per-test time budget fixture is cheap and meant to be shared.
    suppress_health_check=(HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large),
)
settings.load_profile("grading")


@pytest.fixture(scope="session")
def tolerances():
    return config.load().grading.tolerances


@pytest.fixture(scope="session")
def tolerance(tolerances) -> Tolerance:
    return Tolerance(tolerances.rel, tolerances.abs, tolerances.finite_difference_rel_error)
