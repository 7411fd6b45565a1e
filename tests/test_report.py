"""The class report, opened in headless Chromium: it renders, every image loads, no console errors."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from autograder import config
from autograder.outcome.results import PartResult, Results, TestResult
from autograder.semester.report import ClassStatistics, short_name, write_report

COURSE = config.load()
ASSIGNMENT_NAME, ASSIGNMENT = COURSE.assignment(None)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"

# Added to a copy of a report page only (the report has no script): records which images failed.
CHECK = """<script>
window.addEventListener("load", () => {
  const broken = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute("src"));
  document.documentElement.setAttribute("data-images", String(document.images.length));
  document.documentElement.setAttribute("data-broken", JSON.stringify(broken));
  document.documentElement.setAttribute("data-scripts", String(document.scripts.length));
});
</script>"""


def _wording(pitfall: str) -> str:
    """The suite's feedback wording of a pitfall (as a real result starts), or its id."""
    from grading_tests.micrograd.diagnose import PITFALLS
    return PITFALLS.get(pitfall, pitfall)


def results(name: str, failing: dict[str, str], flags: tuple[str, ...] = (), output: str = "",
            messages: tuple[str, ...] = ("a message",)) -> Results:
    tests, parts = [], []
    for part_name, part in ASSIGNMENT.parts.items():
        test = f"micrograd/test_{part_name}.py::test_{part_name}"
        pitfall = failing.get(part_name)
        feedback = f"{_wording(pitfall)}.\nyours is {output}" if pitfall else ""
        tests.append(TestResult(test, part_name, 0.0 if pitfall else part.points, part.points,
                                "failed" if pitfall else "passed", feedback,
                                "visible", pitfall))
        parts.append(PartResult(part_name, part.title, 0.0 if pitfall else part.points, part.points))
    return Results(name, ASSIGNMENT_NAME, tuple(tests), tuple(parts), flags, messages, output)


def class_results() -> list[Results]:
    first, second = list(ASSIGNMENT.parts)[:2]
    return [
        results("ada", {}),
        results("alan", {first: "overwrite-grad:mul"}),
        results("barbara", {first: "overwrite-grad:mul", second: "no-seed"}),
        # Timeouts in every test of one student: per test they would outnumber every misconception.
        results("mallory", dict.fromkeys(ASSIGNMENT.parts, "timeout"), ("timeout",)),
        results("eve", {first: "crash"}, ("tamper", "crash"), output=HOSTILE, messages=(HOSTILE,)),
    ]


@pytest.fixture
def report(tmp_path) -> Path:
    index = write_report(class_results(), tmp_path / "report", course=COURSE, assignment_name=ASSIGNMENT_NAME)
    assert index == tmp_path / "report" / "index.html"
    return index


def chromium(page: Path, tmp_path: Path, *extra: str) -> tuple[str, str]:
    """Load `page` in headless Chromium; return the DOM after load and Chromium's log."""
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'chromium-profile'}", "--enable-logging=stderr", "--v=0",
               "--virtual-time-budget=10000", *extra, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def checked(page: Path, tmp_path: Path) -> dict:
    copy = page.with_name(f"check-{page.name}")
    copy.write_text(page.read_text().replace("</body>", CHECK + "</body>"))
    dom, log = chromium(copy, tmp_path, "--dump-dom")
    found = {key: re.search(rf'data-{key}="([^"]*)"', dom) for key in ("images", "broken", "scripts")}
    assert all(found.values()), "the check script did not run"
    return {"images": int(found["images"][1]), "broken": json.loads(found["broken"][1].replace("&quot;", '"')),
            "scripts": int(found["scripts"][1]), "console": [line for line in log.splitlines() if ":CONSOLE" in line],
            "dom": dom}


def test_pitfalls_are_counted_in_students_and_errors_apart():
    stats = ClassStatistics(class_results(), ASSIGNMENT)
    assert [(row.pitfall, row.students, row.failing_tests) for row in stats.misconceptions] == [
        ("overwrite-grad:mul", ["alan", "barbara"], 2), ("no-seed", ["barbara"], 1)]
    assert [(row.pitfall, row.students, row.failing_tests) for row in stats.errors] == [
        ("crash", ["eve"], 1), ("timeout", ["mallory"], len(ASSIGNMENT.parts))]


def test_each_pitfall_is_labelled_with_its_feedbacks_short_name():
    from grading_tests.micrograd.diagnose import PITFALLS

    def label(pitfall: str) -> str:
        return short_name(pitfall, f"{_wording(pitfall)}.\nIn x0 = 2.0; v1 = x0 * x0: your x0.grad = 2.")

    assert label("overwrite-grad:mul") == "gradient overwritten instead of accumulated in mul's _backward"
    assert label("no-seed") == "backward() never seeds the output"
    assert label("topo-no-visited") == "the topological sort has no visited set"
    assert short_name("timeout", "anything") == "timed out" and short_name("syntax-error") == "syntax error"
    assert short_name("a-pitfall-without-wording") == "a-pitfall-without-wording"
    assert all(len(label(pitfall)) <= 70 for pitfall in PITFALLS)
    # Written for the instructor, never cut inside a word.
    assert label("forward-wrong-nearby") == "the student's forward pass is wrong near these inputs"
    assert label("training-own-engine") == "the lecture's training loop goes wrong on the student's own engine …"
    assert not any(re.search(r"\byour?\b", label(pitfall), re.IGNORECASE) for pitfall in PITFALLS)
    assert all(not label(pitfall).endswith("...") for pitfall in PITFALLS)


def test_report_shows_the_class(report):
    text = report.read_text()
    for png in ("scores.png", "parts.png", "tests.png", "pitfalls.png", "errors.png"):
        assert (report.parent / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'src="{png}"' in text
    misconceptions = text[text.index("Most frequent misconceptions</h2>"):text.index("Errors</h2>")]
    assert misconceptions.index("overwrite-grad:mul") < misconceptions.index("no-seed")  # most students first
    assert "gradient overwritten instead of accumulated in mul&#39;s _backward" in misconceptions
    assert "timeout" not in misconceptions and "crash" not in misconceptions
    errors = text[text.index("Errors</h2>"):text.index("Flagged submissions</h2>")]
    assert "timed out" in errors and "crashed the worker" in errors and "overwrite-grad" not in errors
    flagged = text[text.index("Flagged submissions</h2>"):text.index("<h2>Tests</h2>")]
    assert 'href="submissions/mallory.html"' in flagged and 'href="submissions/eve.html"' in flagged
    assert "ada" not in flagged and "timeout" in flagged and "tamper" in flagged
    for page in (text, (report.parent / "submissions" / "eve.html").read_text()):
        assert HOSTILE not in page and "&lt;script&gt;" in page  # a student's text never becomes markup
    assert json.loads((report.parent / "submissions" / "eve.json").read_text())["flags"] == [
        "tamper", "crash"]


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(report, tmp_path):
    index = checked(report, tmp_path)
    assert index["images"] == 5 and index["broken"] == [] and index["console"] == []
    assert index["scripts"] == 1  # only the check script: the report itself runs nothing
    student = checked(report.parent / "submissions" / "eve.html", tmp_path)
    assert student["console"] == [] and student["scripts"] == 1 and student["images"] == 0
    assert "<title>eve: results</title>" in student["dom"]  # the student's script never ran

    screenshot = tmp_path / "report.png"
    chromium(report, tmp_path, f"--screenshot={screenshot}", "--window-size=1200,2400")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 10_000


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium)")
def test_the_check_notices_a_missing_image(report, tmp_path):
    (report.parent / "parts.png").unlink()
    assert checked(report, tmp_path)["broken"] == ["parts.png"]


def test_a_diagnosis_that_localises_nothing_is_not_a_misconception():
    """training-own-engine says "a mistake elsewhere shows here": apart from the misconceptions, never atop them."""
    first = list(ASSIGNMENT.parts)[0]
    graded = [results(name, {first: "overwrite-grad:mul", "training": "training-own-engine"}) for name in "abc"]
    stats = ClassStatistics(graded, ASSIGNMENT, frozenset({"training-own-engine"}))
    assert [row.pitfall for row in stats.misconceptions] == ["overwrite-grad:mul"]
    assert [(row.pitfall, row.students) for row in stats.unlocalised] == [("training-own-engine", ["a", "b", "c"])]
