"""`course demo`: grade a course's demo class end to end and show the gradebook and the class report.

The class is the course's (grading_tests/catalog/demo_class.py: its STUDENTS, and the students of one notebook
assignment for the nbgrader leg), generated at run time from the course's solutions/ (never a kept copy of
solution code): each student is the reference, the template or a bug catalog entry, with a small text edit.
"""

from __future__ import annotations

import argparse
import functools
import runpy
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder import config, markers
from autograder.frontends import options
from autograder.outcome.results import load_results

Files = dict[str, str]  # a submission: path in it -> text


class DemoError(RuntimeError):
    """The reference changed so that a demo student's edit no longer applies."""


def reference(course: config.Course) -> Files:
    """The module assignment's student files as the reference has them, markers stripped."""
    _, assignment = course.assignment()
    return {f: markers.strip_markers((course.solutions / f).read_text(encoding="utf-8"))
            for f in assignment.student_files}


def template(course: config.Course) -> Files:
    """What a student who never started hands in: the generated stubs."""
    _, assignment = course.assignment()
    return {f: markers.stub((course.solutions / f).read_text(encoding="utf-8"), name=f)
            for f in assignment.student_files}


def replace_once(files: Files, file: str, old: str, new: str) -> Files:
    if files[file].count(old) != 1:
        raise DemoError(f"demo: {old!r} is not exactly once in {file}; update the course's demo class")
    return {**files, file: files[file].replace(old, new)}


def edit(file: str, old: str, new: str) -> Callable[[Files], Files]:
    return lambda files: replace_once(files, file, old, new)


def prepend(file: str, code: str) -> Callable[[Files], Files]:
    return lambda files: {**files, file: code + files[file]}


def from_catalog(entry_id: str) -> Callable[[config.Course], Files]:
    """The reference with a bug catalog entry applied (the catalog `course validate` checks)."""
    def make(course: config.Course) -> Files:
        from autograder.frontends import validate

        correct, bugs = validate.load_catalog(course.catalog)
        entry = next((e for e in correct + bugs if e.id == entry_id), None)
        if entry is None:
            raise DemoError(f"demo: no entry {entry_id!r} in {course.catalog}; update the course's demo class")
        try:
            sources = validate.patched_sources(entry.patches, entry.id, course)
        except validate.CatalogError as exc:
            raise DemoError(f"demo: {exc}") from None
        return {f: sources[f] for f in course.assignment()[1].student_files}
    return make


@dataclass(frozen=True)
class Student:
    name: str
    kind: str  # correct, bug, unstarted, hostile
    story: str
    make: Callable[[Files], Files] | None = None  # None: the start as is
    start: Callable[[config.Course], Files] = reference
    omit: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoClass:
    students: tuple[Student, ...]
    # The nbgrader leg: one notebook assignment, student -> (story, edit of each answer cell's code; None: the
    # release notebook untouched).
    notebook_assignment: str | None = None
    notebook_students: dict[str, tuple[str, Callable[[str], str] | None]] = field(default_factory=dict)


def demo_class(course: config.Course | None = None) -> DemoClass:
    """The course's demo class (default: the course found from here)."""
    return _read_class((course or config.load()).demo_class)


@functools.cache
def _read_class(path: Path) -> DemoClass:
    if not path.is_file():
        raise DemoError(f"demo: the course has no demo class ({path})")
    found = runpy.run_path(str(path))
    return DemoClass(tuple(found["STUDENTS"]), found.get("NOTEBOOK_ASSIGNMENT"),
                     dict(found.get("NOTEBOOK_STUDENTS", {})))


def student_files(student: Student, course: config.Course | None = None) -> Files:
    files = student.start(course or config.load())
    if student.make is not None:
        files = student.make(files)
    return {f: text for f, text in files.items() if f not in student.omit}


def write_student(student: Student, directory: Path, name: str | None = None,
                  course: config.Course | None = None) -> Path:
    """The student's folder as they would hand it in: their files, and the reference's package __init__.py files."""
    course = course or config.load()
    folder = directory / (name or student.name)
    for relative, text in {**_package_inits(course), **student_files(student, course)}.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text, encoding="utf-8")
    return folder


def _package_inits(course: config.Course) -> Files:
    """An empty __init__.py for each folder of the student files that is a package in the reference."""
    folders = {PurePosixPath(file).parent for file in course.assignment()[1].student_files}
    return {(folder / "__init__.py").as_posix(): "" for folder in sorted(folders)
            if folder != PurePosixPath(".") and (course.solutions / folder / "__init__.py").is_file()}


def generate_class(directory: Path, count: int | None = None, kinds: tuple[str, ...] = (),
                   course: config.Course | None = None) -> list[Path]:
    """Write the demo students (or `count` of them, cycling, named s0001-ada ...) into directory."""
    course = course or config.load()
    students = [s for s in demo_class(course).students if not kinds or s.kind in kinds]
    if count is None:
        return [write_student(s, directory, course=course) for s in students]
    return [write_student(students[i % len(students)], directory, f"s{i + 1:04d}-{students[i % len(students)].name}",
                          course) for i in range(count)]


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def notebook_submission(release: Path, source: Path, edit) -> object:
    """The release notebook answered from the source notebook's solutions (markers dropped), edited."""
    import nbformat

    nb = nbformat.read(release, 4)
    if edit is None:
        return nb
    answers = {_grade_id(c): markers.strip_markers(c.source) for c in nbformat.read(source, 4).cells}
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell.source = edit(answers[_grade_id(cell)])
    return nb


def nbgrader_leg(out: Path, console, config_path: Path | None) -> int:
    """generate_assignment, three submissions, `nbgrader autograde` (sandboxed kernels, trusted scores),
    and `course grade` of the same notebooks: the two gradebooks side by side."""
    import subprocess

    import nbformat
    from rich.table import Table

    from autograder import entry_points
    from autograder.frontends import grade

    course = config.load(config_path)
    chosen = demo_class(course)
    assignment, students = chosen.notebook_assignment, chosen.notebook_students
    if assignment is None:
        return 0
    root = out / "nbgrader"
    shutil.rmtree(root, ignore_errors=True)
    (root / "source").mkdir(parents=True)
    shutil.copy(course.root / "assignments" / "nbgrader_config.py", root)
    shutil.copytree(course.root / "assignments" / "source" / assignment, root / "source" / assignment)
    env = {**entry_points.environment(), "COURSE_CELL_TIMEOUT": "30"}  # nbgrader's gradebook runs `alembic`
    env.pop("NBGRADER_DB_URL", None)

    def nbgrader(*args: str) -> bool:
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env, capture_output=True,
                              text=True, timeout=900)
        if done.returncode != 0:
            console.print(f"[red]nbgrader {args[0]} failed[/]:\n{done.stderr[-2000:]}")
        return done.returncode == 0

    if not nbgrader("generate_assignment", assignment):
        return 1
    release = root / "release" / assignment / f"{assignment}.ipynb"
    source = root / "source" / assignment / f"{assignment}.ipynb"
    for student, (_, edit) in students.items():
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(notebook_submission(release, source, edit), folder / f"{assignment}.ipynb")
    console.print(f"[bold]nbgrader[/]: autograding {len(students)} notebooks of {assignment!r}")
    if not nbgrader("autograde", assignment):
        return 1
    code = grade.main(submissions=[root / "submitted"], out=out / "nbgrader-results", assignment=assignment,
                      config_path=config_path, quiet=True)
    ours = {r.submission: r.score for r in load_results(out / "nbgrader-results")}
    from nbgrader.api import Gradebook

    grid = Table(title=f"nbgrader autograde vs course grade: {assignment} notebooks")
    for column in ("student", "handed in", "nbgrader gradebook", "course grade"):
        grid.add_column(column)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student, (story, _) in students.items():
            submission = gb.find_submission(assignment, student)
            grid.add_row(student, story, f"{submission.score:g}/{submission.max_score:g}",
                         f"{ours.get(student, float('nan')):g}")
    console.print(grid)
    return code


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="output folder (default: demo_out/ beside course.yml)")
    parser.add_argument("--jobs", "-j", type=int, help="grading processes (default: the cores)")
    parser.add_argument("--force", action="store_true", help="regrade students graded by an earlier run")
    options.add_sandbox_option(parser)
    parser.add_argument("--no-nbgrader", action="store_true", help="skip grading notebooks with nbgrader")
    options.add_course_options(parser, assignment=False)


def main(*, out: Path | None = None, jobs: int | None = None, force: bool = False, sandbox: str | None = None,
         nbgrader: bool = True, config_path: Path | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    from autograder.frontends import grade
    from autograder.render import gradebook

    console = Console()
    course = config.load(config_path)
    out = out or course.root / "demo_out"
    assignment_name, _ = course.assignment(None)
    submissions = out / "class"
    shutil.rmtree(submissions, ignore_errors=True)
    students = demo_class(course).students
    generate_class(submissions, course=course)
    console.print(f"[bold]demo class[/]: {len(students)} students generated from solutions/ in {submissions}")
    results_dir, database, scores, report = out / "results", out / "gradebook.db", out / "scores.csv", out / "report"
    code = grade.main(submissions=[submissions], out=results_dir, config_path=config_path, jobs=jobs, force=force,
                      sandbox=sandbox, gradebook=str(database), csv=scores, report=report)
    if code not in (0, 1):
        return code
    results = [r for r in load_results(results_dir) if r.submission in {s.name for s in students}]
    stories = Table(title="who is who")
    for column in ("student", "kind", "what they handed in"):
        stories.add_column(column)
    for student in students:
        stories.add_row(student.name, student.kind, student.story)
    console.print(stories)
    book = gradebook.read_gradebook(gradebook.database_url(database), assignment_name)
    book = {name: row for name, row in book.items() if name in {s.name for s in students}}
    console.print(gradebook.table(book, course, assignment_name, {r.submission: r.flags for r in results}))
    console.print(f"gradebook (nbgrader): {database}\nscores: {scores}\nclass report: {report / 'index.html'}")
    if nbgrader:
        code = max(code, nbgrader_leg(out, console, config_path))
    return code


def run(args: argparse.Namespace) -> int:
    try:
        return main(out=args.out, jobs=args.jobs, force=args.force, sandbox=args.sandbox,
                    nbgrader=not args.no_nbgrader, config_path=args.config)
    except DemoError as exc:
        print(exc, file=sys.stderr)
        return 2
