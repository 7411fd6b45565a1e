"""Helpers for tests that drive the real nbgrader CLI in a temporary copy of the course root."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from checkout import REPO_ROOT

from autograder import markers
from autograder.inputs import notebooks

COURSE = REPO_ROOT / "assignments"


def make_course(root: Path, assignments: list[str]) -> Path:
    """A course root like assignments/, with only these assignments' source notebooks."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(COURSE / "nbgrader_config.py", root)
    for name in assignments:
        shutil.copytree(COURSE / "source" / name, root / "source" / name)
    return root


def nbgrader(root: Path, *args: str, timeout: float = 300, cell_timeout: int = 10) -> subprocess.CompletedProcess:
    env = {**os.environ, "COURSE_CELL_TIMEOUT": str(cell_timeout)}
    env.pop("NBGRADER_DB_URL", None)
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=timeout)


def timed_nbgrader(root: Path, *args: str, **kwargs) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    result = nbgrader(root, *args, **kwargs)
    return result, time.monotonic() - start


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def filled(release: Path, source: Path, edit: Callable[[str, str], str] = lambda gid, code: code):
    """The release notebook with every solution cell answered by the reference (markers dropped),
    each answer passed through edit(grade_id, code) to plant a student's bug."""
    answers = {grade_id(c): markers.strip_markers(c.source) for c in nbformat.read(source, 4).cells}
    nb = nbformat.read(release, 4)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell.source = edit(grade_id(cell), re.sub(r"^\s*# Hint: .*\n", "", answers[grade_id(cell)], flags=re.M))
    return nb


def submit(root: Path, student: str, assignment: str, nb) -> Path:
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.ipynb"
    nbformat.write(nb, path)
    return path


def insert_after(nb, gid: str, source: str):
    """nb with a student's own code cell added after the cell with this grade_id."""
    index = next(i for i, c in enumerate(nb.cells) if grade_id(c) == gid)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return nb


def cell_scores(root: Path, assignment: str, student: str) -> dict[str, float]:
    """grade_id -> auto score of the graded cells in the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission_notebook(assignment, assignment, student)
        return {grade.name: grade.auto_score for grade in submission.grades}


def forbidden_texts(assignment: str) -> list[str]:
    """Lines that must never reach a student: solution bodies and hidden-test code of the source
    notebook, and the hidden suite's code."""
    source = nbformat.read(COURSE / "source" / assignment / f"{assignment}.ipynb", 4)
    texts = []
    for cell in source.cells:
        for region in markers.solution_regions(cell.source):
            texts += [line.strip() for line in region.splitlines()]
        hidden = re.search(f"{notebooks.HIDDEN_BEGIN}\n(.*?){notebooks.HIDDEN_END}", cell.source, re.S)
        if hidden:
            texts += [line.strip() for line in hidden.group(1).splitlines()]
    for path in (REPO_ROOT / "grading_tests" / assignment).rglob("*.py"):
        texts += [line.strip() for line in path.read_text().splitlines()]
    # Short or generic lines (return, a closing bracket, imports every file has) prove nothing.
    return sorted({t for t in texts if len(t) >= 24 and not t.startswith(("import ", "from ", "#"))})


def leaks(folder: Path, assignment: str) -> list[str]:
    """Every (file, forbidden line) pair found in the files under folder."""
    found = []
    texts = forbidden_texts(assignment)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        content = path.read_text(errors="replace")
        found += [f"{path.relative_to(folder)}: {t}" for t in texts if t in content]
    return found
