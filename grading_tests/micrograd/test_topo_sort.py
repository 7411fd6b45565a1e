"""The topological sort inside backward(): order, a visited set, and deep graphs."""

import checks
import pytest

from autograder.diagnose import PITFALLS, order_pitfall, order_pitfall_of_batch
from autograder.suite import Mistake

pytestmark = pytest.mark.part("topo_sort")


def diamond_ladder(levels: int, start: float = 0.7) -> dict:
    """v = v*0.5 + v*0.5, `levels` times: 2**levels paths from the output back to the input."""
    ops = []
    for level in range(levels):
        v = 0 if level == 0 else 3 * level
        ops += [["mul", v, {"c": 0.5}], ["mul", v, {"c": 0.5}], ["add", 3 * level + 1, 3 * level + 2]]
    return {"leaves": [start], "ops": ops}


def chain(length: int) -> dict:
    """x, then `length` nodes each made from the one before (alternating * 1.0001 and + 0.001)."""
    ops = [["mul", i, {"c": 1.0001}] if i % 2 == 0 else ["add", i, {"c": 0.001}] for i in range(length)]
    return {"leaves": [0.5], "ops": ops}


ORDER_GRAPHS = checks.ORDER_GRAPHS
SMALL_LADDER = diamond_ladder(8)
DEEP_LADDER = diamond_ladder(24)
DEEP_CHAIN = chain(5000)  # one object for every submission: its expected values are cached by identity
MAX_SHOWN = 16


def check_order(submission, graphs, *, doing: str) -> list:
    """Every node's _backward runs once, after every node that uses it (read from the recorded calls)."""
    try:
        observations = submission.graphs(graphs, doing=doing, record_calls=True)
    except Mistake as mistake:
        raise checks.explain_error(submission, mistake) from None
    steps = [[["backward", len(g["leaves"]) + len(g["ops"]) - 1]] for g in graphs]
    pitfall = order_pitfall_of_batch(graphs, steps, [o.calls for o in observations])
    if pitfall:
        graph, observation = next((g, o) for g, s, o in zip(graphs, steps, observations, strict=True)
                                  if order_pitfall(g, s, o.calls) == pitfall)
        calls = observation.calls[0]
        order = ", ".join(checks.name(graph, i) for i in calls[:MAX_SHOWN])
        order += ", ..." if len(calls) > MAX_SHOWN else ""
        raise Mistake(pitfall, f"{PITFALLS[pitfall]}.\nIn {checks.render(graph)}, your backward() called "
                      f"_backward on {len(calls)} nodes in this order: {order}.")
    return observations


def test_backward_order(submission, tolerance):
    """Every node's _backward runs once, after every node that uses it."""
    graphs = [*ORDER_GRAPHS, SMALL_LADDER]
    check_order(submission, graphs, doing="backward() on graphs with shared nodes")
    checks.check_graphs(submission, graphs, tolerance=tolerance, doing="backward() on graphs with shared nodes")


def test_deep_diamond_ladder(submission, tolerance):
    """A 24-level diamond ladder: correct and fast only with a visited set."""
    # Without a visited set, fail now on a small ladder rather than time out below.
    check_order(submission, [SMALL_LADDER], doing="backward() on an 8-level diamond ladder")
    try:
        checks.check_graphs(submission, [DEEP_LADDER], tolerance=tolerance,
                            doing="backward() on a 24-level diamond ladder")
    except Mistake as mistake:
        if mistake.pitfall != "timeout":
            raise
        # Right on small ladders but too slow on a deep one: the walk visits each of the 2**24 paths.
        raise Mistake("topo-no-visited", f"{PITFALLS['topo-no-visited']}.\n{mistake.feedback}", mistake.flags) from None


def test_deep_chain(submission, tolerance):
    """A 5,000-node chain: a recursive sort is fine (the grader allows the recursion depth)."""
    check_order(submission, ORDER_GRAPHS, doing="backward() on graphs with shared nodes")  # a chain hides the order
    checks.check_graphs(submission, [DEEP_CHAIN], tolerance=tolerance, doing="backward() on a 5,000-node chain")
