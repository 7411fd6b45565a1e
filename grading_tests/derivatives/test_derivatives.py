"""Hidden tests of the derivatives notebook: slope, partial derivatives, central difference.

Feedback follows the module suite: the pitfall named, then the call written out (the function,
x and h) with the student's own result, never an expected value.
"""

import pytest

from autograder.core.suite import Mistake, close

from ..micrograd.observations import notebook_call

QUADRATIC = {"poly": [3, -4, 5]}  # the lecture's f(x) = 3x^2 - 4x + 5
CUBIC = {"poly": [1, 0, 0, 0]}
PITFALLS = {
    "rise-not-slope": "slope returns the rise f(x + h) - f(x): divide it by the run h",
    "slope": "slope is not the forward difference (f(x + h) - f(x)) / h with exactly the h it was given",
    "shape": "partials(a, b, c, h) must return three numbers (dd/da, dd/db, dd/dc)",
    "nudge-not-restored": ("a partial derivative is off by about h: an input is still nudged from the previous "
                           "one; restore each input before nudging the next"),
    "partials": "a partial derivative of d = a*b + c is wrong: nudge one input by h, keep the others",
    "one-sided": "central_difference returns the forward difference: evaluate f on both sides, at x + h and x - h",
    "run": "central_difference divides by h: the run from x - h to x + h is 2 * h",
    "central": "central_difference is not (f(x + h) - f(x - h)) / (2 * h)",
}


def _poly(coefficients, x):
    total = 0.0
    for c in coefficients:
        total = total * x + c
    return total


def _formula(fn) -> str:
    """{"poly": [3, -4, 5]} as 'f(x) = 3*x**2 - 4*x + 5'."""
    degree = len(fn["poly"]) - 1
    terms = []
    for power, c in zip(range(degree, -1, -1), fn["poly"], strict=True):
        if c:
            x = "" if power == 0 else "x" if power == 1 else f"x**{power}"
            size = abs(c)
            body = f"{size}" if not x else x if size == 1 else f"{size}*{x}"
            terms.append(("- " if c < 0 else "+ ") + body)
    text = " ".join(terms)
    return "f(x) = " + (text[2:] if text.startswith("+ ") else "-" + text[2:])


def _mistake(pitfall: str, evidence: str) -> Mistake:
    return Mistake(pitfall, f"{PITFALLS[pitfall]}.\n{evidence}")


@pytest.mark.part("slope")
def test_slope_is_rise_over_run(submission):
    for fn, x, h in ((QUADRATIC, 3.0, 1e-6), (QUADRATIC, -3.0, 1e-3), (CUBIC, 2.0, 1e-3)):
        got = notebook_call(submission, "derivatives", "slope", fn, x, h)
        rise = _poly(fn["poly"], x + h) - _poly(fn["poly"], x)
        evidence = f"With {_formula(fn)}: your slope(f, {x}, {h}) returned {got:.6g}."
        if close(got, rise, rel=1e-6):
            raise _mistake("rise-not-slope", evidence)
        if not close(got, rise / h, rel=1e-6, abs=1e-9):
            raise _mistake("slope", evidence)


@pytest.mark.part("partials")
def test_partials_nudge_one_input_at_a_time(submission):
    for a, b, c in ((2.0, -3.0, 10.0), (-1.5, 4.0, 0.25), (7.0, 0.5, -3.0)):
        got = notebook_call(submission, "derivatives", "partials", a, b, c, 1e-4)
        if not isinstance(got, list) or len(got) != 3:
            raise _mistake("shape", f"Your partials({a}, {b}, {c}, 0.0001) returned {got!r}.")
        for value, expected in zip(got, (b, a, 1.0), strict=True):
            if not close(value, expected, abs=1e-6):
                pitfall = "nudge-not-restored" if close(value, expected, abs=2e-4) else "partials"
                shown = ", ".join(f"{name} = {v:.6g}" for name, v in zip(("dd/da", "dd/db", "dd/dc"), got, strict=True))
                raise _mistake(pitfall, f"With d = a*b + c at a = {a}, b = {b}, c = {c} and h = 0.0001: your {shown}.")


@pytest.mark.part("central_difference")
def test_central_difference_nudges_both_ways(submission):
    for fn, x, h in ((CUBIC, 2.0, 1e-3), (QUADRATIC, 3.0, 1e-2), (CUBIC, -1.0, 1e-2)):
        got = notebook_call(submission, "derivatives", "central_difference", fn, x, h)
        f = fn["poly"]
        central = (_poly(f, x + h) - _poly(f, x - h)) / (2 * h)
        evidence = f"With {_formula(fn)}: your central_difference(f, {x}, {h}) returned {got:.6g}."
        if close(got, (_poly(f, x + h) - _poly(f, x)) / h, rel=1e-9):
            raise _mistake("one-sided", evidence)
        if close(got, 2 * central, rel=1e-9):
            raise _mistake("run", evidence)
        if not close(got, central, rel=1e-9, abs=1e-9):
            raise _mistake("central", evidence)
