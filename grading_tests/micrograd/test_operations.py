"""Operations: forward values and local derivatives of every operation, against torch float64.

Graded on the student's own code (isolation mode "own"). Where a test needs a whole walk it does
not call the student's backward(): the grader walks the graph itself (diagnose.reference_walk)
over the student's own _backward closures, so a mistake in backward() or the sort costs nothing here.
"""

import math
import re

import pytest

from autograder.core.suite import Mistake

from . import checks, expected
from .diagnose import PITFALLS, reference_walk
from .writing import Labelled

pytestmark = pytest.mark.part("operations")


# One test per operation (not parametrized: each must be its own graded test).
def test_add_local_derivative(submission, tolerance):
    checks.check_local_derivative(submission, tolerance, "add")


def test_mul_local_derivative(submission, tolerance):
    checks.check_local_derivative(submission, tolerance, "mul")


def test_pow_local_derivative(submission, tolerance):
    checks.check_local_derivative(submission, tolerance, "pow")


def test_tanh_local_derivative(submission, tolerance):
    checks.check_local_derivative(submission, tolerance, "tanh")


def test_relu_local_derivative(submission, tolerance):
    checks.check_local_derivative(submission, tolerance, "relu")


def test_exp_local_derivative(submission, tolerance):
    checks.check_local_derivative(submission, tolerance, "exp")


def test_relu_at_zero(submission, tolerance):
    """Like torch, relu has gradient 0 at exactly 0 (the negative side comes first to tell the mistakes apart)."""
    graphs = [checks.single_op("relu", (-0.7,)), checks.single_op("relu", (0.0,))]
    checks.check_graphs(submission, graphs, [checks.local_steps(g) for g in graphs], tolerance=tolerance,
                        upstream=checks.UPSTREAM, doing="calling relu's _backward at 0")


OVERFLOW = re.compile(r"Overflow|out of range|overflow")


def test_tanh_of_large_inputs(submission, tolerance):
    """tanh saturates to +-1 with gradient 0; it must not overflow (we count an OverflowError at |x| = 1e4 as a bug:
    a neuron's pre-activation can be that large)."""
    graphs = [checks.single_op("tanh", (x,)) for x in (30.0, -30.0, 1e4, -1e4)]
    try:
        observations = submission.graphs(graphs, [checks.local_steps(g) for g in graphs], doing="tanh of large inputs")
    except Mistake as mistake:
        # An OverflowError (or math's range error) is the overflow; any other exception is reported as itself.
        if mistake.pitfall != "error" or mistake.error is None or not OVERFLOW.search(
                f"{mistake.error.type} {mistake.error.message}"):
            raise checks.explain_error(submission, mistake, tolerance) from None
        raise Mistake("tanh-overflow", f"{PITFALLS['tanh-overflow']}.\n{mistake.feedback}") from None
    for graph, observation in zip(graphs, observations, strict=True):
        out, grad = observation.data[1], observation.grad[0]
        if math.isnan(out) or math.isnan(grad) or not math.isfinite(out):
            raise Mistake("tanh-overflow", f"{PITFALLS['tanh-overflow']}.\nIn {Labelled(graph).render()}: your "
                          f"v1.data = {out:.6g} and x0.grad = {grad:.6g} after v1.grad = 5; v1._backward().")
    for graph, observation in zip(graphs, observations, strict=True):
        checks.check_forward(graph, observation, tolerance)
    checks.check_graphs(submission, graphs, [checks.local_steps(g) for g in graphs], tolerance=tolerance,
                        upstream=checks.UPSTREAM, doing="tanh of large inputs")


def walked(submission, tolerance, graphs: list[dict], doing: str) -> list:
    """check_graphs with the grader's walk over the student's _backward closures instead of backward()."""
    return checks.check_graphs(submission, graphs, [reference_walk(g) for g in graphs], tolerance=tolerance,
                               doing=doing)


# Each operation's input used twice, so an `=` instead of `+=` in its _backward shows.
REUSED = [
    {"leaves": [3.0], "ops": [["add", 0, 0]]},                                 # b = a + a
    {"leaves": [-1.5], "ops": [["mul", 0, 0]]},                                # b = a * a
    {"leaves": [0.8], "ops": [["pow", 0, 2], ["add", 1, 0]]},                  # x**2 + x
    {"leaves": [0.6], "ops": [["tanh", 0], ["add", 1, 0]]},                    # x.tanh() + x
    {"leaves": [0.9], "ops": [["relu", 0], ["add", 1, 0]]},                    # x.relu() + x
    {"leaves": [-0.4], "ops": [["exp", 0], ["add", 1, 0]]},                    # x.exp() + x
    # x * y + x and (x + y) * x: an `=` loses the other use's gradient, an input left out gets none
    {"leaves": [1.3, -0.6], "ops": [["mul", 0, 1], ["add", 2, 0]]},
    {"leaves": [0.7, -0.2], "ops": [["add", 0, 1], ["mul", 2, 0]]},
]


def test_reused_inputs_accumulate(submission, tolerance):
    """a + a, a * a, x**2 + x, ...: each _backward adds into its inputs' gradients (+=), never assigns."""
    walked(submission, tolerance, REUSED, "backpropagating through reused inputs")


def test_plain_numbers_on_either_side(submission, tolerance):
    """x + 2, 2 + x, ..., 4 / x, -x, x ** 2.5: the reflected operators and wrapping of plain numbers."""
    checks.check_operators(submission)
    walked(submission, tolerance, [graph for graph, _ in checks.NUMBER_GRAPHS], "mixing Values and plain numbers")


def test_subtraction_division_negation(submission, tolerance):
    """a - b, a / b, -a between Values, and the same Value on both sides (with x ** 3, to tell a wrong
    division from a wrong power rule: the lecture's division is built from ** -1)."""
    graphs = [{"leaves": [2.5, -1.25], "ops": [[op, 0, 1]]} for op in ("sub", "truediv")]
    graphs += [{"leaves": [1.75], "ops": [["neg", 0]]}, {"leaves": [0.6], "ops": [["sub", 0, 0]]},
               {"leaves": [-1.7], "ops": [["truediv", 0, 0]]}, {"leaves": [1.3], "ops": [["pow", 0, 3]]}]
    walked(submission, tolerance, graphs, "subtracting, dividing and negating Values")


# Composite graphs: the lecture's neuron, and expressions over every operation (no input near a kink).
COMPOSITES = [
    {"leaves": [2.0, 0.0, -3.0, 1.0, 6.8813735870195432],
     "ops": [["mul", 0, 2], ["mul", 1, 3], ["add", 5, 6], ["add", 7, 4], ["tanh", 8]]},
    {"leaves": [0.3, -1.1, 0.9],
     "ops": [["mul", 0, 1], ["exp", 3], ["add", 4, 2], ["pow", 5, 2], ["truediv", 6, {"c": 3.0}], ["tanh", 7]]},
    {"leaves": [1.2, -0.4],
     "ops": [["sub", 0, 1], ["relu", 2], ["mul", 3, 1], ["neg", 4], ["exp", 5], ["pow", 0, 0.5], ["mul", 6, 7]]},
]


def test_composite_graphs_and_finite_differences(submission, tolerance):
    """Forward and gradients against torch; gradients against central differences of your own forward."""
    observations = walked(submission, tolerance, COMPOSITES, "composite expressions")
    for graph, observation in zip(COMPOSITES, observations, strict=True):
        pitfall = checks.finite_difference_pitfall(submission, graph, observation, tolerance)
        if pitfall:
            raise Mistake(pitfall, checks.feedback(pitfall, graph, reference_walk(graph), observation,
                                                   range(len(graph["leaves"]))))


def test_random_expression_graphs(submission, tolerance):
    """Random graphs over every operation (drawn once by derandomized hypothesis) against torch."""
    walked(submission, tolerance, list(expected.random_graphs()), "random expression graphs")
