"""What the micrograd suites ask of a submission's Value and MLP. Runs inside the sandboxed worker (the grader's
autograder/boundary/worker/main.py loads every module of this folder, course.yml's `probes` of each assignment).

Each probe takes and returns plain JSON data: graphs and models are described by numbers
and operation names, and every value read back is converted with float() here and checked
again on the trusted side. A probe never sees an expected value.

A graph is {"leaves": [2.0, -3.0], "ops": [["mul", 0, 1], ["add", 2, {"c": 1.0}], ...]}:
node i is leaves[i], then one node per op in order. An operand is a node index or
{"c": number} for a plain Python number (which also exercises the reflected operators);
operations.py says which operands each op has.
"""

import gc
import importlib
import random

from operations import APPLY, operands


def _module(name):
    module = importlib.import_module(f"micrograd.{name}")
    if name == "engine":
        _iterate_prev_in_creation_order(module.Value)
    return module


# `_prev` is a set of Values hashed by id(), so its iteration order (and, with some bugs, the
# gradients) would follow memory addresses, which differ from run to run. Iterating each set in
# the order its Values were created makes a submission's grade the same on every run.
_CREATED: list = []  # every Value made during a probe, in order (also keeps each id unique)
_INDEX: dict[int, int] = {}  # id -> position in _CREATED


def _creation_index(value):
    return _INDEX.get(id(value), -1)


class _CreationOrderSet(set):
    def __iter__(self):
        if len(self) < 2:  # nothing to order: most nodes (unary ops, chains), and sorting costs
            return set.__iter__(self)
        return iter(sorted(set.__iter__(self), key=_creation_index))


def _iterate_prev_in_creation_order(Value):
    if getattr(Value.__init__, "_creation_order", False):
        return
    original = Value.__init__

    def __init__(self, *args, **kwargs):
        _INDEX[id(self)] = len(_CREATED)
        _CREATED.append(self)
        original(self, *args, **kwargs)
        if type(getattr(self, "_prev", None)) is set:
            self._prev = _CreationOrderSet(self._prev)

    __init__._creation_order = True
    Value.__init__ = __init__


def _number(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} is a {type(value).__name__}, not a number")
    return float(value)


def _operand(nodes, ref):
    return ref["c"] if isinstance(ref, dict) else nodes[ref]


# The Value method Python calls for an op: the reflected one when a plain number comes first (2 * x).
NOT_A_VALUE = -2  # in "prev": a child that is not a Value (autograder.core.suite.NOT_A_VALUE_CHILD)
_METHODS = {"add": "__add__", "sub": "__sub__", "mul": "__mul__", "truediv": "__truediv__", "neg": "__neg__",
            "pow": "__pow__", "tanh": "tanh", "relu": "relu", "exp": "exp"}


def _method(name, refs):
    method = _METHODS[name]
    return method.replace("__", "__r", 1) if len(refs) == 2 and isinstance(refs[0], dict) else method


def _attribute_of(graph, i, attribute):
    """How a node's attribute is named when it is not a number: by the method that made the node."""
    n_leaves = len(graph["leaves"])
    if i < n_leaves:
        return f"node {i}'s {attribute}"
    op = graph["ops"][i - n_leaves]
    return f"the .{attribute} of the Value your {_method(op[0], operands(op)[0])} returned (node {i})"


def build(graph):
    """The graph built with the student's operators: (nodes, the Values each op made besides its result)."""
    Value = _module("engine").Value
    nodes = [Value(x, label=f"x{i}") for i, x in enumerate(graph["leaves"])]
    inside = []
    for op in graph["ops"]:
        refs, parameters = operands(op)
        first = len(_CREATED)
        nodes.append(APPLY[op[0]][1](*[_operand(nodes, r) for r in refs], *parameters))
        if not isinstance(nodes[-1], Value):
            raise TypeError(f"{_method(op[0], refs)} returned a {type(nodes[-1]).__name__}, not a Value")
        inside.append([v for v in _CREATED[first:] if v is not nodes[-1]])
    return nodes, inside


def build_on_reference(graph):
    """The graph made of the student's Value objects, each node constructed directly as
    Value(data, children, op) with reference data and a reference _backward: only the student's
    backward() (seed and walk) then decides the gradients."""
    from reference_operations import REFERENCE, backward_of  # in the reference_derivatives worker only

    Value = _module("engine").Value
    nodes = [Value(x, label=f"x{i}") for i, x in enumerate(graph["leaves"])]
    data = [float(x) for x in graph["leaves"]]
    for op in graph["ops"]:
        refs, parameters = operands(op)
        values = [float(r["c"]) if isinstance(r, dict) else data[r] for r in refs]
        inputs = [None if isinstance(r, dict) else nodes[r] for r in refs]
        data.append(REFERENCE[op[0]][0](*values, *parameters))
        out = Value(data[-1], tuple(node for node in inputs if node is not None), op[0])
        out._backward = backward_of(op[0], inputs, values, parameters, out, data[-1])
        nodes.append(out)
    return nodes, [[] for _ in graph["ops"]]


def _record_calls(nodes, calls):
    """Wrap every node's _backward so the order of the calls can be observed (appended to calls[-1])."""
    index = {id(node): i for i, node in enumerate(nodes)}

    def wrap(node, original):
        def _backward():
            calls[-1].append(index[id(node)])
            original()
        return _backward

    for node in nodes:
        node._backward = wrap(node, node._backward)


def graph(graph, steps=(("backward", -1),), record_calls=False, derivatives="own", calls_only=False):
    """Build the graph, run steps, and return every node's data and grad.

    steps: ["backward", node] calls node.backward(); ["set_grad", node, g] sets node.grad;
    ["local_backward", node] calls node._backward(), then the _backward of the Values the op
    made inside itself (-b in a - b), newest first; ["zero_grad"] zeroes every grad.
    With record_calls, "calls" lists, per backward/local_backward step, the nodes whose
    _backward ran, in order; with calls_only, that is all the answer holds (deep graphs).
    derivatives="reference": see build_on_reference.
    """
    nodes, inside = build_on_reference(graph) if derivatives == "reference" else build(graph)
    n_leaves = len(graph["leaves"])
    calls = [] if record_calls else None
    if record_calls:
        _record_calls(nodes, calls)
    for step in steps:
        kind, args = step[0], step[1:]
        if kind in ("backward", "local_backward") and calls is not None:
            calls.append([])
        if kind == "backward":
            nodes[args[0]].backward()
        elif kind == "set_grad":
            nodes[args[0]].grad = args[1]
        elif kind == "local_backward":
            nodes[args[0]]._backward()
            for node in reversed(inside[args[0] - n_leaves] if args[0] >= n_leaves else []):
                node._backward()
        elif kind == "zero_grad":
            for node in nodes:
                node.grad = 0.0
        else:
            raise ValueError(f"unknown step {kind!r}")
    if calls_only:
        return {"calls": calls}
    index = {id(node): i for i, node in enumerate(nodes)}
    return {
        "data": [_number(n.data, _attribute_of(graph, i, "data")) for i, n in enumerate(nodes)],
        "grad": [_number(n.grad, _attribute_of(graph, i, "grad")) for i, n in enumerate(nodes)],
        # -1: a Value made on the way (not one of the graph's nodes); -2: a child that is not a Value at all
        "prev": [sorted(index.get(id(child), -1 if isinstance(child, type(n)) else NOT_A_VALUE) for child in n._prev)
                 for n in nodes],
        "calls": calls,
    }


class _Revisited(BaseException):
    """Raised inside the student's backward() as soon as it visits a node again (a BaseException: an
    `except Exception` in the student's code does not stop it)."""


def _counted(children, visit):
    """children (a node's _prev) as a container of the same kind that calls visit() whenever it is iterated."""
    kind = type(children)
    base = set if isinstance(children, set) else tuple if isinstance(children, tuple) else list
    if kind not in (base, _CreationOrderSet):
        return children  # a container of the student's own: left alone

    class Counted(base):
        def __iter__(self):
            visit()
            return iter(sorted(base.__iter__(self), key=_creation_index)) if base is set else base.__iter__(self)

    return Counted(children)


def revisits(graph, budget=16, derivatives="own"):
    """backward() from the last node of `graph`, stopped as soon as it runs one node's _backward twice
    or walks one node's children more than `budget` times: {"backward": n} or {"children": n} (numbers
    only: a worker may hold reference code), or {} when it finishes without (a walk with a visited set)."""
    nodes, _ = build_on_reference(graph) if derivatives == "reference" else build(graph)
    counts = {}

    def visit(key, what, most):
        counts[key] = counts.get(key, 0) + 1
        if counts[key] > most:
            raise _Revisited(what, counts[key])

    for i, node in enumerate(nodes):
        def _backward(i=i, original=node._backward):
            visit(("backward", i), "backward", 1)
            original()
        node._backward = _backward
        node._prev = _counted(node._prev, lambda i=i: visit(("children", i), "children", budget))
    try:
        nodes[-1].backward()
    except _Revisited as found:
        return {found.args[0]: found.args[1]}
    return {}


def _without_gc(probe):
    """Pause the cyclic garbage collector during a probe: a graph of Values and closures is all
    reference cycles, which it would walk again and again while deep graphs are built."""
    def paused(**args):
        gc.disable()
        try:
            return probe(**args)
        finally:
            _CREATED.clear()
            _INDEX.clear()
            gc.enable()
    return paused


def graphs(items):
    """Several graph() calls in one request (each item holds graph()'s arguments), one result each."""
    return {"results": [graph(**item) for item in items]}


def _outputs(out, what):
    Value = _module("engine").Value
    if isinstance(out, Value):
        return _number(out.data, what)
    if isinstance(out, list) and all(isinstance(o, Value) for o in out):
        return [_number(o.data, f"{what}[{i}]") for i, o in enumerate(out)]
    raise TypeError(f"{what} is a {type(out).__name__}, not a Value or a list of Values")


_NEURONS_BUILT: list[tuple] = []  # (nin, nonlin) of every Neuron constructed during the current model probe


def _record_neurons(nn):
    """Wrap Neuron.__init__ to record what each neuron was built with: tells a Layer that drops
    nonlin=False, or an MLP that sizes its layers wrongly, from a Neuron that ignores them."""
    Neuron = getattr(nn, "Neuron", None)
    if not isinstance(Neuron, type) or getattr(Neuron.__init__, "_recording", False):
        return
    original = Neuron.__init__

    def __init__(self, *args, **kwargs):
        nin = args[0] if args else kwargs.get("nin")
        nonlin = args[1] if len(args) > 1 else kwargs.get("nonlin")
        _NEURONS_BUILT.append([nin if type(nin) is int else None, nonlin if type(nonlin) is bool else None])
        original(self, *args, **kwargs)

    __init__._recording = True
    Neuron.__init__ = __init__


def _first_occurrences(parameters):
    """For each parameter, the position of the first parameter that is the same object."""
    first = {}
    return [first.setdefault(id(p), i) for i, p in enumerate(parameters)]


def _parameters_of(net, cls):
    """net.parameters() as a list, each item checked to be a Value (else what it is, named for the class)."""
    Value = _module("engine").Value
    found = list(net.parameters())
    for item in found:
        if not isinstance(item, Value):
            raise TypeError(f"{cls}.parameters() returned a list holding a {type(item).__name__}, not only Values")
    return found


def _snapshot(parameters):
    return {"params": [_number(p.data, f"parameter {i}'s data") for i, p in enumerate(parameters)],
            "grads": [_number(p.grad, f"parameter {i}'s grad") for i, p in enumerate(parameters)]}


def model(cls, args, seed=0, params=None, steps=(), kwargs=None):
    """Build micrograd.nn.<cls>(*args, **kwargs) under random.seed(seed), optionally set its parameters'
    data, run steps, and report what was observed.

    Always reported: the parameters as built ("fresh", before any is set), which parameters are the
    same object ("same_as"), and (nin, nonlin) of every Neuron constructed ("neurons").
    steps: ["forward", xs] records the output(s) for each input in xs;
    ["train", xs, ys, lr, n, zero_grad] runs n steps of gradient descent on the summed squared
    error (zero_grad says whether model.zero_grad() is called before each backward);
    ["backward_loss", xs, ys] computes the loss and calls backward(); ["zero_grad"] calls
    model.zero_grad(); ["sgd", lr] does p.data -= lr * p.grad for every parameter;
    ["snapshot"] records every parameter's data and grad at that moment; ["set_grads", gs] sets the
    parameters' grads (as far as gs goes).
    """
    nn = _module("nn")
    _record_neurons(nn)
    del _NEURONS_BUILT[:]
    random.seed(seed)
    net = getattr(nn, cls)(*args, **(kwargs or {}))
    parameters = _parameters_of(net, cls)
    # The lecture calls parameters() again at every step: it must list the same Values each time.
    again = _parameters_of(net, cls)
    observed = {"forward": [], "losses": [], "snapshots": [], "neurons": list(_NEURONS_BUILT),
                "same_as": _first_occurrences(parameters), "fresh": _snapshot(parameters)["params"],
                "n_parameters_again": len(again),
                "same_again": len(again) == len(parameters)
                and all(a is b for a, b in zip(again, parameters, strict=True))}
    if params is not None:
        if len(params) != len(parameters):
            raise ValueError(f"parameters() returned {len(parameters)} values, {len(params)} were given")
        for p, x in zip(parameters, params, strict=True):
            p.data = x

    def loss(xs, ys):
        return sum((net(x) - y) ** 2 for x, y in zip(xs, ys, strict=True))

    for kind, *args_ in steps:
        if kind == "forward":
            observed["forward"].append([_outputs(net(x), "the output") for x in args_[0]])
        elif kind == "backward_loss":
            total = loss(args_[0], args_[1])
            total.backward()
            observed["losses"].append(_number(total.data, "the loss"))
        elif kind == "zero_grad":
            net.zero_grad()
        elif kind == "snapshot":
            observed["snapshots"].append(_snapshot(parameters))
        elif kind == "set_grads":
            for p, g in zip(parameters, args_[0], strict=False):
                p.grad = g
        elif kind == "sgd":
            for p in parameters:
                p.data += -args_[0] * p.grad
        elif kind == "train":
            xs, ys, lr, n, zero_grad = args_
            for _ in range(n):
                total = loss(xs, ys)
                if zero_grad:
                    net.zero_grad()
                total.backward()
                for p in net.parameters():  # called at every step, as the lecture's loop does
                    p.data += -lr * p.grad
                observed["losses"].append(_number(total.data, "the loss"))
        else:
            raise ValueError(f"unknown step {kind!r}")
    observed["n_parameters"] = len(parameters)
    observed.update(_snapshot(parameters))
    return observed


def zero_grad_alone(grads):
    """The student's Module.zero_grad on a module of the grader's whose parameters() lists fresh Values with these
    grads: zero_grad judged apart from Neuron, Layer and MLP. Not available when nn has no Module.zero_grad or a
    model class defines its own."""
    nn, Value = _module("nn"), _module("engine").Value
    Module = getattr(nn, "Module", None)
    zero_grad = getattr(Module, "zero_grad", None) if isinstance(Module, type) else None
    models = [getattr(nn, name) for name in ("Neuron", "Layer", "MLP") if isinstance(getattr(nn, name, None), type)]
    if zero_grad is None or not models or any(getattr(m, "zero_grad", None) is not zero_grad for m in models):
        return {"available": False}
    values = [Value(1.0 + i / 8) for i in range(len(grads))]
    for value, grad in zip(values, grads, strict=True):
        value.grad = grad

    class Alone(Module):
        def __init__(self):
            pass

        def parameters(self):
            return list(values)

    Alone().zero_grad()
    return {"available": True, **_snapshot(values)}


def api(names):
    """Which of these attributes micrograd.engine.Value defines (e.g. '__rsub__')."""
    Value = _module("engine").Value
    return {name: callable(getattr(Value, name, None)) for name in names}


PROBES = {"graph": _without_gc(graph), "graphs": _without_gc(graphs), "model": _without_gc(model), "api": api,
          "revisits": _without_gc(revisits), "zero_grad_alone": _without_gc(zero_grad_alone)}
