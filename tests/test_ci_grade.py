"""`course ci-grade` end to end on scratch git repositories, as grade-pr.yml runs it.

The course repository's default branch is the generated student template; pull requests are
branches on a student's clone, shipped to a main-only clone as a git bundle, exactly like the
Submission -> Grade pull request workflows. Fixes are the reference files copied from
solutions/ at test time. Every run goes through the real entry point (`python -m autograder
ci-grade`) with the environment variables GitHub Actions sets.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
from checkout import REPO_ROOT
from markdown_it import MarkdownIt

from autograder import config
from autograder.frontends.ci_grade import DISALLOWED_FLAG, _code, _git, changes, marker
from autograder.frontends.grade import grade
from autograder.inputs.sources import read_commit
from autograder.outcome.feedback import feedback_of
from autograder.outcome.results import PullRequest, Results
from autograder.render.text import score_of

TEMPLATE = REPO_ROOT / "student_template"
SOLUTIONS = REPO_ROOT / "solutions"
ASSIGNMENT, ASSIGNMENT_CONFIG = config.load().assignment()
STUDENT_FILES = ASSIGNMENT_CONFIG.student_files
GIT_ENV = {"GIT_AUTHOR_NAME": "Student", "GIT_AUTHOR_EMAIL": "student@example.org",
           "GIT_COMMITTER_NAME": "Student", "GIT_COMMITTER_EMAIL": "student@example.org"}
TAMPERED = ("tests/test_operations.py", ".github/workflows/visible-tests.yml", "conftest.py")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=True)
    return done.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def copy_fix(repo: Path) -> None:
    for relative in STUDENT_FILES:
        shutil.copyfile(SOLUTIONS / relative, repo / relative)


def hostile_engine(paths: dict[str, Path]) -> str:
    """The template's engine.py, plus an import-time attack on everything the workflow relies on."""
    attack = f'''
import os as _os
for _name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV"):
    try:
        open(_os.environ[_name], "a").write("score=100\\n## micrograd: 100/100\\n")
    except (KeyError, OSError):
        pass
for _path in {[str(p) for p in paths.values()]!r}:
    try:
        open(_path, "a").write("score=100\\n| Operations | 30/30 |\\n")
    except OSError:
        pass
try:
    open({str(REPO_ROOT / "grading_tests" / "pytest.ini")!r}).read()
    print("HIDDEN-TESTS-READABLE")
except OSError:
    print("HIDDEN-TESTS-BLOCKED")
print("HOSTILE-RAN")
print("::set-output name=score::100")
print("::stop-commands::pwned")
print("::warning::pwned")
print("::add-mask::pwned")
'''
    # Error messages are quoted in diagnoses (in full from the own-code worker, which grades tanh; a
    # worker that holds reference code, which grades backward(), withholds them): this one tries to
    # forge a table row and a command.
    forged = '''
def _hostile(self, *args):
    raise RuntimeError("::error::pwned | forged row | 100/100 |\\n::set-output name=score::100")
Value.backward = Value.tanh = _hostile
'''
    return attack + (TEMPLATE / "micrograd" / "engine.py").read_text(encoding="utf-8") + forged


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> dict:
    """A student's clone: main = the template, plus one branch per kind of pull request."""
    root = tmp_path_factory.mktemp("ci")
    repo = root / "student"
    shutil.copytree(TEMPLATE, repo, ignore=shutil.ignore_patterns("__pycache__"))
    git(repo, "init", "-q", "-b", "main")
    shas = {"main": commit_all(repo, "the assignment")}

    git(repo, "checkout", "-q", "-b", "fix")
    copy_fix(repo)
    shas["fix"] = commit_all(repo, "my engine and nn")

    git(repo, "checkout", "-q", "-b", "tamper")
    with open(repo / TAMPERED[0], "a", encoding="utf-8") as f:
        f.write("\ndef test_always_passes():\n    assert True\n")
    with open(repo / TAMPERED[1], "a", encoding="utf-8") as f:
        f.write("# and a change to the workflow\n")
    (repo / TAMPERED[2]).write_text("collect_ignore = ['tests']\n")
    shas["tamper"] = commit_all(repo, "my engine and nn, and some other changes")

    # The attack writes to the files of the job that grades it (their paths are guessable).
    job = {"output": root / "github_output", "env": root / "github_env", "summary": root / "step_summary"}
    git(repo, "checkout", "-q", "-b", "hostile", "main")
    (repo / "micrograd" / "engine.py").write_text(hostile_engine(job), encoding="utf-8")
    shas["hostile"] = commit_all(repo, "totally normal engine")
    git(repo, "checkout", "-q", "main")
    return {"root": root, "repo": repo, "shas": shas, "job": job}


def course_clone(student: dict, name: str) -> Path:
    """The privileged job's checkout: the course repository's default branch only."""
    clone = student["root"] / name
    # --no-local: a local clone would copy every object, pull request commits included.
    subprocess.run(["git", "clone", "-q", "--no-local", "--single-branch", "--branch", "main", str(student["repo"]),
                    str(clone)], check=True, capture_output=True)
    return clone


def bundle_of(student: dict, branch: str) -> Path:
    """What submission.yml uploads: `git bundle create submission.bundle HEAD` on the PR head."""
    work = student["root"] / f"checkout-{branch}"
    if not work.exists():
        subprocess.run(["git", "clone", "-q", "--branch", branch, str(student["repo"]), str(work)],
                       check=True, capture_output=True)
    path = student["root"] / f"{branch}.bundle"
    git(work, "bundle", "create", "-q", str(path), "HEAD")
    return path


def run_ci_grade(student: dict, *, head: str, bundle: Path, name: str) -> tuple[subprocess.CompletedProcess, Path]:
    """grade-pr.yml's Grade step, with the variables GitHub Actions sets for it."""
    clone = course_clone(student, f"course-{name}")
    out = student["root"] / f"out-{name}"
    job = student["job"]
    for path in job.values():
        path.write_text("")
    env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(job["output"]),
           "GITHUB_ENV": str(job["env"]), "GITHUB_STEP_SUMMARY": str(job["summary"]),
           "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "course/micrograd",
           "GITHUB_RUN_ID": "4242"}
    done = subprocess.run(
        [sys.executable, "-P", "-m", "autograder", "ci-grade", "--repo", str(clone), "--base", "HEAD",
         "--head", head, "--bundle", str(bundle), "--out", str(out)],
        capture_output=True, text=True, env=env, cwd=student["root"], timeout=600)
    return done, out


@pytest.fixture(scope="module")
def reference_results(tmp_path_factory) -> Results:
    """The same files graded directly: what ci-grade must report for the fix."""
    folder = tmp_path_factory.mktemp("direct") / "reference"
    for relative in STUDENT_FILES:
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SOLUTIONS / relative, folder / relative)
    return grade([folder])[0]


@pytest.fixture(scope="module")
def template_results() -> Results:
    return grade([TEMPLATE])[0]


def log_is_neutralised(done: subprocess.CompletedProcess) -> list[str]:
    """The job log: check that it all sits inside one stop-commands block; return what is inside.

    ci-grade flushes stdout after stopping commands and stderr before resuming them, so every
    stderr line lands inside the block in the runner's interleaved log too."""
    stdout = done.stdout.splitlines()
    start = re.fullmatch(r"::stop-commands::([0-9a-f]{32})", stdout[0])
    assert start, f"the log does not start by stopping workflow commands: {stdout[:1]}"
    assert stdout[-1] == f"::{start.group(1)}::"
    return stdout[1:-1] + done.stderr.splitlines()


def read(out: Path) -> dict:
    return {
        "results": Results.from_dict(json.loads((out / "results.json").read_text())),
        "summary": (out / "summary.md").read_text(),
        "comment": (out / "comment.md").read_text(),
        "comment_json": json.loads((out / "comment.json").read_text()),
        "status": json.loads((out / "status.json").read_text()),
        "marker": (out / "comment-marker.txt").read_text().strip(),
    }


def score_text(results: Results) -> str:
    return score_of(results.score, results.max_score)


@pytest.mark.slow
def test_fix_is_graded_and_reported_everywhere(student, reference_results):
    done, out = run_ci_grade(student, head=student["shas"]["fix"], bundle=bundle_of(student, "fix"), name="fix")
    assert done.returncode == 0, done.stderr
    posted = read(out)
    results = posted["results"]

    assert [(t.name, t.score) for t in results.tests] == [(t.name, t.score) for t in reference_results.tests]
    assert results.score == reference_results.score
    assert results.max_score == config.load().assignment()[1].max_score
    assert results.pull_request == PullRequest(student["shas"]["main"], student["shas"]["fix"],
                                               tuple(sorted(STUDENT_FILES)), ())
    assert DISALLOWED_FLAG not in results.flags

    summary = posted["summary"]
    model = feedback_of(results)
    assert summary.startswith(f"## {ASSIGNMENT}: {model.score}\n")
    tokens = MarkdownIt("commonmark").enable("table").parse(summary)
    cells = [t.children[0].content if t.children else "" for t in tokens if t.type == "inline"]
    for part in model.parts:  # the parts at a glance, each with its points
        assert any(cell == part.title for cell in cells) and part.score in cells
    for part in model.failing_parts:  # then each failure whole, in its part
        assert f"{part.title}: {part.score}" in cells
        for failure in part.failures:
            assert f"`{failure.test}`" in summary and f"{failure.headline}\n" in summary
    assert student["job"]["summary"].read_text() == summary + "\n"

    assert posted["marker"] == marker(ASSIGNMENT) and posted["comment"].startswith(posted["marker"] + "\n")
    assert summary in posted["comment"] and posted["comment_json"] == {"body": posted["comment"]}
    assert "https://github.com/course/micrograd/actions/runs/4242" in posted["comment"]
    assert posted["status"] == {
        "state": "success" if results.score >= results.max_score - 1e-9 else "failure",
        "context": ASSIGNMENT,
        "description": model.score, "target_url": "https://github.com/course/micrograd/actions/runs/4242"}

    log = log_is_neutralised(done)
    assert log == [f"course ci-grade: {ASSIGNMENT} {score_text(results)} for commit {student['shas']['fix'][:12]}"]
    assert student["job"]["output"].read_text() == "" and student["job"]["env"].read_text() == ""


@pytest.mark.slow
def test_changes_outside_the_student_files_are_flagged_and_ignored(student, reference_results):
    done, out = run_ci_grade(student, head=student["shas"]["tamper"], bundle=bundle_of(student, "tamper"),
                             name="tamper")
    assert done.returncode == 0, done.stderr
    posted = read(out)
    results = posted["results"]

    assert results.score == reference_results.score  # graded on engine.py and nn.py only
    assert DISALLOWED_FLAG in results.flags
    assert results.pull_request.ignored_files == tuple(sorted(TAMPERED))
    assert results.pull_request.changed_files == tuple(sorted([*TAMPERED, *STUDENT_FILES]))
    assert results.messages[0].startswith("This pull request also changes files that are not graded: ")
    for name in TAMPERED:
        assert name in results.messages[0] and name in posted["summary"] and name in posted["comment"]
    assert posted["status"]["description"] == f"{score_text(results)} (changes outside the graded files ignored)"
    assert log_is_neutralised(done)[-1].endswith("; 3 changed file(s) ignored")


@pytest.mark.slow
def test_hostile_pull_request_cannot_change_its_score(student, template_results):
    done, out = run_ci_grade(student, head=student["shas"]["hostile"], bundle=bundle_of(student, "hostile"),
                             name="hostile")
    assert done.returncode == 0, done.stderr
    posted = read(out)
    results = posted["results"]

    assert "HOSTILE-RAN" in results.output_excerpt, "the attack did not run, so this test shows nothing"
    assert "HIDDEN-TESTS-BLOCKED" in results.output_excerpt
    assert "HIDDEN-TESTS-READABLE" not in results.output_excerpt
    assert results.score == template_results.score
    assert [(t.name, t.score) for t in results.tests] == [(t.name, t.score) for t in template_results.tests]
    assert posted["status"]["description"] == feedback_of(results).score

    # The job's own files hold only what ci-grade wrote.
    assert student["job"]["output"].read_text() == ""
    assert student["job"]["env"].read_text() == ""
    assert student["job"]["summary"].read_text() == posted["summary"] + "\n"
    assert "score=100" not in posted["summary"] and "30/30" not in posted["summary"]
    # Quoted student text is inert in the Markdown: it sits only in fenced blocks and code spans, so it makes
    # no row, and no line outside a fence starts a command.
    assert any("::set-output name=score::100" in t.output for t in results.tests)
    for text in (posted["summary"], posted["comment"]):
        tokens = MarkdownIt("commonmark").enable("table").parse(text)
        fenced = "".join(token.content for token in tokens if token.type == "fence")
        assert "| forged row |" in fenced and not any(
            "forged row" in token.content for token in tokens if token.type == "inline")
        outside = [line for token in tokens if token.type != "fence" for line in token.content.splitlines()]
        assert not any(line.startswith("::") for line in outside)
    # Nothing the submission printed reaches the job log, and no line of it is a live command.
    log = log_is_neutralised(done)
    assert not any("pwned" in line or "HOSTILE" in line for line in log)
    assert not any(line.startswith("::") for line in log)


def test_a_bundle_without_the_named_commit_is_not_graded(student):
    """The bundle comes from the untrusted run: only the head sha GitHub names is graded."""
    done, out = run_ci_grade(student, head=student["shas"]["fix"], bundle=bundle_of(student, "hostile"),
                             name="swapped")
    assert done.returncode == 1
    assert not (out / "results.json").exists()
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "error" and status["context"] == ASSIGNMENT
    comment = (out / "comment.md").read_text()
    assert comment.startswith(marker(ASSIGNMENT)) and "not graded" in comment
    assert f"does not contain commit {student['shas']['fix'][:12]}" in comment
    log_is_neutralised(done)


def test_changed_files_are_counted_from_the_merge_base(student, tmp_path):
    """A base branch that moved on after the student branched adds nothing to the PR's changes."""
    repo = course_clone(student, "moved-base")
    git(repo, "fetch", "-q", str(student["repo"]), "tamper")
    (repo / "README.md").write_text("updated instructions\n")
    commit_all(repo, "the instructor updates the README")
    change = changes(repo, "HEAD", student["shas"]["tamper"], STUDENT_FILES)
    assert change.base == student["shas"]["main"]
    assert change.ignored == tuple(sorted(TAMPERED))
    assert change.graded == tuple(STUDENT_FILES)

    source = read_commit(partial(_git, repo), change.head, "pr", ASSIGNMENT_CONFIG)
    assert source.notes == ()
    assert source.files == {relative: (SOLUTIONS / relative).read_bytes() for relative in STUDENT_FILES}


def test_only_regular_files_are_staged(student, tmp_path):
    """A symlink named engine.py could point at the grader's files; it is not read."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(student["repo"]), str(repo)], check=True, capture_output=True)
    engine = repo / STUDENT_FILES[0]
    engine.unlink()
    engine.symlink_to("/etc/passwd")
    head = commit_all(repo, "a symlink")
    change = changes(repo, "HEAD~1", head, STUDENT_FILES)
    source = read_commit(partial(_git, repo), change.head, "pr", ASSIGNMENT_CONFIG)
    assert source.notes == (f"{STUDENT_FILES[0]} is not a regular file in this commit (a symlink or folder?); "
                            "it was not graded.",)
    assert set(source.files) == {STUDENT_FILES[1]}


@pytest.mark.parametrize("text, expected", [
    ("a | b", "`a \\| b`"),
    ("line one\n| forged | row |", "`line one \\| forged \\| row \\|`"),
    ("<img src=x onerror=alert(1)>", "`<img src=x onerror=alert(1)>`"),
    ("`code` and <!-- course-ci-grade:micrograd -->", "`` `code` and <!-- course-ci-grade:micrograd --> ``"),
    ("[a](https://e.example) @octocat #1", "`[a](https://e.example) @octocat #1`"),
])
def test_student_text_is_inert_in_the_markdown(text, expected):
    """A code span: GitHub shows it as written (no HTML, link, mention or reference); tests/test_attack_escaping.py
    parses what every renderer makes of arbitrary text."""
    assert _code(text) == expected


def test_long_student_text_is_cut():
    assert _code("x" * 10_000) == "`" + "x" * 299 + "…`"


def test_with_a_bundle_only_a_full_commit_hash_names_the_head(student, tmp_path):
    """A ref name would be resolved in the course repository, not in the pull request."""
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-P", "-m", "autograder", "ci-grade", "--repo", str(student["repo"]), "--base", "main",
         "--head", "main", "--bundle", str(bundle_of(student, "fix")), "--out", str(out)],
        capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1
    assert "--head must be a full commit hash" in done.stderr
    assert json.loads((out / "status.json").read_text())["state"] == "error"
    assert not (out / "results.json").exists()
