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

from autograder.boundary.sandbox import MAX_OUTPUT_BYTES, TEXT_REFUSED, Reply, StudentError, Worker


class Mistake(AssertionError):
    """A hidden test failed. `feedback` is shown to the student: never put expected values in it.
    `picture`: Graphviz DOT source drawn from the student's observations only, or "": the grader
    renders it to SVG for the verdict (autograder.outcome.pictures)."""

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


def describe_failure(reply: Reply, doing: str, timed_out: Mistake | None = None) -> Mistake:
    """The Mistake for a call that did not return normally. `timed_out`: the suite's own account of this
    time-out (Submission.explain_timeout), used when the grader knows nothing more telling."""
    if reply.status == "garbled":
        return Mistake("malformed" if reply.detail == TEXT_REFUSED else "crash", f"{doing}: {reply.detail}",
                       ("tamper",))
    named = _failure_evidence(reply, doing)
    if named is not None:
        return named
    importing = f" while importing your {reply.importing}" if reply.importing else ""
    if reply.status == "timeout" and timed_out is not None:
        return timed_out
    if reply.status == "timeout":
        return Mistake("timeout", f"{doing} did not finish{importing}: {reply.detail}", ("timeout",))
    if reply.status == "died":
        return Mistake("crash", f"{doing} stopped the worker{importing}: {reply.detail}", ("crash",))
    error = reply.error
    assert error is not None, reply.status  # a call that ended in neither a time-out nor a death raised
    # A worker holding reference code withholds most messages (boundary.sandbox.grader_written): say where to see it.
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


def number(value: Any, what: str) -> float:
    """A number the worker sent, as a float; anything else (a bool, a string, a list) is tampering."""
    if not isinstance(value, bool):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    raise Mistake("malformed", f"{what}: the worker sent something that is not a number", ("tamper",))


def wrong_shape(what: str) -> Mistake:
    """The Mistake of a worker answer that is not shaped as the probe answers (a probe replaced by student code)."""
    return Mistake("malformed", f"{what}: the worker's answer has the wrong shape", ("tamper",))


def numbers(values: Any, what: str, length: int | None = None) -> list[float]:
    if not isinstance(values, list) or (length is not None and len(values) != length):
        raise wrong_shape(what)
    return [number(v, what) for v in values]


def indices(values: Any, what: str) -> list[int]:
    """Node indices the worker sent (whole, finite numbers)."""
    found = numbers(values, what)
    if not all(math.isfinite(i) and i == int(i) for i in found):
        raise Mistake("malformed", f"{what}: the worker sent something that is not a node index", ("tamper",))
    return [int(i) for i in found]


@dataclass(eq=False)
class Submission:
    """A submission as the hidden tests see it: questions in, plain observations out.

    `mode` is the isolation mode of its worker ("own": the student's code as is); `isolated`
    gives the same submission in another mode (autograder/core/isolation.py)."""

    name: str
    worker: Worker
    mode: str = "own"
    graph_options: dict[str, Any] = field(default_factory=dict)  # sent with every graph (the mode's)
    isolate: Callable[[str], Submission] | None = None  # None: grade every part on the student's own code
    _found: dict[str, Any] = field(default_factory=dict)  # what a suite's follow-up probes found, per submission
    # The student files' text as staged (never run here): for feedback worded in the student's own code.
    sources: Mapping[str, str] = field(default_factory=dict)
    explain_with_own_code: bool = False  # the mode's (autograder.core.isolation.Mode.explain_with_own_code)

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
            timed_out = self.explain_timeout(probe, args, reply, doing) \
                if reply.status == "timeout" and not reply.importing else None
            raise self._located(describe_failure(reply, doing, timed_out))
        if not isinstance(reply.value, dict):
            raise Mistake("malformed", f"{doing}: the worker sent an unreadable answer", ("tamper",))
        return reply.value

    def explain_timeout(self, probe: str, args: dict[str, Any], reply: Reply, doing: str) -> Mistake | None:
        """A suite's own account of a call that timed out (a subclass may ask a follow-up probe); None: the
        grader's ("did not finish")."""
        return None

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

def close(observed: float, expected: float, *, rel: float = 1e-9, abs: float = 1e-9) -> bool:
    """math.isclose that also treats nan as never close (a student's nan is never right)."""
    return not math.isnan(observed) and math.isclose(observed, expected, rel_tol=rel, abs_tol=abs)
