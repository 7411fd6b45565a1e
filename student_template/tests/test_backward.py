"""Part 2: backward() seeds the output with 1 and runs every node's _backward; gradients add up."""

import pytest
from micrograd.engine import Value


def test_backward_seeds_the_output_with_one():
    x = Value(3.0)
    y = x * 1.0
    y.backward()
    assert y.grad == 1.0, "backward() must start by setting self.grad to 1 (dy/dy = 1)"
    assert x.grad == 1.0


def test_tanh_neuron_from_the_lecture():
    x1, x2 = Value(2.0, label='x1'), Value(0.0, label='x2')
    w1, w2 = Value(-3.0, label='w1'), Value(1.0, label='w2')
    b = Value(6.8813735870195432, label='b')
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    assert o.data == pytest.approx(0.7071, abs=1e-4)
    assert [x1.grad, w1.grad, x2.grad, w2.grad] == pytest.approx([-1.5, 1.0, 0.5, 0.0])


def test_a_plus_a():
    # The lecture's bug: with `=` instead of `+=` the second use of a overwrites the first.
    a = Value(3.0)
    b = a + a
    b.backward()
    assert a.grad == 2.0, "a is used twice, so its gradient is 1 + 1 = 2: accumulate with +="


def test_long_expression_from_the_lecture():
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert g.data == pytest.approx(24.7041, abs=1e-4)
    assert a.grad == pytest.approx(138.8338, abs=1e-4), "dg/da"
    assert b.grad == pytest.approx(645.5773, abs=1e-4), "dg/db"


def test_matches_a_numerical_derivative():
    # The lecture's check: nudge an input by h and see how much the output moves.
    def f(a, b):
        return (a * b - b / a + (a - 2.0) ** 2).exp() * 0.1 + (a * 3.0 - b).tanh()

    a, b = Value(1.2), Value(-0.7)
    f(a, b).backward()
    h = 1e-6
    da = (f(Value(1.2 + h), b).data - f(Value(1.2 - h), b).data) / (2 * h)
    db = (f(a, Value(-0.7 + h)).data - f(a, Value(-0.7 - h)).data) / (2 * h)
    assert a.grad == pytest.approx(da, rel=1e-5)
    assert b.grad == pytest.approx(db, rel=1e-5)


def test_two_backward_calls_add_up():
    # Like PyTorch's .grad: a second backward() adds to the inputs' (leaves') gradients again, hence
    # zero_grad. Only leaves are checked: what a second backward() leaves in intermediate nodes' .grad
    # is not graded.
    x, w = Value(0.5), Value(-2.0)
    y = x * w
    y.backward()
    assert (x.grad, w.grad) == (pytest.approx(-2.0), pytest.approx(0.5))
    y.backward()
    assert (x.grad, w.grad) == (pytest.approx(-4.0), pytest.approx(1.0)), \
        "the second backward() adds the same gradients again"
