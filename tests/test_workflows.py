"""The GitHub Actions workflows: actionlint-clean, and shaped so that no pull request is a pwn request.

The rules checked here are the ones docs/ci-grading.md argues from: code from a pull request
runs only where there are no secrets and a read-only token; the privileged workflow never
checks out or runs it, interpolates nothing into shell scripts, echoes no API response (which
would quote student text into the log) and calls `course ci-grade` with arguments it accepts.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from checkout import REPO_ROOT

from autograder.cli import _parser
from autograder.entry_points import which

COURSE_WORKFLOWS = REPO_ROOT / ".github" / "workflows"
TEMPLATE_WORKFLOWS = [REPO_ROOT / "solutions" / ".github" / "workflows",
                      REPO_ROOT / "student_template" / ".github" / "workflows"]
SUBMISSION = COURSE_WORKFLOWS / "submission.yml"
GRADE_PR = COURSE_WORKFLOWS / "grade-pr.yml"
GRADE_CLASS = COURSE_WORKFLOWS / "grade-class.yml"
VISIBLE_TESTS = [folder / "visible-tests.yml" for folder in TEMPLATE_WORKFLOWS]
ALL = [SUBMISSION, GRADE_PR, *VISIBLE_TESTS]


def actionlint() -> str:
    """The real actionlint binary that the dev extra installs from PyPI (pyproject.toml)."""
    found = which("actionlint")
    if found is None:
        pytest.fail("actionlint is not installed: pip install -e '.[dev]'")
    return found


def zizmor() -> str:
    """zizmor, the GitHub Actions security linter that the dev extra installs from PyPI (pyproject.toml)."""
    found = which("zizmor")
    if found is None:
        pytest.fail("zizmor is not installed: pip install -e '.[dev]'")
    return found


def every_workflow() -> list[Path]:
    return sorted(p for folder in [COURSE_WORKFLOWS, *TEMPLATE_WORKFLOWS] for p in folder.glob("*.y*ml"))


def zizmor_findings(*paths: Path) -> list[dict]:
    """zizmor's findings of medium severity or higher, in-line suppressions honoured."""
    done = subprocess.run([zizmor(), "--offline", "--format", "json", "--min-severity", "medium", *map(str, paths)],
                          capture_output=True, text=True)
    assert done.stdout.startswith("["), done.stderr[-2000:]
    return json.loads(done.stdout)


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as true
    return workflow


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def uses(workflow: dict, action: str) -> list[dict]:
    return [step for step in steps(workflow) if step.get("uses", "").startswith(f"{action}@")]


def test_every_workflow_passes_actionlint():
    for path in ALL:
        assert path.is_file(), path
    done = subprocess.run([actionlint(), "-color=false", *map(str, every_workflow())], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_zizmor_finds_nothing_of_medium_or_higher():
    findings = zizmor_findings(*every_workflow())
    assert findings == [], [(f["ident"], f["desc"]) for f in findings]


def test_every_zizmor_suppression_gives_its_reason():
    suppressions = [line for path in every_workflow() for line in path.read_text().splitlines()
                    if "zizmor: ignore[" in line]
    assert suppressions, "grade-pr.yml's workflow_run is suppressed in-line, with its reason"
    for line in suppressions:
        reason = line.split("]", 1)[1].strip()
        assert len(reason.split()) >= 3, line


def test_zizmor_reports_an_action_pinned_to_a_tag(tmp_path):
    """The check above can fail: the same binary reports what pinning to a commit prevents."""
    unpinned = tmp_path / "unpinned.yml"
    unpinned.write_text("on: push\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
                        "      - uses: actions/checkout@v6\n        with:\n          persist-credentials: false\n")
    assert [finding["ident"] for finding in zizmor_findings(unpinned)] == ["unpinned-uses"]


@pytest.mark.parametrize("path", every_workflow(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_every_action_is_pinned_to_a_commit_with_its_version_named(path):
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip().lstrip("- ").startswith("uses:")]
    assert lines
    for line in lines:
        assert re.fullmatch(r"(- )?uses: [\w.-]+/[\w.-]+(/[\w.-]+)*@[0-9a-f]{40}  # v\d+\.\d+\.\d+", line), line


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    """The check above can fail: the same binary finds a mistake that YAML alone would accept."""
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  test:\n    runs-in: ubuntu-latest\n    steps:\n      - run: pytest\n")
    done = subprocess.run([actionlint(), "-color=false", str(broken)], capture_output=True, text=True)
    assert done.returncode == 1
    assert 'unexpected key "runs-in"' in done.stdout


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_no_expression_is_expanded_into_a_shell_script(path):
    """`${{ }}` in `run:` is pasted into the script before it runs (script injection); env is not."""
    for step in steps(load(path)):
        assert "${{" not in step.get("run", ""), step


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_no_workflow_uses_pull_request_target(path):
    assert "pull_request_target" not in load(path)["on"]


@pytest.mark.parametrize("path", [SUBMISSION, *VISIBLE_TESTS], ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_workflows_that_run_pull_request_code_hold_no_secrets(path):
    workflow = load(path)
    assert "pull_request" in workflow["on"]
    assert workflow["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values())
    assert "secrets." not in path.read_text()


def test_the_visible_tests_run_on_every_push_and_pull_request():
    for path in VISIBLE_TESTS:
        workflow = load(path)
        assert set(workflow["on"]) == {"push", "pull_request"}
        assert workflow["on"]["push"] is None and workflow["on"]["pull_request"] is None  # no filters
        assert [step["run"] for step in steps(workflow) if "run" in step][-1] == "python -m pytest"


def test_the_submission_run_only_packs_the_pull_request():
    workflow = load(SUBMISSION)
    assert list(workflow["on"]) == ["pull_request"]
    assert [step["run"] for step in steps(workflow) if "run" in step] == [
        'git bundle create "$RUNNER_TEMP/submission.bundle" HEAD']
    [upload] = uses(workflow, "actions/upload-artifact")
    assert upload["with"]["name"] == "submission"
    assert upload["with"]["path"] == "${{ runner.temp }}/submission.bundle"


def test_grading_runs_after_the_submission_with_the_least_privileges():
    workflow = load(GRADE_PR)
    assert workflow["on"] == {"workflow_run": {"workflows": [load(SUBMISSION)["name"]], "types": ["completed"]}}
    assert workflow["permissions"] == {}
    [job] = workflow["jobs"].values()
    assert job["permissions"] == {"actions": "read", "contents": "read", "pull-requests": "write",
                                  "statuses": "write"}
    assert "github.event.workflow_run.event == 'pull_request'" in job["if"]


def test_grading_never_checks_out_pull_request_code():
    workflow = load(GRADE_PR)
    checkouts = uses(workflow, "actions/checkout")
    assert len(checkouts) == 2
    for step in checkouts:
        options = step.get("with", {})
        assert options.get("persist-credentials") is False
        assert "workflow_run" not in str(options) and "pull_request" not in str(options)
    course, grader = checkouts
    assert "ref" not in course["with"]  # the default branch
    assert grader["with"]["repository"] == "${{ vars.GRADER_REPOSITORY }}"
    # The only thing taken from the Submission run is its bundle, downloaded as data.
    [download] = uses(workflow, "actions/download-artifact")
    assert download["with"]["name"] == load(SUBMISSION)["jobs"]["bundle"]["steps"][-1]["with"]["name"]
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"


def _ci_grade_arguments(script: str) -> list[str]:
    command = script.replace("\\\n", " ")
    command = re.sub(r"\$\{ASSIGNMENT:\+[^}]*\}", "", command)
    command = re.sub(r'"\$\(command -v python\)"', "python", command)
    words = shlex.split(command)
    return words[words.index("ci-grade"):]


def test_grading_calls_course_ci_grade_as_root_with_arguments_it_accepts():
    workflow = load(GRADE_PR)
    [grade] = [step for step in steps(workflow) if step.get("name") == "Grade"]
    script = grade["run"]
    assert script.startswith("sudo --preserve-env=GITHUB_ACTIONS,GITHUB_STEP_SUMMARY,")
    assert '"$(command -v python)" -P -m autograder ci-grade' in script  # -P: nothing imported from the cwd
    arguments = _ci_grade_arguments(script)
    parsed = _parser().parse_args(arguments)
    assert parsed.module == "autograder.frontends.ci_grade"
    assert parsed.head == "$HEAD_SHA" and parsed.base == "HEAD" and str(parsed.repo) == "course"
    assert str(parsed.bundle) == "$RUNNER_TEMP/submission/submission.bundle"
    assert workflow["jobs"]["grade"]["env"]["HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}"


def test_posting_steps_echo_nothing_they_post():
    """API responses quote the comment, and so student text: none may reach the job log."""
    workflow = load(GRADE_PR)
    posts = 0
    for step in steps(workflow):
        for line in step.get("run", "").replace("\\\n", " ").splitlines():
            if "gh api" in line and "--input" in line:
                posts += 1
                assert line.rstrip().endswith("> /dev/null"), line
    assert posts == 3  # the status, and the comment (updated or created)
    assert [step["name"] for step in steps(workflow) if step.get("if") == "${{ !cancelled() }}"] == [
        "Set the commit status", "Find the pull request", "Upload results.json"]


# -- torch: grading reads precomputed expectations (docs/ci-grading.md) ----------------------------
def installs(workflow: dict, job: str | None = None) -> list[str]:
    """The pip install commands of a workflow's run steps (of one job, if named)."""
    jobs = [workflow["jobs"][job]] if job else list(workflow["jobs"].values())
    return [line.strip() for j in jobs for step in j.get("steps", []) for line in step.get("run", "").splitlines()
            if "pip install" in line]


def test_grading_a_pull_request_installs_no_torch():
    assert installs(load(GRADE_PR)) == ["python -m pip install -e ./grader"]


def test_merging_a_class_installs_no_torch():
    assert installs(load(GRADE_CLASS), "merge") == ["python -m pip install -e ."]


@pytest.mark.parametrize(("assignment", "needs_torch"), [("derivatives", "False"), ("neural_nets", "True")])
def test_grading_a_class_installs_torch_only_for_a_suite_that_needs_it(assignment: str, needs_torch: str):
    """The shard job's own decision, run as the workflow runs it: neural_nets imports torch itself."""
    [install] = [step["run"] for step in load(GRADE_CLASS)["jobs"]["grade"]["steps"]
                 if "pip install" in step.get("run", "")]
    [decision] = re.findall(r"needs_torch=\$\(python -c '([^']*)' \"\$ASSIGNMENT\"\)", install)
    asked = subprocess.run([sys.executable, "-c", decision, assignment], capture_output=True, text=True, cwd=REPO_ROOT)
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.strip() == needs_torch
    assert 'if [ "$needs_torch" = True ]; then' in install
    assert "-e '.[torch]'" in install.split('if [ "$needs_torch" = True ]; then')[1]

