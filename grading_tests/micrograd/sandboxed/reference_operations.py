"""Reference forward values and local derivatives, for the worker that grades backward() and the
topological sort on them (isolation mode "reference_derivatives", grading_tests/micrograd/isolation.py).

Runs inside the sandboxed worker (standard library only), and is copied into that worker alone:
the worker that grades the operations never holds it. The trusted side's table
(grading_tests/micrograd/operations.py) defines the same operations; a test proves they agree.
"""

import math

# name: (forward(*operands, *parameters), local derivative with respect to each Value operand,
#        given (*operands, *parameters, output))
REFERENCE = {
    "add": (lambda a, b: a + b, lambda a, b, out: (1.0, 1.0)),
    "sub": (lambda a, b: a - b, lambda a, b, out: (1.0, -1.0)),
    "mul": (lambda a, b: a * b, lambda a, b, out: (b, a)),
    "truediv": (lambda a, b: a / b, lambda a, b, out: (1 / b, -a / b ** 2)),
    "neg": (lambda a: -a, lambda a, out: (-1.0,)),
    "pow": (lambda a, n: a ** n, lambda a, n, out: (n * a ** (n - 1),)),
    "tanh": (math.tanh, lambda a, out: (1 - out ** 2,)),
    "relu": (lambda a: max(a, 0.0), lambda a, out: (float(out > 0),)),
    "exp": (math.exp, lambda a, out: (out,)),
}


def backward_of(name, inputs, values, parameters, out, out_data):
    """A _backward for `out`: inputs[i] (a Value, or None for a plain number) receives
    local derivative * out.grad, accumulated with +=."""
    locals_ = REFERENCE[name][1](*values, *parameters, out_data)

    def _backward():
        for node, local in zip(inputs, locals_, strict=True):
            if node is not None:
                node.grad += local * out.grad
    return _backward
