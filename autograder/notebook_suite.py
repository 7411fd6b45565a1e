"""What the hidden suites of the notebook assignments use to question a submission (trusted side).

Their probes live in grading_tests/probes/notebook_probes.py; answers are plain JSON, coerced here.
Graphs written out with a notebook's labels, and their diagnoses, are micrograd knowledge: they
live with the micrograd suite (grading_tests/micrograd/expressions.py).
"""

from __future__ import annotations

import math
from typing import Any

from autograder.suite import Submission, number, numbers


def call(submission: Submission, module: str, function: str, *args: Any) -> float | list[float]:
    """module.function(*args) in the sandbox; {"poly": [...]} arguments stand for polynomials."""
    value = submission.ask(f"calling {function}", "nb_call", module=module, function=function,
                args=list(args)).get("value")
    return numbers(value, f"{function}(...)") if isinstance(value, list) else number(value, f"{function}(...)")


def close(observed: float, expected: float, *, rel: float = 1e-9, abs: float = 1e-9) -> bool:
    return not math.isnan(observed) and math.isclose(observed, expected, rel_tol=rel, abs_tol=abs)
