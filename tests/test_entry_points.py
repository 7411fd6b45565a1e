"""Entry points found whatever the caller's PATH: `make demo PYTHON=.venv/bin/python` runs the
grader from a virtual environment that is not activated, and nbgrader's Gradebook runs `alembic`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from checkout import REPO_ROOT

from autograder.entry_points import environment, script_folders, which
from autograder.outcome.results import PartResult, Results
from autograder.render.formats import to_json

# What a shell offers when no virtual environment (nor pyenv) is activated.
BARE_PATH = "/usr/bin:/bin"


def test_a_bare_path_lacks_the_interpreters_scripts():
    """The premise of the test below: without the fix, `alembic` is not found on this PATH."""
    assert str(Path(sys.executable).parent) not in BARE_PATH.split(os.pathsep)
    assert shutil.which("alembic", path=BARE_PATH) is None
    assert which("alembic") is not None  # nbgrader's dependency, installed beside this interpreter


def test_the_interpreters_folders_come_first_on_a_childs_path():
    path = environment({"PATH": BARE_PATH})["PATH"].split(os.pathsep)
    assert path[0] == str(Path(sys.executable).parent)
    assert path[:len(script_folders())] == script_folders()
    assert set(path) == {*script_folders(), "/usr/bin", "/bin"} and len(path) == len(set(path))  # nothing lost


@pytest.mark.slow
def test_the_gradebook_is_written_with_a_path_lacking_the_interpreters_folder(tmp_path: Path):
    from autograder import config

    course = config.load()
    name, assignment = course.assignment(None)
    results = tmp_path / "results"
    results.mkdir()
    for student, score in (("ada", 1.0), ("alan", 0.0)):
        parts = tuple(PartResult(part, p.title, score * p.points, p.points) for part, p in assignment.parts.items())
        (results / f"{student}.json").write_text(to_json(Results(student, name, (), parts)), encoding="utf-8")
    database = tmp_path / "gradebook.db"

    done = subprocess.run([sys.executable, "-m", "autograder", "merge", str(results), "--out", str(tmp_path / "out"),
                           "--gradebook", str(database)], capture_output=True, text=True, cwd=REPO_ROOT,
                          env={**os.environ, "PATH": BARE_PATH}, timeout=300)

    assert done.returncode == 0, done.stderr[-3000:]
    from autograder.render.gradebook import database_url, read_gradebook

    book = read_gradebook(database_url(database), name)
    assert book["ada"]["total"] == assignment.max_score and book["alan"]["total"] == 0
