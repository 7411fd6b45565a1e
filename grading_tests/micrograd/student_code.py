"""The student's own code, read (never run) in the trusted process, to word feedback in their terms.

The text comes from Submission.sources (each student file as staged, before any code ran). Nothing
here decides a verdict: the tests localise a mistake from what the worker observed; this module
finds the student's lines for the function they localised ("your mul's _backward, engine.py line 31:
`self.grad += other.data * out.data`") and tells whether a known pitfall's wording agrees with them.
A file that does not parse, or a method that is not where the lecture puts it, gives no lines: the
feedback then says what was observed and nothing about the code.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass

ENGINE = "micrograd/engine.py"
NN = "micrograd/nn.py"
MAX_LINE_CHARS = 120
# The Value method that builds each operation's output, for the operations a student writes.
METHOD = {"add": "__add__", "mul": "__mul__", "pow": "__pow__", "tanh": "tanh", "relu": "relu", "exp": "exp",
          "neg": "__neg__", "sub": "__sub__", "truediv": "__truediv__", "radd": "__radd__", "rmul": "__rmul__",
          "rsub": "__rsub__", "rtruediv": "__rtruediv__"}
INPUT_NAMES = ("self", "other")  # the lecture's names of an operation's first and second input


@dataclass(frozen=True)
class Line:
    file: str
    number: int
    text: str

    def __str__(self) -> str:
        return f"{self.file.rsplit('/', 1)[-1]} line {self.number}: `{self.text}`"


@dataclass(frozen=True)
class GradWrite:
    """One statement of a _backward that writes into an input's .grad."""

    target: str  # the name whose .grad is written (self, other, or the student's own name)
    accumulates: bool  # `+=` (or `x.grad = x.grad + ...`)
    uses_upstream: bool  # the right-hand side reads some `.grad` (out.grad, in the lecture)
    line: Line


class StudentCode:
    """One submission's engine.py, parsed; empty when it is missing or does not parse."""

    def __init__(self, sources: Mapping[str, str], file: str = ENGINE):
        self.file = file
        text = sources.get(file, "")
        self._lines = text.splitlines()
        try:
            self._tree: ast.Module | None = ast.parse(text) if text else None
        except (SyntaxError, ValueError):
            self._tree = None

    def tree_body(self) -> list[ast.stmt]:
        """The module's top-level statements (none when it did not parse)."""
        return list(self._tree.body) if self._tree else []

    def line(self, node: ast.AST) -> Line:
        number = getattr(node, "lineno", 0)
        text = self._lines[number - 1].strip() if 0 < number <= len(self._lines) else ""
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS - 3] + "..."
        return Line(self.file, number, text)

    def method(self, name: str, cls: str = "Value") -> ast.FunctionDef | None:
        """The last definition of `cls.name` (a later one replaces an earlier one, as Python does)."""
        found = None
        for node in ast.walk(self._tree) if self._tree else ():
            if isinstance(node, ast.ClassDef) and node.name == cls:
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == name:
                        found = item
        return found

    def operation(self, op: str) -> ast.FunctionDef | None:
        return self.method(METHOD[op]) if op in METHOD else None

    def backward_closure(self, op: str) -> ast.FunctionDef | ast.Lambda | None:
        """The function the operation's method attaches as its output's _backward (a nested def, or a
        lambda); failing an attachment, a nested def named _backward."""
        method = self.operation(op)
        if method is None:
            return None
        nested = {node.name: node for node in ast.walk(method) if isinstance(node, ast.FunctionDef)
                  and node is not method}
        for node in ast.walk(method):
            if isinstance(node, ast.Assign) and any(_is_attribute(t, "_backward") for t in node.targets):
                if isinstance(node.value, ast.Lambda):
                    return node.value
                if isinstance(node.value, ast.Name) and node.value.id in nested:
                    return nested[node.value.id]
        return nested.get("_backward")

    def equality_by_value(self) -> list[Line]:
        """Value's own __eq__ / __hash__ where they read .data (two distinct nodes with equal data are then one in
        a set or a dict), quoted; [] when Value compares by identity, as Python's default does."""
        found = []
        for name in ("__eq__", "__hash__"):
            method = self.method(name)
            if method is not None and any(_is_attribute(node, "data") for node in ast.walk(method)):
                returns = [self.line(node) for node in ast.walk(method) if isinstance(node, ast.Return)]
                found.append(returns[0] if returns else self.line(method))
        return found

    def backward_lines(self, op: str) -> list[Line]:
        """Every statement of the operation's _backward, in order (a lambda's body as one line), docstring apart."""
        closure = self.backward_closure(op)
        if closure is None:
            return []
        if isinstance(closure, ast.Lambda):
            return [self.line(closure.body)]
        return [self.line(node) for node in ast.walk(closure) if isinstance(node, ast.stmt) and node is not closure
                and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]

    def builds_output(self, op: str) -> bool:
        """Whether the method builds its result itself, as `Value(data, children, ...)` (not from other operations)."""
        method = self.operation(op)
        return method is not None and any(
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Value"
            and (len(node.args) >= 2 or any(k.arg in ("_children", "children") for k in node.keywords))
            for node in ast.walk(method))

    def attaches_backward(self, op: str) -> bool | None:
        """Whether the method assigns anything to some `<node>._backward` (None: method not found)."""
        method = self.operation(op)
        if method is None:
            return None
        return any(isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
            _is_attribute(t, "_backward") for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))
            or (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr")
            for node in ast.walk(method))

    def grad_writes(self, op: str) -> list[GradWrite]:
        """The statements of the operation's _backward that write into some `<name>.grad`."""
        closure = self.backward_closure(op)
        if closure is None:
            return []
        writes = []
        for node in ast.walk(closure):
            if isinstance(node, ast.AugAssign) and _is_attribute(node.target, "grad"):
                writes.append(GradWrite(_owner(node.target), isinstance(node.op, ast.Add),
                                        _reads_grad(node.value), self.line(node)))
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if _is_attribute(target, "grad"):
                        # `x.grad = x.grad + ...` accumulates too
                        accumulates = any(_same(target, n) for n in ast.walk(node.value))
                        upstream = _reads_grad(node.value, besides=target)
                        writes.append(GradWrite(_owner(target), accumulates, upstream, self.line(node)))
        return writes

    def output_line(self, op: str) -> Line | None:
        """The line of the method that builds its output (the first `Value(...)` call with children), or its
        return statement."""
        method = self.operation(op)
        if method is None:
            return None
        for node in ast.walk(method):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Value" and (
                    len(node.args) >= 2 or any(k.arg in ("_children", "children") for k in node.keywords)):
                return self.line(node)
        returns = [node for node in ast.walk(method) if isinstance(node, ast.Return) and node.value is not None]
        return self.line(returns[0]) if returns else None


def _is_attribute(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == name


def _owner(target: ast.Attribute) -> str:
    return ast.unparse(target.value)


def _same(a: ast.AST, b: ast.AST) -> bool:
    return isinstance(b, ast.Attribute) and ast.dump(a, annotate_fields=False) == ast.dump(
        ast.Attribute(b.value, b.attr, ast.Store()), annotate_fields=False)


def _reads_grad(value: ast.AST, besides: ast.AST | None = None) -> bool:
    return any(_is_attribute(node, "grad") and not (besides is not None and _same(besides, node))
               for node in ast.walk(value))


def shown_lines(lines: list[Line], what: str) -> str:
    """'Your add's _backward:\\n  engine.py line 21: `self.grad = out.grad`' (empty when no lines)."""
    if not lines:
        return ""
    return f"{what}:\n" + "\n".join(f"  {line}" for line in lines)


def _assigns_grad(node: ast.AST, value: float) -> bool:
    """`<x>.grad = <value>` (or `+= <value>`), the value a number literal."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []
    return any(_is_attribute(t, "grad") for t in targets) and isinstance(node.value, ast.Constant) \
        and isinstance(node.value.value, (int, float)) and node.value.value == value


class BackwardCode:
    """What the student's Value.backward (with the functions nested in it) does, read from its statements."""

    def __init__(self, code: StudentCode):
        self.code = code
        self.method = code.method("backward")

    def has_visited_set(self) -> bool:
        """Something is added to (`.add(...)`) and tested for membership (`in`/`not in`): a visited set."""
        if self.method is None:
            return False
        nodes = list(ast.walk(self.method))
        adds = any(isinstance(n, ast.Call) and _is_attribute(n.func, "add") for n in nodes)
        tests = any(isinstance(n, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in n.ops)
                    for n in nodes)
        return adds and tests

    def seed_lines(self) -> list[Line]:
        """Statements that set some .grad to 1 (the seed)."""
        if self.method is None:
            return []
        return [self.code.line(n) for n in ast.walk(self.method) if _assigns_grad(n, 1)]

    def reset_lines(self) -> list[Line]:
        """Statements that set some .grad to 0."""
        if self.method is None:
            return []
        return [self.code.line(n) for n in ast.walk(self.method) if _assigns_grad(n, 0)]

    def walk_exits_early(self) -> bool:
        """A loop that calls some `_backward()` and holds a return or break: the walk can stop early."""
        if self.method is None:
            return False
        return any(isinstance(loop, (ast.For, ast.While))
                   and any(isinstance(n, ast.Call) and _is_attribute(n.func, "_backward") for n in ast.walk(loop))
                   and any(isinstance(n, (ast.Return, ast.Break)) for n in ast.walk(loop))
                   for loop in ast.walk(self.method))


class TrainingCode:
    """The order of a training loop's steps in the student's `train(model, ...)`, read from its statements:
    forward (calling the model), zero_grad, backward, the update of parameters' .data."""

    def __init__(self, code: StudentCode, name: str = "train"):
        self.code = code
        self.function = next((node for node in code.tree_body() if isinstance(node, ast.FunctionDef)
                              and node.name == name), None)

    def _steps(self, within: ast.AST) -> list[tuple[str, ast.AST]]:
        model = self.function.args.args[0].arg if self.function is not None and self.function.args.args else ""
        found = []
        for node in ast.walk(within):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == model:
                found.append(("forward", node))
            elif isinstance(node, ast.Call) and _is_attribute(node.func, "zero_grad"):
                found.append(("zero_grad", node))
            elif isinstance(node, ast.Call) and _is_attribute(node.func, "backward"):
                found.append(("backward", node))
            elif isinstance(node, (ast.Assign, ast.AugAssign)) and any(
                    _is_attribute(t, "data")
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target])):
                found.append(("update", node))
        return sorted(found, key=lambda step: (step[1].lineno, step[1].col_offset))

    def update(self) -> str:
        """The loop's update of a parameter's .data, quoted with its line (e.g. "nn.py line 80: `p.data += ...`"),
        or "" when there is none to quote."""
        if self.function is None:
            return ""
        updates = [node for kind, node in self._steps(self.function) if kind == "update"]
        return self.code.line(updates[0]) if updates else ""

    def mistake(self) -> str:
        """A sentence naming what the loop's order gets wrong, or "" when the order reads right (or is not found)."""
        if self.function is None:
            return ""
        loops = [node for node in ast.walk(self.function) if isinstance(node, (ast.For, ast.While))]
        if not loops:
            return ""
        inside = self._steps(loops[0])
        kinds = [kind for kind, _ in inside]
        first = {kind: i for i, kind in reversed(list(enumerate(kinds)))}
        outside = [node for kind, node in self._steps(self.function) if kind == "forward"
                   and not any(node is other for _, other in inside)]
        if "forward" not in first and outside:
            return (f"your train computes the predictions once, before its loop ({self.code.line(outside[0])}): "
                    "every step backpropagates the same graph, built from the first parameters; call the model "
                    "inside the loop, at every step")
        if {"zero_grad", "backward", "update"} <= first.keys() and first["backward"] < first["zero_grad"] < \
                first["update"]:
            line = self.code.line(inside[first["zero_grad"]][1])
            return (f"your train calls zero_grad() after loss.backward() and before the update ({line}): the update "
                    "then uses gradients of 0. Each step is: forward, zero_grad(), backward(), then the update")
        return ""
