"""Expected values, computed only in the trusted process with torch float64.

Graphs and models are described by the same JSON the probes take; each result is memoized by that
description (autograder.core.expectations), so `course build` precomputes them once and grading reads
them without importing torch. Nothing here is ever sent to a worker or shown to a student.
"""

import functools
import hashlib
import json
from pathlib import Path

from autograder.core import expectations
from autograder.core.expectations import tuples

from . import operations
from .operations import OPERATIONS

LECTURE_XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
LECTURE_YS = [1.0, -1.0, -1.0, 1.0]


def _key(*parts) -> str:
    return json.dumps(parts, sort_keys=True)


@expectations.memo("graph", tuples)
def _graph(key: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    torch = expectations.torch()
    graph, upstream = json.loads(key)
    nodes = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in graph["leaves"]]
    for op in graph["ops"]:
        refs, parameters = operations.operands(op)
        values = [torch.tensor(r["c"], dtype=torch.float64) if isinstance(r, dict) else nodes[r] for r in refs]
        node = OPERATIONS[op[0]].torch(torch, *values, *parameters)
        node.retain_grad()
        nodes.append(node)
    nodes[-1].backward(torch.tensor(upstream, dtype=torch.float64))
    grads = [0.0 if n.grad is None else n.grad.item() for n in nodes]
    return tuple(n.item() for n in nodes), tuple(grads)


_KEYS: dict[tuple[int, float], tuple[dict, str]] = {}


def graph(graph: dict, *, upstream: float = 1.0) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(data, grad) of every node after a backward pass from the last node seeded with upstream."""
    # The suites reuse the same graph objects for every submission: skip re-serialising big ones.
    known = _KEYS.get((id(graph), upstream))
    if known is None or known[0] is not graph:
        known = _KEYS[id(graph), upstream] = (graph, _key(graph, upstream))
    return _graph(known[1])


# -- nn -----------------------------------------------------------------------------------------
def layer_sizes(cls: str, args: list) -> list[tuple[int, int]]:
    """(nin, nout) per layer of micrograd.nn.<cls>(*args)."""
    if cls == "Neuron":
        return [(args[0], 1)]
    if cls == "Layer":
        return [(args[0], args[1])]
    sizes = [args[0], *args[1]]
    return list(zip(sizes, sizes[1:], strict=False))


def parameter_count(cls: str, args: list) -> int:
    return sum(nout * (nin + 1) for nin, nout in layer_sizes(cls, args))


def _layers(cls, args, params):
    """Weights (nout, nin) and biases (nout,) per layer from the flat parameters() list."""
    layers, at = [], 0
    for nin, nout in layer_sizes(cls, args):
        block = params[at:at + nout * (nin + 1)].reshape(nout, nin + 1)
        at += nout * (nin + 1)
        layers.append((block[:, :nin], block[:, nin]))
    return layers


# Forward passes of known nn mistakes (besides "correct"): what the student's outputs are compared with.
FORWARD_VARIANTS = ("no-activation", "relu", "no-bias", "linear-last-layer", "not-chained", "ignores-nonlin")


def _forward(torch, cls, args, params, x, variant, nonlin=True):
    variants = set(variant.split("+"))  # "relu+linear-last-layer": two mistakes at once
    nonlin = nonlin or "ignores-nonlin" in variants
    act = torch.tensor(x, dtype=torch.float64)
    layers = _layers(cls, args, params)
    inputs = act
    for i, (w, b) in enumerate(layers):
        source = inputs if "not-chained" in variants else act
        k = min(w.shape[1], source.shape[0])  # zip(self.w, x) stops at the shorter list
        act = w[:, :k] @ source[:k] + (0 if "no-bias" in variants else b)
        last = i == len(layers) - 1
        if nonlin and "no-activation" not in variants and not (
                "linear-last-layer" in variants and last and cls == "MLP"):
            act = torch.relu(act) if "relu" in variants else torch.tanh(act)
    return act


@expectations.memo("forward", tuples)
def _forward_cached(key: str) -> tuple:
    torch = expectations.torch()
    cls, args, params, xs, variant, nonlin = json.loads(key)
    p = torch.tensor(params, dtype=torch.float64)
    return tuple(tuple(_forward(torch, cls, args, p, x, variant, nonlin).tolist()) for x in xs)


def forward(cls: str, args: list, params: list[float], xs: list, variant: str = "correct",
            nonlin: bool = True) -> tuple:
    """Each input's outputs (a tuple per input) with these parameters; variant models a known nn mistake;
    nonlin=False: built with nonlin=False (a Neuron or a Layer of linear neurons)."""
    return _forward_cached(_key(cls, args, params, xs, variant, nonlin))


@expectations.memo("train", tuples)
def _train(key: str) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    torch = expectations.torch()
    cls, args, params, xs, ys, lr, steps, zeroing = json.loads(key)
    p = torch.tensor(params, dtype=torch.float64, requires_grad=True)
    n_biases = [i for i, _ in enumerate(params) if _is_bias(cls, args, i)]
    losses = []
    for _ in range(steps):
        loss = sum((_forward(torch, cls, args, p, x, "correct")[0] - y) ** 2 for x, y in zip(xs, ys, strict=True))
        if p.grad is not None:
            if zeroing == "all":
                p.grad.zero_()
            elif zeroing == "weights":
                keep = p.grad[n_biases].clone()
                p.grad.zero_()
                p.grad[n_biases] = keep
        loss.backward()
        with torch.no_grad():
            p -= lr * p.grad
        losses.append(loss.item())
    return tuple(losses), tuple(p.detach().tolist()), tuple(p.grad.tolist())


def train(cls: str, args: list, params: list[float], xs: list, ys: list, lr: float, steps: int,
          zeroing: str = "all") -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """(losses, final parameters, final gradients) of the probes' training loop (summed squared error, SGD);
    zeroing: "all" (zero_grad), "none" (a loop that forgets it), "weights" (biases never cleared)."""
    return _train(_key(cls, args, params, xs, ys, lr, steps, zeroing))


def backward_loss(cls: str, args: list, params: list[float], xs: list, ys: list) -> tuple[float, tuple[float, ...]]:
    """(loss, gradient of every parameter) after one backward() of the summed squared error."""
    losses, _, grads = train(cls, args, params, xs, ys, 0.0, 1)
    return losses[0], grads


def _is_bias(cls: str, args: list, index: int) -> bool:
    at = 0
    for nin, nout in layer_sizes(cls, args):
        if index < at + nout * (nin + 1):
            return (index - at) % (nin + 1) == nin
        at += nout * (nin + 1)
    return False


def bias_indices(cls: str, args: list) -> list[int]:
    return [i for i in range(parameter_count(cls, args)) if _is_bias(cls, args, i)]


@expectations.memo("examples", tuple, drawn=True)
def _examples(key: str) -> tuple:
    from . import strategies  # hypothesis, only when the examples are not precomputed

    batches, size, _ = json.loads(key)
    return strategies.random_graphs(batches, size)


@functools.cache
def _strategies_digest() -> str:
    return hashlib.sha256((Path(__file__).parent / "strategies.py").read_bytes()).hexdigest()


def random_graphs(batches: int = 5, size: int = 8) -> tuple[dict, ...]:
    """The graphs a derandomized hypothesis run draws (strategies.random_graphs), the same for every submission.
    Their key names the strategies' source: a rebuild keeps the examples until the strategies change
    (hypothesis does not draw the same examples in every kind of process, even derandomized)."""
    return _examples(_key(batches, size, _strategies_digest()))
