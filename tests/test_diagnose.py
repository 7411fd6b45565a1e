"""Unit tests of the hidden suite's diagnose module (grading_tests/micrograd/diagnose.py): the trusted
engine model, its mistakes, call orders, finite differences."""

import math

import pytest
import torch

from grading_tests.micrograd import diagnose
from grading_tests.micrograd.diagnose import PITFALLS, Engine, Tolerance

TOLERANCE = Tolerance(1e-9, 1e-12)

GRAPHS = [
    {"leaves": [2.0, -3.0], "ops": [["mul", 0, 1], ["add", 2, {"c": 1.0}], ["tanh", 3]]},
    {"leaves": [0.7, -1.2], "ops": [["sub", 0, 1], ["truediv", 2, 0], ["exp", 3], ["relu", 4], ["pow", 5, 1.5]]},
    {"leaves": [1.3], "ops": [["sub", {"c": 2.0}, 0], ["truediv", {"c": 3.0}, 1], ["neg", 2], ["mul", 3, 0]]},
    {"leaves": [0.4, 0.9], "ops": [["mul", 0, 0], ["add", 2, 0], ["truediv", 3, 1], ["sub", 4, 4], ["add", 5, 3]]},
]


def torch_op(op, a, b):
    if op in ("tanh", "relu", "exp"):
        return getattr(torch, op)(a)
    if op == "neg":
        return -a
    if op == "pow":
        return a ** b
    return {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "truediv": torch.div}[op](a, b)


def torch_reference(graph):
    nodes = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in graph["leaves"]]
    for op, *refs in graph["ops"]:
        operands = [r["c"] if isinstance(r, dict) else nodes[r] for r in refs[:1 if op == "pow" else 2]]
        operands = [torch.tensor(o, dtype=torch.float64) if isinstance(o, float) else o for o in operands]
        node = torch_op(op, operands[0], refs[1] if op == "pow" else operands[1] if len(operands) > 1 else None)
        node.retain_grad()
        nodes.append(node)
    nodes[-1].backward()
    return [n.item() for n in nodes], [0.0 if n.grad is None else n.grad.item() for n in nodes]


@pytest.mark.parametrize("graph", GRAPHS)
def test_the_model_without_a_mistake_agrees_with_torch(graph):
    engine = Engine(graph).run(diagnose.default_steps(graph))
    data, grads = torch_reference(graph)
    assert all(TOLERANCE.close(a, b) for a, b in zip(engine.data, data, strict=True))
    assert all(TOLERANCE.close(a, b) for a, b in zip(engine.grad, grads, strict=True))


# A graph on which each mistake shows and is the only candidate that reproduces what it produces.
IDENTIFYING = {
    **{f"overwrite-grad:{op}": {"leaves": [0.8], "ops": [[op, 0, 0] if op in ("add", "mul") else
                                                         ([op, 0, 2] if op == "pow" else [op, 0]), ["add", 1, 0]]}
       for op in diagnose.LOCAL_OPS},
    "mul-derivative-swapped": {"leaves": [2.0, -3.0], "ops": [["mul", 0, 1]]},
    "tanh-derivative-from-input": {"leaves": [0.7], "ops": [["tanh", 0]]},
    "exp-derivative-from-input": {"leaves": [0.5], "ops": [["exp", 0]]},
    "pow-rule-off-by-one": {"leaves": [1.7], "ops": [["pow", 0, 2]]},
    "pow-rule-missing-factor": {"leaves": [1.7], "ops": [["pow", 0, 2]]},
    "relu-gradient-at-zero": {"leaves": [0.0], "ops": [["relu", 0]]},
    "relu-mask-always-open": {"leaves": [-0.7], "ops": [["relu", 0]]},
    "sub-derivative-sign": {"leaves": [2.5, -1.25], "ops": [["sub", 0, 1]]},
    "no-seed": {"leaves": [2.0, -3.0], "ops": [["mul", 0, 1]]},
    "seed-after-walk": {"leaves": [2.0, -3.0], "ops": [["mul", 0, 1]]},
    "missing-input-grad:add": {"leaves": [2.0, -3.0], "ops": [["add", 0, 1]]},
    "missing-input-grad:mul": {"leaves": [2.0, -3.0], "ops": [["mul", 0, 1]]},
    "pow-precedence": {"leaves": [1.7], "ops": [["pow", 0, 2]]},
}


@pytest.mark.parametrize("bug", sorted(IDENTIFYING))
def test_each_mistake_is_named_from_what_it_produces(bug):
    graph = IDENTIFYING[bug]
    steps = diagnose.default_steps(graph)
    observed = Engine(graph, bug).run(steps)
    right = Engine(graph).run(steps)
    assert observed.grad != right.grad, "the graph must show the mistake"
    assert diagnose.explain_graph(graph, steps, observed.data, observed.grad, None, TOLERANCE) == bug
    assert bug in PITFALLS


@pytest.mark.parametrize("op", diagnose.LOCAL_OPS)
def test_a_missing_upstream_factor_is_named_with_its_operation(op):
    graph = {"leaves": [1.5, 0.5], "ops": [[op, 0, 1] if op in ("add", "mul") else
                                           ([op, 0, 3] if op == "pow" else [op, 0])]}
    out = len(graph["leaves"])
    steps = [["set_grad", out, 5.0], ["local_backward", out]]
    observed = Engine(graph, f"no-upstream-grad:{op}").run(steps)
    found = diagnose.explain_graph(graph, steps, observed.data, observed.grad, None, TOLERANCE)
    assert found == f"no-upstream-grad:{op}"


@pytest.mark.parametrize("bug", diagnose.SEED_BUGS)
def test_each_seed_mistake_is_named_from_three_backward_calls(bug):
    """What the hidden backward tests see: single-op graphs, leaves' gradients after three backward() calls."""
    graphs = [{"leaves": [2.0, -3.0], "ops": [["mul", 0, 1]]}, {"leaves": [1.5], "ops": [["mul", 0, 0]]}]
    steps = [[["backward", len(g["leaves"])]] * 3 for g in graphs]
    observed = [Engine(g, bug).run(s) for g, s in zip(graphs, steps, strict=True)]
    right = [Engine(g).run(s) for g, s in zip(graphs, steps, strict=True)]
    assert any(o.grad[:2] != r.grad[:2] for o, r in zip(observed, right, strict=True)), "the mistake must show"
    found = diagnose.explain_batch(graphs, steps, [(o.data, o.grad, None) for o in observed], TOLERANCE,
                                   candidates=diagnose.SEED_BUGS, leaves_only=True, judge_order=False)
    assert found == bug


def test_the_students_order_is_replayed_for_an_overwrite():
    # x.tanh() + x: the add's _backward runs first, so an `=` in tanh's _backward loses the add's 1.
    graph = {"leaves": [0.6], "ops": [["tanh", 0], ["add", 1, 0]]}
    engine = Engine(graph, "overwrite-grad:tanh").run(diagnose.default_steps(graph), [[2, 1, 0]])
    assert engine.grad[0] == pytest.approx(1 - math.tanh(0.6) ** 2)


SHARED = {"leaves": [0.3], "ops": [["exp", 0], ["tanh", 1], ["mul", 1, {"c": 2.0}], ["add", 2, 3]]}
STEPS = [["backward", 4]]


@pytest.mark.parametrize(("calls", "pitfall"), [
    ([4, 2, 3, 1, 0], None),
    ([4, 3, 2, 1, 0], None),
    ([0, 1, 2, 3, 4], "topo-not-reversed"),  # a post-order walked forward
    ([3, 0, 1, 2, 4], "topo-pre-order"),  # pre-order [4, 2, 1, 0, 3], reversed
    ([4, 2, 1, 0, 3, 1, 0], "topo-no-visited"),
    ([4, 2, 3], "topo-incomplete"),
])
def test_call_orders(calls, pitfall):
    assert diagnose.order_pitfall(SHARED, STEPS, [calls]) == pitfall


def test_pre_order_wins_over_not_reversed_across_graphs():
    chain = {"leaves": [0.5], "ops": [["exp", 0], ["tanh", 1]]}
    found = diagnose.order_pitfall_of_batch([chain, SHARED], [[["backward", 2]], STEPS], [[[0, 1, 2]],
                                                                                           [[3, 0, 1, 2, 4]]])
    assert found == "topo-pre-order"


def test_central_differences_of_a_square():
    graph = {"leaves": [1.5, -2.0], "ops": [["mul", 0, 0], ["mul", 2, 1]]}  # x0**2 * x1
    perturbed = diagnose.central_differences(graph, 1e-5)
    outputs = [Engine(g).data[-1] for g in perturbed]
    fd = diagnose.finite_difference_gradient(outputs, 1e-5)
    assert fd == pytest.approx([2 * 1.5 * -2.0, 1.5 ** 2], rel=1e-8)
    assert diagnose.finite_difference_agrees(fd[0], -6.0, 1e-5)
    assert not diagnose.finite_difference_agrees(fd[0], 6.0, 1e-5)
    assert diagnose.finite_difference_agrees(1e-12, 0.0, 1e-5)  # both numerically zero


def test_relative_error():
    assert diagnose.relative_error(0.0, 0.0) == 0.0
    assert diagnose.relative_error(1.0, 1.1) == pytest.approx(0.1 / 1.1)


@pytest.mark.parametrize("op", ["add", "mul"])
def test_an_input_left_without_gradient_is_told_from_an_overwrite(op):
    """On x * y + x (x + y) * x an `=` loses the other use's gradient and a forgotten input gets none."""
    graph = {"leaves": [1.3, -0.6], "ops": [["mul", 0, 1], ["add", 2, 0]] if op == "mul" else
             [["add", 0, 1], ["mul", 2, 0]]}
    steps = diagnose.reference_walk(graph)
    for bug in (f"overwrite-grad:{op}", f"missing-input-grad:{op}"):
        observed = Engine(graph, bug).run(steps)
        assert diagnose.explain_graph(graph, steps, observed.data, observed.grad, None, TOLERANCE) == bug


def test_the_reference_walk_is_what_backward_does():
    for graph in GRAPHS:
        walked = Engine(graph).run(diagnose.reference_walk(graph))
        assert walked.grad == Engine(graph).run(diagnose.default_steps(graph)).grad
