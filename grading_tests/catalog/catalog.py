"""Bug catalog and correct variants of the micrograd reference, for `course validate`.

Hidden from students. Every entry is a list of text replacements (file, old, new) applied to
solutions/micrograd/<file> after autograder.markers.strip_markers: one source of truth, no copies.
`old` must occur exactly once. A correct variant must score full marks; a bug must lose points in
`part` and every failing test of that part must carry the diagnosis `pitfall`.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    id: str
    description: str
    patches: tuple[tuple[str, str, str], ...]  # (file, old, new)
    part: str | None = None  # bugs only: the part that must lose points
    pitfall: str | None = None  # bugs only: the diagnosis its failing tests in `part` must carry


def engine(old: str, new: str) -> tuple[str, str, str]:
    return ("engine.py", old, new)


def nn(old: str, new: str) -> tuple[str, str, str]:
    return ("nn.py", old, new)


REFERENCE_SORT = """        topo, visited, stack = [], set(), [(self, False)]
        while stack:
            node, children_done = stack.pop()
            if children_done:
                topo.append(node)
            elif node not in visited:
                visited.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child in node._prev)
"""


def lecture_sort(visited_check: str = "if v not in visited:", append_first: bool = False) -> str:
    """The lecture's recursive build_topo, optionally with a mistake."""
    append = "                topo.append(v)\n"
    return ("        topo, visited = [], set()\n\n"
            "        def build_topo(v):\n"
            f"            {visited_check}\n"
            "                visited.add(v)\n"
            + (append if append_first else "")
            + "                for child in v._prev:\n"
            "                    build_topo(child)\n"
            + ("" if append_first else append)
            + "        build_topo(self)\n")


def own_op(name: str, symbol: str, forward: str, backward: tuple[str, str]) -> str:
    """__sub__ or __truediv__ written as its own operation (not built from + and *)."""
    return (f"    def {name}(self, other):  # self {symbol} other\n"
            "        other = other if isinstance(other, Value) else Value(other)\n"
            f"        out = Value({forward}, (self, other), '{symbol}')\n\n"
            "        def _backward():\n"
            f"            self.grad += {backward[0]}\n"
            f"            other.grad += {backward[1]}\n"
            "        out._backward = _backward\n\n"
            "        return out\n")


SUB = "    def __sub__(self, other):  # self - other\n        return self + (-other)\n"
DIV = "    def __truediv__(self, other):  # self / other\n        return self * other**-1\n"
NEG = "    def __neg__(self):  # -self\n        return self * -1\n"
OWN_NEG = ("    def __neg__(self):  # -self\n"
           "        out = Value(-self.data, (self,), 'neg')\n\n"
           "        def _backward():\n"
           "            self.grad += -out.grad\n"
           "        out._backward = _backward\n\n"
           "        return out\n")

ADD = ("            self.grad += out.grad\n            other.grad += out.grad\n")
MUL = ("            self.grad += other.data * out.grad\n            other.grad += self.data * out.grad\n")
POW = "self.grad += other * self.data**(other - 1) * out.grad"
TANH = "self.grad += (1 - t**2) * out.grad"
RELU = "self.grad += (out.data > 0) * out.grad"
EXP = "self.grad += out.data * out.grad"
WRAP_ADD = ("        other = other if isinstance(other, Value) else Value(other)\n"
            "        out = Value(self.data + other.data, (self, other), '+')\n")
WRAP_MUL = ("        other = other if isinstance(other, Value) else Value(other)\n"
            "        out = Value(self.data * other.data, (self, other), '*')\n")
KAHN_SORT = """        # Kahn's algorithm: count each node's users, then take a node when all its users are done.
        users, seen, stack = {}, {self}, [self]
        while stack:
            node = stack.pop()
            for child in node._prev:
                users[child] = users.get(child, 0) + 1
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        order, ready = [], [self]
        while ready:
            node = ready.pop()
            order.append(node)
            for child in node._prev:
                users[child] -= 1
                if users[child] == 0:
                    ready.append(child)
        topo = order[::-1]
"""
WALK = "        for node in reversed(topo):\n            node._backward()\n"
RESET = ("        # Like torch, only leaves keep their gradients from an earlier backward().\n"
         "        for node in topo:\n            if node._prev:\n                node.grad = 0.0\n")

# Diagnoses that name no specific mistake: `course validate` accepts them from any bug, anywhere.
GENERIC_PITFALLS = ("error", "wrong-gradient", "gradient-disagrees-with-forward", "forward-wrong-nearby", "timeout",
                    "walk-revisits",  # a time-out, with the evidence that backward() revisits nodes
                    "crash", "not-implemented", "nn-forward-wrong", "nn-gradient", "training-trajectory",
                    "training-own-engine")  # the end-to-end loop: "your engine", named in the engine's parts

CORRECT = [
    # -- kept from issue 20's fresh and real code: correct code that leans on the student's own engine --------
    Entry("zero-grad-value-method", "zero_grad calls a Value.zero_grad the student's engine defines",
          (engine("    def __repr__(self):\n", "    def zero_grad(self):\n        self.grad = 0.0\n\n"
                                               "    def __repr__(self):\n"),
           nn("            p.grad = 0.0\n", "            p.zero_grad()\n"))),
    Entry("grad-property", "grad is a property over _grad, and zero_grad writes p._grad",
          (engine("    def __repr__(self):\n", "    @property\n    def grad(self):\n        return self._grad\n\n"
                                               "    @grad.setter\n    def grad(self, value):\n"
                                               "        self._grad = value\n\n    def __repr__(self):\n"),
           nn("            p.grad = 0.0\n", "            p._grad = 0.0\n"))),
    Entry("no-reset-seed-assign", "the lecture's backward() with an explicit stack: self.grad = 1 and no reset of "
          "any gradient (interior gradients after a repeated backward() are not graded)",
          (engine(RESET + "        self.grad += 1.0\n", "        self.grad = 1.0\n"),)),
    Entry("kahn-sort", "Kahn's algorithm: count each node's users, then take a node once all its users are done",
          (engine(REFERENCE_SORT, KAHN_SORT),)),
    Entry("reversed-by-slicing", "walks topo[::-1] instead of reversed(topo)",
          (engine("for node in reversed(topo):", "for node in topo[::-1]:"),)),
    Entry("int-seed", "seeds with the int 1", (engine("        self.grad += 1.0\n", "        self.grad += 1\n"),)),
    Entry("tanh-derivative-from-out-data", "tanh's derivative from out.data instead of t",
          (engine(TANH, "self.grad += (1 - out.data**2) * out.grad"),)),
    Entry("exp-derivative-recomputed", "exp's derivative recomputed with math.exp(self.data)",
          (engine(EXP, "self.grad += math.exp(self.data) * out.grad"),)),
    Entry("own-sub-div-neg", "subtraction, division and negation as their own operations",
          (engine(SUB, own_op("__sub__", "-", "self.data - other.data", ("out.grad", "-out.grad"))),
           engine(DIV, own_op("__truediv__", "/", "self.data / other.data",
                              ("out.grad / other.data", "-self.data / other.data**2 * out.grad"))),
           engine(NEG, OWN_NEG))),
    Entry("tanh-safe-exp-formula", "tanh from exp, in a form that never overflows (exp of a negative number only)",
          (engine("        t = math.tanh(self.data)",
                  "        e = math.expm1(-2 * abs(self.data))\n        t = math.copysign(-e / (2 + e), self.data)"),)),
    Entry("prev-tuple", "_prev as a tuple (a + a lists a twice)",
          (engine("self._prev = set(_children)", "self._prev = tuple(_children)"),)),
    Entry("relu-max-input-mask", "relu with max() and a mask taken from the input",
          (engine("out = Value(0 if self.data < 0 else self.data, (self,), 'ReLU')",
                  "out = Value(max(0.0, self.data), (self,), 'ReLU')"),
           engine("self.grad += (out.data > 0) * out.grad", "self.grad += (self.data > 0) * out.grad"))),
    Entry("nn-plain-loops", "the nn library with index loops and append/extend instead of zip and comprehensions",
          (nn("        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)\n",
              "        act = self.b\n        for i in range(len(self.w)):\n            act = act + self.w[i] * x[i]\n"),
           nn("        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]\n",
              "        self.neurons = []\n        for _ in range(nout):\n"
              "            self.neurons.append(Neuron(nin, **kwargs))\n"),
           nn("        return [p for n in self.neurons for p in n.parameters()]\n",
              "        params = []\n        for neuron in self.neurons:\n"
              "            params.extend(neuron.parameters())\n        return params\n"),
           nn("        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]\n",
              "        self.w = []\n        for _ in range(nin):\n"
              "            self.w.append(Value(random.uniform(-1, 1)))\n"))),
    Entry("nn-functional-style", "layer sizes with zip, parameters with itertools.chain, the forward with "
          "functools.reduce, zero_grad per layer",
          (nn("import random\n", "import functools\nimport itertools\nimport random\n"),
           nn("        sz = [nin] + nouts\n"
              "        self.layers = [Layer(sz[i], sz[i + 1]) for i in range(len(nouts))]\n",
              "        sizes = [nin, *nouts]\n        self.layers = [Layer(a, b) for a, b in zip(sizes, sizes[1:])]\n"),
           nn("        for layer in self.layers:\n            x = layer(x)\n        return x\n",
              "        return functools.reduce(lambda acc, layer: layer(acc), self.layers, x)\n"),
           nn("        return [p for layer in self.layers for p in layer.parameters()]\n",
              "        return list(itertools.chain.from_iterable(layer.parameters() for layer in self.layers))\n\n"
              "    def zero_grad(self):\n        for layer in self.layers:\n            layer.zero_grad()\n"))),
]

ZERO_GRAD = "        for p in self.parameters():\n            p.grad = 0.0\n"
NEURON_INIT = ("        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]\n"
               "        self.b = Value(random.uniform(-1, 1))\n")
NONLIN_RETURN = "        return act.tanh() if self.nonlin else act\n"
LAYER_NEURONS = "        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]\n"
MLP_CALL = "        for layer in self.layers:\n            x = layer(x)\n        return x\n"

BUGS = [
    # -- accumulation: `=` instead of `+=` (shows only when a node is used twice) ------------------
    Entry("add-overwrite", "add assigns its inputs' gradients", (engine(ADD, ADD.replace("+=", "=")),),
          "operations", "overwrite-grad:add"),
    Entry("mul-overwrite", "mul assigns its inputs' gradients", (engine(MUL, MUL.replace("+=", "=")),),
          "operations", "overwrite-grad:mul"),
    Entry("pow-overwrite", "pow assigns", (engine(POW, POW.replace("+=", "=")),), "operations", "overwrite-grad:pow"),
    Entry("tanh-overwrite", "tanh assigns", (engine(TANH, TANH.replace("+=", "=")),), "operations",
          "overwrite-grad:tanh"),
    Entry("relu-overwrite", "relu assigns", (engine(RELU, RELU.replace("+=", "=")),), "operations",
          "overwrite-grad:relu"),
    Entry("exp-overwrite", "exp assigns", (engine(EXP, EXP.replace("+=", "=")),), "operations", "overwrite-grad:exp"),
    # -- chain rule: missing `* out.grad` ---------------------------------------------------------------
    Entry("add-no-upstream", "add passes 1 instead of out.grad",
          (engine(ADD, "            self.grad += 1.0\n            other.grad += 1.0\n"),),
          "operations", "no-upstream-grad:add"),
    Entry("mul-no-upstream", "mul forgets * out.grad", (engine(MUL, MUL.replace(" * out.grad", "")),),
          "operations", "no-upstream-grad:mul"),
    Entry("pow-no-upstream", "pow forgets * out.grad", (engine(POW, POW.replace(" * out.grad", "")),),
          "operations", "no-upstream-grad:pow"),
    Entry("tanh-no-upstream", "tanh forgets * out.grad", (engine(TANH, TANH.replace(" * out.grad", "")),),
          "operations", "no-upstream-grad:tanh"),
    Entry("relu-no-upstream", "relu forgets * out.grad", (engine(RELU, RELU.replace(" * out.grad", "")),),
          "operations", "no-upstream-grad:relu"),
    Entry("exp-no-upstream", "exp forgets * out.grad", (engine(EXP, EXP.replace(" * out.grad", "")),),
          "operations", "no-upstream-grad:exp"),
    # -- wrong local derivatives -------------------------------------------------------------------------
    Entry("tanh-derivative-from-input", "1 - x**2 instead of 1 - t**2",
          (engine(TANH, "self.grad += (1 - self.data**2) * out.grad"),), "operations", "tanh-derivative-from-input"),
    Entry("exp-derivative-from-input", "exp's derivative taken as x",
          (engine(EXP, "self.grad += self.data * out.grad"),), "operations", "exp-derivative-from-input"),
    Entry("pow-off-by-one", "n * x**n", (engine(POW, "self.grad += other * self.data**other * out.grad"),),
          "operations", "pow-rule-off-by-one"),
    Entry("pow-missing-factor", "x**(n-1) without n", (engine(POW, "self.grad += self.data**(other - 1) * out.grad"),),
          "operations", "pow-rule-missing-factor"),
    Entry("mul-swapped", "each input's own data as its derivative",
          (engine(MUL, "            self.grad += self.data * out.grad\n"
                       "            other.grad += other.data * out.grad\n"),), "operations", "mul-derivative-swapped"),
    Entry("relu-gradient-at-zero", "mask x >= 0: gradient 1 at exactly 0",
          (engine(RELU, "self.grad += (self.data >= 0) * out.grad"),), "operations", "relu-gradient-at-zero"),
    Entry("relu-mask-always-open", "mask out.data >= 0, always true",
          (engine(RELU, "self.grad += (out.data >= 0) * out.grad"),), "operations", "relu-mask-always-open"),
    Entry("tanh-exp-overflow", "the lecture's exp formula for tanh (OverflowError for |x| > ~355)",
          (engine("        t = math.tanh(self.data)",
                  "        t = (math.exp(2 * self.data) - 1) / (math.exp(2 * self.data) + 1)"),),
          "operations", "tanh-overflow"),
    Entry("sub-own-op-sign", "own __sub__ adds out.grad to the right operand",
          (engine(SUB, own_op("__sub__", "-", "self.data - other.data", ("out.grad", "out.grad"))),),
          "operations", "sub-derivative-sign"),
    Entry("div-own-op-sign", "own __truediv__ forgets the minus sign",
          (engine(DIV, own_op("__truediv__", "/", "self.data / other.data",
                              ("out.grad / other.data", "self.data / other.data**2 * out.grad"))),),
          "operations", "div-derivative-sign"),
    # -- reflected operators and plain numbers ---------------------------------------------------------
    Entry("missing-radd", "no __radd__", (engine("    def __radd__(self, other):  # other + self\n"
                                                 "        return self + other\n\n", ""),),
          "operations", "missing-operator:__radd__"),
    Entry("missing-rmul", "no __rmul__", (engine("    def __rmul__(self, other):  # other * self\n"
                                                 "        return self * other\n\n", ""),),
          "operations", "missing-operator:__rmul__"),
    Entry("rsub-reversed", "__rsub__ returns self - other",
          (engine("return other + (-self)", "return self + (-other)"),),
          "operations", "reflected-operand-order:rsub"),
    Entry("rtruediv-reversed", "__rtruediv__ returns self / other",
          (engine("return other * self**-1", "return self * other**-1"),), "operations",
          "reflected-operand-order:rtruediv"),
    Entry("add-number-not-wrapped", "__add__ does not wrap plain numbers",
          (engine(WRAP_ADD, WRAP_ADD.split("\n", 1)[1]),), "operations", "number-not-wrapped:add"),
    Entry("mul-number-not-wrapped", "__mul__ does not wrap plain numbers",
          (engine(WRAP_MUL, WRAP_MUL.split("\n", 1)[1]),), "operations", "number-not-wrapped:mul"),
    Entry("pow-int-only", "__pow__ accepts only int exponents",
          (engine("assert isinstance(other, (int, float))", "assert isinstance(other, int)"),),
          "operations", "pow-float-exponent"),
    # -- backward() --------------------------------------------------------------------------------------
    Entry("no-seed", "backward() never sets self.grad = 1", (engine("        self.grad += 1.0\n", ""),),
          "backward", "no-seed"),
    Entry("resets-leaf-grads", "backward() zeroes every gradient, leaves included",
          (engine(RESET, "        for node in topo:\n            node.grad = 0.0\n"),), "backward",
          "backward-resets-leaf-grads"),
    # -- topological sort ----------------------------------------------------------------------------------
    Entry("no-visited-set", "the lecture's build_topo without its visited check",
          (engine(REFERENCE_SORT, lecture_sort("if True:")),), "topo_sort", "topo-no-visited"),
    Entry("lecture-recursive-sort", "the lecture's exact recursive build_topo, self.grad = 1, no reset",
          (engine(REFERENCE_SORT, lecture_sort()),
           engine(RESET + "        self.grad += 1.0\n", "        self.grad = 1.0\n")),
          "topo_sort", "topo-recursion-limit"),
    Entry("dedup-after-walk", "walks every path without a visited set, then drops duplicates: right but "
          "exponentially slow", (engine(REFERENCE_SORT, REFERENCE_SORT.replace(", visited, stack", ", stack").replace(
              ", set(), [", ", [").replace("elif node not in visited:", "else:").replace(
              "                visited.add(node)\n", "") + "        topo = list(dict.fromkeys(topo))\n"),),
          "topo_sort", "topo-no-visited"),
    Entry("order-not-reversed", "walks the topological order forward",
          (engine("for node in reversed(topo):", "for node in topo:"),), "topo_sort", "topo-not-reversed"),
    Entry("pre-order-append", "appends a node before its children",
          (engine(REFERENCE_SORT, lecture_sort(append_first=True)),), "topo_sort", "topo-pre-order"),
    Entry("direct-children-only", "sorts only the output and its direct children",
          (engine(REFERENCE_SORT, "        topo = list(self._prev) + [self]\n"),), "topo_sort", "topo-incomplete"),
    # -- found by writing the engine from the lecture, with the slips students make ---------------------
    Entry("seed-after-walk", "the lecture's backward() with self.grad = 1 moved after the loop",
          (engine(RESET + "        self.grad += 1.0\n" + WALK, WALK + "        self.grad = 1.0\n"),),
          "backward", "seed-after-walk"),
    Entry("seed-added", "self.grad += 1 as the seed, nothing reset", (engine(RESET, ""),), "backward", "seed-added"),
    Entry("pow-precedence", "a precedence slip: other * self.data ** other - 1 * out.grad",
          (engine(POW, "self.grad += other * self.data ** other - 1 * out.grad"),), "operations", "pow-precedence"),
    Entry("pow-parenthesis-slip", "other * (self.data**other - 1) * out.grad",
          (engine(POW, "self.grad += other * (self.data**other - 1) * out.grad"),), "operations",
          "wrong-derivative:pow"),
    Entry("add-other-never-gets-grad", "add's _backward updates self only",
          (engine(ADD, "            self.grad += out.grad\n"),), "operations", "missing-input-grad:add"),
    Entry("mul-other-never-gets-grad", "mul's _backward updates self only",
          (engine(MUL, "            self.grad += other.data * out.grad\n"),), "operations", "missing-input-grad:mul"),
    Entry("mul-uses-grad", "mul's derivative taken from the other input's grad instead of its data",
          (engine(MUL, MUL.replace(".data", ".grad")),), "operations", "wrong-derivative:mul"),
    Entry("tanh-square-misplaced", "(1 - t)**2 instead of 1 - t**2",
          (engine(TANH, "self.grad += (1 - t)**2 * out.grad"),), "operations", "wrong-derivative:tanh"),
    Entry("tanh-forward-tan", "math.tan instead of math.tanh",
          (engine("        t = math.tanh(self.data)", "        t = math.tan(self.data)"),), "operations",
          "forward:tanh"),
    Entry("missing-rsub", "no __rsub__", (engine("    def __rsub__(self, other):  # other - self\n"
                                                 "        return other + (-self)\n\n", ""),),
          "operations", "missing-operator:__rsub__"),
    Entry("visited-never-added", "checks the visited set but never adds to it",
          (engine("                visited.add(node)\n", ""),), "topo_sort", "topo-no-visited"),
    # -- nn ------------------------------------------------------------------------------------------------
    Entry("parameters-without-bias", "Neuron.parameters() returns only the weights",
          (nn("return self.w + [self.b]", "return self.w"),), "nn", "parameters-missing-bias"),
    Entry("bias-first", "Neuron.parameters() lists the bias first",
          (nn("return self.w + [self.b]", "return [self.b] + self.w"),), "nn", "parameters-order"),
    Entry("forward-without-bias", "the bias is left out of the neuron's sum",
          (nn("zip(self.w, x)), self.b)", "zip(self.w, x)), 0)"),), "nn", "bias-not-in-forward"),
    Entry("no-activation", "the neuron never applies tanh",
          (nn("return act.tanh() if self.nonlin else act", "return act"),), "nn", "activation-missing"),
    Entry("linear-last-layer", "micrograd's repository version: the MLP's last layer is linear",
          (nn("Layer(sz[i], sz[i + 1])", "Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1)"),), "nn",
          "mlp-linear-last-layer"),
    Entry("parameters-skip-first-layer", "MLP.parameters() starts at the second layer",
          (nn("for layer in self.layers for p", "for layer in self.layers[1:] for p"),), "nn",
          "parameters-skip-layer"),
    Entry("layer-returns-list", "a one-neuron Layer returns a list",
          (nn("return out[0] if len(out) == 1 else out", "return out"),), "nn", "layer-single-output-list"),
    Entry("mlp-layer-sizes", "every layer takes nin inputs",
          (nn("Layer(sz[i], sz[i + 1])", "Layer(nin, sz[i + 1])"),), "nn", "mlp-layer-sizes"),
    # -- zero_grad and training ----------------------------------------------------------------------------
    Entry("zero-grad-noop", "p.grad == 0.0 (a comparison, not an assignment)",
          (nn(ZERO_GRAD, ZERO_GRAD.replace("p.grad = 0.0", "p.grad == 0.0")),), "training", "zero-grad-noop"),
    Entry("zero-grad-weights-only", "zero_grad resets each neuron's weights but not its bias",
          (nn(ZERO_GRAD, "        for layer in self.layers:\n            for neuron in layer.neurons:\n"
                         "                for w in neuron.w:\n                    w.grad = 0.0\n"),),
          "training", "zero-grad-weights-only"),
    Entry("zero-grad-zeroes-data", "zero_grad sets p.data = 0",
          (nn(ZERO_GRAD, ZERO_GRAD.replace("p.grad", "p.data")),), "training", "zero-grad-zeroes-data"),
    # -- nn, from issue 15 and from writing nn.py the way the lecture shows it ---------------------------
    Entry("neuron-ignores-nonlin", "the lecture's Neuron, which always applies tanh",
          (nn(NONLIN_RETURN, "        return act.tanh()\n"),), "nn", "neuron-ignores-nonlin"),
    Entry("layer-drops-kwargs", "Layer builds Neuron(nin), dropping **kwargs",
          (nn(LAYER_NEURONS, LAYER_NEURONS.replace("Neuron(nin, **kwargs)", "Neuron(nin)")),), "nn",
          "layer-drops-kwargs"),
    Entry("zero-init", "weights and bias start at 0",
          (nn(NEURON_INIT, "        self.w = [Value(0.0) for _ in range(nin)]\n        self.b = Value(0.0)\n"),),
          "nn", "init-constant"),
    Entry("parameters-layers-reversed", "MLP.parameters() walks the layers last to first (as backprop does)",
          (nn("for layer in self.layers for p", "for layer in reversed(self.layers) for p"),), "nn",
          "parameters-order"),
    Entry("weights-list-multiplied", "[Value(random.uniform(-1, 1))] * nin: one Value repeated",
          (nn(NEURON_INIT, NEURON_INIT.replace("[Value(random.uniform(-1, 1)) for _ in range(nin)]",
                                               "[Value(random.uniform(-1, 1))] * nin")),), "nn",
          "parameters-shared-object"),
    Entry("neurons-list-multiplied", "[Neuron(nin, **kwargs)] * nout: one neuron repeated",
          (nn(LAYER_NEURONS, "        self.neurons = [Neuron(nin, **kwargs)] * nout\n"),), "nn",
          "layer-repeats-neuron"),
    Entry("init-random-random", "random.random() instead of random.uniform(-1, 1)",
          (nn(NEURON_INIT, NEURON_INIT.replace("random.uniform(-1, 1)", "random.random()")),), "nn",
          "init-not-symmetric"),
    Entry("init-one-draw", "one random.uniform(-1, 1) per neuron, shared by its weights",
          (nn(NEURON_INIT, "        w = random.uniform(-1, 1)\n        self.w = [Value(w) for _ in range(nin)]\n"
                           "        self.b = Value(random.uniform(-1, 1))\n"),), "nn", "init-one-draw-per-neuron"),
    Entry("reseed-in-neuron", "random.seed(42) in Neuron.__init__ 'for reproducibility'",
          (nn(NEURON_INIT, "        random.seed(42)\n" + NEURON_INIT),), "nn", "init-neurons-identical"),
    Entry("relu-activation", "the neuron applies relu instead of tanh",
          (nn(NONLIN_RETURN, "        return act.relu() if self.nonlin else act\n"),), "nn", "activation-not-tanh"),
    Entry("mlp-not-chained", "every layer is called on the original input",
          (nn(MLP_CALL, "        for layer in self.layers:\n            out = layer(x)\n        return out\n"),), "nn",
          "mlp-layers-not-chained"),
    Entry("mlp-return-in-loop", "the return indented into the loop: only the first layer runs",
          (nn(MLP_CALL, "        for layer in self.layers:\n            x = layer(x)\n            return x\n"),), "nn",
          "mlp-returns-inside-loop"),
    Entry("bias-as-number", "the neuron's sum starts from self.b.data, a plain number",
          (nn("zip(self.w, x)), self.b)", "zip(self.w, x)), self.b.data)"),), "nn", "bias-detached"),
    Entry("weights-as-numbers", "the neuron multiplies wi.data, a plain number, by xi",
          (nn("sum((wi * xi for wi, xi", "sum((wi.data * xi for wi, xi"),), "nn", "weights-detached"),
    # -- kept from issue 20's fresh and real code (bench/fresh, bench/realcode) ---------------------------------
    Entry("pow-exponent-as-child", "__pow__ lists its plain-number exponent among the output's children",
          (engine("(self,), f'**{other}')", "(self, other), f'**{other}')"),), "operations",
          "children-not-values:pow"),
    Entry("relu-threshold-one", "relu's _backward gates the gradient at 1 instead of 0 (seen in public code)",
          (engine("self.grad += (out.data > 0) * out.grad", "self.grad += (out.data > 1) * out.grad"),), "operations",
          "wrong-derivative:relu"),
    Entry("reset-leaves", "backward() resets the leaves' gradients instead of the interior nodes'",
          (engine("            if node._prev:\n", "            if not node._prev:\n"),), "backward",
          "backward-resets-leaf-grads"),
    Entry("value-equality", "Value.__eq__/__hash__ by data: equal-valued nodes collapse in sets (seen in public code)",
          (engine("    def __repr__(self):\n", "    def __eq__(self, other):\n        return isinstance(other, Value) "
                                               "and self.data == other.data\n\n    def __hash__(self):\n"
                                               "        return hash(self.data)\n\n    def __repr__(self):\n"),),
          "topo_sort", "value-equality"),
]
