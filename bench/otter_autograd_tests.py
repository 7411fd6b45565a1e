"""Hidden tests of the otter version of the autograd notebook, one list per graded part.

The same checks as grading_tests/autograd/, written as an otter instructor would: expected values
from plain-float math and central differences instead of torch. bench/otter_peer.py puts each
function in a `# HIDDEN` test cell of its part. Otter runs a test function inside its own test file,
not in this module, and passes each parameter the student's notebook variable of that name: so every
function imports what it needs and defines its helpers inside itself.
"""


def test_each_operation_backward_accumulates(Value):
    import math

    checks = [  # (operation, build the output, input data, local derivative for each input)
        ("a + b", lambda a, b: a + b, (1.5, -2.0), (1.0, 1.0)),
        ("a * b", lambda a, b: a * b, (1.5, -2.0), (-2.0, 1.5)),
        ("a ** 3", lambda a: a**3, (1.5,), (3 * 1.5**2,)),
        ("tanh(a)", lambda a: a.tanh(), (0.7,), (1 - math.tanh(0.7) ** 2,)),
        ("exp(a)", lambda a: a.exp(), (0.3,), (math.exp(0.3),)),
        ("relu(a)", lambda a: a.relu(), (0.8,), (1.0,)),
    ]
    for what, build, data, local in checks:
        inputs = [Value(x) for x in data]
        out = build(*inputs)
        for node in inputs:
            node.grad = 0.25  # an earlier use's gradient, which _backward must keep
        out.grad = 1.0
        out._backward()
        for node, derivative in zip(inputs, local, strict=True):
            assert math.isclose(node.grad, 0.25 + derivative, rel_tol=1e-6, abs_tol=1e-9), (
                f"_backward of {what}: an input's gradient went from 0.25 to {node.grad:.6g}; "
                "it should grow by (local derivative) * out.grad, with +="
            )


def test_backward_visits_the_graph_in_topological_order(Value):
    import math

    def tanh(x):
        return x.tanh() if isinstance(x, Value) else math.tanh(x)

    def lecture(a, b, c, f):
        return (a * b + c) * f

    def chain(a, b):  # t is used twice: its _backward may run only after both uses
        t = tanh(a * b)
        return ((t + a) * t - 2.0) / b

    for what, function, data in (("(a*b + c) * f", lecture, (2.0, -3.0, 10.0, -2.0)),
                                 ("((t + a) * t - 2) / b with t = tanh(a*b)", chain, (0.5, -1.5))):
        leaves = [Value(x) for x in data]
        out = function(*leaves)
        out.backward()
        assert any(leaf.grad != 0.0 for leaf in leaves), "backward() must start with the output's gradient set to 1"
        assert math.isclose(out.data, function(*data), rel_tol=1e-9), f"{what}: the output's data is {out.data}"
        for i, leaf in enumerate(leaves):
            up, down = list(data), list(data)
            up[i] += 1e-6
            down[i] -= 1e-6
            slope = (function(*up) - function(*down)) / 2e-6
            assert math.isclose(leaf.grad, slope, rel_tol=1e-5, abs_tol=1e-8), (
                f"{what}: the gradient of input {i} is {leaf.grad:.6g}, the slope is {slope:.6g}")


def test_a_node_used_twice_gets_both_gradients(Value):
    import math

    for what, function, data, expected in (
        ("b = a + a", lambda a: a + a, (3.0,), (2.0,)),
        ("b = a * a", lambda a: a * a, (-1.5,), (-3.0,)),
        ("a used in two branches", lambda a, b: a * b + a, (0.5, 2.0), (3.0, 0.5)),
    ):
        leaves = [Value(x) for x in data]
        function(*leaves).backward()
        for leaf, grad in zip(leaves, expected, strict=True):
            assert math.isclose(leaf.grad, grad, rel_tol=1e-9), (
                f"{what}: a gradient is {leaf.grad:g} instead of {grad:g}; every use of a node adds its share (+=)")


def test_tanh_neuron(Value):
    import math

    data = (2.0, 0.0, -3.0, 1.0, 6.8813735870195432)  # x1, x2, w1, w2, b
    x1, x2, w1, w2, b = leaves = [Value(x) for x in data]
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    n = data[0] * data[2] + data[1] * data[3] + data[4]
    do_dn = 1 - math.tanh(n) ** 2
    expected = (do_dn * data[2], do_dn * data[3], do_dn * data[0], do_dn * data[1], do_dn)
    assert math.isclose(o.data, math.tanh(n), rel_tol=1e-9), f"o is {o.data}"
    for name, leaf, grad in zip(("x1", "x2", "w1", "w2", "b"), leaves, expected, strict=True):
        assert math.isclose(leaf.grad, grad, rel_tol=1e-6, abs_tol=1e-9), f"{name}.grad is {leaf.grad:.6g}"


HIDDEN = {
    "local_backward": [test_each_operation_backward_accumulates],
    "backward": [test_backward_visits_the_graph_in_topological_order],
    "reused_node": [test_a_node_used_twice_gets_both_gradients],
    "tanh_neuron": [test_tanh_neuron],
}
