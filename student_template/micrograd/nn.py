"""A tiny neural-network library on top of Value: neurons, layers and a multi-layer perceptron."""

import random

from micrograd.engine import Value


class Module:

    def zero_grad(self):
        raise NotImplementedError('set the grad of every parameter back to 0 before the next backward()')

    def parameters(self):
        return []


class Neuron(Module):

    def __init__(self, nin, nonlin=True):
        raise NotImplementedError('one weight per input and a bias, each Value(random.uniform(-1, 1)); remember nonlin')

    def __call__(self, x):
        raise NotImplementedError('act = sum of w_i * x_i plus b; return act.tanh() when nonlin, else act')

    def parameters(self):
        raise NotImplementedError('the weights, then the bias')

    def __repr__(self):
        return f"{'Tanh' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):

    def __init__(self, nin, nout, **kwargs):
        raise NotImplementedError('nout neurons, each Neuron(nin, **kwargs)')

    def __call__(self, x):
        raise NotImplementedError("every neuron's output; a single Value when the layer has one neuron")

    def parameters(self):
        raise NotImplementedError("every neuron's parameters, neuron by neuron")

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):

    def __init__(self, nin, nouts):
        raise NotImplementedError("one Layer per entry of nouts, each taking the previous layer's size as input")

    def __call__(self, x):
        raise NotImplementedError('feed x through every layer in turn')

    def parameters(self):
        raise NotImplementedError("every layer's parameters, layer by layer")

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
