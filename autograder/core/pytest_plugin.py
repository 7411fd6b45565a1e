"""Runs the hidden pytest suites over submissions, in the trusted process, and collects verdicts.

Each test receives the `submission` fixture: session-scoped and parametrized over the
submissions, so pytest runs every test for one submission before moving to the next, with
that submission's sandboxed workers (one per isolation mode a test asks for, see
autograder/core/isolation.py). Expectations cached in the suites (torch, references)
are computed once for the whole run. Verdicts come only from exceptions raised here:
`Mistake` carries the student-facing feedback, anything else is the grader's own fault.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from autograder.boundary.sandbox import Limits, Worker
from autograder.config import Course
from autograder.core import isolation, reference_numbers
from autograder.core.isolation import Mode
from autograder.core.suite import Mistake, Submission
from autograder.outcome import pictures
from autograder.outcome.results import Verdict

log = logging.getLogger("autograder")

INTERNAL_ERROR = ("The grader could not complete this test (an internal error, not your fault); "
                  "your instructor can see the details.")
NOT_GRADED = ("The grader stopped before this test (an internal error, not your fault); "
              "your instructor can see the details and will grade it again.")


def graded_test(item: pytest.Item) -> str:
    """The test a verdict is about: its node id without the submission parameter."""
    return item.nodeid.split("[")[0]


def submission_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("submission") if callspec is not None else None


@dataclass(frozen=True)
class Staged:
    """A submission copied into the grader's staging area, ready for a worker."""

    name: str
    directory: Path
    student_files: tuple[str, ...] = ()  # the assignment's (a reference worker names only these as missing)
    sources: Mapping[str, str] = field(default_factory=dict)  # the student files' text (Staging.sources)


class Workers:
    """One submission's workers, one per isolation mode, all started together (their start-up
    times overlap) and closed together when the submission is done (the own-mode worker first: its
    output is kept)."""

    def __init__(self, staged: Staged, limits: Limits, sandbox: str | None, modes: dict[str, Mode] | None,
                 probes: Sequence[Path] = (), redact: Callable[[str], str] | None = None):
        self.staged = staged
        own = Worker(staged.directory, limits, sandbox=sandbox, probes=probes, redact=redact)
        self.submissions = {isolation.OWN: Submission(staged.name, own, isolate=self.isolated if modes else None,
                                                      sources=staged.sources)}
        self.copies: list[Path] = []
        for name, mode in (modes or {}).items():
            self.copies.append(isolation.stage(staged.directory, name, mode))
            worker = Worker(self.copies[-1], limits, sandbox=sandbox, probes=probes, worker_files=mode.worker_files,
                            holds_reference=mode.holds_reference, replaced=[path for path, _ in mode.replaced],
                            student_files=staged.student_files, redact=redact)
            self.submissions[name] = Submission(staged.name, worker, name, dict(mode.graph_options), self.isolated,
                                                sources=staged.sources,
                                                explain_with_own_code=mode.explain_with_own_code)
        for submission in self.submissions.values():
            submission.worker.launch()

    @property
    def own(self) -> Submission:
        return self.submissions[isolation.OWN]

    def isolated(self, name: str) -> Submission:
        if name not in self.submissions:
            raise ValueError(f"unknown isolation mode {name!r} (the suite declares {sorted(self.submissions)})")
        return self.submissions[name]

    def start_test(self) -> None:
        for submission in self.submissions.values():
            submission.worker.start_test()

    def asked_reference(self) -> bool:
        """Whether the current test asked a worker that holds reference code."""
        return any(s.worker.holds_reference and s.worker.asked for s in self.submissions.values())

    def close(self) -> None:
        for submission in self.submissions.values():
            submission.worker.close()
        for copy in self.copies:
            shutil.rmtree(copy, ignore_errors=True)


class GradingPlugin:
    def __init__(self, staged: Iterable[Staged], limits: Limits, parts: set[str],
                 on_done: Callable[[str, list[Verdict], Worker, bool], None], sandbox: str | None = None,
                 course: Course | None = None, modes: dict[str, Mode] | None = None, probes: Sequence[Path] = (),
                 redact: Callable[[str], str] | None = None):
        """modes: the suite's isolation modes (autograder/core/isolation.py); none grades on the own code only.
        probes: the suite's own worker probe modules (autograder.boundary.sandbox.Worker).
        redact: applied to the text the workers send (autograder.outcome.results.Redactor).
        on_done(name, verdicts, worker, complete): one verdict per collected test, in collection order;
        complete is False when the session ended before some of them ran (their verdicts say so)."""
        self.staged = {s.name: s for s in staged}
        self.modes = modes or {}
        self.probes = tuple(probes)
        self.redact = redact
        self.workers: dict[str, Workers] = {}
        # The next submission's workers, started while this one is graded (their start-up is mostly
        # waiting); or what stopped them from starting, raised when that submission's turn comes.
        self._next: dict[str, Workers | Exception] = {}
        self._course = course
        self.limits = limits
        self.parts = parts
        self.on_done = on_done
        self.sandbox = sandbox
        self.verdicts: dict[str, dict[str, Verdict]] = {name: {} for name in self.staged}
        # Per submission, the tests the suite collected for it ({test: part}, in order): what a result
        # must hold, whichever of them ran.
        self.collected: dict[str, dict[str, str]] = {name: {} for name in self.staged}
        self.quoted = dict.fromkeys(self.staged, 0)  # numbers quoted from reference workers (reference_numbers)
        self.collection_errors: list[str] = []

    def pytest_configure(self, config: pytest.Config) -> None:
        # Feedback comes from Mistake, never from tracebacks: build them the cheap way
        # (--tb belongs to the terminal plugin, which grading switches off).
        config.option.tbstyle = "native"

    # -- collection ------------------------------------------------------------------------
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "submission" in metafunc.fixturenames:
            metafunc.parametrize("submission", list(self.staged), indirect=True, scope="session")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("part")
            if marker is None or marker.args[0] not in self.parts:
                where = marker.args[0] if marker else "no part marker"
                self.collection_errors.append(f"{item.nodeid}: part {where!r} is not in course.yml")
            elif (name := submission_of(item)) is not None and name in self.collected:
                self.collected[name][graded_test(item)] = marker.args[0]

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {report.longreprtext}")

    # -- fixtures --------------------------------------------------------------------------
    @pytest.fixture(scope="session")
    def course(self) -> Course:
        """The course being graded (from `--config`): hidden suites read tolerances and limits here."""
        if self._course is None:
            raise RuntimeError("the grader was started without a course")
        return self._course

    @pytest.fixture(scope="session")
    def submission(self, request: pytest.FixtureRequest) -> Iterator[Submission]:
        name = request.param
        workers = self._next.pop(name, None) or self._start_workers(name)
        if isinstance(workers, Exception):
            raise workers
        self.workers[name] = workers
        self._start_next_workers(after=name)
        try:
            yield workers.own
        finally:
            workers.close()
            del self.workers[name]
            verdicts, complete = self.verdicts_of(name)
            self.on_done(name, verdicts, workers.own.worker, complete)

    def verdicts_of(self, name: str) -> tuple[list[Verdict], bool]:
        """One verdict per collected test, in collection order (a test's share of its part never depends on
        which tests ran), and whether every one of them ran: a test without one failed, the grader's fault."""
        given = self.verdicts[name]
        missing = [test for test in self.collected[name] if test not in given]
        for test in missing:
            log.error("no verdict for %s of %s: the session ended before it", test, name)
        verdicts = [given.get(test) or Verdict(test, part, False, NOT_GRADED, "internal-error", ("internal_error",))
                    for test, part in self.collected[name].items()]
        return verdicts, not missing

    def _start_workers(self, name: str) -> Workers:
        return Workers(self.staged[name], self.limits, self.sandbox, self.modes, self.probes, self.redact)

    def _start_next_workers(self, after: str) -> None:
        """Start the workers of the submission graded after `after` (pytest takes them in the order
        they were staged): each still gets its own fresh workers, only sooner."""
        names = list(self.staged)
        following = names[names.index(after) + 1:names.index(after) + 2]
        for name in following:
            if name not in self._next:
                try:
                    self._next[name] = self._start_workers(name)
                except Exception as exc:  # that submission's problem: raised in its own turn
                    self._next[name] = exc

    def pytest_sessionfinish(self) -> None:
        for workers in self._next.values():  # started for a submission the session did not reach
            if isinstance(workers, Workers):
                workers.close()
        self._next.clear()

    @pytest.fixture(autouse=True)
    def _time_budget(self, submission: Submission) -> None:
        self.workers[submission.name].start_test()

    # -- verdicts --------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True, specname="pytest_runtest_makereport")
    def report_mistake(self, item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport | None:
        """A Mistake's report: the Mistake is the verdict, so no traceback is formatted for it (pytest's
        own report would format one per failed test, ~1 ms each, all of a stub's tests)."""
        if call.excinfo is None or not isinstance(call.excinfo.value, Mistake):
            return None
        try:
            longrepr = call.excinfo.exconly()
        except Exception:  # a Mistake that cannot say what it is: its verdict is made from its fields
            longrepr = "Mistake"
        return pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1), "failed",
                                 longrepr, call.when,  # type: ignore[arg-type]  # a test's call, never "collect"
                                 duration=call.duration, start=call.start,
                                 stop=call.stop, user_properties=item.user_properties)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
        # Nothing raised here may end the session (pytest's INTERNALERROR): the grader's own failure
        # around one test is that test's internal-error verdict, and grading goes on.
        outcome = yield
        try:
            report = outcome.get_result()
        except Exception:  # pytest's own report of the test failed (or report_mistake's)
            log.exception("internal error reporting %s", item.nodeid)
            report = pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1), "failed",
                                       "internal error in the report", call.when)  # type: ignore[arg-type]
            outcome.force_result(report)
        if report.passed and call.when in ("setup", "teardown"):
            return
        name, test, marker = submission_of(item), graded_test(item), item.get_closest_marker("part")
        if name is None or marker is None:  # not a graded test (collection reported a test without a part)
            return
        part = marker.args[0]
        try:
            verdict = self._verdict(name, test, part, report, call)
        except Exception:
            log.exception("internal error making the verdict of %s for %s", test, name)
            verdict = None
        if verdict is None:
            log.error("internal error in %s for %s:\n%s", test, name, report.longreprtext)
            verdict = Verdict(test, part, False, INTERNAL_ERROR, "internal-error", ("internal_error",))
        self.verdicts[name][test] = verdict

    def _verdict(self, name: str, test: str, part: str, report: pytest.TestReport,
                 call: pytest.CallInfo[None]) -> Verdict | None:
        """The verdict a test's report gives; None: the grader's own failure (an internal error)."""
        if report.passed:
            return Verdict(test, part, True)
        if call.excinfo is None or not isinstance(call.excinfo.value, Mistake):
            return None
        mistake = call.excinfo.value
        if name in self.workers and self.workers[name].asked_reference():
            mistake = self._narrowed(name, mistake)
        verdict = Verdict(test, part, False, mistake.feedback, mistake.pitfall, mistake.flags)
        if not mistake.picture:
            return verdict
        drawing = pictures.draw(mistake.picture)  # rendered here, once per failing test that drew one
        return replace(verdict, picture=drawing.svg) if drawing.svg else \
            replace(verdict, feedback=f"{mistake.feedback}\n{drawing.note}")

    def _narrowed(self, name: str, mistake: Mistake) -> Mistake:
        """The mistake of a test that asked a reference-bearing worker, quoting few short numbers."""
        budget = min(reference_numbers.PER_VERDICT, reference_numbers.PER_SUBMISSION - self.quoted[name])
        feedback, quoted = reference_numbers.requote(mistake.feedback, budget)
        picture = mistake.picture
        if picture and reference_numbers.count(picture) > budget - quoted:
            picture, feedback = "", f"{feedback}\n{reference_numbers.PICTURE_LEFT_OUT}"
        elif picture:
            picture, drawn = reference_numbers.requote(picture, budget - quoted)
            quoted += drawn
        self.quoted[name] += quoted
        return Mistake(mistake.pitfall, feedback, mistake.flags, picture=picture)


def run(suite: Path, plugin: GradingPlugin) -> None:
    """Run the suite for every staged submission; verdicts reach plugin.on_done per submission."""
    args = [str(suite), "-c", str(suite.parent / "pytest.ini"), "--rootdir", str(suite.parent),
            "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:stepwise",
            # No output capture: hidden tests print nothing, and results printed as each submission
            # finishes (`course grade` without --out) must reach the terminal.
            "-p", "no:unraisableexception", "-p", "no:capture",
            # Only pytest's own plugins: the environment's (anyio, pytest-benchmark, hypothesis's) cost
            # start-up and add nothing to a hidden suite. The suites never `assert` to decide a verdict
            # (verdicts are Mistakes), so rewriting their asserts would only cost start-up too.
            "--disable-plugin-autoload", "--assert=plain"]
    with _own_suite_imports(suite.parent):
        code = pytest.main(args, plugins=[plugin])
    if plugin.collection_errors or code in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR,
                                           pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.NO_TESTS_COLLECTED):
        problems = "\n".join(plugin.collection_errors) or f"pytest exit code {code}"
        raise RuntimeError(f"the hidden suite {suite} could not run:\n{problems}")


@contextlib.contextmanager
def _own_suite_imports(suites: Path) -> Iterator[None]:
    """A session imports its suites' own modules, and one process may grade several copies of a course (or
    several courses whose suites share names): for the session, modules imported under a name of one of these
    suites' files (import_name) from elsewhere are set aside; after it, the import path is as it was, the
    modules the session imported from the suites are forgotten and those set aside are back. This suites
    folder's own modules imported before the session stay (and with them what the process did to them)."""
    path = list(sys.path)
    names = {import_name(file)[1] for file in suites.rglob("*.py")}
    aside = {name: sys.modules.pop(name) for name in sorted(names & set(sys.modules))
             if not _file_in(sys.modules[name], suites)}
    before = set(sys.modules)
    try:
        yield
    finally:
        sys.path[:] = path
        for name in set(sys.modules) - before:
            if _file_in(sys.modules[name], suites):
                del sys.modules[name]
        sys.modules.update(aside)


def import_name(file: Path) -> tuple[Path, str]:
    """The folder pytest puts on sys.path for a suite's Python file and the name it imports the file under
    (its default "prepend" import mode): packages up to the first folder without an __init__.py."""
    names = [] if file.name == "__init__.py" else [file.stem]
    folder = file.parent
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        names.insert(0, folder.name)
        folder = folder.parent
    return folder, ".".join(names)


def _file_in(module: ModuleType, folder: Path) -> bool:
    file = getattr(module, "__file__", None)
    return isinstance(file, str) and Path(file).resolve().is_relative_to(folder)
