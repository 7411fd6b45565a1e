"""Hidden tests of the backprop-by-hand notebook: Value's operations and the hand-filled gradients."""

import pytest

from autograder.notebook_suite import close
from autograder.suite import Mistake, number

# L = (a*b + c) * f at a=2, b=-3, c=10, f=-2, as in the lecture.
LEAVES = {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0}


def _expected_grads():
    a, b, c, f = LEAVES.values()
    d = a * b + c
    dd = f  # dL/dd
    return {"L": 1.0, "d": dd, "f": d, "c": dd, "e": dd, "a": dd * b, "b": dd * a}


LOCAL_ONLY = {"a": LEAVES["b"], "b": LEAVES["a"], "c": 1.0, "e": 1.0}


@pytest.mark.part("value_ops")
def test_operations_build_the_graph(submission):
    graph = {"leaves": [2.0, -3.0, 10.0], "ops": [["mul", 0, 1], ["add", 3, 2], ["mul", 4, 4]]}
    obs = submission.graph(graph, [], doing="building (a*b + c) and squaring it with *")
    for i, expected in ((3, -6.0), (4, 4.0), (5, 16.0)):
        if not close(obs.data[i], expected):
            op = "*" if i != 4 else "+"
            raise Mistake("forward", f"a Value made with {op} holds {obs.data[i]:.6g}, not the result of {op}")
    for i, children in ((3, [0, 1]), (4, [2, 3]), (5, [4])):
        if obs.prev[i] != children:
            raise Mistake("children", "the result of an operation must keep both inputs in _prev "
                          f"(node {i} has {len(obs.prev[i])} known children)")


@pytest.mark.part("by_hand")
def test_every_gradient_by_the_chain_rule(submission):
    expected = _expected_grads()
    values = submission.ask("reading your gradients", "nb_attributes", module="by_hand",
                 paths=[f"{name}.grad" for name in expected]).get("values")
    if not isinstance(values, dict):
        raise Mistake("malformed", "reading your gradients: the worker's answer has the wrong shape", ("tamper",))
    for name, want in expected.items():
        raw = values.get(f"{name}.grad")
        if raw is None:
            raise Mistake("missing", f"{name} has no grad: is the cell that builds L still there?")
        got = number(raw, f"{name}.grad")
        if close(got, want):
            continue
        if name in LOCAL_ONLY and close(got, LOCAL_ONLY[name]):
            raise Mistake("no-chain-rule", f"{name}.grad is {got:g}, the local derivative alone: multiply it "
                          "by the gradient of the node it feeds (chain rule)")
        if close(got, -want):
            raise Mistake("sign", f"{name}.grad is {got:g}: the sign is wrong")
        raise Mistake("by-hand", f"{name}.grad is {got:g}; work backwards from L.grad = 1, one node at a time")
