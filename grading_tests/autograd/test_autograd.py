"""Hidden tests of the autograd notebook: _backward of each operation, backward(), reused nodes, the neuron.

Expected gradients come from torch (float64) on the same graph, in this trusted process.
"""

import pytest
import torch
from diagnose import Tolerance
from expressions import Labelled, forward_mistake, gradient_mistake

_BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "truediv": torch.div}
_UNARY = {"tanh": torch.tanh, "exp": torch.exp, "relu": torch.relu, "neg": torch.neg}


def torch_grads(graph, output=-1):
    """data and d output / d node for every node of a probes.py graph description."""
    nodes = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in graph["leaves"]]
    for op, *refs in graph["ops"]:
        if op == "pow":
            nodes.append(nodes[refs[0]] ** refs[1])
        elif op in _UNARY:
            nodes.append(_UNARY[op](nodes[refs[0]]))
        else:
            a, b = (r["c"] if isinstance(r, dict) else nodes[r] for r in refs)
            nodes.append(_BINARY[op](a, b) if isinstance(a, torch.Tensor) else _BINARY[op](torch.tensor(a), b))
        nodes[-1].retain_grad()
    nodes[output].backward()
    return [n.item() for n in nodes], [0.0 if n.grad is None else n.grad.item() for n in nodes]


@pytest.fixture(scope="session")
def tolerance(course) -> Tolerance:
    found = course.grading.tolerances
    return Tolerance(found.rel, found.abs, found.finite_difference_rel_error)


def check(submission, labelled: Labelled, tolerance: Tolerance, *, doing: str, steps: list | None = None,
          expected_grads: list[float] | None = None, nodes=None) -> None:
    """The student's data and gradients on this graph against torch; a mismatch is named by diagnose."""
    graph = labelled.graph
    obs = submission.graph(graph, steps, doing=doing)
    data, grads = torch_grads(graph)
    grads = expected_grads or grads
    for i, want in enumerate(data):
        if not tolerance.close(obs.data[i], want):
            raise forward_mistake(labelled, obs, i)
    nodes = nodes if nodes is not None else range(len(grads))
    wrong = [i for i in nodes if not tolerance.close(obs.grad[i], grads[i])]
    if wrong:
        raise gradient_mistake(submission, labelled, steps, obs, wrong, tolerance, doing=doing)


UPSTREAM, EARLIER = 2.0, 0.25  # out.grad is not 1 (a missing `* out.grad` shows); inputs already hold a gradient
LOCAL = [  # each checked with a single _backward call on its output
    Labelled({"leaves": [1.5, -2.0], "ops": [["add", 0, 1]]}, ["a", "b", "out"]),
    Labelled({"leaves": [1.5, -2.0], "ops": [["mul", 0, 1]]}, ["a", "b", "out"]),
    Labelled({"leaves": [1.5], "ops": [["pow", 0, 3]]}, ["a", "out"]),
    Labelled({"leaves": [0.7], "ops": [["tanh", 0]]}, ["a", "out"]),
    Labelled({"leaves": [0.3], "ops": [["exp", 0]]}, ["a", "out"]),
    Labelled({"leaves": [0.8], "ops": [["relu", 0]]}, ["a", "out"]),
]


@pytest.mark.part("local_backward")
def test_each_operation_backward_accumulates(submission, tolerance):
    for labelled in LOCAL:
        out = len(labelled.graph["leaves"])
        # The inputs' earlier gradient must be kept: _backward adds, it never sets.
        steps = [["set_grad", i, EARLIER] for i in range(out)] + [["set_grad", out, UPSTREAM], ["local_backward", out]]
        _, local = torch_grads(labelled.graph)
        want = [EARLIER + UPSTREAM * g for g in local[:out]] + [UPSTREAM]
        check(submission, labelled, tolerance, doing=f"calling {labelled.labels[-1]}._backward()", steps=steps,
              expected_grads=want, nodes=range(out))


LECTURE = Labelled({"leaves": [2.0, -3.0, 10.0, -2.0], "ops": [["mul", 0, 1], ["add", 4, 2], ["mul", 5, 3]]},
                   ["a", "b", "c", "f", "e", "d", "L"])
CHAIN = Labelled({"leaves": [0.5, -1.5], "ops": [["mul", 0, 1], ["tanh", 2], ["add", 3, 0], ["mul", 4, 3],
                                                 ["sub", 5, {"c": 2.0}], ["truediv", 6, 1]]},
                 ["x", "y", "xy", "t", "u", "v", "w", "z"])


@pytest.mark.part("backward")
def test_backward_visits_the_graph_in_topological_order(submission, tolerance):
    check(submission, LECTURE, tolerance, doing="L.backward() on L = (a*b + c) * f")
    check(submission, CHAIN, tolerance, doing="backward() on a longer expression")


REUSED = [
    Labelled({"leaves": [3.0], "ops": [["add", 0, 0]]}, ["a", "b"]),
    Labelled({"leaves": [-1.5], "ops": [["mul", 0, 0]]}, ["a", "b"]),
    Labelled({"leaves": [0.5, 2.0], "ops": [["mul", 0, 1], ["add", 2, 0]]}, ["a", "w", "e", "L"]),
]


@pytest.mark.part("reused_node")
def test_a_node_used_twice_gets_both_gradients(submission, tolerance):
    for labelled in REUSED:
        check(submission, labelled, tolerance, doing=f"backward() on {labelled.render()}",
              nodes=range(len(labelled.graph["leaves"])))


NEURON = Labelled({"leaves": [2.0, 0.0, -3.0, 1.0, 6.8813735870195432],
                   "ops": [["mul", 0, 2], ["mul", 1, 3], ["add", 5, 6], ["add", 7, 4], ["tanh", 8]]},
                  ["x1", "x2", "w1", "w2", "b", "x1w1", "x2w2", "x1w1x2w2", "n", "o"])


@pytest.mark.part("tanh_neuron")
def test_tanh_neuron(submission, tolerance):
    check(submission, NEURON, tolerance, doing="o.backward() through the tanh neuron")
