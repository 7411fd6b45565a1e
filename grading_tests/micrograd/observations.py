"""The micrograd suites' questions to a submission, typed: what grading_tests/probes/ answer in the worker,
read back on the trusted side as observations (GraphObservation, ModelObservation) by MicrogradSubmission,
the Submission every micrograd and notebook suite's test gets (grading_tests/conftest.py). The grader's core
(autograder/core/suite.py) knows none of it: a course's suites bring their own questions and their own words.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from autograder.boundary.sandbox import Reply
from autograder.core.suite import Mistake, Submission, indices, number, numbers, wrong_shape

REVISITS = "walk-revisits"  # a time-out of a walk that, on a small diamond ladder, visits a node twice


def diamond_ladder(levels: int, start: float = 0.7) -> dict:
    """v = v*0.5 + v*0.5, `levels` times: 2**levels paths from the output back to the input."""
    ops = []
    for level in range(levels):
        v = 0 if level == 0 else 3 * level
        ops += [["mul", v, {"c": 0.5}], ["mul", v, {"c": 0.5}], ["add", 3 * level + 1, 3 * level + 2]]
    return {"leaves": [start], "ops": ops}


# After a backward() timed out: does it, on this small ladder, visit a node again? A walk with a
# visited set goes into each node once; one without goes into the input 2**10 times.
REVISIT_LADDER = 10
REVISIT_BUDGET = 16  # times one node's children may be walked before that counts as revisiting


def _walks(probe: str, args: dict) -> bool:
    """Whether the call runs backward() on the submission's graphs (a model's training does too)."""
    if probe == "model":
        return True
    items = args.get("items", []) if probe == "graphs" else [args] if probe == "graph" else []
    return any(step[0] == "backward" for item in items for step in item.get("steps") or [["backward"]])


OTHER_VALUE_CHILD, NOT_A_VALUE_CHILD = -1, -2  # in GraphObservation.prev: a Value made on the way; not a Value


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
    n_parameters_again: int = -1  # what a second call of parameters() returned
    same_again: bool = True  # whether that second call listed the same objects in the same order


def _list(value: Any, doing: str) -> list:
    if not isinstance(value, list):
        raise wrong_shape(doing)
    return value


def _neurons(value: Any) -> list[list[Any]]:
    """(nin, nonlin) pairs: nin a whole number or None, nonlin a bool or None."""
    pairs = _list(value, "neurons")
    if not all(isinstance(p, list) and len(p) == 2 and (p[0] is None or type(p[0]) is int)
               and (p[1] is None or type(p[1]) is bool) for p in pairs):
        raise wrong_shape("neurons")
    return pairs


def _snapshot(value: Any) -> dict[str, list[float]]:
    if not isinstance(value, dict):
        raise wrong_shape("snapshot")
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
        raise wrong_shape(doing)
    prev = [indices(p, "prev") for p in prev]
    if calls is not None:
        if not isinstance(calls, list):
            raise wrong_shape(doing)
        calls = [indices(step, "calls") for step in calls]
    return GraphObservation(data, grad, prev, calls)


@dataclass(eq=False)
class MicrogradSubmission(Submission):
    """A submission asked about its Values and MLPs (the probes of grading_tests/probes/)."""

    @classmethod
    def of(cls, submission: Submission) -> MicrogradSubmission:
        if isinstance(submission, cls):
            return submission
        return cls(**{f.name: getattr(submission, f.name) for f in fields(submission)})

    def isolated(self, mode: str) -> MicrogradSubmission:
        return MicrogradSubmission.of(super().isolated(mode))

    def explain_timeout(self, probe: str, args: dict[str, Any], reply: Reply, doing: str) -> Mistake | None:
        """A backward() that timed out: whether, on a small diamond ladder, it visits a node again (a walk
        without a visited set), said in its own numbers."""
        found = self.revisits() if _walks(probe, args) else None
        if found is None:
            return None
        return Mistake(REVISITS, f"{doing} did not finish ({reply.detail}). On a {found['levels']}-level diamond "
                       f"ladder (v = v*0.5 + v*0.5 at each level) your backward() {found['seen']}: a walk "
                       "without a visited set goes down every path, and a deep graph with shared nodes has "
                       "too many", ("timeout",))

    def revisits(self) -> dict | None:
        """Whether backward() visits a node twice on a small diamond ladder (asked after a time-out, with
        a time budget of its own, once per submission and mode): {"levels": ..., "seen": what it did}, or
        None when it does not, or when that could not be found out."""
        if "revisits" not in self._found:
            self._found["revisits"] = self._revisits()
        return self._found["revisits"]

    def _revisits(self) -> dict | None:
        self.worker.start_test()
        reply = self.worker.call("revisits", graph=diamond_ladder(REVISIT_LADDER), budget=REVISIT_BUDGET,
                                 **self.graph_options)
        value = reply.value if reply.ok and isinstance(reply.value, dict) else {}
        if len(value) != 1 or not all(what in ("backward", "children") and type(count) is int
                                      for what, count in value.items()):
            return None
        [(what, count)] = value.items()
        seen = (f"ran one node's _backward {count} times" if what == "backward" else
                f"went into one node's children {count} times (the grader stopped it there)")
        return {"levels": REVISIT_LADDER, "seen": seen}

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
            raise wrong_shape(doing)
        found = [_graph_observation(g, r, doing) for g, r in zip(graphs, results, strict=True)]
        if record_calls and any(o.calls is None for o in found):  # asked for, never left out by the probe
            raise wrong_shape(doing)
        return found

    def calls(self, graphs: list[dict], *, doing: str) -> list[list[list[int]]]:
        """Per graph, the nodes whose _backward ran during backward() from its last node, in order
        (as GraphObservation.calls: one list per backward step), without the nodes' values."""
        items = [{"graph": g, "steps": [["backward", _size(g) - 1]], "record_calls": True, "calls_only": True,
                  **self.graph_options} for g in graphs]
        results = self.ask(doing, "graphs", items=items).get("results")
        if not isinstance(results, list) or len(results) != len(graphs):
            raise wrong_shape(doing)
        found = []
        for result in results:
            calls = result.get("calls") if isinstance(result, dict) else None
            if not isinstance(calls, list) or len(calls) != 1:
                raise wrong_shape(doing)
            found.append([indices(calls[0], "calls")])
        return found

    def model(self, cls: str, args: list, *, seed: int = 0, params: list[float] | None = None,
              steps: list | None = None, kwargs: dict | None = None,
              doing: str = "building the model") -> ModelObservation:
        value = self.ask(doing, "model", cls=cls, args=args, seed=seed, params=params, steps=steps or [],
                         kwargs=kwargs or {})
        forward = value.get("forward")
        if not isinstance(forward, list) or not all(isinstance(batch, list) for batch in forward):
            raise wrong_shape(doing)
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
            n_parameters_again=int(number(value.get("n_parameters_again", -1), "n_parameters_again")),
            same_again=value.get("same_again") is not False,
        )

    def api(self, names: list[str], *, doing: str = "inspecting Value") -> dict[str, bool]:
        value = self.ask(doing, "api", names=names)
        return {name: value.get(name) is True for name in names}


def notebook_call(submission: Submission, module: str, function: str, *args: Any) -> float | list[float]:
    """module.function(*args) of a notebook's answers, in the sandbox (grading_tests/probes/notebook_probes.py);
    {"poly": [...]} arguments stand for polynomials."""
    value = submission.ask(f"calling {function}", "nb_call", module=module, function=function,
                           args=list(args)).get("value")
    return numbers(value, f"{function}(...)") if isinstance(value, list) else number(value, f"{function}(...)")
