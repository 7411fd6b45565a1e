"""`course ci-grade`: grade one pull request in CI and write everything the workflow posts.

The privileged job of .github/workflows/grade-pr.yml calls this and only transports what it
writes (docs/ci-grading.md explains the design):

1. commits: the head commit, optionally fetched from a git bundle the unprivileged job uploaded.
   The bundle is untrusted data: only the head sha given on the command line (from GitHub's
   event, never from the bundle) is graded, and git checks that the commit has that hash.
2. changed files: `git diff` from the merge base of base and head to head. Files outside the
   assignment's student_files are flagged and ignored.
3. source: the student files at head, read from git objects (autograder.inputs.sources.read_commit,
   regular files only). Nothing is checked out, and nothing from the pull request runs outside
   the grader's sandbox.
4. grade: autograder.core.pipeline.grade, like every other front-end, stamped with the time it runs (the
   submission time deadlines use). With --history (the student's graded submissions, which the
   workflow keeps in its cache), the assignment's submission_limit applies first (autograder.semester.limits):
   a limited commit is not graded and keeps the best earlier result.
5. write into --out: results.json, results.html (with pictures of failing graphs), summary.md (also
   appended to $GITHUB_STEP_SUMMARY), comment.md and comment.json (the one PR comment, found again
   by the hidden marker in comment-marker.txt), status.json (a commit status named after the assignment, "37/40").

The job log gets only the grader's own words, inside a `::stop-commands::` block with a fresh
random token, so no text that a submission produced can act as a workflow command.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from autograder import config
from autograder.core.pipeline import grade, ungraded
from autograder.frontends import options
from autograder.inputs.sources import read_commit
from autograder.outcome import feedback
from autograder.outcome.results import PullRequest, Results, printable
from autograder.render.files import atomic_write
from autograder.render.formats import markdown_feedback, to_html, to_json
from autograder.render.text import markdown_code, markdown_plain
from autograder.semester import limits

DISALLOWED_FLAG = "changes_outside_student_files"
MAX_CELL_CHARS = 300
MAX_COMMENT_CHARS = 65_536  # GitHub's limit on a comment's body
MAX_LISTED_FILES = 20
# The grader's own log (internal errors quote hidden tests): kept out of the public job log
# and out of the uploaded artifact; the workflow leaves it on the runner.
GRADER_LOG = "grader.log"
# A comment shows the picture as Mermaid (formats.markdown_feedback); Graphviz's drawing is in results.html.
PICTURE_NOTE = "(the same picture, drawn by Graphviz, is in results.html, in this grading run's artifacts)"

log = logging.getLogger("autograder")


class CIGradeError(Exception):
    """The pull request could not be graded; the message is the grader's own, safe to show."""


@dataclass(frozen=True)
class Change:
    """What the pull request changed, as git sees it."""

    base: str  # merge base of the base branch and head
    head: str
    changed: tuple[str, ...]
    graded: tuple[str, ...]  # the assignment's student_files
    ignored: tuple[str, ...]  # changed files outside student_files

    @property
    def short(self) -> str:
        return self.head[:12]


# -- git (read only, except for fetching the bundle's objects) ---------------------------------
def _git(repo: Path, *args: str) -> bytes:
    # safe.directory: in CI the checkout belongs to the runner user while this runs as root.
    command = ["git", "-c", f"safe.directory={repo}", "-c", "transfer.fsckObjects=true", "-C", str(repo), *args]
    done = subprocess.run(command, capture_output=True, check=False)
    if done.returncode != 0:
        problem = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise CIGradeError(f"git {args[0]} failed: {problem[-1] if problem else f'exit {done.returncode}'}")
    return done.stdout


def _commit(repo: Path, ref: str) -> str:
    if ref.startswith("-"):
        raise CIGradeError(f"not a commit: {ref!r}")
    return _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}").decode().strip()


def fetch_bundle(repo: Path, bundle: Path, head: str) -> None:
    """Bring the bundle's objects into repo, then insist that it contained the expected head.

    Only objects arrive: no ref and no FETCH_HEAD is written, so the bundle cannot make a name
    (a branch, HEAD) point at its commits; hence head must be a full commit hash."""
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", head):
        raise CIGradeError(f"with --bundle, --head must be a full commit hash, not {head[:80]!r}")
    heads = _git(repo, "bundle", "list-heads", str(bundle.resolve())).decode("utf-8", "replace").splitlines()
    names = [line.split(" ", 1)[1] for line in heads if " " in line]
    refspecs = [name for name in names if name == "HEAD" or name.startswith("refs/")]
    if not refspecs:
        raise CIGradeError("the submission bundle names no commits")
    _git(repo, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", str(bundle.resolve()), *refspecs)
    try:
        _commit(repo, head)
    except CIGradeError:
        raise CIGradeError(f"the submission bundle does not contain commit {head[:12]}") from None


def changes(repo: Path, base: str, head: str, student_files: list[str]) -> Change:
    head_sha = _commit(repo, head)
    merge_base = _git(repo, "merge-base", _commit(repo, base), head_sha).decode().strip()
    names = _git(repo, "diff", "--name-only", "-z", "--no-renames", merge_base, head_sha, "--")
    changed = tuple(sorted(name.decode("utf-8", "replace") for name in names.split(b"\0") if name))
    allowed = set(student_files)
    return Change(base=merge_base, head=head_sha, changed=changed, graded=tuple(student_files),
                  ignored=tuple(name for name in changed if name not in allowed))


# -- what the student sees ---------------------------------------------------------------------
def _code(text: str, *, in_table: bool = True) -> str:
    """Text a student controls (feedback, messages, changed file names) as a code span: see markdown_code."""
    return markdown_code(text, MAX_CELL_CHARS, in_table=in_table)


def _listing(names: tuple[str, ...]) -> str:
    more = len(names) - MAX_LISTED_FILES
    return ", ".join(names[:MAX_LISTED_FILES]) + (f" and {more} more" if more > 0 else "")


def marker(assignment: str) -> str:
    """The hidden line that lets the workflow find (and update) its one comment on the PR."""
    return f"<!-- course-ci-grade:{assignment} -->"


def render_summary(results: Results, change: Change, decimals: int = feedback.DECIMALS) -> str:
    """The job summary and the comment's body: the total, what was ignored, the parts, then each failure whole
    (autograder/outcome/feedback.py), whole failures left out, last first, past GitHub's comment size."""
    model = feedback.feedback_of(results, decimals=decimals)
    lines = [f"## {markdown_plain(results.assignment)}: {model.score}", "",
             f"Graded commit {_code(change.short, in_table=False)}; graded files: "
             f"{_code(_listing(change.graded), in_table=False)}.", ""]
    messages = [markdown_code(message, in_table=False) for message in results.messages]  # never cut
    lines += [f"> {message}" for message in messages if message]
    if any(messages):
        lines.append("")
    hidden = sum(part.not_shown for part in model.parts)
    if hidden:
        lines += [f"{hidden} more tests are shown after grades are published.", ""]
    return "\n".join(lines + markdown_feedback(model, heading="##", picture_note=PICTURE_NOTE,
                                                max_chars=MAX_COMMENT_CHARS - 2000)) + "\n"


def render_comment(summary: str, assignment: str, run_url: str | None) -> str:
    footer = "This comment is updated on every push to the pull request."
    if run_url:
        footer += f" [Grading run]({run_url})."
    return f"{marker(assignment)}\n{summary}\n<sub>{footer}</sub>\n"


def _status(state: str, assignment: str, description: str, run_url: str | None) -> dict:
    body = {"state": state, "context": assignment, "description": description}
    return {**body, "target_url": run_url} if run_url else body


def status(results: Results, change: Change, run_url: str | None, decimals: int = feedback.DECIMALS) -> dict:
    """A commit status named after the assignment: success at full marks, failure below."""
    description = feedback.feedback_of(results, decimals=decimals).score
    if change.ignored:
        description += " (changes outside the graded files ignored)"
    full_marks = round(results.score, 4) >= round(results.max_score, 4)  # per-test points carry rounding
    return _status("success" if full_marks else "failure", results.assignment, description, run_url)


def _run_url() -> str | None:
    parts = [os.environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return "{}/{}/actions/runs/{}".format(*parts) if all(parts) else None


# -- output ------------------------------------------------------------------------------------
def _publish(out: Path, assignment: str, summary: str, status_body: dict, run_url: str | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    comment = render_comment(summary, assignment, run_url)
    atomic_write(out / "summary.md", summary)
    atomic_write(out / "comment.md", comment)
    atomic_write(out / "comment.json", json.dumps({"body": comment}) + "\n")
    atomic_write(out / "comment-marker.txt", marker(assignment) + "\n")
    atomic_write(out / "status.json", json.dumps(status_body, indent=2) + "\n")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as f:
            f.write(summary + "\n")


@contextmanager
def _workflow_commands_stopped() -> Iterator[None]:
    """In GitHub Actions, make the runner ignore `::` commands in this process's output."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        yield
        return
    token = secrets.token_hex(16)
    print(f"::stop-commands::{token}", flush=True)
    try:
        yield
    finally:
        sys.stderr.flush()
        print(f"::{token}::", flush=True)


def ci_grade(*, repo: Path, base: str, head: str, out: Path, bundle: Path | None = None,
             assignment_name: str | None = None, course: config.Course, sandbox: str | None = None,
             history: Path | None = None) -> Results:
    """Grade the pull request's head commit and write the files the workflow posts. With a `history` (the
    student's earlier graded submissions), the assignment's submission limit applies (autograder.semester.limits): a
    limited commit is not graded and keeps the best earlier result; a graded one is added to the history."""
    assignment_name, assignment = course.assignment(assignment_name)
    if bundle is not None:
        fetch_bundle(repo, bundle, head)
    change = changes(repo, base, head, assignment.student_files)
    now = datetime.now(UTC)  # the grader's clock, run as the push arrives: a commit's date is the student's to set
    source = dataclasses.replace(read_commit(partial(_git, repo), change.head, change.short, assignment),
                                 submitted_at=now.isoformat())
    earlier = limits.read_history(history) if history else []
    refused = limits.refusal(assignment.submission_limit, earlier, now) if history else None
    if refused:
        nothing = ungraded(change.short, assignment_name, assignment, refused + limits.NONE_KEPT, limits.FLAG)
        results = limits.kept(refused, earlier, nothing)
    else:
        [results] = grade([source], assignment_name=assignment_name, course=course, sandbox=sandbox)
        if history and results.complete:
            limits.record(history, now, results)
    notes = [f"This pull request also changes files that are not graded: {_listing(change.ignored)}. Only "
             f"{', '.join(change.graded)} count; the other changes were ignored."] if change.ignored else []
    results = dataclasses.replace(
        results,
        flags=tuple(sorted({*results.flags, *([DISALLOWED_FLAG] if change.ignored else [])})),
        messages=(*notes, *results.messages),
        pull_request=PullRequest(change.base, change.head, change.changed, change.ignored),
    )
    run_url = _run_url()
    out.mkdir(parents=True, exist_ok=True)
    # Both are uploaded with the run, where the student can download them: only what a student may see.
    uploaded = results.for_students()
    atomic_write(out / "results.json", to_json(uploaded))
    atomic_write(out / "results.html", to_html(uploaded, course.grading.shown_decimals))
    _publish(out, assignment_name, render_summary(results, change, course.grading.shown_decimals),
             status(results, change, run_url, course.grading.shown_decimals), run_url)
    return results


def _publish_error(out: Path, assignment: str, reason: str, head: str) -> None:
    run_url = _run_url()
    summary = (f"## {markdown_plain(assignment)}: not graded\n\nThe grader could not grade commit "
               f"{_code(head[:12], in_table=False)}: {_code(reason, in_table=False)}\n"
               "Your instructor can see the details in the grading run.\n")
    error = _status("error", assignment, "not graded: see the grading run", run_url)
    _publish(out, assignment, summary, error, run_url)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", type=Path, default=Path("."), help="git repository with base and head (default: .)")
    parser.add_argument("--base", required=True, help="the branch the pull request targets (a commit or ref)")
    parser.add_argument("--head", required=True, help="the pull request's head commit (full sha, from GitHub's event)")
    parser.add_argument("--bundle", type=Path, help="git bundle with the head commit (untrusted; checked by --head)")
    parser.add_argument("--out", type=Path, required=True, help="folder for results.json, summary, comment and status")
    parser.add_argument("--history", type=Path, metavar="FILE",
                        help="the student's graded submissions (JSON lines, kept by the workflow): applies the "
                             "assignment's submission_limit and records this one")
    options.add_course_options(parser)
    options.add_sandbox_option(parser)


def main(*, repo: Path, base: str, head: str, out: Path, bundle: Path | None = None,
         assignment: str | None = None, config_path: Path | None = None, sandbox: str | None = None,
         history: Path | None = None) -> int:
    course = config.load(config_path)
    assignment_name, _ = course.assignment(assignment)
    out.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(out / GRADER_LOG, encoding="utf-8")
    log.addHandler(handler)
    propagate, log.propagate = log.propagate, False
    with _workflow_commands_stopped():
        try:
            results = ci_grade(repo=repo.resolve(), base=base, head=head, out=out, bundle=bundle,
                               assignment_name=assignment_name, course=course, sandbox=sandbox, history=history)
        except CIGradeError as exc:
            _publish_error(out, assignment_name, str(exc), head)
            print(f"course ci-grade: not graded: {printable(exc)}", file=sys.stderr)
            return 1
        except Exception:
            log.exception("grading commit %s failed", head)
            _publish_error(out, assignment_name, "an internal error of the grader", head)
            print(f"course ci-grade: not graded: internal error (details in {out / GRADER_LOG})", file=sys.stderr)
            return 1
        finally:
            log.removeHandler(handler)
            log.propagate = propagate
            handler.close()
        graded = results.pull_request
        assert graded is not None  # ci_grade records what it graded
        ignored = graded.ignored_files
        print(f"course ci-grade: {assignment_name} {results.score:g}/{results.max_score:g} for commit "
              f"{graded.head[:12]}" + (f"; {len(ignored)} changed file(s) ignored" if ignored else ""))
    return 0


def run(args: argparse.Namespace) -> int:
    return main(repo=args.repo, base=args.base, head=args.head, out=args.out, bundle=args.bundle,
                assignment=args.assignment, config_path=args.config, sandbox=args.sandbox, history=args.history)
