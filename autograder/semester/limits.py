"""Submission limits (course.yml: an assignment's `submission_limit`): how often a student's work is graded.

The rule: a submission is graded unless the student already had `per_day` submissions graded in the 24 hours
before it, or one graded less than `cooldown_minutes` before it. Only graded submissions count (a limited one
costs nothing), so a student who waits is always graded again. A limited submission is not run at all: its
result is the student's best earlier graded result (highest score; the latest of equal ones), with a message
saying why and when the next one will be graded, so resubmitting can neither probe the hidden tests faster
nor lower a grade.

The earlier submissions come from where they were graded: Gradescope's submission_metadata.json
(`previous_submissions`, each with its time, score and results) or, for pull requests, the history file the
grading workflow keeps per student (autograder.frontends.ci_grade --history). Times are the grader's, never the
student's (a commit's date is the student's to set).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from autograder import config
from autograder.inputs.sources import iso_time
from autograder.outcome.results import Results

FLAG = "submission_limit"
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Attempt:
    """An earlier graded submission."""

    at: datetime
    score: float
    results: dict  # its results as recorded (Results.to_dict; Gradescope's own for its history): what a limited
    # submission keeps


def parse_time(text: str) -> datetime | None:
    """A recorded submission time; one without a time zone is the grader's UTC."""
    if not isinstance(text, str) or (moment := iso_time(text)) is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _shown(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def refusal(limit: config.SubmissionLimit | None, earlier: list[Attempt], now: datetime) -> str | None:
    """Why a submission at `now` is not graded, or None when it is."""
    if limit is None:
        return None
    past = sorted(a.at for a in earlier if a.at <= now)
    if limit.per_day is not None:
        recent = [at for at in past if now - at < DAY]
        if len(recent) >= limit.per_day:
            opens = recent[-limit.per_day] + DAY
            return (f"This submission was not graded: at most {limit.per_day} submissions are graded in any 24 hours, "
                    f"and {len(recent)} of yours were graded since {_shown(now - DAY)}. The next one can be graded "
                    f"from {_shown(opens)}.")
    if limit.cooldown_minutes and past:
        opens = past[-1] + timedelta(minutes=limit.cooldown_minutes)
        if now < opens:
            return (f"This submission was not graded: graded submissions must be at least "
                    f"{limit.cooldown_minutes:g} minutes apart, and your last one was graded at {_shown(past[-1])}. "
                    f"The next one can be graded from {_shown(opens)}.")
    return None


def best(earlier: list[Attempt]) -> Attempt | None:
    return max(earlier, key=lambda a: (a.score, a.at), default=None)


KEPT = " Your best earlier result ({score:g} points) stands."
NONE_KEPT = " No earlier result could be read, so this one counts 0 for now."


def kept(reason: str, earlier: list[Attempt], fallback: Results) -> Results:
    """A limited submission's result from a history of Results (frontends.ci_grade): the best earlier one, with
    the reason first in its messages and the limit flagged; `fallback` when there is none to read."""
    found = best(earlier)
    if found is None:
        return fallback
    try:
        result = Results.from_dict(found.results)
    except (KeyError, TypeError, ValueError):
        return fallback
    return replace(result, submission=fallback.submission, flags=tuple(sorted({*result.flags, FLAG})),
                   messages=(reason + KEPT.format(score=result.score), *result.messages))


def kept_on_gradescope(reason: str, earlier: list[Attempt]) -> dict | None:
    """A limited submission's results.json on Gradescope: the best earlier one as Gradescope holds it (already
    rendered), the reason first in its output and the limit flagged; None when there is none."""
    found = best(earlier)
    if found is None:
        return None
    data = json.loads(json.dumps(found.results))  # a copy
    extra = data.setdefault("extra_data", {})
    extra["flags"] = sorted({*(extra.get("flags") or []), FLAG})
    data["score"] = found.score
    data["output"] = reason + KEPT.format(score=found.score) + ("\n\n" + data["output"] if data.get("output") else "")
    return data


# -- where earlier submissions are recorded -----------------------------------------------------------
def from_gradescope(metadata: dict) -> list[Attempt]:
    """Gradescope's previous_submissions (each: submission_time, score, results): the graded ones."""
    found = []
    for entry in metadata.get("previous_submissions") or []:
        if not isinstance(entry, dict):
            continue
        at, results = parse_time(entry.get("submission_time", "")), entry.get("results") or {}
        if at is None or not isinstance(results, dict):
            continue
        if FLAG in ((results.get("extra_data") or {}).get("flags") or []):
            continue  # limited: it was not graded
        try:
            score = float(entry.get("score") or results.get("score") or 0.0)
        except (TypeError, ValueError):
            continue
        found.append(Attempt(at, score, results))
    return found


def read_history(path: Path) -> list[Attempt]:
    """A pull request student's history file (JSON lines: at, score, results); a missing file is no history,
    an unreadable line is skipped."""
    found = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    for line in lines:
        try:
            entry = json.loads(line)
            at = parse_time(entry["at"])
            if at is not None:
                found.append(Attempt(at, float(entry["score"]), entry["results"]))
        except (ValueError, KeyError, TypeError):
            continue
    return found


def record(path: Path, at: datetime, result: Results) -> None:
    """Append a graded submission to a history file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        entry = {"at": at.isoformat(), "score": result.score, "results": result.to_dict()}
        handle.write(json.dumps(entry) + "\n")
