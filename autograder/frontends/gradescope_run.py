"""Inside Gradescope's container, as root: `python -m autograder.frontends.gradescope_run run|check`.

`run` (run_autograder) reads /autograder/submission/ as a Source (autograder.inputs.sources.read_upload),
grades it with autograder.core.pipeline.grade (the same pipeline and sandbox as `course grade`) and
writes /autograder/results/results.json atomically (autograder.render.files). Student code runs only in
the sandboxed worker; this process alone writes the results. `check` is setup.sh's last step.
AUTOGRADER_ROOT replaces /autograder, COURSE_SANDBOX (bwrap or process) forces a sandbox;
docs/gradescope.md has the details.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from autograder import config
from autograder.boundary.sandbox import Limits, SandboxUnavailable, Worker
from autograder.core import pipeline
from autograder.frontends import gradescope
from autograder.inputs import sources
from autograder.outcome import pictures
from autograder.outcome.results import Results, printable
from autograder.render.files import atomic_write
from autograder.render.text import code_block, markdown_text, score_of
from autograder.semester import limits

ROOT_ENV, SANDBOX_ENV = "AUTOGRADER_ROOT", "COURSE_SANDBOX"
DEFAULT_ROOT = Path("/autograder")
SANDBOX_WORDS = {
    "bwrap": "Your code ran in a bubblewrap sandbox: no network, none of the grader's files, a user of its own.",
    "process": "Your code ran as a user of its own that can read none of the grader's files.",
}
GRADER_ERROR = ("The autograder could not grade this submission (a problem on the course's side, not in "
                "your code). Your instructor can see why.")
# Some tests have no verdict (the grader failed on them): they count 0 until the instructor regrades, never
# full marks (a submission could then earn points by making the grader fail); every other test is graded.
NOT_ALL_GRADED = ("Some tests could not be graded (a problem on the course's side, not in your code): they "
                  "count 0 points for now, and your instructor can see why and grade them again. Every other "
                  "test is graded.")


# -- the results file -----------------------------------------------------------------------------
def _summary(results: Results, assignment: config.Assignment, sandbox: str | None) -> str:
    """The submission-level output students see: messages, visible parts, their own output."""
    blocks = [markdown_text(message) for message in results.messages]
    if "internal_error" in results.flags:
        blocks.insert(0, markdown_text(NOT_ALL_GRADED))
    shown = [p for p in results.parts if assignment.parts[p.name].visibility == "visible"]
    if shown and results.tests:
        blocks.append("\n".join(["| Part | Points |", "| --- | ---: |"] + [
            f"| {markdown_text(p.title)} | {score_of(p.score, p.max_score)} |" for p in shown]))
    if results.output_excerpt:
        blocks.append("Your code printed (the beginning):\n\n" + code_block(results.output_excerpt))
    if sandbox:
        blocks.append(markdown_text(SANDBOX_WORDS[sandbox]))
    return "\n\n".join(blocks)


def gradescope_json(results: Results, assignment: config.Assignment, *, sandbox: str | None,
                    seconds: float) -> dict:
    """results.json: Results.to_gradescope() with Markdown output, stdout hidden from students. A
    failing graph test's picture makes that test's output HTML: its feedback, then the picture as an
    <img> with a data: URI (Gradescope shows it; an image never runs anything the SVG holds)."""
    data = results.to_gradescope()
    drawn = {t.name: t.picture for t in results.tests if t.picture}
    for test in data["tests"]:
        if test["name"] in drawn:
            test["output"] = (f"<pre>{html.escape(printable(test['output']))}</pre>\n"
                              + pictures.readable_html(drawn[test["name"]], pictures.ALT))
            test["output_format"] = "html"
        else:
            test["output"] = markdown_text(test["output"])
    data.update(output=_summary(results, assignment, sandbox), output_format="md", test_output_format="md",
                stdout_visibility="hidden", execution_time=round(seconds))
    data["extra_data"]["sandbox"] = sandbox
    return data


def write_results(data: dict, path: Path) -> None:
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


# -- the container ------------------------------------------------------------------------------
def choose_sandbox(forced: str | None, limits: Limits) -> tuple[str, str]:
    """bwrap where a worker really starts in it here, else the process sandbox; and why."""
    if forced:
        return forced, f"chosen by {SANDBOX_ENV}"
    if shutil.which("bwrap") is None:
        return "process", "bubblewrap is not installed"
    probe = Path(tempfile.mkdtemp(prefix="course-probe-"))
    try:
        with Worker(probe, limits, sandbox="bwrap") as worker:
            worker.call("started?")  # no such probe: any reply, even that error, means the worker started
    except SandboxUnavailable as exc:
        return "process", f"bubblewrap cannot run in this container ({exc})"
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return "bwrap", "bubblewrap works in this container"


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
    """Grade root/submission and write root/results/results.json; always 0 once written."""
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
    metadata = sources.read_metadata(root / "submission_metadata.json")
    label = sources.metadata_name(metadata)
    sandbox = None
    earlier = limits.from_gradescope(metadata)
    now = limits.parse_time(str(metadata.get("created_at", ""))) or datetime.now(UTC)
    refused = limits.refusal(assignment.submission_limit, earlier, now)
    if refused:  # not run at all: the best earlier result stands (autograder.semester.limits)
        nothing = pipeline.ungraded(label, name, assignment, refused + limits.NONE_KEPT, limits.FLAG)
        data = limits.kept_on_gradescope(refused, earlier) or gradescope_json(
            nothing, assignment, sandbox=None, seconds=time.monotonic() - started)
        write_results(data, root / "results" / "results.json")
        print(f"{label}: submission limit reached; {data['score']:g} kept")
        return 0
    try:
        source = sources.read_upload(root / "submission", label, name, assignment)
        created = metadata.get("created_at")  # Gradescope's submission time (ISO 8601)
        source = replace(source, submitted_at=created) if isinstance(created, str) else source
        sandbox, why = choose_sandbox(forced_sandbox, pipeline.limits_for(course.grading))
        print(f"sandbox: {sandbox} ({why})")
        results = pipeline.grade([source], assignment_name=name, course=course, sandbox=sandbox)[0]
    except sources.InputError as exc:
        results = pipeline.ungraded(label, name, assignment, str(exc), "unrecognised_upload")
    except pipeline.GraderError as exc:  # grading stopped: what was graded counts, the rest is flagged
        traceback.print_exc(file=sys.stdout)
        results = exc.incomplete[0] if exc.incomplete else pipeline.ungraded(label, name, assignment, GRADER_ERROR,
                                                                      "grader_error")
    except Exception:  # the grader's own failure: details for the instructor (stdout), a notice for the student
        traceback.print_exc(file=sys.stdout)
        results = pipeline.ungraded(label, name, assignment, GRADER_ERROR, "grader_error")
    write_results(gradescope_json(results, assignment, sandbox=sandbox, seconds=time.monotonic() - started),
                  root / "results" / "results.json")
    print(f"{results.submission}: {score_of(results.score, results.max_score)}")
    return 0


def check(root: Path) -> int:
    """setup.sh's last step: the grader imports from the package, the course and suite load, and
    torch is installed if grading needs it."""
    course = config.load()
    name, assignment = course.assignment()
    problems = []
    imported_from = Path(config.__file__).resolve().parents[1]
    if imported_from != (root / "source").resolve():
        problems.append(f"the grader was imported from {imported_from}, not from {root / 'source'}")
    if not course.suite(assignment).is_dir():
        problems.append(f"the hidden suite {assignment.suite} is missing")
    elif importlib.util.find_spec("torch") is None and gradescope.assignment_needs_torch(course, name):
        problems.append("grading this suite would import torch, which is not installed: its expectation cache "
                        "is missing or stale here; run `course build`, then `course gradescope` again")
    for problem in problems:
        print(f"setup check: {problem}", file=sys.stderr)
    print(f"setup check: assignment {name!r}, bwrap {'found' if shutil.which('bwrap') else 'missing'}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.frontends.gradescope_run",
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
