"""The nbgrader course's notebooks: generated from recipes and solutions/, graded like modules, clean releases."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import nbclient
import nbformat
import pytest
from checkout import REPO_ROOT
from nbgrader_course import filled, leaks, make_course, nbgrader

from autograder import cli, config, markers
from autograder.frontends import build
from autograder.inputs import notebooks

ASSIGNMENTS = ["derivatives", "backprop_by_hand", "autograd", "neural_nets"]


@pytest.fixture(scope="module")
def course():
    return config.load()


@pytest.fixture(scope="module")
def rendered(course):
    return notebooks.source_files(course)


def _nb(rendered, name):
    return nbformat.reads(rendered[f"{name}/{name}.ipynb"].decode(), 4)


def test_the_four_notebook_assignments_have_recipes_and_are_built(course, rendered):
    assert sorted(notebooks.notebook_assignments(course)) == sorted(ASSIGNMENTS)
    assert sorted(rendered) == sorted(f"{a}/{a}.ipynb" for a in ASSIGNMENTS)
    assert build.stale_files(rendered, notebooks.source_dir(REPO_ROOT)) == [], "run `course build`"


def test_rendering_is_deterministic_and_has_no_outputs(course, rendered):
    assert notebooks.source_files(course) == rendered
    for name in ASSIGNMENTS:
        nb = _nb(rendered, name)
        ids = [cell.id for cell in nb.cells]
        assert len(ids) == len(set(ids))
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None


def test_points_of_every_test_cell_come_from_course_yml(course, rendered):
    for name in ASSIGNMENTS:
        graded = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
                  for c in _nb(rendered, name).cells if c.metadata.get("nbgrader", {}).get("grade")}
        assert graded == {part: p.points for part, p in course.assignments[name].parts.items()}


def test_hidden_test_cells_only_ask_the_grader_for_their_part(rendered):
    for name in ASSIGNMENTS:
        for cell in _nb(rendered, name).cells:
            if cell.metadata.get("nbgrader", {}).get("grade"):
                hidden = cell.source.split(notebooks.HIDDEN_BEGIN)[1].split(notebooks.HIDDEN_END)[0]
                code = [line for line in hidden.strip().splitlines() if not line.startswith("#")]
                part = cell.metadata["nbgrader"]["grade_id"]
                assert code == [f"{notebooks.PART_SCORE}({part!r})"]


def test_reference_code_in_notebooks_is_the_solutions_code(rendered):
    """Every solution region of engine.py and nn.py reaches a notebook unchanged (one source of truth)."""
    notebook_code = "\n".join(cell.source for name in ("autograd", "neural_nets") for cell in _nb(rendered, name).cells)
    for module in ("engine", "nn"):
        for region in markers.solution_regions((REPO_ROOT / "solutions" / "micrograd" / f"{module}.py").read_text()):
            assert region in notebook_code


def test_solution_hints_survive_as_comments_above_nbgrader_markers(rendered):
    cell = next(c for c in _nb(rendered, "derivatives").cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "slope_code")
    assert "    # Hint: nudge x by h and divide the change in f by h\n    ### BEGIN SOLUTION\n" in cell.source


def test_check_reports_a_stale_notebook(course, tmp_path, capsys):
    assert build.build_notebooks(course, target=tmp_path) == 0
    assert build.build_notebooks(course, check=True, target=tmp_path) == 0
    (tmp_path / "autograd" / "autograd.ipynb").write_text("{}")
    (tmp_path / "autograd" / "answers.py").write_text("leak = 1\n")
    assert build.build_notebooks(course, check=True, target=tmp_path) == 1
    out = capsys.readouterr().out
    assert "assignments/source/autograd/autograd.ipynb" in out
    assert "autograd/answers.py (not generated from solutions/)" in out


@pytest.mark.parametrize("recipe, message", [
    ("# %% [solution]\nx = 1\n", "a solution cell needs id="),
    ("# %% [test]\nassert True\n", "a test cell needs part="),
    ("# %% [bogus]\n", "unknown cell kind 'bogus'"),
    ("# %% [code] colour=red\n", "unknown cell option 'colour=red'"),
    ("# %% [code]\n# include: micrograd/engine.py Nothing\n", "has no top-level class or function 'Nothing'"),
])
def test_bad_recipes_are_named(tmp_path, recipe, message):
    path = tmp_path / "derivatives.py"
    path.write_text(recipe)
    with pytest.raises(notebooks.RecipeError, match=message):
        notebooks.parse(path, REPO_ROOT / "solutions")


def test_extraction_makes_the_template_layout(rendered):
    recipe = notebooks.load_recipe("neural_nets", notebooks.recipes_dir(REPO_ROOT))
    nb = _nb(rendered, "neural_nets")
    files = notebooks.extract(nb, recipe)
    assert sorted(files) == ["micrograd/engine.py", "micrograd/nn.py"]
    assert files["micrograd/nn.py"].startswith("import random\n\nfrom micrograd.engine import Value\n")
    assert "class MLP(Module):" in files["micrograd/nn.py"] and "def train(" in files["micrograd/nn.py"]
    for name, text in files.items():
        compile(text, name, "exec")
    # A student's magic line cannot break the module; a deleted answer cell is simply missing.
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "train")
    cell.source = "%timeit 1\n!ls\n" + cell.source
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "mse_loss"]
    files = notebooks.extract(nb, recipe)
    compile(files["micrograd/nn.py"], "nn.py", "exec")
    assert "def mse_loss" not in files["micrograd/nn.py"]
    assert notebooks.missing_cells(nb, recipe) == ["mse_loss"]


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """The four assignments through the real `nbgrader generate_assignment`."""
    root = make_course(tmp_path_factory.mktemp("course"), ASSIGNMENTS)
    # A stray file in source/ (say, the instructor's notes) must not reach students either.
    (root / "source" / "derivatives" / "answers.py").write_text("SLOPE = 14\n")
    for name in ASSIGNMENTS:
        result = nbgrader(root, "generate_assignment", name)
        assert result.returncode == 0, result.stderr
    return root


@pytest.mark.slow
def test_release_has_no_solutions_hidden_tests_or_extra_files(released):
    for name in ASSIGNMENTS:
        files = sorted(p.relative_to(released / "release").as_posix()
                       for p in (released / "release" / name).rglob("*") if p.is_file())
        assert files == [f"{name}/{name}.ipynb"]
        assert leaks(released / "release" / name, name) == []
        assert notebooks.PART_SCORE + "('" not in (released / "release" / name / f"{name}.ipynb").read_text()


def _run(nb, workdir):
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
                            ).execute()


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_notebook_runs_top_to_bottom(name, tmp_path):
    _run(nbformat.read(notebooks.source_dir(REPO_ROOT) / name / f"{name}.ipynb", 4), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_notebook_runs_up_to_its_first_stub(name, released, tmp_path):
    nb = nbformat.read(released / "release" / name / f"{name}.ipynb", 4)
    with pytest.raises(nbclient.exceptions.CellExecutionError) as stopped:
        _run(nb, tmp_path)
    assert stopped.value.ename == "NotImplementedError"
    first_error = next(i for i, c in enumerate(nb.cells) if any(o.output_type == "error" for o in c.get("outputs", [])))
    assert all(c.execution_count for c in nb.cells[:first_error] if c.cell_type == "code")


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_course_grade_takes_a_notebook(name, released, tmp_path):
    answered = tmp_path / "answered.ipynb"
    nbformat.write(filled(released / "release" / name / f"{name}.ipynb",
                          notebooks.source_dir(REPO_ROOT) / name / f"{name}.ipynb"),
                   answered)
    untouched = tmp_path / "untouched.ipynb"
    shutil.copy(released / "release" / name / f"{name}.ipynb", untouched)
    scores = {}
    for path in (answered, untouched):
        out = tmp_path / f"{path.stem}.json"
        result = subprocess.run([sys.executable, "-m", "autograder", "grade", str(path), "--assignment", name,
                                 "--results", str(out)], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        scores[path.stem] = json.loads(out.read_text())["score"]
    assert scores == {"answered": config.load().assignments[name].max_score, "untouched": 0.0}


def test_a_mangled_notebook_still_extracts_what_it_can():
    recipe = notebooks.load_recipe("derivatives", notebooks.recipes_dir(REPO_ROOT))
    nb = nbformat.from_dict({"cells": [
        5, {"cell_type": "code", "metadata": {"nbgrader": "slope"}, "source": "x = 1"},
        {"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "slope_code"}},
         "source": ["def slope(f, x, h):\n", 1]},
    ]})
    assert notebooks.extract(nb, recipe) == {"derivatives.py": "def slope(f, x, h):\n1\n"}
    assert notebooks.missing_cells(nb, recipe) == ["partials_code", "central_difference_code"]


ADD_BACKWARD = "            self.grad += out.grad\n            other.grad += out.grad\n"


@pytest.mark.slow
def test_reused_node_feedback_says_which_of_its_two_runs_is_wrong(released, tmp_path):
    """add's _backward resets the input first (`self.grad = 0.0`, then `+=`): from zero a = 3.0; b = a + a ends
    right (a.grad = 2); with 0.25 already there it ends 2 again. The feedback says the second run is the wrong one."""
    nb = filled(released / "release" / "autograd" / "autograd.ipynb",
                notebooks.source_dir(REPO_ROOT) / "autograd" / "autograd.ipynb")
    [cell] = [c for c in nb.cells if ADD_BACKWARD in c.source]
    cell.source = cell.source.replace(ADD_BACKWARD, "            self.grad = 0.0\n" + ADD_BACKWARD)
    nbformat.write(nb, tmp_path / "resetter.ipynb")
    assert cli.main(["grade", str(tmp_path / "resetter.ipynb"), "--assignment", "autograd", "--out",
                     str(tmp_path / "out"), "--quiet"]) == 0
    tests = json.loads((tmp_path / "out" / "resetter.json").read_text())["tests"]
    [failed] = [t for t in tests if t["status"] == "failed"]
    assert failed["name"].endswith("test_a_node_used_twice_gets_both_gradients")
    assert ("your a.grad = 2. The same walk with every input's grad already at 0.25 must end each input exactly 0.25 "
            "higher (a.grad = 2 + 0.25 = 2.25), but yours ends at a.grad = 2: the 0.25 already there was lost.") \
        in failed["output"]
