# %% [header] file=micrograd/nn.py
import random

from micrograd.engine import Value

# %% [markdown]
# # Assignment 4 — Neural nets
#
# With an engine that backpropagates through any expression, a neural network is just a larger
# expression: neurons made of multiplications, additions and `tanh`, stacked in layers. This
# assignment builds a small multi-layer perceptron, measures how wrong it is with a loss, and trains
# it by gradient descent.

# %% [given] id=setup
import math
import random


def course_part_score(part):
    """Hidden test cells call this; at autograde the course's trusted grader supplies the real score."""
    return 0.0

# %% [markdown]
# ## The engine
#
# The complete `Value` of the last assignment (the course's reference), and `draw_dot`.

# %% [given] id=engine export=micrograd/engine.py
import math


# include: micrograd/engine.py Value

# %% [given] id=draw_dot
import shutil

from graphviz import Digraph


# include: micrograd/viz.py GraphvizMissing


# include: micrograd/viz.py trace


# include: micrograd/viz.py draw_dot

# %% [markdown]
# ## Modules
#
# Like PyTorch's `nn.Module`, every building block can list its `parameters()` — the Values training
# may change — and reset their gradients with `zero_grad()`.
#
# **Your turn:** `zero_grad` sets the gradient of every parameter back to 0.

# %% [solution] id=module export=micrograd/nn.py
# include: micrograd/nn.py Module

# %% [markdown]
# ## A neuron
#
# A neuron with `nin` inputs holds one weight per input and a bias, all random in $[-1, 1]$ to start.
# Called on an input list `x`, it computes $\sum_i w_i x_i + b$ and, if `nonlin`, squashes it with
# `tanh`. Its parameters are its weights, then its bias.

# %% [solution] id=neuron export=micrograd/nn.py
# include: micrograd/nn.py Neuron

# %% [markdown]
# ## A layer and a multi-layer perceptron
#
# A layer is a list of neurons that all see the same inputs and are evaluated independently. An MLP
# chains layers: `MLP(3, [4, 4, 1])` takes 3 inputs, has two hidden layers of 4 neurons and one output
# neuron, so $4 \cdot (3 + 1) + 4 \cdot (4 + 1) + 1 \cdot (4 + 1) = 41$ parameters.

# %% [solution] id=layer export=micrograd/nn.py
# include: micrograd/nn.py Layer

# %% [solution] id=mlp export=micrograd/nn.py
# include: micrograd/nn.py MLP

# %% [code]
random.seed(1337)
model = MLP(3, [4, 4, 1])
print(model, len(model.parameters()))
draw_dot(model([2.0, 3.0, -1.0]))

# %% [test] part=modules
assert len(MLP(3, [4, 4, 1]).parameters()) == 41
assert len(Neuron(3).parameters()) == 4 and len(Layer(3, 4).parameters()) == 16

# %% [markdown]
# ## How wrong is it? The loss
#
# Four examples and the outputs we want for them. The untrained network's predictions are arbitrary.
# One number measures the whole miss: the squared error summed over the examples,
# $\sum (y_{pred} - y)^2$ (the lecture calls it the mean squared error; dividing by the number of
# examples would change nothing but the step size). It is 0 only when every prediction is exact and
# grows the further any prediction is off.
#
# **Your turn:** `mse_loss(ypred, ys)` returns that sum as a Value, so it can be backpropagated.

# %% [code]
xs = [
    [2.0, 3.0, -1.0],
    [3.0, -1.0, 0.5],
    [0.5, 1.0, 1.0],
    [1.0, 1.0, -1.0],
]
ys = [1.0, -1.0, -1.0, 1.0]
[model(x).data for x in xs]

# %% [solution] id=mse_loss export=micrograd/nn.py
def mse_loss(ypred, ys):
    """The summed squared error of the predictions (Values) against the targets (numbers)."""
    ### BEGIN SOLUTION: add up (prediction - target)**2 over the examples; start the sum from 0 or a Value
    return sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))
    ### END SOLUTION

# %% [test] part=loss
loss = mse_loss([Value(0.5), Value(-1.0)], [1.0, 1.0])
assert isinstance(loss, Value) and loss.data == 4.25

# %% [markdown]
# ## Gradient descent
#
# `loss.backward()` fills in $\partial \text{loss}/\partial p$ for every parameter $p$. The gradient
# points to where the loss *grows*, so each step moves every parameter a little the other way:
# `p.data += -lr * p.grad`. One training step is: forward pass (predictions, loss), backward pass,
# update. The learning rate `lr` is a compromise: too small and training crawls, too large and a step
# jumps past the valley, and the loss can blow up.
#
# **Your turn:** `train(model, xs, ys, steps, lr)` runs that many steps and returns the list of the
# losses (`loss.data`) seen at each step. Gradients accumulate (`+=`), so each step must start from zero
# gradients: call `model.zero_grad()` before `loss.backward()`.

# %% [solution] id=train export=micrograd/nn.py
def train(model, xs, ys, steps, lr):
    """Gradient descent on the squared error; returns the loss of every step."""
    losses = []
    ### BEGIN SOLUTION: each step: predictions, loss, model.zero_grad(), loss.backward(), p.data -= lr * p.grad
    for _ in range(steps):
        loss = mse_loss([model(x) for x in xs], ys)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data += -lr * p.grad
        losses.append(loss.data)
    ### END SOLUTION
    return losses

# %% [code]
random.seed(1337)
model = MLP(3, [4, 4, 1])
losses = train(model, xs, ys, 20, 0.05)
print([round(v, 4) for v in losses[::4]])
[round(model(x).data, 3) for x in xs]

# %% [test] part=training
random.seed(0)
check_losses = train(MLP(3, [4, 4, 1]), xs, ys, 10, 0.05)
assert len(check_losses) == 10 and check_losses[-1] < check_losses[0]

# %% [markdown]
# ## The forgotten `zero_grad`
#
# Leave `zero_grad()` out and every backward pass *adds* to the gradients of all the previous steps:
# the steps grow and point partly where the loss used to go. On this tiny problem it can even look
# like faster training; on a real one it makes optimization erratic. Compare, from the same start
# (the fix is the `model.zero_grad()` in your loop):

# %% [code]
class ForgetfulMLP(MLP):
    """An MLP whose zero_grad does nothing: the bug, planted where your train() calls it."""

    def zero_grad(self):
        pass


random.seed(1337)
buggy = train(ForgetfulMLP(3, [4, 4, 1]), xs, ys, 20, 0.05)
print("with zero_grad:   ", [round(v, 4) for v in losses[::4]])
print("without zero_grad:", [round(v, 4) for v in buggy[::4]])
