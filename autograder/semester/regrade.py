"""Regrades an instructor reviews before they replace anyone's grade.

When the grader changed since a class was graded (a new hidden suite, course file or reference: the
results' `grader_key` differs), `course grade` grades those submissions into RESULTS_DIR/.regrade instead of
over their results, prints a table of what would change (old and new final score, the parts that moved,
overrides and late penalties applied to both), and publishes them only when run again with `--accept`, which
moves the pending results in without grading them twice. A resubmission (same grader, new files) is graded
as before: that is new work, not a regrade. Overrides live beside the results (autograder.semester.overrides), so they
apply to the new results exactly as to the old.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder import config
from autograder.outcome.results import Results, read_result, result_path
from autograder.render.formats import SUFFIX
from autograder.semester import overrides

PENDING = ".regrade"


def pending_folder(out: Path) -> Path:
    return out / PENDING


def _stored(folder: Path, name: str) -> Results | None:
    return read_result(result_path(folder, name))


def by_another_grader(stored: Results | None, grader: str) -> bool:
    """Whether a stored result is complete and was graded by a grader other than `grader` (a result from before
    grader keys were recorded counts as another grader's)."""
    return stored is not None and stored.complete and stored.grader_key != grader


@dataclass(frozen=True)
class Change:
    student: str
    old: float
    new: float
    parts: tuple[str, ...]  # the parts whose points moved


def changes(out: Path, names: list[str], course: config.Course) -> list[Change]:
    """Each held submission's old result (in `out`) against its pending one, both as people read them."""
    decisions = overrides.in_force(out)
    found = []
    for name in sorted(names):
        old, new = _stored(out, name), _stored(pending_folder(out), name)
        if old is None or new is None:
            continue
        old, new = (overrides.decided(overrides.with_late_penalty(r, course), decisions) for r in (old, new))
        before = {p.name: p.score for p in old.parts}
        after = {p.name: p.score for p in new.parts}
        moved = tuple(part for part in sorted(before.keys() | after.keys())
                      if abs(before.get(part, 0.0) - after.get(part, 0.0)) > 1e-6)
        found.append(Change(name, old.score, new.score, moved))
    return found


def table(found: list[Change]) -> str:
    """The changes as a plain-text table (students whose grade would not move are counted, not listed)."""
    moving = [c for c in found if c.parts or abs(c.old - c.new) > 1e-6]
    lines = [f"{len(moving)} of {len(found)} regraded submissions change:"]
    if moving:
        width = max(len("student"), *(len(c.student) for c in moving))
        lines.append(f"  {'student':<{width}}  {'old':>7}  {'new':>7}  parts that moved")
        for change in moving:
            lines.append(f"  {change.student:<{width}}  {change.old:>7g}  {change.new:>7g}  {', '.join(change.parts)}")
    return "\n".join(lines)


def accept(out: Path, name: str, key: str) -> bool:
    """Move a pending result graded with `key` (and its rendered copies) over the published one; False when
    there is none to move (it is then graded again)."""
    pending = _stored(pending_folder(out), name)
    if pending is None or not pending.complete or pending.grading_key != key:
        return False
    for suffix in sorted(set(SUFFIX.values())):
        path = pending_folder(out) / f"{name}{suffix}"
        if path.is_file():
            path.replace(out / path.name)
    return True
