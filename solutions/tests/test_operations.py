"""Part 1: each operation's _backward, checked on its own (no backward() needed yet).

Each test builds one operation, pretends the gradient flowing into its output is `upstream`,
calls the output's _backward() once and looks at the inputs' gradients.
"""

import math

import pytest
from micrograd.engine import Value

upstream = 2.0  # not 1.0, so forgetting to multiply by out.grad shows up


def run_backward(out):
    out.grad = upstream
    out._backward()


def test_add():
    a, b = Value(2.0), Value(-3.0)
    run_backward(a + b)
    assert (a.grad, b.grad) == (pytest.approx(2.0), pytest.approx(2.0)), "d(a+b)/da = d(a+b)/db = 1, times out.grad"


def test_mul():
    a, b = Value(2.0), Value(-3.0)
    run_backward(a * b)
    assert a.grad == pytest.approx(-6.0), "d(a*b)/da is b, times out.grad"
    assert b.grad == pytest.approx(4.0), "d(a*b)/db is a, times out.grad"


@pytest.mark.parametrize("n", [2, 3, -1, 0.5])
def test_pow(n):
    x = Value(1.5)
    run_backward(x**n)
    assert x.grad == pytest.approx(n * 1.5 ** (n - 1) * upstream), "d(x**n)/dx = n * x**(n-1), times out.grad"


def test_tanh():
    x = Value(0.5)
    run_backward(x.tanh())
    assert x.grad == pytest.approx((1 - math.tanh(0.5) ** 2) * upstream), "d tanh(x)/dx = 1 - tanh(x)**2"


@pytest.mark.parametrize("x, slope", [(3.0, 1.0), (-3.0, 0.0)])
def test_relu(x, slope):
    v = Value(x)
    run_backward(v.relu())
    assert v.grad == pytest.approx(slope * upstream), "relu passes the gradient where its output is positive, else 0"


def test_exp():
    x = Value(0.7)
    run_backward(x.exp())
    assert x.grad == pytest.approx(math.exp(0.7) * upstream), "d exp(x)/dx = exp(x)"


EARLIER = 1.0  # a gradient an input already holds from another use of it


@pytest.mark.parametrize("op", ["add", "mul", "pow", "tanh", "relu", "exp"])
def test_backward_adds_to_a_gradient_the_input_already_has(op):
    # An input used elsewhere already holds a gradient: each _backward must add to it (+=), never replace it (=).
    a, b = Value(1.5), Value(-2.0)
    out = {"add": lambda: a + b, "mul": lambda: a * b, "pow": lambda: a**2, "tanh": a.tanh, "relu": a.relu,
           "exp": a.exp}[op]()
    run_backward(out)
    fresh = [a.grad, b.grad]
    a.grad, b.grad = EARLIER, EARLIER
    run_backward(out)
    assert [a.grad, b.grad] == pytest.approx([g + EARLIER for g in fresh]), f"use += in {op}'s _backward"


def test_same_value_on_both_sides_accumulates():
    # a + a uses a twice: both contributions must add up (+=), not overwrite each other (=).
    a = Value(3.0)
    run_backward(a + a)
    assert a.grad == pytest.approx(2 * upstream), "use += in _backward: a + a must give a.grad = 2 * out.grad"
    a.grad = 0.0
    run_backward(a * a)
    assert a.grad == pytest.approx(2 * 3.0 * upstream), "use += in _backward: a * a must give a.grad = 2a * out.grad"
