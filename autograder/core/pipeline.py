"""The one grading path every front-end calls: Sources -> staged submissions -> verdicts -> Results.

1. stage: each Source's student files are written into a fresh folder (autograder.inputs.sources.stage),
   noting what is missing, what does not compile and which forbidden modules are imported.
2. run the assignment's hidden suite in this (trusted) process; it questions each staged
   submission through its sandboxed worker (autograder.core.pytest_plugin, autograder.boundary.sandbox).
3. score: verdicts become points from the course, in a Results object that also carries the
   grading key (what the result depends on, for batch resume).
Views (autograder.render: formats, gradebook; the class report, ci-grade) render the Results afterwards.
"""

from __future__ import annotations

import hashlib
import modulefinder
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from autograder import config
from autograder.boundary.sandbox import Limits, Worker, available_sandbox, check_sandbox
from autograder.core import isolation, policies, pytest_plugin
from autograder.core.pytest_plugin import GradingPlugin, Staged
from autograder.inputs.sources import Source, Staging, read_folder, stage, submission_names
from autograder.markers import strip_markers
from autograder.outcome.results import TOTAL_DECIMALS, PartResult, Redactor, Results, TestResult, Verdict

MAX_TEST_OUTPUT_CHARS = 2000  # one test's feedback; it quotes at most 300 characters of student text
WORKER_PROBES = "worker"  # a suite's probes when course.yml names none: <suite>/worker/*.py (docs/pipeline.md)


class GraderError(RuntimeError):
    """The grader itself cannot run (not the submission's fault); the message says why. incomplete: the
    results of submissions whose grading it cut short (Results.complete False), never handed to on_result."""

    def __init__(self, message: str, incomplete: Sequence[Results] = ()):
        super().__init__(message)
        self.incomplete = tuple(incomplete)


def score(staging: Staging, verdicts: list[Verdict], assignment_name: str,
          assignment: config.Assignment, grading: config.Grading, redact: Redactor,
          output: bytes, complete: bool = True) -> Results:
    """Turn verdicts into points (course.yml), visibility and student-safe text. verdicts: one per test the
    suite collected, in collection order (GradingPlugin.verdicts_of), so that a part's shares are the same
    whichever tests ran; complete: every one of them ran."""
    weights = {v.test: assignment.parts[v.part].test_weights.get(v.test.split("::")[-1], 1.0)
               for v in verdicts}
    part_weight = {part: sum(weights[v.test] for v in verdicts if v.part == part) for part in assignment.parts}
    # Each test's share of its part, rounded; the part's last test takes the rounding remainder
    # so that a part's shares add up to exactly its points.
    shares: dict[str, float] = {}
    for name, part in assignment.parts.items():
        tests_of_part = [v.test for v in verdicts if v.part == name]
        for test in tests_of_part[:-1]:
            shares[test] = round(part.points * weights[test] / part_weight[name], 6)
        if tests_of_part:
            shares[tests_of_part[-1]] = round(part.points - sum(shares[t] for t in tests_of_part[:-1]), 6)
    tests, flags = [], set(staging.flags)
    waived = policies.feedback_only(assignment)
    for verdict in verdicts:
        part = assignment.parts[verdict.part]
        max_score = shares[verdict.test]
        if not verdict.passed and verdict.pitfall in waived:  # shown, not graded (course.yml policies)
            verdict = replace(verdict, passed=True, feedback=policies.NOTE.format(name=verdict.pitfall)
                              + verdict.feedback)
        tests.append(TestResult(
            name=verdict.test, part=verdict.part, score=max_score if verdict.passed else 0.0,
            max_score=max_score, status="passed" if verdict.passed else "failed",
            # The grader's own words: what the student's code said was redacted as it left the worker.
            output=verdict.feedback[:MAX_TEST_OUTPUT_CHARS], visibility=part.visibility,
            pitfall=verdict.pitfall, picture=verdict.picture))
        flags.update(verdict.flags)
    parts = tuple(
        PartResult(name, part.title, round(sum(t.score for t in tests if t.part == name), TOTAL_DECIMALS),
                   part.points)
        for name, part in assignment.parts.items()
    )
    excerpt = output.decode("utf-8", "replace")[:grading.output_excerpt_chars]
    return Results(submission=staging.name, assignment=assignment_name, tests=tuple(tests),
                   parts=parts, flags=tuple(sorted(flags)), messages=tuple(redact(m) for m in staging.messages),
                   output_excerpt=redact(excerpt), complete=complete, submitted_at=staging.submitted_at)


# -- what a result depends on (batch resume) ---------------------------------------------------
def ungraded(label: str, assignment_name: str, assignment: config.Assignment, message: str, flag: str) -> Results:
    """A result for a submission nothing was graded for: every part 0, the reason in its messages."""
    parts = tuple(PartResult(p, part.title, 0.0, part.points) for p, part in assignment.parts.items())
    return Results(submission=label, assignment=assignment_name, tests=(), parts=parts, flags=(flag,),
                   messages=(message,))


def suite_files(course: config.Course, assignment: config.Assignment) -> tuple[Path, list[Path]]:
    """Every file of the course the assignment's hidden suite runs on, and the folder they are named from: all of
    the suite's own folder; the conftest.py and pytest.ini above it (pytest loads them) within the course's
    folder (or, for a suite kept outside it, the folder holding the suite); and each module there that its
    Python files import, found by modulefinder over the folders a suite imports from (its own, the other
    suites', the folders above it, the folder its packages are named from)."""
    suite = course.suite(assignment)
    base = course.root if suite.is_relative_to(course.root) else suite.parent
    above = [folder for folder in suite.parents if folder.is_relative_to(base) and folder != course.root]
    files = {path for path in suite.rglob("*") if path.is_file() and "__pycache__" not in path.parts}
    files |= set(probe_modules(course, assignment))
    files |= {folder / name for folder in above for name in ("conftest.py", "pytest.ini") if (folder / name).is_file()}
    named = {path: pytest_plugin.import_name(path) for path in sorted(p for p in files if p.suffix == ".py")}
    packages = {folder for folder, _ in named.values()} - {path.parent for path in named}
    folders = [suite, *dict.fromkeys(course.suite(other) for other in course.assignments.values()), *above,
               *sorted(packages)]
    # The grader's own package is not the course's, even where the course folder holds it (a clone).
    finder = modulefinder.ModuleFinder(path=[str(folder) for folder in folders], excludes=[__name__.partition(".")[0]])
    for path, (folder, name) in named.items():
        try:
            if folder == path.parent:
                finder.run_script(str(path))
            else:  # a package's module: imported by name, so its relative imports are followed
                finder.import_hook(name)
        except Exception:  # a file modulefinder cannot read (say, a syntax error) is still hashed itself
            continue
    found = [getattr(module, "__file__", None) for module in finder.modules.values()]
    files |= {Path(file).resolve() for file in found if file and Path(file).resolve().is_relative_to(base)}
    return base, sorted(files)


def grader_key(course: config.Course, assignment: config.Assignment) -> str:
    """What every result of this assignment depends on: the course file, the hidden suite with every course
    module it imports (suite_files) and the reference code its isolation modes run."""
    digest = hashlib.sha256(course.fingerprint)
    base, files = suite_files(course, assignment)
    for path in files:
        digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes() + b"\0")
    for source in isolation.reference_sources(_modes(course, course.suite(assignment))):
        digest.update(source.encode() + b"\0")
    return digest.hexdigest()


def grading_key(source: Source, assignment: config.Assignment, grader: str) -> str:
    """What one submission's result depends on: the grader (grader_key), its student files and, when known, the
    time it was handed in (the result records it for the late policy)."""
    digest = hashlib.sha256(grader.encode())
    for relative in assignment.student_files:
        data = source.files.get(relative, b"<missing>")
        digest.update(relative.encode() + b"\0" + hashlib.sha256(data).digest())
    if source.submitted_at:
        digest.update(b"submitted_at\0" + source.submitted_at.encode())
    return digest.hexdigest()


# -- grading -----------------------------------------------------------------------------------
def _hidden_sources(suite: Path) -> list[str]:
    return [p.read_text(encoding="utf-8", errors="replace") for p in sorted(suite.rglob("*.py"))]


def _modes(course: config.Course, suite: Path) -> dict[str, isolation.Mode]:
    """The suite's isolation modes, or none when the course grades every part on the student's own code."""
    return isolation.load_modes(suite) if course.grading.isolate_parts else {}


def probe_modules(course: config.Course, assignment: config.Assignment) -> list[Path]:
    """The probe modules the assignment's workers load: course.yml's `probes` folder, else the suite's worker/."""
    folder = course.root / assignment.probes if assignment.probes else course.suite(assignment) / WORKER_PROBES
    return sorted(folder.resolve().glob("*.py"))


def as_sources(submissions: Sequence[Source | Path], assignment_name: str,
               assignment: config.Assignment) -> list[Source]:
    """Sources as given; a folder in the template layout becomes one, named by the one naming rule."""
    folders = [s for s in submissions if not isinstance(s, Source)]
    names = iter(submission_names(folders, assignment_name))
    return [s if isinstance(s, Source) else read_folder(Path(s), next(names), assignment) for s in submissions]


def provided_files(course: config.Course, assignment: config.Assignment) -> dict[str, bytes]:
    """The template's files the grader stages beside a submission's (course.yml provided_files, relative
    to the folder holding the hidden suites' folder, beside solutions/, as a Gradescope package ships them)."""
    root = course.suite(assignment).parents[1]
    return {relative: strip_markers((root / source).read_text(encoding="utf-8")).encode()
            for relative, source in assignment.provided_files.items()}


def limits_for(grading: config.Grading) -> Limits:
    """The sandbox's limits and import policy from course.yml's grading section."""
    return Limits(grading.time_limit_seconds, grading.memory_limit_mb, tuple(grading.forbidden_imports),
                  tuple(grading.allowed_imports), tuple(grading.unavailable_imports))


def grade(sources: Sequence[Source | Path], *, assignment_name: str | None = None,
          course: config.Course | None = None, sandbox: str | None = None,
          on_result: Callable[[Results], None] | None = None) -> list[Results]:
    """Grade each source (a Source, or a folder in the template layout); return their Results in
    order (and hand each to on_result as it finishes). `course` defaults to the course.yml beside
    the package, for callers that have no other."""
    course = course or config.load()
    assignment_name, assignment = course.assignment(assignment_name)
    grading = course.grading
    suite = course.suite(assignment)
    if not suite.is_dir():
        raise GraderError(f"the hidden suite {suite} of assignment {assignment_name!r} does not exist")
    try:
        policies.check(assignment_name, assignment, suite)
    except config.ConfigError as exc:
        raise GraderError(str(exc)) from None
    sources = as_sources(sources, assignment_name, assignment)
    sandbox = sandbox or available_sandbox()
    check_sandbox(sandbox, [suite, course.solutions])
    modes = _modes(course, suite)
    redact = Redactor(_hidden_sources(suite) + isolation.reference_sources(modes))
    limits = limits_for(grading)
    grader = grader_key(course, assignment)
    keys = {s.name: grading_key(s, assignment, grader) for s in sources}
    workspace = Path(tempfile.mkdtemp(prefix="course-grade-"))
    os.chmod(workspace, 0o711)
    provided = provided_files(course, assignment)
    stagings = {s.name: stage(s, workspace / f"s{index}", assignment, grading, provided)
                for index, s in enumerate(sources)}
    results: dict[str, Results] = {}

    def done(name: str, verdicts: list[Verdict], worker: Worker, complete: bool) -> None:
        result = score(stagings[name], verdicts, assignment_name, assignment, grading, redact, worker.stdout_excerpt,
                       complete)
        results[name] = result.with_grading_key(keys[name], grader)
        if on_result and complete:  # a partial result is never written anywhere (see GraderError.incomplete)
            on_result(results[name])

    plugin = GradingPlugin([Staged(s.name, s.directory, tuple(assignment.student_files), s.sources)
                            for s in stagings.values()],
                           limits, set(assignment.parts),
                           done, sandbox, course, modes=modes, probes=probe_modules(course, assignment),
                           redact=redact)
    try:
        pytest_plugin.run(suite, plugin)
    except RuntimeError as exc:  # the hidden suite could not run, or not to the end
        raise GraderError(str(exc), [r for r in results.values() if not r.complete]) from None
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    return [results[name] for name in stagings]
