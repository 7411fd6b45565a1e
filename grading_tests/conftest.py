"""Shared by every hidden suite: the course's tolerances and precomputed expectations, the submission
as the micrograd suites ask it (observations.MicrogradSubmission), and the micrograd suite's diagnoses for
the notebook suites.
"""

import pytest

from autograder.core import expectations


@pytest.fixture(scope="session")
def submission(submission):
    """The grader's submission, asked about Values and MLPs by this course's probes (observations.py)."""
    from .micrograd.observations import MicrogradSubmission

    return MicrogradSubmission.of(submission)


@pytest.fixture(scope="session")
def tolerances(course):
    """The graded course's tolerances (its course.yml, as `--config` named it)."""
    return course.grading.tolerances


@pytest.fixture(scope="session")
def tolerance(tolerances):
    from .micrograd.diagnose import Tolerance

    return Tolerance(tolerances.rel, tolerances.abs, tolerances.finite_difference_rel_error)


@pytest.fixture(scope="session", autouse=True)
def precomputed_expectations(course):
    """This grading run's expected values: from the graded course's cache (grading_tests/expectations.json) when
    it is current, kept for the run only."""
    with expectations.run_with(course):
        yield
