"""A stored result is kept on resume only while everything it was graded with is unchanged: the grader key
covers every file of the course a suite runs on, its shared modules included (pipeline.suite_files)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from autograder import cli, config
from autograder.core import pipeline

REPO = Path(__file__).resolve().parents[1]
SECOND = REPO / "tests" / "second_course"
ASSIGNMENTS = ("micrograd", "derivatives", "backprop_by_hand", "autograd", "neural_nets")


def copied_course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(REPO / "course.yml", root)
    for folder in ("grading_tests", "solutions", "assignments"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root / "course.yml"


def keys(path: Path) -> dict[str, str]:
    course = config.load(path)
    return {name: pipeline.grader_key(course, assignment) for name, assignment in course.assignments.items()}


@pytest.mark.parametrize(("edited", "changed"), [
    ("grading_tests/micrograd/models.py", {"micrograd", "neural_nets"}),  # imported by the nn suite only
    ("grading_tests/micrograd/diagnose.py", set(ASSIGNMENTS)),  # every suite explains mistakes with it
    ("grading_tests/micrograd/drawing.py", {"micrograd", "backprop_by_hand", "autograd", "neural_nets"}),
    ("grading_tests/conftest.py", set(ASSIGNMENTS)),
    ("grading_tests/autograd/test_autograd.py", {"autograd"}),
])
def test_editing_a_module_changes_the_key_of_every_suite_that_runs_it_and_no_other(tmp_path, edited, changed):
    path = copied_course(tmp_path)
    before = keys(path)
    assert set(before) == set(ASSIGNMENTS)
    with open(path.parent / edited, "a", encoding="utf-8") as module:
        module.write("\n# edited\n")
    after = keys(path)
    assert {name for name in before if before[name] != after[name]} == changed


SHARED_WORDING = '''def advice(kind):
    return "is the nudge divided by the right width?"
'''


@pytest.mark.slow
def test_a_resumed_class_regrades_when_a_module_its_suite_shares_changed(tmp_path, capsys):
    """The second course's suite reads its advice from a module beside it (suites/wording.py); editing only that
    module makes a resumed `course grade` regrade the class (held for review), and accepting publishes the new
    words."""
    root = tmp_path / "course"
    shutil.copytree(SECOND, root, ignore=shutil.ignore_patterns("__pycache__"))
    suite = root / "suites" / "slopes" / "check_slopes.py"
    (root / "suites" / "conftest.py").write_text("")  # pytest puts the folder of a conftest.py on sys.path
    (root / "suites" / "wording.py").write_text(SHARED_WORDING)
    text = suite.read_text()
    assert '"is the nudge divided by the right width?"' in text
    suite.write_text(text.replace('"is the nudge divided by the right width?"', "+ wording.advice(kind)")
                     .replace("import pytest\n", "import pytest\nimport wording\n"))
    out, grade = tmp_path / "results", ["grade", str(root / "students"), "--config", str(root / "course.yml"),
                                        "--out", str(tmp_path / "results")]
    assert cli.main(grade) == 0
    [bob] = [t for t in json.loads((out / "bob.json").read_text())["tests"] if t["status"] == "failed"]
    assert "right width?" in bob["output"]
    capsys.readouterr()

    assert cli.main(grade) == 0
    assert "0 graded in" in (err := capsys.readouterr().err) and "2 already graded" in err  # unchanged: kept

    (root / "suites" / "wording.py").write_text(SHARED_WORDING.replace("right width?", "step h (not 2h)?"))
    assert cli.main(grade) == 0
    assert "2 graded" in capsys.readouterr().err  # regraded, held for review
    assert cli.main([*grade, "--accept"]) == 0
    [bob] = [t for t in json.loads((out / "bob.json").read_text())["tests"] if t["status"] == "failed"]
    assert "step h (not 2h)?" in bob["output"]


@pytest.mark.slow
def test_one_process_grading_two_copies_of_a_course_runs_each_ones_suite(tmp_path):
    """Two copies of a course have suite modules of the same names: a second grading session in the same process,
    of another copy of the course, must run that copy's modules (pytest_plugin.run forgets the first session's)."""

    import grading_tests.micrograd.diagnose  # noqa: F401  (a suite module this process imported itself, as tests do)
    from autograder.core.pipeline import grade
    from autograder.frontends import demo

    alan = demo.write_student(next(s for s in demo.demo_class().students if s.name == "alan"), tmp_path / "class")
    path = copied_course(tmp_path)
    copied = path.parent / "grading_tests" / "micrograd" / "diagnose.py"
    words = "gradient overwritten instead of accumulated"
    assert words in copied.read_text()
    copied.write_text(copied.read_text().replace(words, "gradient replaced, not added to"))
    [first] = grade([alan], course=config.load())
    [second] = grade([alan], course=config.load(path))
    [third] = grade([alan], course=config.load())
    said = [{t.output.split(":")[0] for t in r.tests if t.status == "failed" and "add's _backward" in t.output}
            for r in (first, second, third)]
    assert said[0] == said[2] == {"gradient overwritten instead of accumulated in add's _backward"}
    assert said[1] == {"gradient replaced, not added to in add's _backward"}
