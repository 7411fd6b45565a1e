"""Shared fixtures of the hidden micrograd suite (trusted side only)."""

import pytest

from autograder import config


@pytest.fixture(scope="session")
def tolerances():
    return config.load().grading.tolerances
