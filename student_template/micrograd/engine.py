"""A scalar-valued autograd engine: each Value remembers how it was made and how to pass gradients back."""

import math


class Value:
    """Stores a single scalar value and its gradient."""

    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')

        def _backward():
            raise NotImplementedError('d(a+b)/da = d(a+b)/db = 1; add out.grad into both inputs with +=')
        out._backward = _backward

        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), '*')

        def _backward():
            raise NotImplementedError('d(a*b)/da = b and d(a*b)/db = a; scale by out.grad and accumulate with +=')
        out._backward = _backward

        return out

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only supporting int/float powers for now"
        out = Value(self.data**other, (self,), f'**{other}')

        def _backward():
            raise NotImplementedError('d(x**n)/dx = n * x**(n-1); scale by out.grad and accumulate with +=')
        out._backward = _backward

        return out

    def tanh(self):
        t = math.tanh(self.data)  # math.tanh, unlike the exp formula, does not overflow for large |x|
        out = Value(t, (self,), 'tanh')

        def _backward():
            raise NotImplementedError('d tanh(x)/dx = 1 - tanh(x)**2, from the output t; scale by out.grad')
        out._backward = _backward

        return out

    def relu(self):
        out = Value(0 if self.data < 0 else self.data, (self,), 'ReLU')

        def _backward():
            raise NotImplementedError('d relu(x)/dx is 1 where the output is positive, else 0; scale by out.grad')
        out._backward = _backward

        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), 'exp')

        def _backward():
            raise NotImplementedError('d exp(x)/dx = exp(x), which is out.data; scale by out.grad')
        out._backward = _backward

        return out

    def backward(self):
        raise NotImplementedError("sort the graph topologically (children before parents), seed self.grad with 1, call each node's _backward from the output back")

    def __neg__(self):  # -self
        return self * -1

    def __radd__(self, other):  # other + self
        return self + other

    def __sub__(self, other):  # self - other
        return self + (-other)

    def __rsub__(self, other):  # other - self
        return other + (-self)

    def __rmul__(self, other):  # other * self
        return self * other

    def __truediv__(self, other):  # self / other
        return self * other**-1

    def __rtruediv__(self, other):  # other / self
        return other * self**-1

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"
