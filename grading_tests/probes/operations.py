"""The graph description's operations, as every worker applies them to the student's Values.

Runs inside the sandboxed worker (standard library only). An op is ["name", operand, ...]:
its first VALUE_OPERANDS[name] operands are node indices or {"c": number} (a plain Python
number, which also exercises the reflected operators); the rest are parameters (pow's exponent).
The trusted side's table (grading_tests/micrograd/operations.py) defines the same names; a test
proves they agree. Local derivatives are NOT here: this folder is in every worker, and
reference derivatives may only reach the worker that grades backward() on them.
"""

import operator

# name: (how many operands are Values or plain numbers, how the student's code computes it)
APPLY = {
    "add": (2, operator.add),
    "sub": (2, operator.sub),
    "mul": (2, operator.mul),
    "truediv": (2, operator.truediv),
    "neg": (1, operator.neg),
    "pow": (1, operator.pow),
    "tanh": (1, lambda v: v.tanh()),
    "relu": (1, lambda v: v.relu()),
    "exp": (1, lambda v: v.exp()),
}


def operands(op):
    """(the refs that are Values or numbers, the parameters) of an op ["name", ref, ...]."""
    name, *refs = op
    count = APPLY[name][0]
    return refs[:count], refs[count:]
