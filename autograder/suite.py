"""What hidden tests use to question a submission and to fail with a diagnosis.

Hidden tests run in the trusted process. They never import the submission: they ask its
sandboxed worker through `Submission`, get back plain numbers, compare them with expectations
computed here, and fail by raising `Mistake` with feedback in the student's terms.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autograder.sandbox import TEXT_REFUSED, Reply, Worker


class Mistake(AssertionError):
    """A hidden test failed. `feedback` is shown to the student: never put expected values in it.
    `picture`: Graphviz DOT source drawn from the student's observations only, or "": the grader
    renders it to SVG for the verdict (autograder.pictures)."""

    def __init__(self, pitfall: str, feedback: str, flags: tuple[str, ...] = (), *, picture: str = ""):
        super().__init__(feedback)
        self.pitfall = pitfall
        self.feedback = feedback
        self.flags = flags
        self.picture = picture


# The pitfalls describe_failure and the answer checks below name: things that went wrong while
# running the code (with a short name each, for the class report), not misconceptions.
FAILURES: dict[str, str] = {
    "timeout": "timed out", "crash": "crashed the worker", "forbidden-import": "forbidden import",
    "missing-file": "missing file", "not-implemented": "not implemented", "syntax-error": "syntax error",
    "recursion": "recursion too deep", "memory": "out of memory", "error": "raised an exception",
    "malformed": "malformed answer",
}


def describe_failure(reply: Reply, doing: str) -> Mistake:
    """The Mistake for a call that did not return normally."""
    if reply.status == "timeout":
        return Mistake("timeout", f"{doing} did not finish: {reply.detail} (an infinite loop, or a "
                       "graph walk without a visited set?)", ("timeout",))
    if reply.status == "died":
        return Mistake("crash", f"{doing} stopped the worker: {reply.detail}", ("crash",))
    if reply.status == "garbled":
        return Mistake("malformed" if reply.detail == TEXT_REFUSED else "crash", f"{doing}: {reply.detail}",
                       ("tamper",))
    error = reply.error
    # A worker holding reference code withholds most messages (autograder.sandbox.grader_written): say where to see it.
    see = "; run your code yourself to see its message" if error.withheld else ""
    if error.type == "ForbiddenImport" or (error.type in {"ImportError", "ModuleNotFoundError"}
                                           and "not allowed" in error.message):
        where = f" ({error.where})" if error.where else ""
        return Mistake("forbidden-import", f"policy violation: {error.message or 'a forbidden import'}{where}",
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
        message = f": {error.message}" if error.message else see
        return Mistake("syntax-error", f"SyntaxError in {error.where or 'your code'}{message}", ("syntax_error",))
    if error.type == "RecursionError":
        return Mistake("recursion", f"{doing} raised RecursionError ({error.where}); a topological "
                       "sort that recurses without a visited set can loop on shared nodes")
    if error.type == "MemoryError":
        return Mistake("memory", f"{doing} ran out of memory ({error.where})", ("memory",))
    return Mistake("error", f"{doing} raised {error}{see}")


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
    fresh: list[float]  # the parameters' data as built, before the grader set any
    same_as: list[int]  # per parameter, the first position holding the same object
    neurons: list[list[Any]]  # (nin, nonlin or None) of every Neuron constructed, in order
    snapshots: list[dict[str, list[float]]]  # params and grads at each "snapshot" step


def _list(value: Any, doing: str) -> list:
    if not isinstance(value, list):
        raise Mistake("malformed", f"{doing}: the worker's answer has the wrong shape", ("tamper",))
    return value


def _neurons(value: Any) -> list[list[Any]]:
    """(nin, nonlin) pairs: nin a whole number or None, nonlin a bool or None."""
    pairs = _list(value, "neurons")
    if not all(isinstance(p, list) and len(p) == 2 and (p[0] is None or type(p[0]) is int)
               and (p[1] is None or type(p[1]) is bool) for p in pairs):
        raise Mistake("malformed", "neurons: the worker's answer has the wrong shape", ("tamper",))
    return pairs


def _snapshot(value: Any) -> dict[str, list[float]]:
    if not isinstance(value, dict):
        raise Mistake("malformed", "snapshot: the worker's answer has the wrong shape", ("tamper",))
    return {"params": numbers(value.get("params"), "params"), "grads": numbers(value.get("grads"), "grads")}


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


@dataclass(eq=False)
class Submission:
    """A submission as the hidden tests see it: questions in, plain observations out.

    `mode` is the isolation mode of its worker ("own": the student's code as is); `isolated`
    gives the same submission in another mode (autograder/isolation.py)."""

    name: str
    worker: Worker
    mode: str = "own"
    graph_options: dict[str, Any] = field(default_factory=dict)  # sent with every graph (the mode's)
    isolate: Callable[[str], Submission] | None = None  # None: grade every part on the student's own code

    def isolated(self, mode: str) -> Submission:
        """This submission with the parts a test does not grade replaced by reference behaviour;
        the own-mode submission itself when the course grades without isolation."""
        if self.isolate is None or mode == self.mode:
            return self
        return self.isolate(mode)

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
                  "record_calls": record_calls, **self.graph_options} for g, s in zip(graphs, steps, strict=True)]
        results = self.ask(doing, "graphs", items=items).get("results")
        if not isinstance(results, list) or len(results) != len(graphs):
            raise Mistake("malformed", f"{doing}: the worker's answer has the wrong shape", ("tamper",))
        return [_graph_observation(g, r, doing) for g, r in zip(graphs, results, strict=True)]

    def calls(self, graphs: list[dict], *, doing: str) -> list[list[list[int]]]:
        """Per graph, the nodes whose _backward ran during backward() from its last node, in order
        (as GraphObservation.calls: one list per backward step), without the nodes' values."""
        items = [{"graph": g, "steps": [["backward", _size(g) - 1]], "record_calls": True, "calls_only": True,
                  **self.graph_options} for g in graphs]
        results = self.ask(doing, "graphs", items=items).get("results")
        if not isinstance(results, list) or len(results) != len(graphs):
            raise Mistake("malformed", f"{doing}: the worker's answer has the wrong shape", ("tamper",))
        found = []
        for result in results:
            calls = result.get("calls") if isinstance(result, dict) else None
            if not isinstance(calls, list) or len(calls) != 1:
                raise Mistake("malformed", f"{doing}: the worker's answer has the wrong shape", ("tamper",))
            found.append([indices(calls[0], "calls")])
        return found

    def model(self, cls: str, args: list, *, seed: int = 0, params: list[float] | None = None,
              steps: list | None = None, kwargs: dict | None = None,
              doing: str = "building the model") -> ModelObservation:
        value = self.ask(doing, "model", cls=cls, args=args, seed=seed, params=params, steps=steps or [],
                         kwargs=kwargs or {})
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
            fresh=numbers(value.get("fresh"), "fresh parameters"),
            same_as=indices(value.get("same_as"), "same_as"),
            neurons=_neurons(value.get("neurons")),
            snapshots=[_snapshot(s) for s in _list(value.get("snapshots"), doing)],
        )

    def api(self, names: list[str], *, doing: str = "inspecting Value") -> dict[str, bool]:
        value = self.ask(doing, "api", names=names)
        return {name: value.get(name) is True for name in names}


def close(observed: float, expected: float, *, rel: float, abs: float) -> bool:
    """math.isclose that also treats nan as never close (a student's nan is never right)."""
    return not math.isnan(observed) and math.isclose(observed, expected, rel_tol=rel, abs_tol=abs)
