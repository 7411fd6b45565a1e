"""Hostile and broken submissions, built at test time from the reference (one source of truth).

Each case starts from the reference (`solutions/micrograd/*.py` with the markers stripped) or
from the student template (the same files stubbed by `course build`'s `markers.stub`), then
applies small text patches: (file, old, new) replaces `old` once; an empty `old` appends `new`;
`new=None` deletes the file. In the injected code {OUT} is the results folder, {REPO} the
course repository, {NAME} the submission's name and {MARKER} a string that tags every process
the submission leaves behind.

A case's `bound` is the most it may score (None: less than full marks, with `every_failure`
saying why the failing tests fail and every other test passing, i.e. graded normally).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from checkout import REPO_ROOT

from autograder.markers import strip_markers, stub

FILES = ("micrograd/engine.py", "micrograd/nn.py")
MARKER = f"course-hostile-{os.getpid()}"  # per run: concurrent runs on one machine do not see each other's


@dataclass(frozen=True)
class Case:
    base: str  # "reference" or "template"
    patches: tuple[tuple[str, str, str | None], ...]
    bound: float | None = 0.0
    every_failure: str = ""  # text every failed test's output contains
    flags: tuple[str, ...] = ()
    zero_parts: tuple[str, ...] = ()
    notes: dict = field(default_factory=dict)


def engine(code: str) -> tuple[str, str, str]:
    """Append code to engine.py."""
    return ("micrograd/engine.py", "", "\n" + code.strip("\n") + "\n")


ENGINE_PARTS = ("operations", "backward", "topo_sort")  # graded on the student's engine.py
_EXIT_IN_BACKWARD = "        self.grad += 1.0\n"
_TORCH_BY_NAME = "torch = __import__('importlib').import_module('to' + 'rch')"  # invisible to the static check

_FORK_BOMB = """
import os
forked = 0
for _ in range(500):
    try:
        if os.fork() == 0:
            os.execv("/bin/sh", ["sh", "-c", "sleep 600; : {MARKER}"])
    except OSError:
        break
    forked += 1
print(f"forked {forked} children")
"""

_DAEMON = """
import os
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        fake = '{"score": 100, "tests": []}'
        os.execv("/bin/sh", ["sh", "-c", f"sleep 1; while :; do echo '{fake}' > {OUT}/{NAME}.json; "
                 f"echo '{fake}' > {OUT}/daemon.json; echo '{fake}' > {REPO}/results.json; sleep 0.2; "
                 "done; : {MARKER}"])
    os._exit(0)
"""

_FAKE_RESULTS = """
import json, os
fake = json.dumps({"score": 100, "tests": [{"name": "all", "score": 100, "max_score": 100}]})
for path in ["results.json", "/tmp/results.json", os.path.expanduser("~/results.json"),
             "/autograder/results/results.json", "{OUT}/{NAME}.json", "{OUT}/results.json",
             "{REPO}/results.json", "{REPO}/grading_tests/results.json"]:
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as f:
            f.write(fake)
        print("wrote", path)
    except OSError as exc:
        print("blocked", path, type(exc).__name__)
"""

_WRITE_GRADER = """
import os
for root in ["{REPO}/grading_tests", "{REPO}/autograder", "{REPO}/solutions"]:
    for dirpath, _, files in os.walk(root):
        for name in files:
            try:
                with open(os.path.join(dirpath, name), "a") as f:
                    f.write("\\ndef test_hacked(): pass\\n")
            except OSError:
                pass
for path in ["{REPO}/course.yml", "{REPO}/grading_tests/conftest.py", "{REPO}/autograder/core/suite.py"]:
    try:
        with open(path, "w") as f:
            f.write("# emptied by a submission\\n")
    except OSError as exc:
        print("blocked", path, type(exc).__name__)
"""

_LEAK_TESTS = """
import os, sys
stolen = []
for root in ["{REPO}/grading_tests", "{REPO}", "/proc/1/root{REPO}/grading_tests", "/grader", "/"]:
    for dirpath, dirs, files in os.walk(root):
        if dirpath == "/":  # skip the system and the Python installation (its own test_*.py)
            dirs[:] = [d for d in dirs if d in ("tmp", "scratch", "submission", "grader", "work", "home")]
        stolen += [open(os.path.join(dirpath, f)).read() for f in files
                   if f.startswith("test_") and f.endswith(".py")]
leak = "\\n".join(stolen) or "nothing found"
print(leak)
print(leak, file=sys.stderr)

def _leaky(self, *args):
    raise RuntimeError(leak)

Value.__add__ = Value.__mul__ = Value.tanh = Value.backward = _leaky
"""

_PATCH_COMPARISONS = """
import builtins, math, unittest
math.isclose = lambda *args, **kwargs: True
builtins.abs = lambda x: 0.0
for name in dir(unittest.TestCase):
    if name.startswith("assert"):
        setattr(unittest.TestCase, name, lambda *args, **kwargs: None)
for module in ("pytest", "torch", "numpy"):
    try:
        imported = __import__(module)
    except BaseException:
        continue
    for helper in ("approx", "allclose", "isclose", "equal"):
        if hasattr(imported, helper):
            setattr(imported, helper, lambda *args, **kwargs: True)
"""

_ALWAYS_EQUAL = """
class AlwaysEqual(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return False
    def __gt__(self, other): return False
    def __le__(self, other): return True
    def __ge__(self, other): return True
    def __abs__(self): return AlwaysEqual(0.0)
    def __sub__(self, other): return AlwaysEqual(0.0)
    def __rsub__(self, other): return AlwaysEqual(0.0)
    __hash__ = float.__hash__

_init = Value.__init__
def _equal_init(self, data, *args, **kwargs):
    _init(self, AlwaysEqual(data), *args, **kwargs)
    self.grad = AlwaysEqual(0.0)
Value.__init__ = _equal_init

def _backward_everything(self):
    self.grad = AlwaysEqual(1.0)
Value.backward = _backward_everything
"""

_FRAME_THIEF = """
import gc, inspect, sys

def _steal():
    found = []
    frame = sys._getframe()
    while frame is not None:
        if not frame.f_code.co_filename.startswith(("/submission", "/grader")):
            found += [v for v in frame.f_locals.values() if isinstance(v, float)]
        frame = frame.f_back
    for info in inspect.stack():
        found += [v for k, v in info.frame.f_locals.items() if "expect" in k and isinstance(v, float)]
    for obj in gc.get_objects():
        if type(obj).__name__ == "Tensor":
            found.append(float(obj.grad if obj.grad is not None else obj))
        elif isinstance(obj, dict):
            found += [v for k, v in list(obj.items()) if isinstance(k, str) and "expect" in k and isinstance(v, float)]
    return found

def _thieving_backward(self):
    found = _steal()
    print("stolen:", found[:10])
    if not found:
        raise RuntimeError("nothing to steal")
    nodes, stack = [], [self]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node._prev)
    for node, value in zip(nodes, found):
        node.grad = value
Value.backward = _thieving_backward
"""

_PROC_AND_PTRACE = """
import ctypes, os
seen = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            seen.append(open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\\0", b" ").decode())
            seen.append(open(f"/proc/{pid}/environ", "rb").read().replace(b"\\0", b" ").decode())
        except OSError:
            pass
libc = ctypes.CDLL(None, use_errno=True)
attached = [libc.ptrace(16, pid, 0, 0) for pid in range(1, 64)]  # PTRACE_ATTACH
seen.append(f"ptrace: {sum(r == 0 for r in attached)} attached")
seen.append(open("/proc/self/mountinfo").read())
report = " | ".join(seen)
print(report)

def _report(self, *args):
    raise RuntimeError(report)

Value.__add__ = Value.__mul__ = Value.tanh = Value.backward = _report
"""

# Cheats on part isolation (autograder/core/isolation.py): each delegates to whatever reference code the
# worker of one isolation mode holds. That worker never grades the part the reference code is for,
# so each must score no more than the blank template.
_BORROWS_REFERENCE_DERIVATIVES = """
import importlib
def _borrowed(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
_ref = _borrowed("reference_operations")  # only in the worker that grades backward() and the sort
print("reference derivatives:", "found" if _ref else "absent")

def _op(name, *operands):
    def method(self, *args):
        if _ref is None:
            raise NotImplementedError("nothing to borrow")
        values = [a.data if isinstance(a, Value) else a for a in (self, *args)]
        forward, _ = _ref.REFERENCE[name]
        out = Value(forward(*values), tuple(a for a in (self, *args) if isinstance(a, Value)), name)
        inputs = [a if isinstance(a, Value) else None for a in (self, *args)][:operands[0]]
        out._backward = _ref.backward_of(name, inputs, values[:operands[0]], values[operands[0]:], out, out.data)
        return out
    return method

for _name, _method, _count in (("add", "__add__", 2), ("mul", "__mul__", 2), ("pow", "__pow__", 1),
                               ("tanh", "tanh", 1), ("relu", "relu", 1), ("exp", "exp", 1)):
    setattr(Value, _method, _op(_name, _count))

def _borrowed_backward(self):
    walk = next((getattr(_ref, n) for n in ("backward", "walk", "topological", "reference_walk")
                 if _ref is not None and hasattr(_ref, n)), None)
    if walk is None:
        raise NotImplementedError("no reference walk to borrow")
    walk(self)
Value.backward = _borrowed_backward
"""

_BORROWS_REFERENCE_ENGINE = """
import pathlib
# The reference engine is staged for the worker that grades nn and training: look for it from here.
_here = pathlib.Path(__file__).resolve().parent
_found = [p for root in (_here.parent, _here.parent.parent, pathlib.Path("/submission"), pathlib.Path("/"))
          for p in root.glob("*reference_engine*/micrograd/engine.py")]
print("reference engine:", _found[:1] or "absent")
if _found:
    _namespace = {}
    exec(compile(_found[0].read_text(), str(_found[0]), "exec"), _namespace)
    Value = _namespace["Value"]
"""

_BORROWS_WORKER_MODULES = """
import importlib
# Every worker holds the grader's own worker modules: delegate backward() to whatever they offer.
_modules = []
for _name in ("micrograd_probes", "operations", "main", "notebook_probes", "reference_operations"):
    try:
        _modules.append(importlib.import_module(_name))
    except ImportError:
        pass
print("worker modules:", [m.__name__ for m in _modules])

class _Borrowing(Value):
    def backward(self):
        for module in _modules:
            for name in ("backward", "walk", "reference_walk", "topological"):
                if callable(getattr(module, name, None)):
                    return getattr(module, name)(self)
        raise NotImplementedError("nothing to borrow")

Value = _Borrowing
"""

_IMPORTS_HIDDEN_SUITE = """
import importlib
import sys
# The hidden suites are a package: with the course folder on the path, import their diagnoses (a float model of
# a right engine, reference_walk) and their expected values by name.
sys.path[:0] = ["{REPO}", "{REPO}/grading_tests", "{REPO}/grading_tests/micrograd"]
for _name in ("grading_tests.micrograd.diagnose", "grading_tests.micrograd.expected", "grading_tests", "diagnose"):
    try:
        importlib.import_module(_name)
        print("hidden suite:", _name, "imported")
    except Exception as _error:
        print("hidden suite:", _name, type(_error).__name__)
"""

CASES: dict[str, Case] = {
    "borrows-reference-derivatives": Case("template", (engine(_BORROWS_REFERENCE_DERIVATIVES),)),
    "borrows-reference-engine": Case("template", (engine(_BORROWS_REFERENCE_ENGINE),)),
    "borrows-worker-modules": Case("template", (engine(_BORROWS_WORKER_MODULES),)),
    "imports-the-hidden-suite": Case("template", (engine(_IMPORTS_HIDDEN_SUITE),)),
    # engine.py broken at import: the engine's parts score 0, while nn.py, graded on the reference
    # engine (isolation), keeps its points.
    "os-exit-at-import": Case("reference", (engine("import os\nos._exit(0)"),), bound=None,
                              every_failure="your micrograd/engine.py ended the process (os._exit(0)?) while being "
                              "imported", flags=("exit_at_import",), zero_parts=ENGINE_PARTS),
    "sys-exit-at-import": Case("reference", (engine("import sys\nsys.exit(0)"),), bound=None,
                               every_failure="your micrograd/engine.py called sys.exit(0) (raised SystemExit) while "
                               "being imported", flags=("exit_at_import",), zero_parts=ENGINE_PARTS),
    "os-exit-in-backward": Case("reference", (("micrograd/engine.py", _EXIT_IN_BACKWARD,
                                               "        __import__('os')._exit(0)\n"),),
                                bound=None, every_failure="stopped the worker", zero_parts=("backward", "topo_sort")),
    "sys-exit-in-backward": Case("reference", (("micrograd/engine.py", _EXIT_IN_BACKWARD,
                                                "        __import__('sys').exit(3)\n"),),
                                 bound=None, every_failure="your code called sys.exit(3) (raised SystemExit",
                                 zero_parts=("backward", "topo_sort")),
    "infinite-loop-in-exp-backward": Case("reference", (("micrograd/engine.py",
                                                         "            self.grad += out.data * out.grad\n",
                                                         "            while True:\n                pass\n"),),
                                          bound=None, every_failure="did not finish", flags=("timeout",)),
    "syntax-error": Case("reference", (("micrograd/engine.py", "    def __mul__(self, other):\n",
                                        "    def __mul__(self, other)\n"),),
                         bound=None, every_failure="SyntaxError in micrograd/engine.py line", flags=("syntax_error",),
                         zero_parts=ENGINE_PARTS),
    "missing-nn": Case("reference", (("micrograd/nn.py", "", None),), bound=None,
                       every_failure="micrograd/nn.py is missing", flags=("missing_file",),
                       zero_parts=("nn", "training")),
    # One allocation far above the memory limit: refused at once, however busy the machine (a hoard
    # grown in steps could reach the time limit first).
    "allocates-many-gb": Case("reference", (engine("_hoard = bytearray(40 << 30)"),),
                              bound=None, every_failure="your code used more than the 768 MB of memory",
                              flags=("memory",), zero_parts=ENGINE_PARTS),
    "torch-autograd-engine": Case("reference", (("micrograd/engine.py", "import math\n",
                                                 "import math\nimport torch\n"),),
                                  bound=None, every_failure="policy violation", flags=("policy_violation",),
                                  zero_parts=ENGINE_PARTS),
    "torch-imported-by-name": Case("reference", (engine(_TORCH_BY_NAME),), bound=None,
                                   every_failure="policy violation", flags=("policy_violation",),
                                   zero_parts=ENGINE_PARTS),
    "patches-comparisons": Case("template", (engine(_PATCH_COMPARISONS),)),
    "always-equal-float": Case("template", (engine(_ALWAYS_EQUAL),)),
    "walks-frames-for-expected": Case("template", (engine(_FRAME_THIEF),)),
    "fake-pytest-summary": Case("template", (engine(
        "print('=' * 30 + ' 120 passed in 0.42s ' + '=' * 30)\nprint('SCORE: 100/100')\n"
        "import sys\nprint('FAILED: 0', file=sys.stderr)"),)),
    "fake-results-files": Case("template", (engine(_FAKE_RESULTS),)),
    "daemon-overwrites-results": Case("template", (engine(_DAEMON),)),
    "writes-grader-files": Case("template", (engine(_WRITE_GRADER),)),
    "leaks-hidden-tests": Case("template", (engine(_LEAK_TESTS),)),
    "reads-proc-and-ptraces": Case("template", (engine(_PROC_AND_PTRACE),)),
    "fork-bomb": Case("template", (engine(_FORK_BOMB),)),
    "floods-stdout": Case("template", (engine(
        "import sys\nsys.stdout.write('A' * (20 << 20))\nsys.stderr.write('B' * (20 << 20))"),)),
    "writes-reply-channel": Case("template", (engine(
        "import os, sys\nfor i in range(1, 200):\n    os.write(int(sys.argv[1]), "
        "b'{\"id\": %d, \"ok\": true, \"value\": {\"data\": [1], \"grad\": [1]}}\\n' % i)"),)),
}


def _base(kind: str, relative: str) -> str:
    source = (REPO_ROOT / "solutions" / relative).read_text(encoding="utf-8")
    return strip_markers(source) if kind == "reference" else stub(source, name=relative)


def build(name: str, case: Case, into: Path, *, out: Path) -> Path:
    """Write the submission `name` into `into/name` and return its folder."""
    folder = into / name
    files = {relative: _base(case.base, relative) for relative in FILES}
    for relative, old, new in case.patches:
        if new is None:
            del files[relative]
            continue
        new = (new.replace("{OUT}", str(out)).replace("{REPO}", str(REPO_ROOT))
               .replace("{NAME}", name).replace("{MARKER}", MARKER))
        if old:
            assert files[relative].count(old) >= 1, f"{name}: {old!r} is not in {relative}"
            files[relative] = files[relative].replace(old, new, 1)
        else:
            files[relative] += new
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text, encoding="utf-8")
    (folder / "micrograd" / "__init__.py").write_text("")
    return folder


def syntax_error_line(case: Case) -> int:
    """The line of the syntax error the 'syntax-error' case introduces."""
    relative, old, _ = case.patches[0]
    return strip_markers((REPO_ROOT / "solutions" / relative).read_text()).splitlines(keepends=True).index(old) + 1
