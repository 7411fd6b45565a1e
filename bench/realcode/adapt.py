"""Adapt public micrograd re-implementations to the course's API, changing names and signatures only.

    python bench/realcode/adapt.py /work/realcode ADAPTED_DIR

/work/realcode/<owner>__<repo>/ holds engine.py and nn.py as found (manifest.tsv says where from);
ADAPTED_DIR/<owner>__<repo>/micrograd/{__init__,engine,nn}.py is written in the template layout.
Their code is theirs: it is never committed, only these replacements are.

Each change is a text replacement (or a regular expression, marked re) with the reason, applied to
engine.py or nn.py; a replacement that does not match fails loudly, so an upstream change is seen.
Rules kept for every implementation:
- never fix a bug: an argument the course passes and their design lacks is accepted and IGNORED
  (a Neuron that is always tanh stays always tanh; a Layer that cannot be linear stays so);
- a missing method (zero_grad, exp, relu) is not added;
- Value's constructor takes the course's (data, _children, _op, label) in that order, because the
  grader builds Values with label= and builds reference nodes as Value(data, children, op);
- the graph attribute is called _prev and the closure _backward (the grader reads both).
ENGINE_ONLY implementations have no Neuron/Layer/MLP nn: they are paired with the template's
unimplemented nn.py and only their engine parts are compared.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "student_template" / "micrograd"

LABEL = "add label='' to Value's constructor (the grader builds leaves with label=)"
NONLIN = "accept Neuron(nin, nonlin=...) and ignore it: their neuron has no linear option"
KWARGS = "accept Layer(nin, nout, **kwargs) and ignore them: their layer has no options"
PREV = "rename the graph attribute to _prev (the grader reads _prev)"
IMPORT = "module path: their nn imports engine as a top-level module"

# name -> {"engine.py" | "nn.py": [(old, new, why) or ("re", pattern, replacement, why)]}
CHANGES: dict[str, dict[str, list[tuple[str, ...]]]] = {
    "Ad7amstein__micrograd": {
        "engine.py": [
            ('def __init__(self, data, _children=(), _op=""):',
             'def __init__(self, data, _children=(), _op="", label=""):', LABEL),
            ("re", r"\bprev\b", "_prev", PREV + " (their property prev and its setter)"),
        ],
        "nn.py": [
            ('def __init__(self, nin, activation="Linear"):',
             'def __init__(self, nin, activation=None, nonlin=True):\n'
             '        activation = activation or ("tanh" if nonlin else "Linear")',
             "map nonlin=True/False to their activation='tanh'/'Linear' (their default Neuron is Linear); "
             "activation stays their second positional argument (their Layer passes it so)"),
            ('def __init__(self, nin, nout, act="Linear"):',
             'def __init__(self, nin, nout, act=None, nonlin=True):\n'
             '        act = act or ("tanh" if nonlin else "Linear")',
             "map Layer's nonlin to their act, as for Neuron"),
            ('act: str = "Linear"):', 'act: str = "tanh"):',
             "MLP(nin, nouts) means the lecture's tanh MLP: their act default becomes tanh (their last layer "
             "stays Linear, their design)"),
        ],
    },
    "Ahmadqh2005__Micrograd": {
        "engine.py": [("re", r"\bprev\b", "_prev", PREV)],
        "nn.py": [
            ("def __init__(self, nin):", "def __init__(self, nin, nonlin=True):", NONLIN),
            ("def __init__(self, nin, nop):", "def __init__(self, nin, nop, **kwargs):", KWARGS),
        ],
    },
    "Ajy-code__Micrograd-From-Scratch": {
        "nn.py": [
            ("def __init__(self,nin):", "def __init__(self,nin,nonlin=True):", NONLIN),
            ("def __init__(self,nin,nout):", "def __init__(self,nin,nout,**kwargs):", KWARGS),
        ],
    },
    "Akshay879__Micrograd": {
        "nn.py": [
            ("from engine import Value", "from micrograd.engine import Value", IMPORT),
            ("def __init__(self,nin):", "def __init__(self,nin,nonlin=True):", NONLIN),
            ("def __init__(self,nin,nout):", "def __init__(self,nin,nout,**kwargs):", KWARGS),
        ],
    },
    "ArtDash__micrograd_implementation": {
        "engine.py": [('def __init__(self, data, _children=(), _op=""):',
                       'def __init__(self, data, _children=(), _op="", label=""):', LABEL)],
    },
    "Bhav7__micrograd_reimplementation": {
        "engine.py": [("re", r"\bchildren\b", "_prev", PREV + " (their children; the parameter too)")],
        "nn.py": [
            ("re", r"\bdef forward\(", "def __call__(", "their modules are called with forward(): named __call__"),
            ("re", r"\.forward\(", ".__call__(", "their own calls of forward() follow the rename"),
            ("def __init__(self, nin):", "def __init__(self, nin, nonlin=True):", NONLIN),
            ("def __init__(self, nin, nout):", "def __init__(self, nin, nout, **kwargs):", KWARGS),
        ],
    },
    "DAShaikh10__micrograd": {
        "engine.py": [("def __init__(self, data: float, _children: set = (), op=None):",
                       "def __init__(self, data: float, _children: set = (), op=None, label=''):", LABEL)],
        "nn.py": [
            ("def __init__(self, n_inputs):", "def __init__(self, n_inputs, nonlin=True):", NONLIN),
            ("def __init__(self, n_inputs, n_outputs):", "def __init__(self, n_inputs, n_outputs, **kwargs):",
             KWARGS + " (Layer's; their MLP has the same signature and takes a list)"),
        ],
    },
    "DeconvFFT__micrograd": {
        "engine.py": [("def __init__(self, data, _children=(), _op=''):",
                       "def __init__(self, data, _children=(), _op='', label=''):", LABEL)],
        # their MLP passes nonlin= to a Layer that does not take it: left as found (a real fault)
    },
    "FelipeMarra__micrograd": {
        "nn.py": [
            ("def __init__(self, in_size:int) -> None:", "def __init__(self, in_size:int, nonlin=True) -> None:",
             NONLIN),
            ("def __init__(self, in_size:int, layer_size:int) -> None:",
             "def __init__(self, in_size:int, layer_size:int, **kwargs) -> None:", KWARGS),
        ],
    },
    # Frostbite22: no change. Their MLP passes nonlin= to a Layer(nin, nout) that does not take it
    # (a real fault): accepting **kwargs there would fix it.
    "Frostbite22__micrograd_karpathy": {},
    "GrigoriiMoroz__MicroGrad": {
        "nn.py": [("def __init__(self, nin, nout):", "def __init__(self, nin, nout, **kwargs):", KWARGS)],
    },
    "HJoonKwon__micrograd": {
        "nn.py": [("def __init__(self, nin, act=\"tanh\"):",
                   "def __init__(self, nin, act=\"tanh\", nonlin=True):\n"
                   "        act = act if nonlin else None",
                   "map nonlin=False to their act=None (no activation); their act= (MLP's last layer: None) "
                   "is kept as given")],
    },
    "KaelinGraf__micrograd": {
        "engine.py": [
            ("re", r"\bdef backprop\(self\)", "def backward(self)", "their backward() is called backprop()"),
        ],
        # ENGINE_ONLY: their nn.py is a training script (imports their draw module, trains at import time)
    },
    "KarinnKyou__micrograd": {
        "nn.py": [
            ("def __init__(self, nin):", "def __init__(self, nin, nonlin=True):", NONLIN),
            ("def __init__(self, nin, nout):", "def __init__(self, nin, nout, **kwargs):", KWARGS),
        ],
    },
    "LouisNguyen1409__micrograd": {
        "engine.py": [("from utils.trace_graph import *", "from micrograd.viz import *",
                       "module path: their lecture draw_dot helper (utils/trace_graph.py, graphviz) is the "
                       "template's micrograd/viz.py")],
        "nn.py": [
            ("def __init__(self, nin):", "def __init__(self, nin, nonlin=True):", NONLIN),
            ("def __init__(self, nin, nout):", "def __init__(self, nin, nout, **kwargs):", KWARGS),
        ],
    },
    "LouisSloot__micrograd": {
        "nn.py": [
            ("def __init__(self, n_in):", "def __init__(self, n_in, nonlin=True):", NONLIN),
            ("def __init__(self, n_in, n_out):", "def __init__(self, n_in, n_out, **kwargs):", KWARGS),
        ],
    },
    "Naveed513__micrograd": {
        "nn.py": [
            ("def __init__(self, nin, nonlin=None):",
             "def __init__(self, nin, nonlin='tanh'):\n"
             "        nonlin = {True: 'tanh', False: None}.get(nonlin, nonlin) if isinstance(nonlin, bool) else nonlin",
             "map nonlin=True/False to their nonlin='tanh'/None (their default Neuron is linear)"),
            ("def __init__(self, nin, nouts, act='relu'):", "def __init__(self, nin, nouts, act='tanh'):",
             "MLP(nin, nouts) means the lecture's tanh MLP: their act default becomes tanh (their last layer "
             "stays linear, their design)"),
        ],
    },
    "Nightshade14__my_micrograd": {},
    "OkoroAchraf__MicroGrad": {
        "engine.py": [
            ("def __init__(self, data, prev = set(), label='',op=''):",
             "def __init__(self, data, prev = set(), op='', label=''):",
             "Value's constructor in the course's order (data, _children, _op, label): they pass op= by name"),
            ("re", r"\bprev\b", "_prev", PREV),
            ("re", r"\breLu\b", "relu", "their relu is called reLu"),
        ],
        "nn.py": [
            ("from engine import Value", "from micrograd.engine import Value", IMPORT),
            ("def __init__(self, nin):", "def __init__(self, nin, nonlin=True):", NONLIN),
            ("def __init__(self, nin, nout):", "def __init__(self, nin, nout, **kwargs):", KWARGS),
            ("re", r"\breLu\b", "relu", "their own calls of reLu follow the rename"),
        ],
    },
    "Omm2005__micrograd": {
        "nn.py": [("re", r"\bLayers\b", "Layer", "their Layer class is called Layers")],
    },
    "Pattara-Earth__micrograd-andrej": {
        "nn.py": [
            ("def __init__(self, n_in: int):", "def __init__(self, n_in: int, nonlin=True):", NONLIN),
            ("def __init__(self, n_in: int, n_out: int):", "def __init__(self, n_in: int, n_out: int, **kwargs):",
             KWARGS),
            ("def __init__(self, n_in: int, n_out: int, hiddens: list):",
             "def __init__(self, n_in: int, n_out, hiddens: list = None):\n"
             "        if hiddens is None:\n"
             "            n_out, hiddens = n_out[-1], list(n_out[:-1])",
             "MLP(nin, nouts) maps to their MLP(n_in, n_out, hiddens): hiddens = nouts[:-1], n_out = nouts[-1]"),
        ],
    },
    "QingZhou-YangHY__Micrograd": {
        "engine.py": [('def __init__(self, data, _children=(), _op=""):',
                       'def __init__(self, data, _children=(), _op="", label=""):', LABEL)],
        "nn.py": [
            ("def __init__(self, nin):", "def __init__(self, nin, nonlin=True):", NONLIN),
            ("def __init__(self, nin, nout):", "def __init__(self, nin, nout, **kwargs):", KWARGS),
        ],
    },
    "Rohit-Dey__Micrograd": {
        "engine.py": [("def __init__(self, data, _children=(), _op=''):",
                       "def __init__(self, data, _children=(), _op='', label=''):", LABEL)],
        "nn.py": [
            ("def __init__(self, nin):", "def __init__(self, nin, nonlin=True):", NONLIN),
            ("def __init__(self, nin, nout):", "def __init__(self, nin, nout, **kwargs):", KWARGS),
        ],
    },
    "SaeedNeamtallah__micrograd": {
        "engine.py": [("def __init__(self, data, _children=(), _op=''):",
                       "def __init__(self, data, _children=(), _op='', label=''):", LABEL)],
        "nn.py": [
            ("from engine import Value", "from micrograd.engine import Value", IMPORT),
            ("def __init__(self, nin, nout, hidden_layers, **kwargs):",
             "def __init__(self, nin, nout, hidden_layers=None, **kwargs):\n"
             "        if hidden_layers is None:\n"
             "            nout, hidden_layers = nout[-1], list(nout[:-1])",
             "MLP(nin, nouts) maps to their MLP(nin, nout, hidden_layers): hidden = nouts[:-1], nout = nouts[-1]"),
        ],
    },
    "SaifMohammed22__Mymicrograd": {
        "nn.py": [("from engine import Value", "from micrograd.engine import Value", IMPORT)],
    },
    "Satvik2101__s_micrograd": {},
    "ShivKJ__micrograd": {
        "engine.py": [
            ("    ops: str = ''\n", "    ops: str = ''\n    label: str = ''\n", LABEL + " (a dataclass field)"),
            ("re", r"\bparents\b", "_prev", PREV + " (their dataclass field parents)"),
            ("re", r"\bgrad_fn\b", "_backward", "their _backward closure is called grad_fn"),
        ],
        "nn.py": [
            ("re", r"\n\s*@cached_property", "", "parameters() is a method in the course; theirs is a cached property"),
            ("re", r"\.parameters\b(?!\()", ".parameters()", "their own uses of the property become calls"),
            ("def __init__(self, nin: int, activation='ReLU'):",
             "def __init__(self, nin: int, activation=..., nonlin=True):\n"
             "        activation = ('Tanh' if nonlin else None) if activation is ... else activation",
             "the course's Neuron(nin[, nonlin]) maps to their activation='Tanh'/None (their default is ReLU); "
             "an activation they pass (their MLP: ReLU, then None for the last layer) is kept as given"),
        ],
    },
    "ShubhamTiwari777__mini-grad": {
        "engine.py": [('        _op: str = "",\n', '        _op: str = "",\n        label: str = "",\n', LABEL)],
    },
    "SyedSameerFaisall__MicroGrad-Repo": {
        "nn.py": [
            ("def __init__(self, nin):", "def __init__(self, nin, nonlin=True):", NONLIN),
            ("def __init__(self, nin, nout):", "def __init__(self, nin, nout, **kwargs):", KWARGS),
        ],
    },
    "TheScenery__micrograd": {
        "nn.py": [
            ("def __init__(self, nin):", "def __init__(self, nin, nonlin=True):", NONLIN),
            ("def __init__(self, nin, nout):", "def __init__(self, nin, nout, **kwargs):", KWARGS),
        ],
    },
    "Tuongmanhnguyen__micrograd": {
        "nn.py": [
            ("def __init__(self, nin):", "def __init__(self, nin, nonlin=True):", NONLIN),
            ("def __init__(self, nin, nout):", "def __init__(self, nin, nout, **kwargs):", KWARGS),
        ],
    },
}

ENGINE_ONLY = {"ArtDash__micrograd_implementation", "KaelinGraf__micrograd"}


def apply(text: str, changes: list[tuple[str, ...]], where: str) -> str:
    for change in changes:
        if change[0] == "re":
            _, pattern, replacement, _why = change
            text, n = re.subn(pattern, replacement, text)
        else:
            old, new, _why = change
            n = text.count(old)
            text = text.replace(old, new)
        if n == 0:
            raise SystemExit(f"{where}: {change[:-1]!r} matched nothing")
    return text


def adapt(source: Path, target: Path) -> list[str]:
    """Write every implementation listed in CHANGES from source into target; return their names."""
    written = []
    for name, files in CHANGES.items():
        out = target / name / "micrograd"
        if out.parent.exists():
            shutil.rmtree(out.parent)
        out.mkdir(parents=True)
        shutil.copy(TEMPLATE / "__init__.py", out / "__init__.py")
        shutil.copy(TEMPLATE / "viz.py", out / "viz.py")
        for filename in ("engine.py", "nn.py"):
            if filename == "nn.py" and name in ENGINE_ONLY:
                shutil.copy(TEMPLATE / "nn.py", out / "nn.py")
                continue
            text = (source / name / filename).read_text()
            (out / filename).write_text(apply(text, files.get(filename, []), f"{name}/{filename}"))
        written.append(name)
    return written


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    written = adapt(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{len(written)} implementations written to {sys.argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
