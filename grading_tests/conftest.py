"""Shared by every hidden suite: the course's tolerances and precomputed expectations, the submission
as the micrograd suites ask it (observations.MicrogradSubmission), and the micrograd suite's diagnoses for
the notebook suites.

pytest puts each test's own folder on sys.path; the micrograd suite's modules (diagnose, expressions)
are made importable by name for the notebook suites too, so both explain mistakes the same way.
"""

import sys
from pathlib import Path

import pytest

from autograder import expectations

MICROGRAD_SUITE = str(Path(__file__).resolve().parent / "micrograd")
if MICROGRAD_SUITE not in sys.path:
    sys.path.append(MICROGRAD_SUITE)


@pytest.fixture(scope="session")
def submission(submission):
    """The grader's submission, asked about Values and MLPs by this course's probes (observations.py)."""
    from observations import MicrogradSubmission  # the micrograd suite's folder is on sys.path (above)

    return MicrogradSubmission.of(submission)


@pytest.fixture(scope="session")
def tolerances(course):
    """The graded course's tolerances (its course.yml, as `--config` named it)."""
    return course.grading.tolerances


@pytest.fixture(scope="session")
def tolerance(tolerances):
    from diagnose import Tolerance  # the micrograd suite's folder is on sys.path (above)

    return Tolerance(tolerances.rel, tolerances.abs, tolerances.finite_difference_rel_error)


@pytest.fixture(scope="session", autouse=True)
def precomputed_expectations(course):
    """Expected values come from the graded course's cache (grading_tests/expectations.json) when it is current."""
    expectations.use(course)
