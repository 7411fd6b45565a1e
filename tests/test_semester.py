"""Issue 23's round trip on the demo class itself: a synthetic Canvas download and a Moodle download (named as
tests/test_lms.py documents) grade exactly as the same files in the template layout; the Canvas one, with
submission times, a due date, an extension and an override, comes out of the Canvas CSV export and the class
report with each decision visible."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest
from checkout import REPO_ROOT

from autograder import cli, config
from autograder.frontends import demo
from autograder.frontends.override import main as override

COURSE = config.load()
NAME, ASSIGNMENT = COURSE.assignment()
CLASS = {student.name: (1001 + index, student) for index, student in enumerate(demo.demo_class().students)}
DUE = "2026-12-10T23:59:00+00:00"
LATE, EXTENDED, OVERRIDDEN = "claude", "alan", "hedy"  # late by a day and a half; late, within an extension
TIMES = {LATE: "2026-12-12T11:00:00+00:00", EXTENDED: "2026-12-12T11:00:00+00:00"}
DEADLINE = (f"    deadline: {{due: {DUE}, extensions: {{'{CLASS[EXTENDED][0]}': 2026-12-13T23:59:00+00:00}},\n"
            "               late_penalty: {per: day, percent: 10, cap_percent: 50}}\n")


def course_file(folder: Path) -> Path:
    path = folder / "course.yml"
    path.write_text((REPO_ROOT / "course.yml").read_text().replace("    policies:\n", DEADLINE + "    policies:\n", 1)
                    .replace("suite: grading_tests/", f"suite: {REPO_ROOT}/grading_tests/")
                    .replace("probes: grading_tests/", f"probes: {REPO_ROOT}/grading_tests/"))
    return path


def canvas_zip(path: Path) -> Path:
    """Canvas's "Download Submissions": flat `<name>_<user id>_<submission id>_<file>` (LATE after the name)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, (user, student) in CLASS.items():
            late = "_LATE" if name in TIMES else ""
            for relative, text in demo.student_files(student).items():
                archive.writestr(f"{name}student{late}_{user}_{90000 + user}_{Path(relative).name}", text)
    return path


def moodle_folder(folder: Path) -> Path:
    """Moodle's "Download all submissions" in folders: `<Full Name>_<participant id>_assignsubmission_file_/`."""
    for name, (user, student) in CLASS.items():
        own = folder / f"{name.title()} Student_{user}_assignsubmission_file_"
        own.mkdir(parents=True)
        for relative, text in demo.student_files(student).items():
            (own / Path(relative).name).write_text(text, encoding="utf-8")
    return folder


def graded(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}


def scores_of(result: dict) -> list[tuple[str, float]]:
    return [(t["name"], t["score"]) for t in result["tests"]]


@pytest.fixture(scope="module")
def semester(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("semester")
    config_path = course_file(root)
    layout = root / "layout"
    for user, student in CLASS.values():
        demo.write_student(student, layout, str(user))
    times = root / "times.csv"
    times.write_text("student,submitted_at\n" + "".join(f"{CLASS[n][0]},{t}\n" for n, t in TIMES.items()))
    roster = root / "roster.csv"
    roster.write_text("id,name,email,section\n" + "".join(
        f"{user},{name.title()} Student,{name}@uni.example,A\n" for name, (user, _) in CLASS.items()))
    paths = {"root": root, "config": config_path, "roster": roster}
    for label, inputs in {"layout": [str(layout)], "moodle": [str(moodle_folder(root / "moodle"))],
                          "canvas": [str(canvas_zip(root / "canvas.zip")), "--times", str(times)]}.items():
        paths[label] = root / f"from-{label}"
        assert cli.main(["grade", *inputs, "--out", str(paths[label]), "--config", str(config_path)]) == 0
    return paths


@pytest.mark.slow
def test_canvas_and_moodle_downloads_grade_as_the_same_files(semester):
    direct = graded(semester["layout"])
    assert len(direct) == len(CLASS)
    for lms in ("canvas", "moodle"):
        found = graded(semester[lms])
        assert sorted(found) == sorted(direct)
        for user, result in direct.items():
            assert scores_of(found[user]) == scores_of(result), (lms, user)
            assert found[user]["score"] == result["score"]


@pytest.mark.slow
def test_late_extension_and_override_show_in_the_canvas_export_and_the_report(semester, tmp_path):
    results, config_path = semester["canvas"], semester["config"]
    raw = {user: result["score"] for user, result in graded(results).items()}
    overridden = str(CLASS[OVERRIDDEN][0])
    assert override(results=results, student=overridden, points=42.0, reason="zero_grad read by hand: it works",
                    by="prof", config_path=config_path) == 0
    canvas = tmp_path / "canvas.csv"
    assert cli.main(["export", str(results), "--format", "canvas", "--out", str(canvas), "--roster",
                     str(semester["roster"]), "--column", "micrograd (4242)", "--config", str(config_path)]) == 0
    table = list(csv.reader(canvas.open(newline="")))
    assert table[0][-1] == "micrograd (4242)" and table[1][0] == "Points Possible"
    final = {row[1]: float(row[-1]) for row in table[2:]}
    late, extended = str(CLASS[LATE][0]), str(CLASS[EXTENDED][0])
    assert final[late] == pytest.approx(raw[late] * 0.8)  # two started days late: 20 %
    assert final[extended] == pytest.approx(raw[extended])  # within the extension
    assert final[overridden] == 42.0
    untouched = set(final) - {late, extended, overridden}
    assert all(final[user] == pytest.approx(raw[user]) for user in untouched)
    named = {row[1]: row[0] for row in table[2:]}
    assert named[late] == f"{LATE.title()} Student"

    report = tmp_path / "report"
    assert cli.main(["report", str(results), "--out", str(report), "--config", str(config_path)]) == 0
    pages = " ".join(p.read_text() for p in report.rglob("*.html"))
    assert "zero_grad read by hand: it works" in pages and "late policy takes 20 %" in pages
