"""The visible tests and the hidden suite apply one policy (student README, solutions/tests/, hidden suite).

Proved on the catalog: every correct variant passes every visible test, and no visible test fails on
a submission (correct variant or catalog bug) that the hidden suite gives full marks.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from checkout import REPO_ROOT

from autograder.frontends import validate
from autograder.frontends.grade import grade

CATALOG = REPO_ROOT / "grading_tests" / "catalog" / "catalog.py"
SOLUTIONS = REPO_ROOT / "solutions"


def visible_failures(submission: Path) -> list[str]:
    """Run the visible tests as a student does (`python -m pytest` in their folder); the failing tests."""
    shutil.copytree(SOLUTIONS / "tests", submission / "tests")
    shutil.copy(SOLUTIONS / "pyproject.toml", submission / "pyproject.toml")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=submission,
                          capture_output=True, text=True, timeout=300)
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", done.stdout, re.MULTILINE)
    assert failed or done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return failed


@pytest.mark.slow
def test_visible_tests_never_fail_code_the_hidden_suite_accepts(tmp_path):
    correct, bugs = validate.load_catalog(CATALOG)
    directories = {"reference": validate.write_submission(tmp_path / "reference",
                                                          validate.patched_sources((), "reference"))}
    for entry in [*correct, *bugs]:
        directories[entry.id] = validate.write_submission(tmp_path / entry.id,
                                                          validate.patched_sources(entry.patches, entry.id))
    graded = {r.submission: r for r in grade(list(directories.values()))}
    full_marks = {name for name, r in graded.items() if r.score >= r.max_score - 1e-6}
    assert {"reference", *(entry.id for entry in correct)} <= full_marks, "validate: a correct variant loses points"
    failures = {name: visible_failures(directories[name]) for name in sorted(full_marks)}
    assert not {name: failed for name, failed in failures.items() if failed}
    assert len(failures) > len(correct)  # the reference and every correct variant were run
