"""Part 4: Neuron, Layer and MLP, and the order of parameters()."""

import math

import pytest
from micrograd.engine import Value
from micrograd.nn import MLP, Layer, Neuron


def test_neuron_has_one_weight_per_input_and_a_bias():
    n = Neuron(3)
    assert len(n.w) == 3
    assert all(isinstance(p, Value) and -1 <= p.data <= 1 for p in n.w + [n.b])
    assert n.parameters() == n.w + [n.b], "parameters(): the weights, then the bias"


def test_neuron_computes_tanh_of_weighted_sum():
    n = Neuron(2)
    n.w[0].data, n.w[1].data, n.b.data = -3.0, 1.0, 6.8813735870195432
    out = n([2.0, 0.0])
    assert out.data == pytest.approx(math.tanh(-6.0 + 6.8813735870195432))


def test_linear_neuron_has_no_tanh():
    n = Neuron(2, nonlin=False)
    n.w[0].data, n.w[1].data, n.b.data = 2.0, 3.0, 4.0
    assert n([1.0, 1.0]).data == pytest.approx(9.0)


def test_layer_outputs():
    assert len(Layer(3, 4)([1.0, 2.0, 3.0])) == 4
    assert isinstance(Layer(3, 1)([1.0, 2.0, 3.0]), Value), "a one-neuron layer returns a single Value"


def test_mlp_from_the_lecture_has_41_parameters():
    model = MLP(3, [4, 4, 1])
    assert len(model.parameters()) == 41
    assert isinstance(model([2.0, 3.0, -1.0]), Value)


def test_parameters_come_layer_by_layer_neuron_by_neuron():
    model = MLP(2, [3, 1])
    expected = [p for layer in model.layers for n in layer.neurons for p in n.w + [n.b]]
    assert [id(p) for p in model.parameters()] == [id(p) for p in expected]
