"""The whole nbgrader workflow with the real CLI, in a temporary course root.

generate_assignment -> submitted/<student>/ -> autograde (sandboxed kernels, trusted scores) ->
gradebook -> generate_feedback -> export CSV, for students who: hand in the reference, hand in
the release untouched, have a catalog bug, deleted a test cell, kill their kernel, loop forever.
"""

from __future__ import annotations

import base64
import csv
import html as html_text
import re
import shutil

import nbformat
import pytest
from nbgrader_course import (
    cell_scores,
    filled,
    grade_id,
    insert_after,
    leaks,
    make_course,
    nbgrader,
    submit,
    timed_nbgrader,
)
from test_pictures import MARK, marked_pixels
from test_report import CHROMIUM, chromium

from autograder import config
from autograder.frontends import grade, nbgrader_preprocessors
from autograder.inputs import sources
from autograder.render.gradebook import read_gradebook

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="the sandboxed kernel needs bubblewrap")]

FULL = {"slope": 4.0, "partials": 3.0, "central_difference": 3.0}
ZERO = dict.fromkeys(FULL, 0.0)

LOOP_FOREVER = """import time
while True:  # and ignore the interrupt nbgrader sends
    try:
        time.sleep(0.1)
    except KeyboardInterrupt:
        pass"""


def _derivatives_bugs(gid: str, code: str) -> str:
    # Catalog bugs: the rise without the run, and a one-sided "central" difference.
    return (code.replace("return (f(x + h) - f(x)) / h", "return f(x + h) - f(x)")
            .replace("return (f(x + h) - f(x - h)) / (2 * h)", "return (f(x + h) - f(x)) / h"))


def _overwrite_grad(gid: str, code: str) -> str:
    # The reused-node bug: __add__'s _backward sets the gradients instead of accumulating them.
    return code.replace("self.grad += out.grad\n", "self.grad = out.grad\n", 1) \
               .replace("other.grad += out.grad\n", "other.grad = out.grad\n", 1)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("course"), ["derivatives", "autograd"])
    for assignment in ("derivatives", "autograd"):
        result = nbgrader(root, "generate_assignment", assignment)
        assert result.returncode == 0, result.stderr
    return root


@pytest.fixture(scope="module")
def autograded(course):
    def paths(assignment):
        return (course / "release" / assignment / f"{assignment}.ipynb",
                course / "source" / assignment / f"{assignment}.ipynb")

    release, source = paths("derivatives")
    submit(course, "reference", "derivatives", filled(release, source))
    submit(course, "untouched", "derivatives", nbformat.read(release, 4))
    submit(course, "buggy", "derivatives", filled(release, source, _derivatives_bugs))
    deleted = filled(release, source)
    deleted.cells = [c for c in deleted.cells if grade_id(c) != "partials"]
    submit(course, "deleted", "derivatives", deleted)
    # Kills its kernel from code the grader also runs (at import of the extracted module).
    submit(course, "killer", "derivatives", filled(release, source, lambda gid, code: code + (
        "\n\nimport os\nos.kill(os.getpid(), 9)" if gid == "partials_code" else "")))
    submit(course, "looper", "derivatives", insert_after(filled(release, source), "slope_code", LOOP_FOREVER))
    release, source = paths("autograd")
    submit(course, "reference", "autograd", filled(release, source))
    submit(course, "overwriter", "autograd", filled(release, source, _overwrite_grad))

    timings = {}
    for assignment, students in (("derivatives", 6), ("autograd", 2)):
        result, seconds = timed_nbgrader(course, "autograde", assignment, timeout=400, cell_timeout=5)
        assert result.returncode == 0, result.stdout + result.stderr
        timings[assignment] = seconds / students
        if assignment == "derivatives":
            stopped = [line for line in result.stderr.splitlines() if "stopped early" in line]
    print(f"\nnbgrader autograde, seconds per student: {timings}")
    return course, stopped


def test_the_killer_and_the_looper_stopped_only_their_own_kernels(autograded):
    _, stopped = autograded
    assert len(stopped) == 2, stopped
    assert any("killer" in line and "Kernel died" in line for line in stopped), stopped
    assert any("looper" in line and "longer than 5 s" in line for line in stopped), stopped


def test_gradebook_scores(autograded):
    autograded, _ = autograded
    scores = {student: cell_scores(autograded, "derivatives", student)
              for student in ("reference", "untouched", "buggy", "deleted", "killer", "looper")}
    print("\n" + "\n".join(f"derivatives {s:10} {v}" for s, v in scores.items()))
    assert scores["reference"] == FULL
    assert scores["untouched"] == ZERO
    assert scores["buggy"] == {"slope": 0.0, "partials": 3.0, "central_difference": 0.0}
    assert scores["deleted"] == FULL  # the deleted test cell came back (add_missing_cells) and counts
    assert scores["killer"] == ZERO  # its code kills the grader's worker too: nothing can be verified
    assert scores["looper"] == FULL  # its loop was stopped; the grader scores the code it handed in


def test_catalog_bug_loses_points_in_the_right_cells(autograded):
    autograded, _ = autograded
    reference = cell_scores(autograded, "autograd", "reference")
    overwriter = cell_scores(autograded, "autograd", "overwriter")
    print(f"\nautograd reference  {reference}\nautograd overwriter {overwriter}")
    assert reference == {"local_backward": 4.0, "backward": 3.0, "reused_node": 2.0, "tanh_neuron": 1.0}
    # The mistake costs points once, in its own part: the local derivatives are right, backward() is
    # graded on reference derivatives, and every node of the tanh neuron is used once.
    assert overwriter == {**reference, "reused_node": 0.0}


def test_course_grade_of_the_same_notebook_agrees(autograded):
    autograded, _ = autograded
    course = config.load()
    for student in ("reference", "buggy", "killer"):
        notebook = autograded / "submitted" / student / "derivatives" / "derivatives.ipynb"
        [source] = sources.collect([notebook], "derivatives", course.assignments["derivatives"])
        results = grade.grade([source], assignment_name="derivatives", course=course)[0]
        assert {p.name: p.score for p in results.parts} == cell_scores(autograded, "derivatives", student)
    # The gradebook has the layout `course grade --gradebook` writes: one grade cell per part.
    book = read_gradebook(f"sqlite:///{autograded / 'gradebook.db'}", "derivatives")
    assert book["buggy"] == {"slope": 0.0, "partials": 3.0, "central_difference": 0.0, "total": 3.0}


def test_feedback_and_export(autograded):
    autograded, _ = autograded
    result = nbgrader(autograded, "generate_feedback", "derivatives")
    assert result.returncode == 0, result.stderr
    feedback = autograded / "feedback" / "buggy" / "derivatives"
    html = (feedback / "derivatives.html").read_text()
    assert "slope returns the rise" in html  # the grader's feedback for the planted bug reaches the student
    assert leaks(autograded / "feedback", "derivatives") == []

    exported = autograded / "grades.csv"
    result = nbgrader(autograded, "export", "--to", str(exported))
    assert result.returncode == 0, result.stderr
    rows = {(r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(exported.open())}
    assert rows[("derivatives", "reference")] == 10.0
    assert rows[("derivatives", "buggy")] == 3.0
    assert rows[("derivatives", "untouched")] == 0.0
    assert rows[("autograd", "reference")] == 10.0


def test_feedback_names_the_pitfall_and_writes_out_the_expression(autograded):
    autograded, _ = autograded
    result = nbgrader(autograded, "generate_feedback", "autograd")
    assert result.returncode == 0, result.stderr
    page = (autograded / "feedback" / "overwriter" / "autograd" / "autograd.html").read_text()
    text = html_text.unescape(re.sub(r"<[^>]+>", "", page))
    words = " ".join(text.split())
    # The pitfall, named as the module suite names it, then the expression with the student's own values.
    assert "gradient overwritten instead of accumulated in add's _backward" in words
    assert ("In a = 3.0; b = a + a, after b.grad = 1.0 and each node's _backward() called once, from the output "
            "back to the inputs (the grader's walk, not your backward()): your a.grad = 1. The same walk with every "
            "input's grad already at 0.25 must end each input exactly 0.25 higher (a.grad = 1 + 0.25 = 1.25), but "
            "yours ends at a.grad = 1: the 0.25 already there was lost.") in words
    assert "node 0" not in words and "node 4" not in words
    # Wrapped to a readable width, not one line that scrolls sideways.
    feedback_lines = [line for line in text.splitlines() if "overwritten" in line or "your a.grad" in line]
    assert feedback_lines and all(len(line.strip()) <= nbgrader_preprocessors.FEEDBACK_WIDTH for line in feedback_lines)
    assert leaks(autograded / "feedback", "autograd") == []


def pictures_in(page) -> list[str]:
    """The SVG images of a feedback page (nbconvert shows an image/svg+xml output as a data: URI)."""
    uris = re.findall(r'data:image/svg\+xml;base64,([^"]+)', page.read_text())
    return [base64.b64decode(uri).decode() for uri in uris]


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")
def test_feedback_shows_the_picture_of_the_students_graph(autograded, tmp_path):
    autograded, _ = autograded
    result = nbgrader(autograded, "generate_feedback", "autograd", "--force")
    assert result.returncode == 0, result.stderr
    page = autograded / "feedback" / "overwriter" / "autograd" / "autograd.html"
    # The reused-node cell: b = a + a, with the student's a.grad, a marked, beside the text feedback
    # (the notebook's own draw_dot outputs are pictures too, without the mark).
    [picture] = [svg for svg in pictures_in(page) if MARK in svg]
    assert "add&#39;s _backward" in picture and "grad 1.0000" in picture
    # Shown at its natural size in a frame that scrolls: nbconvert's page caps an image at its cell's width.
    width = round(float(re.search(r'<svg\b[^>]*?\swidth="([\d.]+)pt"', picture)[1]) * 4 / 3)
    assert f'<div style="overflow-x: auto; max-width: 100%"><div style="width: {width}px"><img alt="your graph' \
        in page.read_text()
    screenshot = tmp_path / "feedback.png"
    chromium(page, tmp_path, f"--screenshot={screenshot}", "--window-size=1200,12000")
    assert marked_pixels(screenshot) > 500
    reference = autograded / "feedback" / "reference" / "autograd" / "autograd.html"
    assert not [svg for svg in pictures_in(reference) if MARK in svg]  # nothing failed, nothing marked
