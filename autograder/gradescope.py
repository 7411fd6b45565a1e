"""`course gradescope`: Gradescope's autograder package for one assignment, and what runs inside it.

Build, on the instructor's machine: `course gradescope --assignment NAME --out autograder.zip` zips
setup.sh and run_autograder (autograder/gradescope_files/), the grader (autograder/), the
assignment's hidden suite, the reference files its grading reads, a course.yml holding only this
assignment and requirements.txt (the grading dependencies pinned to the versions installed here).

Run, inside Gradescope's container, as root: run_autograder starts `python -m autograder.gradescope
run`, which maps /autograder/submission/ onto the assignment's student files, grades them with
`autograder.grade.grade` (the same pipeline and sandbox as `course grade`) and writes
/autograder/results/results.json atomically. Student code runs only in the sandboxed worker;
this process alone writes the results. AUTOGRADER_ROOT replaces /autograder, COURSE_SANDBOX
(bwrap or process) forces a sandbox. docs/gradescope.md has the details.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib.metadata
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Iterable
from pathlib import Path

import yaml

from autograder import REPO_ROOT, config
from autograder.results import PartResult, Results

PACKAGE_FILES = Path(__file__).resolve().parent / "gradescope_files"
ROOT_ENV, SANDBOX_ENV = "AUTOGRADER_ROOT", "COURSE_SANDBOX"
DEFAULT_ROOT = Path("/autograder")
# What grading imports besides the standard library (tests/test_gradescope.py checks the list);
# nbformat only for notebook assignments, torch only for suites that compute expectations with it;
# graphviz draws failing graphs (autograder/pictures.py), Jinja2 renders the html results format.
GRADING_DISTRIBUTIONS = ("pydantic", "PyYAML", "pytest", "hypothesis", "rich", "graphviz", "Jinja2")
TORCH = ("torch", "numpy")  # torch uses numpy when it is there, as it is where the course was tested
ZIP_DATE = (2026, 1, 1, 0, 0, 0)  # every member's timestamp: the same course gives the same zip
MAX_UPLOAD_FILES = 2_000
MAX_UPLOAD_BYTES = 64 << 20  # uncompressed, for an uploaded zip
JUNK = ("__MACOSX", ".DS_Store", "__pycache__", ".ipynb_checkpoints")
# A notebook recipe's `# include: <file under solutions/> <name>` (autograder/notebooks.py).
_INCLUDE = re.compile(r"^\s*# include: (\S+) \w+\s*$", re.MULTILINE)


# == build ======================================================================================
def _imports_torch(suite: Path) -> bool:
    for path in suite.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            if any(name.partition(".")[0] == "torch" for name in names):
                return True
    return False


def pinned_requirements(roots: Iterable[str]) -> list[str]:
    """`name==version` for `roots` and everything they require, as installed here (the versions
    this course was tested with); local version labels (torch's `+cpu`) are dropped."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    pins: dict[str, str] = {}
    todo = [(root, frozenset()) for root in roots]
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        if key in pins and not extras:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise config.ConfigError(f"grading needs the Python package {name!r}, which is not installed here; "
                                     "install this course's dependencies first (make test)") from None
        pins[key] = f"{dist.metadata['Name']}=={Version(dist.version).public}"
        for text in dist.requires or []:
            requirement = Requirement(text)
            wanted = requirement.marker is None or any(
                requirement.marker.evaluate({"extra": extra}) for extra in ["", *extras])
            if wanted:
                todo.append((requirement.name, frozenset(requirement.extras)))
    return sorted(pins.values(), key=str.lower)


def _tree(folder: Path, under: str) -> dict[str, Path]:
    return {f"{under}/{p.relative_to(folder).as_posix()}": p for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def _recipe(assignment_name: str) -> Path:
    return REPO_ROOT / "assignments" / "recipes" / f"{assignment_name}.py"


def _reference_files(assignment_name: str, assignment: config.Assignment, course: config.Course) -> list[str]:
    """The files under solutions/ that grading reads: a notebook recipe's includes; for a module
    assignment graded with isolated parts, the reference of each student file (it stands in for
    the student's other parts). Root-only in the container, like the hidden suite."""
    if assignment.kind == "notebook":
        recipe = _recipe(assignment_name)
        if not recipe.is_file():
            raise config.ConfigError(f"notebook assignment {assignment_name!r} has no recipe at {recipe}")
        return sorted(set(_INCLUDE.findall(recipe.read_text(encoding="utf-8"))))
    if course.grading.isolate_parts:
        return [f for f in assignment.student_files if (REPO_ROOT / "solutions" / f).is_file()]
    return []


def package_files(course: config.Course, assignment_name: str | None = None) -> dict[str, tuple[bytes, int]]:
    """Every member of the autograder zip: path -> (bytes, file mode)."""
    name, assignment = course.assignment(assignment_name)
    suite = (REPO_ROOT / assignment.suite).resolve()
    if not suite.is_dir():
        raise config.ConfigError(f"the hidden suite {suite} of assignment {name!r} does not exist")
    roots = [*GRADING_DISTRIBUTIONS, *(["nbformat"] if assignment.kind == "notebook" else []),
             *(TORCH if _imports_torch(suite) else ())]
    shipped = course.model_copy(update={"assignments": {
        name: assignment.model_copy(update={"suite": f"grading_tests/{suite.name}"})}})
    text = {
        "course.yml": "# Generated by `course gradescope` from the course's course.yml: this assignment only.\n"
                      + yaml.safe_dump(shipped.model_dump(mode="json"), sort_keys=False, allow_unicode=True),
        "requirements.txt": "# Generated by `course gradescope`: what grading imports, pinned to the tested versions.\n"
                            + "".join(f"{pin}\n" for pin in pinned_requirements(roots)),
    }
    paths = {**_tree(REPO_ROOT / "autograder", "autograder"), **_tree(suite, f"grading_tests/{suite.name}")}
    if (suite.parent / "pytest.ini").is_file():
        paths["grading_tests/pytest.ini"] = suite.parent / "pytest.ini"
    if assignment.kind == "notebook":
        paths[f"assignments/recipes/{name}.py"] = _recipe(name)
    for relative in _reference_files(name, assignment, course):
        paths[f"solutions/{relative}"] = REPO_ROOT / "solutions" / relative
    files = {member: (path.read_bytes(), 0o644) for member, path in paths.items()}
    files.update({member: (data.encode("utf-8"), 0o644) for member, data in text.items()})
    for script in ("setup.sh", "run_autograder"):
        files[script] = ((PACKAGE_FILES / script).read_bytes(), 0o755)
    return files


def write_zip(files: dict[str, tuple[bytes, int]], out: Path) -> None:
    """A reproducible zip (fixed timestamps, sorted members), written atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in sorted(files):
            data, mode = files[member]
            info = zipfile.ZipInfo(member, ZIP_DATE)
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    os.replace(temporary, out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--assignment", help="assignment in course.yml (default: the first)")
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"), help="the zip to write")
    parser.add_argument("--config", type=Path, default=config.DEFAULT_PATH, help="course.yml to use")


def run(args: argparse.Namespace) -> int:
    course = config.load(args.config)
    name, _ = course.assignment(args.assignment)
    files = package_files(course, name)
    write_zip(files, args.out)
    print(f"course gradescope: wrote {args.out} ({len(files)} files) for assignment {name!r}; upload it as "
          "the assignment's autograder on an Ubuntu 22.04 or 24.04 base image (docs/gradescope.md)",
          file=sys.stderr)
    return 0


# == inside the container: the submission ========================================================
class UploadError(Exception):
    """The upload holds nothing this assignment can grade; the message tells the student what to upload."""


def _uploaded_files(folder: Path) -> list[Path]:
    """Regular files under `folder`, relative to it; symlinks, junk and hidden files are ignored."""
    found = []
    for directory, subdirectories, names in os.walk(folder):  # never follows links to folders
        subdirectories[:] = sorted(d for d in subdirectories if d not in JUNK and not d.startswith("."))
        for name in sorted(names):
            path = Path(directory, name)
            if name in JUNK or name.startswith(".") or not stat.S_ISREG(path.lstat().st_mode):
                continue
            found.append(path.relative_to(folder))
            if len(found) > MAX_UPLOAD_FILES:
                raise UploadError(f"The upload holds more than {MAX_UPLOAD_FILES} files; upload only your code.")
    return found


def _unzip(archive: Path, into: Path) -> None:
    """zipfile strips absolute paths and '..' and writes links as plain files; bound the size first."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_UPLOAD_FILES or sum(m.file_size for m in members) > MAX_UPLOAD_BYTES:
                raise UploadError(f"{archive.name} is too large (at most {MAX_UPLOAD_FILES} files and "
                                  f"{MAX_UPLOAD_BYTES >> 20} MB uncompressed).")
            zf.extractall(into)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UploadError(f"{archive.name} is not a readable zip file ({exc}).") from None


def _expected_upload(assignment_name: str, assignment: config.Assignment) -> str:
    files = " and ".join(f"`{f}`" for f in assignment.student_files)
    flat = " and ".join(f"`{Path(f).name}`" for f in assignment.student_files)
    notebook = f"your notebook `{assignment_name}.ipynb`, " if assignment.kind == "notebook" else ""
    return f"Upload {notebook}{files} (as in the starter code), just {flat}, or one zip of them."


def _pick(files: list[Path], relative: str) -> Path | None:
    """The upload's file for a student file: at its place in the template layout (also inside one
    folder, as when a folder is zipped), else a file of the same name, the least deeply nested."""
    placed = [f for f in files if f.as_posix() == relative or f.as_posix().endswith("/" + relative)]
    named = [f for f in files if f.name == Path(relative).name]
    candidates = placed or named
    return min(candidates, key=lambda f: (len(f.parts), f.as_posix())) if candidates else None


def _from_notebook(notebook: Path, into: Path, assignment_name: str) -> list[str]:
    """Write the code the notebook's answer cells export (autograder.notebooks); return notes for the student."""
    import nbformat

    from autograder import notebooks

    recipe = notebooks.load_recipe(assignment_name)
    notes = []
    try:
        nb = notebooks.read_notebook(notebook)
    except Exception:  # a student's file: whatever is wrong with it, it is graded as empty
        notes.append(f"{notebook.name} is not a readable notebook, so it was graded as empty.")
        nb = nbformat.v4.new_notebook()
    missing = notebooks.missing_cells(nb, recipe)
    if missing and not notes:
        notes.append(f"{notebook.name} lacks the answer cells {', '.join(missing)}; the tests that need them fail.")
    notebooks.write_submission(notebooks.extract(nb, recipe), into)
    return notes


def collect(upload: Path, into: Path, assignment_name: str, assignment: config.Assignment) -> list[str]:
    """Write the upload's student files into `into` in the template layout; return notes for the student.
    Raises UploadError when the upload holds none of them."""
    files = _uploaded_files(upload)
    if len(files) == 1 and files[0].suffix.lower() == ".zip":
        unzipped = into.parent / f"{into.name}-unzipped"
        _unzip(upload / files[0], unzipped)
        upload, files = unzipped, _uploaded_files(unzipped)
    into.mkdir(parents=True)
    notebooks = [f for f in files if f.suffix == ".ipynb"]
    if assignment.kind == "notebook" and notebooks:
        chosen = min(notebooks, key=lambda f: (f.name != f"{assignment_name}.ipynb", len(f.parts), f.as_posix()))
        notes = _from_notebook(upload / chosen, into, assignment_name)
        if len(notebooks) > 1:
            notes.append(f"Several notebooks were uploaded; {chosen.as_posix()} was graded.")
        return notes
    picked = {relative: _pick(files, relative) for relative in assignment.student_files}
    if not any(picked.values()):
        shown = ", ".join(f.as_posix() for f in files[:10]) + (", ..." if len(files) > 10 else "")
        raise UploadError(f"None of this assignment's files was found in your upload "
                          f"({shown or 'it is empty'}). {_expected_upload(assignment_name, assignment)}")
    for relative, found in picked.items():
        if found is not None:
            (into / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(upload / found, into / relative, follow_symlinks=False)
    return []


def read_metadata(path: Path) -> dict:
    """submission_metadata.json, or {} when it is missing or malformed (never an error)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def submission_label(metadata: dict) -> str:
    """A file-safe name for the submission: its submitters' names, else its id, else 'submission'."""
    users = metadata.get("users")
    names = [u.get("name") for u in users if isinstance(u, dict)] if isinstance(users, list) else []
    text = "+".join(n for n in names if isinstance(n, str) and n.strip()) or str(metadata.get("id") or "")
    return re.sub(r"[^A-Za-z0-9+._-]+", "_", text).strip("._-")[:80] or "submission"


# == inside the container: sandbox and results ===================================================
def choose_sandbox(forced: str | None, limits) -> tuple[str, str]:
    """bwrap where a worker really starts in it here, else the process sandbox; and why."""
    from autograder.sandbox import SandboxUnavailable, Worker

    if forced:
        return forced, f"chosen by {SANDBOX_ENV}"
    if shutil.which("bwrap") is None:
        return "process", "bubblewrap is not installed"
    probe = Path(tempfile.mkdtemp(prefix="course-probe-"))
    try:
        with Worker(probe, limits, sandbox="bwrap") as worker:
            worker.call("api", names=[])  # any reply, even an error, means the worker started
    except SandboxUnavailable as exc:
        return "process", f"bubblewrap cannot run in this container ({exc})"
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return "bwrap", "bubblewrap works in this container"


SANDBOX_WORDS = {
    "bwrap": "Your code ran in a bubblewrap sandbox: no network, none of the grader's files, a user of its own.",
    "process": "Your code ran as a user of its own that can read none of the grader's files.",
}
GRADER_ERROR = ("The autograder could not grade this submission (a problem on the course's side, not in "
                "your code). Your instructor can see why.")
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")


def markdown_text(text: str) -> str:
    """Plain text as Markdown that shows exactly that text (`__add__` must not turn bold)."""
    return "  \n".join(_MARKDOWN_PUNCTUATION.sub(r"\\\1", line) for line in text.split("\n"))


def _code_block(text: str) -> str:
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}text\n{text}\n{fence}"


def _summary(results: Results, assignment: config.Assignment, sandbox: str | None) -> str:
    """The submission-level output students see (Markdown): messages, visible parts, their own output."""
    blocks = [markdown_text(message) for message in results.messages]
    shown = [p for p in results.parts if assignment.parts[p.name].visibility == "visible"]
    if shown and results.tests:
        blocks.append("\n".join(["| Part | Points |", "| --- | ---: |"] + [
            f"| {markdown_text(p.title)} | {p.score:g}/{p.max_score:g} |" for p in shown]))
    if results.output_excerpt:
        blocks.append("Your code printed (the beginning):\n\n" + _code_block(results.output_excerpt))
    if sandbox:
        blocks.append(markdown_text(SANDBOX_WORDS[sandbox]))
    return "\n\n".join(blocks)


def gradescope_json(results: Results, assignment: config.Assignment, *, sandbox: str | None,
                    seconds: float) -> dict:
    """results.json: Results.to_gradescope() with Markdown output, stdout hidden from students."""
    data = results.to_gradescope()
    for test in data["tests"]:
        test["output"] = markdown_text(test["output"])
    data.update(output=_summary(results, assignment, sandbox), output_format="md", test_output_format="md",
                stdout_visibility="hidden", execution_time=round(seconds))
    data["extra_data"]["sandbox"] = sandbox
    return data


def _ungraded(label: str, name: str, assignment: config.Assignment, message: str, flag: str) -> Results:
    parts = tuple(PartResult(p, part.title, 0.0, part.points) for p, part in assignment.parts.items())
    return Results(submission=label, assignment=name, tests=(), parts=parts, flags=(flag,), messages=(message,))


def write_results(data: dict, path: Path) -> None:
    """Atomically: a new file in the results folder (root only), then renamed over results.json."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".results-")
    with os.fdopen(descriptor, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def _close_to_students(root: Path) -> None:
    """Whatever the sandboxed user could otherwise read: the grader and hidden suite, the results
    folder (stdout there may hold the grader's logs) and the metadata (names, earlier results)."""
    (root / "results").mkdir(parents=True, exist_ok=True)
    for folder in (root / "source", root / "results"):
        os.chmod(folder, 0o700)
    metadata = root / "submission_metadata.json"
    if metadata.is_file() and not metadata.is_symlink():
        os.chmod(metadata, 0o600)


def run_autograder(root: Path, forced_sandbox: str | None = None) -> int:
    """Grade /autograder/submission and write /autograder/results/results.json; always 0 once written."""
    from autograder.grade import grade
    from autograder.sandbox import Limits

    started = time.monotonic()
    _close_to_students(root)
    try:
        course = config.load()
    except config.ConfigError as exc:  # the package itself is broken: say so, still write results
        print(exc)
        write_results({"score": 0.0, "output": GRADER_ERROR, "output_format": "md", "stdout_visibility": "hidden",
                       "tests": []}, root / "results" / "results.json")
        return 0
    name, assignment = course.assignment()
    label = submission_label(read_metadata(root / "submission_metadata.json"))
    limits = Limits(course.grading.time_limit_seconds, course.grading.memory_limit_mb,
                    tuple(course.grading.forbidden_imports))
    workspace = Path(tempfile.mkdtemp(prefix="course-gradescope-"))
    sandbox = None
    try:
        notes = collect(root / "submission", workspace / label, name, assignment)
        sandbox, why = choose_sandbox(forced_sandbox, limits)
        print(f"sandbox: {sandbox} ({why})")
        results = grade([workspace / label], assignment_name=name, course=course, sandbox=sandbox)[0]
        results = dataclasses.replace(results, messages=(*notes, *results.messages))
    except UploadError as exc:
        results = _ungraded(label, name, assignment, str(exc), "unrecognised_upload")
    except Exception:  # the grader's own failure: details for the instructor (stdout), a notice for the student
        traceback.print_exc(file=sys.stdout)
        results = _ungraded(label, name, assignment, GRADER_ERROR, "grader_error")
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    write_results(gradescope_json(results, assignment, sandbox=sandbox, seconds=time.monotonic() - started),
                  root / "results" / "results.json")
    print(f"{results.submission}: {results.score:g}/{results.max_score:g}")
    return 0


def check(root: Path) -> int:
    """setup.sh's last step: the grader imports from the package, the course and suite load."""
    course = config.load()
    name, assignment = course.assignment()
    problems = []
    if REPO_ROOT != (root / "source").resolve():
        problems.append(f"the grader was imported from {REPO_ROOT}, not from {root / 'source'}")
    if not (REPO_ROOT / assignment.suite).is_dir():
        problems.append(f"the hidden suite {assignment.suite} is missing")
    for problem in problems:
        print(f"setup check: {problem}", file=sys.stderr)
    print(f"setup check: assignment {name!r}, bwrap {'found' if shutil.which('bwrap') else 'missing'}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope",
                                     description="Inside Gradescope's container (run_autograder, setup.sh).")
    parser.add_argument("action", choices=("run", "check"))
    args = parser.parse_args(argv)
    root = Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)
    if args.action == "check":
        return check(root)
    forced = os.environ.get(SANDBOX_ENV) or None
    if forced not in (None, "bwrap", "process"):
        print(f"{SANDBOX_ENV} must be bwrap or process, not {forced!r}; choosing automatically", file=sys.stderr)
        forced = None
    return run_autograder(root, forced)


if __name__ == "__main__":
    sys.exit(main())
