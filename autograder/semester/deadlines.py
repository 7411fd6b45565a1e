"""Deadlines and late penalties (course.yml: an assignment's `deadline`): what a late submission loses.

A submission's time comes from where it was handed in (Results.submitted_at: a Blackboard attempt's stamp, a
Gradescope submission's created_at, the time CI graded the push, never a commit's own date, which the student
sets). Late means after the student's due time (their extension, or the assignment's) plus the grace period;
each started day (or hour) after that costs `percent` of the points earned, up to `cap_percent`. A result
without a time is never penalised (and says so nowhere: there is nothing to say). The penalty is applied where
results are read for people (autograder.semester.overrides.load_decided), before an instructor's override, which has
the last word.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from autograder import config
from autograder.inputs.sources import iso_time

PERIOD = {"day": timedelta(days=1), "hour": timedelta(hours=1)}


@dataclass(frozen=True)
class Lateness:
    late_by: timedelta  # past the due time and the grace period (zero: on time)
    percent: float  # of the points earned that it loses

    @property
    def late(self) -> bool:
        return self.late_by > timedelta(0)


ON_TIME = Lateness(timedelta(0), 0.0)


def lateness(deadline: config.Deadline | None, student: str, submitted_at: str) -> Lateness:
    if deadline is None or not submitted_at:
        return ON_TIME
    submitted = iso_time(submitted_at)
    if submitted is None or submitted.tzinfo is None:
        return ON_TIME
    due = deadline.extensions.get(student, deadline.due) + timedelta(minutes=deadline.grace_minutes)
    late_by = submitted - due
    if late_by <= timedelta(0):
        return ON_TIME
    penalty = deadline.late_penalty
    if penalty is None:
        return Lateness(late_by, 0.0)
    periods = math.ceil(late_by / PERIOD[penalty.per])
    return Lateness(late_by, min(periods * penalty.percent, penalty.cap_percent))


def described(lateness: Lateness) -> str:
    """What the student reads: how late, and what it cost."""
    hours = lateness.late_by.total_seconds() / 3600
    late = f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"
    cost = (f"{lateness.percent:g} % of the points earned" if lateness.percent
            else "no points (this course only notes it)")
    return f"Handed in {late} after the due time (grace period included): the late policy takes {cost}."
