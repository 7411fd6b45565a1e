"""`course build`: the student template generated from solutions/, its stubs, and `--check`."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from checkout import REPO_ROOT

from autograder import markers
from autograder.frontends import build

SOLUTIONS = REPO_ROOT / "solutions"


def _copy_solutions(into: Path) -> Path:
    """solutions/ copied, so that building from it writes nothing in the repository (not even notebooks)."""
    copy = into / "solutions"
    shutil.copytree(SOLUTIONS, copy, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    return copy


@pytest.fixture(scope="module")
def solutions(tmp_path_factory) -> Path:
    return _copy_solutions(tmp_path_factory.mktemp("solutions"))


@pytest.fixture(scope="module")
def template(tmp_path_factory, solutions) -> Path:
    """A freshly generated template, so these tests never depend on (or touch) student_template/."""
    target = tmp_path_factory.mktemp("template") / "student_template"
    assert build.main(solutions=solutions, template=target) == 0
    return target


@pytest.fixture(scope="module")
def stubs(template, load_micrograd):
    with load_micrograd(template) as modules:
        yield modules


def _stub_calls(engine, nn):
    """Every piece students write, as a call that must reach its NotImplementedError."""
    Value = engine.Value

    def backward_of(out):
        out.grad = 1.0
        return out._backward

    def bare(cls):
        return cls.__new__(cls)  # an instance whose __init__ (itself a stub) never ran

    return {
        "+ _backward": backward_of(Value(1.0) + Value(2.0)),
        "* _backward": backward_of(Value(1.0) * Value(2.0)),
        "** _backward": backward_of(Value(1.5) ** 2),
        "tanh _backward": backward_of(Value(0.5).tanh()),
        "relu _backward": backward_of(Value(0.5).relu()),
        "exp _backward": backward_of(Value(0.5).exp()),
        "backward()": (Value(1.0) * 2).backward,
        "Module.zero_grad": nn.Module().zero_grad,
        "Neuron.__init__": lambda: nn.Neuron(2),
        "Neuron.__call__": lambda: bare(nn.Neuron)([1.0, 2.0]),
        "Neuron.parameters": lambda: bare(nn.Neuron).parameters(),
        "Layer.__init__": lambda: nn.Layer(2, 3),
        "Layer.__call__": lambda: bare(nn.Layer)([1.0, 2.0]),
        "Layer.parameters": lambda: bare(nn.Layer).parameters(),
        "MLP.__init__": lambda: nn.MLP(2, [3, 1]),
        "MLP.__call__": lambda: bare(nn.MLP)([1.0, 2.0]),
        "MLP.parameters": lambda: bare(nn.MLP).parameters(),
    }


STUBS = [
    "+ _backward", "* _backward", "** _backward", "tanh _backward", "relu _backward", "exp _backward",
    "backward()", "Module.zero_grad", "Neuron.__init__", "Neuron.__call__", "Neuron.parameters",
    "Layer.__init__", "Layer.__call__", "Layer.parameters", "MLP.__init__", "MLP.__call__", "MLP.parameters",
]


@pytest.mark.parametrize("stub", STUBS)
def test_every_stub_raises_not_implemented_with_a_hint(stubs, stub):
    calls = _stub_calls(stubs.engine, stubs.nn)
    assert list(calls) == STUBS
    call = calls[stub]
    with pytest.raises(NotImplementedError) as info:
        call()
    assert len(str(info.value)) > 10, "the stub's message is the student's hint"


def test_the_reference_implements_every_stub(reference):
    for name, call in _stub_calls(reference.engine, reference.nn).items():
        if "__call__" in name or ".parameters" in name:
            continue  # needs an initialised instance; covered by test_reference.py
        call()


def test_forward_computations_stay_given(stubs):
    Value = stubs.engine.Value
    a, b = Value(2.0), Value(3.0)
    assert (a + b).data == 5.0
    assert (a * b).data == 6.0
    assert (a**3).data == 8.0
    assert (a - b).data == -1.0 and (a / 4).data == 0.5 and (-a).data == -2.0
    assert (1 + a).data == 3.0 and (1 - a).data == -1.0 and (2 * a).data == 4.0 and (4 / a).data == 2.0
    assert Value(0.0).tanh().data == 0.0 and Value(-1.0).relu().data == 0.0 and Value(0.0).exp().data == 1.0
    assert repr(a) == "Value(data=2.0, grad=0.0)"
    assert stubs.nn.Module().parameters() == []
    assert (a * b)._prev == {a, b}


def _run_visible_tests(folder: Path) -> tuple[int, list[tuple[str, bool]]]:
    """Run the visible tests the way a student does; (exit code, [(test id, passed)])."""
    report = folder / "report.xml"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             f"--junitxml={report}"], cwd=folder, capture_output=True, text=True, timeout=300)
    cases = ET.parse(report).getroot().iter("testcase")
    outcomes = [(f"{case.get('classname')}::{case.get('name')}",
                 case.find("failure") is None and case.find("error") is None and case.find("skipped") is None)
                for case in cases]
    return result.returncode, outcomes


def test_visible_tests_fail_on_the_stubs(template, tmp_path):
    folder = tmp_path / "student"
    shutil.copytree(template, folder)
    returncode, outcomes = _run_visible_tests(folder)
    assert returncode == 1
    assert len(outcomes) >= 20
    assert {name.split("::")[0].rsplit(".", 1)[-1] for name, _ in outcomes} >= {
        "test_operations", "test_backward", "test_topological_sort", "test_nn", "test_training"}
    # tests/test_imports.py checks the import policy, not an implementation: the template keeps it.
    passing = [name for name, passed in outcomes if passed and not name.startswith("tests.test_imports::")]
    assert passing == [], f"visible tests that pass on the bare template: {passing}"
    assert all(passed for name, passed in outcomes if name.startswith("tests.test_imports::"))


def test_visible_tests_pass_with_the_solution_dropped_in(template, tmp_path):
    folder = tmp_path / "student"
    shutil.copytree(template, folder)
    shutil.rmtree(folder / "micrograd")
    shutil.copytree(SOLUTIONS / "micrograd", folder / "micrograd", ignore=shutil.ignore_patterns("__pycache__"))
    returncode, outcomes = _run_visible_tests(folder)
    failing = [name for name, passed in outcomes if not passed]
    assert returncode == 0 and failing == [], failing
    assert len(outcomes) >= 20


def test_template_mirrors_solutions(template):
    expected = build.template_files(REPO_ROOT / "solutions")
    generated = {p.relative_to(template).as_posix() for p in template.rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}  # bytecode of the tests' own imports
    assert generated == set(expected)
    assert {"README.md", "pyproject.toml", "micrograd/engine.py", "micrograd/nn.py", "micrograd/viz.py",
            "tests/test_operations.py"} <= generated
    assert (template / "README.md").read_bytes() == (SOLUTIONS / "README.md").read_bytes()


def test_check_is_clean_on_the_repository():
    result = subprocess.run([sys.executable, "-m", "autograder", "build", "--check"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)  # not `course` from PATH: any venv
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


@pytest.fixture
def built(tmp_path, solutions) -> Path:
    target = tmp_path / "student_template"
    build.main(solutions=solutions, template=target)
    return target


def test_check_is_clean_right_after_a_build(built, solutions, capsys):
    capsys.readouterr()
    assert build.main(check=True, solutions=solutions, template=built) == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.parametrize("change, named", [
    (lambda t: (t / "micrograd" / "nn.py").write_text("# edited by hand\n"), "micrograd/nn.py"),
    (lambda t: (t / "micrograd" / "extra.py").write_text("x = 1\n"), "micrograd/extra.py (not generated"),
    (lambda t: (t / "tests" / "test_backward.py").unlink(), "tests/test_backward.py"),
    (lambda t: (t / "README.md").write_text("old readme\n"), "README.md"),
], ids=["edited", "added", "removed", "edited-readme"])
def test_check_fails_on_a_stale_template(built, solutions, capsys, change, named):
    change(built)
    capsys.readouterr()
    assert build.main(check=True, solutions=solutions, template=built) == 1
    output = capsys.readouterr().out
    assert "stale" in output and "course build" in output
    assert f"student_template/{named}" in output


def test_check_fails_when_solutions_change(built, tmp_path, capsys):
    changed = _copy_solutions(tmp_path)
    engine = changed / "micrograd" / "engine.py"
    engine.write_text(engine.read_text().replace("self.grad = 0.0", "self.grad = 0.0  # changed"))
    assert build.main(check=True, solutions=changed, template=built) == 1
    assert "student_template/micrograd/engine.py" in capsys.readouterr().out


@pytest.mark.parametrize("source, problem", [
    ("def f():\n    ### BEGIN SOLUTION: do it\n    return 1\n", ":2: BEGIN SOLUTION is never closed"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", ":3: END SOLUTION without a BEGIN SOLUTION"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n",
     ":2: BEGIN SOLUTION inside the region opened at line 1"),
])
def test_marker_errors_name_file_and_line(source, problem):
    with pytest.raises(markers.MarkerError) as info:
        markers.stub(source, name="solutions/micrograd/engine.py")
    assert str(info.value) == "solutions/micrograd/engine.py" + problem


def test_build_reports_marker_errors_with_the_file(tmp_path):
    broken = _copy_solutions(tmp_path)
    nn = broken / "micrograd" / "nn.py"
    nn.write_text(nn.read_text().replace("        ### END SOLUTION\n", "", 1))
    with pytest.raises(markers.MarkerError, match=r"solutions/micrograd/nn\.py:\d+: BEGIN SOLUTION inside"):
        build.main(solutions=broken, template=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_stub_keeps_indentation_and_hint():
    source = "def f(x):\n    y = x\n    ### BEGIN SOLUTION: return twice x\n    return 2 * y\n    ### END SOLUTION\n"
    assert markers.stub(source) == "def f(x):\n    y = x\n    raise NotImplementedError('return twice x')\n"
    assert markers.strip_markers(source) == "def f(x):\n    y = x\n    return 2 * y\n"
    assert markers.solution_regions(source) == ["    return 2 * y\n"]
