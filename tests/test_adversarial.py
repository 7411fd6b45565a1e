"""The adversarial corpus (tests/adversarial/corpus.py), graded in one real `course grade --out` call.

For every hostile or broken submission: it scores at most its bound, each failing test says
what happened, and unaffected tests are graded normally. For the whole run: the grader's files
are unchanged, no hidden test text reaches any result, nothing the submissions started
survives, and time and memory stay within safety bounds derived from course.yml's limits.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from adversarial import processes_tagged
from adversarial.corpus import CASES, MARKER, build, syntax_error_line
from checkout import REPO_ROOT

from autograder import config
from autograder.boundary.sandbox import MAX_PROCESSES
from autograder.core import isolation
from autograder.frontends.grade import MAX_TEST_OUTPUT_CHARS

pytestmark = pytest.mark.slow

COURSE = config.load()
ASSIGNMENT = COURSE.assignment()[1]
PROTECTED = [REPO_ROOT / "autograder", REPO_ROOT / "grading_tests", REPO_ROOT / "solutions", REPO_ROOT / "course.yml"]
DAEMON_GRACE_SECONDS = 3.0  # the corpus's daemon starts writing 1 s after it was forked


def checksums() -> dict[str, str]:
    files = []
    for path in PROTECTED:
        found = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        files += [p for p in found if "__pycache__" not in p.parts]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files)}


def folded_lines(text: str) -> set[str]:
    return {" ".join(line.split()) for line in text.splitlines() if len(" ".join(line.split())) >= 24}


def hidden_lines() -> set[str]:
    """Lines of the hidden suite, and of the reference code its isolation modes put in workers
    (except those the student template shows too)."""
    suite = REPO_ROOT / ASSIGNMENT.suite
    public = {line for p in (REPO_ROOT / "student_template" / "micrograd").glob("*.py")
              for line in folded_lines(p.read_text())}
    texts = [p.read_text() for p in suite.rglob("*.py")] + isolation.reference_sources(isolation.load_modes(suite))
    return {line for text in texts for line in folded_lines(text)} - public


def strings(value) -> list[str]:
    """Every string in a parsed JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings(k) + strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def marked_processes() -> list[str]:
    return processes_tagged(MARKER)


@dataclass
class Run:
    code: int
    stderr: str
    seconds: float
    peak_rss_mb: float
    before: dict[str, str]
    after: dict[str, str]
    out: Path
    files_right_after: dict[str, bytes]
    leftover_processes: list[str]
    results: dict[str, dict]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("corpus")
    out = root / "out"
    sources = [build(name, case, root / "submissions", out=out) for name, case in CASES.items()]
    before = checksums()
    started = time.monotonic()
    with open(root / "stderr", "w+") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "autograder", "grade", *map(str, sources), "--out", str(out)],
                                   stdout=subprocess.DEVNULL, stderr=stderr, cwd=root)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        right_after = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
        time.sleep(DAEMON_GRACE_SECONDS)  # give a surviving daemon the time to strike
        stderr.seek(0)
        text = stderr.read()
    return Run(
        code=process.returncode, stderr=text, seconds=seconds, peak_rss_mb=usage.ru_maxrss / 1024,
        before=before, after=checksums(), out=out, files_right_after=right_after,
        leftover_processes=marked_processes(),
        results={p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))},
    )


def test_grading_completes_with_exit_0(run: Run):
    assert run.code == 0, run.stderr
    assert set(run.results) == set(CASES)


def test_grader_files_are_unchanged(run: Run):
    changed = [path for path in run.before if run.before[path] != run.after.get(path)]
    assert not changed and run.before.keys() == run.after.keys()
    assert not (REPO_ROOT / "results.json").exists()
    assert not (REPO_ROOT / "grading_tests" / "results.json").exists()


def test_nothing_outlives_grading(run: Run):
    assert run.leftover_processes == []
    assert {p.name: p.read_bytes() for p in sorted(run.out.iterdir())} == run.files_right_after
    assert sorted(run.files_right_after) == sorted(f"{name}.json" for name in CASES)


def test_no_hidden_test_text_reaches_any_result(run: Run):
    hidden = hidden_lines()
    assert hidden, "the hidden suite has no line long enough to check"
    for name, result in run.results.items():
        text = "\n".join(" ".join(s.split()) for s in strings(result))
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{name} shows hidden test text: {leaked[:3]}"


def test_no_grader_path_or_process_reaches_any_result(run: Run):
    """The grader's paths are in no result, unless the submission was told them (and echoes them)."""
    for name, result in run.results.items():
        told = "".join(new or "" for _, _, new in CASES[name].patches)
        text = "\n".join(strings(result))
        if "{REPO}" not in told:
            assert str(REPO_ROOT) not in text, name
        if "{OUT}" not in told:
            assert str(run.out) not in text, name


def test_students_see_only_a_capped_excerpt_of_their_output(run: Run):
    cap = COURSE.grading.output_excerpt_chars
    for name, result in run.results.items():
        assert len(result["output_excerpt"]) <= cap, name
        for test in result["tests"]:
            assert len(test["output"]) <= MAX_TEST_OUTPUT_CHARS, (name, test["name"])
    assert 0 < len(run.results["floods-stdout"]["output_excerpt"]) <= cap


def test_time_and_memory_stay_bounded(run: Run):
    limit = COURSE.grading.time_limit_seconds
    tests = sum(len(result["tests"]) for result in run.results.values())
    # Safety bounds, not speed goals: every test at its time limit plus a restart, and the
    # grader (with torch) beside one worker at its memory limit.
    assert run.seconds < tests * (limit + 1) + 60
    assert run.peak_rss_mb < COURSE.grading.memory_limit_mb + 1536


@pytest.mark.parametrize("name", list(CASES))
def test_case_scores_at_most_its_bound_and_says_why(run: Run, name: str):
    case, result = CASES[name], run.results[name]
    tests = result["tests"]
    failed = [t for t in tests if t["status"] == "failed"]
    assert tests and result["score"] == pytest.approx(sum(t["score"] for t in tests), abs=1e-4)
    if case.bound is not None:
        assert result["score"] <= case.bound
        assert len(failed) == len(tests)
    else:  # the failures are the affected tests; everything else is graded normally
        assert 0 < len(failed) < len(tests) or (len(failed) == len(tests) and case.zero_parts)
        assert result["score"] < ASSIGNMENT.max_score
        assert all(t["score"] == t["max_score"] for t in tests if t["status"] == "passed")
    for test in failed:
        assert case.every_failure in test["output"], (test["name"], test["output"])
        assert test["score"] == 0
    parts = {p["name"]: p["score"] for p in result["parts"]}
    assert all(parts[part] == 0 for part in case.zero_parts)
    assert set(case.flags) <= set(result["flags"])


def test_the_hidden_suite_package_cannot_be_imported_from_a_worker(run: Run):
    """The suites are importable by name in the grader's process; in a worker, no name reaches them."""
    printed = run.results["imports-the-hidden-suite"]["output_excerpt"]
    tried = re.findall(r"hidden suite: (\S+) (\w+)", printed)
    assert [name for name, _ in tried] == ["grading_tests.micrograd.diagnose", "grading_tests.micrograd.expected",
                                          "grading_tests", "diagnose"], printed
    assert all(outcome == "ModuleNotFoundError" for _, outcome in tried), printed


def test_syntax_error_names_file_and_line(run: Run):
    line = syntax_error_line(CASES["syntax-error"])
    result = run.results["syntax-error"]
    assert f"SyntaxError in micrograd/engine.py line {line}" in "\n".join(result["messages"])
    assert all(f"micrograd/engine.py line {line}" in t["output"] for t in result["tests"] if t["status"] == "failed")


def test_policy_violation_is_reported_with_the_module(run: Run):
    static = run.results["torch-autograd-engine"]
    assert "Policy violation: micrograd/engine.py line 4 imports torch" in "\n".join(static["messages"])
    hidden_import = run.results["torch-imported-by-name"]
    assert all("importing 'torch' is not allowed" in t["output"] for t in hidden_import["tests"]
               if t["status"] == "failed")


def test_fork_bomb_is_capped_per_worker(run: Run):
    printed = re.search(r"forked (\d+) children", run.results["fork-bomb"]["output_excerpt"])
    assert printed and int(printed[1]) < MAX_PROCESSES


def test_sandbox_blocks_writes_outside_scratch(run: Run):
    printed = run.results["fake-results-files"]["output_excerpt"]
    assert "wrote results.json" in printed  # its own scratch folder: harmless
    assert "blocked /tmp/results.json" in printed
