"""`course validate`: the hidden suite against the reference, the template, correct variants and the bug catalog."""

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from checkout import REPO_ROOT

from autograder import config
from autograder.frontends import validate
from autograder.outcome.results import PartResult, Results, TestResult
from grading_tests.micrograd.diagnose import PITFALLS

CATALOG = REPO_ROOT / "grading_tests" / "catalog" / "catalog.py"


def test_the_catalog_is_big_enough_and_names_real_parts_and_pitfalls():
    correct, bugs = validate.load_catalog(CATALOG)
    _, assignment = config.load().assignment()
    assert len(correct) >= 3 and len(bugs) >= 30
    assert len({e.id for e in correct + bugs}) == len(correct + bugs)
    for bug in bugs:
        assert bug.part in assignment.parts, bug.id
        assert bug.pitfall in PITFALLS, bug.id
    for entry in correct + bugs:
        sources = validate.patched_sources(entry.patches, entry.id)  # every replacement applies exactly once
        assert sources != validate.patched_sources((), "reference"), f"{entry.id} changes nothing"


def test_a_replacement_that_does_not_apply_is_a_clear_error():
    with pytest.raises(validate.CatalogError, match="occurs 0 times in engine.py"):
        validate.patched_sources((("engine.py", "no such text", "x"),), "broken")


def _catalog(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "catalog.py"
    path.write_text(f"import sys\nsys.path.insert(0, {str(CATALOG.parent)!r})\n"
                    f"from catalog import Entry, engine, nn\nCORRECT = []\n{body}\n")
    return path


def test_a_catalog_that_cannot_be_applied_exits_2(tmp_path, capsys):
    path = _catalog(tmp_path, 'BUGS = [Entry("x", "x", (engine("no such text", ""),), "operations", "no-seed")]')
    assert validate.main(catalog=path) == 2
    assert "occurs 0 times" in capsys.readouterr().err


@pytest.mark.slow
def test_a_bug_the_suite_misses_or_misnames_fails_validation(tmp_path, capsys):
    harmless = 'engine("# -self", "# minus self")'
    path = _catalog(tmp_path, f'BUGS = [Entry("harmless", "not a bug", ({harmless},), "operations", "no-seed"),\n'
                              '  Entry("misnamed", "a missing seed", (engine("        self.grad += 1.0\\n", ""),),'
                              ' "backward", "overwrite-grad:add")]')
    assert validate.main(catalog=path) == 1
    out = capsys.readouterr().out
    assert "FAIL harmless" in out and "scores full marks" in out
    assert "FAIL misnamed" in out and "diagnosed no-seed, expected overwrite-grad:add" in out
    assert "ok   reference" in out and "ok   student_template" in out


@pytest.mark.slow
def test_course_validate_passes_on_the_whole_catalog():
    done = subprocess.run([sys.executable, "-m", "autograder", "validate"], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "0 problem(s)" in done.stdout
    _, bugs = validate.load_catalog(CATALOG)
    for bug in bugs:
        assert f"ok   {bug.id}" in done.stdout


def _results(*failed: tuple[str, str, float]) -> Results:
    """Two parts of 10 points, two tests each; failed: (part, pitfall, points) per failing test."""
    tests = [TestResult(f"test_{part}_{i}", part, 5.0, 5.0, "passed", "", "hidden")
             for part in ("home", "other") for i in range(2)]
    for index, (part, pitfall, points) in enumerate(failed):
        at = next(i for i, t in enumerate(tests) if t.part == part and t.status == "passed")
        tests[at] = TestResult(f"test_{part}_{index}", part, 5.0 - points, 5.0, "failed", "why", "hidden", pitfall)
    parts = tuple(PartResult(p, p, sum(t.score for t in tests if t.part == p), 10.0) for p in ("home", "other"))
    return Results("bug", "micrograd", tuple(tests), parts)


BUG = SimpleNamespace(id="bug", part="home", pitfall="no-seed")


@pytest.mark.parametrize(("failed", "problem"), [
    ((("home", "no-seed", 5.0),), None),
    ((("home", "no-seed", 5.0), ("other", "error", 1.0)), None),  # a generic diagnosis names nothing
    ((("home", "no-seed", 5.0), ("other", "no-seed", 5.0)), "only 50% of its loss is in home"),
    ((("home", "no-seed", 5.0), ("other", "topo-pre-order", 1.0)), "diagnosed topo-pre-order, expected no-seed"),
    ((("home", "overwrite-grad:add", 5.0),), "diagnosed overwrite-grad:add, expected no-seed"),
    ((("other", "no-seed", 5.0),), "loses no points in home"),
    ((), "scores full marks"),
])
def test_a_bug_is_charged_in_its_home_part_and_named_wherever_a_pitfall_is_named(failed, problem):
    check = validate.Check("bug", "bug")
    validate.check_bug(_results(*failed), BUG, check, frozenset({"error"}))
    assert check.ok == (problem is None), check.problems
    if problem:
        assert any(problem in p for p in check.problems), check.problems


def test_the_reference_is_written_as_a_student_hands_it_in():
    """Paths come from the module assignment's student files; a patch names its file by path or by its name."""
    sources = validate.reference_sources()
    assert {"micrograd/engine.py", "micrograd/nn.py"} <= set(sources)
    assert not any("BEGIN SOLUTION" in text for text in sources.values())
    by_path = validate.patched_sources((("micrograd/engine.py", "self.grad += out.grad", "self.grad = out.grad"),), "p")
    by_name = validate.patched_sources((("engine.py", "self.grad += out.grad", "self.grad = out.grad"),), "n")
    assert by_path == by_name != sources
