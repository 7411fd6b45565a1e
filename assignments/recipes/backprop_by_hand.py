# %% [markdown]
# # Assignment 2 — Value, and backpropagation by hand
#
# A network is an expression built from many small operations. To differentiate it we must keep the
# expression around: every number remembers which numbers and which operation produced it. This
# assignment builds that `Value` object, draws the expression as a graph, and then walks backwards
# through it by hand, filling in every gradient with the chain rule.

# %% [header] file=by_hand.py
from micrograd.engine import Value

# %% [given] id=setup
import math


def course_part_score(part):
    """Hidden test cells call this; at autograde the course's trusted grader supplies the real score."""
    return 0.0

# %% [markdown]
# ## A number that remembers where it came from
#
# `Value` wraps one number, `data`. An operation between Values makes a new Value that records its
# inputs (`_prev`, its children in the graph) and the operation (`_op`). `grad` will hold
# $\partial L / \partial \text{this value}$ for the final output $L$; it starts at 0, meaning "no
# effect on the output yet". `label` only names the node in drawings.
#
# Python turns `a + b` into `a.__add__(b)` and `a * b` into `a.__mul__(b)`.
#
# **Your turn:** complete `__add__` and `__mul__`: each returns a new Value holding the result, with
# both inputs as children and `'+'` or `'*'` as its operation.

# %% [solution] id=value export=micrograd/engine.py
class Value:
    """A scalar that remembers the operation and the Values it was made from."""

    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0.0
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def __add__(self, other):
        ### BEGIN SOLUTION: a Value holding self.data + other.data, children (self, other), operation '+'
        return Value(self.data + other.data, (self, other), '+')
        ### END SOLUTION

    def __mul__(self, other):
        ### BEGIN SOLUTION: a Value holding self.data * other.data, children (self, other), operation '*'
        return Value(self.data * other.data, (self, other), '*')
        ### END SOLUTION

# %% [test] part=value_ops
x, y = Value(2.0), Value(-3.0)
assert (x * y).data == -6.0 and (x + y).data == -1.0
assert (x * y)._prev == {x, y} and (x + y)._op == '+'

# %% [markdown]
# ## Drawing the graph
#
# `draw_dot` (Graphviz) draws each Value as a box with its label, data and grad, and each operation as
# a small node feeding the Value it produced. It is the reference course code, given to you.

# %% [given] id=draw_dot
import shutil

from graphviz import Digraph


# include: micrograd/viz.py GraphvizMissing


# include: micrograd/viz.py trace


# include: micrograd/viz.py draw_dot

# %% [markdown]
# ## The expression: L = (a*b + c) * f
#
# With $a = 2$, $b = -3$, $c = 10$ and $f = -2$: $e = a b = -6$, $d = e + c = 4$, $L = d f = -8$.
# Think of $L$ as the loss of a network and of $a, b, c, f$ as its weights.

# %% [given] id=expression export=by_hand.py
a = Value(2.0, label='a')
b = Value(-3.0, label='b')
c = Value(10.0, label='c')
e = a * b; e.label = 'e'
d = e + c; d.label = 'd'
f = Value(-2.0, label='f')
L = d * f; L.label = 'L'

# %% [code]
draw_dot(L)

# %% [markdown]
# ## Backwards, one node at a time
#
# Start at the output: nudging $L$ by $h$ changes $L$ by $h$, so $\partial L/\partial L = 1$.
#
# Each operation only knows its *local* derivatives:
#
# - for $z = x \cdot y$: $\partial z/\partial x = y$ and $\partial z/\partial y = x$;
# - for $z = x + y$: $\partial z/\partial x = \partial z/\partial y = 1$ — a plus node passes its
#   gradient through unchanged to both inputs.
#
# The **chain rule** links them: if $L$ depends on $d$ and $d$ on $c$, then
# $\frac{\partial L}{\partial c} = \frac{\partial L}{\partial d} \cdot \frac{\partial d}{\partial c}$.
# (If a car is twice as fast as a bicycle, and the bicycle four times as fast as a walker, the car is
# eight times as fast as the walker: rates multiply.) So each node's gradient is the gradient of the
# node it feeds, times the local derivative.
#
# **Your turn:** set `grad` on `d`, `f`, `c`, `e`, `a` and `b`, working backwards from `L`. Use the
# `data` of the nodes (e.g. `f.data`) rather than typing numbers, so you see where each comes from.

# %% [solution] id=by_hand_grads export=by_hand.py
L.grad = 1.0
### BEGIN SOLUTION: L = d * f; d = c + e; e = a * b. Each grad = (grad of the node it feeds) * (local derivative)
d.grad = L.grad * f.data
f.grad = L.grad * d.data
c.grad = d.grad * 1.0
e.grad = d.grad * 1.0
a.grad = e.grad * b.data
b.grad = e.grad * a.data
### END SOLUTION

# %% [code]
draw_dot(L)

# %% [test] part=by_hand
assert L.grad == 1.0
assert (d.grad, f.grad) == (-2.0, 4.0), "L = d * f: dL/dd is f and dL/df is d"

# %% [markdown]
# ## Checking by nudging
#
# Are these right? Rebuild the expression with one leaf nudged by $h$ and compare the change in $L$
# with the gradient you filled in — the numeric slope of the first assignment.

# %% [code]
def loss_after_nudging(name, h=1e-4):
    leaves = {'a': 2.0, 'b': -3.0, 'c': 10.0, 'f': -2.0}
    leaves[name] += h
    va, vb, vc, vf = (Value(leaves[k]) for k in 'abcf')
    return ((va * vb + vc) * vf).data


for node, name in ((a, 'a'), (b, 'b'), (c, 'c'), (f, 'f')):
    numeric = (loss_after_nudging(name) - L.data) / 1e-4
    print(f"dL/d{name}: by hand {node.grad:+.4f}, by nudging {numeric:+.4f}")

# %% [markdown]
# ## One step uphill
#
# A gradient points where the output grows. Moving every leaf a little along its gradient should make
# $L$ larger (less negative) — the idea behind gradient descent, which moves the other way to make a
# loss smaller.

# %% [code]
step = 0.01
na, nb, nc, nf = (Value(v.data + step * v.grad) for v in (a, b, c, f))
print(L.data, '->', ((na * nb + nc) * nf).data)
