"""Regrades an instructor reviews (autograder/semester/regrade.py): when the grader changed since a class was graded,
`course grade` shows whose grade would change and overwrites nothing until `--accept`; overrides survive."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from test_export import ASSIGNMENT, NAME, results_folder

from autograder import cli, config
from autograder.frontends import demo
from autograder.frontends.override import main as override
from autograder.outcome.results import Results
from autograder.semester import overrides, regrade

COURSE = config.load()
STUDENTS = {s.name: s for s in demo.demo_class().students}
PARTS = list(ASSIGNMENT.parts)


def stored(folder: Path, name: str) -> Results:
    return Results.from_dict(json.loads((folder / f"{name}.json").read_text()))


def store(folder: Path, result: Results) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{result.submission}.json").write_text(json.dumps(result.to_dict()))


def test_the_changes_table_lists_moved_parts_with_overrides_applied_to_both_sides(tmp_path: Path):
    results = results_folder(tmp_path)  # 101 full marks, 102 half marks
    pending = regrade.pending_folder(results)
    for name in ("101", "102"):
        old = stored(results, name)
        first = old.parts[0]
        store(pending, replace(old, parts=(replace(first, score=first.score / 2), *old.parts[1:])))
    assert override(results=results, student="102", part=PARTS[0], points=1.0, reason="read by hand", by="prof") == 0

    found = {c.student: c for c in regrade.changes(results, ["101", "102"], COURSE)}
    first = ASSIGNMENT.parts[PARTS[0]].points
    assert found["101"].parts == (PARTS[0],) and found["101"].new == pytest.approx(found["101"].old - first / 2)
    assert found["102"].parts == () and found["102"].new == found["102"].old  # the override decides that part
    text = regrade.table(list(found.values()))
    assert text.startswith("1 of 2 regraded submissions change:") and "101" in text and "102" not in text


def test_accept_moves_only_a_pending_result_graded_with_the_expected_key(tmp_path: Path):
    results = results_folder(tmp_path)
    pending = regrade.pending_folder(results)
    store(pending, replace(stored(results, "101"), grading_key="new"))
    assert not regrade.accept(results, "101", "another")
    assert regrade.accept(results, "101", "new")
    assert stored(results, "101").grading_key == "new" and not (pending / "101.json").exists()


@pytest.mark.slow
def test_a_changed_grader_is_reviewed_before_anything_is_overwritten(tmp_path: Path, capsys):
    for name in ("ada", "alan"):
        demo.write_student(STUDENTS[name], tmp_path / "class")
    out = tmp_path / "results"
    assert cli.main(["grade", str(tmp_path / "class"), "--out", str(out)]) == 0
    current = stored(out, "ada").grader_key
    assert current and stored(out, "alan").grader_key == current

    # As an earlier hidden suite would have left them: another grader's key, and ada charged half a part.
    ada, alan = stored(out, "ada"), stored(out, "alan")
    first = ada.parts[0]
    earlier = {"grader_key": "an earlier grader", "grading_key": "its key"}
    store(out, replace(ada, **earlier, parts=(replace(first, score=first.score / 2), *ada.parts[1:])))
    store(out, replace(alan, **earlier))
    assert override(results=out, student="alan", part=PARTS[-1], points=0.0, reason="copied", by="prof") == 0
    before = {p.name: p.read_bytes() for p in out.glob("*.json")}
    capsys.readouterr()

    assert cli.main(["grade", str(tmp_path / "class"), "--out", str(out), "--csv", str(tmp_path / "scores.csv")]) == 0
    printed = capsys.readouterr()
    assert printed.out.startswith("1 of 2 regraded submissions change:")
    [row] = [line.split() for line in printed.out.splitlines() if line.strip().startswith("ada")]
    assert float(row[1]) == pytest.approx(ada.score - first.score / 2) and float(row[2]) == pytest.approx(ada.score)
    assert row[3:] == [first.name]
    assert "--accept" in printed.err
    assert {p.name: p.read_bytes() for p in out.glob("*.json")} == before  # nothing overwritten
    assert "2 graded" in printed.err

    assert cli.main(["grade", str(tmp_path / "class"), "--out", str(out), "--accept"]) == 0
    printed = capsys.readouterr()
    assert "0 graded" in printed.err and "2 regraded results published" in printed.err  # not graded twice
    assert stored(out, "ada").score == pytest.approx(ada.score) and stored(out, "ada").grader_key == current
    [decided] = [r for r in overrides.load_decided(out) if r.submission == "alan"]
    assert {p.name: p.score for p in decided.parts}[PARTS[-1]] == 0.0  # the override survived the regrade
    assert not list(regrade.pending_folder(out).glob("*.json"))
    assert NAME == decided.assignment
