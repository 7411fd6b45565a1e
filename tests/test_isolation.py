"""Part isolation (autograder/core/isolation.py): each mode's worker holds only its own reference pieces,
grades what it should, and the switch `grading.isolate_parts: false` grades everything on the own code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from checkout import PROBES, REPO_ROOT

from autograder import config
from autograder.boundary.sandbox import Limits, available_sandbox
from autograder.core import isolation
from autograder.core.pytest_plugin import Staged, Workers
from autograder.frontends.grade import grade
from autograder.markers import strip_markers
from grading_tests.micrograd.observations import MicrogradSubmission

SUITE = REPO_ROOT / "grading_tests" / "micrograd"
LIMITS = Limits(time_limit=5.0, memory_mb=512, forbidden_imports=("torch",))
MUL_BACKWARD = "            other.grad += self.data * out.grad\n"  # the reference's line for mul's second input
GRAPH = {"leaves": [2.0, -3.0], "ops": [["mul", 0, 1], ["tanh", 2]]}


def reference_file(name: str) -> str:
    return strip_markers((REPO_ROOT / "solutions" / "micrograd" / name).read_text())


def staged(tmp_path: Path, engine: str) -> Staged:
    folder = tmp_path / "s0"
    (folder / "micrograd").mkdir(parents=True)
    (folder / "micrograd" / "__init__.py").write_text("")
    (folder / "micrograd" / "engine.py").write_text(engine)
    (folder / "micrograd" / "nn.py").write_text(reference_file("nn.py"))
    return Staged("student", folder)


@pytest.fixture
def workers(tmp_path: Path):
    """A submission whose mul never passes a gradient to its second input."""
    engine = reference_file("engine.py").replace(MUL_BACKWARD, "")
    group = Workers(staged(tmp_path, engine), LIMITS, available_sandbox(), isolation.load_modes(SUITE), probes=PROBES)
    group.start_test()
    yield group
    group.close()


def test_the_suite_declares_its_modes_and_their_reference_code_is_redacted():
    modes = isolation.load_modes(SUITE)
    assert set(modes) == {"reference_derivatives", "reference_engine"}
    sources = isolation.reference_sources(modes)
    assert reference_file("engine.py") in sources
    assert (SUITE / "sandboxed" / "reference_operations.py").read_text() in sources


def test_the_own_worker_holds_no_reference_derivatives(workers: Workers):
    own = MicrogradSubmission.of(workers.own)
    assert own.mode == "own"
    reply = own.worker.call("graphs", items=[{"graph": GRAPH, "steps": [["backward", 3]],
                                              "derivatives": "reference"}])
    assert reply.status == "error" and reply.error.type == "ModuleNotFoundError"
    assert "reference_operations" in reply.error.message
    observed = own.graph(GRAPH)
    assert observed.grad[1] == 0.0  # the student's own mul: the second input gets nothing


def test_reference_derivatives_run_the_students_backward_on_reference_closures(workers: Workers):
    isolated = MicrogradSubmission.of(workers.own).isolated("reference_derivatives")
    assert isolated.mode == "reference_derivatives" and isolated.isolated("own").worker is workers.own.worker
    observed = isolated.graph(GRAPH)
    t = observed.data[-1]
    assert observed.grad[:2] == pytest.approx([-3.0 * (1 - t * t), 2.0 * (1 - t * t)])
    assert observed.prev == [[], [], [0, 1], [2]]


def test_reference_engine_replaces_only_the_engine(workers: Workers):
    isolated = MicrogradSubmission.of(workers.own).isolated("reference_engine")
    copy = Path(isolated.worker.submission)
    assert copy != workers.staged.directory
    assert (copy / "micrograd" / "engine.py").read_text() == reference_file("engine.py")
    assert (copy / "micrograd" / "nn.py").read_text() == reference_file("nn.py")
    assert isolated.graph(GRAPH).grad[1] != 0.0  # the reference mul
    workers.close()
    assert not copy.exists()


def test_an_unknown_mode_is_the_graders_error(workers: Workers):
    with pytest.raises(ValueError, match="unknown isolation mode"):
        workers.own.isolated("no_such_mode")


@pytest.mark.slow
def test_without_isolation_a_mistake_costs_points_in_every_part_that_uses_it(tmp_path: Path):
    engine = reference_file("engine.py").replace(MUL_BACKWARD, "")
    source = staged(tmp_path / "submission", engine).directory
    course_yml = yaml.safe_load((REPO_ROOT / "course.yml").read_text())
    for assignment in course_yml["assignments"].values():  # suites resolve beside the course file
        assignment["suite"] = str(REPO_ROOT / assignment["suite"])
        assignment["probes"] = str(REPO_ROOT / assignment["probes"])
    (tmp_path / "isolated.yml").write_text(json.dumps(course_yml))
    course_yml["grading"]["isolate_parts"] = False
    (tmp_path / "own.yml").write_text(json.dumps(course_yml))
    lost = {}
    for name in ("isolated", "own"):
        result = grade([source], course=config.load(tmp_path / f"{name}.yml"))[0]
        lost[name] = {p.name for p in result.parts if p.score < p.max_score}
    assert "operations" in lost["isolated"] and not lost["isolated"] & {"backward", "topo_sort"}
    assert {"operations", "backward"} <= lost["own"]
