"""Hidden tests of the autograd notebook: _backward of each operation, backward(), reused nodes, the neuron.

Expected gradients come from torch (float64) on the same graph, in this trusted process.
"""

import pytest
import torch

from autograder.notebook_suite import close
from autograder.suite import Mistake

REL, ABS = 1e-6, 1e-9
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


def _check(obs, graph, what, nodes=None):
    data, grads = torch_grads(graph)
    for i in nodes if nodes is not None else range(len(graph["leaves"])):
        if not close(obs.data[i], data[i], rel=REL, abs=ABS):
            raise Mistake("forward", f"{what}: node {i} holds {obs.data[i]:.6g}, which is not the operation's result")
        if not close(obs.grad[i], grads[i], rel=REL, abs=ABS):
            raise Mistake("gradient", f"{what}: the gradient of node {i} is {obs.grad[i]:.6g}")


LOCAL = [  # (operation, graph): each checked with a single _backward call on the last node
    ("+", {"leaves": [1.5, -2.0], "ops": [["add", 0, 1]]}),
    ("*", {"leaves": [1.5, -2.0], "ops": [["mul", 0, 1]]}),
    ("**", {"leaves": [1.5], "ops": [["pow", 0, 3]]}),
    ("tanh", {"leaves": [0.7], "ops": [["tanh", 0]]}),
    ("exp", {"leaves": [0.3], "ops": [["exp", 0]]}),
    ("relu", {"leaves": [0.8], "ops": [["relu", 0]]}),
]


@pytest.mark.part("local_backward")
def test_each_operation_backward_accumulates(submission):
    for name, graph in LOCAL:
        out = len(graph["leaves"])
        # A previous gradient of 0.25 on every input must be kept: _backward adds, it never sets.
        steps = [["set_grad", i, 0.25] for i in range(out)] + [["set_grad", out, 1.0], ["local_backward", out]]
        obs = submission.graph(graph, steps, doing=f"calling _backward of {name}")
        _, grads = torch_grads(graph)
        for i in range(out):
            if close(obs.grad[i], grads[i], rel=REL, abs=ABS):
                raise Mistake("overwrite-grad", f"_backward of {name} replaced the input's gradient instead of "
                              "adding to it: use += so every use of a node counts")
            if not close(obs.grad[i] - 0.25, grads[i], rel=REL, abs=ABS):
                raise Mistake("local-derivative", f"_backward of {name}: the input's gradient became "
                              f"{obs.grad[i] - 0.25:.6g} more; it should grow by (local derivative) * out.grad")


@pytest.mark.part("backward")
def test_backward_visits_the_graph_in_topological_order(submission):
    # L = (a*b + c) * f, then a longer chain where order matters.
    lecture = {"leaves": [2.0, -3.0, 10.0, -2.0], "ops": [["mul", 0, 1], ["add", 4, 2], ["mul", 5, 3]]}
    obs = submission.graph(lecture, doing="L.backward() on (a*b + c) * f")
    if all(g == 0.0 for g in obs.grad):
        raise Mistake("no-seed", "after backward() every gradient is 0: backward() must start with the output's "
                      "own gradient set to 1")
    _check(obs, lecture, "(a*b + c) * f", range(len(obs.grad)))
    chain = {"leaves": [0.5, -1.5], "ops": [["mul", 0, 1], ["tanh", 2], ["add", 3, 0], ["mul", 4, 3],
                                             ["sub", 5, {"c": 2.0}], ["truediv", 6, 1]]}
    _check(submission.graph(chain, doing="backward() on a longer expression"), chain, "a longer expression")


@pytest.mark.part("reused_node")
def test_a_node_used_twice_gets_both_gradients(submission):
    for what, graph in (("b = a + a", {"leaves": [3.0], "ops": [["add", 0, 0]]}),
                        ("b = a * a", {"leaves": [-1.5], "ops": [["mul", 0, 0]]}),
                        ("a used in two branches", {"leaves": [0.5, 2.0], "ops": [["mul", 0, 1], ["add", 2, 0]]})):
        obs = submission.graph(graph, doing=f"backward() on {what}")
        _, grads = torch_grads(graph)
        if close(obs.grad[0], grads[0] / 2, rel=REL, abs=ABS):
            raise Mistake("overwrite-grad", f"{what}: a.grad is {obs.grad[0]:g}, half of what it should be; "
                          "the second use overwrote the first. Accumulate with +=")
        _check(obs, graph, what)


@pytest.mark.part("tanh_neuron")
def test_tanh_neuron(submission):
    neuron = {"leaves": [2.0, 0.0, -3.0, 1.0, 6.8813735870195432],
              "ops": [["mul", 0, 2], ["mul", 1, 3], ["add", 5, 6], ["add", 7, 4], ["tanh", 8]]}
    _check(submission.graph(neuron, doing="backward() through tanh(x1*w1 + x2*w2 + b)"), neuron, "the tanh neuron")
