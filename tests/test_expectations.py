"""The precomputed expectations (grading_tests/expectations.json): current, equal to what torch computes,
and enough to grade without torch (or hypothesis) installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from checkout import REPO_ROOT

from autograder import config
from autograder.core import expectations
from autograder.frontends import build

SOURCE_NOTEBOOK = REPO_ROOT / "assignments" / "source" / "autograd" / "autograd.ipynb"
CATALOG_BUGS = ("mul-swapped", "no-visited-set", "parameters-without-bias", "zero-grad-noop")


def test_the_cache_is_current():
    fresh, account = expectations.freshness(config.load())
    assert fresh, f"{account}; run `course build`"


@pytest.mark.slow
def test_torch_recomputes_exactly_the_cache():
    """torch stays the source of truth: grading the build's corpus again (on the same drawn examples, which
    a rebuild keeps) computes the same expected values, bit for bit, and no others."""
    course = config.load()
    committed = expectations.read_cache(expectations.cache_path(course))
    assert committed["key"] == expectations.cache_key(course)
    recomputed = build.record_expectations(course)
    values = {kind: {digest: json.loads(text) for digest, text in found.items()} for kind, found in recomputed.items()}
    assert {kind: sorted(found) for kind, found in values.items()} == \
        {kind: sorted(found) for kind, found in committed["values"].items()}
    assert values == committed["values"]


def _blocking(folder: Path) -> dict[str, str]:
    """An environment in which importing torch or hypothesis fails, and leaves a note that it was tried."""
    for module in ("torch", "hypothesis"):
        (folder / module).mkdir(parents=True)
        (folder / module / "__init__.py").write_text(
            f"open({str(folder / 'imported')!r}, 'a').write({module!r} + '\\n')\n"
            f"raise ImportError('{module} is not installed here')\n")
    return {**os.environ, "PYTHONPATH": str(folder)}


def _grade(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "grade", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def _results(folder: Path) -> dict[str, dict]:
    """Each results file, without its grading and grader keys (which name the grader's files, not the grade)."""
    found = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        data.pop("grading_key", None)
        data.pop("grader_key", None)
        found[path.name] = data
    return found


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> list[Path]:
    from autograder.frontends import validate

    correct, bugs = validate.load_catalog(config.load().catalog)
    chosen = [e for e in bugs if e.id in CATALOG_BUGS] + correct[:1]
    assert len(chosen) == len(CATALOG_BUGS) + 1
    root = tmp_path_factory.mktemp("submissions")
    return [REPO_ROOT / "solutions", REPO_ROOT / "student_template",
            *(validate.write_submission(root / e.id, validate.patched_sources(e.patches, e.id)) for e in chosen)]


@pytest.mark.slow
def test_grading_with_a_current_cache_needs_neither_torch_nor_hypothesis(tmp_path, submissions):
    """Module submissions (right, blank, buggy in every part) and a notebook, graded with torch and hypothesis
    unimportable, get exactly the grades torch computes when the cache is ignored."""
    env = _blocking(tmp_path / "blocked")
    computed = {**os.environ, expectations.IGNORE_VARIABLE: "compute"}
    notebook = ["--assignment", "autograd", str(SOURCE_NOTEBOOK)]
    for name, env_of in (("precomputed", env), ("computed", computed)):
        done = _grade([*map(str, submissions), "--out", str(tmp_path / name), "--jobs", "1", "--quiet"], env_of)
        assert done.returncode == 0, done.stderr
        done = _grade([*notebook, "--out", str(tmp_path / f"{name}-notebook"), "--quiet"], env_of)
        assert done.returncode == 0, done.stderr
    assert not (tmp_path / "blocked" / "imported").exists(), (tmp_path / "blocked" / "imported").read_text()
    assert len(_results(tmp_path / "precomputed")) == len(submissions)
    for name in ("precomputed", "precomputed-notebook"):
        computed_name = name.replace("precomputed", "computed")
        assert _results(tmp_path / name) == _results(tmp_path / computed_name)
    scores = {name: data["score"] for name, data in _results(tmp_path / "precomputed").items()}
    assert scores["solutions.json"] == 100 and scores["student_template.json"] == 0
    assert all(0 < scores[f"{bug}.json"] < 100 for bug in CATALOG_BUGS)


@pytest.mark.slow
def test_without_a_current_cache_torch_computes_and_it_is_said_once(tmp_path):
    """A course whose folder has no cache (or a stale one) grades as before, with one line saying why."""
    text = (REPO_ROOT / "course.yml").read_text()
    suite = REPO_ROOT / "grading_tests" / "micrograd"
    (tmp_path / "course.yml").write_text(text.replace("suite: grading_tests/micrograd", f"suite: {suite}")
                                         .replace("probes: grading_tests/", f"probes: {REPO_ROOT}/grading_tests/"))
    for state in ("missing", "stale"):
        if state == "stale":
            (tmp_path / "grading_tests").mkdir()
            (tmp_path / "grading_tests" / expectations.FILE_NAME).write_bytes(
                expectations.cache_path(config.load()).read_bytes())
        done = _grade(["--config", str(tmp_path / "course.yml"), str(REPO_ROOT / "solutions"),
                       "--results", str(tmp_path / f"{state}.json")])
        assert done.returncode == 0, done.stderr
        assert json.loads((tmp_path / f"{state}.json").read_text())["score"] == 100
        said = [line for line in done.stderr.splitlines() if expectations.FILE_NAME in line]
        assert len(said) == 1 and f"is {state}" in said[0] and "course build" in said[0], done.stderr


def test_the_key_follows_the_suites_the_reference_and_the_assignments(tmp_path):
    (tmp_path / "grading_tests" / "suite").mkdir(parents=True)
    (tmp_path / "solutions").mkdir()
    (tmp_path / "grading_tests" / "suite" / "test_a.py").write_text("A = 1\n")
    (tmp_path / "solutions" / "engine.py").write_text("B = 1\n")
    yml = tmp_path / "course.yml"
    yml.write_text("name: c\nassignments:\n  a:\n    suite: grading_tests/suite\n    student_files: [engine.py]\n"
                   "    parts: {p: {title: P, points: 1}}\n")
    course = config.load(yml)
    expectations.write_cache(course, {"graph": {"d": "[[1.0],[2.0]]"}})
    assert expectations.freshness(course)[0]
    yml.write_text(yml.read_text().replace("name: c", "name: c\ngrading: {time_limit_seconds: 9}")
                   .replace("points: 1", "points: 2"))
    assert expectations.freshness(config.load(yml))[0], "points and limits decide verdicts, not expected values"
    for path, text in ((tmp_path / "grading_tests" / "suite" / "test_a.py", "A = 2\n"),
                       (tmp_path / "solutions" / "engine.py", "B = 2\n"),
                       (yml, yml.read_text().replace("[engine.py]", "[engine.py, nn.py]"))):
        before = path.read_text()
        path.write_text(text)
        assert not expectations.freshness(config.load(yml))[0], path
        assert build.build_expectations(config.load(yml), check=True) == 1
        path.write_text(before)
    assert build.build_expectations(config.load(yml), check=True) == 0


def test_building_a_stale_cache_without_torch_says_what_to_install(tmp_path):
    (tmp_path / "grading_tests").mkdir()
    (tmp_path / "course.yml").write_text("name: c\nassignments:\n  a:\n    suite: grading_tests\n"
                                         "    student_files: [engine.py]\n    parts: {p: {title: P, points: 1}}\n")
    code = ("import sys; from autograder import config; from autograder.frontends import build; "
            f"sys.exit(build.build_expectations(config.load({str(tmp_path / 'course.yml')!r})))")
    done = subprocess.run([sys.executable, "-c", code], env=_blocking(tmp_path / "blocked"), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "is missing" in done.stderr and "pip install 'micrograd-course[torch]'" in done.stderr
    assert not (tmp_path / "grading_tests" / expectations.FILE_NAME).exists()


def test_a_grading_run_owns_its_expected_values(tmp_path):
    """A value belongs to the run that read or computed it: the same key in another course's run comes from that
    course's own cache, and a later run of the first course starts again from its cache, not from memory."""
    computed = []

    @expectations.memo("run-owned")
    def value(key: str) -> list:
        computed.append(key)
        return ["computed", len(computed)]

    courses = []
    for name in ("first", "second"):
        (tmp_path / name / "grading_tests").mkdir(parents=True)
        (tmp_path / name / "course.yml").write_text((REPO_ROOT / "course.yml").read_text())
        course = config.load(tmp_path / name / "course.yml")
        digest = expectations._digest("k")
        (tmp_path / name / "grading_tests" / expectations.FILE_NAME).write_text(json.dumps(
            {"format": expectations.FORMAT, "key": expectations.cache_key(course), "values": {"run-owned": {
                digest: [name]}}}))
        courses.append(course)
    first, second = courses
    with expectations.run_with(first):
        assert value("k") == ["first"] and value("other") == ["computed", 1]
    with expectations.run_with(second):
        assert value("k") == ["second"] and value("other") == ["computed", 2]
    (tmp_path / "first" / "grading_tests" / expectations.FILE_NAME).unlink()
    with expectations.run_with(first):
        assert value("k") == ["computed", 3]
    assert computed == ["other", "other", "k"]
