"""Batch grading: many submissions, all cores, resumable, optionally one shard of a class.

1. collect: every input becomes named submissions in the template layout: a template-layout
   directory, a folder of submissions, an nbgrader `submitted/` tree, a notebook (.ipynb) or
   a zip file as an LMS downloads it (folders, notebooks or zips inside, one per student).
2. skip: a submission whose results file already holds the same grading key (its files, the
   hidden suite and course.yml) is finished; `--force` regrades it.
3. grade: up to --jobs fresh processes at a time, each running `grade()` over one chunk of
   submissions in one pytest session (imports, torch and the suite's expectations paid once per
   chunk); every submission still gets its own fresh sandboxed worker, so none sees another's
   state. Each results file is written atomically the moment its submission finishes.
4. publish: the gradebook (nbgrader), CSV and class report are rebuilt from the results files,
   so a rerun or a merge never counts a submission twice.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import math
import multiprocessing
import os
import queue
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

from rich import progress
from rich.console import Console

from autograder import REPO_ROOT, config
from autograder.formats import FORMATS, SUFFIX
from autograder.results import Results

MAX_ZIP_BYTES = 256 << 20  # uncompressed, per zip file
MAX_ZIP_MEMBERS = 20_000
MAX_NESTING = 3  # zips inside zips (an LMS zip of students' own zips)
KEY = "grading_key"


class InputError(Exception):
    """An input cannot be turned into submissions; the message says which and why."""


@dataclass(frozen=True)
class Source:
    name: str
    directory: Path  # template layout; its basename is `name`
    origin: str  # what the user passed, for messages


# -- collect ---------------------------------------------------------------------------------
def safe_name(text: str) -> str:
    """A submission name usable as a file name and a gradebook student id."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")
    return name or "submission"


def _is_template_layout(directory: Path, assignment: config.Assignment) -> bool:
    return any((directory / relative).is_file() or (directory / relative).is_symlink()
               for relative in assignment.student_files) or (directory / "micrograd").is_dir()


def _extract_zip(archive: Path, into: Path) -> None:
    """Extract without trusting the archive: no absolute paths, no '..', no links, bounded size."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise InputError(f"{archive}: more than {MAX_ZIP_MEMBERS} files")
            if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise InputError(f"{archive}: more than {MAX_ZIP_BYTES >> 20} MB uncompressed")
            for member in members:
                parts = Path(member.filename.replace("\\", "/")).parts
                is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
                if is_link or not parts or member.filename.startswith("/") or ".." in parts:
                    continue
                if parts[0] == "__MACOSX" or parts[-1] == ".DS_Store":
                    continue
                target = into.joinpath(*parts)
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{archive}: not a readable zip file ({exc})") from None


def _notebook_to_layout(notebook: Path, into: Path, assignment_name: str) -> None:
    """The submission a notebook makes (autograder.notebooks: its exported cells, template layout)."""
    try:
        from autograder import notebooks
    except ImportError:
        raise InputError(f"{notebook}: notebook submissions need autograder.notebooks, "
                         "which this installation does not have") from None
    try:
        recipe = notebooks.load_recipe(assignment_name)
    except (OSError, ValueError) as exc:
        raise InputError(f"{notebook}: assignment {assignment_name!r} has no notebook ({exc}); "
                         "pass --assignment with a `kind: notebook` assignment") from None
    into.mkdir(parents=True, exist_ok=True)
    try:
        files = notebooks.extract(notebooks.read_notebook(notebook), recipe)
    except (ValueError, UnicodeDecodeError) as exc:
        print(f"course grade: {notebook} is not a readable notebook ({exc}); it is graded as empty",
              file=sys.stderr)
        files = {}
    notebooks.write_submission(files, into)


class Collector:
    """Turns inputs into Sources, materializing zips and notebooks under `workspace`."""

    def __init__(self, assignment_name: str, assignment: config.Assignment, workspace: Path):
        self.assignment_name = assignment_name
        self.assignment = assignment
        self.workspace = workspace
        self.sources: list[Source] = []
        self._count = 0

    def _scratch(self) -> Path:
        self._count += 1
        path = self.workspace / f"in{self._count}"
        path.mkdir(parents=True)
        return path

    def _add(self, name: str, directory: Path, origin: str) -> None:
        name = safe_name(name)
        if directory.name != name:  # grade() names a submission after its folder
            renamed = self._scratch() / name
            renamed.mkdir()
            for relative in self.assignment.student_files:
                origin_file = directory / relative
                # never follow a student's symlink from the trusted process; grade() reports it missing
                if origin_file.is_file() and not origin_file.is_symlink():
                    (renamed / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(origin_file, renamed / relative)
            directory = renamed
        self.sources.append(Source(name, directory, origin))

    def add(self, path: Path, *, name: str | None = None, depth: int = 0) -> None:
        """One input: at depth 0 what the user named, deeper what a folder or zip holds."""
        name = name or (path.stem if path.suffix in (".zip", ".ipynb") else path.resolve().name)
        if path.is_symlink() and depth > 0:
            return
        if path.is_file() and path.suffix == ".ipynb":
            self._add_notebook(name, path, str(path))
        elif path.is_file() and path.suffix == ".zip":
            if depth > MAX_NESTING:
                raise InputError(f"{path}: zip files nested too deeply")
            into = self._scratch()
            _extract_zip(path, into)
            self._add_folder(into, name, str(path), depth + 1, one_submission=True)
        elif path.is_dir():
            if path.name == "submitted" or (path / "submitted").is_dir():
                self._add_nbgrader(path if path.name == "submitted" else path / "submitted")
            else:
                self._add_folder(path, name, str(path), depth + 1, one_submission=depth > 0)
        elif not path.exists():
            raise InputError(f"{path}: no such file or directory")
        elif depth == 0:
            raise InputError(f"{path}: not a submission (a folder, .ipynb or .zip)")

    def _add_notebook(self, name: str, notebook: Path, origin: str) -> None:
        into = self._scratch() / safe_name(name)
        _notebook_to_layout(notebook, into, self.assignment_name)
        self._add(name, into, origin)

    def _add_folder(self, folder: Path, name: str, origin: str, depth: int, one_submission: bool) -> None:
        """A submission, or a folder of them. Inside a zip or a class folder, a folder holding just one
        submission folder or notebook (an LMS's per-student folder) is that student's submission."""
        if _is_template_layout(folder, self.assignment):
            self._add(name, folder, origin)
            return
        children = sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX")
        if one_submission and len(children) == 1:
            only = children[0]
            if only.is_dir() and _is_template_layout(only, self.assignment):
                self._add(name, only, origin)
                return
            if only.is_file() and only.suffix == ".ipynb":
                self._add_notebook(name, only, origin)
                return
        before = len(self.sources)
        for child in children:
            if child.is_dir() or child.suffix in (".zip", ".ipynb"):
                self.add(child, depth=depth)
        if len(self.sources) == before:
            raise InputError(f"{origin}: no submissions found (expected folders in the template layout, "
                             ".ipynb or .zip files)")

    def _add_nbgrader(self, submitted: Path) -> None:
        """nbgrader's submitted/<student>/<assignment>/ (notebooks, or the template layout)."""
        for student in sorted(p for p in submitted.iterdir() if p.is_dir()):
            folder = student / self.assignment_name
            if not folder.is_dir():
                continue
            if _is_template_layout(folder, self.assignment):
                self._add(student.name, folder, str(folder))
                continue
            notebooks = sorted(folder.glob("*.ipynb"))
            if not notebooks:
                raise InputError(f"{folder}: neither the template layout nor a notebook")
            into = self._scratch() / safe_name(student.name)
            for notebook in notebooks:
                _notebook_to_layout(notebook, into, self.assignment_name)
            self._add(student.name, into, str(folder))


def collect(inputs: list[Path], assignment_name: str, assignment: config.Assignment,
            workspace: Path) -> list[Source]:
    """All submissions in `inputs`, sorted by name; duplicate names are an error, never a silent loss."""
    from autograder.grade import submission_names  # the names `course grade` gives folders passed to it

    collector = Collector(assignment_name, assignment, workspace)
    for path, name in zip(inputs, submission_names(inputs), strict=True):
        one = path.is_dir() and _is_template_layout(path, assignment)
        collector.add(path, name=name if one else None)
    by_name: dict[str, Source] = {}
    for source in collector.sources:
        if source.name in by_name:
            raise InputError(f"two submissions are both named {source.name!r}: {by_name[source.name].origin} "
                             f"and {source.origin}; rename one")
        by_name[source.name] = source
    return [by_name[name] for name in sorted(by_name)]


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
def grader_key(course_path: Path, assignment: config.Assignment) -> str:
    """What a result depends on besides the submission: course.yml and the hidden suite."""
    digest = hashlib.sha256(Path(course_path).read_bytes())
    suite = (REPO_ROOT / assignment.suite).resolve()
    for path in sorted(suite.rglob("*.py")):
        digest.update(str(path.relative_to(suite)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def grading_key(source: Source, assignment: config.Assignment, grader: str) -> str:
    digest = hashlib.sha256(grader.encode())
    for relative in assignment.student_files:
        path = source.directory / relative
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else b"<missing>"
        digest.update(relative.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def results_path(out: Path, name: str) -> Path:
    return out / f"{name}.json"


def finished(out: Path, name: str, key: str) -> bool:
    try:
        data = json.loads(results_path(out, name).read_text(encoding="utf-8"))
        return data["extra_data"][KEY] == key
    except (OSError, ValueError, KeyError, TypeError):
        return False


def load_results(folder: Path) -> list[Results]:
    """Every results file in `folder` (sorted by submission); unreadable ones are reported, not used."""
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            found.append(Results.from_gradescope(json.loads(path.read_text(encoding="utf-8"))))
        except (ValueError, KeyError, TypeError) as exc:
            print(f"skipping {path}: not a results file ({exc})", file=sys.stderr)
    return sorted((r for r in found if r.submission), key=lambda r: r.submission)


# -- grade (worker processes) ----------------------------------------------------------------
def _die_with_parent() -> None:
    """Linux: SIGTERM this process when the batch process dies, even by SIGKILL."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _Stopping(KeyboardInterrupt):
    pass


def _work(chunk: list[str], events, settings: dict) -> None:
    """One grading process: one pytest session over one chunk; reports each finished submission."""
    _die_with_parent()
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        raise _Stopping()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the batch process, which stops us
    events.cancel_join_thread()  # never hang at exit on events a dead batch process will not read
    if os.getppid() != settings["parent"]:
        return
    from autograder.grade import grade, write  # imported here: the batch process never needs pytest

    course = config.load(settings["config"])
    out = Path(settings["out"])
    keys = settings["keys"]

    def on_result(result: Results) -> None:
        # pytest tears fixtures down when interrupted: such a result is incomplete, never keep it
        if stopping:
            return
        result = replace(result, extra={**result.extra, KEY: keys[result.submission]})
        write(result, results_path(out, result.submission), "json")
        if settings["format"] != "json":
            write(result, out / f"{result.submission}{SUFFIX[settings['format']]}", settings["format"])
        events.put(("done", result.submission, result.score, result.max_score, list(result.flags)))

    try:
        grade([Path(d) for d in chunk], assignment_name=settings["assignment"], course=course,
              sandbox=settings["sandbox"], on_result=on_result)
    except _Stopping:
        pass
    except Exception:
        if not stopping:  # pytest turns our stop into an interrupted session: not an error
            events.put(("error", chunk, traceback.format_exc()))


def _drain(events) -> list[tuple]:
    found = []
    while True:
        try:
            found.append(events.get(timeout=0.05))
        except queue.Empty:
            return found


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt()


def _chunks(sources: list[Source], jobs: int) -> list[list[Source]]:
    """About two chunks per process slot (so the slots finish together), each large enough that the
    fresh process's start-up (imports, torch, the suite's expectations: a few seconds) is amortized."""
    size = math.ceil(len(sources) / (jobs * 2))
    size = min(64, max(size, min(16, math.ceil(len(sources) / jobs)), 1))
    return [sources[i:i + size] for i in range(0, len(sources), size)]


class _Display:
    """A rich progress bar on a terminal; one line per submission elsewhere (CI logs)."""

    def __init__(self, total: int, skipped: int, quiet: bool):
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
            self.console.print(f"{name}: {score:g}/{max_score:g}{extra}", highlight=False, markup=False)

    def error(self, message: str) -> None:
        self.console.print(message, style="red", highlight=False, markup=False)


def run_pool(sources: list[Source], keys: dict[str, str], *, out: Path, jobs: int, settings: dict,
             skipped: int = 0, quiet: bool = False) -> tuple[set[str], list[str]]:
    """Grade `sources` with up to `jobs` processes at a time; return the names graded and the problems met.

    Every chunk gets a fresh process running one pytest session: a hidden suite may keep state from
    one session to the next (caches, drawn examples), so a submission's grade must not depend on
    which chunks a process graded before it.
    """
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    waiting = [[str(s.directory) for s in chunk] for chunk in _chunks(sources, jobs)]
    settings = {**settings, "out": str(out), "keys": keys, "parent": os.getpid()}
    names_by_dir = {str(s.directory): s.name for s in sources}
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
                else:
                    problems.append(f"could not grade {', '.join(names_by_dir[d] for d in event[1])}:\n{event[2]}")
                    display.error(problems[-1])

            while waiting or running:
                while waiting and len(running) < jobs:
                    chunk = waiting.pop(0)
                    process = context.Process(target=_work, args=(chunk, events, settings), daemon=True)
                    process.start()
                    running[process] = [names_by_dir[d] for d in chunk]
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
            csv: Path | None, report: Path | None, results_dir: Path | None = None) -> None:
    """Gradebook, CSV and report, rebuilt from the results files (so never a duplicate)."""
    if gradebook:
        from autograder import gradebook as nbgradebook

        nbgradebook.write_gradebook(results, nbgradebook.database_url(gradebook), course, assignment_name)
    if csv:
        from autograder import gradebook as nbgradebook

        nbgradebook.write_csv(results, csv, course, assignment_name)
    if report:
        from autograder import report as class_report

        class_report.write_report(results, report, course=course, assignment_name=assignment_name,
                                  results_dir=results_dir)


# -- command ---------------------------------------------------------------------------------
def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `course grade` takes for many submissions (kept here, next to their meaning)."""
    group = parser.add_argument_group("batch grading (several submissions, zips, notebooks, nbgrader trees)")
    group.add_argument("--jobs", "-j", type=int, help=f"grading processes (default: the cores, {default_jobs()})")
    group.add_argument("--force", action="store_true", help="regrade submissions that already have results")
    group.add_argument("--shard", type=parse_shard, metavar="I/N", help="grade only the I-th of N slices")
    group.add_argument("--gradebook", metavar="URL_OR_PATH",
                       help="nbgrader gradebook to fill (SQLAlchemy URL or an SQLite file path)")
    group.add_argument("--csv", type=Path, help="scores table (per part and total)")
    group.add_argument("--report", type=Path, metavar="DIR", help="class report (HTML and PNGs)")
    group.add_argument("--quiet", action="store_true", help="no progress display")


BATCH_OPTIONS = ("jobs", "force", "shard", "gradebook", "csv", "report", "quiet")


def options(args: argparse.Namespace) -> dict:
    return {name: getattr(args, name) for name in BATCH_OPTIONS}


def wanted(inputs: list[Path], out: Path | None, batch_options: dict) -> bool:
    """Batch grading is for --out with several inputs, a zip or notebook, or any batch option."""
    if out is None:
        if any(batch_options.values()):
            raise SystemExit("course grade: batch options (--jobs, --shard, --gradebook ...) need --out DIR")
        return False
    return len(inputs) > 1 or any(p.is_file() for p in inputs) or any(batch_options.values()) \
        or any(p.is_dir() and not _looks_like_one_submission(p) for p in inputs)


def _looks_like_one_submission(path: Path) -> bool:
    return (path / "micrograd").is_dir() or any(path.glob("*.py"))


def main(*, inputs: list[Path], out: Path, format: str = "json", assignment: str | None = None,
         config_path: Path = config.DEFAULT_PATH, sandbox: str | None = None, jobs: int | None = None,
         force: bool = False, shard: tuple[int, int] | None = None, gradebook: str | None = None,
         csv: Path | None = None, report: Path | None = None, quiet: bool = False) -> int:
    course = config.load(config_path)
    assignment_name, assignment_config = course.assignment(assignment)
    if format not in FORMATS:
        raise ValueError(format)
    out.mkdir(parents=True, exist_ok=True)
    for leftover in out.glob(".*.tmp"):  # an atomic write cut short by a kill; its result was not kept
        leftover.unlink()
    workspace = Path(tempfile.mkdtemp(prefix="course-batch-"))
    try:
        try:
            sources = collect(inputs, assignment_name, assignment_config, workspace)
        except InputError as exc:
            print(f"course grade: {exc}", file=sys.stderr)
            return 2
        if shard:
            sources = shard_slice(sources, *shard)
        grader = grader_key(config_path, assignment_config)
        keys = {s.name: grading_key(s, assignment_config, grader) for s in sources}
        todo = [s for s in sources if force or not finished(out, s.name, keys[s.name])]
        skipped = len(sources) - len(todo)
        settings = {"config": str(config_path), "assignment": assignment_name, "sandbox": sandbox,
                    "format": format}
        started = time.monotonic()
        graded: set[str] = set()
        problems: list[str] = []
        if todo:
            graded, problems = run_pool(todo, keys, out=out, jobs=jobs or default_jobs(), settings=settings,
                                        skipped=skipped, quiet=quiet)
        elapsed = time.monotonic() - started
        print(f"course grade: {len(graded)} graded in {elapsed:.1f} s, {skipped} already graded, "
              f"{len(sources)} in total"
              + (f" (shard {shard[0]}/{shard[1]})" if shard else ""), file=sys.stderr)
        if gradebook or csv or report:
            publish(load_results(out), course=course, assignment_name=assignment_name, gradebook=gradebook,
                    csv=csv, report=report, results_dir=out)
        return 1 if problems else 0
    except KeyboardInterrupt:
        print("course grade: interrupted; finished results are kept, run the same command again to resume",
              file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(workspace, ignore_errors=True)

