"""The grader is a library: installed from its wheel into a fresh virtual environment, it grades a course that
lives in another folder, found as the course.yml of the folder it runs in, exactly as the clone grades it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from checkout import REPO_ROOT

from autograder import cli

# The venv's own interpreter and command, never a package path of the environment running the tests
from autograder.frontends import demo

ENV = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}

COURSE_PARTS = ("course.yml", "grading_tests", "solutions", "assignments", "student_template")
STUDENTS = {s.name: s for s in demo.demo_class().students}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv with the wheel built from this checkout (its dependencies from the environment running the
    tests): the `course` command of that venv."""
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(root / "dist"), str(REPO_ROOT)], check=True, capture_output=True, timeout=300)
    [wheel] = (root / "dist").glob("micrograd_course-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(root / "venv")], check=True)
    venv_python = root / "venv" / "bin" / "python"
    subprocess.run([venv_python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   capture_output=True, timeout=300, env=ENV)
    where = subprocess.run([venv_python, "-c", "import autograder; print(autograder.__file__)"], cwd=root,
                           check=True, capture_output=True, text=True, env=ENV).stdout.strip()
    assert Path(where).is_relative_to(root / "venv"), where  # the wheel's package, not this checkout's
    return root / "venv" / "bin" / "course"


def course_copy(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in COURSE_PARTS:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, folder / name)
    return folder


@pytest.mark.slow
def test_the_installed_grader_grades_the_course_from_its_own_folder_as_the_clone_does(installed, tmp_path):
    course = course_copy(tmp_path / "elsewhere" / "micrograd-course")
    for name in ("ada", "alan", "mallory"):
        demo.write_student(STUDENTS[name], tmp_path / "class")
    done = subprocess.run([installed, "grade", str(tmp_path / "class"), "--out", str(tmp_path / "installed"),
                           "--quiet"], cwd=course, capture_output=True, text=True, timeout=600, env=ENV)
    assert done.returncode == 0, done.stderr
    assert cli.main(["grade", str(tmp_path / "class"), "--out", str(tmp_path / "clone"), "--quiet"]) == 0
    for name in ("ada", "alan", "mallory"):  # byte for byte: the same grades, feedback, pictures and keys
        installed_result, clone_result = (tmp_path / folder / f"{name}.json" for folder in ("installed", "clone"))
        assert installed_result.read_bytes() == clone_result.read_bytes()


@pytest.mark.slow
def test_the_installed_grader_grades_another_course(installed, tmp_path):
    course = tmp_path / "numeric-derivatives"
    shutil.copytree(REPO_ROOT / "tests" / "second_course", course, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run([installed, "grade", "students", "--out", "results", "--quiet"], cwd=course,
                          capture_output=True, text=True, timeout=600, env=ENV)
    assert done.returncode == 0, done.stderr
    scores = {name: json.loads((course / "results" / f"{name}.json").read_text())["score"] for name in ("ada", "bob")}
    assert scores["ada"] == 5 and scores["bob"] < 5
