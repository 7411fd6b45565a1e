"""The demo class of this course (`course demo`): who hands in what, each a small edit of the reference.

Correct students (the reference, a correct variant), students with classic bugs (entries of the bug catalog
beside this file, applied to the reference), students who never started (the student template) and hostile
students (sys.exit at import, an infinite loop in one _backward, reading files they should not, torch,
forging the grader's reply channel). Generated at run time from solutions/: never a kept copy of solution code.
"""

from pathlib import Path

from autograder.frontends.demo import Student, edit, from_catalog, prepend, template

ENGINE, NN = "micrograd/engine.py", "micrograd/nn.py"
GRADING_TESTS = Path(__file__).resolve().parents[1]  # this course's hidden suites: what snoop looks for
SNOOP = f'''import os

# "Let's see what the grader has lying around."
for _path in ("/etc/passwd", {str(GRADING_TESTS)!r}, os.path.expanduser("~/.ssh"), "/proc/1/environ"):
    try:
        print(_path, os.listdir(_path) if os.path.isdir(_path) else open(_path).read(80))
    except OSError as _error:
        print(_path, "->", type(_error).__name__)
'''
FORGE = '''import os
import sys

# Write a made-up "all correct" reply straight into the grader's reply channel.
try:
    os.write(int(sys.argv[1]), b'{"id": 1, "ok": true, "value": {"data": [1.0], "grad": [1.0], "prev": [[]]}}\\n')
except (IndexError, ValueError, OSError):
    pass
'''


STUDENTS = (
    Student("ada", "correct", "the reference solution"),
    Student("grace", "correct", "correct, with debugging prints left in",
            prepend(ENGINE, 'print("engine loaded, debugging is on")\n')),
    Student("linus", "bug", "the lecture's recursive topological sort (too deep for it: a 10,000-node chain)",
            start=from_catalog("lecture-recursive-sort")),
    Student("alan", "bug", "overwrites gradients in __add__ (a + a loses half)", start=from_catalog("add-overwrite")),
    Student("barbara", "bug", "__mul__ scales by its own data, not the other input's",
            start=from_catalog("mul-swapped")),
    Student("claude", "bug", "tanh derivative from the input instead of the output",
            start=from_catalog("tanh-derivative-from-input")),
    Student("dennis", "bug", "calls _backward in topological order, not reversed",
            start=from_catalog("order-not-reversed")),
    Student("edsger", "bug", "power rule off by one (n * x**n)", start=from_catalog("pow-off-by-one")),
    Student("frances", "bug", "relu's mask is always open", start=from_catalog("relu-mask-always-open")),
    Student("hedy", "bug", "zero_grad compares instead of assigning", start=from_catalog("zero-grad-noop")),
    Student("john", "bug", "Neuron.parameters() forgets the bias", start=from_catalog("parameters-without-bias")),
    Student("ken", "bug", "a SyntaxError in engine.py",
            edit(ENGINE, "    def __add__(self, other):", "    def __add__(self, other)")),
    Student("lovelace", "unstarted", "handed in the template untouched", start=template),
    Student("margaret", "unstarted", "handed in engine.py only (nn.py missing)", omit=(NN,)),
    Student("mallory", "hostile", "sys.exit(3) at import", prepend(ENGINE, "import sys\nsys.exit(3)\n")),
    Student("loop", "hostile", "an infinite loop in tanh's _backward",
            edit(ENGINE, "self.grad += (1 - t**2) * out.grad", "while True:\n                pass")),
    Student("snoop", "hostile", "reads /etc/passwd, the hidden tests' folder and the environment at import",
            prepend(ENGINE, SNOOP)),
    Student("torchy", "hostile", "imports torch (forbidden) to get gradients for free",
            prepend(ENGINE, "import torch  # noqa: F401\n")),
    Student("forger", "hostile", "writes a fake reply into the grader's reply channel", prepend(ENGINE, FORGE)),
)

# The same kind of class through nbgrader (the notebook course in assignments/).
NOTEBOOK_ASSIGNMENT = "autograd"
NOTEBOOK_STUDENTS = {  # student -> (story, edit of each answer cell's code)
    "ada": ("the reference answers", lambda code: code),
    "alan": ("overwrites gradients in __add__", lambda code: code.replace("self.grad += out.grad\n",
                                                                         "self.grad = out.grad\n", 1)),
    "lovelace": ("the release notebook untouched", None),
}
