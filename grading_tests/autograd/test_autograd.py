"""Hidden tests of the autograd notebook: _backward of each operation, backward(), reused nodes, the neuron.

Expected gradients come from torch (float64) on the same graph, in this trusted process.
"""

import pytest

from autograder.core.suite import Mistake

from ..micrograd import diagnose, drawing, expected
from ..micrograd.diagnose import PITFALLS, Tolerance
from ..micrograd.expressions import forward_mistake, gradient_mistake
from ..micrograd.writing import Labelled


def check(submission, labelled: Labelled, tolerance: Tolerance, *, doing: str, steps: list | None = None,
          expected_grads: list[float] | None = None, nodes=None, candidates=None) -> None:
    """The student's data and gradients on this graph against torch; a mismatch is named by diagnose."""
    graph = labelled.graph
    obs = submission.graph(graph, steps, doing=doing)
    data, grads = expected.graph(graph)
    grads = expected_grads or grads
    for i, want in enumerate(data):
        if not tolerance.close(obs.data[i], want):
            raise forward_mistake(labelled, obs, i)
    nodes = nodes if nodes is not None else range(len(grads))
    wrong = [i for i in nodes if not tolerance.close(obs.grad[i], grads[i])]
    if wrong:
        raise gradient_mistake(submission, labelled, steps, obs, wrong, tolerance, doing=doing,
                               candidates=candidates)


UPSTREAM, EARLIER = 2.0, 0.25  # out.grad is not 1, so a missing `* out.grad` shows
LOCAL = [  # each checked with a single _backward call on its output
    Labelled({"leaves": [1.5, -2.0], "ops": [["add", 0, 1]]}, ["a", "b", "out"]),
    Labelled({"leaves": [1.5, -2.0], "ops": [["mul", 0, 1]]}, ["a", "b", "out"]),
    Labelled({"leaves": [1.5], "ops": [["pow", 0, 3]]}, ["a", "out"]),
    Labelled({"leaves": [0.7], "ops": [["tanh", 0]]}, ["a", "out"]),
    Labelled({"leaves": [0.3], "ops": [["exp", 0]]}, ["a", "out"]),
    Labelled({"leaves": [0.8], "ops": [["relu", 0]]}, ["a", "out"]),
]


@pytest.mark.part("local_backward")
def test_each_operation_backward(submission, tolerance):
    """One _backward call at a time, inputs starting at 0 (accumulating is the reused_node part's)."""
    for labelled in LOCAL:
        out = len(labelled.graph["leaves"])
        _, local = expected.graph(labelled.graph)
        check(submission, labelled, tolerance, doing=f"calling {labelled.labels[-1]}._backward()",
              steps=[["set_grad", out, UPSTREAM], ["local_backward", out]],
              expected_grads=[UPSTREAM * g for g in local[:out]] + [UPSTREAM], nodes=range(out))


LECTURE = Labelled({"leaves": [2.0, -3.0, 10.0, -2.0], "ops": [["mul", 0, 1], ["add", 4, 2], ["mul", 5, 3]]},
                   ["a", "b", "c", "f", "e", "d", "L"])
CHAIN = Labelled({"leaves": [0.5, -1.5], "ops": [["mul", 0, 1], ["tanh", 2], ["add", 3, 0], ["mul", 4, 3],
                                                 ["sub", 5, {"c": 2.0}], ["truediv", 6, 1]]},
                 ["x", "y", "xy", "t", "u", "v", "w", "z"])


@pytest.mark.part("backward")
def test_backward_visits_the_graph_in_topological_order(submission, tolerance):
    """The student's backward() and sort, on reference local derivatives (a _backward mistake costs points
    in local_backward only)."""
    walked = submission.isolated("reference_derivatives")
    check(walked, LECTURE, tolerance, doing="L.backward() on L = (a*b + c) * f", candidates=diagnose.SEED_BUGS)
    check(walked, CHAIN, tolerance, doing="backward() on a longer expression", candidates=diagnose.SEED_BUGS)


REUSED = [  # a leaf used twice, by one operation or by two; one kind of operation each
    Labelled({"leaves": [3.0], "ops": [["add", 0, 0]]}, ["a", "b"]),
    Labelled({"leaves": [-1.5], "ops": [["mul", 0, 0]]}, ["a", "b"]),
    Labelled({"leaves": [0.5, 2.0], "ops": [["add", 0, 1], ["add", 2, 0]]}, ["a", "w", "e", "L"]),
    Labelled({"leaves": [0.5, 2.0], "ops": [["mul", 0, 1], ["mul", 2, 0]]}, ["a", "w", "e", "L"]),
]


@pytest.mark.part("reused_node")
def test_a_node_used_twice_gets_both_gradients(submission, tolerance):
    """Along the reference walk over the student's own _backward closures, once from zero and once with an
    earlier gradient on the leaves: a leaf must end exactly that earlier gradient higher, whatever the local
    derivatives are (they are local_backward's). An `=` in a _backward loses the earlier gradient."""
    for labelled in REUSED:
        graph, leaves = labelled.graph, range(len(labelled.graph["leaves"]))
        walk = diagnose.reference_walk(graph)
        earlier = [["set_grad", i, EARLIER] for i in leaves] + walk
        fresh, kept = submission.graphs([graph, graph], [walk, earlier], doing=f"backpropagating {labelled.render()}")
        lost = [i for i in leaves if not tolerance.close(kept.grad[i] - EARLIER, fresh.grad[i])]
        if not lost:
            continue
        pitfall = f"overwrite-grad:{graph['ops'][0][0]}"
        # Which of the two runs is wrong, in the student's own numbers: the second must end EARLIER higher.
        should = ", ".join(f"{labelled.labels[i]}.grad = {fresh.grad[i]:.6g} + {EARLIER} = "
                           f"{fresh.grad[i] + EARLIER:.6g}" for i in lost)
        mistake = Mistake(pitfall, f"{PITFALLS[pitfall]}.\nIn {labelled.render()}, {labelled.steps(walk)}: your "
                          f"{labelled.yours(fresh.grad, leaves)}. The same walk with every input's grad already at "
                          f"{EARLIER} must end each input exactly {EARLIER} higher ({should}), but yours ends at "
                          f"{labelled.yours(kept.grad, lost)}: the {EARLIER} already there was lost.")
        # Pictured from the fresh walk: the leaves that lost the earlier gradient are the wrong ones.
        raise drawing.with_gradients(mistake, graph, fresh, lost, labelled.labels)


NEURON = Labelled({"leaves": [2.0, 0.0, -3.0, 1.0, 6.8813735870195432],
                   "ops": [["mul", 0, 2], ["mul", 1, 3], ["add", 5, 6], ["add", 7, 4], ["tanh", 8]]},
                  ["x1", "x2", "w1", "w2", "b", "x1w1", "x2w2", "x1w1x2w2", "n", "o"])


@pytest.mark.part("tanh_neuron")
def test_tanh_neuron(submission, tolerance):
    """Backprop through the neuron o = tanh(x1*w1 + x2*w2 + b): the student's own operations and _backward
    closures chained along the reference walk (the walk is the backward part's, so a mistake in the sort or
    in backward() costs points there only; one in a local derivative costs this point as well)."""
    check(submission, NEURON, tolerance, doing="backpropagating through the tanh neuron o = tanh(x1*w1 + x2*w2 + b)",
          steps=diagnose.reference_walk(NEURON.graph))
