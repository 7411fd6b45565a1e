"""Graphs written out the way a notebook writes them, and the Mistake for wrong gradients on them.

Used by the notebook suites (grading_tests/conftest.py puts this folder on their sys.path), so
their feedback has the module suite's pitfall model and wording: the pitfall named by diagnose (a
check that replays the student's numbers, not a guess), then the expression with the notebook's
own labels and the student's values, never an expected value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import diagnose
import drawing
from diagnose import PITFALLS, Tolerance

from autograder.suite import GraphObservation, Mistake, Submission

SYMBOL = {"add": "+", "sub": "-", "mul": "*", "truediv": "/"}


class Labelled:
    """A graph (probes.py's description) with the names the notebook gives its nodes."""

    def __init__(self, graph: dict, labels: Sequence[str] | None = None):
        self.graph = graph
        n = diagnose.size(graph)
        self.labels = list(labels) if labels else [f"x{i}" if i < len(graph["leaves"]) else f"v{i}" for i in range(n)]
        assert len(self.labels) == n, "one label per node"

    def name(self, ref: Any) -> str:
        return repr(ref["c"]) if isinstance(ref, dict) else self.labels[ref]

    def render(self) -> str:
        """'a = 2.0, b = -3.0; e = a * b; L = e.tanh()': the expression as the notebook writes it."""
        n_leaves = len(self.graph["leaves"])
        parts = [", ".join(f"{self.labels[i]} = {x!r}" for i, x in enumerate(self.graph["leaves"]))]
        for i, (op, *refs) in enumerate(self.graph["ops"], start=n_leaves):
            a = self.name(refs[0])
            if op in SYMBOL:
                expr = f"{a} {SYMBOL[op]} {self.name(refs[1])}"
            elif op == "pow":
                expr = f"{a}**{refs[1]!r}"
            elif op == "neg":
                expr = f"-{a}"
            else:
                expr = f"{a}.{op}()"
            parts.append(f"{self.labels[i]} = {expr}")
        return "; ".join(parts)

    def steps(self, steps: Sequence | None) -> str:
        if steps is None:
            return f"after {self.labels[-1]}.backward()"
        words = []
        for kind, *args in steps:
            if kind == "backward":
                words.append(f"{self.name(args[0])}.backward()")
            elif kind == "set_grad":
                words.append(f"{self.name(args[0])}.grad = {args[1]!r}")
            elif kind == "local_backward":
                words.append(f"{self.name(args[0])}._backward()")
        return "after " + ", ".join(words)

    def yours(self, values: Sequence[float], nodes: Sequence[int], attribute: str = "grad") -> str:
        return ", ".join(f"{self.labels[i]}.{attribute} = {values[i]:.6g}" for i in nodes)


def gradient_mistake(submission: Submission, labelled: Labelled, steps: list | None, observation: GraphObservation,
                     wrong: Sequence[int], tolerance: Tolerance, *, candidates: Sequence[str] | None = None,
                     leaves_only: bool = False, doing: str = "backward()") -> Mistake:
    """Name the mistake behind wrong gradients (replayed in the student's own order of _backward calls)
    and write out the expression with the student's gradients."""
    graph = labelled.graph
    recorded = submission.graph(graph, steps, doing=doing, record_calls=True)
    pitfall = diagnose.explain_graph(graph, steps, recorded.data, recorded.grad, recorded.calls, tolerance,
                                     candidates=candidates, leaves_only=leaves_only)
    if pitfall is None:
        pitfall = diagnose.explain_graph(graph, steps, observation.data, observation.grad, None, tolerance,
                                         candidates=candidates, leaves_only=leaves_only)
    ops = {op for op, *_ in graph["ops"]}
    if pitfall is None and len(ops) == 1:
        pitfall = f"wrong-derivative:{ops.pop()}"
    pitfall = pitfall or "wrong-gradient"
    shown = sorted(set(range(len(graph["leaves"]))) | set(wrong[:3]))
    return drawing.with_gradients(Mistake(pitfall, f"{PITFALLS[pitfall]}.\nIn {labelled.render()}, "
                                          f"{labelled.steps(steps)}: your {labelled.yours(observation.grad, shown)}."),
                                  graph, observation, wrong, labelled.labels)


def forward_mistake(labelled: Labelled, observation: GraphObservation, node: int) -> Mistake:
    op = labelled.graph["ops"][node - len(labelled.graph["leaves"])][0]
    pitfall = f"forward:{op}"
    return Mistake(pitfall, f"{PITFALLS[pitfall]}.\nIn {labelled.render()}: your "
                   f"{labelled.yours(observation.data, [node], 'data')}.")
