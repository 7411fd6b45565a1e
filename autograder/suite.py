"""What hidden tests use to question a submission and to fail with a diagnosis.

Hidden tests run in the trusted process. They never import the submission: they ask its
sandboxed worker through `Submission`, get back plain numbers, compare them with expectations
computed here, and fail by raising `Mistake` with feedback in the student's terms.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from autograder.sandbox import Reply, Worker


class Mistake(AssertionError):
    """A hidden test failed. `feedback` is shown to the student: never put expected values in it."""

    def __init__(self, pitfall: str, feedback: str, flags: tuple[str, ...] = ()):
        super().__init__(feedback)
        self.pitfall = pitfall
        self.feedback = feedback
        self.flags = flags


def describe_failure(reply: Reply, doing: str) -> Mistake:
    """The Mistake for a call that did not return normally."""
    if reply.status == "timeout":
        return Mistake("timeout", f"{doing} did not finish: {reply.detail} (an infinite loop, or a "
                       "graph walk without a visited set?)", ("timeout",))
    if reply.status == "died":
        return Mistake("crash", f"{doing} stopped the worker: {reply.detail}", ("crash",))
    if reply.status == "garbled":
        return Mistake("crash", f"{doing}: {reply.detail}", ("tamper",))
    error = reply.error
    if error.type == "ForbiddenImport" or (error.type in {"ImportError", "ModuleNotFoundError"}
                                           and "not allowed" in error.message):
        return Mistake("forbidden-import", f"policy violation: {error.message} ({error.where})",
                       ("policy_violation",))
    # Only the standard library and the submission are importable, so a missing module of a
    # package that exists (micrograd.nn) is a file missing from the submission's package.
    missing = re.fullmatch(r"No module named '(\w+)\.(\w+)[\w.]*'", error.message)
    if error.type == "ModuleNotFoundError" and missing:
        path = f"{missing[1]}/{missing[2]}.py"
        return Mistake("missing-file", f"{doing}: {path} is missing from your submission", ("missing_file",))
    if error.type == "NotImplementedError":
        return Mistake("not-implemented", f"{doing}: not implemented yet ({error})")
    if error.type == "SyntaxError":
        return Mistake("syntax-error", f"SyntaxError in {error.where or 'your code'}: {error.message}",
                       ("syntax_error",))
    if error.type == "RecursionError":
        return Mistake("recursion", f"{doing} raised RecursionError ({error.where}); a topological "
                       "sort that recurses without a visited set can loop on shared nodes")
    if error.type == "MemoryError":
        return Mistake("memory", f"{doing} ran out of memory ({error.where})", ("memory",))
    return Mistake("error", f"{doing} raised {error}")


def number(value: Any, what: str) -> float:
    """A number the worker sent, as a float; anything else (a bool, a string, a list) is tampering."""
    if not isinstance(value, bool):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    raise Mistake("malformed", f"{what}: the worker sent something that is not a number", ("tamper",))


def numbers(values: Any, what: str, length: int | None = None) -> list[float]:
    if not isinstance(values, list) or (length is not None and len(values) != length):
        raise Mistake("malformed", f"{what}: the worker's answer has the wrong shape", ("tamper",))
    return [number(v, what) for v in values]


def indices(values: Any, what: str) -> list[int]:
    """Node indices the worker sent (whole, finite numbers)."""
    found = numbers(values, what)
    if not all(math.isfinite(i) and i == int(i) for i in found):
        raise Mistake("malformed", f"{what}: the worker sent something that is not a node index", ("tamper",))
    return [int(i) for i in found]


@dataclass(frozen=True)
class GraphObservation:
    data: list[float]
    grad: list[float]
    prev: list[list[int]]
    calls: list[list[int]] | None  # per backward/local_backward step: nodes whose _backward ran, in order


@dataclass(frozen=True)
class ModelObservation:
    n_parameters: int
    forward: list[list[Any]]
    losses: list[float]
    params: list[float]
    grads: list[float]


def _size(graph: dict) -> int:
    return len(graph["leaves"]) + len(graph["ops"])


def _graph_observation(graph: dict, value: Any, doing: str) -> GraphObservation:
    if not isinstance(value, dict):
        raise Mistake("malformed", f"{doing}: the worker sent an unreadable answer", ("tamper",))
    n = _size(graph)
    data, grad = numbers(value.get("data"), "data"), numbers(value.get("grad"), "grad")
    prev, calls = value.get("prev"), value.get("calls")
    if len(data) != n or len(grad) != n or not isinstance(prev, list) or len(prev) != n:
        raise Mistake("malformed", f"{doing}: the worker's answer has the wrong shape", ("tamper",))
    prev = [indices(p, "prev") for p in prev]
    if calls is not None:
        if not isinstance(calls, list):
            raise Mistake("malformed", f"{doing}: the worker's answer has the wrong shape", ("tamper",))
        calls = [indices(step, "calls") for step in calls]
    return GraphObservation(data, grad, prev, calls)


class Submission:
    """A submission as the hidden tests see it: questions in, plain observations out."""

    def __init__(self, name: str, worker: Worker):
        self.name = name
        self.worker = worker

    def ask(self, doing: str, probe: str, **args: Any) -> dict:
        """Call a probe in the submission's sandboxed worker; a failure becomes the student's Mistake."""
        reply = self.worker.call(probe, **args)
        if not reply.ok:
            raise describe_failure(reply, doing)
        if not isinstance(reply.value, dict):
            raise Mistake("malformed", f"{doing}: the worker sent an unreadable answer", ("tamper",))
        return reply.value

    def graph(self, graph: dict, steps: list | None = None, *, doing: str = "building the graph",
              record_calls: bool = False) -> GraphObservation:
        return self.graphs([graph], [steps], doing=doing, record_calls=record_calls)[0]

    def graphs(self, graphs: list[dict], steps: list[list | None] | None = None, *,
               doing: str = "building the graphs", record_calls: bool = False) -> list[GraphObservation]:
        """Several graphs in one worker call; steps[i] (default: backward from the last node) for graphs[i]."""
        steps = steps or [None] * len(graphs)
        items = [{"graph": g, "steps": s if s is not None else [["backward", _size(g) - 1]],
                  "record_calls": record_calls} for g, s in zip(graphs, steps, strict=True)]
        results = self.ask(doing, "graphs", items=items).get("results")
        if not isinstance(results, list) or len(results) != len(graphs):
            raise Mistake("malformed", f"{doing}: the worker's answer has the wrong shape", ("tamper",))
        return [_graph_observation(g, r, doing) for g, r in zip(graphs, results, strict=True)]

    def model(self, cls: str, args: list, *, seed: int = 0, params: list[float] | None = None,
              steps: list | None = None, doing: str = "building the model") -> ModelObservation:
        value = self.ask(doing, "model", cls=cls, args=args, seed=seed, params=params, steps=steps or [])
        forward = value.get("forward")
        if not isinstance(forward, list) or not all(isinstance(batch, list) for batch in forward):
            raise Mistake("malformed", f"{doing}: the worker's answer has the wrong shape", ("tamper",))
        forward = [[numbers(o, "outputs") if isinstance(o, list) else numbers([o], "output")[0]
                    for o in batch] for batch in forward]
        return ModelObservation(
            n_parameters=int(float(value.get("n_parameters", -1))),
            forward=forward,
            losses=numbers(value.get("losses"), "losses"),
            params=numbers(value.get("params"), "params"),
            grads=numbers(value.get("grads"), "grads"),
        )

    def api(self, names: list[str], *, doing: str = "inspecting Value") -> dict[str, bool]:
        value = self.ask(doing, "api", names=names)
        return {name: value.get(name) is True for name in names}


def close(observed: float, expected: float, *, rel: float, abs: float) -> bool:
    """math.isclose that also treats nan as never close (a student's nan is never right)."""
    return not math.isnan(observed) and math.isclose(observed, expected, rel_tol=rel, abs_tol=abs)
