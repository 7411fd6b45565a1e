"""backward(): seeding the output, accumulating into reused nodes, and adding up across calls."""

import checks
import pytest

pytestmark = pytest.mark.part("backward")

# Each operation's inputs reused, so an `=` instead of `+=` in any _backward shows (a leaf's two uses).
REUSED = [
    {"leaves": [3.0], "ops": [["add", 0, 0]]},                                 # b = a + a
    {"leaves": [-1.5], "ops": [["mul", 0, 0]]},                                # b = a * a
    {"leaves": [0.8], "ops": [["pow", 0, 2], ["add", 1, 0]]},                  # x**2 + x
    {"leaves": [0.6], "ops": [["tanh", 0], ["add", 1, 0]]},                    # x.tanh() + x
    {"leaves": [0.9], "ops": [["relu", 0], ["add", 1, 0]]},                    # x.relu() + x
    {"leaves": [-0.4], "ops": [["exp", 0], ["add", 1, 0]]},                    # x.exp() + x
    {"leaves": [1.3], "ops": [["mul", 0, 0], ["add", 1, 0]]},                  # x * x + x
    # shared subexpressions: e = a * b used three times, then through tanh and exp
    {"leaves": [0.5, -1.2, 0.7], "ops": [["mul", 0, 1], ["mul", 3, 2], ["add", 3, 4], ["mul", 5, 3],
                                         ["tanh", 6], ["exp", 3], ["add", 7, 8]]},
]


def test_reused_nodes_accumulate(submission, tolerance):
    """a + a, a * a, x.exp() + x, x * x + x, shared subexpressions: gradients add up over every use."""
    checks.check_graphs(submission, REUSED, tolerance=tolerance, doing="backward() through reused nodes")


def test_output_is_seeded(submission, tolerance):
    """After out.backward(), out.grad is 1 and its inputs get the chain rule from there."""
    graphs = [{"leaves": [2.0, -3.0], "ops": [["mul", 0, 1]]}, {"leaves": [0.4], "ops": [["tanh", 0]]},
              {"leaves": [1.5, 2.5], "ops": [["add", 0, 1], ["mul", 2, {"c": 2.0}]]}]
    checks.check_graphs(submission, graphs, tolerance=tolerance, doing="calling backward()")


def test_two_backward_calls_add_up(submission, tolerance):
    """Calling backward() twice doubles the leaves' gradients (and a backward() that resets them is wrong).

    The output's inputs are leaves, so the lecture's engine (which never resets) and torch's (which
    resets non-leaf gradients) agree; only leaf gradients are compared. x * x and x + x tell a backward() that
    resets leaves from an `=` in _backward (which also loses the first call's gradient)."""
    graphs = [{"leaves": [2.0, -3.0], "ops": [["mul", 0, 1]]}, {"leaves": [0.5, 1.5], "ops": [["add", 0, 1]]},
              {"leaves": [0.3], "ops": [["tanh", 0]]}, {"leaves": [1.5], "ops": [["mul", 0, 0]]},
              {"leaves": [-0.5], "ops": [["add", 0, 0]]}]
    steps = [[["backward", len(g["leaves"])], ["backward", len(g["leaves"])]] for g in graphs]
    checks.check_graphs(submission, graphs, steps, tolerance=tolerance, times=2, leaves_only=True,
                        doing="calling backward() twice")
