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
import io
import json
import os
import re
import shutil
import sys
import tempfile
import tokenize
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder import config
from autograder.outcome.results import printable

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from autograder.inputs.notebooks import Recipe

MAX_FILE_BYTES = 1 << 20
MAX_ZIP_BYTES = 256 << 20  # uncompressed, per zip file
MAX_ZIP_MEMBERS = 20_000
MAX_NESTING = 3  # zips inside zips (an LMS zip of students' own zips)
MAX_DEPTH = 32  # folders within one input (a class folder, a zip): deeper is nobody's layout
UNREADABLE = "unreadable_submission"  # the flag of a submission (or file) that could not be read; a note says why
SKIPPED = "skipped_files"  # the flag of a submission whose zip held files that were not extracted (notes say which)


class InputError(Exception):
    """An input cannot be turned into submissions; the message says which and why."""


def iso_time(text: str) -> datetime | None:
    """An ISO 8601 time as written in submission times ("Z" for UTC allowed); None when it is not one. It may
    lack a time zone: each caller decides what such a time means."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Source:
    """One submission, read: its name and the student files it holds (path -> bytes)."""

    name: str
    files: Mapping[str, bytes]
    origin: str = ""  # what the user passed, for messages
    notes: tuple[str, ...] = ()  # what reading it found wrong, for the student (e.g. a symlink in git)
    flags: tuple[str, ...] = ()  # what reading it found wrong, for the gradebook (e.g. unreadable_submission)
    submitted_at: str = ""  # when it was handed in (ISO 8601): an LMS download's, Gradescope's, CI's grading time


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
    """The student files of a folder in the template layout; a symlink is never followed (it is missing),
    and a file that cannot be read is missing too; the source's notes say which and why."""
    files, notes = {}, []
    for relative in assignment.student_files:
        try:
            data = _read_regular(folder / relative)
        except OSError as exc:
            notes.append(f"{relative} could not be read ({exc.strerror or exc}); it was not graded.")
            continue
        if data is not None:
            files[relative] = data
        elif (folder / relative).is_symlink():
            notes.append(f"{relative} is a symbolic link, which is never followed; it was not graded.")
    return Source(name, files, origin or str(folder), tuple(notes), (UNREADABLE,) if notes else ())


def _read_regular(path: Path) -> bytes | None:
    """A regular file's first MAX_FILE_BYTES; None for anything else (missing, a folder, a symlink)."""
    if not path.is_file() or path.is_symlink():
        return None
    with open(path, "rb") as f:
        return f.read(MAX_FILE_BYTES)


def _recipe(assignment_name: str, assignment: config.Assignment, where: str) -> Recipe:
    from autograder.inputs import notebooks  # nbformat costs seconds to import: only for notebooks

    if assignment.kind != "notebook":
        raise InputError(f"{where}: a notebook, but assignment {assignment_name!r} is not a `kind: notebook` "
                         "assignment; pass --assignment with the notebook's assignment")
    try:
        return notebooks.load_recipe(assignment_name, notebooks.recipes_dir(assignment.root))
    except (OSError, ValueError) as exc:
        raise InputError(f"{where}: assignment {assignment_name!r} has no notebook ({exc})") from None


def notebook_source(nb: NotebookNode, name: str, assignment_name: str, assignment: config.Assignment,
                    origin: str = "") -> Source:
    """The submission a notebook (an nbformat node) makes: its answer cells exported to the template layout."""
    from autograder.inputs import notebooks

    files = notebooks.extract(nb, _recipe(assignment_name, assignment, origin or name))
    wanted = set(assignment.student_files)
    return Source(name, {f: text.encode("utf-8")[:MAX_FILE_BYTES] for f, text in files.items() if f in wanted},
                  origin or name)


def read_notebook(path: Path, name: str, assignment_name: str, assignment: config.Assignment,
                  origin: str = "") -> Source:
    """The submission a notebook file makes; an unreadable one is graded as empty (it says so)."""
    from autograder.inputs import notebooks

    recipe = _recipe(assignment_name, assignment, str(path))
    try:
        nb = notebooks.read_notebook(path)
        missing = notebooks.missing_cells(nb, recipe)
    except Exception as exc:  # a student's file: whatever is wrong with it, it grades as empty
        print(printable(f"course grade: {shown(path)} is not a readable notebook ({exc}); it is graded as empty"),
              file=sys.stderr)
        return Source(name, {}, origin or str(path), (f"{shown(path.name)} is not a readable notebook, "
                                                      "so it was graded as empty.",), (UNREADABLE,))
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


def shown(path: str | os.PathLike[str]) -> str:
    """A path (or zip member name) as one printable line: undecodable bytes and control characters
    escaped, so that a message naming a student's file can be written in any format."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace") if isinstance(path, os.PathLike) else path
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= 200 else text[:199] + "…"


MAX_REPORTED_MEMBERS = 20  # skipped zip members named in a student's messages; the rest are counted
Skipped = tuple[tuple[str, ...], str]  # (the folder in the zip it concerns, () for the whole zip; a note)


def _extract_zip(archive: Path, into: Path, where: str | None = None) -> list[Skipped]:
    """Extract without trusting the archive: bounded size and member count; no absolute paths,
    '..', links, duplicates or paths deeper than MAX_DEPTH. Returns a note per skipped member (for
    the student); raises InputError, naming `where` (the zip as the user knows it), when the
    archive cannot be read at all."""
    where = where or shown(archive)
    skipped: list[Skipped] = []
    try:
        zf = zipfile.ZipFile(archive)
    except Exception as exc:  # a student's file: whatever is wrong with it (BadZipFile, bad names ...)
        raise InputError(f"{where} is not a readable zip file ({exc})") from None
    with zf:
        members = zf.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise InputError(f"{where} holds more than {MAX_ZIP_MEMBERS} files")
        if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
            raise InputError(f"{where} holds more than {MAX_ZIP_BYTES >> 20} MB uncompressed")
        extracted: set[tuple[str, ...]] = set()
        for member in members:
            name = member.filename.replace("\\", "/")
            parts, is_dir = Path(name).parts, name.endswith("/")  # not member.is_dir(): a name may be empty
            if (parts and (parts[0] == "__MACOSX" or parts[-1] == ".DS_Store")) or (is_dir and not parts):
                continue
            unsafe = not parts or name.startswith("/") or ".." in parts
            if unsafe:
                why = "its path is empty, absolute or leads outside the zip's folder"
            elif (member.external_attr >> 16) & 0o170000 == 0o120000:
                why = "a symbolic link is never extracted"
            elif len(parts) > MAX_DEPTH:
                why = f"it is nested more than {MAX_DEPTH} folders deep"
            elif parts in extracted and not is_dir:
                why = "another file of the same name came first"
            else:
                try:
                    _extract_member(zf, member, into.joinpath(*parts), is_dir)
                    extracted.add(parts)
                    continue
                except Exception as exc:  # a name this file system refuses, a corrupt member, encryption ...
                    why = f"it cannot be extracted ({exc})"
            skipped.append((() if unsafe else parts[:-1], f"{shown(member.filename)!r} in {where} was skipped: {why}."))
    if len(skipped) > MAX_REPORTED_MEMBERS:
        skipped[MAX_REPORTED_MEMBERS:] = [((), f"{len(skipped) - MAX_REPORTED_MEMBERS} more files in {where} "
                                               "were skipped.")]
    return skipped


def _extract_member(zf: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, is_dir: bool) -> None:
    """One member, written to a new file (never through an existing one); nothing is left when it fails."""
    if is_dir:
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as dst:
        try:
            with zf.open(member) as src:
                shutil.copyfileobj(src, dst)
        except BaseException:
            target.unlink()
            raise


def _is_template_layout(directory: Path, assignment: config.Assignment) -> bool:
    """A folder holding any student file, or the folder of one (micrograd/ for micrograd/engine.py)."""
    return any((directory / relative).is_file() or (directory / relative).is_symlink()
               or (len(Path(relative).parts) > 1 and (directory / Path(relative).parts[0]).is_dir())
               for relative in assignment.student_files)


# -- collecting many -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Item:
    """An input, or something a folder or zip of inputs holds, waiting to be read."""

    path: Path
    name: str | None  # None: named by its own file name
    where: str  # as the user knows it: a path they gave, and inside a zip `that.zip/member`
    depth: int = 0  # 0: what the user named
    zips: int = 0  # zips it is inside
    one_submission: bool = True  # a folder holding one entry is that entry (an LMS's per-student folder)
    skipped: tuple[Skipped, ...] = ()  # skipped zip members, for the submissions read from here

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(note for _, note in self.skipped)

    def inside(self, child: Path, *, wrapper: bool = False) -> _Item:
        """An entry of this folder: the same member when this folder only wraps it, else a member of its own
        (with the skipped-member notes about the entry's folder, and those about the whole zip)."""
        skipped = tuple((folder[1:] if folder[:1] == (child.name,) else folder, note)
                        for folder, note in self.skipped if wrapper or folder[:1] in ((), (child.name,)))
        return _Item(child, self.name if wrapper else None, f"{self.where}/{shown(child.name)}", self.depth + 1,
                     self.zips, True, skipped)


@dataclass(frozen=True)
class _Finished:
    """Pushed below a folder's or zip's entries: reached when all of them have been read."""

    item: _Item
    sources_before: int
    scratch: Path | None = None


class _Unreadable(Exception):
    """A member cannot be read; it becomes its own result (the message says why)."""


@dataclass
class _Collector:
    """Turns inputs into Sources; zips are extracted under `workspace` while they are read.

    The walk is iterative (a submission's depth never reaches Python's recursion limit), and what
    goes wrong inside a folder or zip of submissions belongs to the member it happens in: that
    member becomes a result saying so (flag `unreadable_submission`), the others are read."""

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

    def add(self, path: Path, *, name: str | None = None) -> None:
        """What the user named: one submission, or a folder, zip or nbgrader tree of them."""
        stack: list[_Item | _Finished] = [_Item(path, name, shown(path), one_submission=not path.is_dir())]
        while stack:
            entry = stack.pop()
            if isinstance(entry, _Finished):
                self._finish(entry)
                continue
            try:
                stack += reversed(self._read(entry))
            except OSError as exc:  # a folder or file this process may not read
                if entry.depth == 0:
                    raise InputError(f"{entry.where}: cannot be read ({exc.strerror or exc})") from None
                self._unreadable(entry, f"{entry.where} cannot be read ({exc.strerror or exc})")
            except InputError as exc:  # what the user named is not an input; a member is that member's result
                if entry.depth == 0:
                    raise
                self._unreadable(entry, str(exc))
            except _Unreadable as exc:
                self._unreadable(entry, str(exc))

    def _name(self, item: _Item) -> str:
        path = item.path
        own = path.stem if path.suffix in (".zip", ".ipynb") else path.name if item.depth else path.resolve().name
        return safe_name(item.name or own)

    def _found(self, source: Source, item: _Item) -> None:
        """A submission read from `item`, with the notes (and flag) of the zip members skipped there."""
        if item.skipped:
            source = replace(source, notes=(*item.notes, *source.notes), flags=(*source.flags, SKIPPED))
        self.sources.append(source)

    def _unreadable(self, item: _Item, message: str) -> None:
        message = message.rstrip(".") + "; nothing in it was graded."
        print(f"course grade: {message}", file=sys.stderr)
        flags = (UNREADABLE, SKIPPED) if item.skipped else (UNREADABLE,)
        self.sources.append(Source(self._name(item), {}, item.where, (*item.notes, message), flags))

    def _read(self, item: _Item) -> list[_Item | _Finished]:
        """Read one item: a submission is added to `sources`; what else it holds is returned, to be read."""
        path, name = item.path, self._name(item)
        if path.is_symlink() and item.depth > 0:
            if path.is_dir() or path.suffix in (".zip", ".ipynb") or not path.exists():
                raise _Unreadable(f"{item.where} is a symbolic link (to {shown(os.readlink(path))}), "
                                  "which is never followed")
            return []
        if path.is_file() and path.suffix == ".ipynb":
            self._found(read_notebook(path, name, self.assignment_name, self.assignment, item.where), item)
            return []
        if path.is_file() and path.suffix == ".zip":
            if item.zips >= MAX_NESTING:
                raise _Unreadable(f"{item.where} is a zip inside {item.zips} zips; "
                                  f"zips nested more than {MAX_NESTING} deep are not opened")
            scratch = self._scratch()
            try:
                skipped = _extract_zip(path, scratch, item.where)
            except InputError as exc:  # a zip, even one the user named, is a student's: its own result
                shutil.rmtree(scratch, ignore_errors=True)
                raise _Unreadable(str(exc)) from None
            folder = _Item(scratch, name, item.where, item.depth + 1, item.zips + 1, True, (*item.skipped, *skipped))
            return [folder, _Finished(folder, len(self.sources), scratch)]
        if path.is_dir():
            return self._read_folder(item, name)
        if item.depth == 0:
            raise InputError(f"{item.where}: not a submission directory, notebook (.ipynb) or zip file"
                             + ("" if path.exists() else " (no such file or directory)"))
        return []

    def _read_folder(self, item: _Item, name: str) -> list[_Item | _Finished]:
        path = item.path
        if item.depth > MAX_DEPTH:
            raise _Unreadable(f"{item.where} is nested more than {MAX_DEPTH} folders deep")
        if path.name == "submitted" or (path / "submitted").is_dir():
            self._add_nbgrader(path if path.name == "submitted" else path / "submitted", item)
            return []
        if _is_template_layout(path, self.assignment):
            self._found(read_folder(path, name, self.assignment, item.where), item)
            return []
        children = sorted(p for p in path.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX")
        children = [p for p in children if p.is_symlink() or p.is_dir() or p.suffix in (".zip", ".ipynb")]
        if item.one_submission and len(children) == 1:  # a folder around a submission: still this member
            return [replace(item, name=name).inside(children[0], wrapper=True)]
        return [*(item.inside(child) for child in children), _Finished(item, len(self.sources))]

    def _finish(self, finished: _Finished) -> None:
        if finished.scratch is not None:
            shutil.rmtree(finished.scratch, ignore_errors=True)  # its sources hold their bytes
        if len(self.sources) > finished.sources_before:
            return
        item = finished.item
        if item.depth == 0:
            raise InputError(f"{item.where}: no submissions found (expected folders in the template layout, "
                             ".ipynb or .zip files)")
        self._unreadable(item, f"{item.where} holds no submission (no folder in the template layout, "
                               ".ipynb or .zip file)")

    def _add_nbgrader(self, submitted: Path, item: _Item) -> None:
        """nbgrader's submitted/<student>/<assignment>/ (notebooks, or the template layout)."""
        if not any((student / self.assignment_name).is_dir() for student in submitted.iterdir()):
            raise InputError(f"{submitted}: no submissions of assignment {self.assignment_name!r} "
                             f"(expected {submitted.name}/<student>/{self.assignment_name}/; pass --assignment?)")
        for student in sorted(p for p in submitted.iterdir() if p.is_dir()):
            folder = student / self.assignment_name
            if not folder.is_dir():
                continue
            name = safe_name(student.name)
            where = f"{item.where}/{shown(folder.relative_to(item.path))}"
            if _is_template_layout(folder, self.assignment):
                self.sources.append(read_folder(folder, name, self.assignment, where))
                continue
            notebooks = sorted(folder.glob("*.ipynb"))
            if not notebooks:
                self._unreadable(_Item(folder, name, where, item.depth + 1),
                                 f"{where} holds neither the template layout nor a notebook")
                continue
            files: dict[str, bytes] = {}
            notes: list[str] = []
            flags: set[str] = set()
            for notebook in notebooks:
                read = read_notebook(notebook, name, self.assignment_name, self.assignment)
                files.update(read.files)
                notes += read.notes
                flags.update(read.flags)
            self.sources.append(Source(name, files, where, tuple(notes), tuple(sorted(flags))))


def collect(inputs: Iterable[Path], assignment_name: str, assignment: config.Assignment) -> list[Source]:
    """All submissions in `inputs`, sorted by name; duplicate names are an error, never a silent loss.

    An input that is one submission is named by `submission_names`; what a folder, zip or nbgrader
    tree holds is named by its own entries. A member that cannot be read is a submission too: it is
    graded as empty, flagged `unreadable_submission`, its message naming the file."""
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


def read_metadata(path: Path) -> dict[str, Any]:
    """Gradescope's submission_metadata.json, or {} when it is missing or malformed (never an error)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def metadata_name(metadata: dict[str, Any]) -> str:
    """A Gradescope submission's name: its submitters' names joined by '+', else its id."""
    users = metadata.get("users")
    given = [u.get("name") for u in users if isinstance(u, dict)] if isinstance(users, list) else []
    names = [safe_name(n) for n in given if isinstance(n, str) and n.strip()]
    return ("+".join(names) or safe_name(str(metadata.get("id") or "")))[:80]


def _uploaded_files(folder: Path) -> list[Path]:
    """Regular files under `folder`, relative to it; links, junk and hidden files are ignored."""
    found = []
    for directory, subdirectories, names in os.walk(folder):  # never follows links to folders
        subdirectories[:] = sorted(d for d in subdirectories if d not in JUNK and not d.startswith("."))
        if len(Path(directory).relative_to(folder).parts) >= MAX_DEPTH:  # os.walk recurses: bound its depth
            subdirectories.clear()
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
            skipped = _extract_zip(folder / files[0], Path(unzipped), files[0].as_posix())
            source = _read_uploaded(Path(unzipped), _uploaded_files(Path(unzipped)), name, assignment_name, assignment)
            return replace(source, notes=(*source.notes, *(note for _, note in skipped)))
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
    # Each student file's text as staged, before any code ran: what the trusted side may read of it
    # (to word feedback in the student's own code) without trusting the folder a worker can write.
    sources: dict[str, str] = field(default_factory=dict)
    submitted_at: str = ""  # the Source's


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


def _not_text(data: bytes) -> bool:
    """Whether a file is no text Python reads: NUL bytes, or bytes its declared encoding (UTF-8) cannot decode."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return True
    return b"\0" in data


def _packages(student_files: Iterable[str]) -> set[str]:
    """Folders of the student files that must be packages for the files to import each other."""
    return {parent.as_posix() for relative in student_files for parent in Path(relative).parents
            if parent != Path(".")}


def stage(source: Source, into: Path, assignment: config.Assignment, grading: config.Grading,
          provided: dict[str, bytes] | None = None) -> Staging:
    """Write the source's student files into `into` (a new folder), and the grader's `provided` files
    (assignment.provided_files, read by the caller); note what is missing, what does not compile and
    which forbidden modules are imported."""
    staging = Staging(source.name, into, list(source.notes), set(source.flags), submitted_at=source.submitted_at)
    unreadable = UNREADABLE in source.flags and not source.files  # its notes say why nothing is there
    into.mkdir(parents=True)
    for package in sorted(_packages(assignment.student_files)):
        (into / package).mkdir(parents=True, exist_ok=True)
        if f"{package}/__init__.py" not in assignment.student_files:
            (into / package / "__init__.py").write_text("")
    for relative, data in (provided or {}).items():
        (into / relative).parent.mkdir(parents=True, exist_ok=True)
        (into / relative).write_bytes(data)
    for relative in assignment.student_files:
        handed_in = source.files.get(relative)
        if handed_in is None:
            if not unreadable:
                staging.messages.append(f"{relative} is missing from the submission; tests that need it fail.")
            staging.flags.add("missing_file")
            continue
        data = handed_in[:MAX_FILE_BYTES]
        (into / relative).write_bytes(data)
        if _not_text(data):  # checked first: ast.parse accepts bytes (in comments) that an import refuses
            staging.messages.append(f"{relative} is not Python source text (a binary file, or not UTF-8); "
                                    "tests that need it fail.")
            staging.flags.add("syntax_error")
            continue
        staging.sources[relative] = data.decode("utf-8")
        try:
            tree = ast.parse(data, filename=relative)
        except (SyntaxError, ValueError) as exc:
            lineno = getattr(exc, "lineno", None)
            line = f" line {lineno}" if lineno else ""
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
