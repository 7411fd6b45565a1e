"""`course override`: record an instructor's decision on a score (autograder/semester/overrides.py keeps them).

    course override RESULTS_DIR STUDENT POINTS --reason TEXT [--part PART] [--by NAME]
    course override RESULTS_DIR STUDENT --clear [--part PART] --reason TEXT
    course override RESULTS_DIR --csv FILE            (columns: student, part, points, reason)
"""

from __future__ import annotations

import argparse
import csv
import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path

from autograder import config
from autograder.frontends import options
from autograder.semester.overrides import TOTAL, TRAIL, Override, record


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, help="the folder of results (course grade --out)")
    parser.add_argument("student", nargs="?", help="the student (their results file's name)")
    parser.add_argument("points", nargs="?", type=float, help="the points to give")
    parser.add_argument("--part", default=TOTAL, help="a part of the assignment (default: its total)")
    parser.add_argument("--reason", help="why (shown to the student)")
    parser.add_argument("--by", default=None, help="who decided (default: the user running this)")
    parser.add_argument("--clear", action="store_true", help="withdraw the override (the grader's points again)")
    parser.add_argument("--csv", type=Path, help="many overrides: columns student, part, points, reason")
    options.add_course_options(parser)


def main(*, results: Path, student: str | None = None, points: float | None = None, part: str = TOTAL,
         reason: str | None = None, by: str | None = None, clear: bool = False, csv_path: Path | None = None,
         assignment: str | None = None, config_path: Path | None = None) -> int:
    course = config.load(config_path)
    name, spec = course.assignment(assignment)
    if not results.is_dir():
        print(f"course override: {results} is not a folder of results (course grade --out)", file=sys.stderr)
        return 2
    who = by or getpass.getuser()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    wanted: list[tuple[str, str, float | None, str]] = []
    if csv_path is not None:
        with csv_path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not {"student", "part", "points", "reason"} <= set(reader.fieldnames or []):
                print(f"course override: {csv_path} needs the columns student, part, points, reason", file=sys.stderr)
                return 2
            wanted = [(r["student"].strip(), (r["part"] or "").strip(), float(r["points"]), r["reason"].strip())
                      for r in reader]
    elif student is None or (points is None) == (not clear):
        print("course override: give STUDENT and POINTS (or STUDENT --clear), or --csv FILE", file=sys.stderr)
        return 2
    else:
        wanted = [(student, part, None if clear else points, reason or "")]
    known = {p.stem for p in results.glob("*.json")}
    for who_for, which, value, why in wanted:
        problem = (f"no results of {who_for!r} in {results}" if who_for not in known else
                   f"assignment {name!r} has no part {which!r} (its parts: {', '.join(spec.parts)})"
                   if which not in (TOTAL, *spec.parts) else
                   "every override needs a --reason: the student reads it" if not why else
                   f"{value:g} points is more than the part's {spec.parts[which].points:g}"
                   if value is not None and which != TOTAL and value > spec.parts[which].points else
                   "points cannot be negative" if value is not None and value < 0 else "")
        if problem:
            print(f"course override: {problem}; nothing was recorded", file=sys.stderr)
            return 2
    for who_for, which, value, why in wanted:
        record(results, Override(who_for, name, which, value, why, who, now))
    print(f"recorded {len(wanted)} decision(s) in {results / TRAIL}")
    return 0


def run(args: argparse.Namespace) -> int:
    return main(results=args.results, student=args.student, points=args.points, part=args.part, reason=args.reason,
                by=args.by, clear=args.clear, csv_path=args.csv, assignment=args.assignment, config_path=args.config)

