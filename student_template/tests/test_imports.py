"""What the grader can import (README: "What the grader can import"), checked on your two files.

The grader runs micrograd/engine.py and micrograd/nn.py with the standard library and numpy only;
plotting and drawing libraries import as placeholders that fail only when used. This test reads
your files (it does not run them) and names each import the grader will refuse.
"""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "micrograd"
GRADED = ("engine", "nn")  # the files the grader takes from your submission
PROVIDED = ("viz",)  # the template's own files: the grader has its copy (draw_dot imports; drawing does nothing)
ALLOWED = {"numpy"}  # provided for real while grading
UNAVAILABLE = {"matplotlib", "graphviz", "IPython", "tqdm"}  # importable; fail only when used
FORBIDDEN = {"torch", "jax", "tensorflow", "autograd"}  # a policy violation


def _top_level(tree):
    """The imports that run when the file is imported: not those inside a function, nor under
    `if __name__ == "__main__":` (the grader imports your module, it never runs it as a script)."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            todo += node.orelse
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        todo += list(ast.iter_child_nodes(node))


def _modules(node):
    """The modules one import statement imports, as absolute names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        return [node.module]
    if node.module:  # from .engine import Value
        return [f"micrograd.{node.module}"]
    return [f"micrograd.{alias.name}" for alias in node.names]  # from . import engine


def refused(source):
    """(line, why) for each import in `source` that the grader refuses: a forbidden one anywhere (the
    grader reads every import), a missing one where it runs as the file is imported."""
    tree = ast.parse(source)
    found = [(node.lineno, f"imports {module}, which is not allowed in submissions")
             for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
             for module in _modules(node) if module.partition(".")[0] in FORBIDDEN]
    for node in _top_level(tree):
        for module in _modules(node):
            top, _, rest = module.partition(".")
            if top == "micrograd" and rest and rest.partition(".")[0] not in GRADED + PROVIDED:
                found.append((node.lineno, f"imports {module}: the grader takes only engine.py and nn.py (and has "
                                           "its own viz.py), so import it inside a function or under "
                                           "if __name__ == '__main__'"))
            elif top not in ALLOWED | UNAVAILABLE | FORBIDDEN | set(sys.stdlib_module_names) | {"micrograd"}:
                found.append((node.lineno, f"imports {module}, which the grader does not have "
                                           "(it has the standard library and numpy)"))
    return sorted(found)


@pytest.mark.parametrize("name", GRADED)
def test_imports_are_ones_the_grader_has(name):
    path = PACKAGE / f"{name}.py"
    problems = refused(path.read_text(encoding="utf-8"))
    assert not problems, "\n".join(f"micrograd/{name}.py line {line} {why}" for line, why in problems)
