"""The reference solution (solutions/micrograd) against the lecture, PyTorch and the API contract."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import textwrap

import pytest
import torch
from checkout import REPO_ROOT

SOLUTIONS = REPO_ROOT / "solutions"

XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
YS = [1.0, -1.0, -1.0, 1.0]


def long_expression(a, b):
    """The lecture's opening example; works on Values and on torch tensors alike."""
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    return g


def torch_leaves(*values: float) -> list[torch.Tensor]:
    return [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]


def run_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter (default recursion limit) that imports the reference."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=SOLUTIONS, env=env,
                          capture_output=True, text=True, timeout=120)


def test_long_expression_from_the_lecture(reference):
    Value = reference.engine.Value
    a, b = Value(-4.0), Value(2.0)
    g = long_expression(a, b)
    g.backward()
    assert round(g.data, 4) == 24.7041
    assert round(a.grad, 4) == 138.8338
    assert round(b.grad, 4) == 645.5773


def test_long_expression_matches_torch_twice(reference):
    # Two backward() calls accumulate into the leaves exactly like torch's .grad.
    a, b = reference.engine.Value(-4.0), reference.engine.Value(2.0)
    g = long_expression(a, b)
    ta, tb = torch_leaves(-4.0, 2.0)
    tg = long_expression(ta, tb)
    for _ in range(2):
        g.backward()
        tg.backward(retain_graph=True)
        assert g.data == pytest.approx(tg.item(), rel=1e-12)
        assert a.grad == pytest.approx(ta.grad.item(), rel=1e-12)
        assert b.grad == pytest.approx(tb.grad.item(), rel=1e-12)
    assert round(a.grad, 4) == round(2 * 138.8338, 4)


def test_tanh_neuron_from_the_lecture(reference):
    Value = reference.engine.Value
    x1, x2 = Value(2.0, label='x1'), Value(0.0, label='x2')
    w1, w2 = Value(-3.0, label='w1'), Value(1.0, label='w2')
    b = Value(6.8813735870195432, label='b')
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    assert round(o.data, 4) == 0.7071
    assert (x1.grad, w1.grad, x2.grad, w2.grad) == pytest.approx((-1.5, 1.0, 0.5, 0.0), abs=1e-12)
    assert o.grad == 1.0


def test_a_plus_a_accumulates(reference):
    a = reference.engine.Value(3.0)
    b = a + a
    b.backward()
    assert a.grad == 2.0


def test_two_backward_calls_on_a_shared_node_match_torch(reference):
    Value = reference.engine.Value
    x, w = Value(0.3), Value(-1.2)
    h = (x * w).tanh()
    y = h * h + h.exp() - x / w
    tx, tw = torch_leaves(0.3, -1.2)
    th = torch.tanh(tx * tw)
    ty = th * th + th.exp() - tx / tw
    for _ in range(2):
        y.backward()
        ty.backward(retain_graph=True)
        assert (x.grad, w.grad) == pytest.approx((tx.grad.item(), tw.grad.item()), rel=1e-12)


@pytest.mark.slow
def test_100000_deep_chain_under_the_default_recursion_limit():
    result = run_python("""
        import sys
        from micrograd.engine import Value
        assert sys.getrecursionlimit() <= 1000, sys.getrecursionlimit()
        x = Value(1.0)
        y = x
        for _ in range(100_000):
            y = y * 1.00001 + 0.5
        y.backward()
        print(repr(x.grad))
    """)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == pytest.approx(1.00001**100_000, rel=1e-9)


@pytest.mark.parametrize("x", [1e4, -1e4, 710.0, -800.0, 20.0])
def test_tanh_does_not_overflow(reference, x):
    v = reference.engine.Value(x)
    out = v.tanh()
    out.backward()
    assert out.data == math.tanh(x)
    assert v.grad == pytest.approx(0.0, abs=1e-15)


def test_value_api_contract(reference):
    Value = reference.engine.Value
    v = Value(2.0, label='v')
    assert (v.data, v.grad, v._prev, v._op, v.label) == (2.0, 0.0, set(), '', 'v')
    assert v._backward() is None
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    w = v * 3
    assert w._prev == {v, next(iter(w._prev - {v}))} and isinstance(w._prev, set)
    assert (v + 1)._op == '+' and w._op == '*' and (v**2)._op == '**2'
    assert v.tanh()._op == 'tanh' and v.exp()._op == 'exp'
    # Plain numbers on either side are wrapped in Values.
    results = [1 + v, v + 1, 5 - v, v - 5, 3 * v, v * 3, 8 / v, v / 8, -v, v**-2, v**0.5]
    expected = [3.0, 3.0, 3.0, -3.0, 6.0, 6.0, 4.0, 0.25, -2.0, 0.25, math.sqrt(2.0)]
    assert [r.data for r in results] == pytest.approx(expected)
    assert all(isinstance(r, Value) for r in results)


def test_mixed_operations_match_torch(reference):
    Value = reference.engine.Value
    a, b = Value(0.7), Value(-1.3)
    out = ((2 - a) * b / 3 + (a**3).relu() - (b / a).exp() + 1 / (a * b).tanh())
    out.backward()
    ta, tb = torch_leaves(0.7, -1.3)
    tout = (2 - ta) * tb / 3 + (ta**3).relu() - (tb / ta).exp() + 1 / (ta * tb).tanh()
    tout.backward()
    assert out.data == pytest.approx(tout.item(), rel=1e-12)
    assert (a.grad, b.grad) == pytest.approx((ta.grad.item(), tb.grad.item()), rel=1e-12)


def test_neuron(reference):
    nn = reference.nn
    random.seed(0)
    n = nn.Neuron(2)
    assert len(n.w) == 2 and all(-1 <= p.data <= 1 for p in n.parameters())
    assert n.parameters() == n.w + [n.b]
    n.w[0].data, n.w[1].data, n.b.data = -3.0, 1.0, 6.8813735870195432
    o = n([2.0, 0.0])
    assert round(o.data, 4) == 0.7071 and o._op == 'tanh'
    o.backward()
    assert (n.w[0].grad, n.w[1].grad, n.b.grad) == pytest.approx((1.0, 0.0, 0.5))
    linear = nn.Neuron(2, nonlin=False)
    linear.w[0].data, linear.w[1].data, linear.b.data = 2.0, 3.0, 4.0
    assert linear([1.0, -1.0]).data == pytest.approx(3.0)


def test_layer(reference):
    nn = reference.nn
    outputs = nn.Layer(3, 4)([1.0, 2.0, 3.0])
    assert len(outputs) == 4 and all(isinstance(o, reference.engine.Value) for o in outputs)
    assert isinstance(nn.Layer(3, 1)([1.0, 2.0, 3.0]), reference.engine.Value)
    assert not nn.Layer(2, 3, nonlin=False).neurons[0].nonlin


@pytest.mark.parametrize("nin, nouts, count", [(3, [4, 4, 1], 41), (2, [16, 16, 1], 337)])
def test_mlp_parameter_count(reference, nin, nouts, count):
    model = reference.nn.MLP(nin, nouts)
    assert len(model.parameters()) == count
    assert len({id(p) for p in model.parameters()}) == count
    assert all(neuron.nonlin for layer in model.layers for neuron in layer.neurons)


def test_parameters_order(reference):
    model = reference.nn.MLP(3, [4, 4, 1])
    expected = [p for layer in model.layers for neuron in layer.neurons for p in [*neuron.w, neuron.b]]
    assert [id(p) for p in model.parameters()] == [id(p) for p in expected]
    assert [id(p) for p in model.layers[1].parameters()] == [id(p) for p in expected[16:36]]


def test_zero_grad(reference):
    model = reference.nn.MLP(3, [4, 1])
    sum(model(x) for x in XS).backward()
    assert any(p.grad for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_training_loop_lowers_the_loss(reference):
    random.seed(1337)
    model = reference.nn.MLP(3, [4, 4, 1])
    losses = []
    for _ in range(20):
        loss = sum((model(x) - y) ** 2 for x, y in zip(XS, YS, strict=True))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.05 * p.grad
        losses.append(loss.data)
    assert losses[-1] < 0.5 * losses[0]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:], strict=False))


def lecture_neuron(Value):
    x1, x2 = Value(2.0, label='x1'), Value(0.0, label='x2')
    w1, w2 = Value(-3.0, label='w1'), Value(1.0, label='w2')
    b = Value(6.8813735870195432, label='b')
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = 'o'
    return o


def test_trace(reference):
    o = lecture_neuron(reference.engine.Value)
    nodes, edges = reference.viz.trace(o)
    assert len(nodes) == 10 and len(edges) == 9
    assert all(child in parent._prev for child, parent in edges)


def test_draw_dot_renders_svg_with_dot(reference):
    o = lecture_neuron(reference.engine.Value)
    o.backward()
    graph = reference.viz.draw_dot(o)
    svg = graph.pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for text in ["x1", "w1", "data 0.7071", "grad 1.0000", "grad &#45;1.5000", ">tanh<", ">*<", ">+<"]:
        assert text in svg, text
    assert 'class="node"' in svg and 'class="edge"' in svg
    assert graph.graph_attr["rankdir"] == "LR"


def test_draw_dot_without_dot_says_how_to_install(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}
    result = run_python("""
        from micrograd.engine import Value
        from micrograd.viz import GraphvizMissing, draw_dot
        try:
            draw_dot(Value(1.0) * 2)
        except GraphvizMissing as exc:
            print(exc)
    """, env=env)
    assert result.returncode == 0, result.stderr
    message = result.stdout.strip()
    assert "\n" not in message and message.endswith(".") and message.count(". ") == 0
    assert "`dot`" in message and "apt-get install graphviz" in message
