"""Hidden tests of the neural-nets notebook: modules, the squared-error loss, the training loop.

Expected values come from torch (float64) with the submission's own initial parameters.
"""

import pytest
import torch

from autograder.notebook_suite import close
from autograder.suite import Mistake, number, numbers

XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
YS = [1.0, -1.0, -1.0, 1.0]
REL = 1e-6


def _layers(params, nin, nouts):
    """The parameters() order of the reference: layer by layer, neuron by neuron, weights then bias."""
    layers, i = [], 0
    for n_in, n_out in zip([nin] + nouts, nouts, strict=False):
        rows = [params[i + k * (n_in + 1): i + (k + 1) * (n_in + 1)] for k in range(n_out)]
        i += n_out * (n_in + 1)
        w = torch.tensor([r[:-1] for r in rows], dtype=torch.float64, requires_grad=True)
        b = torch.tensor([r[-1] for r in rows], dtype=torch.float64, requires_grad=True)
        layers.append((w, b))
    return layers


def _forward(layers, x):
    h = torch.tensor(x, dtype=torch.float64)
    for w, b in layers:
        h = torch.tanh(w @ h + b)
    return h


def torch_training(params, nin, nouts, steps, lr, zero_grad=True):
    layers = _layers(params, nin, nouts)
    tensors = [t for layer in layers for t in layer]
    losses = []
    for _ in range(steps):
        loss = sum((_forward(layers, x)[0] - y) ** 2 for x, y in zip(XS, YS, strict=True))
        if zero_grad:
            for t in tensors:
                t.grad = None
        loss.backward()
        with torch.no_grad():
            for t in tensors:
                t -= lr * t.grad
        losses.append(loss.item())
    return losses


@pytest.mark.part("modules")
def test_mlp_parameters_and_forward(submission):
    for cls, args, count in (("Neuron", [3], 4), ("Layer", [3, 4], 16), ("MLP", [3, [4, 4, 1]], 41)):
        obs = submission.model(cls, args, doing=f"building {cls}{tuple(args)}")
        if obs.n_parameters != count:
            raise Mistake("parameters", f"{cls}{tuple(args)}.parameters() has {obs.n_parameters} Values")
    obs = submission.model("MLP", [3, [4, 4, 1]], seed=1, steps=[["forward", XS]], doing="calling MLP(3, [4, 4, 1])")
    expected = [_forward(_layers(obs.params, 3, [4, 4, 1]), x)[0].item() for x in XS]
    for x, got, want in zip(XS, obs.forward[0], expected, strict=True):
        if isinstance(got, list) or not close(got, want, rel=REL, abs=1e-9):
            raise Mistake("forward", f"MLP(3, [4, 4, 1])({x}) returned {got}, which is not tanh layers applied in "
                          "order to your own parameters (one output neuron gives a single Value)")


@pytest.mark.part("loss")
def test_squared_error_loss(submission):
    for ypred, ys in (([0.5, -1.0], [1.0, 1.0]), ([0.2, -0.7, 0.9, 0.1], YS)):
        value = submission.ask("calling mse_loss", "nb_mse", ypred=ypred, ys=ys)
        loss = number(value.get("loss"), "the loss")
        grads = numbers(value.get("grads"), "the gradients", len(ypred))
        want = sum((p - y) ** 2 for p, y in zip(ypred, ys, strict=True))
        if not close(loss, want, rel=REL):
            raise Mistake("loss", f"mse_loss({ypred}, {ys}) is {loss:.6g}; sum the squared differences")
        for p, y, g in zip(ypred, ys, grads, strict=True):
            if not close(g, 2 * (p - y), rel=REL, abs=1e-9):
                raise Mistake("loss-gradient", f"after backward() a prediction of {p} has grad {g:.6g}")


@pytest.mark.part("training")
def test_training_loop_with_zero_grad(submission):
    steps, lr = 6, 0.05
    value = submission.ask("calling train(model, xs, ys, 6, 0.05)", "nb_train", nin=3, nouts=[4, 4, 1], seed=3,
                xs=XS, ys=YS, steps=steps, lr=lr)
    initial = numbers(value.get("initial"), "the initial parameters", 41)
    losses = numbers(value.get("losses"), "the losses")
    if len(losses) != steps:
        raise Mistake("steps", f"train(..., steps={steps}, ...) returned {len(losses)} losses, one per step expected")
    want = torch_training(initial, 3, [4, 4, 1], steps, lr)
    if all(close(g, w, rel=REL) for g, w in zip(losses, want, strict=True)):
        return
    if all(close(g, w, rel=REL) for g, w in zip(losses, torch_training(initial, 3, [4, 4, 1], steps, lr, False),
                                                strict=True)):
        raise Mistake("missing-zero-grad", "your losses match training without zero_grad(): each backward() adds to "
                      "the previous step's gradients. Call model.zero_grad() before loss.backward()")
    step = next(i for i, (g, w) in enumerate(zip(losses, want, strict=True)) if not close(g, w, rel=REL))
    raise Mistake("training", f"the loss of step {step + 1} is {losses[step]:.6g}: is each step forward, zero_grad, "
                  "backward, then p.data -= lr * p.grad?")
