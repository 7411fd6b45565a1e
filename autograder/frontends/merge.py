"""`course merge`: combine the results folders of several shards into one, then publish.

Each shard of a class (`course grade --shard I/N --out shardI/`) writes one results file per
submission. Merging copies them into one folder, refusing two different results for the same
submission, and rebuilds the gradebook, CSV and report from the merged folder, so N merged
shards give exactly what one unsharded run gives.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder import config
from autograder.frontends import options
from autograder.render.files import atomic_write
from autograder.semester import overrides
from autograder.semester.batch import publish


class MergeError(Exception):
    pass


def merge_folders(shards: list[Path], out: Path) -> int:
    """Copy every shard's results files into `out`; return how many submissions it holds."""
    seen: dict[str, Path] = {}
    for folder in shards:
        if not folder.is_dir():
            raise MergeError(f"{folder}: not a folder of results")
        for path in sorted(folder.glob("*.json")):
            if path.name in seen and seen[path.name].read_bytes() != path.read_bytes():
                raise MergeError(f"{path.stem} has different results in {seen[path.name].parent} and {folder}; "
                                 "were the shards graded with the same --shard N and inputs?")
            seen[path.name] = path
    out.mkdir(parents=True, exist_ok=True)
    for name, path in sorted(seen.items()):
        target = out / name
        if target.resolve() == path.resolve():
            continue
        atomic_write(target, path.read_text(encoding="utf-8"))
    return len(seen)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shards", nargs="+", type=Path, help="results folders of the shards")
    parser.add_argument("--out", type=Path, required=True, help="merged results folder")
    parser.add_argument("--gradebook", metavar="URL_OR_PATH", help="nbgrader gradebook (SQLAlchemy URL or path)")
    parser.add_argument("--csv", type=Path, help="scores table (per part and total)")
    parser.add_argument("--report", type=Path, metavar="DIR", help="class report (HTML and PNGs)")
    options.add_course_options(parser)


def main(*, shards: list[Path], out: Path, gradebook: str | None = None, csv: Path | None = None,
         report: Path | None = None, assignment: str | None = None,
         config_path: Path | None = None) -> int:
    course = config.load(config_path)
    assignment_name, _ = course.assignment(assignment)
    try:
        count = merge_folders(shards, out)
    except MergeError as exc:
        print(f"course merge: {exc}", file=sys.stderr)
        return 2
    unwritten = publish(overrides.load_decided(out, course), course=course, assignment_name=assignment_name,
                        gradebook=gradebook, csv=csv, report=report, results_dir=out)
    for problem in unwritten:
        print(f"course merge: {problem}", file=sys.stderr)
    print(f"course merge: {count} submissions from {len(shards)} shards in {out}", file=sys.stderr)
    return 2 if unwritten else 0


def run(args: argparse.Namespace) -> int:
    return main(shards=args.shards, out=args.out, gradebook=args.gradebook, csv=args.csv, report=args.report,
                assignment=args.assignment, config_path=args.config)
