"""Import modules of the hidden micrograd suite (grading_tests/micrograd) in the project's tests.

The suite's modules import each other by name (pytest puts the suite's folder on sys.path when
the grader runs it); here the folder is on sys.path only while they are imported.
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from checkout import REPO_ROOT

MICROGRAD_SUITE = REPO_ROOT / "grading_tests" / "micrograd"


@contextmanager
def micrograd_suite() -> Iterator[None]:
    sys.path.insert(0, str(MICROGRAD_SUITE))
    try:
        yield
    finally:
        sys.path.remove(str(MICROGRAD_SUITE))
