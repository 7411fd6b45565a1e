"""The isolation modes of the neural-nets notebook's suite (autograder/core/isolation.py).

- "reference_engine": every part runs the student's nn.py on the reference engine.py, so an edit to the
  engine cell handed out with the notebook cannot cost (or earn) points here. The own worker (the student's
  nn.py on their own copy of that engine) holds no reference: what it raises may be shown.
- "reference_modules": training, when the student's modules or loss are wrong (they cost points in their own
  parts): their train() and zero_grad on the reference Neuron, Layer, MLP and mse_loss. Those come from the
  recipe's solution (one source of truth) with train() and zero_grad() cut out: this worker holds nothing of
  the part it grades.
"""

import ast
from pathlib import Path

from autograder.core.isolation import Mode
from autograder.inputs import notebooks
from autograder.markers import strip_markers

COURSE = Path(__file__).resolve().parents[2]  # the course this suite belongs to
SOLUTIONS = COURSE / "solutions"
REFERENCE_ENGINE = ("micrograd/engine.py", SOLUTIONS / "micrograd" / "engine.py")
GRADED_IN_TRAINING = {"train", "zero_grad"}


def without(code: str, names: set[str]) -> str:
    """The code with every function or method called one of `names` cut out."""
    cut = [(node.lineno - len(node.decorator_list), node.end_lineno) for node in ast.walk(ast.parse(code))
           if isinstance(node, ast.FunctionDef) and node.name in names]
    lines = code.splitlines()
    for start, end in sorted(cut, reverse=True):
        del lines[start - 1:end]
    kept = "\n".join(lines) + "\n"
    ast.parse(kept)  # a class left without a body would be a SyntaxError here, not in a worker
    return kept


def reference_modules() -> str:
    recipe = notebooks.load_recipe("neural_nets", notebooks.recipes_dir(COURSE))
    return without(strip_markers(notebooks.solution_files(recipe)["micrograd/nn.py"]), GRADED_IN_TRAINING)


MODES = {
    "reference_engine": Mode(replaced=(REFERENCE_ENGINE,), explain_with_own_code=True),
    "reference_modules": Mode(replaced=(REFERENCE_ENGINE, ("reference_modules.py", reference_modules()))),
}
