"""Nothing that students must not see reaches student_template/: solutions, hidden tests, grader deps."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest
from checkout import REPO_ROOT

from autograder import markers

SOLUTIONS = REPO_ROOT / "solutions"
TEMPLATE = REPO_ROOT / "student_template"
GRADING_TESTS = REPO_ROOT / "grading_tests"
# A hidden-suite line this long showing up verbatim in the template is a copy, not a coincidence.
MIN_DISTINCTIVE_CHARS = 40


def _files(root: Path, suffix: str = "") -> list[Path]:
    return sorted(p for p in root.rglob(f"*{suffix}") if p.is_file() and "__pycache__" not in p.parts)


def _template_lines() -> set[str]:
    return {line.strip() for path in _files(TEMPLATE) for line in path.read_text(encoding="utf-8").splitlines()}


def _solution_lines() -> list[tuple[str, str]]:
    found = []
    for path in _files(SOLUTIONS, ".py"):
        for region in markers.solution_regions(path.read_text(encoding="utf-8")):
            found += [(path.relative_to(REPO_ROOT).as_posix(), line.strip()) for line in region.splitlines()
                      if line.strip()]
    return found


def _given_lines() -> set[str]:
    """Lines that solutions/ hands to students on purpose (outside every solution region)."""
    given = set()
    for path in _files(SOLUTIONS):
        text = path.read_text(encoding="utf-8")
        outside = markers.stub(text) if path.suffix == ".py" else text
        given |= {line.strip() for line in outside.splitlines()}
    return given


def _hidden_test_lines() -> list[tuple[str, str]]:
    """Code lines inside the hidden suites' test functions (what a leak would carry)."""
    found = []
    for path in _files(GRADING_TESTS, ".py"):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
                body = lines[node.body[0].lineno - 1:node.end_lineno]
                found += [(path.relative_to(REPO_ROOT).as_posix(), line.strip()) for line in body
                          if len(line.strip()) >= MIN_DISTINCTIVE_CHARS and not line.strip().startswith("#")]
    return found


def test_template_exists():
    assert (TEMPLATE / "micrograd" / "engine.py").is_file() and (TEMPLATE / "tests").is_dir()


def test_solutions_have_solution_regions():
    assert len(_solution_lines()) >= 30  # the check below means something only if there is code to hide


def test_no_solution_line_reaches_the_template():
    # A line the given code also uses (`while stack:` in viz.trace) is no leak; any other is.
    template = _template_lines() - _given_lines()
    leaked = [f"{where}: {line}" for where, line in _solution_lines() if line in template]
    assert leaked == [], "solution code found in student_template/:\n" + "\n".join(leaked)


@pytest.mark.parametrize("marker", ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"])
def test_no_marker_text_in_the_template(marker):
    hits = [path.relative_to(REPO_ROOT).as_posix() for path in _files(TEMPLATE)
            if marker in path.read_text(encoding="utf-8")]
    assert hits == []


def test_no_hidden_test_file_in_the_template():
    hidden = {path.read_bytes() for path in _files(GRADING_TESTS) if path.read_bytes().strip()}
    copies = [path.relative_to(REPO_ROOT).as_posix() for path in _files(TEMPLATE) if path.read_bytes() in hidden]
    assert copies == []
    assert not any(part == "grading_tests" for path in _files(TEMPLATE) for part in path.parts)


def test_no_hidden_test_line_in_the_template():
    hidden = _hidden_test_lines()
    assert hidden, "the hidden suites have test functions to compare against"
    template = _template_lines()
    leaked = [f"{where}: {line}" for where, line in hidden if line in template]
    assert leaked == [], "hidden test code found in student_template/:\n" + "\n".join(leaked)


def test_template_declares_no_grader_dependencies():
    project = tomllib.loads((TEMPLATE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    names = {re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower() for requirement in requirements}
    assert names == {"pytest", "graphviz"}
    assert project["name"] == "micrograd"


def test_template_code_imports_no_grader_module():
    for path in _files(TEMPLATE, ".py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(m.split(".")[0] in {"torch", "autograder"} for m in modules), path
