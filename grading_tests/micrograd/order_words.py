"""Order mistakes worded from what the recorded _backward calls show and from the student's backward()
(read, never run): shared by the module suite's topological-sort tests and the notebook suites."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from . import diagnose
from .diagnose import PITFALLS
from .student_code import BackwardCode, StudentCode


def described(pitfall: str, graph: dict, calls: list[int], sources: Mapping[str, str],
              name: Callable[[int], str]) -> tuple[str, str]:
    """The order mistake worded from what the calls show (a node's _backward that never ran, ran twice, a walk
    that stopped) where that says more than the pitfall, or where the student's code contradicts the pitfall
    (a sort with a visited set is not one without)."""
    n_leaves, out = len(graph["leaves"]), diagnose.size(graph) - 1
    ran = [node for node in calls if node >= n_leaves]
    repeated = sorted({node for node in ran if ran.count(node) > 1})
    missing = sorted({node for node in diagnose.reachable(graph, out) if node >= n_leaves} - set(ran))
    names = ", ".join(name(node) for node in repeated[:6])
    if pitfall == "topo-no-visited" and repeated == [out]:
        return "walk-repeats-output", ("backward() runs the output's _backward twice (once more besides the walk "
                                       "over the sorted nodes): each node's _backward must run exactly once")
    if pitfall == "topo-no-visited" and BackwardCode(StudentCode(sources)).has_visited_set():
        return "topo-repeats", (f"your topological sort adds {names} to the order more than once, although it keeps "
                                "a visited set: append a node once, after the loop over its children, when it is "
                                "first visited")
    by_value = StudentCode(sources).equality_by_value() if missing or repeated else []
    if by_value:
        return "value-equality", (
            f"your Value compares (or hashes) nodes by their data ({'; '.join(map(str, by_value))}), so two different "
            "nodes with equal values count as one: the visited set, and each _prev set, keeps only one of them, and "
            "backward() never reaches the other. Nodes must be told apart by identity: remove __eq__ and __hash__ "
            "(Python's defaults compare objects), or base them on id(self)")
    if pitfall == "topo-incomplete" and missing == [out]:
        return "walk-skips-output", ("backward() never runs the output's _backward: the walk over the sorted nodes "
                                     "leaves out the output, whose _backward passes the seed on")
    if pitfall == "topo-incomplete" and ran == [out] and BackwardCode(StudentCode(sources)).walk_exits_early():
        return "walk-stops-early", ("backward() stops after the output's _backward: only the first node of the walk "
                                    "ran (a return or break inside the loop?)")
    return pitfall, PITFALLS[pitfall]
