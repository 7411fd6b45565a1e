"""Issue 20's fresh measurement set: realistic student mistakes and correct variants written BEFORE the
suites change, kept out of grading_tests/catalog (none duplicates a catalog entry nor an example of the
issue text). Read by bench/fresh/measure.py; never by the grader or its tests.

Module entries are (file, old, new) replacements on solutions/micrograd/<file> with the solution markers
stripped, as in the catalog. Notebook entries are (grade_id, old, new) replacements on the answer cells of
assignments/source/<assignment>/<assignment>.ipynb (markers and hint comments stripped).

`named` is a regex searched (case-insensitive, across lines) in the feedback of every failing test of the
home part: it must name the function where the mistake sits and, where the function holds several likely
mistakes, the mistake itself; it must not name a contradicting mistake (`unless`). Not a catch-all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

Patch = tuple[str, str, str]


class Named(NamedTuple):
    """How feedback must name a mistake: `regex` found in it, `unless` (a contradicting mistake) not found."""

    regex: str
    unless: str = ""


@dataclass(frozen=True)
class Entry:
    id: str
    description: str
    patches: tuple[Patch, ...]
    kind: str = "bug"  # bug | correct | policy (correct, but may lose points under a documented policy)
    part: str | None = None  # bugs: the home part (course.yml)
    function: str | None = None  # bugs: where the mistake sits
    named: Named | None = None  # bugs: how every failing test of the home part must name it
    assignment: str = "micrograd"


def named(where: str, what: str = "", unless: str = "") -> Named:
    """The text names `where` (the function) and, when given, `what` (the mistake), and never `unless`."""
    regex = f"(?=.*(?:{where}))" + (f"(?=.*(?:{what}))" if what else "")
    return Named("(?is)^" + regex, f"(?is){unless}" if unless else "")


def engine(old: str, new: str) -> Patch:
    return ("engine.py", old, new)


def nn(old: str, new: str) -> Patch:
    return ("nn.py", old, new)


def op_backward(op: str, dunder: str = "") -> str:
    """Feedback naming an operation's _backward ("add's _backward", "__add__'s _backward", "_backward of mul")."""
    names = f"{op}|{dunder}" if dunder else op
    return (rf"\b(?:{names})(?:'s|\(\))?\W{{0,3}}(?:_backward|local derivative|derivative)"
            rf"|_backward of (?:your )?(?:{names})\b|(?:{names})\W[^\n]{{0,40}}_backward|\b(?:{names}) rule\b")


def op_forward(op: str, dunder: str) -> str:
    return rf"\b(?:{op}|{dunder})\b[^\n]{{0,60}}(?:forward|value|computes|returns|out\.data|_prev|children|input)" \
           rf"|(?:forward|value)[^\n]{{0,30}}\b(?:{op}|{dunder})\b"


# Mistakes named for a different function or cause than the entry's (a pitfall the source contradicts).
NO_UPSTREAM = r"missing `?\* out\.grad"
OVERWRITE = r"overwritten instead of accumulated"
CATCH_ALL_TRAINING = r"a training step goes wrong"

# -- the reference (markers stripped) in pieces --------------------------------------------------------
ADD = "            self.grad += out.grad\n            other.grad += out.grad\n"
MUL = "            self.grad += other.data * out.grad\n            other.grad += self.data * out.grad\n"
POW = "self.grad += other * self.data**(other - 1) * out.grad"
TANH = "self.grad += (1 - t**2) * out.grad"
RELU = "self.grad += (out.data > 0) * out.grad"
EXP = "self.grad += out.data * out.grad"
WRAP_ADD = ("        other = other if isinstance(other, Value) else Value(other)\n"
            "        out = Value(self.data + other.data, (self, other), '+')\n")
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
RESET = ("        # Like torch, only leaves keep their gradients from an earlier backward().\n"
         "        for node in topo:\n            if node._prev:\n                node.grad = 0.0\n")
SEED = "        self.grad += 1.0\n"
WALK = "        for node in reversed(topo):\n            node._backward()\n"
BACKWARD_BODY = ("        # An explicit stack instead of recursion: deep graphs must not hit the recursion limit.\n"
                 + REFERENCE_SORT + RESET + SEED + WALK)
NEG = "    def __neg__(self):  # -self\n        return self * -1\n"
RADD = "    def __radd__(self, other):  # other + self\n        return self + other\n"
RSUB = "    def __rsub__(self, other):  # other - self\n        return other + (-self)\n"
RMUL = "    def __rmul__(self, other):  # other * self\n        return self * other\n"
RTRUEDIV = "    def __rtruediv__(self, other):  # other / self\n        return other * self**-1\n"
REPR = "    def __repr__(self):\n"

ZERO_GRAD = "        for p in self.parameters():\n            p.grad = 0.0\n"
NEURON_INIT = ("        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]\n"
               "        self.b = Value(random.uniform(-1, 1))\n")
NEURON_SUM = "        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)\n"
NONLIN_RETURN = "        return act.tanh() if self.nonlin else act\n"
NEURON_PARAMS = "        return self.w + [self.b]\n"
LAYER_NEURONS = "        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]\n"
LAYER_RETURN = "        return out[0] if len(out) == 1 else out\n"
LAYER_PARAMS = "        return [p for n in self.neurons for p in n.parameters()]\n"
MLP_SIZES = "        self.layers = [Layer(sz[i], sz[i + 1]) for i in range(len(nouts))]\n"
MLP_PARAMS = "        return [p for layer in self.layers for p in layer.parameters()]\n"


LECTURE_VISIT = ("            if v not in visited:\n                visited.add(v)\n"
                 "                for child in v._prev:\n")


def lecture_sort(body: str) -> str:
    """The lecture's recursive build_topo with its body as given (12 spaces of indent inside)."""
    return ("        topo, visited = [], set()\n\n"
            "        def build_topo(v):\n" + body + "        build_topo(self)\n")


# Function patterns, as feedback may spell them.
SORT = r"build_topo|topolog|sort|backward\(\)[^\n]{0,80}(?:order|visit|walk|node)"
BACKWARD = r"backward\(\)"
NEURON_CALL = r"Neuron(?:\.__call__|'s (?:forward|output|sum)|\(\w*\)\(|\W[^\n]{0,60}(?:forward|output|sum|act\b))"
NEURON_INIT_RE = r"Neuron(?:\.__init__|\(|'s (?:weights|bias|parameters|init))|weights|fresh parameters"
ZERO_GRAD_RE = r"zero_grad"

BUGS = [
    # -- operations: add ----------------------------------------------------------------------------------
    Entry("add-halves-gradient", "add splits out.grad between its inputs (out.grad / 2 each): the lecture's "
          "'distributes the gradient to all inputs' read as 'shares it'",
          (engine(ADD, "            self.grad += out.grad / 2\n            other.grad += out.grad / 2\n"),),
          part="operations", function="Value.__add__._backward",
          named=named(op_backward("add", "__add__"), unless=f"{NO_UPSTREAM}|{OVERWRITE}")),
    Entry("add-copies-mul-derivative", "add's _backward copied from mul's: other.data * out.grad",
          (engine(ADD, MUL),), part="operations", function="Value.__add__._backward",
          named=named(op_backward("add", "__add__"), unless=f"{NO_UPSTREAM}|{OVERWRITE}")),
    Entry("add-wraps-every-other", "__add__ wraps other in Value even when it already is one (Value(Value))",
          (engine(WRAP_ADD, "        other = Value(other)\n" + WRAP_ADD.split("\n", 1)[1]),),
          part="operations", function="Value.__add__",
          named=named(r"__add__|\badd\b", r"wrap|Value\(Value|isinstance|\.data is|plain number|nest")),
    # -- mul ------------------------------------------------------------------------------------------------
    Entry("mul-out-data-for-out-grad", "mul's _backward multiplies by out.data instead of out.grad",
          (engine(MUL, MUL.replace("* out.grad", "* out.data")),), part="operations",
          function="Value.__mul__._backward", named=named(op_backward("mul", "__mul__"), unless=OVERWRITE)),
    Entry("mul-forward-adds", "__mul__ computes self.data + other.data (copied from __add__)",
          (engine("out = Value(self.data * other.data, (self, other), '*')",
                  "out = Value(self.data + other.data, (self, other), '*')"),), part="operations",
          function="Value.__mul__", named=named(op_forward("mul", "__mul__"), unless=NO_UPSTREAM)),
    Entry("mul-forgets-other-child", "__mul__ records only self as its child: (self,) instead of (self, other)",
          (engine("(self, other), '*')", "(self,), '*')"),), part="operations", function="Value.__mul__",
          named=named(r"__mul__|\bmul\b", r"_prev|child|children|input.{0,40}(?:graph|record|never reach)")),
    # -- pow --------------------------------------------------------------------------------------------------
    Entry("pow-factor-n-minus-one", "power rule with factor (n - 1): (other - 1) * x**(other - 1)",
          (engine(POW, "self.grad += (other - 1) * self.data**(other - 1) * out.grad"),), part="operations",
          function="Value.__pow__._backward", named=named(
              op_backward("pow", "__pow__|power"), unless=rf"{NO_UPSTREAM}|{OVERWRITE}|without its factor")),
    Entry("pow-forward-multiplies", "__pow__ computes self.data * other (x * n instead of x ** n)",
          (engine("out = Value(self.data**other, (self,), f'**{other}')",
                  "out = Value(self.data * other, (self,), f'**{other}')"),), part="operations",
          function="Value.__pow__", named=named(op_forward("pow", "__pow__|power"), unless=NO_UPSTREAM)),
    Entry("pow-exponent-as-child", "__pow__ lists the plain-number exponent among its children: (self, other)",
          (engine("(self,), f'**{other}')", "(self, other), f'**{other}')"),), part="operations",
          function="Value.__pow__",
          named=named(r"__pow__|\bpow\b|\*\*", r"_prev|child|children|exponent|int|number")),
    Entry("pow-derivative-via-output", "power rule as n * out.data / x: divides by zero at x = 0",
          (engine(POW, "self.grad += other * out.data / self.data * out.grad"),), part="operations",
          function="Value.__pow__._backward",
          named=named(op_backward("pow", "__pow__|power"), r"zero|0\b|ZeroDivision|divi", NO_UPSTREAM)),
    # -- neg, sub, truediv and the reflected operators -----------------------------------------------------
    Entry("neg-detached", "__neg__ returns Value(-self.data): a new leaf, cut off from the graph",
          (engine(NEG, "    def __neg__(self):  # -self\n        return Value(-self.data)\n"),), part="operations",
          function="Value.__neg__", named=named(r"__neg__|negat|-x\b|\bneg\b")),
    Entry("sub-operands-reversed", "__sub__ returns -self + other (other - self)",
          (engine("return self + (-other)", "return -self + other"),), part="operations",
          function="Value.__sub__", named=named(r"__sub__|subtract|\bsub\b", unless=r"__rsub__")),
    Entry("truediv-inverts-self", "__truediv__ returns self**-1 * other (other / self)",
          (engine("return self * other**-1", "return self**-1 * other"),), part="operations",
          function="Value.__truediv__",
          named=named(r"__truediv__|\btruediv\b|\bdivision\b|\bdivid",
                      unless=rf"__rtruediv__|power rule|pow's|{NO_UPSTREAM}")),
    Entry("missing-rtruediv", "no __rtruediv__ (2 / x fails)", (engine(RTRUEDIV + "\n", ""),), part="operations",
          function="Value.__rtruediv__", named=named(r"__rtruediv__")),
    Entry("radd-recurses", "__radd__ returns other + self, which calls __radd__ again (RecursionError)",
          (engine(RADD, RADD.replace("return self + other", "return other + self")),), part="operations",
          function="Value.__radd__", named=named(r"__radd__", r"recurs|calls itself|again|loop", r"topological sort")),
    Entry("rmul-no-return", "__rmul__ computes self * other but forgets `return` (2 * x is None)",
          (engine(RMUL, RMUL.replace("return self * other", "self * other")),), part="operations",
          function="Value.__rmul__", named=named(r"__rmul__", r"return|None")),
    # -- exp, tanh, relu ----------------------------------------------------------------------------------------
    Entry("exp-backward-not-attached", "exp defines _backward but never sets out._backward = _backward",
          (engine(EXP + "\n        out._backward = _backward\n", EXP + "\n"),), part="operations",
          function="Value.exp", named=named(r"\bexp\b", r"out\._backward\s*=|attach|never (?:set|assign)|"
                                                          r"_backward is never|no _backward|lambda: None",
                                            NO_UPSTREAM)),
    Entry("exp-derivative-exp-of-output", "exp's derivative as math.exp(out.data) (exp applied twice)",
          (engine(EXP, "self.grad += math.exp(out.data) * out.grad"),), part="operations",
          function="Value.exp._backward", named=named(op_backward("exp"), unless=f"{NO_UPSTREAM}|{OVERWRITE}")),
    Entry("tanh-precedence", "1 - t**2 * out.grad (no parentheses around 1 - t**2)",
          (engine(TANH, "self.grad += 1 - t**2 * out.grad"),), part="operations",
          function="Value.tanh._backward", named=named(op_backward("tanh"), unless=OVERWRITE)),
    Entry("tanh-sech-not-squared", "tanh's derivative as 1 / cosh(x) (sech, not sech**2)",
          (engine(TANH, "self.grad += 1 / math.cosh(self.data) * out.grad"),), part="operations",
          function="Value.tanh._backward",
          named=named(op_backward("tanh"), unless=f"{NO_UPSTREAM}|{OVERWRITE}|exp formula")),
    Entry("tanh-backward-called-at-definition", "out._backward = _backward() (calls it once, stores None)",
          (engine(TANH + "\n        out._backward = _backward\n", TANH + "\n        out._backward = _backward()\n"),),
          part="operations", function="Value.tanh",
          named=named(r"\btanh\b", r"_backward\(\)|None|not callable|calls? (?:it|_backward)",
                      f"{NO_UPSTREAM}|exp formula")),
    Entry("relu-mask-from-upstream", "relu's mask taken from out.grad > 0 instead of out.data > 0",
          (engine(RELU, "self.grad += (out.grad > 0) * out.grad"),), part="operations",
          function="Value.relu._backward", named=named(op_backward("relu"), unless=NO_UPSTREAM)),
    Entry("relu-derivative-is-output", "relu's derivative taken as out.data (copied from exp)",
          (engine(RELU, "self.grad += out.data * out.grad"),), part="operations",
          function="Value.relu._backward", named=named(op_backward("relu"), unless=NO_UPSTREAM)),
    Entry("relu-children-not-tuple", "relu passes self instead of (self,) as its children: set(self) fails",
          (engine("(self,), 'ReLU')", "self, 'ReLU')"),), part="operations", function="Value.relu",
          named=named(r"\brelu\b", r"(?:not )?iterable|tuple|\(self,\)|_children|children")),
    # -- backward(): seeding and accumulation ------------------------------------------------------------------
    Entry("init-grad-one", "Value.__init__ starts every gradient at 1.0 instead of 0",
          (engine("        self.grad = 0.0\n        self._backward",
                  "        self.grad = 1.0\n        self._backward"),),
          part="backward", function="Value.__init__",
          named=named(r"__init__|start(?:s|ing)? (?:at|from|with)|initial", r"\bgrad\b")),
    Entry("backward-attribute-none", "Value.__init__ sets self._backward = None: leaves have nothing to call",
          (engine("        self._backward = lambda: None\n", "        self._backward = None\n"),), part="backward",
          function="Value.__init__", named=named(r"__init__|lea(?:f|ves)", r"_backward|None|not callable")),
    Entry("reset-condition-inverted", "backward() resets the leaves' gradients and keeps the interior ones "
          "(if not node._prev)", (engine("            if node._prev:\n", "            if not node._prev:\n"),),
          part="backward", function="Value.backward", named=named(BACKWARD, r"reset|lea(?:f|ves)|earlier")),
    Entry("seed-before-reset", "backward() seeds the output, then its reset of interior gradients zeroes the seed",
          (engine(RESET + SEED, SEED + RESET),), part="backward", function="Value.backward",
          named=named(BACKWARD, r"reset|zeroe?s? (?:the )?seed|after seeding", r"never seeds")),
    Entry("walk-call-without-parentheses", "node._backward without () in the walk: nothing is called",
          (engine(WALK, "        for node in reversed(topo):\n            node._backward\n"),), part="backward",
          function="Value.backward", named=named(BACKWARD, r"never call|no _backward|not call|\(\)")),
    # -- the topological sort and the walk -----------------------------------------------------------------------
    Entry("breadth-first-walk", "backward() as a breadth-first walk with a seen set: a shared node's _backward "
          "runs before all its users have passed their gradient", (engine(BACKWARD_BODY, (
              "        self.grad = 1.0\n        queue, seen = [self], {self}\n        while queue:\n"
              "            node = queue.pop(0)\n            node._backward()\n            for child in node._prev:\n"
              "                if child not in seen:\n                    seen.add(child)\n"
              "                    queue.append(child)\n")),), part="topo_sort", function="Value.backward",
          named=named(SORT, r"before|order|breadth|topolog", r"visited set|recursion limit")),
    Entry("append-inside-child-loop", "build_topo's topo.append(v) indented into the loop over children",
          (engine(REFERENCE_SORT, lecture_sort(
              LECTURE_VISIT + "                    build_topo(child)\n                    topo.append(v)\n")),),
          part="topo_sort", function="build_topo",
          named=named(SORT, r"append|twice|once|more than once|leaves|leaf", r"recursion limit|no visited set")),
    Entry("recurse-on-self", "build_topo(v) instead of build_topo(child): only the output is sorted",
          (engine(REFERENCE_SORT, lecture_sort(
              LECTURE_VISIT + "                    build_topo(v)\n                topo.append(v)\n")),),
          part="topo_sort", function="build_topo",
          named=named(SORT, r"child|_prev|recurs|reach|every node", r"recursion limit|no visited set")),
    Entry("stack-pre-order", "an explicit-stack DFS that appends a node when popped, walked as is (pre-order)",
          (engine(REFERENCE_SORT, "        topo, visited, stack = [], set(), [self]\n        while stack:\n"
                  "            node = stack.pop()\n            if node not in visited:\n"
                  "                visited.add(node)\n                topo.append(node)\n"
                  "                stack.extend(node._prev)\n"),
           engine(WALK, "        for node in topo:\n            node._backward()\n")),
          part="topo_sort", function="Value.backward",
          named=named(SORT, r"pre-?order|post-?order|after (?:its|every|all)|before", r"recursion limit")),
    Entry("insert-front-and-reverse", "build_topo inserts at the front (topo.insert(0, v)) and the walk still "
          "reverses: leaves first", (engine(REFERENCE_SORT, lecture_sort(
              LECTURE_VISIT + "                    build_topo(child)\n                topo.insert(0, v)\n")),),
          part="topo_sort", function="build_topo",
          named=named(SORT, r"revers|before their parents|order", r"recursion limit|visited set")),
    Entry("walk-skips-output", "the walk over reversed(topo[:-1]) leaves out the output's _backward",
          (engine("for node in reversed(topo):", "for node in reversed(topo[:-1]):"),), part="topo_sort",
          function="Value.backward",
          named=named(SORT, r"output|skip", r"recursion limit|visited set|recurse into _prev")),
    Entry("output-backward-called-twice", "backward() calls self._backward() after seeding, then walks from the "
          "output again", (engine(SEED, SEED + "        self._backward()\n"),), part="topo_sort",
          function="Value.backward",
          named=named(SORT, r"twice|once|two times|again", r"recursion limit|no visited set")),
    Entry("walk-returns-inside-loop", "a return indented into the walk: only the output's _backward runs",
          (engine(WALK, WALK + "            return\n"),), part="topo_sort", function="Value.backward",
          named=named(SORT, r"return|stops?|after (?:the )?first|only (?:the )?(?:output|one)",
                      r"recursion limit|visited set|recurse into _prev")),
    # -- nn ------------------------------------------------------------------------------------------------------
    Entry("weights-plain-floats", "Neuron's weights are plain floats (random.uniform without Value)",
          (nn("self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]",
             "self.w = [random.uniform(-1, 1) for _ in range(nin)]"),), part="nn",
          function="Neuron.__init__", named=named(NEURON_INIT_RE, r"Value|float|plain number|gradient")),
    Entry("one-weight-too-many", "Neuron makes nin + 1 weights",
          (nn("for _ in range(nin)]", "for _ in range(nin + 1)]"),),
          part="nn", function="Neuron.__init__",
          named=named(r"Neuron", r"weights?|parameters\(\)|count|number", r"missing.{0,10}bias|skips a layer")),
    Entry("init-gauss", "weights drawn from random.gauss(0, 1) instead of random.uniform(-1, 1)",
          (nn("self.w = [Value(random.uniform(-1, 1))", "self.w = [Value(random.gauss(0, 1))"),), part="nn",
          function="Neuron.__init__", named=named(NEURON_INIT_RE, r"uniform|\[-1, 1\]|range")),
    Entry("weight-times-weight", "the neuron's sum multiplies each weight by itself (wi * wi)",
          (nn(NEURON_SUM, NEURON_SUM.replace("wi * xi for", "wi * wi for")),), part="nn",
          function="Neuron.__call__", named=named(NEURON_CALL, r"w_?i|weight|input|x\b",
                                                  r"missing from the neuron|not passed through tanh")),
    Entry("tanh-not-called", "return act.tanh if self.nonlin (the method, not its result)",
          (nn(NONLIN_RETURN, "        return act.tanh if self.nonlin else act\n"),), part="nn",
          function="Neuron.__call__", named=named(NEURON_CALL + r"|tanh", r"\(\)|method|call|not a Value")),
    Entry("nonlin-inverted", "return act if self.nonlin else act.tanh(): the condition backwards",
          (nn(NONLIN_RETURN, "        return act if self.nonlin else act.tanh()\n"),), part="nn",
          function="Neuron.__call__", named=named(NEURON_CALL + r"|nonlin", r"nonlin|invert|backwards|condition")),
    Entry("bias-added-per-input", "the bias added inside the sum, once per input: sum(wi * xi + self.b ...)",
          (nn(NEURON_SUM, "        act = sum(wi * xi + self.b for wi, xi in zip(self.w, x))\n"),), part="nn",
          function="Neuron.__call__", named=named(NEURON_CALL + r"|bias", r"bias|\bb\b", r"bias is missing")),
    Entry("parameters-list-plus-value", "Neuron.parameters() returns self.w + self.b (a list plus a Value)",
          (nn(NEURON_PARAMS, "        return self.w + self.b\n"),), part="nn", function="Neuron.parameters",
          named=named(r"Neuron\.parameters|Neuron\(\w*\)\.parameters|parameters\(\)", r"self\.b|bias|list")),
    Entry("parameters-nested", "Neuron.parameters() returns [self.w, self.b] (a list inside the list)",
          (nn(NEURON_PARAMS, "        return [self.w, self.b]\n"),), part="nn", function="Neuron.parameters",
          named=named(r"Neuron\.parameters|Neuron\(\w*\)\.parameters|parameters\(\)", r"nest|list|flat|Value")),
    Entry("parameters-appends-bias", "Neuron.parameters() appends the bias to self.w: it grows every call",
          (nn(NEURON_PARAMS, "        self.w.append(self.b)\n        return self.w\n"),), part="nn",
          function="Neuron.parameters",
          named=named(r"parameters\(\)", r"append|grow|each call|every call|twice|again|self\.w")),
    Entry("layer-swaps-sizes", "Layer builds nin neurons of nout inputs", (nn(LAYER_NEURONS, (
        "        self.neurons = [Neuron(nout, **kwargs) for _ in range(nin)]\n")),), part="nn",
          function="Layer.__init__", named=named(r"Layer", r"nin|nout|neurons|sizes|swap")),
    Entry("layer-first-neuron-only", "Layer returns out[0] whatever its size", (nn(LAYER_RETURN, (
        "        return out[0]\n")),), part="nn", function="Layer.__call__",
          named=named(r"Layer", r"first|out\[0\]|one|single|every neuron|list")),
    Entry("layer-parameters-nested", "Layer.parameters() returns each neuron's list: a list of lists",
          (nn(LAYER_PARAMS, "        return [n.parameters() for n in self.neurons]\n"),), part="nn",
          function="Layer.parameters", named=named(r"Layer\.parameters|Layer\(.{0,12}\)\.parameters",
                                                   r"nest|list|flat")),
    Entry("layer-parameters-return-in-loop", "Layer.parameters() returns from inside its loop: first neuron only",
          (nn(LAYER_PARAMS, "        for n in self.neurons:\n            return n.parameters()\n"),), part="nn",
          function="Layer.parameters", named=named(r"Layer\.parameters|Layer\(.{0,12}\)\.parameters",
                                                   unless=r"missing.{0,10}bias")),
    Entry("mlp-drops-last-layer", "MLP builds range(len(nouts) - 1) layers: the output layer is missing",
          (nn(MLP_SIZES, MLP_SIZES.replace("range(len(nouts))", "range(len(nouts) - 1)")),), part="nn",
          function="MLP.__init__", named=named(r"MLP", r"layer", r"skips a layer|last layer has no tanh")),
    Entry("mlp-parameters-comprehension-order", "the two for clauses of MLP.parameters() in the wrong order "
          "(NameError)", (nn(MLP_PARAMS, "        return [p for p in layer.parameters() for layer in self.layers]\n"),),
          part="nn", function="MLP.parameters", named=named(r"MLP\.parameters|MLP\(.{0,20}\)\.parameters",
                                                            r"NameError|layer|comprehension")),
    Entry("nonlin-default-false", "Neuron(nin, nonlin=False) by default: the hidden layers are linear",
          (nn("def __init__(self, nin, nonlin=True):", "def __init__(self, nin, nonlin=False):"),), part="nn",
          function="Neuron.__init__", named=named(r"Neuron|nonlin", r"default|nonlin=(?:True|False)")),
    Entry("nonlin-not-stored", "Neuron.__init__ never stores self.nonlin (AttributeError in __call__)",
          (nn("        self.nonlin = nonlin\n", ""),), part="nn", function="Neuron.__init__",
          named=named(r"Neuron", r"nonlin|AttributeError")),
    # -- training: zero_grad -----------------------------------------------------------------------------------
    Entry("zero-grad-parameters-not-called", "for p in self.parameters: (the method, not its result)",
          (nn(ZERO_GRAD, ZERO_GRAD.replace("self.parameters()", "self.parameters")),), part="training",
          function="Module.zero_grad", named=named(ZERO_GRAD_RE, r"parameters\b(?!\(\))|\(\)|method|iterable")),
    Entry("zero-grad-assigns-self", "zero_grad assigns self.grad = 0.0 inside its loop over parameters",
          (nn(ZERO_GRAD, ZERO_GRAD.replace("p.grad = 0.0", "self.grad = 0.0")),), part="training",
          function="Module.zero_grad", named=named(ZERO_GRAD_RE, r"self\.grad|p\.grad|each parameter|every parameter")),
    Entry("zero-grad-none", "zero_grad sets p.grad = None (PyTorch's habit): the next += fails",
          (nn(ZERO_GRAD, ZERO_GRAD.replace("p.grad = 0.0", "p.grad = None")),), part="training",
          function="Module.zero_grad", named=named(ZERO_GRAD_RE, r"None")),
    Entry("zero-grad-rebinds-loop-variable", "zero_grad assigns p = Value(0.0): rebinds the loop variable only",
          (nn(ZERO_GRAD, ZERO_GRAD.replace("p.grad = 0.0", "p = Value(0.0)")),), part="training",
          function="Module.zero_grad", named=named(ZERO_GRAD_RE, r"p\.grad|rebind|loop variable|assign")),
]

# -- correct variants ----------------------------------------------------------------------------------------
ITERATOR_DFS = """        topo, visited = [], {self}
        stack = [(self, iter(self._prev))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                topo.append(node)
            elif child not in visited:
                visited.add(child)
                stack.append((child, iter(child._prev)))
"""
TOPO_METHOD = ("    def _topological_order(self):\n"
               '        """Every node below self, children before parents (an explicit stack)."""\n'
               + REFERENCE_SORT + "        return topo\n\n")
EXTRA_OPS = '''    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.data))
        out = Value(s, (self,), 'sigmoid')

        def _backward():
            self.grad += s * (1 - s) * out.grad
        out._backward = _backward

        return out

    def log(self):
        out = Value(math.log(self.data), (self,), 'log')

        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward

        return out

    @property
    def is_leaf(self):
        return not self._prev

    def item(self):
        return self.data

'''
PARAMS_LAYOUT_NEURON = '''    def __init__(self, nin, nonlin=True):
        self.params = [Value(random.uniform(-1, 1)) for _ in range(nin + 1)]
        self.nonlin = nonlin

    @property
    def w(self):
        return self.params[:-1]

    @property
    def b(self):
        return self.params[-1]
'''
NEURON_INIT_FULL = "    def __init__(self, nin, nonlin=True):\n" + NEURON_INIT + "        self.nonlin = nonlin\n"

CORRECT = [
    Entry("iterator-dfs", "the sort as an explicit stack of (node, iterator over its children)",
          (engine(REFERENCE_SORT, ITERATOR_DFS),), kind="correct"),
    Entry("topo-helper-method", "the sort in its own method _topological_order(), called by backward()",
          (engine(REFERENCE_SORT, "        topo = self._topological_order()\n"), engine(NEG, TOPO_METHOD + NEG)),
          kind="correct"),
    Entry("visited-list", "the visited nodes kept in a list: membership by identity, quadratic (policy: the time "
          "limit on the 10,000-node chain)",
          (engine("topo, visited, stack = [], set(), [(self, False)]",
                  "topo, visited, stack = [], [], [(self, False)]"),
           engine("visited.add(node)", "visited.append(node)")), kind="policy"),
    Entry("operator-aliases", "__radd__ = __add__ and __rmul__ = __mul__ as aliases; __sub__ through __add__; "
          "__rsub__ and __rtruediv__ by wrapping the number", (
              engine(RADD, "    __radd__ = __add__\n"), engine(RMUL, "    __rmul__ = __mul__\n"),
              engine("return self + (-other)", "return self.__add__(-other)"),
              engine("return other + (-self)", "return Value(other) - self"),
              engine("return other * self**-1", "return Value(other) / self")), kind="correct"),
    Entry("ops-other-spelling", "the same derivatives spelled otherwise: out.grad * other.data, (1 - t) * (1 + t), "
          "an if for relu, math.e ** x", (
              engine(MUL, "            self.grad += out.grad * other.data\n"
                          "            other.grad += out.grad * self.data\n"),
              engine(TANH, "self.grad += (1 - t) * (1 + t) * out.grad"),
              engine("            " + RELU + "\n",
                     "            if out.data > 0:\n                self.grad += out.grad\n"),
              engine("out = Value(math.exp(self.data), (self,), 'exp')",
                     "out = Value(math.e ** self.data, (self,), 'exp')"),
              engine(POW, "self.grad += (other * self.data ** (other - 1)) * out.grad")), kind="correct"),
    Entry("slots", "Value with __slots__ (no per-instance __dict__)",
          (engine('    """Stores a single scalar value and its gradient."""\n',
                  '    """Stores a single scalar value and its gradient."""\n\n'
                  "    __slots__ = ('data', 'grad', '_backward', '_prev', '_op', 'label')\n"),), kind="correct"),
    Entry("extra-ops-and-helpers", "extra operations (sigmoid, log), an is_leaf property and item()",
          (engine(NEG, EXTRA_OPS + NEG),), kind="correct"),
    Entry("type-hints", "from __future__ import annotations and type hints in both files", (
        engine('import math\n', 'from __future__ import annotations\n\nimport math\n'),
        engine("    def __add__(self, other):", "    def __add__(self, other: Value | float) -> Value:"),
        engine("    def backward(self):", "    def backward(self) -> None:"),
        nn("import random\n", "from __future__ import annotations\n\nimport random\n"),
        nn("    def __call__(self, x):\n        act",
           "    def __call__(self, x: list[Value | float]) -> Value:\n        act"),
        nn("    def parameters(self):\n        return self.w",
           "    def parameters(self) -> list[Value]:\n        return self.w")),
          kind="correct"),
    Entry("renamed-attributes", "Neuron.weights/.bias, Layer.units, MLP.blocks instead of w, b, neurons, layers", (
        nn(NEURON_INIT, NEURON_INIT.replace("self.w =", "self.weights =").replace("self.b =", "self.bias =")),
        nn(NEURON_SUM, NEURON_SUM.replace("self.w, x)), self.b)", "self.weights, x)), self.bias)")),
        nn(NEURON_PARAMS, "        return self.weights + [self.bias]\n"),
        nn("Neuron({len(self.w)})", "Neuron({len(self.weights)})"),
        nn(LAYER_NEURONS, LAYER_NEURONS.replace("self.neurons", "self.units")),
        nn("out = [n(x) for n in self.neurons]", "out = [n(x) for n in self.units]"),
        nn(LAYER_PARAMS, "        return [p for n in self.units for p in n.parameters()]\n"),
        nn("str(n) for n in self.neurons", "str(n) for n in self.units"),
        nn(MLP_SIZES, MLP_SIZES.replace("self.layers", "self.blocks")),
        nn("        for layer in self.layers:\n            x = layer(x)",
           "        for layer in self.blocks:\n            x = layer(x)"),
        nn(MLP_PARAMS, "        return [p for layer in self.blocks for p in layer.parameters()]\n"),
        nn("str(layer) for layer in self.layers", "str(layer) for layer in self.blocks")), kind="correct"),
    Entry("sum-styles", "the neuron's sum from a list plus the bias; MLP.parameters() with sum(lists, [])", (
        nn(NEURON_SUM, "        act = sum([wi * xi for wi, xi in zip(self.w, x)]) + self.b\n"),
        nn(MLP_PARAMS, "        return sum((layer.parameters() for layer in self.layers), [])\n")), kind="correct"),
    Entry("params-property-layout", "Neuron keeps one list self.params (weights then bias); w and b are properties",
          (nn(NEURON_INIT_FULL, PARAMS_LAYOUT_NEURON), nn(NEURON_PARAMS, "        return list(self.params)\n")),
          kind="correct"),
    Entry("explicit-nonlin", "nonlin passed by name through Layer and MLP; an if in Neuron.__call__", (
        nn("    def __init__(self, nin, nout, **kwargs):\n" + LAYER_NEURONS,
           "    def __init__(self, nin, nout, nonlin=True):\n"
           "        self.neurons = [Neuron(nin, nonlin=nonlin) for _ in range(nout)]\n"),
        nn("Layer(sz[i], sz[i + 1])", "Layer(sz[i], sz[i + 1], nonlin=True)"),
        nn(NONLIN_RETURN, "        if self.nonlin:\n            return act.tanh()\n        return act\n")),
          kind="correct"),
    Entry("zero-grad-int-and-outs", "zero_grad assigns the int 0; Layer names its outputs outs", (
        nn(ZERO_GRAD, ZERO_GRAD.replace("p.grad = 0.0", "p.grad = 0")),
        nn("        out = [n(x) for n in self.neurons]\n" + LAYER_RETURN,
           "        outs = [neuron(x) for neuron in self.neurons]\n"
           "        return outs if len(outs) > 1 else outs[0]\n")),
          kind="correct"),
    # -- correct, but a documented policy may cost points ------------------------------------------------------
    Entry("recursive-child-check", "a recursive sort that checks each child against the visited set "
          "(policy: the deep chain, 0.25 of topo_sort's tests)", (engine(REFERENCE_SORT, lecture_sort(
              "            visited.add(v)\n            for child in v._prev:\n"
              "                if child not in visited:\n"
              "                    build_topo(child)\n            topo.append(v)\n")),), kind="policy"),
    Entry("recursion-limit-raised", "the lecture's recursive sort with sys.setrecursionlimit(100_000) at import "
          "(policy: whether the worker keeps the student's recursion limit)", (
              engine("import math\n", "import math\nimport sys\n\nsys.setrecursionlimit(100_000)\n"),
              engine(REFERENCE_SORT, lecture_sort(
                  LECTURE_VISIT + "                    build_topo(child)\n                topo.append(v)\n"))),
          kind="policy"),
    Entry("tanh-composite", "tanh built from exp, +, - and / as the lecture shows (policy: overflow for |x| > ~355; "
          "its output's own _backward does not reach x in one call)", (engine(
              "        t = math.tanh(self.data)  # math.tanh, unlike the exp formula, does not overflow for large |x|\n"
              "        out = Value(t, (self,), 'tanh')\n\n        def _backward():\n            " + TANH + "\n"
              "        out._backward = _backward\n\n        return out\n",
              "        e = (2 * self).exp()\n        return (e - 1) / (e + 1)\n"),), kind="policy"),
    Entry("numpy-init", "nn.py draws the initial weights with numpy (policy: what a submission may import)", (
        nn("import random\n", "import random\n\nimport numpy as np\n"),
        nn(NEURON_INIT, NEURON_INIT.replace("Value(random.uniform(-1, 1)) for",
                                            "Value(float(np.random.uniform(-1, 1))) for"))),
          kind="policy"),
]

# -- notebooks ---------------------------------------------------------------------------------------------
SECOND_INPUT = "other.grad += self.data * out.grad"
TRAIN_STEP = "        loss = mse_loss([model(x) for x in xs], ys)\n        model.zero_grad()\n        loss.backward()\n"
NOTEBOOK_BUGS = [
    Entry("nb-exp-drops-derivative", "exp's _backward passes out.grad on unchanged (no exp(x) factor)",
          (("value", EXP, "self.grad += out.grad"),), assignment="autograd", part="local_backward",
          function="Value.exp._backward", named=named(op_backward("exp"), unless=f"{NO_UPSTREAM}|{OVERWRITE}")),
    Entry("nb-pow-n-times-x", "power rule as n * x (the exponent dropped)",
          (("value", POW, "self.grad += other * self.data * out.grad"),), assignment="autograd",
          part="local_backward", function="Value.__pow__._backward",
          named=named(op_backward("pow", "__pow__|power"), unless=f"{NO_UPSTREAM}|{OVERWRITE}")),
    Entry("nb-mul-second-input-assigned", "mul's _backward assigns the second input's gradient (= for other only)",
          (("value", SECOND_INPUT, "other.grad = self.data * out.grad"),), assignment="autograd", part="reused_node",
          function="Value.__mul__._backward", named=named(op_backward("mul", "__mul__"), r"\+=|accumulat|overwr")),
    Entry("nb-tanh-uses-own-grad", "tanh's _backward multiplies by self.grad instead of out.grad",
          (("value", TANH, "self.grad += (1 - t**2) * self.grad"),), assignment="autograd", part="local_backward",
          function="Value.tanh._backward", named=named(op_backward("tanh"), unless=OVERWRITE)),
    Entry("nb-walk-skips-output", "the walk over topo[::-1][1:] skips the output's _backward",
          (("value", "for node in reversed(topo):", "for node in topo[::-1][1:]:"),), assignment="autograd",
          part="backward", function="Value.backward", named=named(SORT + "|" + BACKWARD, r"output|skip|first|never")),
    Entry("nb-visited-before-check", "the lecture's build_topo with visited.add(v) moved above its check: it "
          "never recurses and sorts nothing", (("value", REFERENCE_SORT, lecture_sort(
              "            visited.add(v)\n            if v not in visited:\n                for child in v._prev:\n"
              "                    build_topo(child)\n                topo.append(v)\n")),),
          assignment="autograd", part="backward", function="build_topo",
          named=named(SORT, r"visited|never|empty|no node|reach", r"seed")),
    Entry("nb-loss-squares-the-sum", "mse_loss squares the sum of the differences instead of summing squares",
          (("mse_loss", "return sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))",
            "return sum(yout - ygt for ygt, yout in zip(ys, ypred))**2"),), assignment="neural_nets", part="loss",
          function="mse_loss", named=named(r"mse_loss|loss", r"squar|\*\*2|sum")),
    Entry("nb-loss-on-data", "mse_loss computes on yout.data: a float the graph never sees",
          (("mse_loss", "(yout - ygt)**2", "(yout.data - ygt)**2"),), assignment="neural_nets", part="loss",
          function="mse_loss", named=named(r"mse_loss|loss", r"Value|\.data|float|gradient")),
    Entry("nb-zero-grad-after-backward", "train calls model.zero_grad() after loss.backward(): every update is 0",
          (("train", TRAIN_STEP, "        loss = mse_loss([model(x) for x in xs], ys)\n        loss.backward()\n"
                                 "        model.zero_grad()\n"),), assignment="neural_nets", part="training",
          function="train", named=named(r"zero_grad", r"after (?:loss\.)?backward|before (?:the )?update|order",
                                       CATCH_ALL_TRAINING)),
    Entry("nb-predictions-once", "train computes the predictions once, before its loop: the same graph every step",
          (("train", "    for _ in range(steps):\n        loss = mse_loss([model(x) for x in xs], ys)\n",
            "    ypred = [model(x) for x in xs]\n    for _ in range(steps):\n        loss = mse_loss(ypred, ys)\n"),),
          assignment="neural_nets", part="training", function="train",
          named=named(r"train|step|loop", r"predict|model\(x\)|same graph|once|outside|before the loop",
                        CATCH_ALL_TRAINING)),
    Entry("nb-losses-are-values", "train appends the loss Value, not loss.data",
          (("train", "losses.append(loss.data)", "losses.append(loss)"),), assignment="neural_nets", part="training",
          function="train", named=named(r"train|losses", r"\.data|Value|number|float")),
    Entry("nb-zero-grad-parameters-not-called", "Module.zero_grad loops over self.parameters (no call)",
          (("module", "for p in self.parameters():", "for p in self.parameters:"),), assignment="neural_nets",
          part="training", function="Module.zero_grad", named=named(ZERO_GRAD_RE, r"\(\)|method|iterable|parameters")),
    Entry("nb-mlp-sizes-swapped", "MLP builds Layer(sz[i + 1], sz[i]): inputs and outputs swapped",
          (("mlp", "Layer(sz[i], sz[i + 1])", "Layer(sz[i + 1], sz[i])"),), assignment="neural_nets",
          part="modules", function="MLP.__init__",
          named=named(r"MLP", r"size|layer|sz|nin|nout", r"missing.{0,10}bias")),
    Entry("nb-layer-parameters-return-in-loop", "Layer.parameters() returns inside its loop: first neuron only",
          (("layer", LAYER_PARAMS, "        for n in self.neurons:\n            return n.parameters()\n"),),
          assignment="neural_nets", part="modules", function="Layer.parameters",
          named=named(r"Layer", r"first|return|only|every neuron|parameters", r"missing.{0,10}bias|skips a layer")),
]
NOTEBOOK_CORRECT = [
    Entry("nb-autograd-other-style", "tanh's derivative as (1 - t) * (1 + t); the sort with iterators",
          (("value", TANH, "self.grad += (1 - t) * (1 + t) * out.grad"), ("value", REFERENCE_SORT, ITERATOR_DFS)),
          kind="correct", assignment="autograd"),
    Entry("nb-neural-nets-other-style", "mse_loss with a Value start and the targets first; p.data -= lr * p.grad",
          (("mse_loss", "return sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))",
            "return sum(((ygt - yout)**2 for ygt, yout in zip(ys, ypred)), Value(0.0))"),
           ("train", "p.data += -lr * p.grad", "p.data -= lr * p.grad")), kind="correct", assignment="neural_nets"),
]

ALL = [*BUGS, *CORRECT, *NOTEBOOK_BUGS, *NOTEBOOK_CORRECT]
