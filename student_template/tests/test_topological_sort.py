"""Part 3: backward() visits the graph in topological order: a node's _backward runs only after
every node that uses it has passed its gradient down, and each exactly once."""

import pytest
from course_policies import FEEDBACK_ONLY
from micrograd.engine import Value


def all_nodes(root):
    seen, stack = [], [root]
    while stack:
        node = stack.pop()
        if all(node is not s for s in seen):
            seen.append(node)
            stack.extend(node._prev)
    return seen


def test_each_backward_runs_once_and_after_its_users():
    a = Value(2.0)
    b = a * a          # a reaches d along three paths of different lengths
    c = b + a
    d = c * b + a
    calls = []
    for node in all_nodes(d):
        def recording(node=node, original=node._backward):
            calls.append(node)
            original()
        node._backward = recording
    d.backward()
    for node in all_nodes(d):
        assert sum(call is node for call in calls) == 1, f"{node} had its _backward called more than once or never"
    position = {id(node): i for i, node in enumerate(calls)}
    for node in all_nodes(d):
        for child in node._prev:
            assert position[id(node)] < position[id(child)], "a node ran _backward before every user of it had"


def test_diamond_gradient():
    a = Value(2.0)
    b = a * a
    c = b + a
    d = c * b + a
    d.backward()
    # d = (a^2 + a) * a^2 + a = a^4 + a^3 + a, so dd/da = 4a^3 + 3a^2 + 1
    assert a.grad == pytest.approx(4 * 8 + 3 * 4 + 1)


@pytest.mark.xfail("topo-recursion-limit" in FEEDBACK_ONLY, strict=False,
                   reason="this course shows this mistake as feedback only (course.yml policies)")
def test_deep_chain_does_not_hit_the_recursion_limit():
    # The lecture's build_topo is recursive; Python stops recursing at about 1000 calls. The grader
    # backpropagates through a chain this deep too (one test of the topological-sort part).
    x = Value(1.0)
    y = x
    for _ in range(10_000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0, "sort with an explicit stack (a list) instead of recursion"
