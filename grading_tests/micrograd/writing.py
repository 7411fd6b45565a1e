"""A graph written out as the student writes it, with the student's own values (never expected ones).

One writer for the module suite (nodes named x0, x1, ... v2, v3) and the notebook suites (the
notebook's own labels: a, b, e, L), so both say the same thing the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from . import diagnose, operations

MAX_SHOWN = 10  # nodes of a graph shown in feedback


def node_name(graph: dict, node: int) -> str:
    return f"x{node}" if node < len(graph["leaves"]) else f"v{node}"


class Labelled:
    """A graph (the probes' description) with a name for each node."""

    def __init__(self, graph: dict, labels: Sequence[str] | None = None):
        self.graph = graph
        n = diagnose.size(graph)
        self.labels = list(labels) if labels else [node_name(graph, i) for i in range(n)]
        assert len(self.labels) == n, "one label per node"

    def name(self, ref: Any) -> str:
        return repr(ref["c"]) if isinstance(ref, dict) else self.labels[ref]

    def render(self, also: Iterable[int] = ()) -> str:
        """'a = 2.0, b = -3.0; e = a * b; L = e.tanh()': the nodes the output is computed from and those `also`
        names (past MAX_SHOWN operations, a count of the rest)."""
        n_leaves, kept = len(self.graph["leaves"]), diagnose.computed_from(self.graph, *also)
        parts = [", ".join(f"{self.labels[i]} = {x!r}" for i, x in enumerate(self.graph["leaves"]) if i in kept)]
        ops = [(i, op) for i, op in enumerate(self.graph["ops"], start=n_leaves) if i in kept]
        for shown, (i, op) in enumerate(ops):
            if shown == MAX_SHOWN:
                parts.append(f"... ({len(ops) - MAX_SHOWN} more nodes, each built the same way)")
                break
            parts.append(f"{self.labels[i]} = {operations.written(op, self.name)}")
        return "; ".join(parts)

    def steps(self, steps: Sequence | None) -> str:
        """What was done to the graph: 'after L.backward()', or the grader's own walk spelled out."""
        if steps is None:
            return f"after {self.labels[-1]}.backward()"
        if steps and steps[0][0] == "set_grad" and list(steps) == diagnose.reference_walk(self.graph, steps[0][2]):
            return (f"after {self.labels[-1]}.grad = {steps[0][2]!r} and each node's _backward() called once, "
                    "from the output back to the inputs (the grader's walk, not your backward())")
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
