"""Overrides (`course override`, autograder/semester/overrides.py): an instructor's decision, with who/when/why, kept
beside the results, applied in every export and the report, surviving a regrade."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from checkout import REPO_ROOT
from test_export import ASSIGNMENT, NAME, results_folder

from autograder import cli
from autograder.frontends.override import main as override
from autograder.semester import overrides

PART = next(iter(ASSIGNMENT.parts))


def long_rows(tmp_path: Path, results: Path) -> list[dict[str, str]]:
    out = tmp_path / "long.csv"
    assert cli.main(["export", str(results), "--format", "long", "--out", str(out)]) == 0
    with out.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_part_override_is_recorded_with_who_when_why_and_exported(tmp_path: Path):
    results = results_folder(tmp_path)
    assert override(results=results, student="102", points=3.0, part=PART, reason="regraded by hand", by="prof") == 0
    [decision] = overrides.trail(results)
    assert (decision.student, decision.part, decision.points, decision.reason, decision.by) == \
        ("102", PART, 3.0, "regraded by hand", "prof") and decision.at.endswith("+00:00")
    row = next(r for r in long_rows(tmp_path, results) if r["student"] == "102" and r["part"] == PART)
    assert float(row["points"]) == ASSIGNMENT.parts[PART].points / 2 and row["override"] == "3" and row["final"] == "3"
    [student] = [r for r in overrides.load_decided(results) if r.submission == "102"]
    assert any("regraded by hand" in m for m in student.messages)  # the student reads why


def test_a_total_override_and_clearing_it(tmp_path: Path):
    results = results_folder(tmp_path)
    assert override(results=results, student="101", points=80.0, reason="late work accepted at 80", by="prof") == 0
    [decided] = [r for r in overrides.load_decided(results) if r.submission == "101"]
    assert decided.score == pytest.approx(80.0) and decided.max_score == ASSIGNMENT.max_score
    canvas = tmp_path / "canvas.csv"
    assert cli.main(["export", str(results), "--format", "canvas", "--out", str(canvas)]) == 0
    assert next(r for r in csv.reader(canvas.open()) if r[1] == "101")[-1] == "80"
    assert override(results=results, student="101", clear=True, reason="withdrawn", by="prof") == 0
    assert [r.score for r in overrides.load_decided(results) if r.submission == "101"] == [ASSIGNMENT.max_score]
    assert len(overrides.trail(results)) == 2  # the trail keeps both decisions


@pytest.mark.parametrize("kwargs, message", [
    ({"student": "102", "points": 3.0, "part": PART}, "needs a --reason"),
    ({"student": "102", "points": 3.0, "part": "no-such-part", "reason": "r"}, "has no part 'no-such-part'"),
    ({"student": "999", "points": 3.0, "reason": "r"}, "no results of '999'"),
    ({"student": "102", "points": 1e6, "part": PART, "reason": "r"}, "more than the part's"),
])
def test_a_bad_override_is_one_message_and_records_nothing(tmp_path: Path, capsys, kwargs: dict, message: str):
    results = results_folder(tmp_path)
    assert override(results=results, **kwargs) == 2
    assert message in capsys.readouterr().err and overrides.trail(results) == []


def test_many_overrides_from_a_csv(tmp_path: Path):
    results = results_folder(tmp_path)
    table = tmp_path / "decisions.csv"
    table.write_text(f"student,part,points,reason\n101,{PART},1,copied\n102,,50,medical\n")
    assert override(results=results, csv_path=table, by="ta") == 0
    assert {(d.student, d.part, d.points) for d in overrides.trail(results)} == {("101", PART, 1.0), ("102", "", 50.0)}


@pytest.mark.slow
def test_an_override_survives_a_regrade(tmp_path: Path):
    results = tmp_path / "results"
    assert cli.main(["grade", str(REPO_ROOT / "solutions"), "--out", str(results)]) == 0
    [name] = [p.stem for p in results.glob("*.json")]
    assert override(results=results, student=name, points=1.0, part=PART, reason="plagiarised part", by="prof") == 0
    assert cli.main(["grade", str(REPO_ROOT / "solutions"), "--out", str(results), "--force"]) == 0
    [decided] = overrides.load_decided(results)
    assert {p.name: p.score for p in decided.parts}[PART] == 1.0
    assert json.loads((results / f"{name}.json").read_text())["score"] == pytest.approx(ASSIGNMENT.max_score)
    assert NAME == decided.assignment
