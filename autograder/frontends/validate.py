"""`course validate`: prove the hidden suite on the reference, the template, correct variants and a bug catalog.

The catalog (grading_tests/catalog/catalog.py, hidden from students) describes every variant and
bug as text replacements on the reference (the solutions' files of the module assignment, solution
markers stripped), so there is one source of truth. All of them are graded in ONE run of the grader
(one pytest session), then checked:
- the reference scores full marks, the template scores 0 without an internal error;
- every correct variant scores full marks;
- every bug loses points, at least 80 % of them in its home part, and every failing test (in any
  part) that names a specific pitfall names the bug's; generic diagnoses ("error", "wrong-gradient",
  the catalog's GENERIC_PITFALLS) name nothing and are allowed anywhere.
A table shows, per bug, the points lost, the share in its home part and the diagnoses per part.
Exit 0 when all hold, 1 when any does not, 2 when the catalog itself cannot be applied.
"""

from __future__ import annotations

import argparse
import runpy
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from autograder import config
from autograder.frontends import options
from autograder.frontends.grade import grade
from autograder.markers import strip_markers
from autograder.outcome.results import Results

HOME_SHARE = 0.8  # the least share of a bug's lost points that must fall in its home part


class CatalogError(Exception):
    """A catalog entry cannot be applied to the reference."""


@dataclass
class Check:
    """The verdict on one graded directory."""

    name: str
    kind: str  # reference | template | correct | bug
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    summary: str = ""
    row: tuple[str, str, str] = ("", "", "")  # bugs: points lost, share in the home part, diagnoses per part

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)


def load_catalog(path: Path) -> tuple[list[Any], list[Any]]:
    namespace = runpy.run_path(str(path))
    return list(namespace["CORRECT"]), list(namespace["BUGS"])


def generic_pitfalls(path: Path) -> frozenset[str]:
    """Diagnoses that name no specific mistake (the catalog's GENERIC_PITFALLS): any bug may get them."""
    return frozenset(runpy.run_path(str(path)).get("GENERIC_PITFALLS", ()))


def reference_sources(course: config.Course | None = None) -> dict[str, str]:
    """The reference as a student hands it in (default: the course found from here): every Python file of the
    solutions' folders that hold the module assignment's student files, markers stripped, by its path in the
    submission."""
    course = course or config.load()
    _, assignment = course.assignment()
    sources = {}
    for folder in sorted({PurePosixPath(file).parent for file in assignment.student_files}):
        for path in sorted((course.solutions / folder).glob("*.py")):
            sources[(folder / path.name).as_posix()] = strip_markers(path.read_text(encoding="utf-8"))
    return sources


def patched_sources(patches: tuple[tuple[str, str, str], ...], entry: str,
                    course: config.Course | None = None) -> dict[str, str]:
    """The reference's files (reference_sources) with the entry's replacements applied; a patch names its file by
    its path in the submission or, when no other file has it, by its name alone ("engine.py")."""
    sources = reference_sources(course)
    for file, old, new in patches:
        named = [path for path in sources if file in (path, PurePosixPath(path).name)]
        if len(named) != 1:
            raise CatalogError(f"{entry}: {'no' if not named else 'more than one'} file {file} in the reference "
                               f"({', '.join(sources)})")
        found = sources[named[0]].count(old)
        if found != 1:
            raise CatalogError(f"{entry}: the text to replace occurs {found} times in {file} (must be once):\n{old}")
        sources[named[0]] = sources[named[0]].replace(old, new)
    return sources


def write_submission(directory: Path, sources: dict[str, str]) -> Path:
    for relative, text in sources.items():
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        (directory / relative).write_text(text, encoding="utf-8")
    return directory


def _failing(results: Results, part: str | None = None) -> list:
    return [t for t in results.tests if t.status == "failed" and (part is None or t.part == part)]


def _internal_errors(results: Results) -> list[str]:
    return [t.name for t in results.tests if t.pitfall == "internal-error"]


def check_full_marks(results: Results, check: Check) -> None:
    check.summary = f"{results.score:g}/{results.max_score:g}"
    if results.score < results.max_score - 1e-6:
        for test in _failing(results):
            check.fail(f"{test.name} failed ({test.pitfall}): {test.output.splitlines()[0] if test.output else ''}")


def check_template(results: Results, check: Check) -> None:
    check.summary = f"{results.score:g}/{results.max_score:g}"
    if results.score != 0:
        check.fail(f"the template scores {results.score:g}, not 0")
    for name in _internal_errors(results):
        check.fail(f"{name}: internal error (the grader crashed on the template)")


def check_bug(results: Results, entry: Any, check: Check, generic: frozenset[str]) -> None:
    """A bug loses points, at least HOME_SHARE of them in its home part, and every failing test that
    names a specific pitfall (not one of `generic`) names the bug's."""
    part_max = next(p.max_score for p in results.parts if p.name == entry.part)
    part_score = next(p.score for p in results.parts if p.name == entry.part)
    lost_total, lost_part = results.max_score - results.score, part_max - part_score
    share = lost_part / lost_total if lost_total > 1e-9 else 0.0
    per_part: dict[str, set[str]] = {}
    for test in _failing(results):
        per_part.setdefault(test.part, set()).add(test.pitfall or "none")
    check.row = (f"{lost_total:.1f}", f"{share:.0%}", "; ".join(
        f"{part}: {', '.join(sorted(pitfalls))}" for part, pitfalls in sorted(
            per_part.items(), key=lambda item: item[0] != entry.part)))
    check.summary = f"lost {lost_total:g}, {share:.0%} in {entry.part}"
    if lost_total <= 1e-9:
        check.fail("scores full marks")
    elif lost_part <= 1e-9:
        check.fail(f"loses no points in {entry.part}")
    elif share < HOME_SHARE:
        check.fail(f"only {share:.0%} of its loss is in {entry.part} (at least {HOME_SHARE:.0%} must be)")
    for test in _failing(results):
        if test.pitfall != entry.pitfall and test.pitfall not in generic:
            check.fail(f"{test.name.split('::')[-1]} diagnosed {test.pitfall}, expected {entry.pitfall}")
    for name in _internal_errors(results):
        check.fail(f"{name}: internal error")


def validate(catalog: Path, *, only: list[str] | None = None,
             course: config.Course | None = None) -> tuple[list[Check], float]:
    course = course or config.load()
    template_dir = course.template
    correct, bugs = load_catalog(catalog)
    generic = generic_pitfalls(catalog)
    if only:
        correct = [e for e in correct if e.id in only]
        bugs = [e for e in bugs if e.id in only]
    workspace = Path(tempfile.mkdtemp(prefix="course-validate-"))
    try:
        reference = write_submission(workspace / "reference", patched_sources((), "reference", course))
        dirs: dict[str, Path] = {"reference": reference}
        for entry in [*correct, *bugs]:
            dirs[entry.id] = write_submission(workspace / entry.id,
                                              patched_sources(entry.patches, entry.id, course))
        sources = [dirs["reference"], *(dirs[e.id] for e in [*correct, *bugs])]
        if template_dir.is_dir():
            sources.insert(1, template_dir)
        started = time.monotonic()
        graded = {r.submission: r for r in grade(sources, course=course)}
        seconds = time.monotonic() - started
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    checks: list[Check] = []
    reference_check = Check("reference", "reference")
    check_full_marks(graded["reference"], reference_check)
    checks.append(reference_check)
    if template_dir.is_dir():
        template = Check(template_dir.name, "template")
        check_template(graded[template_dir.name], template)
        checks.append(template)
    for entry in correct:
        check = Check(entry.id, "correct")
        check_full_marks(graded[entry.id], check)
        checks.append(check)
    for entry in bugs:
        check = Check(entry.id, "bug")
        check_bug(graded[entry.id], entry, check, generic)
        checks.append(check)
    return checks, seconds


def report(checks: list[Check], seconds: float, out=None) -> None:
    out = out or sys.stdout
    width = max(len(c.name) for c in checks)
    for kind, title in (("reference", "Reference"), ("template", "Template"), ("correct", "Correct variants"),
                        ("bug", "Bug catalog")):
        chosen = [c for c in checks if c.kind == kind]
        if not chosen:
            continue
        print(f"{title}:", file=out)
        for check in chosen:
            print(f"  {'ok  ' if check.ok else 'FAIL'} {check.name:<{width}}  {check.summary}", file=out)
            for problem in check.problems:
                print(f"         {problem}", file=out)
    bugs = [c for c in checks if c.kind == "bug"]
    if bugs:
        print(f"\n{'bug':<{width}}  {'lost':>5}  {'home':>4}  diagnosis per part (home part first)", file=out)
        for check in bugs:
            lost, share, diagnoses = check.row
            print(f"{check.name:<{width}}  {lost:>5}  {share:>4}  {diagnoses}", file=out)
    failed = [c for c in checks if not c.ok]
    print(f"{len(checks)} submissions graded in one run in {seconds:.1f} s; {len(bugs)} catalog bugs; "
          f"{len(failed)} problem(s).", file=out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_course_options(parser, assignment=False)
    parser.add_argument("--catalog", type=Path, help=(
                        "bug catalog (a Python file; default: the course's grading_tests/catalog/catalog.py)"))
    parser.add_argument("--only", nargs="+", metavar="ID", help="validate only these catalog entries")


def main(*, catalog: Path | None = None, only: list[str] | None = None,
         config_path: Path | None = None) -> int:
    course = config.load(config_path)
    catalog = catalog or course.catalog
    if not catalog.is_file():
        print(f"course validate: no catalog at {catalog}", file=sys.stderr)
        return 2
    try:
        checks, seconds = validate(catalog, only=only, course=course)
    except CatalogError as exc:
        print(f"course validate: the catalog cannot be applied: {exc}", file=sys.stderr)
        return 2
    report(checks, seconds)
    return 0 if all(c.ok for c in checks) else 1


def run(args: argparse.Namespace) -> int:
    return main(catalog=args.catalog, only=args.only, config_path=args.config)
