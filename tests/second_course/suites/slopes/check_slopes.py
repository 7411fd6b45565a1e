"""The hidden suite of the test-only `slopes` assignment: the slope of x**3 at 2 is 12."""

import math

import pytest

from autograder.core.suite import Mistake, number


def observed_slope(submission, kind: str, h: float) -> float:
    reply = submission.ask(f"calling {kind}_difference", "slope", kind=kind, x=2.0, h=h)
    return number(reply.get("value"), f"{kind}_difference")


def check(course, observed: float, kind: str) -> None:
    tolerance = course.grading.tolerances
    if not math.isclose(observed, 12.0, rel_tol=tolerance.rel, abs_tol=tolerance.abs):
        raise Mistake(f"{kind}-difference", f"{kind}_difference(x**3, 2.0, h) gave {observed}: "
                      "is the nudge divided by the right width?")


@pytest.mark.part("forward")
def test_forward_difference(submission, course):
    check(course, observed_slope(submission, "forward", 1e-5) - 6e-5, "forward")  # its O(h) bias: 3*x*h


@pytest.mark.part("central")
def test_central_difference(submission, course):
    check(course, observed_slope(submission, "central", 1e-4), "central")
