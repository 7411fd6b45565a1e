"""`course demo`: grade a generated class end to end and show the gradebook and the class report.

The class is generated at run time from solutions/ (never a kept copy of solution code): correct
students (the reference, and a correct variant from the bug catalog), students with classic bugs
(entries of the bug catalog, grading_tests/catalog/catalog.py, applied to the reference),
students who never started (the student template) and hostile students (sys.exit at import, an
infinite loop in one _backward, reading files they should not, torch, forging the grader's
reply channel), each a small text edit of the reference.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder import commands, config, markers
from autograder.results import load_results

FILES = ("micrograd/engine.py", "micrograd/nn.py")
Files = dict[str, str]


class DemoError(RuntimeError):
    """The reference changed so that a demo student's edit no longer applies."""


def solutions() -> Path:
    """The demo's course is the one found from here (config.default_path): its solutions/."""
    return config.default_path().parent / "solutions"


def reference() -> Files:
    """The reference solution as students would write it: markers stripped."""
    return {f: markers.strip_markers((solutions() / f).read_text(encoding="utf-8")) for f in FILES}


def template() -> Files:
    """What a student who never started hands in: the generated stubs."""
    return {f: markers.stub((solutions() / f).read_text(encoding="utf-8"), name=f) for f in FILES}


def replace_once(files: Files, file: str, old: str, new: str) -> Files:
    if files[file].count(old) != 1:
        raise DemoError(f"demo: {old!r} is not exactly once in {file}; update autograder/demo.py")
    return {**files, file: files[file].replace(old, new)}


def edit(file: str, old: str, new: str) -> Callable[[Files], Files]:
    return lambda files: replace_once(files, file, old, new)


def from_catalog(entry_id: str) -> Callable[[], Files]:
    """The reference with a bug catalog entry applied (the catalog `course validate` checks)."""
    def make() -> Files:
        from autograder import validate

        catalog = solutions().parent / validate.CATALOG
        correct, bugs = validate.load_catalog(catalog)
        entry = next((e for e in correct + bugs if e.id == entry_id), None)
        if entry is None:
            raise DemoError(f"demo: no entry {entry_id!r} in {catalog}; update autograder/demo.py")
        try:
            sources = validate.patched_sources(entry.patches, entry.id, solutions())
        except validate.CatalogError as exc:
            raise DemoError(f"demo: {exc}") from None
        return {f: sources[f.split("/")[-1]] for f in FILES}
    return make


def prepend(file: str, code: str) -> Callable[[Files], Files]:
    return lambda files: {**files, file: code + files[file]}


ENGINE, NN = FILES
GRADING_TESTS = config.default_path().parent / "grading_tests"  # where the found course keeps its hidden suites
SNOOP = f'''import os

# "Let's see what the grader has lying around."
for _path in ("/etc/passwd", {str(GRADING_TESTS)!r}, os.path.expanduser("~/.ssh"), "/proc/1/environ"):
    try:
        print(_path, os.listdir(_path) if os.path.isdir(_path) else open(_path).read(80))
    except OSError as _error:
        print(_path, "->", type(_error).__name__)
'''
FORGE = '''import os
import sys

# Write a made-up "all correct" reply straight into the grader's reply channel.
try:
    os.write(int(sys.argv[1]), b'{"id": 1, "ok": true, "value": {"data": [1.0], "grad": [1.0], "prev": [[]]}}\\n')
except (IndexError, ValueError, OSError):
    pass
'''


@dataclass(frozen=True)
class Student:
    name: str
    kind: str  # correct, bug, unstarted, hostile
    story: str
    make: Callable[[Files], Files] | None = None  # None: the reference as is
    start: Callable[[], Files] = reference
    omit: tuple[str, ...] = ()


STUDENTS = (
    Student("ada", "correct", "the reference solution"),
    Student("grace", "correct", "correct, with debugging prints left in",
            prepend(ENGINE, 'print("engine loaded, debugging is on")\n')),
    Student("linus", "bug", "the lecture's recursive topological sort (too deep for it: a 10,000-node chain)",
            start=from_catalog("lecture-recursive-sort")),
    Student("alan", "bug", "overwrites gradients in __add__ (a + a loses half)", start=from_catalog("add-overwrite")),
    Student("barbara", "bug", "__mul__ scales by its own data, not the other input's",
            start=from_catalog("mul-swapped")),
    Student("claude", "bug", "tanh derivative from the input instead of the output",
            start=from_catalog("tanh-derivative-from-input")),
    Student("dennis", "bug", "calls _backward in topological order, not reversed",
            start=from_catalog("order-not-reversed")),
    Student("edsger", "bug", "power rule off by one (n * x**n)", start=from_catalog("pow-off-by-one")),
    Student("frances", "bug", "relu's mask is always open", start=from_catalog("relu-mask-always-open")),
    Student("hedy", "bug", "zero_grad compares instead of assigning", start=from_catalog("zero-grad-noop")),
    Student("john", "bug", "Neuron.parameters() forgets the bias", start=from_catalog("parameters-without-bias")),
    Student("ken", "bug", "a SyntaxError in engine.py",
            edit(ENGINE, "    def __add__(self, other):", "    def __add__(self, other)")),
    Student("lovelace", "unstarted", "handed in the template untouched", start=template),
    Student("margaret", "unstarted", "handed in engine.py only (nn.py missing)", omit=(NN,)),
    Student("mallory", "hostile", "sys.exit(3) at import", prepend(ENGINE, "import sys\nsys.exit(3)\n")),
    Student("loop", "hostile", "an infinite loop in tanh's _backward",
            edit(ENGINE, "self.grad += (1 - t**2) * out.grad", "while True:\n                pass")),
    Student("snoop", "hostile", "reads /etc/passwd, the hidden tests' folder and the environment at import",
            prepend(ENGINE, SNOOP)),
    Student("torchy", "hostile", "imports torch (forbidden) to get gradients for free",
            prepend(ENGINE, "import torch  # noqa: F401\n")),
    Student("forger", "hostile", "writes a fake reply into the grader's reply channel", prepend(ENGINE, FORGE)),
)


def student_files(student: Student) -> Files:
    files = student.start()
    if student.make is not None:
        files = student.make(files)
    return {f: text for f, text in files.items() if f not in student.omit}


def write_student(student: Student, directory: Path, name: str | None = None) -> Path:
    folder = directory / (name or student.name)
    for relative, text in student_files(student).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text, encoding="utf-8")
    (folder / "micrograd").mkdir(parents=True, exist_ok=True)
    (folder / "micrograd" / "__init__.py").write_text("", encoding="utf-8")
    return folder


def generate_class(directory: Path, count: int | None = None, kinds: tuple[str, ...] = ()) -> list[Path]:
    """Write the demo students (or `count` of them, cycling, named s0001-ada ...) into directory."""
    students = [s for s in STUDENTS if not kinds or s.kind in kinds]
    if count is None:
        return [write_student(s, directory) for s in students]
    return [write_student(students[i % len(students)], directory, f"s{i + 1:04d}-{students[i % len(students)].name}")
            for i in range(count)]


# -- the same kind of class through nbgrader (the notebook course in assignments/) -------------
NOTEBOOK_ASSIGNMENT = "autograd"
NOTEBOOK_STUDENTS = {  # student -> (story, edit of each answer cell's code)
    "ada": ("the reference answers", lambda code: code),
    "alan": ("overwrites gradients in __add__", lambda code: code.replace("self.grad += out.grad\n",
                                                                         "self.grad = out.grad\n", 1)),
    "lovelace": ("the release notebook untouched", None),
}


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

    from autograder import entry_points, grade

    root = out / "nbgrader"
    shutil.rmtree(root, ignore_errors=True)
    (root / "source").mkdir(parents=True)
    course_root = config.load(config_path).root
    shutil.copy(course_root / "assignments" / "nbgrader_config.py", root)
    shutil.copytree(course_root / "assignments" / "source" / NOTEBOOK_ASSIGNMENT, root / "source" / NOTEBOOK_ASSIGNMENT)
    env = {**entry_points.environment(), "COURSE_CELL_TIMEOUT": "30"}  # nbgrader's gradebook runs `alembic`
    env.pop("NBGRADER_DB_URL", None)

    def nbgrader(*args: str) -> bool:
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env, capture_output=True,
                              text=True, timeout=900)
        if done.returncode != 0:
            console.print(f"[red]nbgrader {args[0]} failed[/]:\n{done.stderr[-2000:]}")
        return done.returncode == 0

    if not nbgrader("generate_assignment", NOTEBOOK_ASSIGNMENT):
        return 1
    release = root / "release" / NOTEBOOK_ASSIGNMENT / f"{NOTEBOOK_ASSIGNMENT}.ipynb"
    source = root / "source" / NOTEBOOK_ASSIGNMENT / f"{NOTEBOOK_ASSIGNMENT}.ipynb"
    for student, (_, edit) in NOTEBOOK_STUDENTS.items():
        folder = root / "submitted" / student / NOTEBOOK_ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook_submission(release, source, edit), folder / f"{NOTEBOOK_ASSIGNMENT}.ipynb")
    console.print(f"[bold]nbgrader[/]: autograding {len(NOTEBOOK_STUDENTS)} notebooks of {NOTEBOOK_ASSIGNMENT!r}")
    if not nbgrader("autograde", NOTEBOOK_ASSIGNMENT):
        return 1
    code = grade.main(submissions=[root / "submitted"], out=out / "nbgrader-results", assignment=NOTEBOOK_ASSIGNMENT,
                      config_path=config_path, quiet=True)
    ours = {r.submission: r.score for r in load_results(out / "nbgrader-results")}
    from nbgrader.api import Gradebook

    grid = Table(title=f"nbgrader autograde vs course grade: {NOTEBOOK_ASSIGNMENT} notebooks")
    for column in ("student", "handed in", "nbgrader gradebook", "course grade"):
        grid.add_column(column)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student, (story, _) in NOTEBOOK_STUDENTS.items():
            submission = gb.find_submission(NOTEBOOK_ASSIGNMENT, student)
            grid.add_row(student, story, f"{submission.score:g}/{submission.max_score:g}",
                         f"{ours.get(student, float('nan')):g}")
    console.print(grid)
    return code


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="output folder (default: demo_out/ beside course.yml)")
    parser.add_argument("--jobs", "-j", type=int, help="grading processes (default: the cores)")
    parser.add_argument("--force", action="store_true", help="regrade students graded by an earlier run")
    commands.add_sandbox_option(parser)
    parser.add_argument("--no-nbgrader", action="store_true", help="skip grading notebooks with nbgrader")
    commands.add_course_options(parser, assignment=False)


def main(*, out: Path | None = None, jobs: int | None = None, force: bool = False, sandbox: str | None = None,
         nbgrader: bool = True, config_path: Path | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    from autograder import grade, gradebook

    console = Console()
    course = config.load(config_path)
    out = out or course.root / "demo_out"
    assignment_name, _ = course.assignment(None)
    submissions = out / "class"
    shutil.rmtree(submissions, ignore_errors=True)
    generate_class(submissions)
    console.print(f"[bold]demo class[/]: {len(STUDENTS)} students generated from solutions/ in {submissions}")
    results_dir, database, scores, report = out / "results", out / "gradebook.db", out / "scores.csv", out / "report"
    code = grade.main(submissions=[submissions], out=results_dir, config_path=config_path, jobs=jobs, force=force,
                      sandbox=sandbox, gradebook=str(database), csv=scores, report=report)
    if code not in (0, 1):
        return code
    results = [r for r in load_results(results_dir) if r.submission in {s.name for s in STUDENTS}]
    stories = Table(title="who is who")
    for column in ("student", "kind", "what they handed in"):
        stories.add_column(column)
    for student in STUDENTS:
        stories.add_row(student.name, student.kind, student.story)
    console.print(stories)
    book = gradebook.read_gradebook(gradebook.database_url(database), assignment_name)
    book = {name: row for name, row in book.items() if name in {s.name for s in STUDENTS}}
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
