"""The one table of the graph description's operations, for the trusted side.

A graph is {"leaves": [2.0, -3.0], "ops": [["mul", 0, 1], ["add", 2, {"c": 1.0}], ...]}: node i
is leaves[i], then one node per op. An op's first `values` operands are node indices or
{"c": number} (a plain Python number); the rest are parameters (pow's exponent). Each operation
is defined here once: its forward value, its local derivatives, its torch equivalent and how
feedback writes it. The worker has its own table (it cannot import the grader):
grading_tests/probes/operations.py (how the student's code computes it, in every worker) and
sandboxed/reference_operations.py (reference values and derivatives, in the reference_derivatives
worker only); tests/test_operations_table.py proves the tables agree. Adding an operation is one
entry here and one in each worker table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Operation:
    name: str
    values: int  # operands that are Values or plain numbers; the rest are parameters
    forward: Callable[..., float]  # (*operands, *parameters) on floats
    derivative: Callable[..., tuple[float, ...]]  # (*operands, *parameters, output) -> d output / d each operand
    torch: Callable[..., Any]  # (torch module, *operands, *parameters) -> tensor
    written: str  # feedback: "{0} + {1}" with operands named, "{p0}" the first parameter
    drawn: str  # the op node's label in a picture of the graph (the lecture's draw_dot shows `_op`)
    built_from: tuple[str, ...] = ()  # the lecture builds it from these operations (their _backward runs)


OPERATIONS: dict[str, Operation] = {op.name: op for op in (
    Operation("add", 2, lambda a, b: a + b, lambda a, b, out: (1.0, 1.0), lambda t, a, b: a + b, "{0} + {1}", "+"),
    Operation("mul", 2, lambda a, b: a * b, lambda a, b, out: (b, a), lambda t, a, b: a * b, "{0} * {1}", "*"),
    Operation("pow", 1, lambda a, n: a ** n, lambda a, n, out: (n * a ** (n - 1),), lambda t, a, n: a ** n,
              "{0} ** {p0}", "**"),
    Operation("tanh", 1, math.tanh, lambda a, out: (1 - out ** 2,), lambda t, a: t.tanh(a), "{0}.tanh()", "tanh"),
    Operation("relu", 1, lambda a: max(a, 0.0), lambda a, out: (float(out > 0),), lambda t, a: t.relu(a),
              "{0}.relu()", "ReLU"),
    Operation("exp", 1, math.exp, lambda a, out: (out,), lambda t, a: t.exp(a), "{0}.exp()", "exp"),
    Operation("sub", 2, lambda a, b: a - b, lambda a, b, out: (1.0, -1.0), lambda t, a, b: a - b, "{0} - {1}", "-",
              ("add", "mul")),
    Operation("truediv", 2, lambda a, b: a / b, lambda a, b, out: (1 / b, -a / b ** 2), lambda t, a, b: a / b,
              "{0} / {1}", "/", ("mul", "pow")),
    Operation("neg", 1, lambda a: -a, lambda a, out: (-1.0,), lambda t, a: -a, "-{0}", "neg", ("mul",)),
)}

# The operations whose _backward a student writes, and those the lecture builds from them.
LOCAL_OPS = tuple(name for name, op in OPERATIONS.items() if not op.built_from)
COMPOSITES = {name: op.built_from for name, op in OPERATIONS.items() if op.built_from}


def operands(op: list) -> tuple[list, list]:
    """(the refs that are node indices or {"c": number}, the parameters) of ["name", ref, ...]."""
    name, *refs = op
    count = OPERATIONS[name].values
    return refs[:count], refs[count:]


def inputs(op: list) -> list[int]:
    """The node indices an op reads (plain numbers are not nodes)."""
    return [r for r in operands(op)[0] if not isinstance(r, dict)]


def written(op: list, name: Callable[[Any], str]) -> str:
    """The op as the student would write it, with name(ref) for each operand: 'x0 * x1', 'v2 ** 3'."""
    refs, parameters = operands(op)
    return OPERATIONS[op[0]].written.format(*map(name, refs), **{f"p{i}": repr(p) for i, p in enumerate(parameters)})


def forward(op: list, value: Callable[[Any], float]) -> float:
    """The op's output, with value(ref) for each operand."""
    refs, parameters = operands(op)
    return OPERATIONS[op[0]].forward(*map(value, refs), *parameters)


def derivative(op: list, value: Callable[[Any], float], out: float) -> tuple[float, ...]:
    """d output / d each operand of the op (for plain numbers too: callers skip them)."""
    refs, parameters = operands(op)
    return OPERATIONS[op[0]].derivative(*map(value, refs), *parameters, out)
