"""course.yml validation: every broken file gets a ConfigError naming the key, the value and what was expected."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from checkout import REPO_ROOT

from autograder import config

COURSE = yaml.safe_load((REPO_ROOT / "course.yml").read_text(encoding="utf-8"))


def written(tmp_path: Path, change: Callable[[dict], object]) -> Path:
    """course.yml with one change applied, written to a temporary file."""
    data = copy.deepcopy(COURSE)
    change(data)
    path = tmp_path / "course.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def message_for(path: Path) -> str:
    with pytest.raises(config.ConfigError) as info:
        config.load(path)
    return str(info.value)


def micrograd(data: dict) -> dict:
    return data["assignments"]["micrograd"]


def test_the_course_file_is_valid():
    name, assignment = config.load().assignment()
    assert name == "micrograd" and assignment.max_score == 100
    assert set(assignment.parts) == {"operations", "backward", "topo_sort", "nn", "training"}


@pytest.mark.parametrize("change, expected_lines", [
    (lambda d: d.pop("name"), ["name: required key is missing; expected a string"]),
    (lambda d: micrograd(d).pop("suite"), ["assignments.micrograd.suite: required key is missing; expected a string"]),
    (lambda d: d["grading"].update(memory_limit_mb="lots"),
     ["grading.memory_limit_mb: got 'lots'; expected a whole number"]),
    (lambda d: d["grading"].update(forbidden_imports="torch"),
     ["grading.forbidden_imports: got 'torch'; expected a list of strings"]),
    (lambda d: micrograd(d)["parts"]["nn"].update(points="many"),
     ["assignments.micrograd.parts.nn.points: got 'many'; expected a number"]),
    (lambda d: d["grading"].update(time_limt=3),
     ["grading.time_limt: unknown key (value 3); expected one of time_limit_seconds, memory_limit_mb,"]),
    (lambda d: d.update(assignment={}), ["assignment: unknown key (value {}); expected one of name, grading,"]),
    (lambda d: micrograd(d)["parts"]["nn"].update(points=-5),
     ["assignments.micrograd.parts.nn.points: got -5; expected a number greater than 0"]),
    (lambda d: micrograd(d)["parts"]["training"].update(points=0),
     ["assignments.micrograd.parts.training.points: got 0; expected a number greater than 0"]),
    (lambda d: d["grading"].update(memory_limit_mb=16),
     ["grading.memory_limit_mb: got 16; expected a whole number greater than or equal to 64"]),
    (lambda d: micrograd(d).update(parts={}),
     ["assignments.micrograd.parts: got {}; expected at least one graded part"]),
    (lambda d: micrograd(d).update(parts=None),
     ["assignments.micrograd.parts: got None; expected a mapping from names to a mapping with the keys title, points"]),
    (lambda d: micrograd(d)["parts"].update(nn=20),
     ["assignments.micrograd.parts.nn: got 20; expected a mapping with the keys title, points"]),
    (lambda d: micrograd(d).update(kind="script"),
     ["assignments.micrograd.kind: got 'script'; expected one of 'module', 'notebook'"]),
    (lambda d: (d["grading"].update(tolerances={"rel": -1}), d.pop("name")),
     ["name: required key is missing", "grading.tolerances.rel: got -1; expected a number greater than 0"]),
], ids=["missing-key", "missing-nested-key", "wrong-type", "wrong-type-list", "wrong-type-float", "unknown-key",
        "unknown-top-level-key", "negative-points", "zero-points", "below-minimum", "empty-parts", "null-parts",
        "part-not-a-mapping", "not-a-choice", "two-problems"])
def test_broken_config_names_key_value_and_expectation(tmp_path, change, expected_lines):
    message = message_for(written(tmp_path, change))
    head, *lines = message.splitlines()
    assert head == f"{tmp_path / 'course.yml'}: invalid course configuration:"
    assert len(lines) == len(expected_lines), message
    for expected in expected_lines:
        assert any(line.strip().startswith(expected) for line in lines), f"{expected!r} not in:\n{message}"


@pytest.mark.parametrize("text, expected", [
    ("name: x\ngrading:\n  time_limit_seconds: [3\nassignments: {}\n",
     ": line 4, column 12: not valid YAML (expected ',' or ']', but got ':')"),
    ("name: x\nassignments:\n\tmicrograd: {}\n", ": line 3, column 1: not valid YAML"),
    ("name: x\ngrading:\n  memory_limit_mb: 100\n  memory_limit_mb: 200\nassignments: {}\n",
     ": line 4, column 3: not valid YAML (key 'memory_limit_mb' given twice (first on line 3))"),
    ("- name\n- grading\n",
     ": the top level is ['name', 'grading'] (list); expected a mapping with the keys name, grading,"),
    ("just words\n", ": the top level is 'just words' (str); expected a mapping with the keys name,"),
    ("", ": the file is empty; expected a mapping with the keys name, grading, assignments"),
], ids=["syntax-error", "tab-indent", "duplicate-key", "top-level-list", "top-level-string", "empty-file"])
def test_unreadable_config(tmp_path, text, expected):
    path = tmp_path / "course.yml"
    path.write_text(text, encoding="utf-8")
    assert message_for(path).startswith(f"{path}{expected}")


def test_missing_file(tmp_path):
    assert message_for(tmp_path / "nope.yml") == f"{tmp_path / 'nope.yml'}: file not found"


def test_yaml_merge_keys_may_override(tmp_path):
    data = copy.deepcopy(COURSE)
    text = yaml.safe_dump(data, sort_keys=False).replace("  time_limit_seconds: 3", "  <<: {time_limit_seconds: 1}\n"
                                                         "  time_limit_seconds: 3")
    path = tmp_path / "course.yml"
    path.write_text(text, encoding="utf-8")
    assert config.load(path).grading.time_limit_seconds == 3


def test_unknown_assignment_is_named():
    with pytest.raises(config.ConfigError, match=r"no assignment 'micrograds' in course.yml \(known: micrograd[,)]"):
        config.load().assignment("micrograds")


def test_course_grade_with_a_broken_config_exits_2_without_traceback(tmp_path):
    broken = written(tmp_path, lambda d: micrograd(d)["parts"]["nn"].update(points=-5))
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", "solutions", "--config", str(broken),
                             "--out", str(tmp_path / "out")],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.splitlines() == [
        f"course grade: {broken}: invalid course configuration:",
        "  assignments.micrograd.parts.nn.points: got -5; expected a number greater than 0",
    ]
    assert not (tmp_path / "out").exists()


def test_the_forbidden_imports_default_is_the_courses():
    """docs/security.md and the README name one default: the list in course.yml."""
    assert config.Grading().forbidden_imports == config.load().grading.forbidden_imports
