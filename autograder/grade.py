"""`course grade`: submission -> sandboxed worker -> observations -> verdicts -> results -> formats.

1. stage: copy only the files a student may change into a fresh folder; note what is missing,
   what does not compile and which forbidden modules are imported (read, never run).
2. run the hidden suites in this (trusted) process; they question the staged submission
   through its sandboxed worker (autograder.pytest_plugin, autograder.sandbox).
3. score: verdicts become points from course.yml, in a Results object.
4. write: Results rendered as json (Gradescope), junit or markdown.
"""

from __future__ import annotations

import argparse
import ast
import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from autograder import REPO_ROOT, batch, config, isolation, pytest_plugin
from autograder.formats import FORMATS, RENDER, SUFFIX
from autograder.pytest_plugin import GradingPlugin, Staged
from autograder.results import TOTAL_DECIMALS, PartResult, Redactor, Results, TestResult, Verdict
from autograder.sandbox import Limits, SandboxUnavailable, Worker, available_sandbox, check_sandbox

MAX_FILE_BYTES = 1 << 20
MAX_TEST_OUTPUT_CHARS = 2000  # one test's feedback; it quotes at most 300 characters of student text


class Staging:
    """The outcome of staging one submission: where its files are and what is wrong with them."""

    def __init__(self, name: str, directory: Path):
        self.staged = Staged(name, directory)
        self.messages: list[str] = []
        self.flags: set[str] = set()


def _forbidden_imports(tree: ast.AST, forbidden: Iterable[str]) -> list[tuple[int, str]]:
    names = set(forbidden)
    found = []
    for node in ast.walk(tree):
        modules = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        found += [(node.lineno, m) for m in modules if m.partition(".")[0] in names]
    return found


def stage(source: Path, name: str, into: Path, assignment: config.Assignment,
          grading: config.Grading) -> Staging:
    """Copy the gradable files of `source` (a directory in the template layout) into `into`."""
    staging = Staging(name, into)
    (into / "micrograd").mkdir(parents=True)
    (into / "micrograd" / "__init__.py").write_text("")
    for relative in assignment.student_files:
        origin = source / relative
        if origin.is_symlink() or not origin.is_file():
            staging.messages.append(f"{relative} is missing from the submission; tests that need it fail.")
            staging.flags.add("missing_file")
            continue
        data = origin.read_bytes()[:MAX_FILE_BYTES]
        target = into / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
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


def score(staging: Staging, verdicts: list[Verdict], assignment_name: str,
          assignment: config.Assignment, grading: config.Grading, redact: Redactor,
          output: bytes) -> Results:
    """Turn verdicts into points (course.yml), visibility and student-safe text."""
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
    for verdict in verdicts:
        part = assignment.parts[verdict.part]
        max_score = shares[verdict.test]
        tests.append(TestResult(
            name=verdict.test, part=verdict.part, score=max_score if verdict.passed else 0.0,
            max_score=max_score, status="passed" if verdict.passed else "failed",
            output=redact(verdict.feedback)[:MAX_TEST_OUTPUT_CHARS], visibility=part.visibility,
            pitfall=verdict.pitfall))
        flags.update(verdict.flags)
    parts = tuple(
        PartResult(name, part.title, round(sum(t.score for t in tests if t.part == name), TOTAL_DECIMALS),
                   part.points)
        for name, part in assignment.parts.items()
    )
    excerpt = output.decode("utf-8", "replace")[:grading.output_excerpt_chars]
    return Results(submission=staging.staged.name, assignment=assignment_name, tests=tuple(tests),
                   parts=parts, flags=tuple(sorted(flags)), messages=tuple(redact(m) for m in staging.messages),
                   output_excerpt=redact(excerpt))


class GraderError(RuntimeError):
    """The grader itself cannot run (not the submission's fault); the message says why."""


def submission_names(sources: list[Path]) -> list[str]:
    """One distinct name per source: its folder's name, with as many parent folders as it takes
    to tell apart folders of the same name (a/alice, b/alice -> a-alice, b-alice), and a
    counter for a folder given twice."""
    parts = [source.resolve().parts[1:] or ("root",) for source in sources]
    depth = [1] * len(sources)
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
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return unique


def _hidden_sources(suite: Path) -> list[str]:
    return [p.read_text(encoding="utf-8", errors="replace") for p in sorted(suite.rglob("*.py"))]


def grade(sources: list[Path], *, assignment_name: str | None = None, course: config.Course | None = None,
          sandbox: str | None = None, on_result=None) -> list[Results]:
    """Grade each source directory; return their Results in order (and hand each to on_result)."""
    course = course or config.load()
    assignment_name, assignment = course.assignment(assignment_name)
    grading = course.grading
    suite = (REPO_ROOT / assignment.suite).resolve()
    if not suite.is_dir():
        raise GraderError(f"the hidden suite {suite} of assignment {assignment_name!r} does not exist")
    sandbox = sandbox or available_sandbox()
    check_sandbox(sandbox, [suite, REPO_ROOT / "solutions"])
    modes = isolation.load_modes(suite) if grading.isolate_parts else {}
    redact = Redactor(_hidden_sources(suite) + isolation.reference_sources(modes))
    limits = Limits(grading.time_limit_seconds, grading.memory_limit_mb, tuple(grading.forbidden_imports))
    workspace = Path(tempfile.mkdtemp(prefix="course-grade-"))
    os.chmod(workspace, 0o711)
    stagings: dict[str, Staging] = {}
    for index, (source, name) in enumerate(zip(sources, submission_names(sources), strict=True)):
        stagings[name] = stage(source, name, workspace / f"s{index}", assignment, grading)
    results: dict[str, Results] = {}

    def done(name: str, verdicts: list[Verdict], worker: Worker) -> None:
        results[name] = score(stagings[name], verdicts, assignment_name, assignment, grading, redact,
                              worker.stdout_excerpt)
        if on_result:
            on_result(results[name])

    plugin = GradingPlugin([s.staged for s in stagings.values()], limits, set(assignment.parts), done, sandbox,
                          course, modes)
    try:
        pytest_plugin.run(suite, plugin)
    except RuntimeError as exc:  # the hidden suite could not run
        raise GraderError(str(exc)) from None
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    return [results[name] for name in stagings]


def write(results: Results, path: Path, fmt: str) -> None:
    """Write atomically: a reader never sees half a results file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(RENDER[fmt](results), encoding="utf-8")
    os.replace(temporary, path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", nargs="+", type=Path, help="submission directories (template layout)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--results", type=Path, help="results file for a single submission")
    where.add_argument("--out", type=Path, help="folder for one results file per submission")
    parser.add_argument("--format", choices=FORMATS, default="json")
    parser.add_argument("--assignment", help="assignment in course.yml (default: the first)")
    parser.add_argument("--config", type=Path, default=config.DEFAULT_PATH, help="course.yml to use")
    parser.add_argument("--sandbox", choices=("bwrap", "process"), help="default: bwrap where installed")
    batch.add_batch_arguments(parser)  # many submissions: autograder/batch.py


def _stage_notebooks(submissions: list[Path], assignment: str | None,
                     config_path: Path) -> tuple[list[Path], str | None]:
    """Notebook submissions (.ipynb) become folders of the code extracted from them (autograder.notebooks)."""
    from autograder import notebooks

    staged, assignment, workspace = notebooks.stage_notebooks(submissions, assignment, config.load(config_path))
    if workspace is not None:
        atexit.register(notebooks.cleanup, workspace)
    return staged, assignment


def main(*, submissions: list[Path], results: Path | None = None, out: Path | None = None,
         format: str = "json", assignment: str | None = None, config_path: Path = config.DEFAULT_PATH,
         sandbox: str | None = None, **batch_options) -> int:
    if batch.wanted(submissions, out, batch_options):
        return batch.main(inputs=submissions, out=out, format=format, assignment=assignment,
                          config_path=config_path, sandbox=sandbox, **batch_options)
    if any(s.suffix == ".ipynb" for s in submissions):  # nbformat costs seconds to import: only when needed
        submissions, assignment = _stage_notebooks(submissions, assignment, config_path)
    missing = [s for s in submissions if not s.is_dir()]
    if missing:
        print(f"course grade: not a submission directory: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    if len(submissions) > 1 and results is not None:
        print("course grade: several submissions need --out DIR, not --results FILE", file=sys.stderr)
        return 2
    course = config.load(config_path)

    def emit(result: Results) -> None:
        if out is not None:
            write(result, out / f"{result.submission}{SUFFIX[format]}", format)
        elif results is not None:
            write(result, results, format)
        else:
            sys.stdout.write(RENDER[format](result))
        print(f"{result.submission}: {result.score:g}/{result.max_score:g}", file=sys.stderr)

    try:
        grade(submissions, assignment_name=assignment, course=course, sandbox=sandbox, on_result=emit)
    except (GraderError, SandboxUnavailable) as exc:
        print(f"course grade: {exc}", file=sys.stderr)
        return 2
    return 0


def run(args: argparse.Namespace) -> int:
    return main(submissions=args.submissions, results=args.results, out=args.out, format=args.format,
                assignment=args.assignment, config_path=args.config, sandbox=args.sandbox,
                **batch.options(args))

