"""`course demo`: a generated class graded end to end, from a fresh output folder."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import pytest
from checkout import REPO_ROOT

from autograder import config, markers
from autograder.frontends import demo
from autograder.render.gradebook import database_url, read_gradebook

COURSE = config.load()
ASSIGNMENT_NAME, ASSIGNMENT = COURSE.assignment(None)


def test_demo_students_are_generated_from_solutions(tmp_path):
    folders = demo.generate_class(tmp_path)
    assert len(folders) >= 12
    reference = markers.strip_markers((REPO_ROOT / "solutions/micrograd/engine.py").read_text())
    assert (tmp_path / "ada/micrograd/engine.py").read_text() == reference
    engines = {f.name: (f / "micrograd/engine.py").read_text() for f in folders if (f / "micrograd/engine.py").exists()}
    others = [name for name in engines if name not in ("ada", "margaret", "john", "hedy")]
    assert all(engines[name] != reference for name in others)  # every edit applied
    assert not (tmp_path / "margaret/micrograd/nn.py").exists()
    assert "raise NotImplementedError" in engines["lovelace"]


def test_an_edit_that_no_longer_applies_is_an_error():
    with pytest.raises(demo.DemoError, match="not exactly once"):
        demo.replace_once({"f.py": "a = 1\n"}, "f.py", "b = 2", "b = 3")


@pytest.mark.slow
def test_course_demo_grades_the_class_and_shows_the_gradebook(tmp_path):
    out = tmp_path / "demo_out"
    run = subprocess.run([sys.executable, "-m", "autograder", "demo", "--out", str(out)], capture_output=True,
                         text=True, cwd=REPO_ROOT, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    students = {s.name: s for s in demo.demo_class().students}
    results = {p.stem: json.loads(p.read_text()) for p in (out / "results").glob("*.json")}
    assert sorted(results) == sorted(students)
    full = ASSIGNMENT.max_score
    for name, student in students.items():
        score = results[name]["score"]
        if student.kind == "correct":
            assert score == pytest.approx(full), name
        elif name != "snoop":  # snoop's engine is correct; the sandbox just shows it nothing
            assert score < full - 1, name
    flags = {name: r["flags"] for name, r in results.items()}
    assert "timeout" in flags["loop"] and "policy_violation" in flags["torchy"] and "tamper" in flags["forger"]
    assert "syntax_error" in flags["ken"] and "missing_file" in flags["margaret"]
    # mallory's engine exits at import: its parts score 0; her nn.py, graded on the reference engine, does not
    mallory = {p["name"]: p["score"] for p in results["mallory"]["parts"]}
    assert mallory["operations"] == mallory["backward"] == mallory["topo_sort"] == 0
    hidden = str(REPO_ROOT / "grading_tests")
    assert f"{hidden} -> FileNotFoundError" in results["snoop"]["output_excerpt"]  # the sandbox does not show them

    for name in students:  # the table printed is nbgrader's gradebook
        assert f"│ {name} " in run.stdout
    book = read_gradebook(database_url(out / "gradebook.db"), ASSIGNMENT_NAME)
    with open(out / "scores.csv") as f:
        rows = {row["submission"]: row for row in csv.DictReader(f)}
    assert set(book) == set(rows) == set(students)
    for name in students:
        assert float(rows[name]["total"]) == pytest.approx(book[name]["total"]) == pytest.approx(results[name]["score"])
    index = (out / "report" / "index.html").read_text()
    assert 'href="submissions/loop.html"' in index and (out / "report" / "scores.png").is_file()

    # the same kind of class through nbgrader: autograde's gradebook and `course grade` agree
    assert "nbgrader autograde vs course grade" in run.stdout
    from nbgrader.api import Gradebook

    ours = {p.stem: json.loads(p.read_text())["score"] for p in (out / "nbgrader-results").glob("*.json")}
    with Gradebook(f"sqlite:///{out / 'nbgrader' / 'gradebook.db'}") as gb:
        chosen = demo.demo_class()
        theirs = {s: gb.find_submission(chosen.notebook_assignment, s) for s in chosen.notebook_students}
        assert {s: pytest.approx(sub.score) for s, sub in theirs.items()} == ours
        full = theirs["ada"].max_score
    assert ours["ada"] == pytest.approx(full) and 0 < ours["alan"] < full and ours["lovelace"] == 0

    again = subprocess.run([sys.executable, "-m", "autograder", "demo", "--out", str(out), "--no-nbgrader"],
                           capture_output=True, text=True, cwd=REPO_ROOT, timeout=900)
    assert again.returncode == 0 and f"{len(students)} already graded" in again.stderr


def test_the_demo_class_is_the_courses(tmp_path):
    """`course demo` knows no course: a course folder's own demo class is what it generates."""
    course_dir = tmp_path / "course"
    shutil.copytree(REPO_ROOT / "solutions", course_dir / "solutions")
    shutil.copy(REPO_ROOT / "course.yml", course_dir / "course.yml")
    (course_dir / "grading_tests" / "catalog").mkdir(parents=True)
    (course_dir / "grading_tests" / "catalog" / "demo_class.py").write_text(
        "from autograder.frontends.demo import Student, prepend\n"
        "STUDENTS = (Student('only', 'correct', 'says hello', prepend('micrograd/nn.py', '# hello\\n')),)\n")
    course = config.load(course_dir / "course.yml")
    [folder] = demo.generate_class(tmp_path / "class", course=course)
    assert folder.name == "only" and demo.demo_class(course).notebook_assignment is None
    assert (folder / "micrograd" / "nn.py").read_text().startswith("# hello\n")
    assert (folder / "micrograd" / "__init__.py").is_file() and not (folder / "micrograd" / "viz.py").exists()
