"""An instructor's decisions on scores (`course override`, autograder/frontends/override.py), kept beside the results
with who, when and why.

Every decision is one line appended to RESULTS_DIR/overrides.jsonl (an audit trail nothing rewrites); the
latest line for a student and part is in force. A part's override replaces the points the grader gave that
part; one without a part sets the assignment's total. Results files are never edited, so a regrade (course
grade --force) keeps the decisions, which apply wherever the results are read for people: `course export`
(its override and final columns), and the student's results (`applied`: the part's points and the reason
in the results' messages).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from autograder import config
from autograder.outcome.results import PartResult, Results, load_results
from autograder.semester import deadlines

TRAIL = "overrides.jsonl"
TOTAL = ""  # the part of an override of the whole assignment


@dataclass(frozen=True)
class Override:
    student: str
    assignment: str
    part: str  # TOTAL for the assignment's total
    points: float | None  # None: cleared
    reason: str
    by: str
    at: str  # UTC, ISO 8601


def trail(results: Path) -> list[Override]:
    path = results / TRAIL
    if not path.is_file():
        return []
    return [Override(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def in_force(results: Path) -> dict[tuple[str, str, str], Override]:
    """(student, assignment, part) -> the latest decision, cleared ones left out."""
    latest: dict[tuple[str, str, str], Override] = {}
    for decision in trail(results):
        latest[(decision.student, decision.assignment, decision.part)] = decision
    return {key: decision for key, decision in latest.items() if decision.points is not None}


def record(results: Path, decision: Override) -> None:
    with (results / TRAIL).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(decision)) + "\n")


def applied(result: Results, decisions: dict[tuple[str, str, str], Override]) -> tuple[Results, float | None]:
    """The result with its overridden parts' points and each reason in its messages, and the total the
    instructor set (None when they set none)."""
    mine = {part: d for (student, assignment, part), d in decisions.items()
            if student == result.submission and assignment == result.assignment}
    if not mine:
        return result, None
    parts = tuple(replace(p, score=min(points, p.max_score))
                  if p.name in mine and (points := mine[p.name].points) is not None else p for p in result.parts)
    notes = tuple(f"Your instructor set {'the total' if part == TOTAL else f'part {part!r}'} to {d.points:g} points: "
                  f"{d.reason}" for part, d in sorted(mine.items()))
    total = mine[TOTAL].points if TOTAL in mine else None
    return replace(result, parts=parts, messages=(*result.messages, *notes)), total


def final_score(result: Results, decisions: dict[tuple[str, str, str], Override]) -> float:
    overridden, total = applied(result, decisions)
    return total if total is not None else overridden.score


ADJUSTMENT = "override"  # the part a total set by the instructor adds: the difference, worth no points of its own


def decided(result: Results, decisions: dict[tuple[str, str, str], Override]) -> Results:
    """The result as people read it: overridden parts, a total the instructor set (as an adjustment part), and
    each reason in its messages."""
    overridden, total = applied(result, decisions)
    if total is None:
        return overridden
    adjustment = PartResult(ADJUSTMENT, "Your instructor's adjustment", round(total - overridden.score, 6), 0.0)
    return replace(overridden, parts=(*overridden.parts, adjustment))


LATE = "late"  # the part a late penalty adds: minus its share of the points earned, worth no points of its own


def with_late_penalty(result: Results, course: config.Course | None) -> Results:
    """The result with the late policy's penalty as a part of its own (and the reason in its messages)."""
    spec = course.assignments.get(result.assignment) if course else None
    if spec is None or spec.deadline is None:
        return result
    found = deadlines.lateness(spec.deadline, result.submission, result.submitted_at)
    if not found.late:
        return result
    penalty = PartResult(LATE, "Late penalty", -round(result.score * found.percent / 100, 6), 0.0)
    return replace(result, parts=(*result.parts, penalty), flags=tuple(sorted({*result.flags, "late"})),
                   messages=(*result.messages, deadlines.described(found)))


def load_decided(folder: Path, course: config.Course | None = None) -> list[Results]:
    """load_results with the late policy (of `course`) and the folder's decisions applied: what the gradebook,
    CSV, report and exports show."""
    decisions = in_force(folder)
    return [decided(with_late_penalty(result, course), decisions) for result in load_results(folder)]
