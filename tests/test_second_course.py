"""The pipeline knows no course: a test-only course (tests/second_course/: a numeric-derivative
exercise with its own suite, worker probe and students) is graded with no change to autograder/,
and every front-end grades with the course it is given (--config), not the default course.yml."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from checkout import REPO_ROOT

from autograder import config
from autograder.inputs.sources import Source, stage

SECOND = Path(__file__).parent / "second_course"
STUDENTS = SECOND / "students"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}


def course(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or REPO_ROOT, timeout=600)


def tuned(tmp_path: Path) -> Path:
    """A copy of the second course whose tolerances pass bob's off-by-2 central difference and whose
    forward part is worth 7 points instead of 2."""
    root = tmp_path / "tuned"
    shutil.copytree(SECOND, root)
    path = root / "course.yml"
    text = path.read_text()
    text = text.replace("rel: 1.0e-4", "rel: 1.5").replace("points: 2", "points: 7")
    path.write_text(text)
    return path


def scores(results_file: Path) -> dict[str, float]:
    data = json.loads(results_file.read_text())
    return {part["name"]: part["score"] for part in data["parts"]}


def test_staging_makes_no_package_the_assignment_does_not_have(tmp_path):
    assignment = config.load(SECOND / "course.yml").assignments["slopes"]
    staging = stage(Source("s", {"slopes.py": b"x = 1\n"}), tmp_path / "s", assignment, config.Grading())
    assert sorted(p.name for p in staging.directory.rglob("*")) == ["slopes.py"]


@pytest.mark.slow
def test_a_second_course_is_graded_through_the_same_pipeline(tmp_path):
    run = course("grade", STUDENTS / "ada", STUDENTS / "bob", "--config", SECOND / "course.yml", "--out", tmp_path)
    assert run.returncode == 0, run.stderr
    assert scores(tmp_path / "ada.json") == {"forward": 2.0, "central": 3.0}
    assert scores(tmp_path / "bob.json") == {"forward": 2.0, "central": 0.0}
    feedback = json.loads((tmp_path / "bob.json").read_text())["tests"][1]["output"]
    assert "central_difference(x**3, 2.0, h) gave 24.0" in feedback


@pytest.mark.slow
def test_single_and_batch_grade_with_the_given_course(tmp_path):
    path = tuned(tmp_path)
    single = course("grade", STUDENTS / "bob", "--config", path, "--results", tmp_path / "bob.json")
    assert single.returncode == 0, single.stderr
    batch = course("grade", STUDENTS / "bob", "--config", path, "--out", tmp_path / "batch", "--jobs", "1")
    assert batch.returncode == 0, batch.stderr
    for results in (tmp_path / "bob.json", tmp_path / "batch" / "bob.json"):
        assert scores(results) == {"forward": 7.0, "central": 3.0}  # points and tolerance of the copy


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True,
                          env={**os.environ, **GIT_ENV}).stdout.strip()


@pytest.mark.slow
def test_ci_grade_grades_with_the_given_course(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("slopes\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "start")
    shutil.copy(STUDENTS / "bob" / "slopes.py", repo / "slopes.py")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "bob's answer")
    run = course("ci-grade", "--repo", repo, "--base", "HEAD~1", "--head", git(repo, "rev-parse", "HEAD"),
                 "--out", tmp_path / "out", "--config", tuned(tmp_path))
    assert run.returncode == 0, run.stderr
    assert scores(tmp_path / "out" / "results.json") == {"forward": 7.0, "central": 3.0}


@pytest.mark.slow
def test_nbgrader_autograde_scores_with_the_given_course(tmp_path):
    """TrustedScores (nbgrader's autograde step) grades with `TrustedScores.course_config`."""
    from autograder.frontends.nbgrader_preprocessors import TrustedScores

    text = ((REPO_ROOT / "course.yml").read_text()
            .replace("suite: grading_tests/", f"suite: {REPO_ROOT}/grading_tests/")
            .replace("probes: grading_tests/", f"probes: {REPO_ROOT}/grading_tests/"))
    for folder in ("assignments", "solutions"):  # a course is a directory: its recipes and what they include
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "course.yml"
    path.write_text(text.replace("title: \"The numeric slope (f(x + h) - f(x)) / h\"\n        points: 4",
                                 "title: \"The numeric slope (f(x + h) - f(x)) / h\"\n        points: 9"))
    nb = nbformat.read(REPO_ROOT / "assignments" / "source" / "derivatives" / "derivatives.ipynb", 4)
    resources = {"nbgrader": {"assignment": "derivatives", "student": "ada"}}
    _, resources = TrustedScores(course_config=str(path)).preprocess(nb, resources)
    parts = {p.name: (p.score, p.max_score) for p in resources["course"]["results"].parts}
    assert parts["slope"] == (9.0, 9.0)


def test_resume_keys_cover_the_course_file_the_suite_and_its_probes(tmp_path):
    from autograder.core.pipeline import grader_key, grading_key

    root = tmp_path / "course"
    shutil.copytree(SECOND, root)

    def keys() -> tuple[str, str]:
        course_ = config.load(root / "course.yml")
        assignment = course_.assignments["slopes"]
        grader = grader_key(course_, assignment)
        return grader, grading_key(Source("ada", {"slopes.py": b"x = 1\n"}), assignment, grader)

    seen = [keys()]
    for path in ("course.yml", "suites/slopes/check_slopes.py", "suites/slopes/worker/slope_probes.py"):
        with open(root / path, "a") as f:
            f.write("\n# changed\n")
        seen.append(keys())
    assert len({grader for grader, _ in seen}) == len({key for _, key in seen}) == 4
    (root / "students" / "ada" / "slopes.py").write_text("# not what is graded here\n")
    assert keys() == seen[-1]
