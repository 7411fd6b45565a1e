"""Probes for the notebook assignments. Runs inside the sandboxed worker: standard library only.

Like probes.py, each takes and returns plain JSON and never sees an expected value. A function
argument is described, never sent: {"poly": [3, -4, 5]} is 3*x**2 - 4*x + 5 (highest power first).
"""

import importlib
import random


def _number(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} is a {type(value).__name__}, not a number")
    return float(value)


def _poly(coefficients):
    def f(x):
        total = 0.0
        for c in coefficients:
            total = total * x + c
        return total
    return f


def _argument(arg):
    return _poly(arg["poly"]) if isinstance(arg, dict) and "poly" in arg else arg


def call(module, function, args):
    """module.function(*args) -> a number or a list of numbers."""
    result = getattr(importlib.import_module(module), function)(*[_argument(a) for a in args])
    if isinstance(result, (tuple, list)):
        return {"value": [_number(r, f"{function}(...)[{i}]") for i, r in enumerate(result)]}
    return {"value": _number(result, f"{function}(...)")}


def attributes(module, paths):
    """The numbers at dotted paths of a module, e.g. "a.grad"; None for a path that is missing."""
    found = importlib.import_module(module)
    values = {}
    for path in paths:
        obj = found
        try:
            for name in path.split("."):
                obj = getattr(obj, name)
            values[path] = _number(obj, path)
        except AttributeError:
            values[path] = None
    return {"values": values}


def mse(ypred, ys):
    """micrograd.nn.mse_loss on Values made from ypred; the loss and d loss / d ypred."""
    Value = importlib.import_module("micrograd.engine").Value
    preds = [Value(float(p)) for p in ypred]
    loss = importlib.import_module("micrograd.nn").mse_loss(preds, ys)
    if not isinstance(loss, Value):
        raise TypeError(f"mse_loss returned a {type(loss).__name__}, not a Value")
    loss.backward()
    return {"loss": _number(loss.data, "the loss"), "grads": [_number(p.grad, "a prediction's grad") for p in preds]}


def train(nin, nouts, seed, xs, ys, steps, lr, given_modules=None):
    """micrograd.nn.train(model, xs, ys, steps, lr) on MLP(nin, nouts) built under random.seed(seed). With
    given_modules (a module the worker's isolation mode provides), the model is that module's MLP with the
    student's own zero_grad, and the student's train() finds that module's mse_loss under its own name."""
    nn = importlib.import_module("micrograd.nn")
    build = nn.MLP
    if given_modules:
        given = importlib.import_module(given_modules)
        nn.mse_loss = given.mse_loss
        own_zero_grad = getattr(nn.MLP, "zero_grad", None)
        build = type("MLP", (given.MLP,), {"zero_grad": own_zero_grad} if own_zero_grad else {})
    random.seed(seed)
    model = build(nin, nouts)
    initial = [_number(p.data, "a parameter") for p in model.parameters()]
    losses = nn.train(model, xs, ys, steps, lr)
    return {"initial": initial, "losses": [_number(getattr(loss, "data", loss), "a loss") for loss in losses],
            "numbers": all(isinstance(loss, (int, float)) and not isinstance(loss, bool) for loss in losses),
            "final": [_number(p.data, "a parameter") for p in model.parameters()]}


PROBES = {"nb_call": call, "nb_attributes": attributes, "nb_mse": mse, "nb_train": train}
