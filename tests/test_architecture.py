"""The import-linter contracts of pyproject.toml: one layered grading path, no import cycles."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from checkout import REPO_ROOT

# lint-imports of the running interpreter (a dev extra: `pip install -e .[dev]`, as `make test` does)
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """lint-imports over the `autograder` package found in root (a copy shadows the installed one)."""
    assert importlib.util.find_spec("importlinter"), "import-linter is missing: pip install -e '.[dev]'"
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", LINT_IMPORTS, "--no-cache", "--config", str(root / "pyproject.toml")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def copy_with(tmp_path: Path, module: str, line: str) -> Path:
    """A copy of the package and its contracts with one import added to `module`."""
    shutil.copytree(REPO_ROOT / "autograder", tmp_path / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path)
    path = tmp_path / "autograder" / f"{module}.py"
    path.write_text(path.read_text() + f"\n{line}\n")
    return tmp_path


def test_the_package_keeps_its_contracts():
    run = lint_imports(REPO_ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize("module, line, broken", [
    # the trust boundary reaching up into the pipeline
    ("boundary/sandbox", "from autograder.core import pipeline  # noqa", "layers, one folder each"),
    # a view of results reaching up into a command
    ("render/formats", "from autograder.frontends import grade  # noqa", "layers, one folder each"),
    # a cycle hidden in a function: batch -> formats -> batch
    ("render/formats", "def _late():\n    from autograder.semester import batch  # noqa", "layers, one folder each"),
    # within a folder: the escaping rules reaching up into the formats that use them
    ("render/text", "from autograder.render import formats  # noqa", "layers within render"),
])
def test_an_upward_import_or_a_cycle_breaks_a_contract(tmp_path, module, line, broken):
    run = lint_imports(copy_with(tmp_path, module, line))
    assert run.returncode != 0, run.stdout
    assert f"{broken}" in run.stdout and "BROKEN" in run.stdout


def test_a_cycle_between_siblings_of_one_layer_breaks_the_acyclic_contract(tmp_path):
    # ci_grade and demo share a layer of the frontends; demo importing ci_grade and ci_grade demo close a cycle
    copied = copy_with(tmp_path, "frontends/demo", "from autograder.frontends import ci_grade  # noqa")
    path = copied / "autograder" / "frontends" / "ci_grade.py"
    path.write_text(path.read_text() + "\nfrom autograder.frontends import demo  # noqa\n")
    run = lint_imports(copied)
    assert run.returncode != 0, run.stdout
    assert "no import cycles between autograder's modules BROKEN" in run.stdout
