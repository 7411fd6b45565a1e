"""What hidden tests use to question a submission and to fail with a diagnosis.

Hidden tests run in the trusted process. They never import the submission: they ask its
sandboxed worker through `Submission`, get back plain numbers, compare them with expectations
computed here, and fail by raising `Mistake` with feedback in the student's terms.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from autograder.sandbox import MAX_OUTPUT_BYTES, TEXT_REFUSED, Reply, StudentError, Worker


class Mistake(AssertionError):
    """A hidden test failed. `feedback` is shown to the student: never put expected values in it.
    `picture`: Graphviz DOT source drawn from the student's observations only, or "": the grader
    renders it to SVG for the verdict (autograder.pictures)."""

    def __init__(self, pitfall: str, feedback: str, flags: tuple[str, ...] = (), *, picture: str = "",
                 error: StudentError | None = None):
        super().__init__(feedback)
        self.pitfall = pitfall
        self.feedback = feedback
        self.flags = flags
        self.picture = picture
        self.error = error  # the exception the student's code raised, when that is the failure


# The pitfalls describe_failure and the answer checks below name: things that went wrong while
# running the code (with a short name each, for the class report), not misconceptions.
FAILURES: dict[str, str] = {
    "timeout": "timed out", "crash": "crashed the worker", "forbidden-import": "forbidden import",
    "missing-file": "missing file", "not-implemented": "not implemented", "syntax-error": "syntax error",
    "recursion": "recursion too deep", "memory": "memory limit", "error": "raised an exception",
    "malformed": "malformed answer", "output-flood": "output limit", "exit": "exited the process",
    "exit-at-import": "exited while imported", "recursion-at-import": "recursion at import",
}
DEFAULT_RECURSION_LIMIT = 1000  # Python's, which the worker keeps
NEAR_MEMORY_LIMIT = 0.75  # a time-out after holding this share of the memory limit is named as memory
REVISITS = "walk-revisits"  # a time-out of a walk that, on a small diamond ladder, visits a node twice


def _exit_call(error: StudentError) -> str:
    """sys.exit(3), with the status when it is a small number (a text would be quoted from the worker)."""
    return f"sys.exit({error.message})" if re.fullmatch(r"-?\d{1,3}", error.message) else "sys.exit(...)"


def _failure_evidence(reply: Reply, doing: str) -> Mistake | None:
    """A failure named for what the grader knows happened (output cap, memory limit, an exit or a
    recursion at import, a crash after the recursion limit was raised), or None."""
    error = reply.error if reply.status == "error" else None
    file = reply.importing
    # Numbers and text the submission chose are not quoted (they would be a channel out of a worker
    # that holds reference code): the words say that the limit was raised, not to what.
    raised = "your code raised the recursion limit" if reply.recursion_limit > DEFAULT_RECURSION_LIMIT else ""
    if reply.output_full and (reply.status in ("died", "timeout") or (error is not None and (
            error.type == "OSError" and (error.withheld or error.message.startswith("[Errno 27]"))))):
        at = f" while your {file} was being imported" if file else ""
        return Mistake("output-flood", f"{doing}: your code printed more than {MAX_OUTPUT_BYTES >> 20} MiB of output "
                       f"(the most a submission may print){at} and was stopped", ("output_flood",))
    limit = f"your code used more than the {reply.memory_limit_mb} MB of memory a submission may use"
    if error is not None and error.type == "MemoryError":
        where = f" ({error.where})" if error.where else ""
        return Mistake("memory", f"{doing}: {limit}{where}", ("memory",))
    if file and error is not None and error.type == "SystemExit":
        return Mistake("exit-at-import", f"your {file} called {_exit_call(error)} (raised SystemExit) while "
                       f"being imported ({error.where}), so nothing in it could be tested", ("exit_at_import",))
    if file and reply.exit_status is not None:
        return Mistake("exit-at-import", f"your {file} ended the process (os._exit({reply.exit_status})?) while "
                       "being imported, so nothing in it could be tested", ("exit_at_import",))
    if file and ((error is not None and error.type == "RecursionError") or (raised and reply.status != "error")):
        what = {"error": f"raised RecursionError ({error.where})" if error else "",
                "died": f"crashed ({reply.detail}): probably a recursion too deep, since {raised}",
                "timeout": f"did not finish ({reply.detail}): probably a recursion that does not end, since "
                           f"{raised}"}[reply.status]
        return Mistake("recursion-at-import", f"importing your {file} {what}; its module-level code runs "
                       "whenever the grader imports it", ("recursion_at_import",))
    if reply.status == "timeout" and reply.memory_mb >= NEAR_MEMORY_LIMIT * reply.memory_limit_mb > 0:
        return Mistake("memory", f"{doing} did not finish within the time limit ({reply.detail}) with the memory "
                       f"it held close to the {reply.memory_limit_mb} MB a submission may use", ("memory",))
    if raised and reply.signal == "SIGSEGV":
        return Mistake("crash", f"{doing} crashed ({reply.detail}): probably recursion too deep ({raised} "
                       "beyond what the C stack holds)", ("crash",))
    if error is not None and error.type == "SystemExit":
        return Mistake("exit", f"{doing}: your code called {_exit_call(error)} (raised SystemExit, "
                       f"{error.where}); code meant to be imported should raise an exception instead")
    return None


def describe_failure(reply: Reply, doing: str, revisits: dict | None = None) -> Mistake:
    """The Mistake for a call that did not return normally. `revisits`: for a backward() that timed
    out, what the follow-up probe saw on a small diamond ladder (Submission.revisits)."""
    if reply.status == "garbled":
        return Mistake("malformed" if reply.detail == TEXT_REFUSED else "crash", f"{doing}: {reply.detail}",
                       ("tamper",))
    named = _failure_evidence(reply, doing)
    if named is not None:
        return named
    importing = f" while importing your {reply.importing}" if reply.importing else ""
    if reply.status == "timeout" and revisits:
        return Mistake(REVISITS, f"{doing} did not finish ({reply.detail}). On a {revisits['levels']}-level diamond "
                       f"ladder (v = v*0.5 + v*0.5 at each level) your backward() {revisits['seen']}: a walk "
                       "without a visited set goes down every path, and a deep graph with shared nodes has "
                       "too many", ("timeout",))
    if reply.status == "timeout":
        return Mistake("timeout", f"{doing} did not finish{importing}: {reply.detail}", ("timeout",))
    if reply.status == "died":
        return Mistake("crash", f"{doing} stopped the worker{importing}: {reply.detail}", ("crash",))
    error = reply.error
    assert error is not None, reply.status  # a call that ended in neither a time-out nor a death raised
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
        deeper = (f"more than {DEFAULT_RECURSION_LIMIT} calls deep" if reply.recursion_limit <= DEFAULT_RECURSION_LIMIT
                  else "deeper than the recursion limit it set")
        return Mistake("recursion", f"{doing} raised RecursionError ({error.where}): your code called itself "
                       f"{deeper} (a recursion that does not end, or a recursive walk of a graph deeper than that)")
    return Mistake("error", f"{doing} raised {error}{see}", error=error)


_WHERE = re.compile(r"([\w.-]+(?:/[\w.-]+)*) line ([0-9]{1,6})")
MAX_QUOTED_CHARS = 120


def enclosing_function(source: str, line: int) -> tuple[str, str]:
    """("Class.method" or "function" or "", the line's text) for a line of a student's file (parsed, never run)."""
    lines = source.splitlines()
    if not 0 < line <= len(lines):
        return "", ""
    text = lines[line - 1].strip()
    text = text if len(text) <= MAX_QUOTED_CHARS else text[:MAX_QUOTED_CHARS - 3] + "..."
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return "", text
    found = ""

    def visit(node: ast.AST, prefix: str) -> None:
        nonlocal found
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and \
                    child.lineno <= line <= (child.end_lineno or child.lineno):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    found = name
                visit(child, f"{name}.")

    visit(tree, "")
    return found, text


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
    _found: dict[str, Any] = field(default_factory=dict)  # what follow-up probes found (revisits)
    # The student files' text as staged (never run here): for feedback worded in the student's own code.
    sources: Mapping[str, str] = field(default_factory=dict)
    explain_with_own_code: bool = False  # the mode's (autograder.isolation.Mode.explain_with_own_code)

    def isolated(self, mode: str) -> Submission:
        """This submission with the parts a test does not grade replaced by reference behaviour;
        the own-mode submission itself when the course grades without isolation."""
        if self.isolate is None or mode == self.mode:
            return self
        return self.isolate(mode)

    def ask(self, doing: str, probe: str, **args: Any) -> dict:
        """Call a probe in the submission's sandboxed worker; a failure becomes the student's Mistake."""
        reply = self.worker.call(probe, **args)
        if reply.status == "error" and reply.error is not None and reply.error.withheld:
            reply = self._said_by_own_code(probe, args, reply)
        if not reply.ok:
            walked = reply.status == "timeout" and not reply.importing and _walks(probe, args)
            raise self._located(describe_failure(reply, doing, self.revisits() if walked else None))
        if not isinstance(reply.value, dict):
            raise Mistake("malformed", f"{doing}: the worker sent an unreadable answer", ("tamper",))
        return reply.value

    def _located(self, mistake: Mistake) -> Mistake:
        """An exception raised at a line of one of the student's own files (in this worker: not one replaced by
        reference code) says which of their functions raised it, quoting that line from the staged text."""
        error = mistake.error
        found = _WHERE.fullmatch(error.where) if error is not None else None
        if found is None or found[1] not in self.sources or found[1] in self.worker.replaced:
            return mistake
        function, text = enclosing_function(self.sources[found[1]], int(found[2]))
        if not text:
            return mistake
        inside = f"your {function}" if function else "your code"
        return Mistake(mistake.pitfall, f"{mistake.feedback}\nIt was raised in {inside} ({found[1].rsplit('/', 1)[-1]} "
                       f"line {found[2]}: `{text}`).", mistake.flags, picture=mistake.picture, error=error)

    def _said_by_own_code(self, probe: str, args: dict, reply: Reply) -> Reply:
        """A worker holding reference code withholds the student's exception messages: the same call on the
        student's own code (a worker without reference code), when it raises the same kind of exception, says
        what it was. Only for modes that say so (Mode.explain_with_own_code)."""
        if self.isolate is None or self.mode == "own" or not self.explain_with_own_code:
            return reply
        again = self.isolate("own").worker.call(probe, **args)
        if (again.status == "error" and again.error is not None and reply.error is not None
                and again.error.type == reply.error.type and not again.error.withheld):
            return again
        return reply

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
            n_parameters_again=int(number(value.get("n_parameters_again", -1), "n_parameters_again")),
            same_again=value.get("same_again") is not False,
        )

    def api(self, names: list[str], *, doing: str = "inspecting Value") -> dict[str, bool]:
        value = self.ask(doing, "api", names=names)
        return {name: value.get(name) is True for name in names}


def close(observed: float, expected: float, *, rel: float, abs: float) -> bool:
    """math.isclose that also treats nan as never close (a student's nan is never right)."""
    return not math.isnan(observed) and math.isclose(observed, expected, rel_tol=rel, abs_tol=abs)
