"""Hidden tests of the derivatives notebook: slope, partial derivatives, central difference."""

import pytest

from autograder.notebook_suite import call, close
from autograder.suite import Mistake

QUADRATIC = {"poly": [3, -4, 5]}  # the lecture's f(x) = 3x^2 - 4x + 5
CUBIC = {"poly": [1, 0, 0, 0]}


def _poly(coefficients, x):
    total = 0.0
    for c in coefficients:
        total = total * x + c
    return total


@pytest.mark.part("slope")
def test_slope_is_rise_over_run(submission):
    for fn, x, h in ((QUADRATIC, 3.0, 1e-6), (QUADRATIC, -3.0, 1e-3), (CUBIC, 2.0, 1e-3)):
        got = call(submission, "derivatives", "slope", fn, x, h)
        rise = _poly(fn["poly"], x + h) - _poly(fn["poly"], x)
        if close(got, rise, rel=1e-6):
            raise Mistake("rise-not-slope", f"slope(f, {x}, {h}) returned {got:.6g}: that is the rise "
                          "f(x + h) - f(x); divide it by the run h")
        if not close(got, rise / h, rel=1e-6, abs=1e-9):
            raise Mistake("slope", f"slope(f, {x}, {h}) returned {got:.6g}; it should be the forward "
                          "difference (f(x + h) - f(x)) / h with exactly the h it was given")


@pytest.mark.part("partials")
def test_partials_nudge_one_input_at_a_time(submission):
    for a, b, c in ((2.0, -3.0, 10.0), (-1.5, 4.0, 0.25), (7.0, 0.5, -3.0)):
        got = call(submission, "derivatives", "partials", a, b, c, 1e-4)
        if not isinstance(got, list) or len(got) != 3:
            raise Mistake("shape", "partials(a, b, c, h) should return three numbers (dd/da, dd/db, dd/dc)")
        for name, value, expected in zip(("dd/da", "dd/db", "dd/dc"), got, (b, a, 1.0), strict=True):
            if not close(value, expected, abs=1e-6):
                hint = (" (is an input still nudged from the previous one? restore each before the next)"
                        if close(value, expected, abs=2e-4) else "")
                raise Mistake("partials", f"partials({a}, {b}, {c}): your {name} is {value:.6g}{hint}")


@pytest.mark.part("central_difference")
def test_central_difference_nudges_both_ways(submission):
    for fn, x, h in ((CUBIC, 2.0, 1e-3), (QUADRATIC, 3.0, 1e-2), (CUBIC, -1.0, 1e-2)):
        got = call(submission, "derivatives", "central_difference", fn, x, h)
        f = fn["poly"]
        central = (_poly(f, x + h) - _poly(f, x - h)) / (2 * h)
        if close(got, (_poly(f, x + h) - _poly(f, x)) / h, rel=1e-9):
            raise Mistake("one-sided", f"central_difference(f, {x}, {h}) returned the forward difference "
                          f"{got:.6g}; evaluate f on both sides, at x + h and x - h")
        if close(got, 2 * central, rel=1e-9):
            raise Mistake("run", f"central_difference(f, {x}, {h}) returned {got:.6g}, twice the slope: the "
                          "run from x - h to x + h is 2 * h")
        if not close(got, central, rel=1e-9, abs=1e-9):
            raise Mistake("central", f"central_difference(f, {x}, {h}) returned {got:.6g}")
