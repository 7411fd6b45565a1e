"""`course grade`: inputs -> sources -> the grading pipeline -> results files.

One command for one submission or a class: every input (folders in the template layout,
folders of them, notebooks, zips, an nbgrader `submitted/` tree) becomes named Sources
(autograder.inputs.sources), graded by autograder.core.pipeline. `--results FILE` (or stdout) takes exactly
one submission and grades it in this process; `--out DIR` writes one file per submission,
graded in parallel, resumable and shardable (autograder.semester.batch). Either way a submission gets the
same name, the same results file and the same score.

`grade()` (autograder.core.pipeline) is the entry point other front-ends call.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder import config
from autograder.boundary.sandbox import SandboxUnavailable
from autograder.core.pipeline import MAX_TEST_OUTPUT_CHARS, GraderError, grade
from autograder.frontends import options
from autograder.inputs import lms as lms_download
from autograder.inputs.sources import InputError, collect
from autograder.outcome.results import Results, printable
from autograder.render.files import OutputError, check_writable
from autograder.render.formats import FORMATS, RENDER, to_html, write
from autograder.render.text import score_of
from autograder.semester import batch

__all__ = ["MAX_TEST_OUTPUT_CHARS", "GraderError", "add_arguments", "grade", "main", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", nargs="+", type=Path,
                        help="folders in the template layout, notebooks, zips, folders of them, an nbgrader tree")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--results", type=Path, help="results file for a single submission")
    where.add_argument("--out", type=Path, help="folder for one results file per submission")
    parser.add_argument("--format", choices=FORMATS, default="json")
    options.add_course_options(parser)
    options.add_sandbox_option(parser)
    batch.add_batch_arguments(parser)
    downloads = parser.add_argument_group("a class downloaded from an LMS (autograder/inputs/lms.py)")
    downloads.add_argument("--lms", choices=sorted(lms_download.LAYOUTS),
                           help="the download's LMS (default: recognised from its file names)")
    downloads.add_argument("--all-attempts", action="store_true", help="grade every attempt, not only each "
                           "student's latest")
    downloads.add_argument("--times", type=Path, metavar="CSV", help="submission times for the deadline "
                           "(columns student,submitted_at), where the download carries none")


def assignment_of(inputs: list[Path], assignment: str | None, course: config.Course) -> str | None:
    """The assignment asked for; without one, the notebook assignment all notebook inputs are named after."""
    if assignment is not None:
        return assignment
    stems = {path.stem for path in inputs if path.suffix == ".ipynb"}
    stem = stems.pop() if len(stems) == 1 else None
    return stem if stem in course.assignments and course.assignments[stem].kind == "notebook" else None


def main(*, submissions: list[Path], results: Path | None = None, out: Path | None = None,
         format: str = "json", assignment: str | None = None, config_path: Path | None = None,
         sandbox: str | None = None, lms: str | None = None, all_attempts: bool = False, times: Path | None = None,
         **batch_options) -> int:
    course = config.load(config_path)
    assignment_name, assignment_config = course.assignment(assignment_of(submissions, assignment, course))
    used = [f"--{name}" for name, value in batch_options.items() if value]
    if out is None and used:
        print(f"course grade: {', '.join(used)} need --out DIR", file=sys.stderr)
        return 2
    try:
        downloaded = (lms_download.read_download(submissions[0], assignment_config, lms=lms, every_attempt=all_attempts)
                      if len(submissions) == 1 else None)
        if downloaded is None and lms:
            raise InputError(f"--lms {lms} needs one folder or zip: the class as downloaded")
        sources = downloaded if downloaded is not None else collect(submissions, assignment_name, assignment_config)
        if times is not None:
            sources, unknown = lms_download.with_times(sources, lms_download.read_times(times))
            if unknown:
                print(f"course grade: {times} names submissions not given: {', '.join(unknown[:10])}", file=sys.stderr)
    except InputError as exc:
        print(f"course grade: {printable(exc)}", file=sys.stderr)
        return 2
    if out is not None:
        return batch.grade_into(sources, out=out, course=course, assignment_name=assignment_name, format=format,
                          sandbox=sandbox, **batch_options)
    if results is not None and len(sources) != 1:
        print(f"course grade: {len(sources)} submissions need --out DIR, not --results FILE", file=sys.stderr)
        return 2
    try:
        if results is not None:
            check_writable(results)
    except OutputError as exc:
        print(f"course grade: {exc}; nothing was graded", file=sys.stderr)
        return 2
    unwritten: list[str] = []

    def emit(result: Results) -> None:
        # never raises: it runs inside the grading session, and the score below is printed either way
        try:
            decimals = course.grading.shown_decimals
            if results is not None:
                write(result, results, format, decimals)
            else:
                sys.stdout.write(to_html(result, decimals) if format == "html" else RENDER[format](result))
        except OSError as exc:
            unwritten.append(str(exc))
        print(f"{printable(result.submission)}: {score_of(result.score, result.max_score)}", file=sys.stderr)

    try:
        grade(sources, assignment_name=assignment_name, course=course, sandbox=sandbox, on_result=emit)
    except (GraderError, SandboxUnavailable) as exc:
        print(f"course grade: {printable(exc)}", file=sys.stderr)
        return 2
    for problem in unwritten:
        print(f"course grade: {problem}", file=sys.stderr)
    return 2 if unwritten else 0


def run(args: argparse.Namespace) -> int:
    return main(submissions=args.submissions, results=args.results, out=args.out, format=args.format,
                assignment=args.assignment, config_path=args.config, sandbox=args.sandbox, lms=args.lms,
                all_attempts=args.all_attempts, times=args.times, **batch.options(args))
