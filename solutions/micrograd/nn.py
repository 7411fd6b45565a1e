"""A tiny neural-network library on top of Value: neurons, layers and a multi-layer perceptron."""

import random

from micrograd.engine import Value


class Module:

    def zero_grad(self):
        ### BEGIN SOLUTION: set the grad of every parameter back to 0 before the next backward()
        for p in self.parameters():
            p.grad = 0.0
        ### END SOLUTION

    def parameters(self):
        return []


class Neuron(Module):

    def __init__(self, nin, nonlin=True):
        ### BEGIN SOLUTION: one weight per input and a bias, each Value(random.uniform(-1, 1)); remember nonlin
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(random.uniform(-1, 1))
        self.nonlin = nonlin
        ### END SOLUTION

    def __call__(self, x):
        ### BEGIN SOLUTION: act = sum of w_i * x_i plus b; return act.tanh() when nonlin, else act
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.tanh() if self.nonlin else act
        ### END SOLUTION

    def parameters(self):
        ### BEGIN SOLUTION: the weights, then the bias
        return self.w + [self.b]
        ### END SOLUTION

    def __repr__(self):
        return f"{'Tanh' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):

    def __init__(self, nin, nout, **kwargs):
        ### BEGIN SOLUTION: nout neurons, each Neuron(nin, **kwargs)
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]
        ### END SOLUTION

    def __call__(self, x):
        ### BEGIN SOLUTION: every neuron's output; a single Value when the layer has one neuron
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out
        ### END SOLUTION

    def parameters(self):
        ### BEGIN SOLUTION: every neuron's parameters, neuron by neuron
        return [p for n in self.neurons for p in n.parameters()]
        ### END SOLUTION

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):

    def __init__(self, nin, nouts):
        ### BEGIN SOLUTION: one Layer per entry of nouts, each taking the previous layer's size as input
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i + 1]) for i in range(len(nouts))]
        ### END SOLUTION

    def __call__(self, x):
        ### BEGIN SOLUTION: feed x through every layer in turn
        for layer in self.layers:
            x = layer(x)
        return x
        ### END SOLUTION

    def parameters(self):
        ### BEGIN SOLUTION: every layer's parameters, layer by layer
        return [p for layer in self.layers for p in layer.parameters()]
        ### END SOLUTION

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
