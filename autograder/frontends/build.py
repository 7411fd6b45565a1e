"""`course build`: generate from solutions/ (the one source of truth) what is derived from it.

1. student_template/: every file under solutions/ is copied; Python files have their solution
   regions replaced by stubs (autograder.markers).
2. assignments/source/: the nbgrader notebooks, rendered from their recipes.
3. grading_tests/expectations.json: the hidden suites' expected values, computed with torch while
   the reference, the template, the bug catalog and the reference notebooks are graded
   (autograder.core.expectations); rebuilt only when what they depend on changed.
`--check` writes nothing and fails when any of them is stale.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from autograder import config, markers
from autograder.core import expectations, policies
from autograder.core.expectations import source_files
from autograder.frontends import options

VISIBLE_POLICIES = "course_policies.py"


def template_files(solutions: Path) -> dict[str, bytes]:
    """What student_template/ must contain: relative path -> bytes."""
    files: dict[str, bytes] = {}
    for path in source_files(solutions):
        relative = path.relative_to(solutions).as_posix()
        if path.suffix == ".py":
            text = markers.stub(path.read_text(encoding="utf-8"), name=f"solutions/{relative}")
            files[relative] = text.encode("utf-8")
        else:
            files[relative] = path.read_bytes()
    return files


def stale_files(expected: dict[str, bytes], target: Path) -> list[str]:
    """Paths under target that differ from expected, are missing, or should not be there."""
    present = {path.relative_to(target).as_posix() for path in source_files(target)} if target.exists() else set()
    stale = [name for name, data in expected.items()
             if name not in present or (target / name).read_bytes() != data]
    stale += sorted(f"{name} (not generated from solutions/)" for name in present - expected.keys())
    return sorted(stale)


def write(expected: dict[str, bytes], target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    for name, data in expected.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def main(*, check: bool = False, solutions: Path | None = None, template: Path | None = None,
         course: config.Course | None = None) -> int:
    """Build the template and, given the course, its notebooks and expectations (or, with check, report
    what is stale). solutions/ and student_template/ default to the course's (or the current folder's)."""
    root = course.root if course is not None else Path.cwd()
    solutions, template = solutions or root / config.SOLUTIONS, template or root / config.TEMPLATE
    if course is not None:  # the visible tests' copy of course.yml's policies, before the template copies them
        status = build_visible_policies(course, check=check, solutions=solutions)
        if check and status:
            return status
    status = _build_template(check=check, solutions=solutions, template=template)
    if course is not None:  # the nbgrader notebooks are rendered from the course's own solutions/
        status = max(status, build_notebooks(course, check=check))
        status = max(status, build_expectations(course, check=check))  # grades the template and notebooks
    return status


def build_visible_policies(course: config.Course, *, check: bool = False, solutions: Path | None = None) -> int:
    """Write solutions/tests/course_policies.py from the module assignment's policies in course.yml (or, with
    check, say whether it is stale)."""
    name, assignment = course.assignment()
    solutions = solutions or course.solutions
    if assignment.kind != "module" or not (solutions / "tests").is_dir():
        return 0
    path, text = solutions / "tests" / VISIBLE_POLICIES, policies.visible_module(assignment)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return 0
    if check:
        print(f"{path.relative_to(solutions.parent)} is stale (course.yml's policies of {name!r}); run `course build`")
        return 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(solutions.parent)} (course.yml's policies of {name!r})")
    return 0


def build_expectations(course: config.Course, *, check: bool = False) -> int:
    """Write grading_tests/expectations.json when it is stale (or, with check, say whether it is)."""
    fresh, account = expectations.freshness(course)
    if fresh or check:
        print(account if fresh else f"{account}; run `course build`")
        return 0 if fresh else 1
    try:
        expectations.torch()
    except expectations.ExpectationUnavailable:
        print(f"course build: {account}, and computing it needs torch, which is not installed: "
              "pip install 'micrograd-course[torch]'", file=sys.stderr)
        return 2
    print(f"{account}: computing the expected values with torch (about a minute)", flush=True)
    recorded = record_expectations(course)
    path = expectations.write_cache(course, recorded)
    print(f"wrote {sum(len(values) for values in recorded.values())} expected values to {path}")
    return 0


def record_expectations(course: config.Course) -> dict:
    """Every expected value the hidden suites compute while grading the reference, the template, the
    bug catalog (its correct variants and bugs reach the diagnoses' expectations) and the reference
    notebooks: kind -> digest -> compact JSON. Drawn examples still drawn the same way are kept."""
    from autograder.core import pipeline
    from autograder.frontends import validate
    from autograder.inputs import notebooks, sources

    with expectations.recording(expectations.read_cache(expectations.cache_path(course))) as recorded:
        for name, assignment in course.assignments.items():
            if assignment.kind == "notebook":
                path = notebooks.source_dir(course.root) / name / f"{name}.ipynb"
                reference = sources.read_notebook(path, "reference", name, assignment)
                pipeline.grade([reference], assignment_name=name, course=course)
            elif name == course.assignment()[0] and course.catalog.is_file():
                validate.validate(course.catalog, course=course)
            else:
                pipeline.grade([course.solutions], assignment_name=name, course=course)
    return recorded


def build_notebooks(course: config.Course, *, check: bool = False, target: Path | None = None) -> int:
    """Write assignments/source/ from the recipes (or, with check, report what is stale)."""
    from autograder.inputs import notebooks  # nbformat costs seconds to import

    return sync(notebooks.source_files(course), target or notebooks.source_dir(course.root), check=check,
                origin="the recipes",
                label="assignments/source/", unit="notebooks")


def _build_template(*, check: bool, solutions: Path, template: Path) -> int:
    return sync(template_files(solutions), template, check=check, origin="solutions/", label=f"{template.name}/")


def sync(expected: dict[str, bytes], target: Path, *, check: bool, origin: str, label: str,
         unit: str = "files") -> int:
    """Write `expected` to `target` or, with check, name what is stale there. Returns the exit status."""
    if check:
        stale = stale_files(expected, target)
        if stale:
            print(f"{label} is stale; run `course build`. Differs from {origin}:")
            for name in stale:
                print(f"  {label}{name}")
            return 1
        print(f"{label} is up to date ({len(expected)} {unit}).")
        return 0
    write(expected, target)
    print(f"wrote {len(expected)} {unit} to {target}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and name what is stale (template, notebooks, expectations)")
    options.add_course_options(parser, assignment=False)


def run(args: argparse.Namespace) -> int:
    return main(check=args.check, course=config.load(args.config))
