"""Policies (autograder/core/policies.py): a mistake the lecture's own code makes is charged by default, and
course.yml may make it feedback-only, for the hidden suite and the visible tests alike."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from checkout import REPO_ROOT

from autograder import config
from autograder.core import policies
from autograder.core.pipeline import GraderError, grade
from autograder.frontends import build, validate

CATALOG = REPO_ROOT / "grading_tests" / "catalog" / "catalog.py"
COURSE = config.load()
NAME, ASSIGNMENT = COURSE.assignment()


def with_policies(**chosen: str) -> config.Course:
    assignment = ASSIGNMENT.model_copy(update={"policies": dict(chosen)})
    return COURSE.model_copy(update={"assignments": {**COURSE.assignments, NAME: assignment}})


def catalog_submission(tmp_path: Path, entry_id: str) -> Path:
    correct, bugs = validate.load_catalog(CATALOG)
    entry = next(e for e in [*correct, *bugs] if e.id == entry_id)
    return validate.write_submission(tmp_path / entry_id, validate.patched_sources(entry.patches, entry.id))


def test_an_unknown_choice_is_refused_in_one_message(tmp_path: Path):
    text = (REPO_ROOT / "course.yml").read_text().replace("tanh-overflow: charged", "tanh-overflow: free")
    (tmp_path / "course.yml").write_text(text)
    with pytest.raises(config.ConfigError, match="tanh-overflow"):
        config.load(tmp_path / "course.yml")


def test_a_policy_the_suite_does_not_declare_stops_grading_with_one_message(tmp_path: Path):
    with pytest.raises(GraderError, match=r"'no-such-policy'.*declares: tanh-overflow, topo-recursion-limit"):
        grade([REPO_ROOT / "solutions"], course=with_policies(**{"no-such-policy": "charged"}))


@pytest.mark.slow
def test_feedback_only_shows_the_mistake_and_costs_nothing(tmp_path: Path):
    submission = catalog_submission(tmp_path, "tanh-exp-overflow")
    [charged] = grade([submission], course=with_policies(**{"tanh-overflow": "charged"}))
    [shown] = grade([submission], course=with_policies(**{"tanh-overflow": "feedback-only"}))
    lost = [t for t in charged.tests if t.status == "failed"]
    assert [t.pitfall for t in lost] == ["tanh-overflow"] and charged.score < ASSIGNMENT.max_score
    assert shown.score == pytest.approx(ASSIGNMENT.max_score)
    waived = next(t for t in shown.tests if t.name == lost[0].name)
    assert waived.status == "passed" and waived.output.startswith(policies.NOTE.format(name="tanh-overflow"))
    assert lost[0].output in waived.output  # the same feedback, shown


@pytest.mark.slow
@pytest.mark.parametrize("choice, outcome", [("charged", "1 failed"), ("feedback-only", "1 xfailed")])
def test_the_visible_deep_chain_test_follows_the_course_policy(tmp_path: Path, choice: str, outcome: str):
    """`course build` writes the choice for the visible tests: the lecture's recursive sort fails the visible
    deep-chain test only where the hidden suite charges it."""
    solutions = tmp_path / "solutions"
    shutil.copytree(REPO_ROOT / "solutions", solutions)
    assert build.build_visible_policies(with_policies(**{"topo-recursion-limit": choice}), solutions=solutions) == 0
    submission = catalog_submission(tmp_path, "lecture-recursive-sort")
    shutil.copytree(solutions / "tests", submission / "tests")
    shutil.copy(solutions / "pyproject.toml", submission / "pyproject.toml")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/test_topological_sort.py"], cwd=submission, capture_output=True, text=True,
                         timeout=300)
    assert outcome in run.stdout, run.stdout[-2000:]


def test_build_check_fails_when_the_visible_copy_is_stale(tmp_path: Path):
    solutions = tmp_path / "solutions"
    shutil.copytree(REPO_ROOT / "solutions", solutions)
    stale = with_policies(**{"topo-recursion-limit": "feedback-only"})
    assert build.build_visible_policies(stale, check=True, solutions=solutions) == 1
    assert build.build_visible_policies(stale, solutions=solutions) == 0
    assert build.build_visible_policies(stale, check=True, solutions=solutions) == 0
    assert "topo-recursion-limit" in (solutions / "tests" / build.VISIBLE_POLICIES).read_text()
