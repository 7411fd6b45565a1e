"""Inputs -> `Source(name, files)` -> a staged submission: the one way a submission enters the grader.

Every input kind (a folder in the template layout, a folder of them, a zip as an LMS downloads
it, a notebook, an nbgrader `submitted/` tree, a commit read from git by ci-grade, what a student
uploads to Gradescope) becomes a `Source`: a name, and the bytes of the assignment's
`student_files` it holds (nothing else is ever read). `submission_names` is the one naming rule
(`safe_name` its alphabet, also for Gradescope's submitters); `stage` the one step that writes a
Source into the grader's staging area and notes what is wrong with it (read, never run).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from autograder import config
from autograder.results import printable

MAX_FILE_BYTES = 1 << 20
MAX_ZIP_BYTES = 256 << 20  # uncompressed, per zip file
MAX_ZIP_MEMBERS = 20_000
MAX_NESTING = 3  # zips inside zips (an LMS zip of students' own zips)


class InputError(Exception):
    """An input cannot be turned into submissions; the message says which and why."""


@dataclass(frozen=True)
class Source:
    """One submission, read: its name and the student files it holds (path -> bytes)."""

    name: str
    files: Mapping[str, bytes]
    origin: str = ""  # what the user passed, for messages
    notes: tuple[str, ...] = ()  # what reading it found wrong, for the student (e.g. a symlink in git)


# -- names -------------------------------------------------------------------------------------
def safe_name(text: str) -> str:
    """A submission name usable as a file name and a gradebook student id."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")
    return name or "submission"


def _identity(path: Path, assignment_name: str | None) -> tuple[str, ...]:
    """The folders that name an input: a file's own name without suffix, except that a file or
    folder named after the assignment (everyone hands in `autograd.ipynb`; nbgrader's
    submitted/alice/autograd/) is named by the folder holding it."""
    parts = list(path.resolve().parts[1:])
    if parts and path.suffix in (".zip", ".ipynb") and not path.is_dir():
        parts[-1] = Path(parts[-1]).stem
    while len(parts) > 1 and assignment_name is not None and parts[-1] == assignment_name:
        parts.pop()
    return tuple(parts) or ("root",)


def submission_names(paths: list[Path], assignment_name: str | None = None) -> list[str]:
    """One distinct name per input: its own name (see _identity), with as many parent folders as it
    takes to tell apart inputs of the same name (a/alice, b/alice -> a-alice, b-alice), and a
    counter for an input given twice."""
    parts = [_identity(path, assignment_name) for path in paths]
    depth = [1] * len(paths)
    while True:
        names = ["-".join(p[-d:]) for p, d in zip(parts, depth, strict=True)]
        clashing = [i for i, name in enumerate(names) if depth[i] < len(parts[i]) and any(
            other == name and parts[j] != parts[i] for j, other in enumerate(names))]
        if not clashing:
            break
        for i in clashing:
            depth[i] += 1
    seen: dict[str, int] = {}
    unique = []
    for name in map(safe_name, names):
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return unique


# -- reading one submission -------------------------------------------------------------------
def read_folder(folder: Path, name: str, assignment: config.Assignment, origin: str = "") -> Source:
    """The student files of a folder in the template layout; a symlink is never followed (it is missing)."""
    files = {relative: data for relative in assignment.student_files
             if (data := _read_regular(folder / relative)) is not None}
    return Source(name, files, origin or str(folder))


def _read_regular(path: Path) -> bytes | None:
    """A regular file's first MAX_FILE_BYTES; None for anything else (missing, a folder, a symlink)."""
    if not path.is_file() or path.is_symlink():
        return None
    with open(path, "rb") as f:
        return f.read(MAX_FILE_BYTES)


def _recipe(assignment_name: str, assignment: config.Assignment, where: str):
    from autograder import notebooks  # nbformat costs seconds to import: only for notebooks

    if assignment.kind != "notebook":
        raise InputError(f"{where}: a notebook, but assignment {assignment_name!r} is not a `kind: notebook` "
                         "assignment; pass --assignment with the notebook's assignment")
    try:
        return notebooks.load_recipe(assignment_name)
    except (OSError, ValueError) as exc:
        raise InputError(f"{where}: assignment {assignment_name!r} has no notebook ({exc})") from None


def notebook_source(nb, name: str, assignment_name: str, assignment: config.Assignment, origin: str = "") -> Source:
    """The submission a notebook (an nbformat node) makes: its answer cells exported to the template layout."""
    from autograder import notebooks

    files = notebooks.extract(nb, _recipe(assignment_name, assignment, origin or name))
    wanted = set(assignment.student_files)
    return Source(name, {f: text.encode("utf-8")[:MAX_FILE_BYTES] for f, text in files.items() if f in wanted},
                  origin or name)


def read_notebook(path: Path, name: str, assignment_name: str, assignment: config.Assignment,
                  origin: str = "") -> Source:
    """The submission a notebook file makes; an unreadable one is graded as empty (it says so)."""
    from autograder import notebooks

    recipe = _recipe(assignment_name, assignment, str(path))
    try:
        nb = notebooks.read_notebook(path)
        missing = notebooks.missing_cells(nb, recipe)
    except Exception as exc:  # a student's file: whatever is wrong with it, it grades as empty
        print(printable(f"course grade: {path} is not a readable notebook ({exc}); it is graded as empty"),
              file=sys.stderr)
        return Source(name, {}, origin or str(path), (f"{path.name} is not a readable notebook, "
                                                      "so it was graded as empty.",))
    source = notebook_source(nb, name, assignment_name, assignment, origin or str(path))
    if missing:
        print(printable(f"course grade: {path} lacks the answer cells {', '.join(missing)}; "
                        "the tests that need them fail"), file=sys.stderr)
        return replace(source, notes=(f"{path.name} lacks the answer cells {', '.join(missing)}; "
                                      "the tests that need them fail.",))
    return source


REGULAR_FILE_MODES = {"100644", "100755"}


def read_commit(git: Callable[..., bytes], commit: str, name: str, assignment: config.Assignment) -> Source:
    """The student files at a git commit (ci-grade), read from git objects: regular files only.

    `git(*args)` runs git in the repository and returns its stdout."""
    files, notes = {}, []
    for relative in assignment.student_files:
        listing = git("ls-tree", "-z", commit, "--", relative).split(b"\0")[0]
        if not listing:
            continue  # missing: staging says so
        mode, kind, blob = listing.split(b"\t", 1)[0].decode().split()
        if kind != "blob" or mode not in REGULAR_FILE_MODES:
            notes.append(f"{relative} is not a regular file in this commit (a symlink or folder?); it was not graded.")
            continue
        if int(git("cat-file", "-s", blob)) > MAX_FILE_BYTES:
            notes.append(f"{relative} is larger than {MAX_FILE_BYTES >> 20} MiB; it was not graded.")
            continue
        files[relative] = git("cat-file", "blob", blob)
    return Source(name, files, f"commit {commit}", tuple(notes))


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


def _is_template_layout(directory: Path, assignment: config.Assignment) -> bool:
    """A folder holding any student file, or the folder of one (micrograd/ for micrograd/engine.py)."""
    return any((directory / relative).is_file() or (directory / relative).is_symlink()
               or (len(Path(relative).parts) > 1 and (directory / Path(relative).parts[0]).is_dir())
               for relative in assignment.student_files)


# -- collecting many -----------------------------------------------------------------------------
@dataclass
class _Collector:
    """Turns inputs into Sources; zips are extracted under `workspace` while they are read."""

    assignment_name: str
    assignment: config.Assignment
    workspace: Path
    sources: list[Source] = field(default_factory=list)
    _count: int = 0

    def _scratch(self) -> Path:
        self._count += 1
        path = self.workspace / f"in{self._count}"
        path.mkdir(parents=True)
        return path

    def add(self, path: Path, *, name: str | None = None, depth: int = 0) -> None:
        """One input: at depth 0 what the user named, deeper what a folder or zip holds."""
        name = safe_name(name or (path.stem if path.suffix in (".zip", ".ipynb") else path.resolve().name))
        if path.is_symlink() and depth > 0:
            return
        if path.is_file() and path.suffix == ".ipynb":
            self.sources.append(read_notebook(path, name, self.assignment_name, self.assignment))
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
        elif depth == 0:
            raise InputError(f"{path}: not a submission directory, notebook (.ipynb) or zip file"
                             + ("" if path.exists() else " (no such file or directory)"))

    def _add_folder(self, folder: Path, name: str, origin: str, depth: int, one_submission: bool) -> None:
        """A submission, or a folder of them. Inside a zip or a class folder, a folder holding just one
        submission folder or notebook (an LMS's per-student folder) is that student's submission."""
        if _is_template_layout(folder, self.assignment):
            self.sources.append(read_folder(folder, name, self.assignment, origin))
            return
        children = sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX")
        if one_submission and len(children) == 1:
            only = children[0]
            if only.is_dir() and _is_template_layout(only, self.assignment):
                self.sources.append(read_folder(only, name, self.assignment, origin))
                return
            if only.is_file() and only.suffix == ".ipynb":
                self.sources.append(read_notebook(only, name, self.assignment_name, self.assignment, origin))
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
        if not any((student / self.assignment_name).is_dir() for student in submitted.iterdir()):
            raise InputError(f"{submitted}: no submissions of assignment {self.assignment_name!r} "
                             f"(expected {submitted.name}/<student>/{self.assignment_name}/; pass --assignment?)")
        for student in sorted(p for p in submitted.iterdir() if p.is_dir()):
            folder = student / self.assignment_name
            if not folder.is_dir():
                continue
            name = safe_name(student.name)
            if _is_template_layout(folder, self.assignment):
                self.sources.append(read_folder(folder, name, self.assignment))
                continue
            notebooks = sorted(folder.glob("*.ipynb"))
            if not notebooks:
                raise InputError(f"{folder}: neither the template layout nor a notebook")
            files: dict[str, bytes] = {}
            for notebook in notebooks:
                files.update(read_notebook(notebook, name, self.assignment_name, self.assignment).files)
            self.sources.append(Source(name, files, str(folder)))


def collect(inputs: Iterable[Path], assignment_name: str, assignment: config.Assignment) -> list[Source]:
    """All submissions in `inputs`, sorted by name; duplicate names are an error, never a silent loss.

    An input that is one submission is named by `submission_names`; what a folder, zip or nbgrader
    tree holds is named by its own entries."""
    inputs = list(inputs)
    with tempfile.TemporaryDirectory(prefix="course-sources-") as workspace:
        collector = _Collector(assignment_name, assignment, Path(workspace))
        for path, name in zip(inputs, submission_names(inputs, assignment_name), strict=True):
            one = path.suffix == ".ipynb" or (path.is_dir() and _is_template_layout(path, assignment))
            collector.add(path, name=name if one else None)
    by_name: dict[str, Source] = {}
    for source in collector.sources:
        if source.name in by_name:
            raise InputError(f"two submissions are both named {source.name!r}: {by_name[source.name].origin} "
                             f"and {source.origin}; rename one")
        by_name[source.name] = source
    return [by_name[name] for name in sorted(by_name)]


# -- a Gradescope upload ------------------------------------------------------------------------
JUNK = ("__MACOSX", ".DS_Store", "__pycache__", ".ipynb_checkpoints")


def read_metadata(path: Path) -> dict:
    """Gradescope's submission_metadata.json, or {} when it is missing or malformed (never an error)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def metadata_name(metadata: dict) -> str:
    """A Gradescope submission's name: its submitters' names joined by '+', else its id."""
    users = metadata.get("users")
    names = [u.get("name") for u in users if isinstance(u, dict)] if isinstance(users, list) else []
    names = [safe_name(n) for n in names if isinstance(n, str) and n.strip()]
    return ("+".join(names) or safe_name(str(metadata.get("id") or "")))[:80]


def _uploaded_files(folder: Path) -> list[Path]:
    """Regular files under `folder`, relative to it; links, junk and hidden files are ignored."""
    found = []
    for directory, subdirectories, names in os.walk(folder):  # never follows links to folders
        subdirectories[:] = sorted(d for d in subdirectories if d not in JUNK and not d.startswith("."))
        for name in sorted(names):
            path = Path(directory, name)
            if name in JUNK or name.startswith(".") or not path.is_file() or path.is_symlink():
                continue
            found.append(path.relative_to(folder))
            if len(found) > MAX_ZIP_MEMBERS:
                raise InputError(f"the upload holds more than {MAX_ZIP_MEMBERS} files; upload only your code")
    return found


def _expected_upload(assignment_name: str, assignment: config.Assignment) -> str:
    files = " and ".join(f"`{f}`" for f in assignment.student_files)
    flat = " and ".join(f"`{Path(f).name}`" for f in assignment.student_files)
    notebook = f"your notebook `{assignment_name}.ipynb`, " if assignment.kind == "notebook" else ""
    return f"Upload {notebook}{files} (as in the starter code), just {flat}, or one zip of them."


def _pick(files: list[Path], relative: str) -> Path | None:
    """The uploaded file for a student file: at its place in the template layout (also inside one
    folder, as when a folder is zipped), else a file of the same name; the least deeply nested."""
    placed = [f for f in files if f.as_posix() == relative or f.as_posix().endswith("/" + relative)]
    candidates = placed or [f for f in files if f.name == Path(relative).name]
    return min(candidates, key=lambda f: (len(f.parts), f.as_posix())) if candidates else None


def read_upload(folder: Path, name: str, assignment_name: str, assignment: config.Assignment) -> Source:
    """What a student uploaded to Gradescope (its submission/ folder): the template layout, the
    student files alone (flat), one zip of either, or a notebook for a notebook assignment.
    Raises InputError, worded for the student, when it holds none of the assignment's files."""
    files = _uploaded_files(folder)
    if len(files) == 1 and files[0].suffix.lower() == ".zip":  # one level: a zip in it is not unpacked
        with tempfile.TemporaryDirectory(prefix="course-upload-") as unzipped:
            _extract_zip(folder / files[0], Path(unzipped))
            return _read_uploaded(Path(unzipped), _uploaded_files(Path(unzipped)), name, assignment_name, assignment)
    return _read_uploaded(folder, files, name, assignment_name, assignment)


def _read_uploaded(folder: Path, files: list[Path], name: str, assignment_name: str,
                   assignment: config.Assignment) -> Source:
    notebooks = [f for f in files if f.suffix == ".ipynb"]
    if assignment.kind == "notebook" and notebooks:
        chosen = min(notebooks, key=lambda f: (f.name != f"{assignment_name}.ipynb", len(f.parts), f.as_posix()))
        source = read_notebook(folder / chosen, name, assignment_name, assignment, origin=chosen.as_posix())
        several = (f"Several notebooks were uploaded; {chosen.as_posix()} was graded.",) if len(notebooks) > 1 else ()
        return replace(source, notes=(*source.notes, *several))
    picked = {relative: _pick(files, relative) for relative in assignment.student_files}
    if not any(picked.values()):
        shown = ", ".join(f.as_posix() for f in files[:10]) + (", ..." if len(files) > 10 else "")
        raise InputError(f"None of this assignment's files was found in your upload "
                         f"({shown or 'it is empty'}). {_expected_upload(assignment_name, assignment)}")
    return Source(name, {relative: data for relative, found in picked.items()
                         if found is not None and (data := _read_regular(folder / found)) is not None}, str(folder))


# -- staging -----------------------------------------------------------------------------------
@dataclass
class Staging:
    """The outcome of staging one submission: where its files are and what is wrong with them."""

    name: str
    directory: Path
    messages: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in a parsed file."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _forbidden_imports(tree: ast.AST, forbidden: Iterable[str]) -> list[tuple[int, str]]:
    names = set(forbidden)
    return [(lineno, module) for lineno, module in imported_modules(tree) if module.partition(".")[0] in names]


def _packages(student_files: Iterable[str]) -> set[str]:
    """Folders of the student files that must be packages for the files to import each other."""
    return {parent.as_posix() for relative in student_files for parent in Path(relative).parents
            if parent != Path(".")}


def stage(source: Source, into: Path, assignment: config.Assignment, grading: config.Grading) -> Staging:
    """Write the source's student files into `into` (a new folder); note what is missing, what does
    not compile and which forbidden modules are imported."""
    staging = Staging(source.name, into, list(source.notes))
    into.mkdir(parents=True)
    for package in sorted(_packages(assignment.student_files)):
        (into / package).mkdir(parents=True, exist_ok=True)
        if f"{package}/__init__.py" not in assignment.student_files:
            (into / package / "__init__.py").write_text("")
    for relative in assignment.student_files:
        data = source.files.get(relative)
        if data is None:
            staging.messages.append(f"{relative} is missing from the submission; tests that need it fail.")
            staging.flags.add("missing_file")
            continue
        data = data[:MAX_FILE_BYTES]
        (into / relative).write_bytes(data)
        try:
            tree = ast.parse(data, filename=relative)
        except (SyntaxError, ValueError) as exc:
            line = f" line {exc.lineno}" if getattr(exc, "lineno", None) else ""
            staging.messages.append(f"SyntaxError in {relative}{line}: {getattr(exc, 'msg', exc)}")
            staging.flags.add("syntax_error")
            continue
        for lineno, module in _forbidden_imports(tree, grading.forbidden_imports):
            staging.messages.append(f"Policy violation: {relative} line {lineno} imports {module}, "
                                    "which this course does not allow in submissions.")
            staging.flags.add("policy_violation")
    for path in into.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    os.chmod(into, 0o755)
    return staging
