"""Part 5: zero_grad and the lecture's training loop."""

import random

from micrograd.nn import MLP

xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
ys = [1.0, -1.0, -1.0, 1.0]


def loss_of(model):
    return sum((model(x) - y) ** 2 for x, y in zip(xs, ys))


def test_zero_grad_resets_every_parameter():
    random.seed(0)
    model = MLP(3, [4, 4, 1])
    loss_of(model).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


def test_training_lowers_the_loss():
    random.seed(1337)
    model = MLP(3, [4, 4, 1])
    losses = []
    for _ in range(20):
        loss = loss_of(model)
        model.zero_grad()  # gradients add up across backward() calls: clear them first
        loss.backward()
        for p in model.parameters():
            p.data -= 0.05 * p.grad
        losses.append(loss.data)
    assert losses[-1] < losses[0], f"the loss should fall during training; it went {losses[0]:.3f} -> {losses[-1]:.3f}"
