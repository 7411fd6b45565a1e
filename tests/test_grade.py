"""`course grade` end to end (real CLI, real sandbox, real hidden suite) and its pieces."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from checkout import REPO_ROOT

from autograder import config
from autograder.inputs.sources import read_folder, stage, submission_names
from autograder.outcome.results import Redactor

COURSE = config.load()
ASSIGNMENT_NAME, ASSIGNMENT = COURSE.assignment()
TEMPLATE = REPO_ROOT / "student_template"
SOLUTIONS = REPO_ROOT / "solutions"


def course_grade(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "grade", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def graded_twice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[subprocess.CompletedProcess]]:
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    runs = [course_grade(SOLUTIONS, TEMPLATE, "--out", out) for out in (first, second)]
    return first, second, runs


@pytest.mark.slow
def test_reference_gets_full_marks_and_template_zero(graded_twice):
    first, _, runs = graded_twice
    assert [run.returncode for run in runs] == [0, 0], runs[0].stderr
    reference = json.loads((first / "solutions.json").read_text())
    template = json.loads((first / "student_template.json").read_text())
    assert reference["score"] == ASSIGNMENT.max_score
    assert all(t["status"] == "passed" for t in reference["tests"])
    assert {t["part"] for t in reference["tests"]} == set(ASSIGNMENT.parts)
    assert template["score"] == 0 and template["tests"]
    assert all(t["status"] == "failed" and t["output"] for t in template["tests"])
    assert "internal error" not in json.dumps(template)
    assert template["flags"] == []  # an unfinished template is not a crash


@pytest.mark.slow
def test_points_come_from_course_yml(graded_twice):
    reference = json.loads((graded_twice[0] / "solutions.json").read_text())
    by_part: dict[str, float] = {}
    for test in reference["tests"]:
        by_part[test["part"]] = by_part.get(test["part"], 0) + test["max_score"]
    assert by_part == pytest.approx({name: part.points for name, part in ASSIGNMENT.parts.items()})


@pytest.mark.slow
def test_grading_twice_gives_byte_identical_results(graded_twice):
    first, second, _ = graded_twice
    names = sorted(p.name for p in first.iterdir() if not p.name.startswith("."))
    assert names == sorted(p.name for p in second.iterdir() if not p.name.startswith("."))
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    root = tmp_path_factory.mktemp("twins")
    for group in ("a", "b"):
        shutil.copytree(TEMPLATE, root / group / "sub")
    out = root / "out"
    return course_grade(root / "a" / "sub", root / "b" / "sub", "--out", out), out


@pytest.mark.slow
def test_submissions_with_the_same_folder_name_do_not_overwrite_each_other(twins):
    run, out = twins
    assert run.returncode == 0, run.stderr
    files = sorted(p.name for p in out.glob("*.json"))
    assert files == ["a-sub.json", "b-sub.json"]
    assert {json.loads((out / f).read_text())["submission"] for f in files} == {"a-sub", "b-sub"}


@pytest.mark.slow
@pytest.mark.parametrize("fmt, suffix, start", [("junit", ".xml", "<?xml"), ("markdown", ".md", "### ")])
def test_results_file_in_each_format(tmp_path: Path, fmt: str, suffix: str, start: str):
    target = tmp_path / f"results{suffix}"
    run = course_grade(TEMPLATE, "--results", target, "--format", fmt)
    assert run.returncode == 0, run.stderr
    assert target.read_text().startswith(start)
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, nothing left over


def test_missing_submission_folder_is_a_clear_error(tmp_path: Path):
    run = course_grade(tmp_path / "nowhere", "--results", tmp_path / "r.json")
    assert run.returncode == 2
    assert "not a submission directory" in run.stderr and "Traceback" not in run.stderr


def test_several_submissions_need_an_output_folder(tmp_path: Path):
    run = course_grade(TEMPLATE, SOLUTIONS, "--results", tmp_path / "r.json")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "--out" in run.stderr


def test_broken_course_yml_is_a_clear_error(tmp_path: Path):
    broken = tmp_path / "course.yml"
    broken.write_text((REPO_ROOT / "course.yml").read_text().replace("time_limit_seconds", "time_limit_secs"))
    run = course_grade(TEMPLATE, "--results", tmp_path / "r.json", "--config", broken)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "time_limit_secs" in run.stderr
    assert not (tmp_path / "r.json").exists()


def test_missing_hidden_suite_is_a_clear_error(tmp_path: Path):
    moved = tmp_path / "course.yml"
    moved.write_text((REPO_ROOT / "course.yml").read_text().replace("suite: grading_tests/micrograd",
                                                                    f"suite: {tmp_path / 'no-suite'}"))
    run = course_grade(TEMPLATE, "--results", tmp_path / "r.json", "--config", moved)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "does not exist" in run.stderr


@pytest.mark.as_root
def test_process_sandbox_as_root_explains_why_it_cannot_run(tmp_path: Path):
    from adversarial import readable_by_an_outsider

    suite = Path(tempfile.mkdtemp(prefix="open-suite-"))  # under /tmp, which any user may cross
    shutil.copytree(REPO_ROOT / ASSIGNMENT.suite, suite, dirs_exist_ok=True)
    os.chmod(suite, 0o755)
    assert readable_by_an_outsider(suite), "the premise: any user can read this copy of the suite"
    moved = tmp_path / "course.yml"
    moved.write_text((REPO_ROOT / "course.yml").read_text().replace("suite: grading_tests/micrograd",
                                                                    f"suite: {suite}"))
    run = course_grade(TEMPLATE, "--results", tmp_path / "r.json", "--sandbox", "process", "--config", moved)
    shutil.rmtree(suite)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "process" in run.stderr and "bwrap" in run.stderr


def test_submission_names_are_distinct_and_stable(tmp_path: Path):
    paths = [tmp_path / "x" / "alice", tmp_path / "y" / "alice", tmp_path / "bob", tmp_path / "bob"]
    assert submission_names(paths) == ["x-alice", "y-alice", "bob", "bob-2"]
    assert submission_names(paths) == submission_names(paths)
    assert submission_names([Path("/")]) == ["root"]


def test_staging_reports_what_is_wrong_without_running_anything(tmp_path: Path):
    source = tmp_path / "source"
    (source / "micrograd").mkdir(parents=True)
    (source / "micrograd" / "engine.py").write_text("import math\nimport torch.nn\n\ndef f(:\n")
    os.symlink("/etc/passwd", source / "micrograd" / "nn.py")
    staging = stage(read_folder(source, "s", ASSIGNMENT), tmp_path / "staged", ASSIGNMENT, COURSE.grading)
    assert "syntax_error" in staging.flags and "missing_file" in staging.flags
    assert any(m.startswith("SyntaxError in micrograd/engine.py line 4") for m in staging.messages)
    assert any("micrograd/nn.py is missing" in m for m in staging.messages)  # a symlink is never followed
    assert not (tmp_path / "staged" / "micrograd" / "nn.py").exists()

    (source / "micrograd" / "engine.py").write_text("import math\nfrom torch import nn\n")
    policy = stage(read_folder(source, "s", ASSIGNMENT), tmp_path / "staged2", ASSIGNMENT, COURSE.grading)
    assert "policy_violation" in policy.flags
    assert any("Policy violation: micrograd/engine.py line 2 imports torch" in m for m in policy.messages)


def test_redactor_removes_lines_that_quote_hidden_tests():
    hidden = "def test_secret():\n    expected = reference_gradient(x, y, z)  # the answer\n"
    redact = Redactor([hidden])
    leaked = "my output\n  expected   =   reference_gradient(x, y, z)  # the answer\nmore"
    assert redact(leaked) == "my output\n[line removed: it quotes the hidden tests]\nmore"
    assert redact("def test_secret():") == "def test_secret():"  # short lines are everyday code


@pytest.mark.slow
def test_the_trusted_process_never_imports_the_submission(tmp_path: Path):
    """Grading runs the hidden suites here, yet no `micrograd` module is ever loaded here."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from autograder.frontends.grade import grade\n"
        f"results = grade([Path({str(SOLUTIONS)!r})])\n"
        "assert results[0].score > 0, results[0]\n"
        "loaded = [name for name in sys.modules if name.split('.')[0] == 'micrograd']\n"
        "assert loaded == [], loaded\n"
        "print('ok')\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


@pytest.mark.slow
def test_a_bug_whose_effect_depends_on_set_order_gets_the_same_grade_every_time(tmp_path: Path):
    """Overwriting gradients in __add__ gives right or wrong gradients depending on the order in which
    the nodes of a `_prev` set are visited, an order that follows memory addresses. Copies of the same
    code, graded side by side and in two runs, must still get the same verdict on every test."""
    from autograder.frontends import validate

    bugs = {entry.id: entry for group in validate.load_catalog(config.load().catalog) for entry in group}
    sources = validate.patched_sources(bugs["add-overwrite"].patches, "add-overwrite")
    copies = [validate.write_submission(tmp_path / f"copy{i}", sources) for i in range(4)]
    verdicts = []
    for out in (tmp_path / "run1", tmp_path / "run2"):
        run = course_grade(*copies, "--out", out)
        assert run.returncode == 0, run.stderr
        for copy in copies:
            results = json.loads((out / f"{copy.name}.json").read_text())
            verdicts.append([(t["name"], t["status"], t["output"]) for t in results["tests"]])
    assert any(status == "failed" for _, status, _ in verdicts[0])
    assert all(v == verdicts[0] for v in verdicts)


# -- one command for one or many sources ---------------------------------------------------------
def _inputs(root: Path) -> dict[str, tuple[Path, tuple[str, ...]]]:
    """alice's submission as each kind of input: path -> (input, extra options)."""
    import zipfile

    folder = root / "folder" / "alice"
    shutil.copytree(SOLUTIONS / "micrograd", folder / "micrograd")
    archive = root / "zip" / "alice.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*.py")):
            zf.write(path, str(path.relative_to(folder.parent)))
    notebook = root / "notebook" / "alice" / "autograd.ipynb"
    notebook.parent.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "assignments" / "source" / "autograd" / "autograd.ipynb", notebook)
    tree = root / "nbgrader" / "submitted" / "alice" / "autograd"
    tree.mkdir(parents=True)
    shutil.copy(notebook, tree)
    return {"folder": (folder, ()), "zip": (archive, ()), "notebook": (notebook, ()),
            "nbgrader tree": (root / "nbgrader" / "submitted", ("--assignment", "autograd"))}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["folder", "zip", "notebook", "nbgrader tree"])
def test_results_and_out_give_the_same_name_file_and_score(tmp_path: Path, kind: str):
    path, options = _inputs(tmp_path)[kind]
    single = course_grade(path, *options, "--results", tmp_path / "single.json")
    assert single.returncode == 0, single.stderr
    batch = course_grade(path, *options, "--out", tmp_path / "out")
    assert batch.returncode == 0, batch.stderr
    assert [p.name for p in (tmp_path / "out").glob("*.json")] == ["alice.json"]
    assert (tmp_path / "out" / "alice.json").read_bytes() == (tmp_path / "single.json").read_bytes()
    assert json.loads((tmp_path / "single.json").read_text())["score"] > 0


@pytest.mark.parametrize("option", ["--jobs=2", "--quiet", "--force"])
def test_batch_options_without_out_are_a_misuse(tmp_path: Path, option: str):
    run = course_grade(SOLUTIONS, option, "--results", tmp_path / "r.json")
    assert run.returncode == 2 and "need --out DIR" in run.stderr and "Traceback" not in run.stderr


def test_bad_input_gets_one_clear_line_and_exit_2(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("not a submission")
    notebook = tmp_path / "alice.ipynb"
    notebook.write_text("{}")
    for args, message in (((tmp_path / "notes.txt",), "not a submission directory, notebook (.ipynb) or zip file"),
                          ((notebook,), "is not a `kind: notebook` assignment"),
                          ((notebook, "--assignment", "nonesuch"), "no assignment 'nonesuch' in course.yml")):
        run = course_grade(*args, "--results", tmp_path / "r.json")
        assert run.returncode == 2, run.stderr
        assert len(run.stderr.strip().splitlines()) == 1 and message in run.stderr, run.stderr
    assert not (tmp_path / "r.json").exists()
