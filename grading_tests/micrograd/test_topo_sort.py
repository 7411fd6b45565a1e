"""The topological sort inside backward(): order, a visited set, and deep graphs.

Graded from the order of the _backward calls on the student's Values with reference data and
reference local derivatives (isolation mode "reference_derivatives")."""

import pytest

from autograder.core.suite import Mistake

from . import drawing
from .diagnose import PITFALLS, order_pitfall, order_pitfall_of_batch
from .observations import REVISITS, diamond_ladder
from .order_words import described
from .writing import Labelled, node_name

pytestmark = pytest.mark.part("topo_sort")
MODE = "reference_derivatives"


def chain(length: int) -> dict:
    """x, then `length` nodes each made from the one before (alternating * 1.0001 and + 0.001)."""
    ops = [["mul", i, {"c": 1.0001}] if i % 2 == 0 else ["add", i, {"c": 0.001}] for i in range(length)]
    return {"leaves": [0.5], "ops": ops}


# Graphs where a node is used by two others (a cross edge): a post-order sort walked forward and a
# pre-order sort walked backward give different, recognisable call orders whatever order _prev has.
ORDER_GRAPHS = [
    {"leaves": [0.3], "ops": [["exp", 0], ["tanh", 1], ["mul", 1, {"c": 2.0}], ["add", 2, 3]]},
    {"leaves": [0.6, -0.8], "ops": [["mul", 0, 1], ["tanh", 2], ["exp", 2], ["mul", 3, 4], ["add", 5, 2]]},
    {"leaves": [1.1, 0.4], "ops": [["add", 0, 1], ["mul", 2, 0], ["tanh", 3], ["mul", 4, 2], ["add", 5, 3]]},
]
SMALL_LADDER = diamond_ladder(8)
DEEP_LADDER = diamond_ladder(24)
# Ten times deeper than Python's default recursion limit (1000), which the worker keeps. (100,000 nodes
# would cost every submission more than a second of worker time for the same verdict.)
DEEP_CHAIN = chain(10_000)
MAX_SHOWN = 16


def check_order(submission, graphs, *, doing: str) -> None:
    """Every node's _backward runs once, after every node that uses it (read from the recorded calls;
    gradients are not compared, so a mistake in the seed cannot cost points here)."""
    steps = [[["backward", len(g["leaves"]) + len(g["ops"]) - 1]] for g in graphs]
    calls = submission.calls(graphs, doing=doing)
    pitfall = order_pitfall_of_batch(graphs, steps, calls)
    if pitfall:
        graph, graph_calls = next((g, c) for g, s, c in zip(graphs, steps, calls, strict=True)
                                  if order_pitfall(g, s, c) == pitfall)
        order = ", ".join(node_name(graph, i) for i in graph_calls[0][:MAX_SHOWN])
        order += ", ..." if len(graph_calls[0]) > MAX_SHOWN else ""
        written = Labelled(graph).render()
        pitfall, headline = described(pitfall, graph, graph_calls[0], submission.sources,
                                      lambda node: node_name(graph, node))
        raise drawing.with_calls(Mistake(pitfall, f"{headline}.\nIn {written}, your backward() "
                                         f"called _backward on {len(graph_calls[0])} nodes in this order: {order}."),
                                 graph, graph_calls[0])


def test_backward_order(submission):
    """Every node's _backward runs once, after every node that uses it."""
    check_order(submission.isolated(MODE), [*ORDER_GRAPHS, SMALL_LADDER],
                doing="backward() on graphs with shared nodes")


def test_deep_diamond_ladder(submission):
    """A 24-level diamond ladder: correct and fast only with a visited set."""
    submission = submission.isolated(MODE)
    # Without a visited set, fail now on a small ladder rather than time out below.
    check_order(submission, [SMALL_LADDER], doing="backward() on an 8-level diamond ladder")
    try:
        check_order(submission, [DEEP_LADDER], doing="backward() on a 24-level diamond ladder")
    except Mistake as mistake:
        if mistake.pitfall != REVISITS:
            raise
        # Right on small ladders but too slow on a deep one, and seen to revisit nodes: the walk visits each of
        # the 2**24 paths.
        raise Mistake("topo-no-visited", f"{PITFALLS['topo-no-visited']}.\n{mistake.feedback}", mistake.flags) from None


def test_deep_chain(submission):
    """A 10,000-node chain, deeper than Python's recursion limit: the sort needs an explicit stack
    (a small weight in course.yml; the lecture's recursive build_topo loses only this test)."""
    submission = submission.isolated(MODE)
    check_order(submission, ORDER_GRAPHS, doing="backward() on graphs with shared nodes")  # a chain hides the order
    try:
        check_order(submission, [DEEP_CHAIN], doing="backward() on a 10,000-node chain")
    except Mistake as mistake:
        if mistake.pitfall != "recursion":
            raise
        raise Mistake("topo-recursion-limit", f"{PITFALLS['topo-recursion-limit']}.\n{mistake.feedback}") from None
