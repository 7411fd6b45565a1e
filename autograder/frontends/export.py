"""`course export`: a folder of graded results as the gradebook file an LMS imports.

- canvas: Canvas's gradebook import CSV (Canvas Instructor Guide, "How do I import grades in the Gradebook?"):
  `Student, ID, SIS User ID, SIS Login ID, Section`, then one column per assignment, named `<assignment>` or
  `<assignment> (<Canvas assignment id>)` to fill an existing column; a second row, "Points Possible".
  Students are matched on ID, the Canvas user id a Canvas download names each submission by (autograder/inputs/lms.py).
- moodle: a CSV for Moodle's "Import grades > CSV file", mapped there on "Email address" (or "ID number").
- gradescope: the layout of Gradescope's own "Download Grades" CSV (name, SID, email, total, max, one column
  per question, here per part).
- long: one row per student and part: student, assignment, part, points, max_points, late_penalty, override,
  final, and a "(total)" row per student with a late penalty or a total override.
Every format carries the late policy and the instructor's overrides (autograder.semester.overrides.load_decided).
A roster CSV (`id,name,email,section`, with that header) joins names, emails and sections to the ids.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path

from autograder import config
from autograder.frontends import options
from autograder.outcome.results import Results, load_results
from autograder.semester import overrides

FORMATS = ("canvas", "moodle", "gradescope", "long")
ROSTER_COLUMNS = ("id", "name", "email", "section")


class RosterError(ValueError):
    pass


def read_roster(path: Path | None) -> dict[str, dict[str, str]]:
    """id -> {name, email, section} from a roster CSV; {} without one."""
    if path is None:
        return {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ROSTER_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise RosterError(f"{path}: a roster needs the columns {', '.join(ROSTER_COLUMNS)} (missing: "
                              f"{', '.join(missing)})")
        return {row["id"].strip(): {c: (row[c] or "").strip() for c in ROSTER_COLUMNS[1:]} for row in reader
                if row["id"] and row["id"].strip()}


def _points(value: float) -> str:
    return f"{value:g}"


def rows(fmt: str, graded: Sequence[Results], decided: Sequence[Results], roster: dict[str, dict[str, str]],
         assignment: str, column: str) -> list[list[str]]:
    """The CSV's rows (header first) for one assignment: `decided` are the `graded` results with the late policy
    and the instructor's overrides applied (autograder.semester.overrides.load_decided); gradebooks get their scores,
    the long CSV shows both."""
    max_score = max((r.max_score for r in graded), default=0.0)
    person = {r.submission: roster.get(r.submission, {}) for r in graded}
    final = {r.submission: r for r in decided}
    if fmt == "canvas":
        table = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column],
                 ["Points Possible", "", "", "", "", _points(max_score)]]
        return table + [[person[r.submission].get("name", ""), r.submission, "", "",
                         person[r.submission].get("section", ""), _points(final[r.submission].score)] for r in graded]
    if fmt == "moodle":
        return [["Email address", "ID number", "Full name", column]] + [
            [person[r.submission].get("email", ""), r.submission, person[r.submission].get("name", ""),
             _points(final[r.submission].score)] for r in graded]
    if fmt == "gradescope":
        parts = list(graded[0].parts) if graded else []
        header = ["Name", "SID", "Email", "Total Score", "Max Points", "Status",
                  *(f"{p.title} ({_points(p.max_score)} pts)" for p in parts)]
        return [header] + [[person[r.submission].get("name", ""), r.submission, person[r.submission].get("email", ""),
                            _points(final[r.submission].score), _points(r.max_score), "Graded",
                            *(_points(p.score) for p in final[r.submission].parts if p.name in {q.name for q in parts})]
                           for r in graded]
    table = [["student", "assignment", "part", "points", "max_points", "late_penalty", "override", "final"]]
    for r in graded:
        now = {p.name: p.score for p in final[r.submission].parts}
        for p in r.parts:
            changed = now[p.name] != p.score
            table.append([r.submission, assignment, p.name, _points(p.score), _points(p.max_score), "",
                          _points(now[p.name]) if changed else "", _points(now[p.name])])
        late, adjusted = now.get(overrides.LATE), now.get(overrides.ADJUSTMENT)
        if late is not None or adjusted is not None:
            table.append([r.submission, assignment, "(total)", _points(r.score), _points(r.max_score),
                          _points(-late) if late is not None else "",
                          _points(final[r.submission].score) if adjusted is not None else "",
                          _points(final[r.submission].score)])
    return table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, help="a folder of results (course grade --out)")
    parser.add_argument("--format", choices=FORMATS, required=True, help="the gradebook file to write")
    parser.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    parser.add_argument("--roster", type=Path, help="a CSV with the columns id,name,email,section")
    parser.add_argument("--column", help="the gradebook column (Canvas: '<name> (<assignment id>)' fills an "
                        "existing one; default: the assignment's name)")
    options.add_course_options(parser)


def main(*, results: Path, format: str, out: Path, roster: Path | None = None, column: str | None = None,
         assignment: str | None = None, config_path: Path | None = None) -> int:
    course = config.load(config_path)
    if not results.is_dir():
        print(f"course export: {results} is not a folder of results (course grade --out)", file=sys.stderr)
        return 2
    found = load_results(results)
    decided = {r.submission: r for r in overrides.load_decided(results, course)}
    name = assignment or (found[0].assignment if found else course.assignment()[0])
    chosen = [r for r in found if r.assignment == name]
    if not chosen:
        print(f"course export: no results of assignment {name!r} in {results}", file=sys.stderr)
        return 2
    try:
        people = read_roster(roster)
    except (OSError, RosterError) as exc:
        print(f"course export: {exc}", file=sys.stderr)
        return 2
    with out.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows(format, chosen, [decided[r.submission] for r in chosen], people, name,
                                          column or name))
    unknown = sorted(r.submission for r in chosen if people and r.submission not in people)
    if unknown:
        print(f"course export: not on the roster: {', '.join(unknown)}", file=sys.stderr)
    print(f"wrote {len(chosen)} students to {out} ({format})")
    return 0


def run(args: argparse.Namespace) -> int:
    return main(results=args.results, format=args.format, out=args.out, roster=args.roster, column=args.column,
                assignment=args.assignment, config_path=args.config)
