"""Pitfall identification by checks: which known student mistake explains an observation?

Runs in the trusted process. `Engine` is a small float64 model of the micrograd engine that
can be switched into one known mistake at a time ("overwrite-grad:mul", "no-seed", ...).
Given a graph (the JSON description the probes build, see grading_tests/probes/micrograd_probes.py) and
what the student's engine produced on it, `explain_graph` replays the same steps, in the
student's own order of _backward calls, under every candidate mistake and names the one
that reproduces the observation. `order_pitfall` reads the call order itself (visited
set, reversal, post-order). `PITFALLS` holds the student-facing wording of each mistake;
it never contains an expected value: tests add the student's own values to it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from . import operations
from .operations import OPERATIONS

# Operations whose _backward a student writes, and the ones built from them in the lecture.
LOCAL_OPS, COMPOSITES = operations.LOCAL_OPS, operations.COMPOSITES
EXAMPLE = {"add": "b = a + a", "mul": "b = a * a", "pow": "y = x**2 + x", "tanh": "y = x.tanh() + x",
           "relu": "y = x.relu() + x", "exp": "y = x.exp() + x"}
DERIVATIVE = {"add": "1 for both inputs", "mul": "the other input's data", "pow": "n * x**(n-1)",
              "tanh": "1 - t**2 with t = out.data", "relu": "1 where out.data > 0, else 0",
              "exp": "out.data"}

PITFALLS: dict[str, str] = {
    **{f"overwrite-grad:{op}": (f"gradient overwritten instead of accumulated in {op}'s _backward: when a node "
                                f"is used twice (as in {EXAMPLE[op]}) its .grad must count both uses, so add "
                                "into it with += instead of assigning with =") for op in LOCAL_OPS},
    **{f"no-upstream-grad:{op}": (f"missing `* out.grad` in {op}'s _backward: the chain rule multiplies the "
                                  f"local derivative ({DERIVATIVE[op]}) by the gradient arriving at the output")
       for op in LOCAL_OPS},
    **{f"forward:{op}": f"wrong forward value of {op}" for op in (*LOCAL_OPS, *COMPOSITES)},
    **{f"forward:r{op}": (f"wrong value of `2 {symbol} x`: for a plain number on the left Python calls your "
                          f"__r{op}__, which must give the same as x {symbol} 2") for op, symbol in (("add", "+"),
                                                                                               ("mul", "*"))},
    **{f"wrong-derivative:{op}": (f"wrong local derivative in {op}'s _backward (a finite difference of your own "
                                  "forward disagrees with your gradient)") for op in (*LOCAL_OPS, *COMPOSITES)},
    **{f"missing-input-grad:{op}": (f"{op}'s _backward never passes a gradient to its second input (other): "
                                    f"both inputs of {op} need their own `+=` line") for op in ("add", "mul")},
    "pow-precedence": ("operator precedence in pow's _backward: `other * self.data ** other - 1 * out.grad` "
                       "computes n * x**n - out.grad; write other * self.data**(other - 1) * out.grad"),
    "mul-derivative-swapped": ("mul's _backward uses each input's own data: d(a*b)/da is b (other.data), "
                               "d(a*b)/db is a (self.data)"),
    "tanh-derivative-from-input": ("tanh's derivative computed from the input: it is 1 - t**2 where t is the "
                                   "OUTPUT tanh(x), not 1 - x**2"),
    "exp-derivative-from-input": "exp's derivative computed from the input: d exp(x)/dx is exp(x) (out.data), not x",
    "pow-rule-off-by-one": "power rule off by one: d(x**n)/dx is n * x**(n-1), not n * x**n",
    "pow-rule-missing-factor": "power rule without its factor n: d(x**n)/dx is n * x**(n-1), not x**(n-1)",
    "relu-gradient-at-zero": ("ReLU passes gradient at exactly 0: like torch, use gradient 0 where the output is "
                              "not positive (x > 0, not x >= 0)"),
    "relu-mask-always-open": ("ReLU's mask lets gradient through for negative inputs: out.data >= 0 is always "
                              "true; use out.data > 0"),
    "sub-derivative-sign": "subtraction's derivative for the right operand must be -1 (a - b decreases as b grows)",
    "div-derivative-sign": "division's derivative for the divisor is -a / b**2 (note the minus sign)",
    "reflected-operand-order:rsub": "`number - value` computes value - number: __rsub__ must return other - self",
    "reflected-operand-order:rtruediv": "`number / value` computes value / number: __rtruediv__ must return "
                                       "other * self**-1",
    "tanh-overflow": ("tanh fails or loses precision for large inputs: the exp formula overflows near |x| = 355; "
                      "use math.tanh or a form that only takes exp of a negative number"),
    "no-seed": "backward() never seeds the output: set self.grad = 1 before walking the graph",
    "backward-no-walk": ("backward() never called _backward on any node, so no gradient reached the inputs: "
                         "after seeding, call _backward on every node of the sorted graph, from the output back"),
    "seed-after-walk": ("backward() sets self.grad = 1 after walking the graph: seed the output BEFORE the walk, "
                        "or the output's _backward passes a gradient of 0 on"),
    "seed-added": ("backward() seeds the output with self.grad += 1: the gradient left by an earlier backward() "
                   "makes the seed 2; set self.grad = 1"),
    "backward-resets-leaf-grads": ("backward() resets the gradients of leaves (parameters): gradients must add up "
                                   "across backward() calls until zero_grad() clears them"),
    "topo-no-visited": ("the topological sort has no visited set: a node reached along two paths is added and "
                        "back-propagated twice (and deep diamonds take exponential time)"),
    "topo-not-reversed": ("nodes visited before their parents: reverse the topological order so the output's "
                          "_backward runs first"),
    "topo-pre-order": ("a node's _backward ran before every node using it had passed its gradient on: build_topo "
                       "must append a node AFTER its children (post-order), then walk the list in reverse"),
    "topo-recursion-limit": ("recursive sort hits the recursion limit: use an explicit stack (a graph deeper than "
                             "Python's recursion limit, about 1000 nested calls, cannot be sorted by recursion)"),
    "topo-incomplete": "backward() did not reach every node of the graph: build_topo must recurse into _prev",
    "wrong-gradient": "wrong gradients",
    "forward-wrong-nearby": ("your forward pass is wrong near these inputs: central differences of your own forward "
                             "disagree with the true derivative, so fix the forward computation first"),
    "gradient-disagrees-with-forward": ("your gradients disagree with central differences of your own forward pass "
                                        "(which is right): the mistake is in a _backward"),
    **{f"missing-operator:{name}": (f"Value has no {name}: Python calls it for `{example}`, so that expression "
                                    "fails") for name, example in (
        ("__radd__", "2 + x"), ("__rmul__", "2 * x"), ("__rsub__", "2 - x"), ("__rtruediv__", "2 / x"),
        ("__neg__", "-x"), ("__sub__", "x - y"), ("__truediv__", "x / y"), ("__pow__", "x ** 2"))},
    **{f"number-not-wrapped:{op}": (f"a plain number is not wrapped in {op}: start with `other = other if "
                                    "isinstance(other, Value) else Value(other)`") for op in ("add", "mul")},
    "pow-float-exponent": "Value ** float fails: __pow__ must accept int and float exponents (e.g. x ** 0.5)",
    **{f"children-not-values:{op}": (f"{op}'s output lists a plain number among its children: backward() visits every "
                                     "child, so pass only Values as _children") for op in LOCAL_OPS},
    "value-equality": ("Value compares (or hashes) nodes by their data: two different nodes with equal values count "
                       "as one in the visited set and in _prev; compare them by identity"),
    # nn
    "parameters-missing-bias": "parameters() leaves out the biases: a Neuron's parameters are its weights AND its bias",
    "parameters-skip-layer": "MLP.parameters() skips a layer: collect the parameters of every layer",
    "mlp-layer-sizes": ("MLP builds its layers with the wrong input sizes: layer i takes sz[i] inputs and has "
                        "sz[i+1] neurons, with sz = [nin] + nouts"),
    "parameter-count": "parameters() returns the wrong number of parameters",
    "parameters-order": ("parameters() is in the wrong order: list each neuron's weights first, then its bias, "
                         "neuron by neuron and layer by layer"),
    "activation-missing": "the neuron's output is not passed through tanh: return act.tanh() when nonlin",
    "mlp-linear-last-layer": ("the MLP's last layer has no tanh: in this course every layer of the MLP applies "
                              "tanh (Layer(sz[i], sz[i + 1]) with the default nonlin=True)"),
    "bias-not-in-forward": "the bias is missing from the neuron's forward pass: act = sum of w_i * x_i, plus b",
    "layer-single-output-list": ("a Layer with a single neuron must return that neuron's Value itself, not a list "
                                 "of one Value"),
    "activation-not-tanh": ("the neuron uses another activation than tanh: this course's neurons return "
                            "act.tanh() (when nonlin)"),
    "neuron-ignores-nonlin": ("Neuron ignores nonlin=False: a neuron built with nonlin=False returns act itself, "
                              "without tanh (the linear neurons of a last layer)"),
    "layer-drops-kwargs": ("Layer does not pass nonlin=False on to its neurons: build each one with "
                           "Neuron(nin, **kwargs)"),
    "parameters-shared-object": ("one Value object appears several times in parameters(): `[Value(...)] * nin` "
                                 "repeats ONE Value, so every weight is the same number and moves together; "
                                 "make a new Value(random.uniform(-1, 1)) per weight, e.g. in a list comprehension"),
    "layer-repeats-neuron": ("the layer's neurons are one Neuron object repeated: `[Neuron(nin)] * nout` repeats "
                             "ONE neuron; build each with its own Neuron(nin, **kwargs), e.g. in a list comprehension"),
    "init-out-of-range": "fresh parameters must be drawn from random.uniform(-1, 1): a value lies outside [-1, 1]",
    "init-constant": ("every parameter starts with the same value (all 0, say): draw each from "
                      "random.uniform(-1, 1), or neurons compute the same thing and never become different"),
    "init-not-symmetric": ("fresh parameters are never negative: random.random() draws from [0, 1); use "
                           "random.uniform(-1, 1)"),
    "init-one-draw-per-neuron": ("all weights of a neuron start equal: call random.uniform(-1, 1) once per weight, "
                                 "not once per neuron"),
    "init-neurons-identical": ("several neurons start with the same weights and bias (is random.seed called inside "
                               "Neuron?): identical neurons get identical gradients and never become different"),
    "mlp-layers-not-chained": ("the MLP feeds the original input x to every layer: pass each layer's output on to "
                               "the next (x = layer(x))"),
    "mlp-returns-inside-loop": ("MLP.__call__ returns after the first layer: the return belongs after the loop over "
                                "the layers"),
    "mlp-output-list": ("an MLP whose last layer has one neuron must return that Value itself: return the last "
                        "layer's output as it is"),
    "bias-detached": ("the biases get no gradient: the neuron's sum uses the bias's .data (a plain number) "
                      "instead of the Value self.b, so backward() never reaches it"),
    "weights-detached": ("the weights get no gradient: the neuron's sum uses each weight's .data (a plain number) "
                         "instead of the Value, so backward() never reaches them"),
    "nn-forward-wrong": "the network's output is wrong",
    "nn-gradient": ("the parameters' gradients after loss.backward() are wrong (if tests of operations or "
                    "backward() fail too, fix those first)"),
    # training
    "zero-grad-noop": ("zero_grad() does not reset the gradients: they pile up across training steps, exactly like a "
                       "training loop that forgets zero_grad(); assign p.grad = 0 for every parameter"),
    "zero-grad-weights-only": "zero_grad leaves biases untouched: it must reset every parameter, biases included",
    "zero-grad-zeroes-data": "zero_grad() sets the parameters' data to 0: it must reset p.grad, not p.data",
    "zero-grad-incomplete": "zero_grad() leaves some parameters' gradients non-zero",
    "training-own-engine": ("the lecture's training loop goes wrong on your own engine, while your nn.py trains "
                            "right on a reference engine: fix the failing tests of operations, backward() or the "
                            "topological sort first"),
    "training-trajectory": ("the training loop's losses or parameters go wrong (if tests of operations or "
                            "backward() fail too, fix those first)"),
}


# Known wrong formulas: (operation, the local derivatives a student wrote), replayed instead of the table's.
WRONG_FORMULAS = {
    "mul-derivative-swapped": ("mul", lambda a, b, out: (a, b)),
    "tanh-derivative-from-input": ("tanh", lambda a, out: (1 - a * a,)),
    "exp-derivative-from-input": ("exp", lambda a, out: (a,)),
    "pow-rule-off-by-one": ("pow", lambda a, n, out: (n * a ** n,)),
    "pow-rule-missing-factor": ("pow", lambda a, n, out: (a ** (n - 1),)),
    "relu-gradient-at-zero": ("relu", lambda a, out: (float(a >= 0),)),
    "relu-mask-always-open": ("relu", lambda a, out: (1.0,)),
}


@dataclass(frozen=True)
class Tolerance:
    rel: float
    abs: float
    finite_difference: float = 1e-5  # CS231n relative error allowed for a central difference

    def close(self, observed: float, expected: float) -> bool:
        return not math.isnan(observed) and math.isclose(observed, expected, rel_tol=self.rel, abs_tol=self.abs)


def size(graph: dict) -> int:
    return len(graph["leaves"]) + len(graph["ops"])


# id(ops) -> (ops, the input nodes of every node, leaves first). The suites' graphs are made once per
# session and walked for every submission: a 10,000-node chain would cost ~30 ms a submission to re-read.
# Holding `ops` keeps its id from being reused; a list that changed length is read again.
_NODE_INPUTS: dict[int, tuple[list, list[tuple[int, ...]]]] = {}
_NODE_INPUTS_KEPT = 256


def node_inputs(graph: dict) -> list[tuple[int, ...]]:
    """The node indices each node of the graph reads (plain numbers are not nodes; leaves read none)."""
    ops, n_leaves = graph["ops"], len(graph["leaves"])
    cached = _NODE_INPUTS.get(id(ops))
    if cached is None or len(cached[1]) != n_leaves + len(ops):
        if len(_NODE_INPUTS) >= _NODE_INPUTS_KEPT:  # graphs made per call (perturbed copies share their ops)
            _NODE_INPUTS.clear()
        cached = _NODE_INPUTS[id(ops)] = (ops, [()] * n_leaves + [tuple(operations.inputs(op)) for op in ops])
    return cached[1]


def inputs(graph: dict, node: int) -> tuple[int, ...]:
    """The node indices an op node reads (plain numbers are not nodes)."""
    return () if node < len(graph["leaves"]) else node_inputs(graph)[node]


def reachable(graph: dict, root: int) -> set[int]:
    reads = node_inputs(graph)
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(reads[node])
    return seen


def computed_from(graph: dict, *nodes: int) -> set[int]:
    """The nodes the output is computed from, and those `nodes` are (a random graph may hold nodes that reach
    neither: feedback and pictures leave them out)."""
    return set().union(*(reachable(graph, node) for node in (size(graph) - 1, *nodes)))


def topological(graph: dict, root: int) -> list[int]:
    """Children before parents (iterative: graphs may be thousands of nodes deep)."""
    reads = node_inputs(graph)
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in reads[node])
    return order


def reference_walk(graph: dict, upstream: float = 1.0) -> list:
    """Steps that backpropagate from the last node over the student's own _backward closures in
    the reference order (its seed, then each op node's _backward, output first): what
    backward() does, without the student's backward()."""
    root = size(graph) - 1
    n_leaves = len(graph["leaves"])
    return [["set_grad", root, upstream],
            *(["local_backward", node] for node in reversed(topological(graph, root)) if node >= n_leaves)]


def ops_in(graph: dict) -> set[str]:
    """The student-written operations a graph exercises (composites count as what they are built from)."""
    used = set()
    for op, *_ in graph["ops"]:
        used.update(COMPOSITES.get(op, (op,)))
    return used


class Engine:
    """A float64 model of micrograd's Value graph with at most one known mistake switched on."""

    def __init__(self, graph: dict, bug: str | None = None):
        self.graph, self.bug = graph, bug
        self.n_leaves = len(graph["leaves"])
        self.data = [float(x) for x in graph["leaves"]]
        for op in graph["ops"]:
            self.data.append(operations.forward(op, self._value))
        self.grad = [0.0] * len(self.data)

    def _value(self, ref) -> float:
        return float(ref["c"]) if isinstance(ref, dict) else self.data[ref]

    # -- local derivatives ------------------------------------------------------------------
    def _accumulate(self, ref, local: float, upstream: float, op: str) -> None:
        """What `ref.grad += local * out.grad` does in op's _backward, with the mistake if any."""
        if isinstance(ref, dict):
            return
        value = local * (1.0 if self.bug == f"no-upstream-grad:{op}" else upstream)
        if self.bug == f"overwrite-grad:{op}":
            self.grad[ref] = value
        else:
            self.grad[ref] += value

    def _local(self, op: str, *args: float) -> tuple[float, ...]:
        """The local derivatives op's _backward computes: the table's, or the known wrong formula."""
        wrong = WRONG_FORMULAS.get(self.bug)
        return (wrong[1] if wrong and wrong[0] == op else OPERATIONS[op].derivative)(*args)

    def _product(self, left: tuple, right: tuple, g: float) -> tuple[float, float]:
        """`left * right` as mul's _backward sees it, left being `self`. Each side is (ref, data) with ref
        a node index, a plain number ({"c": ...}) or None for a Value made inside sub or truediv;
        returns the gradient each side is sent (what such an intermediate Value receives)."""
        (left_ref, left_data), (right_ref, right_data) = left, right
        d_left, d_right = self._local("mul", left_data, right_data, left_data * right_data)
        if self.bug == "missing-input-grad:mul":
            d_right, right_ref = 0.0, None
        upstream = 1.0 if self.bug == "no-upstream-grad:mul" else g
        for ref, local in ((left_ref, d_left), (right_ref, d_right)):
            if ref is not None:
                self._accumulate(ref, local, g, "mul")
        return d_left * upstream, d_right * upstream

    def _pow(self, a, n: float, g: float) -> None:
        x = self._value(a)
        if self.bug == "pow-precedence":  # other * self.data ** other - 1 * out.grad
            self._accumulate(a, n * x ** n - g, 1.0, "pow")
            return
        self._accumulate(a, self._local("pow", x, n, x ** n)[0], g, "pow")

    def local_backward(self, node: int) -> None:
        if node < self.n_leaves:
            return
        op, *refs = self.graph["ops"][node - self.n_leaves]
        g, t = self.grad[node], self.data[node]
        if op in ("add", "mul") and isinstance(refs[0], dict):
            refs = refs[::-1]  # `2 + x` runs as x.__radd__(2), i.e. x + 2: the Value is `self`
        a = refs[0]
        x = self._value(a)
        if op == "add":
            self._accumulate(a, 1.0, g, "add")
            if self.bug != "missing-input-grad:add":
                self._accumulate(refs[1], 1.0, g, "add")
        elif op == "mul":
            self._product((a, x), (refs[1], self._value(refs[1])), g)
        elif op == "pow":
            self._pow(a, refs[1], g)
        elif op in ("tanh", "relu", "exp"):
            self._accumulate(a, self._local(op, x, t)[0], g, op)
        elif op == "neg":  # self * -1
            self._product((a, x), (None, -1.0), g)
        elif op == "sub":  # self + (-other); other + (-self) when a plain number is on the left
            b = refs[1]
            self._accumulate(a, 1.0, g, "add")
            if self.bug == "sub-derivative-sign" and not isinstance(a, dict):  # its own __sub__
                self._accumulate(b, 1.0, g, "sub")
            else:  # -other, made inside: add's `other`, unless a plain number is on the left (then `self`)
                negated = 1.0 if self.bug == "no-upstream-grad:add" else g
                if self.bug == "missing-input-grad:add" and not isinstance(a, dict):
                    negated = 0.0
                self._product((b, self._value(b)), (None, -1.0), negated)
        elif op == "truediv":  # self * other**-1; other * self**-1 when a plain number is on the left
            b = refs[1]
            y = self._value(b)
            if self.bug == "div-derivative-sign" and not isinstance(a, dict):  # its own __truediv__
                self._accumulate(a, 1 / y, g, "div")
                self._accumulate(b, x / y ** 2, g, "div")
            elif isinstance(b, dict):  # other**-1 is a plain number
                self._product((a, x), (b, 1 / y), g)
            elif isinstance(a, dict):  # number * self**-1 runs as (self**-1).__rmul__(number)
                inverse_grad, _ = self._product((None, 1 / y), (a, x), g)
                self._pow(b, -1.0, inverse_grad)
            else:
                _, inverse_grad = self._product((a, x), (None, 1 / y), g)
                self._pow(b, -1.0, inverse_grad)

    # -- backward ----------------------------------------------------------------------------
    def backward(self, root: int, calls: Sequence[int] | None = None) -> None:
        topo = topological(self.graph, root)
        # Like torch (and the reference), only leaves keep earlier gradients; the lecture's backward()
        # resets nothing, which leaves the same leaf gradients (the seed-after-walk and seed-added
        # mistakes are written that way).
        if self.bug not in ("seed-after-walk", "seed-added"):
            for node in topo:
                if node >= self.n_leaves or self.bug == "backward-resets-leaf-grads":
                    self.grad[node] = 0.0
        if self.bug not in ("no-seed", "seed-after-walk"):
            self.grad[root] = self.grad[root] + 1.0 if self.bug == "seed-added" else 1.0
        for node in calls if calls is not None else reversed(topo):
            self.local_backward(node)
        if self.bug == "seed-after-walk":
            self.grad[root] = 1.0

    def run(self, steps: Iterable, calls: Sequence[Sequence[int]] | None = None) -> Engine:
        """Apply probe steps (see probes.graph); calls[k] replays the student's order for the k-th backward."""
        k = 0
        for kind, *args in steps:
            if kind == "backward":
                self.backward(args[0], calls[k] if calls is not None and k < len(calls) else None)
                k += 1
            elif kind == "local_backward":
                self.local_backward(args[0])
                k += 1
            elif kind == "set_grad":
                self.grad[args[0]] = float(args[1])
            elif kind == "zero_grad":
                self.grad = [0.0] * len(self.grad)
        return self


def default_steps(graph: dict) -> list:
    return [["backward", size(graph) - 1]]


def candidates_for(graph: dict) -> list[str]:
    """The engine mistakes that could show on this graph."""
    used = ops_in(graph)
    ops = {op for op, *_ in graph["ops"]}
    found = [f"{kind}:{op}" for op in LOCAL_OPS if op in used for kind in ("no-upstream-grad", "overwrite-grad")]
    found += [f"missing-input-grad:{op}" for op in ("add", "mul") if op in used]
    found += [bug for bug, (op, _) in WRONG_FORMULAS.items() if op in used]
    found += ["pow-precedence"] if "pow" in used else []
    found += [bug for bug, op in (("sub-derivative-sign", "sub"), ("div-derivative-sign", "truediv")) if op in ops]
    return [*found, *SEED_BUGS]


# Mistakes of backward() itself, in the order they are tried.
SEED_BUGS = ("no-seed", "seed-after-walk", "seed-added", "backward-resets-leaf-grads")


def order_pitfall(graph: dict, steps: Sequence, calls: Sequence[Sequence[int]]) -> str | None:
    """Check the order of the student's _backward calls in each backward() step. Only op nodes count:
    a leaf's _backward does nothing, so skipping, repeating or reordering leaves is harmless."""
    n_leaves = len(graph["leaves"])
    for (kind, *args), step_calls in zip(
            [s for s in steps if s[0] in ("backward", "local_backward")], calls, strict=False):
        if kind != "backward":
            continue
        nodes = {node for node in reachable(graph, args[0]) if node >= n_leaves}
        step_calls = [node for node in step_calls if node >= n_leaves]
        if len(step_calls) != len(set(step_calls)):
            return "topo-no-visited"
        if not nodes <= set(step_calls):
            return "topo-incomplete"
        position = {node: i for i, node in enumerate(step_calls)}
        reads = node_inputs(graph)
        edges = [(user, node) for user in nodes for node in reads[user] if node >= n_leaves]
        wrong = sum(position[user] > position[node] for user, node in edges)
        if wrong and wrong == len(edges):
            return "topo-not-reversed"
        if wrong:
            return "topo-pre-order"
    return None


ORDER_PRIORITY = ("topo-no-visited", "topo-incomplete", "topo-pre-order", "topo-not-reversed")


def order_pitfall_of_batch(graphs: Sequence[dict], steps: Sequence[Sequence], calls: Sequence) -> str | None:
    """The call-order pitfall seen on any graph; a pre-order sort looks reversed on trees, so it wins."""
    found = {order_pitfall(g, s, c) for g, s, c in zip(graphs, steps, calls, strict=True) if c is not None}
    return next((pitfall for pitfall in ORDER_PRIORITY if pitfall in found), None)


def matches(engine: Engine, data: Sequence[float], grad: Sequence[float], tolerance: Tolerance,
            nodes: Iterable[int]) -> bool:
    return all(tolerance.close(data[i], engine.data[i]) and tolerance.close(grad[i], engine.grad[i]) for i in nodes)


def reproduces(bug: str | None, graph: dict, steps: Sequence, data: Sequence[float], grad: Sequence[float],
               calls: Sequence[Sequence[int]] | None, tolerance: Tolerance, leaves_only: bool) -> bool:
    try:
        engine = Engine(graph, bug).run(steps, calls)
    except (ArithmeticError, ValueError, IndexError, TypeError):  # calls come from the untrusted worker
        return False
    return matches(engine, data, grad, tolerance, range(len(graph["leaves"]) if leaves_only else size(graph)))


def explain_graph(graph: dict, steps: Sequence | None, data: Sequence[float], grad: Sequence[float],
                  calls: Sequence[Sequence[int]] | None, tolerance: Tolerance, *,
                  candidates: Sequence[str] | None = None, leaves_only: bool = False) -> str | None:
    """The known mistake that reproduces the student's data and gradients on this graph, if any."""
    return explain_batch([graph], [steps], [(data, grad, calls)], tolerance, candidates=candidates,
                         leaves_only=leaves_only)


def explain_batch(graphs: Sequence[dict], steps: Sequence[Sequence | None], observations: Sequence[tuple],
                  tolerance: Tolerance, *, candidates: Sequence[str] | None = None,
                  leaves_only: bool = False, judge_order: bool = True) -> str | None:
    """The known mistake that reproduces the student's observations on ALL these graphs at once.

    observations[i] is (data, grad, calls) for graphs[i]; calls (per backward step, or None) first
    decide on the sort order (unless not judge_order: graphs on which any order is right), then
    each candidate mistake is replayed in the student's own order."""
    steps = [default_steps(g) if s is None else s for g, s in zip(graphs, steps, strict=True)]
    order = order_pitfall_of_batch(graphs, steps, [calls for _, _, calls in observations]) if judge_order else None
    if order:
        return order
    if candidates is None:
        candidates = list(dict.fromkeys(bug for g in graphs for bug in candidates_for(g)))
    for bug in candidates:
        if all(reproduces(bug, g, s, data, grad, calls, tolerance, leaves_only)
               for g, s, (data, grad, calls) in zip(graphs, steps, observations, strict=True)):
            return bug
    return None


def relative_error(a: float, b: float) -> float:
    """CS231n's relative error |a - b| / max(|a|, |b|) (0 when both are 0)."""
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def finite_difference_agrees(difference: float, gradient: float, limit: float, floor: float = 1e-7) -> bool:
    """A central difference agrees with a gradient: small relative error, or both are (numerically) zero."""
    return abs(difference - gradient) < floor or relative_error(difference, gradient) < limit


def perturbed(graph: dict, leaf: int, h: float) -> dict:
    leaves = list(graph["leaves"])
    leaves[leaf] += h
    return {"leaves": leaves, "ops": graph["ops"]}


def central_differences(graph: dict, h: float = 1e-5) -> list[dict]:
    """The graphs whose outputs give a central difference for every leaf: [x0+h, x0-h, x1+h, ...]."""
    return [perturbed(graph, leaf, sign * h) for leaf in range(len(graph["leaves"])) for sign in (1, -1)]


def finite_difference_gradient(outputs: Sequence[float], h: float = 1e-5) -> list[float]:
    """Gradient per leaf from the outputs of central_differences()' graphs."""
    return [(outputs[2 * i] - outputs[2 * i + 1]) / (2 * h) for i in range(len(outputs) // 2)]
