"""The import policy (course.yml allowed_imports, unavailable_imports, forbidden_imports): the worker
provides numpy for real and placeholders for plotting and drawing libraries, in both sandboxes; the
grader's words for a placeholder's use; the visible test and the README say the same."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from checkout import PROBES, REPO_ROOT

from autograder import config
from autograder.boundary.sandbox import (
    BWRAP_PACKAGES,
    StudentError,
    Worker,
    _bwrap_command,
    grader_written,
    imported_packages,
    package_folders,
    unavailable_message,
)
from autograder.boundary.worker import main as worker_main
from autograder.core import pipeline
from autograder.markers import strip_markers

SANDBOXES = ["bwrap", "process"] if shutil.which("bwrap") else ["process"]
COURSE = config.load()
LIMITS = pipeline.limits_for(COURSE.grading)
GRAPH = {"leaves": [0.5], "ops": [["tanh", 0], ["exp", 1]]}
VISIBLE = REPO_ROOT / "solutions" / "tests" / "test_imports.py"


def visible_module():
    spec = importlib.util.spec_from_file_location("visible_test_imports", VISIBLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the policy in course.yml ----------------------------------------------------------------------

def test_the_defaults_are_the_courses():
    grading = COURSE.grading
    assert (config.Grading().allowed_imports, config.Grading().unavailable_imports) == \
        (grading.allowed_imports, grading.unavailable_imports)
    assert "numpy" in grading.allowed_imports and "graphviz" in grading.unavailable_imports


def test_a_module_under_two_policies_is_a_configuration_error():
    with pytest.raises(ValueError, match="torch is under both forbidden_imports and allowed_imports"):
        config.Grading(allowed_imports=["numpy", "torch"])
    # A default list gives way to a list course.yml writes (tests/second_course forbids numpy).
    assert "numpy" not in config.Grading(forbidden_imports=["numpy"]).allowed_imports


def test_the_visible_test_applies_the_courses_policy():
    visible = visible_module()
    grading = COURSE.grading
    assert visible.ALLOWED == set(grading.allowed_imports)
    assert visible.UNAVAILABLE == set(grading.unavailable_imports)
    assert visible.FORBIDDEN == set(grading.forbidden_imports)
    assignment = COURSE.assignments["micrograd"]
    assert [f"micrograd/{name}.py" for name in visible.GRADED] == assignment.student_files
    assert [f"micrograd/{name}.py" for name in visible.PROVIDED] == list(assignment.provided_files)
    readme = (REPO_ROOT / "solutions" / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in [*grading.unavailable_imports, *grading.forbidden_imports])


@pytest.mark.parametrize(("source", "refused"), [
    ("import math\nimport numpy as np\nimport matplotlib.pyplot as plt\nfrom graphviz import Digraph\n", []),
    ("from micrograd.engine import Value\nfrom .engine import Value\nimport random\n", []),
    ("if __name__ == '__main__':\n    import pandas\n    from micrograd.viz import draw_dot\n", []),
    ("def draw(v):\n    from micrograd.viz import draw_dot\n    return draw_dot(v)\n", []),
    ("import pandas as pd\n", [1]),
    ("from micrograd.viz import draw_dot\nfrom . import viz\n", []),  # the grader's own copy
    ("x = 1\nfrom micrograd.helpers import plot\n", [2]),
    ("from . import helpers\n", [1]),
    ("def f():\n    import torch\n", [2]),  # forbidden anywhere, as the grader's staging reads it
    ("from torch import tensor\n", [1]),
])
def test_the_visible_test_names_what_the_grader_refuses(source, refused):
    assert [line for line, _ in visible_module().refused(source)] == refused


# -- the placeholder (in the worker's own code, in this process) -----------------------------------

@pytest.fixture
def placeholders():
    finder = worker_main._UnavailableImports(["fakeplot"])
    sys.meta_path.insert(0, finder)
    yield
    sys.meta_path.remove(finder)
    for name in [name for name in sys.modules if name.partition(".")[0] == "fakeplot"]:
        del sys.modules[name]


def test_an_unavailable_library_imports_and_fails_only_when_used(placeholders):
    import fakeplot
    import fakeplot.pyplot as plt
    from fakeplot import Digraph

    figure = plt.figure  # attributes of any depth: a module-level alias costs nothing either
    with pytest.raises(worker_main.UnavailableImport) as raised:
        figure(figsize=(3, 3))
    assert str(raised.value) == unavailable_message("fakeplot")
    with pytest.raises(worker_main.UnavailableImport):
        Digraph(format="svg")

    class Bar(fakeplot.tqdm):  # a class built on one still defines; making one raises
        pass

    with pytest.raises(worker_main.UnavailableImport, match="fakeplot is not available while grading"):
        Bar()
    assert not hasattr(plt, "__wrapped__")  # dunder look-ups (inspect, copy, pickle) are not placeholders


def test_set_up_calls_while_a_file_is_imported_do_nothing(placeholders, monkeypatch):
    import fakeplot

    monkeypatch.setattr(worker_main, "_importing", lambda: 1)  # as while the submission's engine.py runs
    fakeplot.use("Agg")
    fakeplot.style.use("ggplot")
    monkeypatch.setattr(worker_main, "_importing", lambda: 0)
    with pytest.raises(worker_main.UnavailableImport):
        fakeplot.use("Agg")


def test_the_worker_and_the_grader_word_it_alike():
    assert worker_main.unavailable_message("graphviz") == unavailable_message("graphviz")


def test_a_reference_bearing_worker_says_it_in_the_graders_words(tmp_path):
    said = StudentError("UnavailableImport", unavailable_message("matplotlib"), "micrograd/nn.py line 3")
    kept = grader_written(said, tmp_path, ("torch",), unavailable=("matplotlib",))
    assert (kept.type, kept.message, kept.withheld) == ("UnavailableImport", unavailable_message("matplotlib"), False)
    smuggled = StudentError("UnavailableImport", "the reference says 0.41997434161402614 is not available while")
    assert grader_written(smuggled, tmp_path, ("torch",), unavailable=("matplotlib",)).message == ""


# -- the allowed packages, in each sandbox ------------------------------------------------------------

def test_bwrap_shows_only_the_allowed_packages(tmp_path):
    folders = package_folders(("numpy",))
    assert [folder.name for folder in folders][0] == "numpy"
    cmd = _bwrap_command(tmp_path, tmp_path, None, 3, folders)
    mounted = [cmd[i + 2] for i, option in enumerate(cmd)
               if option == "--ro-bind" and cmd[i + 2].startswith(BWRAP_PACKAGES)]
    assert mounted == [f"{BWRAP_PACKAGES}/{folder.name}" for folder in folders]
    assert package_folders(("no_such_package_here",)) == ()


def test_the_worker_preloads_only_the_allowed_packages_a_submission_imports(tmp_path):
    (tmp_path / "micrograd").mkdir()
    (tmp_path / "micrograd" / "engine.py").write_text("import math\nimport numpy.random as npr\nimport graphviz\n")
    (tmp_path / "micrograd" / "nn.py").write_text("def f(:\n")  # a syntax error is the staging's to report
    assert imported_packages(tmp_path, ("numpy",)) == ["numpy"]
    (tmp_path / "micrograd" / "engine.py").write_text("import math\n")
    assert imported_packages(tmp_path, ("numpy",)) == []


@pytest.fixture
def reachable() -> Path:
    """A folder the worker's unprivileged uid can reach (pytest's own tmp_path is 0700 as root)."""
    folder = Path(tempfile.mkdtemp(prefix="imports-test-"))
    os.chmod(folder, 0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def submission(root: Path, engine_head: str = "", engine: tuple[tuple[str, str], ...] = (), nn_head: str = "",
               nn: tuple[tuple[str, str], ...] = (), nn_tail: str = "") -> Path:
    """The reference with `head` lines on top of a file, its `(old, new)` replacements made, and `nn_tail`."""
    folder = root / "submission"
    (folder / "micrograd").mkdir(parents=True)
    (folder / "micrograd" / "__init__.py").write_text("")
    for name, head, changes, tail in [("engine", engine_head, engine, ""), ("nn", nn_head, nn, nn_tail)]:
        source = strip_markers((REPO_ROOT / f"solutions/micrograd/{name}.py").read_text())
        for old, new in changes:
            assert old in source
            source = source.replace(old, new)
        (folder / "micrograd" / f"{name}.py").write_text(head + source + tail)
    return folder


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_numpy_works_and_a_used_placeholder_fails_in_the_worker(reachable, sandbox):
    """numpy imports under seccomp (and Landlock, which denies /proc and /sys) and computes; a
    placeholder imported at the top costs nothing until a call uses it."""
    numpy_engine = submission(reachable / "numpy", "import numpy as np\n",
                              [("t = math.tanh(self.data)", "t = np.tanh(self.data)")])
    with Worker(numpy_engine, LIMITS, sandbox=sandbox, probes=PROBES) as worker:
        worker.start_test()
        reply = worker.call("graph", graph=GRAPH, steps=[["backward", 2]])
    assert reply.status == "ok", reply
    assert reply.value["data"][1] == pytest.approx(0.46211715726000974)
    plotting = submission(reachable / "plot", "import matplotlib.pyplot as plt\n",
                          [("out = Value(math.exp(self.data)",
                            "plt.plot([1])\n        out = Value(math.exp(self.data)")])
    with Worker(plotting, LIMITS, sandbox=sandbox, probes=PROBES) as worker:
        worker.start_test()
        tanh_only = worker.call("graph", graph={"leaves": [0.5], "ops": [["tanh", 0]]}, steps=[["backward", 1]])
        worker.start_test()
        with_exp = worker.call("graph", graph=GRAPH, steps=[["backward", 2]])
    assert tanh_only.status == "ok"
    assert (with_exp.status, with_exp.error.type) == ("error", "UnavailableImport")
    assert with_exp.error.message == unavailable_message("matplotlib")


# -- end to end: what real students import ------------------------------------------------------------

DRAW_DOT = '''

def draw_dot(root):
    dot = Digraph(format="svg", graph_attr={"rankdir": "LR"})
    dot.node(name=str(id(root)), label=f"data {root.data:.4f}")
    return dot
'''
DEMO = '''

if __name__ == "__main__":
    plt.plot([1.0, 0.5, 0.25])
    plt.show()
'''


def students(root: Path) -> dict[str, Path]:
    """(a)-(f) of issue 20's import policy, and the template's own viz.py imported, each otherwise the reference."""
    numpy_ops = [("math.tanh(self.data)", "np.tanh(self.data)"), ("math.exp(self.data)", "np.exp(self.data)")]
    plotting = "import matplotlib.pyplot as plt\n"
    plot_in_zero_grad = [("    def zero_grad(self):\n", "    def zero_grad(self):\n        plt.plot([0.0])\n")]
    return {
        "np_tanh_exp": submission(root / "a", "import numpy as np\n", numpy_ops),
        "unused_numpy_matplotlib": submission(root / "b", nn_head="import numpy as np\nimport matplotlib\n"
                                              "matplotlib.use('Agg')\n" + plotting + "plt.style.use('ggplot')\n"),
        "graphviz_draw_dot": submission(root / "c", "from graphviz import Digraph\n",
                                        [("\nclass Value", DRAW_DOT + "\n\nclass Value")]),
        "matplotlib_demo": submission(root / "d", nn_head=plotting, nn_tail=DEMO),
        "plots_while_grading": submission(root / "e", nn_head=plotting, nn=plot_in_zero_grad),
        "torch": submission(root / "f", "import torch\n"),
        "template_draw_dot": submission(root / "g", "from micrograd.viz import draw_dot\n"),
    }


FULL_MARKS = ("np_tanh_exp", "unused_numpy_matplotlib", "graphviz_draw_dot", "matplotlib_demo", "template_draw_dot")


@pytest.mark.slow
@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_what_real_students_import_costs_nothing_unless_grading_uses_it(reachable, sandbox, monkeypatch):
    if sandbox == "process":  # this checkout's suite may be readable by others; the workers are what is tested
        monkeypatch.setattr(pipeline, "check_sandbox", lambda *args: None)
    folders = students(reachable)
    graded = dict(zip(folders, pipeline.grade(list(folders.values()), course=COURSE, sandbox=sandbox), strict=True))
    for name in FULL_MARKS:
        assert graded[name].score == graded[name].max_score, (name, graded[name].messages)
        assert not graded[name].flags, (name, graded[name].flags)
    plots = graded["plots_while_grading"]
    failed = {t.name.rpartition("::")[2]: t for t in plots.tests if t.status == "failed"}
    assert set(failed) == {"test_zero_grad_resets_every_parameter", "test_lecture_training_loop"}
    assert all(unavailable_message("matplotlib") in t.output for t in failed.values())
    assert "policy_violation" in graded["torch"].flags
    assert graded["torch"].score < graded["torch"].max_score


def test_a_provided_file_is_never_a_student_file():
    assignment = COURSE.assignments["micrograd"].model_dump()
    assignment["provided_files"] = {"micrograd/nn.py": "solutions/micrograd/nn.py"}
    with pytest.raises(ValueError, match="micrograd/nn.py is under both student_files and provided_files"):
        config.Assignment(**assignment)
