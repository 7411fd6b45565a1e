"""`course gradescope`: Gradescope's autograder package for one assignment.

`course gradescope --assignment NAME --out autograder.zip` zips setup.sh and run_autograder
(autograder/gradescope_files/), the grader (autograder/), the assignment's hidden suite with what
it reads (the shared files beside it, modules of other suites it imports, the reference files of
its isolation modes, a notebook recipe and its includes, the expectation cache when the suite
reads it), a course.yml holding only this assignment and requirements.txt (the grading
dependencies pinned to the versions installed here; torch only where grading would import it).
Inside the container, run_autograder grades through autograder.frontends.gradescope_run; docs/gradescope.md
has the details.
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import io
import json
import stat
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

import yaml

from autograder import config
from autograder.core import isolation
from autograder.frontends import options
from autograder.inputs import sources
from autograder.render.files import OutputError, atomic_write, check_writable

PACKAGE_FILES = Path(__file__).resolve().parents[1] / "gradescope_files"
# What grading imports besides the standard library (tests/test_gradescope.py checks the list);
# nbformat only for notebook assignments, torch only for suites that need it at grade time
# (grading_needs_torch); graphviz draws failing graphs (autograder/outcome/pictures.py), Jinja2 renders
# the html results format.
GRADING_DISTRIBUTIONS = ("pydantic", "PyYAML", "pytest", "hypothesis", "rich", "graphviz", "Jinja2", "pyseccomp")
TORCH = ("torch", "numpy")  # torch uses numpy when it is there, as it is where the course was tested
# The expected values `course build` precomputes with torch, beside the suites (autograder/core/expectations.py).
EXPECTATIONS_FILE = "expectations.json"
ZIP_DATE = (2026, 1, 1, 0, 0, 0)  # every member's timestamp: the same course gives the same zip


def allowed_distributions(modules: Iterable[str]) -> list[str]:
    """The distributions providing course.yml's allowed_imports (a submission imports them in the worker)."""
    provided = importlib.metadata.packages_distributions()
    return [dist for module in modules for dist in provided.get(module, [module])]


def pinned_requirements(roots: Iterable[str]) -> list[str]:
    """`name==version` for `roots` and everything they require, as installed here (the versions
    this course was tested with); local version labels (torch's `+cpu`) are dropped."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    pins: dict[str, str] = {}
    todo: list[tuple[str, frozenset[str]]] = [(root, frozenset()) for root in roots]
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


def _imported_modules(path: Path) -> set[str]:
    """The top-level modules a file imports (absolute imports only)."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    return {module.partition(".")[0] for _, module in sources.imported_modules(tree)}


def _reads_expectations(path: Path) -> bool:
    """Whether a file imports autograder.core.expectations (`from autograder.core import expectations` too)."""
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import) and any(a.name.startswith("autograder.core.expectations") for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (
                (node.module or "").startswith("autograder.core.expectations")
                or (node.module == "autograder.core" and any(a.name == "expectations" for a in node.names))):
            return True
    return False


def expectations_fresh(course: config.Course) -> bool:
    """Whether the expectation cache matches the suites, the reference and course.yml: the one
    question this module asks autograder.core.expectations (a stale cache makes grading use torch)."""
    from autograder.core import expectations

    return expectations.is_fresh(course)


def _keyed_for_package(cache: bytes, files: dict[str, tuple[bytes, int]]) -> bytes:
    """A cache found fresh for the whole course, under the key the package's own grader computes:
    that key covers what the package holds (one suite, the reference files it ships, a course.yml
    with one assignment), so the cache stays fresh inside the container and grading needs no torch."""
    from autograder.core import expectations

    with tempfile.TemporaryDirectory() as folder:
        for member, (data, _) in files.items():
            (Path(folder) / member).parent.mkdir(parents=True, exist_ok=True)
            (Path(folder) / member).write_bytes(data)
        key = expectations.cache_key(config.load(Path(folder) / "course.yml"))
    text = cache.decode("utf-8")
    return text.replace(json.dumps(json.loads(text)["key"]), json.dumps(key), 1).encode("utf-8")


def grading_needs_torch(course: config.Course, modules: Iterable[Path]) -> bool:
    """Whether grading with these hidden modules imports torch: one of them imports it itself
    (neural_nets: its expectations depend on each student's own parameters), or they read the
    expectation cache and it is stale (a miss computes with torch)."""
    modules = [path for path in modules if path.suffix == ".py"]
    if any("torch" in _imported_modules(path) for path in modules):
        return True
    return any(_reads_expectations(path) for path in modules) and not expectations_fresh(course)


def assignment_needs_torch(course: config.Course, assignment_name: str | None = None) -> bool:
    """grading_needs_torch for everything grading the assignment reads (grade-class.yml asks this
    to decide whether its runners install torch)."""
    _, assignment = course.assignment(assignment_name)
    return grading_needs_torch(course, hidden_files(course, assignment))


def _tree(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def hidden_files(course: config.Course, assignment: config.Assignment) -> set[Path]:
    """What grading the assignment reads besides the grader: its suite with every course module it imports, its
    probe modules and the conftest.py and pytest.ini pytest loads above it (pipeline.suite_files), the reference
    files its isolation modes place in a sandbox (only those: root-only in the container, like the suite), and
    the template's files the grader stages itself (provided_files)."""
    from autograder.core import pipeline

    suite = course.suite(assignment)
    files = set(pipeline.suite_files(course, assignment)[1])  # the suite, what it imports, its probes
    files |= {(suite.parents[1] / source).resolve() for source in assignment.provided_files.values()}
    if course.grading.isolate_parts:
        for mode in isolation.load_modes(suite).values():
            files.update(path.resolve() for path in mode.worker_files)
            # (reference code given as text comes from a notebook's recipe, shipped with the notebook)
            files.update(reference.resolve() for _, reference in mode.replaced if isinstance(reference, Path))
    return files


def _member(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        raise config.ConfigError(f"grading reads {path}, which is outside {root} (the folder holding the "
                                 "hidden suites' folder): move it there to ship it") from None


def package_files(course: config.Course, assignment_name: str | None = None) -> dict[str, tuple[bytes, int]]:
    """Every member of the autograder zip: path -> (bytes, file mode)."""
    name, assignment = course.assignment(assignment_name)
    suite = course.suite(assignment)
    if not suite.is_dir():
        raise config.ConfigError(f"the hidden suite {suite} of assignment {name!r} does not exist")
    root = suite.parents[1]  # the suites' folder sits here, beside solutions/ (their isolation modes read it)
    paths = {_member(path, root): path for path in hidden_files(course, assignment)}
    if assignment.kind == "notebook":
        from autograder.inputs import notebooks  # nbformat costs seconds to import: only for notebooks

        recipe = notebooks.recipes_dir(course.root) / f"{name}.py"
        if not recipe.is_file():
            raise config.ConfigError(f"notebook assignment {name!r} has no recipe at {recipe}")
        paths[recipe.relative_to(course.root).as_posix()] = recipe
        paths.update({f"{config.SOLUTIONS}/{f}": course.solutions / f for f in notebooks.included_files(recipe)})
    modules = [p for p in paths.values() if p.suffix == ".py"]
    cache = suite.parent / EXPECTATIONS_FILE
    ships_cache = cache.is_file() and any(_reads_expectations(p) for p in modules)
    roots = [*GRADING_DISTRIBUTIONS, *(["nbformat"] if assignment.kind == "notebook" else []),
             *allowed_distributions(course.grading.allowed_imports),
             *(TORCH if grading_needs_torch(course, modules) else ())]
    shipped = course.model_copy(update={"assignments": {
        name: assignment.model_copy(update={"suite": _member(suite, root)})}})
    text = {
        "course.yml": "# Generated by `course gradescope` from the course's course.yml: this assignment only.\n"
                      + yaml.safe_dump(shipped.model_dump(mode="json"), sort_keys=False, allow_unicode=True),
        "requirements.txt": "# Generated by `course gradescope`: what grading imports, pinned to the tested versions.\n"
                            + "".join(f"{pin}\n" for pin in pinned_requirements(roots)),
    }
    paths.update({f"autograder/{p.relative_to(PACKAGE_FILES.parent).as_posix()}": p
                  for p in _tree(PACKAGE_FILES.parent)})
    files = {member: (path.read_bytes(), 0o644) for member, path in paths.items()}
    files.update({member: (data.encode("utf-8"), 0o644) for member, data in text.items()})
    for script in ("setup.sh", "run_autograder"):
        files[script] = ((PACKAGE_FILES / script).read_bytes(), 0o755)
    if ships_cache:
        data = cache.read_bytes()
        files[_member(cache, root)] = (_keyed_for_package(data, files) if expectations_fresh(course) else data, 0o644)
    return files


def zip_bytes(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A reproducible zip: fixed timestamps, sorted members, the given file modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in sorted(files):
            data, mode = files[member]
            info = zipfile.ZipInfo(member, ZIP_DATE)
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"), help="the zip to write")
    options.add_course_options(parser)


def main(*, out: Path = Path("autograder.zip"), assignment: str | None = None,
         config_path: Path | None = None) -> int:
    course = config.load(config_path)
    name, _ = course.assignment(assignment)
    try:
        check_writable(out)
        files = package_files(course, name)
        atomic_write(out, zip_bytes(files))
    except OutputError as exc:
        print(f"course gradescope: {exc}", file=sys.stderr)
        return 2
    print(f"course gradescope: wrote {out} ({len(files)} files) for assignment {name!r}; upload it as "
          "the assignment's autograder on an Ubuntu 22.04 or 24.04 base image (docs/gradescope.md)",
          file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    return main(out=args.out, assignment=args.assignment, config_path=args.config)
