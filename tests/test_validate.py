"""`course validate`: the hidden suite against the reference, the template, correct variants and the bug catalog."""

import subprocess
import sys
from pathlib import Path

import pytest
from suite_modules import micrograd_suite

from autograder import REPO_ROOT, config, validate

with micrograd_suite():
    from diagnose import PITFALLS

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
