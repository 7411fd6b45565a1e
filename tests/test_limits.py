"""Submission limits (autograder/semester/limits.py; course.yml: an assignment's submission_limit): at most N graded
submissions in any 24 hours and a cool-down between two, applied by the Gradescope runner from
submission_metadata.json's previous_submissions (gradescope-autograders.readthedocs.io, "Submission Metadata":
submission_time, score, results) and by ci-grade from the history file the PR workflow keeps per student. A
limited submission is not run and keeps the best earlier result."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_ci_grade import bundle_of, course_clone, student  # noqa: F401 (the module's git fixture)

from autograder import config
from autograder.core import pipeline
from autograder.frontends import ci_grade, gradescope_run
from autograder.outcome.results import PartResult, Results
from autograder.semester import limits

COURSE = config.load()
NAME, ASSIGNMENT = COURSE.assignment()
NOON = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def attempt(hours_before_noon: float, share: float) -> limits.Attempt:
    parts = tuple(PartResult(p, part.title, part.points * share, part.points) for p, part in ASSIGNMENT.parts.items())
    result = Results(submission="ada", assignment=NAME, tests=(), parts=parts, messages=("earlier feedback",))
    return limits.Attempt(NOON - timedelta(hours=hours_before_noon), result.score, result.to_gradescope())


def limited_course(**limit) -> config.Course:
    course = COURSE.model_copy(deep=True)
    course.assignments[NAME] = ASSIGNMENT.model_copy(update={"submission_limit": config.SubmissionLimit(**limit)})
    return course


def test_at_most_n_in_any_24_hours_counting_only_graded_submissions():
    rule = config.SubmissionLimit(per_day=2)
    assert limits.refusal(rule, [attempt(30, 1.0), attempt(5, 0.5)], NOON) is None  # one in the last 24 h
    refused = limits.refusal(rule, [attempt(23, 1.0), attempt(5, 0.5)], NOON)
    assert refused and "at most 2 submissions are graded in any 24 hours" in refused
    assert "from 2026-12-04 13:00 UTC" in refused  # the earlier of the two leaves the window 23 h later
    assert limits.refusal(None, [attempt(1, 0.5)] * 9, NOON) is None


def test_a_cooldown_between_graded_submissions():
    rule = config.SubmissionLimit(cooldown_minutes=30)
    assert limits.refusal(rule, [attempt(1, 0.5)], NOON) is None
    refused = limits.refusal(rule, [attempt(0.25, 0.5)], NOON)
    assert refused and "at least 30 minutes apart" in refused and "from 2026-12-04 12:15 UTC" in refused


def test_a_limit_must_limit_something():
    with pytest.raises(ValueError, match="per_day, cooldown_minutes or both"):
        config.SubmissionLimit()


def test_gradescope_previous_submissions_that_were_limited_do_not_count():
    graded, limited = attempt(3, 0.5), attempt(2, 0.9)
    limited.results["extra_data"]["flags"] = [limits.FLAG]
    metadata = {"previous_submissions": [
        {"submission_time": a.at.isoformat(), "score": a.score, "results": a.results} for a in (graded, limited)]}
    assert [a.at for a in limits.from_gradescope(metadata)] == [graded.at]


def gradescope_root(tmp_path: Path, earlier: list[limits.Attempt]) -> Path:
    root = tmp_path / "autograder"
    (root / "submission" / "micrograd").mkdir(parents=True)
    (root / "source").mkdir()  # the unpacked grader, as Gradescope lays it out
    for relative in ASSIGNMENT.student_files:
        (root / "submission" / relative).write_text("raise SystemExit('never run')\n")
    metadata = {"created_at": NOON.isoformat(), "users": [{"name": "Ada"}], "previous_submissions": [
        {"submission_time": a.at.isoformat(), "score": a.score, "results": a.results} for a in earlier]}
    (root / "submission_metadata.json").write_text(json.dumps(metadata))
    return root


def test_gradescope_keeps_the_best_earlier_result_without_running_the_submission(tmp_path, monkeypatch):
    monkeypatch.setattr(gradescope_run.config, "load", lambda: limited_course(per_day=2))
    monkeypatch.setattr(pipeline, "grade", lambda *a, **k: pytest.fail("a limited submission was graded"))
    best = attempt(3, 0.75)
    root = gradescope_root(tmp_path, [attempt(5, 0.5), best])
    assert gradescope_run.run_autograder(root) == 0
    written = json.loads((root / "results" / "results.json").read_text())
    assert written["score"] == best.score and limits.FLAG in written["extra_data"]["flags"]
    assert written["output"].startswith("This submission was not graded: at most 2 submissions")
    assert f"Your best earlier result ({best.score:g} points) stands." in written["output"]


def test_gradescope_grades_a_submission_within_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(gradescope_run.config, "load", lambda: limited_course(per_day=2))
    graded = []

    def fake_grade(sources, **kwargs):
        graded.extend(sources)
        return [pipeline.ungraded(sources[0].name, NAME, ASSIGNMENT, "graded", "none")]

    monkeypatch.setattr(pipeline, "grade", fake_grade)
    root = gradescope_root(tmp_path, [attempt(30, 0.5), attempt(5, 0.75)])
    assert gradescope_run.run_autograder(root, "process") == 0
    assert len(graded) == 1 and limits.FLAG not in json.loads((root / "results" / "results.json").read_text())[
        "extra_data"]["flags"]


def test_ci_grade_keeps_the_best_earlier_result_and_the_history(student, tmp_path, monkeypatch):  # noqa: F811
    history = tmp_path / "history.jsonl"
    now = datetime.now(UTC)
    for hours, share in ((2, 0.75), (1, 0.5)):
        limits.record(history, now - timedelta(hours=hours), Results.from_gradescope(attempt(0, share).results))
    before = history.read_text()
    monkeypatch.setattr(ci_grade, "grade", lambda *a, **k: pytest.fail("a limited commit was graded"))
    out = tmp_path / "out"
    results = ci_grade.ci_grade(repo=course_clone(student, "course-limited"), base="HEAD",
                                head=student["shas"]["fix"], out=out, bundle=bundle_of(student, "fix"),
                                course=limited_course(per_day=2), history=history)
    assert results.score == pytest.approx(0.75 * ASSIGNMENT.max_score) and limits.FLAG in results.flags
    assert "This submission was not graded" in (out / "comment.md").read_text()
    assert json.loads((out / "status.json").read_text())["description"].startswith(f"{results.score:g}/")
    assert history.read_text() == before  # a limited commit is not recorded


@pytest.mark.slow
def test_ci_grade_records_a_graded_commit(student, tmp_path):  # noqa: F811
    history = tmp_path / "history.jsonl"
    limits.record(history, datetime.now(UTC) - timedelta(days=2), Results.from_gradescope(attempt(0, 0.5).results))
    results = ci_grade.ci_grade(repo=course_clone(student, "course-recorded"), base="HEAD",
                                head=student["shas"]["fix"], out=tmp_path / "out", bundle=bundle_of(student, "fix"),
                                course=limited_course(per_day=1), history=history)
    assert limits.FLAG not in results.flags
    recorded = limits.read_history(history)
    assert len(recorded) == 2 and recorded[-1].score == results.score
