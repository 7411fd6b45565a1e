"""Operations: forward values and local derivatives of every operation, against torch float64."""

import math

import checks
import pytest
import strategies

from autograder.diagnose import PITFALLS
from autograder.suite import Mistake

pytestmark = pytest.mark.part("operations")

UPSTREAM = 5.0  # != 1, so a _backward that forgets `* out.grad` shows
POINTS = {"add": [(2.0, -3.0), (0.5, 4.0)], "mul": [(2.0, -3.0), (-1.5, 0.25)],
          "tanh": [(0.7,), (-1.3,)], "relu": [(1.5,), (-0.7,)], "exp": [(0.5,), (-1.2,)],
          "pow": [(1.7, 2), (0.8, 3), (2.5, -1), (2.0, 0.5), (1.3, 1.5)]}


def single_op(op: str, point: tuple) -> dict:
    if op == "pow":
        return {"leaves": [point[0]], "ops": [["pow", 0, point[1]]]}
    return {"leaves": list(point), "ops": [[op, *range(len(point))]]}


def local_steps(graph: dict) -> list:
    out = len(graph["leaves"])
    return [["set_grad", out, UPSTREAM], ["local_backward", out]]


def check_local_derivative(submission, tolerance, op):
    """out.grad = 5 then out._backward(): every input's grad is 5 times the local derivative."""
    graphs = [single_op(op, point) for point in POINTS[op]]
    checks.check_graphs(submission, graphs, [local_steps(g) for g in graphs], tolerance=tolerance,
                        upstream=UPSTREAM, doing=f"calling {op}'s _backward")


# One test per operation (not parametrized: each must be its own graded test).
def test_add_local_derivative(submission, tolerance):
    check_local_derivative(submission, tolerance, "add")


def test_mul_local_derivative(submission, tolerance):
    check_local_derivative(submission, tolerance, "mul")


def test_pow_local_derivative(submission, tolerance):
    check_local_derivative(submission, tolerance, "pow")


def test_tanh_local_derivative(submission, tolerance):
    check_local_derivative(submission, tolerance, "tanh")


def test_relu_local_derivative(submission, tolerance):
    check_local_derivative(submission, tolerance, "relu")


def test_exp_local_derivative(submission, tolerance):
    check_local_derivative(submission, tolerance, "exp")


def test_relu_at_zero(submission, tolerance):
    """Like torch, relu has gradient 0 at exactly 0 (the negative side comes first to tell the mistakes apart)."""
    graphs = [single_op("relu", (-0.7,)), single_op("relu", (0.0,))]
    checks.check_graphs(submission, graphs, [local_steps(g) for g in graphs], tolerance=tolerance,
                        upstream=UPSTREAM, doing="calling relu's _backward at 0")


def test_tanh_of_large_inputs(submission, tolerance):
    """tanh saturates to +-1 with gradient 0; it must not overflow (we count an OverflowError at |x| = 1e4 as a bug:
    a neuron's pre-activation can be that large)."""
    graphs = [single_op("tanh", (x,)) for x in (30.0, -30.0, 1e4, -1e4)]
    try:
        observations = submission.graphs(graphs, [local_steps(g) for g in graphs], doing="tanh of large inputs")
    except Mistake as mistake:
        if mistake.pitfall in ("timeout", "crash", "forbidden-import", "syntax-error", "not-implemented"):
            raise
        raise Mistake("tanh-overflow", f"{PITFALLS['tanh-overflow']}.\n{mistake.feedback}") from None
    for graph, observation in zip(graphs, observations, strict=True):
        out, grad = observation.data[1], observation.grad[0]
        if math.isnan(out) or math.isnan(grad) or not math.isfinite(out):
            raise Mistake("tanh-overflow", f"{PITFALLS['tanh-overflow']}.\nIn {checks.render(graph)}: your "
                          f"v1.data = {out:.6g} and x0.grad = {grad:.6g} after v1.grad = 5; v1._backward().")
    for graph, observation in zip(graphs, observations, strict=True):
        checks.check_forward(graph, observation, tolerance)
    checks.check_graphs(submission, graphs, [local_steps(g) for g in graphs], tolerance=tolerance,
                        upstream=UPSTREAM, doing="tanh of large inputs")


def test_plain_numbers_on_either_side(submission, tolerance):
    """x + 2, 2 + x, ..., 4 / x, -x, x ** 2.5: the reflected operators and wrapping of plain numbers."""
    checks.check_operators(submission)
    checks.check_graphs(submission, [graph for graph, _ in checks.NUMBER_GRAPHS], tolerance=tolerance,
                        doing="mixing Values and plain numbers")


def test_subtraction_division_negation(submission, tolerance):
    """a - b, a / b, -a between Values, and the same Value on both sides (with x ** 3, to tell a wrong
    division from a wrong power rule: the lecture's division is built from ** -1)."""
    graphs = [{"leaves": [2.5, -1.25], "ops": [[op, 0, 1]]} for op in ("sub", "truediv")]
    graphs += [{"leaves": [1.75], "ops": [["neg", 0]]}, {"leaves": [0.6], "ops": [["sub", 0, 0]]},
               {"leaves": [-1.7], "ops": [["truediv", 0, 0]]}, {"leaves": [1.3], "ops": [["pow", 0, 3]]}]
    checks.check_graphs(submission, graphs, tolerance=tolerance, doing="subtracting, dividing and negating Values")


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
    observations = checks.check_graphs(submission, COMPOSITES, tolerance=tolerance, doing="composite expressions")
    for graph, observation in zip(COMPOSITES, observations, strict=True):
        pitfall = checks.finite_difference_pitfall(submission, graph, observation, tolerance)
        if pitfall:
            raise Mistake(pitfall, checks.feedback(pitfall, graph, None, observation, range(len(graph["leaves"]))))


def test_random_expression_graphs(submission, tolerance):
    """Random graphs over every operation (drawn once by derandomized hypothesis) against torch."""
    checks.check_graphs(submission, list(strategies.random_graphs()), tolerance=tolerance,
                        doing="random expression graphs")
