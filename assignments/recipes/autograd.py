# %% [header] file=micrograd/engine.py
import math

# %% [markdown]
# # Assignment 3 — Automatic backpropagation
#
# Filling in gradients by hand works for seven nodes, not for a network. Every operation already
# knows its local derivatives, so let each new Value carry a small function, `_backward`, that applies
# the chain rule for the operation that made it. Then one call, `L.backward()`, visits the nodes from
# the output back to the leaves and calls each `_backward`.

# %% [given] id=setup
import math


def course_part_score(part):
    """Hidden test cells call this; at autograde the course's trusted grader supplies the real score."""
    return 0.0

# %% [markdown]
# ## `_backward`: the chain rule of one operation
#
# For `out = self * other`, `out._backward` takes `out.grad` (that is, $\partial L/\partial out$) and
# adds `other.data * out.grad` to `self.grad`, and `self.data * out.grad` to `other.grad`: local
# derivative times the gradient flowing in. Because `_backward` is a closure defined inside `__mul__`,
# it still sees `self`, `other` and `out` when it is called later.
#
# The local derivatives you need:
#
# | operation | output | derivative with respect to the input |
# |---|---|---|
# | `a + b` | $a + b$ | 1 for both |
# | `a * b` | $a b$ | $b$ for $a$, $a$ for $b$ |
# | `a ** n` | $a^n$ | $n a^{n-1}$ |
# | `tanh(a)` | $t = \tanh a$ | $1 - t^2$ |
# | `exp(a)` | $e^a$ | $e^a$ (the output itself) |
# | `relu(a)` | $\max(0, a)$ | 1 where the output is positive, else 0 |
#
# Subtraction, negation and division are built from these (`a - b` is `a + (-1 * b)`, `a / b` is
# `a * b**-1`), so they need no `_backward` of their own. Plain numbers are wrapped into Values, and
# the reflected methods (`__radd__`, `__rmul__`, ...) make `2 * a` work as well as `a * 2`.
#
# ## `backward()`: in the right order
#
# A node's `_backward` may run only once its own `grad` is complete, that is after every node that
# uses it. A **topological sort** lists the nodes so that each comes after all of its children
# (depth first: visit the children, then append the node; a set of visited nodes keeps a node used
# twice from being listed twice); walking that list in reverse goes from the output to the leaves. `backward()` sets the output's own gradient to 1 ($\partial L/\partial L$)
# and then calls `_backward` on each node in that reversed order. A recursive sort is the shortest to
# write; one with an explicit stack also survives graphs deeper than Python's recursion limit.
#
# **Your turn:** complete the `_backward` of each operation and `backward()`.

# %% [solution] id=value export=micrograd/engine.py
# include: micrograd/engine.py Value

# %% [test] part=local_backward
x, y = Value(2.0), Value(-3.0)
z = x * y
z.grad = 1.0
z._backward()
assert (x.grad, y.grad) == (-3.0, 2.0), "d(x*y)/dx = y and d(x*y)/dy = x"

# %% [given] id=draw_dot
import shutil

from graphviz import Digraph


# include: micrograd/viz.py GraphvizMissing


# include: micrograd/viz.py trace


# include: micrograd/viz.py draw_dot

# %% [markdown]
# ## The example of the last assignment, automatically
#
# `L.backward()` should reproduce every gradient you computed by hand: `a.grad` 6, `b.grad` -4,
# `c.grad` and `e.grad` -2, `d.grad` -2, `f.grad` 4.

# %% [code]
a = Value(2.0, label='a')
b = Value(-3.0, label='b')
c = Value(10.0, label='c')
e = a * b; e.label = 'e'
d = e + c; d.label = 'd'
f = Value(-2.0, label='f')
L = d * f; L.label = 'L'
L.backward()
draw_dot(L)

# %% [test] part=backward
assert (a.grad, b.grad, c.grad, f.grad) == (6.0, -4.0, -2.0, 4.0)

# %% [markdown]
# ## The bug of the reused node
#
# A first version of `__add__` often *sets* the gradients: `self.grad = out.grad`. That looks right as
# long as every Value is used once. Use one twice, `b = a + a`, and both "inputs" are the same node:
# the second assignment overwrites the first, and `a.grad` ends up 1 where $db/da = 2$.
# The multivariable chain rule says the contributions of every path must be **added**, which is why
# every `_backward` above accumulates with `+=` (and why gradients must start at 0).

# %% [code]
class OverwritingValue(Value):
    """Value with the first, buggy __add__: '=' instead of '+=' in _backward."""

    def __add__(self, other):
        out = OverwritingValue(self.data + other.data, (self, other), '+')

        def _backward():
            self.grad = out.grad
            other.grad = out.grad
        out._backward = _backward
        return out


buggy = OverwritingValue(3.0, label='a')
(buggy + buggy).backward()
fixed = Value(3.0, label='a')
(fixed + fixed).backward()
print(f"b = a + a: da with '=' is {buggy.grad}, with '+=' it is {fixed.grad}")

# %% [test] part=reused_node
a = Value(3.0)
(a + a).backward()
assert a.grad == 2.0, "b = a + a: db/da = 2, both uses of a add their gradient"

# %% [markdown]
# ## A neuron
#
# A neuron multiplies each input by a weight, adds a bias and squashes the sum with `tanh`:
# $o = \tanh(x_1 w_1 + x_2 w_2 + b)$. With $x_1 = 2$, $x_2 = 0$, $w_1 = -3$, $w_2 = 1$ and the bias
# $b = 6.8813735870195432$ (chosen so the numbers come out round), $n = 0.8814$ and $o = 0.7071$; then
# $do/dn = 1 - o^2 = 0.5$. Since $x_2 = 0$, the weight $w_2$ has no effect on the output: its gradient
# is 0, while $w_1$'s is $x_1 \cdot 0.5 = 1$.

# %% [code]
x1 = Value(2.0, label='x1')
x2 = Value(0.0, label='x2')
w1 = Value(-3.0, label='w1')
w2 = Value(1.0, label='w2')
bias = Value(6.8813735870195432, label='b')
x1w1 = x1 * w1; x1w1.label = 'x1*w1'
x2w2 = x2 * w2; x2w2.label = 'x2*w2'
x1w1x2w2 = x1w1 + x2w2; x1w1x2w2.label = 'x1*w1 + x2*w2'
n = x1w1x2w2 + bias; n.label = 'n'
o = n.tanh(); o.label = 'o'
o.backward()
draw_dot(o)

# %% [markdown]
# The same neuron with `tanh` spelled out as $(e^{2n} - 1)/(e^{2n} + 1)$, using `exp`, `-`, `+` and
# `/`: a different graph, the same gradients. How finely an expression is split into operations is a
# choice, as long as each operation knows its local derivative.

# %% [code]
n2 = x1 * w1 + x2 * w2 + bias
exp2n = (2 * n2).exp()
o2 = (exp2n - 1) / (exp2n + 1)
for leaf in (x1, x2, w1, w2, bias):
    leaf.grad = 0.0
o2.backward()
print(f"o = {o2.data:.4f}; x1.grad {x1.grad:.4f}, w1.grad {w1.grad:.4f}, x2.grad {x2.grad:.4f}, w2.grad {w2.grad:.4f}")

# %% [test] part=tanh_neuron
assert abs(o.data - 0.7071) < 1e-4
assert abs(w1.grad - 1.0) < 1e-6 and w2.grad == 0.0
