"""Gradebook exports (frontends/export.py), read back with the csv module: each has the columns its LMS needs.

Layouts: Canvas's gradebook import (Canvas Instructor Guide, "How do I import grades in the Gradebook?":
Student, ID, SIS User ID, SIS Login ID, Section, then assignment columns, a "Points Possible" row), Moodle's
"Import grades > CSV file" (any columns, mapped on an identifier such as "Email address"), Gradescope's
"Download Grades" CSV (Name, SID, Email, Total Score, Max Points, Status, a column per question).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from checkout import REPO_ROOT

from autograder import cli, config
from autograder.outcome.results import PartResult, Results

COURSE = config.load()
NAME, ASSIGNMENT = COURSE.assignment()


def results_folder(tmp_path: Path) -> Path:
    """Two students' results as course grade writes them (the parts carry the scores)."""
    folder = tmp_path / "results"
    folder.mkdir()
    for student, share in (("101", 1.0), ("102", 0.5)):
        parts = tuple(PartResult(name, part.title, part.points * share, part.points)
                      for name, part in ASSIGNMENT.parts.items())
        result = Results(submission=student, assignment=NAME, tests=(), parts=parts)
        (folder / f"{student}.json").write_text(json.dumps(result.to_dict()))
    return folder


def roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text("id,name,email,section\n101,Ada Lovelace,ada@uni.example,A\n102,Alan Turing,alan@uni.example,B\n")
    return path


def exported(tmp_path: Path, fmt: str, *extra: str) -> list[list[str]]:
    out = tmp_path / f"{fmt}.csv"
    assert cli.main(["export", str(results_folder(tmp_path)), "--format", fmt, "--out", str(out),
                     "--roster", str(roster(tmp_path)), *extra]) == 0
    with out.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_canvas_gradebook_import(tmp_path: Path):
    table = exported(tmp_path, "canvas", "--column", "micrograd (4242)")
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "micrograd (4242)"]
    assert table[1][0] == "Points Possible" and float(table[1][-1]) == ASSIGNMENT.max_score
    by_id = {row[1]: row for row in table[2:]}
    assert by_id["101"][0] == "Ada Lovelace" and by_id["101"][4] == "A"
    assert float(by_id["101"][-1]) == ASSIGNMENT.max_score and float(by_id["102"][-1]) == ASSIGNMENT.max_score / 2


def test_moodle_grade_import(tmp_path: Path):
    table = exported(tmp_path, "moodle")
    assert table[0] == ["Email address", "ID number", "Full name", NAME]
    assert {row[0]: float(row[3]) for row in table[1:]} == {"ada@uni.example": ASSIGNMENT.max_score,
                                                            "alan@uni.example": ASSIGNMENT.max_score / 2}


def test_gradescope_layout_has_a_column_per_part(tmp_path: Path):
    table = exported(tmp_path, "gradescope")
    assert table[0][:6] == ["Name", "SID", "Email", "Total Score", "Max Points", "Status"]
    assert len(table[0]) == 6 + len(ASSIGNMENT.parts)
    assert [float(x) for x in table[1][6:]] == [p.points for p in ASSIGNMENT.parts.values()]


def test_long_csv_one_row_per_student_and_part(tmp_path: Path):
    table = exported(tmp_path, "long")
    assert table[0] == ["student", "assignment", "part", "points", "max_points", "late_penalty", "override", "final"]
    assert len(table) == 1 + 2 * len(ASSIGNMENT.parts)
    assert sum(float(row[7]) for row in table[1:] if row[0] == "102") == pytest.approx(ASSIGNMENT.max_score / 2)


def test_a_roster_without_its_columns_is_one_message(tmp_path: Path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("student,mail\n101,a@b\n")
    code = cli.main(["export", str(results_folder(tmp_path)), "--format", "canvas", "--out", str(tmp_path / "x.csv"),
                     "--roster", str(bad)])
    assert code == 2 and "needs the columns id, name, email, section (missing: id, name, email, section)" in \
        capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_not_a_results_folder(tmp_path: Path, capsys):
    assert cli.main(["export", str(REPO_ROOT / "no-such"), "--format", "long", "--out", str(tmp_path / "x.csv")]) == 2
    assert "is not a folder of results" in capsys.readouterr().err
