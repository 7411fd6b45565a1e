"""backward(): seeding the output, accumulating into reused nodes, and adding up across calls.

Graded on reference local derivatives (isolation mode "reference_derivatives"): a mistake in an
operation's _backward costs points in operations only.
"""

import pytest

from . import checks

pytestmark = pytest.mark.part("backward")
MODE = "reference_derivatives"

# Small graphs (one with two operations). Gradients are checked against the student's own walk replayed
# on the model engine (checks.check_backward), so a mistake in the sort costs points in topo_sort only.
SEEDED = [{"leaves": [2.0, -3.0], "ops": [["mul", 0, 1]]}, {"leaves": [0.4], "ops": [["tanh", 0]]},
          {"leaves": [1.5, 2.5], "ops": [["add", 0, 1]]}, {"leaves": [-1.5], "ops": [["mul", 0, 0]]},
          {"leaves": [0.5, -1.2], "ops": [["mul", 0, 1], ["tanh", 2]]}]


def test_output_is_seeded(submission, tolerance):
    """After out.backward(), out.grad is 1, set before the walk, and its inputs get the chain rule from there."""
    checks.check_backward(submission.isolated(MODE), SEEDED, tolerance=tolerance, doing="calling backward()")


def test_repeated_backward_calls_add_up(submission, tolerance):
    """Calling backward() three times triples the leaves' gradients (a backward() that resets them, a seed
    set after the walk, or a seed added to the gradient left by the last call each give another multiple), and
    backward() on two outputs adds both into their common leaves. Interior gradients after a repeated backward()
    are not graded."""
    graphs = [{"leaves": [2.0, -3.0], "ops": [["mul", 0, 1]]}, {"leaves": [0.5, 1.5], "ops": [["add", 0, 1]]},
              {"leaves": [0.3], "ops": [["tanh", 0]]}, {"leaves": [1.5], "ops": [["mul", 0, 0]]},
              {"leaves": [-0.5], "ops": [["add", 0, 0]]},
              # relu(x0) + x1 with x0 < 0: an interior node whose gradient (kept or reset between calls, which
              # is not graded) never reaches a leaf
              {"leaves": [-0.5, 1.5], "ops": [["relu", 0], ["add", 2, 1]]}]
    steps = [[["backward", len(g["leaves"]) + len(g["ops"]) - 1]] * 3 for g in graphs]
    # Two outputs of the same leaves, each backpropagated once: the leaves hold the sum, as zero_grad() is there
    # to undo (a backward() that resets the leaves keeps only the second).
    graphs.append({"leaves": [1.5, -2.0], "ops": [["mul", 0, 1], ["add", 0, 1]]})
    steps.append([["backward", 2], ["backward", 3]])
    checks.check_backward(submission.isolated(MODE), graphs, steps, tolerance=tolerance, leaves_only=True,
                          doing="calling backward() three times, or on two outputs of the same inputs")
