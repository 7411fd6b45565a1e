"""Hidden tests of the backprop-by-hand notebook: Value's operations and the hand-filled gradients.

Feedback follows the module suite: the pitfall named, then the expression written out with the
notebook's labels and the student's own values (never an expected value).
"""

import pytest

from autograder.core.suite import Mistake, close, number, wrong_shape

from ..micrograd.expressions import forward_mistake
from ..micrograd.writing import Labelled

# L = (a*b + c) * f at a=2, b=-3, c=10, f=-2, as in the lecture.
LEAVES = {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0}
LECTURE = Labelled({"leaves": list(LEAVES.values()), "ops": [["mul", 0, 1], ["add", 4, 2], ["mul", 5, 3]]},
                   ["a", "b", "c", "f", "e", "d", "L"])
FEEDS = {"d": "L", "f": "L", "c": "d", "e": "d", "a": "e", "b": "e"}  # the node each one feeds


def _expected_grads():
    a, b, c, f = LEAVES.values()
    d = a * b + c
    dd = f  # dL/dd
    return {"L": 1.0, "d": dd, "f": d, "c": dd, "e": dd, "a": dd * b, "b": dd * a}


LOCAL_ONLY = {"a": LEAVES["b"], "b": LEAVES["a"], "c": 1.0, "e": 1.0}
PITFALLS = {
    "no-chain-rule": ("a gradient holds only the local derivative: multiply it by the gradient of the node it "
                      "feeds (chain rule)"),
    "gradient-sign": "a gradient has the wrong sign",
    "by-hand": "a gradient is wrong: work backwards from L.grad = 1, one node at a time",
    "missing-grad": "a node has no grad: is the cell that builds L still there?",
    "children": "the result of an operation must keep both of its inputs in _prev",
}


@pytest.mark.part("value_ops")
def test_operations_build_the_graph(submission):
    squared = Labelled({"leaves": [2.0, -3.0, 10.0], "ops": [["mul", 0, 1], ["add", 3, 2], ["mul", 4, 4]]},
                       ["a", "b", "c", "e", "d", "s"])
    obs = submission.graph(squared.graph, [], doing="building (a*b + c) and squaring it with *")
    for i, expected in ((3, -6.0), (4, 4.0), (5, 16.0)):
        if not close(obs.data[i], expected):
            raise forward_mistake(squared, obs, i)
    for i, children in ((3, [0, 1]), (4, [2, 3]), (5, [4])):
        if obs.prev[i] != children:
            kept = ", ".join(squared.labels[c] if 0 <= c < len(squared.labels) else "another Value"
                             for c in obs.prev[i]) or "nothing"
            raise Mistake("children", f"{PITFALLS['children']}.\nIn {squared.render()}: your "
                          f"{squared.labels[i]}._prev holds {kept}.")


@pytest.mark.part("by_hand")
def test_every_gradient_by_the_chain_rule(submission):
    expected = _expected_grads()
    values = submission.isolated("reference_engine").ask("reading your gradients", "nb_attributes", module="by_hand",
                 paths=[f"{name}.grad" for name in expected]).get("values")
    if not isinstance(values, dict):
        raise wrong_shape("reading your gradients")
    grads = {}
    for name in expected:
        raw = values.get(f"{name}.grad")
        if raw is None:
            raise Mistake("missing-grad", f"{PITFALLS['missing-grad']} ({name} has none).")
        grads[name] = number(raw, f"{name}.grad")
    yours = ", ".join(f"{name}.grad = {g:g}" for name, g in grads.items())
    for name, want in expected.items():
        got = grads[name]
        if close(got, want):
            continue
        if name in LOCAL_ONLY and close(got, LOCAL_ONLY[name]):
            pitfall, where = "no-chain-rule", f"{name}.grad is only d{FEEDS[name]}/d{name}"
        elif close(got, -want):
            pitfall, where = "gradient-sign", f"look at {name}.grad"
        else:
            pitfall, where = "by-hand", f"look at {name}.grad first"
        raise Mistake(pitfall, f"{PITFALLS[pitfall]}.\nIn {LECTURE.render()}: your {yours} ({where}).")
