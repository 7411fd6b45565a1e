"""Deadlines and late penalties (course.yml `deadline`, autograder/semester/deadlines.py)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from checkout import REPO_ROOT

from autograder import cli, config
from autograder.frontends.override import main as override
from autograder.semester import deadlines, overrides

DUE = datetime(2026, 12, 10, 23, 59, tzinfo=UTC)
POLICY = config.Deadline(due=DUE, grace_minutes=15, extensions={"cy": DUE + timedelta(days=2)},
                         late_penalty=config.LatePenalty(per="day", percent=10, cap_percent=30))


def at(delta: timedelta) -> str:
    return (DUE + delta).isoformat()


@pytest.mark.parametrize("student, delta, percent", [
    ("ada", timedelta(minutes=-1), 0), ("ada", timedelta(minutes=14), 0),  # on time, within the grace period
    ("ada", timedelta(minutes=16), 10), ("ada", timedelta(days=1, minutes=16), 20),  # each started day
    ("ada", timedelta(days=9), 30),  # the cap
    ("cy", timedelta(days=1), 0), ("cy", timedelta(days=2, hours=1), 10),  # cy's extension
])
def test_lateness(student: str, delta: timedelta, percent: float):
    found = deadlines.lateness(POLICY, student, at(delta))
    assert found.percent == percent and found.late == (percent > 0)


def test_no_time_or_no_deadline_is_never_late():
    assert not deadlines.lateness(POLICY, "ada", "").late
    assert not deadlines.lateness(None, "ada", at(timedelta(days=3))).late


@pytest.mark.parametrize("deadline, message", [
    ("{due: 2026-12-10T23:59:00}", "needs a time zone"),
    ("{due: 2026-12-10T23:59:00+00:00, extensions: {bob: 2026-12-09T23:59:00+00:00}}", "must end after the due time"),
    ("{due: 2026-12-10T23:59:00+00:00, late_penalty: {percent: 20, cap_percent: 10}}", "cap_percent is below"),
    ("{due: 2026-12-10T23:59:00+00:00, grace_minutes: -5}", "grace_minutes"),
    ("{due: 2026-12-10T23:59:00+00:00, late_penalty: {percent: 0}}", "percent"),
])
def test_impossible_policies_are_refused_in_one_message(tmp_path: Path, deadline: str, message: str):
    text = (REPO_ROOT / "course.yml").read_text().replace(
        "    policies:\n", f"    deadline: {deadline}\n    policies:\n", 1)
    (tmp_path / "course.yml").write_text(text)
    with pytest.raises(config.ConfigError, match=message):
        config.load(tmp_path / "course.yml")


@pytest.mark.slow
def test_a_semester_round_trip_late_extension_override(tmp_path: Path):
    """Issue 23's round trip: a Blackboard download (submission times) of three students, one late, one late
    but within an extension, one overridden, graded, exported for Canvas and reported: each shows."""
    course_file = tmp_path / "course.yml"
    course_file.write_text((REPO_ROOT / "course.yml").read_text().replace("    policies:\n", (
        "    deadline: {due: 2026-12-10T23:59:00+00:00, extensions: {cy: 2026-12-13T23:59:00+00:00},\n"
        "               late_penalty: {per: day, percent: 10, cap_percent: 50}}\n    policies:\n"), 1)
        .replace("suite: grading_tests/", f"suite: {REPO_ROOT}/grading_tests/")
        .replace("probes: grading_tests/", f"probes: {REPO_ROOT}/grading_tests/"))
    download = tmp_path / "blackboard"
    download.mkdir()
    solution = {f: (REPO_ROOT / "solutions" / f).read_bytes() for f in ("micrograd/engine.py", "micrograd/nn.py")}
    for student, stamp in (("ada", "2026-12-10-20-00-00"), ("bob", "2026-12-11-12-00-00"),
                           ("cy", "2026-12-12-12-00-00")):
        for relative, data in solution.items():
            (download / f"micrograd_{student}_attempt_{stamp}_{Path(relative).name}").write_bytes(data)
    results = tmp_path / "results"
    assert cli.main(["grade", str(download), "--out", str(results), "--config", str(course_file)]) == 0
    assert override(results=results, student="ada", points=90.0, reason="a hand-graded deduction",
                    by="prof", config_path=course_file) == 0
    canvas = tmp_path / "canvas.csv"
    assert cli.main(["export", str(results), "--format", "canvas", "--out", str(canvas),
                     "--config", str(course_file)]) == 0
    scores = {row[1]: float(row[-1]) for row in list(csv.reader(canvas.open()))[2:]}
    assert scores == pytest.approx({"ada": 90.0, "bob": 90.0, "cy": 100.0})  # bob: 12 h late, 10 %
    decided = {r.submission: r for r in overrides.load_decided(results, config.load(course_file))}
    assert "late" in decided["bob"].flags and "late" not in decided["cy"].flags
    assert any("late policy takes 10 %" in m for m in decided["bob"].messages)
    report = tmp_path / "report"
    assert cli.main(["report", str(results), "--out", str(report), "--config", str(course_file)]) == 0
    pages = " ".join(p.read_text() for p in report.rglob("*.html"))
    assert "a hand-graded deduction" in pages and "late policy takes 10 %" in pages
