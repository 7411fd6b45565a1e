"""Grading into a folder (`course grade --out`): all cores, resumable, optionally one shard of a class.

1. select: the Sources (autograder.inputs.sources) of this shard; a submission whose results file
   already holds the same grading key (its files, the hidden suite and the course file,
   autograder.core.pipeline.grading_key) is finished; `--force` regrades it. One graded before by
   another grader (a changed hidden suite or course file) is regraded into OUT/.regrade and
   replaces its results only with `--accept`, after a table of the changes (autograder.semester.regrade).
2. grade: up to --jobs fresh processes at a time, each running `grade()` over one chunk of
   submissions in one pytest session (imports, torch and the suite's expectations paid once per
   chunk); every submission still gets its own fresh sandboxed worker, so none sees another's
   state. Each results file is written atomically the moment its submission finishes.
3. publish: the gradebook (nbgrader), CSV and class report are rebuilt from the results files,
   so a rerun or a merge never counts a submission twice.
"""

from __future__ import annotations

import argparse
import ctypes
import math
import multiprocessing
import os
import queue
import re
import signal
import sys
import time
import traceback
from pathlib import Path

from autograder import config
from autograder.core.pipeline import grader_key, grading_key
from autograder.inputs.sources import Source
from autograder.outcome.results import Results, printable, read_result, result_path
from autograder.render.files import CANNOT_WRITE, OutputError, cannot_write, check_writable
from autograder.render.formats import FORMATS, SUFFIX, write
from autograder.render.text import score_of
from autograder.semester import overrides, regrade, similar_code


# -- select ----------------------------------------------------------------------------------
def parse_jobs(text: str) -> int:
    """--jobs: a whole number of grading processes, 1 or more."""
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of grading processes, 1 or more")
    return jobs


def parse_shard(text: str) -> tuple[int, int]:
    """'2/4' -> (2, 4): the second of four shards (numbered from 1)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise argparse.ArgumentTypeError(f"{text!r}: expected I/N with 1 <= I <= N, e.g. 2/4")
    return int(match[1]), int(match[2])


def shard_slice(sources: list[Source], index: int, count: int) -> list[Source]:
    """A deterministic slice: every count-th submission by name, starting at the index-th."""
    return sorted(sources, key=lambda s: s.name)[index - 1::count]


# -- resume ----------------------------------------------------------------------------------
def is_finished(result: Results | None, key: str) -> bool:
    """Whether a stored result was graded with this grading key, every test graded: a partial result
    (Results.complete) or one with a test the grader failed on (internal_error) is graded again."""
    return result is not None and result.grading_key == key and result.complete and "internal_error" not in result.flags


def finished(out: Path, name: str, key: str) -> bool:
    """Whether `out` holds this submission's finished results (is_finished)."""
    return is_finished(read_result(result_path(out, name)), key)


# -- grade (worker processes) ----------------------------------------------------------------
def _die_with_parent() -> None:
    """Linux: SIGTERM this process when the batch process dies, even by SIGKILL."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _Stopping(KeyboardInterrupt):
    pass


def _work(chunk: list[Source], events, settings: dict) -> None:
    """One grading process: one pytest session over one chunk; reports each finished submission."""
    _die_with_parent()
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        events.cancel_join_thread()  # never hang at exit on events a stopping batch process will not read
        raise _Stopping()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the batch process, which stops us
    # A normal exit waits until every event is sent: a process that ends right after its last
    # submission must not lose that submission's "done".
    if os.getppid() != settings["parent"]:
        return
    from autograder.core.pipeline import grade  # imported here: the batch process never runs pytest

    held = set(settings.get("held", ()))

    def on_result(result: Results) -> None:
        # pytest tears fixtures down when interrupted: such a result is incomplete, never keep it
        if stopping:
            return
        # a regrade by a changed grader waits for the instructor's review (autograder.semester.regrade)
        out = regrade.pending_folder(Path(settings["out"])) if result.submission in held else Path(settings["out"])
        try:
            write(result, result_path(out, result.submission), "json")
            if settings["format"] != "json":
                write(result, out / f"{result.submission}{SUFFIX[settings['format']]}", settings["format"],
                      settings["course"].grading.shown_decimals)
        except OSError as exc:  # the grade is not lost: the batch prints it with the error
            events.put(("unwritten", result.submission, result.score, result.max_score, list(result.flags), str(exc)))
            return
        events.put(("done", result.submission, result.score, result.max_score, list(result.flags)))

    try:
        grade(chunk, assignment_name=settings["assignment"], course=settings["course"],
              sandbox=settings["sandbox"], on_result=on_result)
    except _Stopping:
        pass
    except Exception:
        if not stopping:  # pytest turns our stop into an interrupted session: not an error
            events.put(("error", [s.name for s in chunk], traceback.format_exc()))


def _drain(events) -> list[tuple]:
    found = []
    while True:
        try:
            found.append(events.get(timeout=0.05))
        except queue.Empty:
            return found


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt()


MAX_CHUNK = 64  # submissions in one grading process


def _chunks(sources: list[Source], jobs: int) -> list[list[Source]]:
    """As few chunks as there are process slots (each fresh process pays the start-up: imports, pytest,
    the hidden suite), in as many rounds as MAX_CHUNK needs, all of one size so that the slots finish
    together; dealt out in turn, so that no chunk takes a run of hard (or easy) submissions."""
    count = jobs * math.ceil(len(sources) / (jobs * MAX_CHUNK))
    return [chunk for chunk in (sources[i::count] for i in range(count)) if chunk]


class _Display:
    """A rich progress bar on a terminal; one line per submission elsewhere (CI logs)."""

    def __init__(self, total: int, skipped: int, quiet: bool):
        from rich import progress  # here: `course grade` of one submission never shows a bar
        from rich.console import Console

        self.console = Console(stderr=True)
        self.live = self.console.is_terminal and not quiet
        self.quiet = quiet
        self.progress = progress.Progress(
            progress.TextColumn("[bold]grading"), progress.BarColumn(), progress.MofNCompleteColumn(),
            progress.TextColumn("{task.fields[status]}"), progress.TimeElapsedColumn(), progress.TextColumn("ETA"),
            progress.TimeRemainingColumn(), console=self.console, disable=not self.live)
        self.task = self.progress.add_task("grading", total=total, status=self._status(0, skipped))
        self.skipped = skipped
        self.flagged = 0

    @staticmethod
    def _status(flagged: int, skipped: int) -> str:
        return f"flagged {flagged}, already graded {skipped}"

    def __enter__(self) -> _Display:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def done(self, name: str, score: float, max_score: float, flags: list[str]) -> None:
        self.flagged += bool(flags)
        self.progress.update(self.task, advance=1, status=self._status(self.flagged, self.skipped))
        if not self.live and not self.quiet:
            extra = f"  [{', '.join(flags)}]" if flags else ""
            self.console.print(f"{printable(name)}: {score_of(score, max_score)}{extra}", highlight=False, markup=False)

    def error(self, message: str) -> None:
        # soft_wrap: paths whole; printable: a student's control characters as escapes, never ANSI sequences
        self.console.print(printable(message), style="red", highlight=False, markup=False, soft_wrap=True)


def run_pool(sources: list[Source], *, out: Path, jobs: int, settings: dict,
             skipped: int = 0, quiet: bool = False) -> tuple[set[str], list[str]]:
    """Grade `sources` with up to `jobs` processes at a time; return the names graded and the problems met.

    Every chunk gets a fresh process running one pytest session: a hidden suite may keep state from
    one session to the next (caches, drawn examples), so a submission's grade must not depend on
    which chunks a process graded before it.
    """
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    waiting = _chunks(sources, jobs)
    settings = {**settings, "out": str(out), "parent": os.getpid()}
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    running: dict[multiprocessing.process.BaseProcess, list[str]] = {}
    graded: set[str] = set()
    problems: list[str] = []
    try:
        with _Display(len(sources), skipped, quiet) as display:

            def handle(event: tuple) -> None:
                if event[0] == "done":
                    graded.add(event[1])
                    display.done(*event[1:])
                elif event[0] == "unwritten":
                    name, score, max_score, flags, error = event[1:]
                    graded.add(name)
                    extra = f" [{', '.join(flags)}]" if flags else ""
                    problems.append(f"{error}; {name} scored {score_of(score, max_score)}{extra}")
                    display.error(f"course grade: {problems[-1]}")
                else:
                    problems.append(f"could not grade {', '.join(event[1])}:\n{event[2]}")
                    display.error(problems[-1])

            while waiting or running:
                while waiting and len(running) < jobs:
                    chunk = waiting.pop(0)
                    started = context.Process(target=_work, args=(chunk, events, settings), daemon=True)
                    started.start()
                    running[started] = [s.name for s in chunk]
                try:
                    handle(events.get(timeout=0.2))
                    continue
                except queue.Empty:
                    pass
                ended = [p for p in running if not p.is_alive()]
                for event in _drain(events):  # what they sent just before they ended
                    handle(event)
                for process in ended:
                    lost = [n for n in running.pop(process) if n not in graded]
                    if lost:
                        problems.append(f"a grading process ended (exit code {process.exitcode}) before grading: "
                                        f"{', '.join(lost)}")
                        display.error(problems[-1])
    finally:
        for process in running:
            process.terminate()
        for process in running:
            process.join(timeout=10)
        signal.signal(signal.SIGTERM, previous_handler)
    missing = sorted(s.name for s in sources if s.name not in graded)
    if missing and not problems:
        problems.append(f"not graded: {', '.join(missing)}")
    return graded, problems


# -- publish ---------------------------------------------------------------------------------
def publish(results: list[Results], *, course: config.Course, assignment_name: str, gradebook: str | None,
            csv: Path | None, report: Path | None, results_dir: Path | None = None) -> list[str]:
    """Gradebook, CSV and report, rebuilt from the results files (so never a duplicate); returns what
    could not be written (one line each, naming the path), having written the others."""
    failed = []
    if gradebook or csv:
        from autograder.render import gradebook as nbgradebook
    if gradebook:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            nbgradebook.write_gradebook(results, nbgradebook.database_url(gradebook), course, assignment_name)
        except (OSError, SQLAlchemyError) as exc:
            failed.append(f"cannot write the gradebook {gradebook}: {getattr(exc, 'orig', None) or exc}")
    if csv:
        try:
            nbgradebook.write_csv(results, csv, course, assignment_name)
        except OSError as exc:
            failed.append(str(exc) if isinstance(exc, OutputError) else str(cannot_write(csv, exc)))
    if report:
        from autograder.semester import report as class_report

        try:
            class_report.write_report(results, report, course=course, assignment_name=assignment_name,
                                      results_dir=results_dir)
        except OSError as exc:
            failed.append(str(cannot_write(report, exc)))
    return failed


def check_destinations(*, out: Path, csv: Path | None = None, report: Path | None = None,
                       gradebook: str | None = None) -> None:
    """Raise OutputError (naming the path) unless every destination can be written: checked before
    grading, so that a class is never graded into a place that cannot keep the results."""
    check_writable(out, folder=True)
    if csv:
        check_writable(csv)
    if report:
        check_writable(report, folder=True)
    if gradebook and ("://" not in gradebook or gradebook.startswith("sqlite:///")):
        check_writable(Path(gradebook.removeprefix("sqlite:///")))


# -- review regrades ---------------------------------------------------------------------------
def review(out: Path, held: list[str], keys: dict[str, str], *, course: config.Course, accept: bool) -> None:
    """Print what the held regrades would change; publish them when `accept`."""
    ready = [name for name in held if finished(regrade.pending_folder(out), name, keys[name])]
    print(regrade.table(regrade.changes(out, ready, course)))
    if accept:
        moved = [name for name in ready if regrade.accept(out, name, keys[name])]
        print(f"course grade: {len(moved)} regraded results published", file=sys.stderr)
    else:
        print(f"course grade: the grader changed since {len(held)} of these submissions were graded; their new "
              f"results wait in {regrade.pending_folder(out)} and nothing was overwritten: run the same command "
              "with --accept to publish them", file=sys.stderr)


# -- command ---------------------------------------------------------------------------------
def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `course grade` takes for many submissions (kept here, next to their meaning)."""
    group = parser.add_argument_group("batch grading (several submissions, zips, notebooks, nbgrader trees)")
    group.add_argument("--jobs", "-j", type=parse_jobs,
                       help=f"grading processes (default: the cores, {default_jobs()})")
    group.add_argument("--force", action="store_true", help="regrade submissions that already have results")
    group.add_argument("--shard", type=parse_shard, metavar="I/N", help="grade only the I-th of N slices")
    group.add_argument("--gradebook", metavar="URL_OR_PATH",
                       help="nbgrader gradebook to fill (SQLAlchemy URL or an SQLite file path)")
    group.add_argument("--csv", type=Path, help="scores table (per part and total)")
    group.add_argument("--report", type=Path, metavar="DIR", help="class report (HTML and PNGs)")
    group.add_argument("--quiet", action="store_true", help="no progress display")
    group.add_argument("--accept", action="store_true",
                       help="publish the regrades a changed grader made (without it they wait for review)")


BATCH_OPTIONS = ("jobs", "force", "shard", "gradebook", "csv", "report", "quiet", "accept")


def options(args: argparse.Namespace) -> dict:
    return {name: getattr(args, name) for name in BATCH_OPTIONS}


def grade_into(sources: list[Source], *, out: Path, course: config.Course, assignment_name: str,
               format: str = "json", sandbox: str | None = None, jobs: int | None = None, force: bool = False,
               shard: tuple[int, int] | None = None, gradebook: str | None = None, csv: Path | None = None,
               report: Path | None = None, quiet: bool = False, accept: bool = False) -> int:
    """Grade `sources` into `out` (one results file each), skipping finished ones, then publish. Submissions
    graded before by another grader are regraded into `out`/.regrade and replace their results only when
    `accept` (autograder.semester.regrade)."""
    assignment = course.assignments[assignment_name]
    if format not in FORMATS:
        raise ValueError(format)
    try:
        check_destinations(out=out, csv=csv, report=report, gradebook=gradebook)
    except OutputError as exc:
        print(f"course grade: {exc}; nothing was graded", file=sys.stderr)
        return 2
    for leftover in out.glob(".*.tmp"):  # an atomic write cut short by a kill; its result was not kept
        leftover.unlink()
    try:
        if shard:
            sources = shard_slice(sources, *shard)
        grader = grader_key(course, assignment)
        keys = {s.name: grading_key(s, assignment, grader) for s in sources}
        stored = {s.name: read_result(result_path(out, s.name)) for s in sources}  # each file read once
        todo = [s for s in sources if force or not is_finished(stored[s.name], keys[s.name])]
        held = [s.name for s in todo if regrade.by_another_grader(stored[s.name], grader)]
        pending = regrade.pending_folder(out)
        if held:
            pending.mkdir(exist_ok=True)
        todo = [s for s in todo if s.name not in held or force or not finished(pending, s.name, keys[s.name])]
        skipped = len(sources) - len(todo)
        settings = {"course": course, "assignment": assignment_name, "sandbox": sandbox, "format": format,
                    "held": held}
        started = time.monotonic()
        graded: set[str] = set()
        problems: list[str] = []
        if todo:
            graded, problems = run_pool(todo, out=out, jobs=jobs or default_jobs(), settings=settings,
                                        skipped=skipped, quiet=quiet)
        elapsed = time.monotonic() - started
        print(f"course grade: {len(graded)} graded in {elapsed:.1f} s, {skipped} already graded, "
              f"{len(sources)} in total"
              + (f" (shard {shard[0]}/{shard[1]})" if shard else ""), file=sys.stderr)
        if held:
            review(out, held, keys, course=course, accept=accept)
        if report:  # the class report's similar submissions, kept beside the results (autograder.semester.similar_code)
            similar_code.save(similar_code.of_sources(sources, assignment, course.root),
                              course.grading.similarity_threshold, out)
        if gradebook or csv or report:
            unwritten = publish(overrides.load_decided(out, course), course=course, assignment_name=assignment_name,
                                gradebook=gradebook, csv=csv, report=report, results_dir=out)
            for problem in unwritten:
                print(f"course grade: {problem}", file=sys.stderr)
            problems += unwritten
        return 2 if any(p.startswith(CANNOT_WRITE) for p in problems) else 1 if problems else 0
    except KeyboardInterrupt:
        print("course grade: interrupted; finished results are kept, run the same command again to resume",
              file=sys.stderr)
        return 130
